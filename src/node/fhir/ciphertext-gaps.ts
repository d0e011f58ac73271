/**
 * Anchors that point at nothing here: versions of this organization's records that the ledger
 * anchors but whose ciphertext this node's vault does not hold. A node restored from a backup
 * meets them after it catches up — the writes acknowledged after the backup began are on the
 * ledger (other nodes hold the blocks) but their ciphertexts were never in the backup's vault.
 * Rather than answer "not found" for a record the ledger says exists (or serve an older version
 * as the current one), the node counts them at start (metric, `/readyz` warning, log line) and
 * answers a read of one with a coded 503 `CIPHERTEXT_MISSING`. The patient's replica custodian
 * keeps every version shipped to it and gives each one back (src/node/replica/refill.ts); each
 * one stored here is taken off its record's gap ({@link CiphertextGaps.recount}). A version no
 * replica holds (written before the patient named one, or of a patient without one) stays
 * counted: its `vread` answers the coded 503.
 */
import type { ActiveRecord, RecordEntry } from '../../contracts/index.js';
import { FhirError, unavailable } from '../../fhir/index.js';
import { StateKey } from '../../ledger/index.js';
import type { SensitivityClass } from '../../ledger/types.js';
import type { FhirResourceRow } from '../../store/index.js';
import type { RepositoryParts } from './parts.js';

/** The code of the answer to a read of an anchored version whose ciphertext is not here. */
export const CIPHERTEXT_MISSING = 'CIPHERTEXT_MISSING';

/** One record with anchored versions this node lacks. */
export interface CiphertextGap {
  readonly recordId: string;
  readonly patient: string;
  readonly resourceType: string;
  readonly class: SensitivityClass;
  /** Versions the ledger anchors (1…anchored). */
  readonly anchored: number;
  /** Of those, the versions whose ciphertext the vault does not hold, ascending (never empty). */
  readonly missing: readonly number[];
}

/** An anchored version this node lacks: what the patient's replica may give back. */
export interface MissingVersion {
  readonly recordId: string;
  readonly patient: string;
  readonly version: number;
}

/** The records of this node with missing ciphertexts (see the module comment). */
export class CiphertextGaps {
  private constructor(private readonly gaps: ReadonlyMap<string, CiphertextGap>) {}

  /** None (before the first scan). */
  static none(): CiphertextGaps {
    return new CiphertextGaps(new Map());
  }

  /**
   * Compares every live anchor of this organization's records with the versions its vault holds
   * (one pass over the ledger's record anchors and one grouped query of the vault). Run after
   * write-path recovery, when the vault holds exactly the anchored versions it has.
   */
  static find(parts: Pick<RepositoryParts, 'node' | 'vault'>): CiphertextGaps {
    const { node, vault } = parts;
    const held = vault.store.versionCounts(node.orgDid);
    const gaps = new Map<string, CiphertextGap>();
    for (const [, anchor] of node.state.range<RecordEntry>('record/')) {
      if (anchor.status !== 'active' || anchor.custodian !== node.orgDid) continue;
      if ((held.get(anchor.id) ?? 0) >= anchor.versions) continue;
      const gap = gapOf(parts, anchor);
      if (gap !== undefined) gaps.set(anchor.id, gap);
    }
    return new CiphertextGaps(gaps);
  }

  /**
   * The gaps at start: none without reading the ledger's anchors when the vault remembers a full
   * check that found none and has not been restored since (only a vault older than its ledger —
   * a restore — can lack an anchored ciphertext: a write's version is fsynced before its anchor
   * is submitted); otherwise a full {@link find}, remembered when it finds none. So a normal
   * start costs one meta read, and a restored node pays the full comparison until it is whole.
   */
  static atStart(parts: Pick<RepositoryParts, 'node' | 'vault'>): CiphertextGaps {
    if (parts.vault.store.ciphertextsChecked) return CiphertextGaps.none();
    return CiphertextGaps.findAndRemember(parts);
  }

  /** A full {@link find}, whose outcome the vault remembers for the next start. */
  static findAndRemember(parts: Pick<RepositoryParts, 'node' | 'vault'>): CiphertextGaps {
    const gaps = CiphertextGaps.find(parts);
    parts.vault.store.setCiphertextsChecked(gaps.records === 0);
    return gaps;
  }

  /**
   * The gaps after a version of `recordId` was stored (or its anchor moved on): that record's gap
   * counted again from its anchor and the vault, the others kept; the vault remembers a clean
   * check when none is left.
   */
  recount(parts: Pick<RepositoryParts, 'node' | 'vault'>, recordId: string): CiphertextGaps {
    if (!this.gaps.has(recordId)) return this;
    const gaps = new Map(this.gaps);
    const anchor = parts.node.state.get<RecordEntry>(StateKey.record(recordId));
    const gap = anchor?.status === 'active' ? gapOf(parts, anchor) : undefined;
    if (gap === undefined) gaps.delete(recordId);
    else gaps.set(recordId, gap);
    if (gaps.size === 0) parts.vault.store.setCiphertextsChecked(true);
    return new CiphertextGaps(gaps);
  }

  /** Anchored versions whose ciphertext is missing, over every record. */
  get missingVersions(): number {
    let missing = 0;
    for (const gap of this.gaps.values()) missing += gap.missing.length;
    return missing;
  }

  /** Every missing version (what a replica may give back): by record, oldest gap first, versions ascending. */
  missingList(): MissingVersion[] {
    const out: MissingVersion[] = [];
    for (const gap of this.gaps.values())
      for (const version of gap.missing) out.push({ recordId: gap.recordId, patient: gap.patient, version });
    return out;
  }

  /** Records with at least one missing version. */
  get records(): number {
    return this.gaps.size;
  }

  /**
   * The gap a read of `type/id` meets — its current version (`version` undefined) or an older
   * one — when that version is anchored and not held; undefined when the read may go on.
   */
  gapOf(type: string, id: string, version?: number): CiphertextGap | undefined {
    const gap = this.gaps.get(id);
    if (gap === undefined || gap.resourceType !== type) return undefined;
    return gap.missing.includes(version ?? gap.anchored) ? gap : undefined;
  }
}

/** The gap of one record kept here (one read of its version numbers in the vault); undefined when whole. */
function gapOf(parts: Pick<RepositoryParts, 'vault'>, anchor: ActiveRecord): CiphertextGap | undefined {
  const held = new Set(parts.vault.store.listVersions(anchor.id).map((row) => row.version));
  const missing: number[] = [];
  for (let version = 1; version <= anchor.versions; version++) if (!held.has(version)) missing.push(version);
  if (missing.length === 0) return undefined;
  return {
    recordId: anchor.id,
    patient: anchor.patient,
    resourceType: anchor.resourceType,
    class: anchor.class,
    anchored: anchor.versions,
    missing,
  };
}

/** The index row a read of a missing version is authorized against: the record as anchored. */
export function anchoredRow(gap: CiphertextGap): FhirResourceRow {
  return {
    recordId: gap.recordId,
    type: gap.resourceType,
    version: gap.anchored,
    patient: gap.patient,
    lastUpdated: 0,
    class: gap.class,
    epoch: 0,
  };
}

/** The 503 of a read of an anchored version whose ciphertext this node does not hold. */
export function missingCiphertext(gap: CiphertextGap): FhirError {
  return new FhirError(
    unavailable(
      `${CIPHERTEXT_MISSING}: ${gap.resourceType}/${gap.recordId} has ${gap.anchored} anchored version(s); this node lacks the ciphertext of ${gap.missing.length} (its vault was restored from an earlier backup): ask the record's replica custodian, or the operator`,
    ),
  );
}
