/**
 * `POST /fhir/R4/<type>/<id>/$erase`: the patient erases one of their records (GDPR art. 17).
 *
 * 1. Only the patient the record belongs to may erase it (anyone else: 403, audited as denied).
 * 2. A `records.erase` transaction, signed by this node (the contract lets the custodian's node
 *    erase), is committed first, so that a record the ledger refuses to erase keeps its data.
 * 3. Then crypto-shredding: `Vault.erase` deletes every version's ciphertext and wrapped data key
 *    (secure_delete, WAL truncated) and keeps a tombstone; the FHIR index rows go too.
 *
 * Afterwards reads answer 410 Gone, searches and $everything omit the record, and the ledger's
 * `record/<id>` is `erased` (only the pointer and the hash remain). Erasing again answers 410.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { StateReader } from '../../contracts/index.js';
import type { RecordEntry } from '../../contracts/records.js';
import {
  FhirError,
  conflict,
  forbidden,
  gone,
  isSupportedType,
  notFound,
  unknownType,
} from '../../fhir/index.js';
import { StateKey, createTx, signTx } from '../../ledger/index.js';
import type { FhirIndexStore } from '../../store/index.js';
import type { Vault } from '../../vault/index.js';
import type { AuditTrail } from './audit.js';
import { ANCHOR_COMMIT_WAIT_MS } from './anchoring.js';
import type { FhirNodePort, FhirRequestContext } from './request.js';

/** What erasure needs of the node. */
export type ErasureNodePort = Pick<FhirNodePort, 'did' | 'chainId' | 'nodeSecretKey' | 'submit' | 'waitForCommit'> & {
  readonly state: StateReader;
};

/** The result of an erasure. */
export interface ErasureResult {
  /** The `records.erase` transaction (undefined when the ledger had the record erased already). */
  readonly txId: string | undefined;
  /** Versions shredded from the vault. */
  readonly versions: number;
  readonly outcome: OperationOutcome;
}

/** Erasure of records (see the module comment). */
export class RecordErasure {
  constructor(
    private readonly node: ErasureNodePort,
    private readonly vault: Vault,
    private readonly index: FhirIndexStore,
    private readonly audit: AuditTrail,
  ) {}

  async erase(type: string, id: string, ctx: FhirRequestContext): Promise<ErasureResult> {
    if (!isSupportedType(type)) throw new FhirError(unknownType(type));
    const row = this.index.getResource(id);
    if (row === undefined) {
      if (this.vault.store.getErasure(id) !== undefined) throw new FhirError(gone(type, id));
      throw new FhirError(notFound(type, id));
    }
    if (row.type !== type) throw new FhirError(notFound(type, id));
    const event = {
      actor: ctx.principal.did,
      patient: row.patient,
      action: 'erase',
      purpose: ctx.purpose,
      resourceType: type,
      recordId: id,
    } as const;
    if (ctx.principal.kind !== 'patient' || ctx.principal.did !== row.patient) {
      this.audit.record([{ ...event, outcome: 'denied' }]);
      throw new FhirError(forbidden('NOT_OWN_RECORD: only the patient a record belongs to may erase it'));
    }

    let txId: string | undefined;
    const entry = this.node.state.get<RecordEntry>(StateKey.record(id));
    if (entry?.status !== 'erased') {
      const envelope = signTx(
        createTx({ chainId: this.node.chainId, type: 'records.erase', signer: this.node.did, payload: { recordId: id } }),
        this.node.nodeSecretKey,
      );
      const outcome = await this.node.submit([envelope]);
      const rejected = outcome.rejected[0];
      const accepted = outcome.accepted[0];
      let code = rejected?.code;
      let message = rejected?.message;
      if (accepted !== undefined) {
        const committed = await this.node.waitForCommit(accepted.id, ANCHOR_COMMIT_WAIT_MS);
        txId = accepted.id;
        code = committed.code;
        message = committed.message;
      }
      if (code !== 'OK' && code !== 'RECORD_ERASED') {
        const text = `the ledger refused the erasure: ${code ?? 'NOT_ADMITTED'}${message ? `: ${message}` : ''}`;
        throw new FhirError(code === 'NOT_AUTHORIZED' ? forbidden(text) : conflict(text));
      }
    }
    const versions = this.vault.erase(id);
    this.index.deleteResource(id);
    this.audit.record([{ ...event, outcome: 'success' }]);
    return {
      txId,
      versions,
      outcome: {
        resourceType: 'OperationOutcome',
        id: 'ok',
        issue: [
          {
            severity: 'information',
            code: 'informational',
            details: {
              text:
                `${type}/${id} erased: ${versions} version(s) crypto-shredded` +
                (txId === undefined ? '' : `; ledger transaction ${txId}`),
            },
          },
        ],
      },
    };
  }
}
