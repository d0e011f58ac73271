/**
 * What the stages of the encrypted repository (write, search, reads) share: the node, its vault,
 * index and audit trail, the access policy, the record keys, the index tokens, the roaming
 * source and the one decrypt (counted, for tests and benchmarks).
 */
import { indexToken } from '../../crypto/index.js';
import {
  FhirError,
  gone,
  isSupportedType,
  notFound,
  unknownType,
  type IndexEntry,
  type StoredResource,
} from '../../fhir/index.js';
import type { FhirIndexRow, FhirIndexStore, FhirResourceRow } from '../../store/index.js';
import type { RecordCiphertext, Vault } from '../../vault/index.js';
import type { AccessPolicy } from './access.js';
import type { AuditTrail } from './audit.js';
import type { GrantKeyRing, RecordKeys } from './grant-keys.js';
import type { RemoteRecordSource } from './remote.js';
import type { FhirNodePort } from './request.js';

/** The keyed index tokens of one organization (see `src/crypto/index-token.ts`). */
export class IndexTokens {
  constructor(private readonly key: Uint8Array) {}

  /** The token of one search value. */
  token(type: string, param: string, value: string): string {
    return indexToken(this.key, { resourceType: type, param, value });
  }

  /** The index rows of `entries`; `memo` remembers the tokens of one request (many repeat). */
  rows(type: string, entries: readonly IndexEntry[], memo: Map<string, string> = new Map()): FhirIndexRow[] {
    return entries.map((e): FhirIndexRow => {
      if (e.kind === 'date') return { kind: 'date', param: e.param, start: e.start, end: e.end };
      const which = `${type}|${e.param}|${e.value}`;
      let token = memo.get(which);
      if (token === undefined) {
        token = this.token(type, e.param, e.value);
        memo.set(which, token);
      }
      return { kind: 'token', param: e.param, token };
    });
  }
}

/** The shared parts (see the module comment). */
export interface RepositoryParts {
  readonly node: FhirNodePort;
  readonly vault: Vault;
  readonly index: FhirIndexStore;
  readonly audit: AuditTrail;
  readonly access: AccessPolicy;
  readonly keys: GrantKeyRing;
  readonly tokens: IndexTokens;
  /** The records other custodians keep (roaming): undefined until the node attaches its client. */
  remote(): RemoteRecordSource | undefined;
  /**
   * The latest version of another custodian's record that this node holds as the patient's
   * replica in effect and may continue (`src/node/replica`); undefined when there is none.
   */
  heldReplica(recordId: string): (FhirResourceRow & { readonly custodian: string }) | undefined;
  /** The DID a `Patient/<id>` reference names: a Patient kept here or (roaming) anchored elsewhere. */
  didOfReference(reference: string): string | undefined;
  /** Decrypts one version (undefined = the current one) with `keys`. */
  decrypt(recordId: string, version: number | undefined, keys: RecordKeys): StoredResource;
  /** Decrypts a version already read (`vault.readCiphertexts`, a page's at once) with `keys`. */
  decryptCiphertext(ciphertext: RecordCiphertext, keys: RecordKeys): StoredResource;
}

/** The index row of the stored `type` resource `id`: 404 when there is none, 410 when erased. */
export function storedRow(
  parts: Pick<RepositoryParts, 'index' | 'vault'>,
  type: string,
  id: string,
): FhirResourceRow {
  if (!isSupportedType(type)) throw new FhirError(unknownType(type));
  const row = parts.index.getResource(id);
  if (row === undefined && parts.vault.store.getErasure(id) !== undefined)
    throw new FhirError(gone(type, id)); // erased ($erase): 410
  if (row === undefined || row.type !== type) throw new FhirError(notFound(type, id));
  return row;
}
