/**
 * The context of a FHIR request and what every stage of the repository shares about it: who asks
 * and why, what the repository needs of its node, the audit event of an access, the answer to a
 * refusal and the FhirError of a vault failure.
 */
import type { StateReader } from '../../contracts/index.js';
import { FhirError, badRequest, conflict, forbidden, serverError } from '../../fhir/index.js';
import { StateKey, type CommittedTx } from '../../ledger/index.js';
import type { PartyRecord } from '../../ledger/types.js';
import { VaultError, VaultErrorCode } from '../../vault/index.js';
import type { AccessPrincipal } from './access.js';
import type { EmergencyKeySource } from './grant-keys.js';
import type { AuditEvent } from './audit.js';

/** Identifier system of a Patient's DID. */
export const DID_IDENTIFIER_SYSTEM = 'urn:ietf:rfc:3986';
/** Purpose of use recorded in audit entries of the FHIR API. */
export const DEFAULT_PURPOSE = 'treatment';

/** The purpose of use of every access under break-glass (HL7 v3 ETREAT in the AuditEvent view). */
export const EMERGENCY_PURPOSE = 'emergency';

/** The context of a FHIR request: the authenticated principal and the purpose of use. */
export interface FhirRequestContext {
  readonly principal: AccessPrincipal;
  readonly purpose: string;
}

/** What the repository needs of its node. */
export interface FhirNodePort {
  readonly did: string;
  /** The network's chain id, named in every transaction the node signs. */
  readonly chainId: string;
  readonly orgDid: string;
  readonly nodeSecretKey: Uint8Array;
  readonly orgEncryptionSecretKey: Uint8Array;
  readonly state: StateReader;
  /** Record keys reconstructed under break-glass, in memory (none: grants only). */
  readonly emergencyKeys?: EmergencyKeySource;
  submit(envelopes: readonly unknown[]): Promise<{
    readonly accepted: ReadonlyArray<{ readonly id: string; readonly index: number }>;
    readonly rejected: ReadonlyArray<{
      readonly index: number;
      readonly code: string;
      readonly message?: string;
    }>;
  }>;
  waitForCommit(id: string, timeoutMs: number): Promise<CommittedTx>;
  /**
   * Closes the block being filled now rather than at its timeout: a write's answer waits for its
   * anchor's block, so the block timeout would be added to every write's latency (and, with a
   * fixed number of clients, divide the throughput). Absent: blocks are cut as ordering decides.
   */
  cutBlock?(): void;
}

/** What an audit event says besides who, whose, what and how it ended. */
export interface AuditDetails {
  readonly resourceType?: string;
  readonly recordId?: string;
  readonly grantId?: string | undefined;
  /** The break-glass access the access was made under (its entry's purpose is then `emergency`). */
  readonly emergency?: string | undefined;
}

/** The audit event of one access by the request's principal. */
export function auditEvent(
  ctx: FhirRequestContext,
  patient: string,
  action: AuditEvent['action'],
  outcome: AuditEvent['outcome'],
  extra: AuditDetails,
): AuditEvent {
  return {
    actor: ctx.principal.did,
    patient,
    action,
    outcome,
    purpose: extra.emergency === undefined ? ctx.purpose : EMERGENCY_PURPOSE,
    ...(extra.emergency === undefined ? {} : { emergency: extra.emergency }),
    ...(extra.resourceType === undefined ? {} : { resourceType: extra.resourceType }),
    ...(extra.recordId === undefined ? {} : { recordId: extra.recordId }),
    ...(extra.grantId === undefined ? {} : { grantId: extra.grantId }),
  };
}

/** The 403 of a refusal `code` (of the access policy) for doing `what`. */
export function deniedError(code: string, what: string): FhirError {
  const text: Record<string, string> = {
    NOT_OWN_RECORD: 'a patient may access only their own records',
    OTHER_ORGANIZATION: `the practitioner does not belong to this node's organization`,
    NOT_AUTHORIZED: 'this principal may not access patient records',
  };
  return new FhirError(forbidden(`${code}: ${text[code] ?? `no usable grant for ${what}`}`));
}

/** The FhirError of a vault failure. */
export function vaultFailure(error: unknown, cls: string): FhirError {
  if (error instanceof FhirError) return error;
  if (error instanceof VaultError) {
    const code: string = error.code;
    if (code === VaultErrorCode.KEY_UNAVAILABLE)
      return new FhirError(forbidden(`no record key granted for class ${cls}`));
    if (code === VaultErrorCode.STALE_EPOCH)
      return new FhirError(
        forbidden(`no record key granted for class ${cls} at the patient's current epoch`),
      );
    if (code === VaultErrorCode.VERSION_EXISTS)
      return new FhirError(conflict('the resource was written concurrently; retry'));
    if (code === VaultErrorCode.CLASS_MISMATCH)
      return new FhirError(badRequest(error.message, 'meta.security'));
    if (code === VaultErrorCode.CLASS_DOWNGRADE)
      return new FhirError(forbidden(`writing a ${cls} version over a sensitive record is not granted`));
  }
  return new FhirError(serverError, { cause: error });
}

/** Whether `did` is a registered patient in `state`. */
export function isRegisteredPatient(state: StateReader, did: string): boolean {
  return state.get<PartyRecord>(StateKey.party(did))?.kind === 'patient';
}
