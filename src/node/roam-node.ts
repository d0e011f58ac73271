import { createContractSuite } from '../contracts/index.js';
import { Ledger, StateKey, WorkerVerifierPool, type AdmissionRejection, type CommittedTx, type ParsedTx, type SignatureVerifier } from '../ledger/index.js';
import type { PartyRecord } from '../ledger/types.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamOrderer, LocalOrderer, type BlockLimits, type Orderer } from '../ordering/index.js';
import { AttestationMonitor, type AttestationTransport } from './network/attestations.js';
import { peerHttpClientFor, type PeerHttpClient } from './network/peer-http.js';
import { catchUpFromPeers } from './network/peer-sync.js';
import { peerNodes } from './network/peers.js';
import { BlockWriter, LedgerStore, ShareLinkStore } from '../store/index.js';
import { DataFiles, loadNodeConfig, readOrderingCredentials, type NodeConfig } from './config.js';
import { NodeError, NodeErrorCode } from './errors.js';
import { BreakGlassAudit } from './emergency/break-glass-audit.js';
import { NodeEmergency } from './emergency/node-emergency.js';
import { CIPHERTEXT_MISSING } from './fhir/ciphertext-gaps.js';
import { FhirService } from './fhir/fhir-service.js';
import { NodeReplica } from './replica/node-replica.js';
import { ShareLinks } from './shl/share-links.js';

/** What a node hands an orderer factory: its ledger and the block limits from its config. */
export interface OrdererContext {
  readonly config: NodeConfig;
  readonly ledger: Ledger;
  readonly store: LedgerStore;
  readonly writer: BlockWriter;
  readonly limits: Partial<BlockLimits>;
}

export interface RoamNodeOptions {
  readonly dataDir: string;
  readonly blockLimits?: Partial<BlockLimits>;
  /** Builds the node's orderer; default: the one its config names (local or jetstream). */
  readonly orderer?: (context: OrdererContext) => Orderer | Promise<Orderer>;
  /** Operational log lines (ordering, peers, divergence); never health data. Default: none. */
  readonly log?: (line: string) => void;
  /** Opens an encrypted node.key.json (the CLI reads it from --node-passphrase-file or ROAM_NODE_PASSPHRASE). */
  readonly nodePassphrase?: string | undefined;
}

export interface SubmitOutcome {
  /** Accepted envelopes (ordered, not yet committed), with their index in the submission. */
  readonly accepted: ReadonlyArray<{ readonly id: string; readonly index: number }>;
  readonly rejected: readonly AdmissionRejection[];
}

/**
 * One Roam node: its store, ledger and orderer, wired together. The HTTP server is built on top
 * of it (`src/node/http`); the node itself can be driven in-process (benchmarks, tests).
 */
export class RoamNode {
  private constructor(
    readonly config: NodeConfig,
    readonly store: LedgerStore,
    readonly ledger: Ledger,
    readonly orderer: Orderer,
    private readonly verifier: SignatureVerifier,
    private readonly writer: BlockWriter,
    /** The one client of every node-to-node call (network CA, address rules, capped answers). */
    readonly peerHttp: PeerHttpClient,
  ) {}

  private fhirService: FhirService | undefined;
  private replicaParts: NodeReplica | undefined;
  private shareLinkStore: ShareLinkStore | undefined;
  private shareLinkService: ShareLinks | undefined;
  /** Break-glass: trustee releases, key reconstruction and the in-memory emergency keys. */
  emergency: NodeEmergency | undefined;
  /** Where its HTTP API listens, once it does (may differ from the configured public URL: `--port 0`). */
  listeningUrl: string | undefined;
  /** Agreement with the other nodes of a network (none for a one-node network). */
  attestations: AttestationMonitor | undefined;

  /** The configured public URL, unless the node was told to listen on a port of its own choosing (`--port 0`). */
  advertisedUrl(): string {
    const configured = this.config.file.publicUrl;
    return new URL(configured).port === '0' && this.listeningUrl !== undefined ? this.listeningUrl : configured;
  }

  /** Record keys reconstructed under break-glass (memory only), which the FHIR key ring reads. */
  get emergencyKeys(): NodeEmergency['keys'] | undefined {
    return this.emergency?.keys;
  }

  /** The node's FHIR service (vault, index, audit trail, repository); open while the node is. */
  get fhir(): FhirService {
    if (this.fhirService === undefined) throw new Error('the FHIR service of this node is closed');
    return this.fhirService;
  }

  /** The replica custodian (`DATA/replica.sqlite`, shipping, receiving, serving); open while the node is. */
  get replica(): NodeReplica {
    if (this.replicaParts === undefined) throw new Error('the replica of this node is closed');
    return this.replicaParts;
  }

  /** The node's SMART Health Links (`DATA/shl.sqlite`); open while the node is. */
  get shareLinks(): ShareLinks {
    if (this.shareLinkService === undefined) throw new Error('the SMART Health Links of this node are closed');
    return this.shareLinkService;
  }

  /** Opens a node's data folder and starts ordering (no HTTP; see `startHttp`). */
  static async open(options: RoamNodeOptions): Promise<RoamNode> {
    const config = await loadNodeConfig(options.dataDir, { nodePassphrase: options.nodePassphrase });
    const peerHttp = peerHttpClientFor(config);
    const store = LedgerStore.open(DataFiles.store(options.dataDir));
    const verifier = new WorkerVerifierPool();
    let writer: BlockWriter | undefined;
    try {
      // The writer writes only when asked, so Ledger.open may still write block 0 itself.
      writer = BlockWriter.start(store.path);
      const blockWriter = writer;
      const ledger = Ledger.open({ store, contracts: createContractSuite(), genesis: config.genesis, verifier, writer: blockWriter });
      const limits = definedOnly({ ...config.file.block, ...options.blockLimits });
      const context: OrdererContext = { config, ledger, store, writer: blockWriter, limits };
      const log = options.log ?? (() => undefined);
      const orderer = options.orderer ? await options.orderer(context) : defaultOrderer(context, log);
      const node = new RoamNode(config, store, ledger, orderer, verifier, blockWriter, peerHttp);
      // A network node first fetches what it missed from its peers (faster than replaying the
      // stream, and the only way when the stream no longer holds the beginning).
      if (orderer instanceof JetStreamOrderer) {
        await catchUpFromPeers({
          ledger,
          peers: peerNodes(ledger, config.keys.nodeDid),
          signer: { did: config.keys.nodeDid, secretKey: config.keys.node.secretKey },
          http: peerHttp,
          log,
        });
      }
      await orderer.start(async (cut) => {
        await ledger.enqueueCut(cut.envelopes, cut.time, cut.position);
      }, ledger.ordererPosition);
      if (orderer instanceof JetStreamOrderer && orderer.connection) {
        node.attestations = new AttestationMonitor({
          ledger,
          nodeDid: config.keys.nodeDid,
          nodeKey: config.keys.node,
          transport: natsAttestationTransport(orderer.connection, ledger.chainId),
          log,
        });
        node.attestations.start();
      }
      // The vault (DATA/vault.sqlite) and the FHIR API's index and audit outbox; ships leftover audit entries.
      const state = { get: <T>(key: string) => ledger.getState<T>(key), range: <T>(prefix: string) => ledger.rangeState<T>(prefix) };
      // The break-glass entries go to the FHIR service's audit outbox (open by the time one is recorded).
      const breakGlassAudit = new BreakGlassAudit(state, (events) => node.fhir.audit.record(events));
      node.emergency = new NodeEmergency({
        did: config.keys.nodeDid,
        chainId: ledger.chainId,
        orgDid: config.keys.orgDid,
        nodeSecretKey: config.keys.node.secretKey,
        orgEncryptionSecretKey: config.keys.orgEncryption.secretKey,
        state,
        submit: (envelopes) => node.submit(envelopes),
        waitForCommit: (id, ms) => node.waitForCommit(id, ms),
        txOf: (id) => committedTxBody(ledger, id),
        onBlock: (listener) => {
          ledger.on('block', listener);
          return () => ledger.off('block', listener);
        },
        log,
        breakGlass: (access, outcome) => breakGlassAudit.record(access, outcome),
      });
      node.fhirService = FhirService.open(node);
      // The recovery asks the ledger which anchors committed: first every transaction this node
      // handed to ordering before a crash must have executed, or an anchor would commit after its
      // version was discarded: the local orderer replays its log; a JetStream node reads the
      // stream to its end (its last block cut by a marker), which holds everything it published.
      if (orderer instanceof LocalOrderer) await orderer.flush();
      if (orderer instanceof JetStreamOrderer) await orderer.drained();
      await ledger.flush();
      const recovered = await node.fhirService.recover();
      if (recovered.rolledForward + recovered.discarded > 0)
        log(
          `recovered the write path: ${recovered.rolledForward} anchored version(s) indexed, ${recovered.discarded} unanchored version(s) discarded` +
            (recovered.unsearchable > 0 ? ` (${recovered.unsearchable} without search rows: no key)` : ''),
        );
      const missing = node.fhirService.missingCiphertexts;
      if (missing.missingVersions > 0)
        log(
          `warning: ${missing.missingVersions} anchored version(s) of ${missing.records} record(s) kept here have no ciphertext in this node's vault (restored from an earlier backup?): their reads answer ${CIPHERTEXT_MISSING}; /readyz warns ${CIPHERTEXT_MISSING}`,
        );
      // After the recovery: what it indexed is what the shipper ships.
      node.replicaParts = NodeReplica.open({
        dataDir: options.dataDir,
        nodeDid: config.keys.nodeDid,
        orgDid: config.keys.orgDid,
        nodeSecretKey: config.keys.node.secretKey,
        state,
        peerHttp,
        fhir: node.fhirService,
        blockTxs: (height) => store.getBlockTxs(height),
        txById: (id) => store.getTx(id),
        height: () => ledger.height,
        onBlock: (listener) => {
          ledger.on('block', listener);
          return () => ledger.off('block', listener);
        },
        log,
      });
      node.shareLinkStore = ShareLinkStore.open(DataFiles.shareLinks(options.dataDir));
      node.shareLinkService = new ShareLinks({
        store: node.shareLinkStore,
        audit: node.fhirService.audit,
        nodeDid: config.keys.nodeDid,
        publicUrl: () => node.advertisedUrl(),
        isActivePatient: (did) => {
          const party = ledger.getState<PartyRecord>(StateKey.party(did));
          return party?.kind === 'patient' && party.status === 'active';
        },
      });
      node.emergency.start();
      return node;
    } catch (error) {
      await writer?.close();
      store.close();
      await verifier.close();
      await peerHttp.close();
      throw error;
    }
  }

  get did(): string {
    return this.config.keys.nodeDid;
  }

  get orgDid(): string {
    return this.config.keys.orgDid;
  }

  get region(): string {
    return this.config.file.region;
  }

  /**
   * Admits envelopes (shape, replay, signer, signature) and hands the accepted ones to ordering.
   * Resolves once ordering holds them durably.
   */
  async submit(envelopes: readonly unknown[]): Promise<SubmitOutcome> {
    const { accepted, rejected } = await this.ledger.admit(envelopes);
    if (accepted.length > 0) {
      try {
        await this.orderer.submit(accepted.map((tx) => tx.envelopeJson));
      } catch (error) {
        this.ledger.releaseAdmitted(accepted);
        throw new NodeError(NodeErrorCode.ORDERING_FAILED, `ordering refused the transactions: ${(error as Error).message}`);
      }
    }
    const index = indexOfAccepted(envelopes.length, accepted, rejected);
    return { accepted: accepted.map((tx, i) => ({ id: tx.id, index: index[i]! })), rejected };
  }

  waitForCommit(id: string, timeoutMs: number): Promise<CommittedTx> {
    return this.ledger.waitForCommit(id, timeoutMs);
  }

  /**
   * Cuts the block being filled now instead of at its timeout, for a caller whose answer waits
   * for the commit (the FHIR write path). Only the local orderer: a network's blocks are cut by
   * its shared stream, where one node's early cut marker would shorten every node's blocks.
   */
  cutBlock(): void {
    if (this.orderer instanceof LocalOrderer) this.orderer.flush().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.attestations?.stop();
    this.shareLinkService = undefined;
    this.shareLinkStore?.close();
    this.shareLinkStore = undefined;
    await this.emergency?.stop().catch(() => undefined);
    await this.replicaParts?.close().catch(() => undefined);
    this.replicaParts = undefined;
    await this.fhirService?.close().catch(() => undefined);
    this.fhirService = undefined;
    await this.orderer.close();
    // Blocks already executed are committed before the node closes; a failure was reported already.
    await this.ledger.flush().catch(() => undefined);
    this.ledger.close();
    await this.writer.close();
    this.store.close();
    await this.verifier.close();
    await this.peerHttp.close();
  }
}

/** The type and payload of committed transaction `id` (from its stored envelope). */
function committedTxBody(ledger: Ledger, id: string): { type: string; payload: unknown } | undefined {
  const stored = ledger.getTx(id);
  if (stored === undefined) return undefined;
  const tx = (JSON.parse(stored.envelope) as { tx?: { type?: unknown; payload?: unknown } }).tx;
  return typeof tx?.type === 'string' ? { type: tx.type, payload: tx.payload } : undefined;
}

function defaultOrderer(context: OrdererContext, log: (line: string) => void): Orderer {
  const ordering = context.config.file.ordering;
  if (ordering.kind === 'local') return localOrderer(context);
  const credentials = readOrderingCredentials(context.config);
  return new JetStreamOrderer({
    servers: ordering.servers,
    replicas: ordering.replicas,
    ...(credentials ? { credentials } : {}),
    // A member credential may not create the stream: the network's operator does (roam network up).
    createStream: credentials?.nkeySeed === undefined,
    chainId: context.config.genesis.chainId,
    head: () => ({ height: context.ledger.height, time: context.ledger.headTime }),
    limits: context.limits,
    log,
  });
}

/** Attestations as NATS core messages on `roam.<chain>.attest` (fire and forget; heartbeats repeat them). */
function natsAttestationTransport(nc: NatsConnection, chainId: string): AttestationTransport {
  const subject = `roam.${chainId}.attest`;
  return {
    publish: (data) => nc.publish(subject, data),
    subscribe: (onMessage) => {
      const subscription = nc.subscribe(subject, { callback: (error, message) => (error ? undefined : onMessage(message.string())) });
      return () => subscription.unsubscribe();
    },
  };
}

function localOrderer({ ledger, store, writer, limits }: OrdererContext): Orderer {
  return new LocalOrderer({
    log: {
      append: (envelopes) => writer.appendLog(envelopes),
      readAfter: (seq) => store.readLog(seq),
      truncateThrough: (seq) => store.truncateLog(seq),
    },
    limits,
    lastBlockTime: ledger.headTime,
  });
}

/** Positions of accepted envelopes in the submission: those not named by a rejection, in order. */
function indexOfAccepted(total: number, accepted: readonly ParsedTx[], rejected: readonly AdmissionRejection[]): number[] {
  const rejectedAt = new Set(rejected.map((r) => r.index));
  const positions: number[] = [];
  for (let i = 0; i < total && positions.length < accepted.length; i++) if (!rejectedAt.has(i)) positions.push(i);
  return positions;
}

function definedOnly<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
