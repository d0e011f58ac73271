/**
 * What the encrypted repository asks of roaming (implemented by `src/node/roaming`): the records
 * of a patient kept by OTHER custodians, fetched from their nodes, checked against the ledger
 * anchors and decrypted with the record keys this node's organization was granted.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { Sortable, StoredResource } from '../../fhir/index.js';
import type { SensitivityClass } from '../../ledger/types.js';
import type { RemotePage } from './remote-page.js';

/** Which records of the patient a custodian is asked for. */
export type RemoteQuery =
  | { readonly kind: 'read'; readonly type: string; readonly id: string }
  /** A FHIR search on the custodian's index: `params` are the search's filter parameters (name, value), without `patient`/`subject`. */
  | {
      readonly kind: 'search';
      readonly type: string;
      readonly params: ReadonlyArray<readonly [string, string]>;
      /** Only this page of the matches (see `remote-page.ts`); absent: all of them. */
      readonly page?: RemotePage;
    }
  | { readonly kind: 'everything'; readonly page?: RemotePage };

export interface RemoteRequest {
  /** The patient's DID. */
  readonly patient: string;
  /** Who the node asks for: the practitioner, or the patient reading its own records (DID). */
  readonly onBehalfOf: string;
  readonly purpose: string;
  readonly query: RemoteQuery;
  /** The break-glass access the request is made under (custodians check it on their ledger). */
  readonly emergency?: string;
  /** Ask only these custodian organizations (default: every other custodian of the patient's records on the ledger). */
  readonly custodians?: readonly string[];
}

/**
 * A record version fetched from its custodian and checked against its ledger anchor (live, same
 * patient, custodian, type and latest version), with a record key at hand for its class and
 * epoch. It is decrypted only when `open` is called (a page decrypts only what it shows).
 */
export interface RemoteResource {
  readonly id: string;
  readonly type: string;
  /** The patient's DID. */
  readonly patient: string;
  readonly custodian: string;
  readonly class: SensitivityClass;
  /** Sort keys as the custodian's index has them (checked against the plaintext when opened). */
  readonly lastUpdated: number;
  readonly date: number | null;
  /**
   * The resource: the blob's SHA-256 must equal the anchored content hash, and it must decrypt.
   *
   * @throws VaultError when it does not (a custodian that altered or swapped it)
   */
  open(): StoredResource;
}

/** How a custodian failed to answer. */
export interface RemoteFailure {
  readonly custodian: string;
  /** `unreachable`: no answer (down, timeout); `refused`: it answered with an error code. */
  readonly kind: 'unreachable' | 'refused';
  /** The custodian's error code (`refused`), e.g. GRANT_REVOKED, RECORD_NOT_FOUND. */
  readonly code?: string;
  readonly message: string;
}

export interface RemoteResult {
  readonly resources: readonly RemoteResource[];
  readonly failures: readonly RemoteFailure[];
  /** Warnings for the Bundle (custodian not reached, records that failed verification, truncated answers). */
  readonly outcomes: readonly OperationOutcome[];
  /**
   * Of a paged query: the earliest point in the page order past which some custodian may hold
   * records it did not send (its answer reached the limit); a page shows nothing past it.
   */
  readonly frontier?: Sortable;
  /**
   * Of a paged query: how many matching records the answering custodians hold in all (each one's
   * own count, at least what it sent), for the page's `total`.
   */
  readonly total?: number;
}

/** The requester side of roaming, as the repository sees it. */
export interface RemoteRecordSource {
  /** Custodian organizations other than this node's that keep anchored records of `patient`. */
  custodiansOf(patient: string): string[];
  /**
   * Fetches, verifies and decrypts. `keys` are the record keys this node holds for the patient
   * (`class|epoch` → KEK); records under a key not held are left out.
   */
  fetch(request: RemoteRequest, keys: ReadonlyMap<string, Uint8Array>): Promise<RemoteResult>;
}
