/**
 * Anchors that point at nothing here: versions of this organization's records that the ledger
 * anchors but whose ciphertext this node's vault does not hold. A node restored from a backup
 * meets them after it catches up — the writes acknowledged after the backup began are on the
 * ledger (other nodes hold the blocks) but their ciphertexts were never in the backup's vault.
 * Rather than answer "not found" for a record the ledger says exists (or serve an older version
 * as the current one), the node counts them at start (metric, `/readyz` warning, log line) and
 * answers a read of one with a coded 503 `CIPHERTEXT_MISSING`. A replica custodian may restore
 * the missing versions later (then `FhirService.findMissingCiphertexts` counts again).
 */
import type { RecordEntry } from '../../contracts/index.js';
import { FhirError, unavailable } from '../../fhir/index.js';
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
  /** Of those, the versions whose ciphertext the vault holds (1…held: versions are written in order). */
  readonly held: number;
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
      const count = Math.min(held.get(anchor.id) ?? 0, anchor.versions);
      if (count >= anchor.versions) continue;
      gaps.set(anchor.id, {
        recordId: anchor.id,
        patient: anchor.patient,
        resourceType: anchor.resourceType,
        class: anchor.class,
        anchored: anchor.versions,
        held: count,
      });
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

  /** Anchored versions whose ciphertext is missing, over every record. */
  get missingVersions(): number {
    let missing = 0;
    for (const gap of this.gaps.values()) missing += gap.anchored - gap.held;
    return missing;
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
    if (version !== undefined && (version <= gap.held || version > gap.anchored)) return undefined;
    return gap;
  }
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
      `${CIPHERTEXT_MISSING}: ${gap.resourceType}/${gap.recordId} has ${gap.anchored} anchored version(s); this node holds the ciphertext of ${gap.held} (its vault was restored from an earlier backup): ask the record's replica custodian, or the operator`,
    ),
  );
}
