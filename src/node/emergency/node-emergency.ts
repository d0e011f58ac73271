/**
 * Break-glass of one node, wired: the in-memory key store the FHIR key ring reads, the trustee
 * release, the requesting organization's key reconstruction, and the watcher that drives both
 * from committed blocks. `RoamNode` builds it before its FHIR service (which reads the key
 * store) and starts it once the node follows the chain.
 */
import type { StateReader } from '../../contracts/index.js';
import type { CommittedBlock } from '../../ledger/index.js';
import { emergencyAccessOf } from './access-record.js';
import { EmergencyWatcher } from './emergency-watcher.js';
import { KeyReconstruction, type EmergencyKeyStatus } from './key-reconstruction.js';
import { EmergencyKeyStore } from './key-store.js';
import { TrusteeRelease, type TrusteePort } from './trustee-release.js';

/** What break-glass needs of its node. */
export interface NodeEmergencyPort extends TrusteePort {
  readonly state: StateReader;
  txOf(id: string): { readonly type: string; readonly payload: unknown } | undefined;
  onBlock(listener: (block: CommittedBlock) => void): () => void;
  readonly now?: () => number;
  readonly log?: (line: string) => void;
}

/** The break-glass parts of one node. */
export class NodeEmergency {
  /** Keys reconstructed under break-glass, in memory until each access ends. */
  readonly keys: EmergencyKeyStore;
  private readonly reconstruction: KeyReconstruction;
  private readonly watcher: EmergencyWatcher;
  private readonly now: () => number;

  constructor(private readonly port: NodeEmergencyPort) {
    this.now = port.now ?? Date.now;
    this.keys = new EmergencyKeyStore(this.now);
    this.reconstruction = new KeyReconstruction(port, this.keys);
    this.watcher = new EmergencyWatcher(port, {
      release: new TrusteeRelease(port),
      reconstruction: this.reconstruction,
    });
  }

  start(): void {
    this.watcher.start();
  }

  /** Stops watching and forgets every key. */
  async stop(): Promise<void> {
    await this.watcher.stop();
    this.keys.clear();
  }

  /** Resolves once the break-glass work queued so far is done (tests). */
  idle(): Promise<void> {
    return this.watcher.idle();
  }

  /** Where the keys of access `id` stand on this node (undefined: no such access). */
  statusOf(id: string): EmergencyKeyStatus | undefined {
    const access = emergencyAccessOf(this.port.state, id);
    return access === undefined ? undefined : this.reconstruction.statusOf(access, this.now());
  }
}
