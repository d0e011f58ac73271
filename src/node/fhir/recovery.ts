/**
 * Start-up recovery of the write path (vault → anchor → index, see write.ts) after the node was
 * killed mid-write. A write's vault versions commit before its anchors are submitted, and its
 * index row commits after they committed, so a kill in between leaves vault versions the index
 * does not know. Left alone they are served by nobody but block the record for good: the next
 * write picks the index's version + 1, which the vault already holds (VAULT_VERSION_EXISTS) and
 * the ledger may have anchored already (it then expects a later version).
 *
 * The ledger decides, as it does for every other node: a version whose anchor committed is kept
 * and indexed (roll forward — its anchor must not point at nothing, and other nodes may already
 * have read it), with the audit entry of the write; a version whose anchor did not commit is
 * discarded (it was never acknowledged: the answer comes after the index commit).
 *
 * Only the versions in flight at the crash are read (the vault's `pending_versions`, written with
 * each version and cleared by its index commit), so the work at start does not grow with the vault.
 */
import type { RecordEntry } from '../../contracts/index.js';
import { indexEntries, type StoredResource } from '../../fhir/index.js';
import { StateKey } from '../../ledger/index.js';
import type { FhirIndexRow, UnindexedVersion } from '../../store/index.js';
import type { AuditEvent } from './audit.js';
import type { RepositoryParts } from './parts.js';

/** What the recovery did (counts only: no record ids, which would say who has records here). */
export interface RecoveryReport {
  /** Versions whose anchor had committed: now indexed. */
  readonly rolledForward: number;
  /** Versions whose anchor never committed: deleted from the vault. */
  readonly discarded: number;
  /** Of the rolled-forward versions, those whose key this node no longer holds: indexed without search tokens. */
  readonly unsearchable: number;
}

/** Whether the ledger anchored `version` of this node's record, with this ciphertext. */
function isAnchored(anchor: RecordEntry | undefined, orgDid: string, version: UnindexedVersion): boolean {
  if (anchor === undefined || anchor.status !== 'active' || anchor.custodian !== orgDid) return false;
  if (version.version > anchor.versions) return false;
  // Only the latest anchor is in state; an older one was anchored by the same custodian in order.
  return version.version < anchor.latest.version || anchor.latest.contentHash === version.contentHash;
}

/**
 * Reconciles the vault with the index and the ledger (see the module comment). Runs before the
 * node serves requests.
 */
export async function recoverUnindexedVersions(parts: RepositoryParts): Promise<RecoveryReport> {
  const { vault, index, node } = parts;
  const byRecord = new Map<string, UnindexedVersion[]>();
  for (const version of index.unindexedVersions(node.orgDid)) {
    const list = byRecord.get(version.recordId) ?? [];
    list.push(version);
    byRecord.set(version.recordId, list);
  }
  let rolledForward = 0;
  let discarded = 0;
  let unsearchable = 0;
  for (const [recordId, versions] of byRecord) {
    const anchor = node.state.get<RecordEntry>(StateKey.record(recordId));
    const anchored = versions.filter((v) => isAnchored(anchor, node.orgDid, v));
    for (const v of versions) {
      if (anchored.includes(v)) continue;
      vault.discardUnanchoredVersion(v.recordId, v.version);
      discarded++;
    }
    const indexed = await indexAnchoredVersions(parts, recordId, anchored, { audit: true });
    if (indexed === 'unsearchable') unsearchable++;
    rolledForward += anchored.length;
  }
  index.settlePendingVersions();
  return { rolledForward, discarded, unsearchable };
}

/**
 * Indexes the latest of `anchored` (versions of `recordId` in the vault whose anchors committed,
 * oldest first) and, with `audit`, records the writes' audit entries, in one durable commit.
 * Also how a version the patient's replica wrote of this node's record enters its index
 * (without audit: the replica audited its write). Answers 'unsearchable' when no key opened it.
 */
export async function indexAnchoredVersions(
  parts: RepositoryParts,
  recordId: string,
  anchored: readonly UnindexedVersion[],
  options: { readonly audit: boolean },
): Promise<'indexed' | 'unsearchable' | 'none'> {
  const { index } = parts;
  const latest = anchored.at(-1);
  if (latest === undefined) return 'none';
  const { rows, lastUpdated } = await indexRowsOf(parts, latest);
  const event: AuditEvent = {
    actor: latest.author,
    patient: latest.patient,
    action: latest.version === 1 ? 'create' : 'update',
    outcome: 'success',
    resourceType: latest.resourceType,
    recordId,
  };
  index.durably(() => {
    index.putResource(
      {
        recordId,
        type: latest.resourceType,
        version: latest.version,
        patient: latest.patient,
        lastUpdated,
        class: latest.class,
        epoch: latest.epoch,
      },
      rows ?? [],
    );
    if (options.audit) parts.audit.record(anchored.map((v) => ({ ...event, action: v.version === 1 ? 'create' : 'update' })));
  });
  return rows === undefined ? 'unsearchable' : 'indexed';
}

/**
 * The search rows and `meta.lastUpdated` of a version, from its plaintext; without a key for it
 * (the grant was revoked meanwhile) no rows and the time the vault stored it.
 */
async function indexRowsOf(
  parts: RepositoryParts,
  version: UnindexedVersion,
): Promise<{ rows: FhirIndexRow[] | undefined; lastUpdated: number }> {
  let resource: StoredResource;
  try {
    resource = parts.decrypt(version.recordId, version.version, await parts.keys.keysOf(version.patient));
  } catch {
    return { rows: undefined, lastUpdated: version.createdAt };
  }
  const stamped = Date.parse(resource.meta?.lastUpdated ?? '');
  return {
    rows: parts.tokens.rows(version.resourceType, indexEntries(resource)),
    lastUpdated: Number.isNaN(stamped) ? version.createdAt : stamped,
  };
}
