/**
 * The FHIR service of a node: its vault (`DATA/vault.sqlite`), the FHIR index and audit outbox
 * (tables in the same file, `FhirIndexStore`), the audit shipper and the encrypted repository,
 * wired to the node's ledger.
 */
import { join } from 'node:path';
import type { StateReader } from '../../contracts/index.js';
import type { CommittedTx } from '../../ledger/index.js';
import { ValidationPool } from '../../fhir/validation-pool.js';
import { FhirIndexStore, WalCheckpointer } from '../../store/index.js';
import { Vault } from '../../vault/index.js';
import type { PeerHttpClient } from '../network/peer-http.js';
import { Roaming } from '../roaming/roaming.js';
import { AuditTrail } from './audit.js';
import type { EmergencyKeySource } from './grant-keys.js';
import { RecordErasure } from './erase.js';
import { HeadStateCache } from './head-state.js';
import type { CiphertextGaps } from './ciphertext-gaps.js';
import type { RecoveryReport } from './recovery.js';
import { isRegisteredPatient, type FhirNodePort } from './request.js';
import { EncryptedFhirRepository } from './service.js';
import { PatientSummaries } from './summary.js';
import { LedgerViews } from './views.js';

/** The vault file of a node's data folder (also holds the FHIR index and audit outbox). */
export function vaultPath(dataDir: string): string {
  return join(dataDir, 'vault.sqlite');
}

/** Most patient DIDs `patientCheck` remembers. */
const KNOWN_PATIENTS_SIZE = 100_000;

/**
 * Whether a DID is a registered patient, from `state`; a yes is remembered (a party's kind never
 * changes once registered), so the audit trail does not read the ledger for every entry.
 */
function patientCheck(state: StateReader): (did: string) => boolean {
  const known = new Set<string>();
  return (did) => {
    if (known.has(did)) return true;
    if (!isRegisteredPatient(state, did)) return false;
    if (known.size >= KNOWN_PATIENTS_SIZE) known.clear();
    known.add(did);
    return true;
  };
}

/** What the service needs of a RoamNode (kept narrow so it can be built in tests). */
export interface FhirServiceNode {
  readonly did: string;
  readonly orgDid: string;
  readonly config: {
    readonly dataDir: string;
    readonly keys: {
      readonly node: { readonly secretKey: Uint8Array };
      readonly orgEncryption: { readonly secretKey: Uint8Array };
    };
    readonly file: { readonly publicUrl: string };
  };
  readonly ledger: {
    readonly chainId: string;
    /** Height of the last committed block. */
    readonly height: number;
    getState<T>(key: string): T | undefined;
    rangeState<T>(prefix: string): Array<[string, T]>;
  };
  /** The node's client for node-to-node calls (roaming queries to custodians). */
  readonly peerHttp: PeerHttpClient;
  /** Record keys reconstructed under break-glass (memory only); none: grants only. */
  readonly emergencyKeys?: EmergencyKeySource | undefined;
  /** The ledger store: the AuditEvent view finds an entry's patient in its block. */
  readonly store: {
    getBlockTxs(height: number): ReadonlyArray<{ readonly envelope: string; readonly code: string }>;
  };
  submit: FhirNodePort['submit'];
  waitForCommit(id: string, timeoutMs: number): Promise<CommittedTx>;
  /** Closes the block being filled now (see `FhirNodePort.cutBlock`). */
  cutBlock?(): void;
}

/** The FHIR service of one node. */
export class FhirService {
  private constructor(
    readonly vault: Vault,
    readonly index: FhirIndexStore,
    readonly audit: AuditTrail,
    readonly repository: EncryptedFhirRepository,
    /** The Consent and AuditEvent views of the ledger. */
    readonly views: LedgerViews,
    /** `$erase`. */
    readonly erasure: RecordErasure,
    /** The FHIR base URL (`<publicUrl>/fhir/R4`), for links and Locations. */
    readonly baseUrl: string,
    /** The worker threads that validate resources before they are written. */
    private readonly validation: ValidationPool,
    /** Roaming: the custodian endpoint's parts, and the remote reads the repository makes. */
    readonly roaming: Roaming,
    /** `Patient/:id/$summary`: International Patient Summaries. */
    readonly summaries: PatientSummaries,
    /** The checkpoints of the vault file, on a worker thread (never in the main thread's commits). */
    readonly checkpoints: WalCheckpointer,
  ) {}

  /** Opens the vault and index of `node` and starts the audit shipper (leftover entries first). */
  static open(node: FhirServiceNode): FhirService {
    const path = vaultPath(node.config.dataDir);
    // Both connections leave their checkpoints to the worker (wal-checkpointer.ts).
    const vault = Vault.open(path, { autoCheckpoint: false });
    let index: FhirIndexStore | undefined;
    let checkpoints: WalCheckpointer | undefined;
    try {
      index = FhirIndexStore.open(path, { autoCheckpoint: false });
      checkpoints = WalCheckpointer.start({ path });
      // Read by every request (grants, parties, anchors): cached for one ledger head.
      const state: StateReader = new HeadStateCache(node.ledger);
      const port: FhirNodePort = {
        did: node.did,
        chainId: node.ledger.chainId,
        orgDid: node.orgDid,
        nodeSecretKey: node.config.keys.node.secretKey,
        orgEncryptionSecretKey: node.config.keys.orgEncryption.secretKey,
        state,
        ...(node.emergencyKeys === undefined ? {} : { emergencyKeys: node.emergencyKeys }),
        submit: (envelopes) => node.submit(envelopes),
        waitForCommit: (id, ms) => node.waitForCommit(id, ms),
        ...(node.cutBlock === undefined ? {} : { cutBlock: () => node.cutBlock!() }),
      };
      const audit = new AuditTrail(index, {
        did: node.did,
        chainId: node.ledger.chainId,
        secretKey: node.config.keys.node.secretKey,
        submit: (envelopes) => node.submit(envelopes),
        waitForCommit: (id, ms) => node.waitForCommit(id, ms),
        isPatient: patientCheck(state),
      });
      const validation = new ValidationPool();
      const repository = new EncryptedFhirRepository(port, vault, index, audit, validation);
      const views = new LedgerViews(
        { did: node.did, orgDid: node.orgDid, state, blockTxs: (height) => node.store.getBlockTxs(height) },
        index,
        audit,
      );
      const erasure = new RecordErasure(port, vault, index, audit);
      const roaming = new Roaming({
        did: node.did,
        orgDid: node.orgDid,
        nodeSecretKey: port.nodeSecretKey,
        state,
        peerHttp: node.peerHttp,
        index,
        vault,
        audit,
        searchToken: (type, param, value) => repository.searchToken(type, param, value),
      });
      repository.useRemote(roaming.remote);
      audit.start();
      const base = `${node.config.file.publicUrl.replace(/\/+$/, '')}/fhir/R4`;
      const summaries = new PatientSummaries({ repository, state, orgDid: node.orgDid });
      return new FhirService(
        vault,
        index,
        audit,
        repository,
        views,
        erasure,
        base,
        validation,
        roaming,
        summaries,
        checkpoints,
      );
    } catch (error) {
      void checkpoints?.close();
      index?.close();
      vault.close();
      throw error;
    }
  }

  /** FHIR resources waiting for or in validation (the node's metrics). */
  get validationQueueDepth(): number {
    return this.validation.depth;
  }

  /**
   * Makes the vault, index and ledger agree after a crash (see recovery.ts); the node runs it
   * once, before it serves requests.
   */
  recover(): Promise<RecoveryReport> {
    return this.repository.recover();
  }

  /**
   * The anchored versions of this node's records whose ciphertext its vault lacks (a restore from
   * a backup older than the ledger: see ciphertext-gaps.ts), as counted at start.
   */
  get missingCiphertexts(): CiphertextGaps {
    return this.repository.missingCiphertexts;
  }

  /** Counts the missing ciphertexts again (e.g. after a replica custodian sent some back). */
  findMissingCiphertexts(): CiphertextGaps {
    return this.repository.findMissingCiphertexts();
  }

  /**
   * Ships the audit outbox (the node must still be open), then closes the files: the final
   * checkpoint first, on the worker, so that the main connections find nothing left to copy.
   */
  async close(): Promise<void> {
    await this.audit.close();
    await this.validation.close();
    await this.checkpoints.close();
    this.index.close();
    this.vault.close();
  }
}
