/**
 * The ledger API under `/ledger`: submit signed transactions, read blocks and transactions with
 * inclusion proofs, and read world state (organizations, identities, consent). Every read asks
 * the read policy of `ledger-access.ts` first: anonymous callers see status and block headers.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type {
  SyncResponse,
  BatchItemResult,
  BatchSubmitResponse,
  BlockResponse,
  BlocksResponse,
  BlockTx,
  ConsentsResponse,
  EmergencyResponse,
  GrantSummary,
  IdentityResponse,
  OrgsResponse,
  OrgSummary,
  ReplicaResponse,
  StatusResponse,
  SubmitAccepted,
  SubmitCommitted,
  TxResponse,
} from '../../wire/index.js';
import { namedReplica, replicaInEffect, type RequestRecord } from '../../contracts/index.js';
import {
  buildTxInclusionProof,
  LedgerError,
  LedgerErrorCode,
  StateKey,
  type BlockHeader,
  type CommittedTx,
  type GrantRecord,
  type OrgRecord,
  type PartyRecord,
  type ResultCode,
  type SignedTx,
} from '../../ledger/index.js';
import type { StoredBlock } from '../../store/index.js';
import { DEFAULT_COMMIT_WAIT_MS } from '../config.js';
import type { AuthService } from '../auth/index.js';
import type { RoamNode } from '../roam-node.js';
import { NodeRequestVerifier } from '../roaming/index.js';
import { emergencyView } from './emergency-view.js';
import { HttpError, rejectionStatus, type ErrorBody } from './errors.js';
import {
  accessDenied,
  maySeeTx,
  patientMayReadIdentity,
  requireMember,
  requireSignedIn,
  resolveLedgerReader,
  type LedgerReader,
} from './ledger-access.js';
import { didSchema, intString, parseInput, txIdSchema } from './params.js';

/** Largest body of POST /ledger/tx (a batch of envelopes). */
export const TX_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
/** Most envelopes in one batch. */
export const MAX_BATCH_TXS = 5000;
/** Longest `timeoutMs` a submitter may wait for commit. */
export const MAX_COMMIT_WAIT_MS = 120_000;
/** Most blocks in one GET /ledger/blocks answer (also the default `limit`). */
export const MAX_BLOCKS_PER_PAGE = 100;
/** GET /ledger/blocks stops adding blocks past this many bytes of headers and envelopes (at least one block). */
export const MAX_BLOCKS_RESPONSE_BYTES = 8 * 1024 * 1024;

const submitQuerySchema = z.strictObject({
  wait: z.literal('commit', { error: 'must be "commit"' }).optional(),
  timeoutMs: intString(1, MAX_COMMIT_WAIT_MS).optional(),
});
const txParamsSchema = z.strictObject({ id: txIdSchema });
const blockParamsSchema = z.strictObject({ height: intString(0, Number.MAX_SAFE_INTEGER) });
const blocksQuerySchema = z.strictObject({
  from: intString(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: intString(1, MAX_BLOCKS_PER_PAGE).optional(),
});
const didParamsSchema = z.strictObject({ did: didSchema });

/** The roam-ehr package version (package.json sits at the same depth from src/ and dist/). */
function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export interface LedgerRoutesOptions {
  readonly node: RoamNode;
  /** Aborts when the server starts to close. */
  readonly closing: AbortSignal;
  /** Checks the access tokens of ledger reads. */
  readonly auth: AuthService;
}

/** Registers the `/ledger` routes of `options.node` on `app`. */
export function registerLedgerRoutes(app: FastifyInstance, options: LedgerRoutesOptions): void {
  const { node, closing, auth } = options;
  const version = packageVersion();
  const { ledger, store } = node;
  const state = {
    get: <T>(key: string) => ledger.getState<T>(key),
    range: <T>(prefix: string) => ledger.rangeState<T>(prefix),
  };
  // Member nodes read (sync) with the signed requests they use for roaming; a verifier of our own
  // keeps its nonce window apart from the custodian endpoint's.
  const sources = { auth, state, nodeRequests: new NodeRequestVerifier(state, { audience: node.did }) };
  const readerOf = (request: FastifyRequest, reply: FastifyReply): Promise<LedgerReader> =>
    resolveLedgerReader(request, reply, sources);
  // Commit waits end when the server closes, rather than holding shutdown for up to their timeout.
  const waitForCommit = (id: string, ms: number) => raceClose(node.waitForCommit(id, ms), closing, id);

  app.post(
    '/ledger/tx',
    { bodyLimit: TX_BODY_LIMIT_BYTES, onRequest: requireJsonBody },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const query = parseInput('query', submitQuerySchema, request.query);
      const waitMs = query.wait === 'commit' ? (query.timeoutMs ?? DEFAULT_COMMIT_WAIT_MS) : undefined;
      const body = request.body;
      if (isPlainObject(body) && 'txs' in body) {
        const txs = batchOf(body);
        const response = await submitBatch(node, txs, waitMs, waitForCommit);
        return reply.code(waitMs === undefined ? 202 : 200).send(response);
      }
      const outcome = await node.submit([body]);
      const rejected = outcome.rejected[0];
      if (rejected !== undefined) {
        const error: ErrorBody = { error: { code: rejected.code, message: rejected.message } };
        return reply.code(rejectionStatus(rejected.code)).send(error);
      }
      const accepted = outcome.accepted[0];
      if (accepted === undefined)
        throw new Error('submission of one envelope gave neither an acceptance nor a rejection');
      if (waitMs === undefined) {
        const response: SubmitAccepted = { id: accepted.id, status: 'accepted' };
        return reply.code(202).send(response);
      }
      const committed = await waitForCommit(accepted.id, waitMs);
      const response: SubmitCommitted = {
        id: committed.id,
        status: 'committed',
        height: committed.height,
        index: committed.index,
        code: committed.code,
        ...withMessage(committed.message),
      };
      return reply.code(200).send(response);
    },
  );

  app.get('/ledger/tx/:id', async (request, reply) => {
    const reader = await readerOf(request, reply);
    requireSignedIn(reader, reply);
    const { id } = parseInput('path', txParamsSchema, request.params);
    const tx = ledger.getTx(id);
    const block = tx && store.getBlock(tx.height);
    if (!tx || !block) {
      // Only a member may learn that an id is not on the ledger; others get the refusal they
      // would get for a transaction that is not theirs.
      if (reader.kind !== 'member') throw accessDenied();
      throw new HttpError('NOT_FOUND', `transaction ${id} is not on the ledger`);
    }
    const envelope = JSON.parse(tx.envelope) as SignedTx;
    if (!maySeeTx(reader, envelope)) throw accessDenied();
    const header = JSON.parse(block.header) as BlockHeader;
    const response: TxResponse = {
      id: tx.id,
      height: tx.height,
      index: tx.index,
      code: tx.code,
      ...withMessage(tx.message),
      tx: envelope,
      blockHash: block.hash,
      header,
      proof: buildTxInclusionProof(store, header, tx.index),
    };
    return response;
  });

  // Block headers are public (heights, hashes, roots, times); the transactions in them are shown
  // to whom the policy lets see each one, and a block says when some were left out.
  app.get('/ledger/blocks/:height', async (request, reply) => {
    const reader = await readerOf(request, reply);
    const { height } = parseInput('path', blockParamsSchema, request.params);
    const block = store.getBlock(height);
    if (!block) throw new HttpError('NOT_FOUND', `block ${height} does not exist (head is ${ledger.height})`);
    return blockResponse(node, block, reader).body;
  });

  app.get('/ledger/blocks', async (request, reply) => {
    const reader = await readerOf(request, reply);
    const query = parseInput('query', blocksQuerySchema, request.query);
    const stored = store.getBlocksFrom(query.from ?? 0, query.limit ?? MAX_BLOCKS_PER_PAGE);
    const blocks: BlockResponse[] = [];
    let bytes = 0;
    for (const block of stored) {
      const { body, size } = blockResponse(node, block, reader);
      if (blocks.length > 0 && bytes + size > MAX_BLOCKS_RESPONSE_BYTES) break;
      blocks.push(body);
      bytes += size;
    }
    const response: BlocksResponse = { blocks };
    return response;
  });

  app.get('/ledger/status', () => {
    const { file } = node.config;
    const response: StatusResponse = {
      chainId: ledger.chainId,
      genesisHash: ledger.genesisHash,
      height: ledger.height,
      headHash: ledger.headHash,
      stateRoot: ledger.stateRoot,
      headTime: ledger.headTime,
      nodeDid: node.did,
      org: { did: file.org.did, name: file.org.name },
      region: file.region,
      url: node.advertisedUrl(),
      ordering: node.orderer.kind,
      version,
      ...(node.attestations ? { network: node.attestations.status() } : {}),
    };
    return response;
  });

  // Blocks with their raw envelopes and ordering positions, for a node catching up from peers
  // (it re-executes every block and checks the hash): members only, as the blocks are whole.
  app.get('/ledger/sync', async (request, reply) => {
    requireMember(await readerOf(request, reply), reply);
    const query = parseInput('query', blocksQuerySchema, request.query);
    const blocks: Array<SyncResponse['blocks'][number]> = [];
    let bytes = 0;
    for (const block of store.getBlocksFrom(query.from ?? 1, query.limit ?? MAX_BLOCKS_PER_PAGE)) {
      const envelopes = store.getBlockTxs(block.height).map((tx) => tx.envelope);
      const size = envelopes.reduce((sum, envelope) => sum + envelope.length, block.header.length);
      if (blocks.length > 0 && bytes + size > MAX_BLOCKS_RESPONSE_BYTES) break;
      blocks.push({
        height: block.height,
        hash: block.hash,
        header: block.header,
        position: block.position ?? null,
        envelopes,
      });
      bytes += size;
    }
    const response: SyncResponse = { head: ledger.height, blocks };
    return response;
  });

  app.get('/ledger/orgs', async (request, reply) => {
    requireSignedIn(await readerOf(request, reply), reply);
    const orgs = ledger.rangeState<OrgRecord>(StateKey.ORG_PREFIX).map(([, org]): OrgSummary => {
      const prefix = StateKey.orgNodesPrefix(org.did);
      const nodes = ledger.rangeState<string>(prefix).flatMap(([key]) => {
        const party = ledger.getState<PartyRecord>(StateKey.party(key.slice(prefix.length)));
        if (!party) return [];
        return [
          { did: party.did, url: party.url ?? '', region: party.region ?? org.region, status: party.status },
        ];
      });
      return { did: org.did, name: org.name, region: org.region, encryptionKey: org.encryptionKey, status: org.status, nodes };
    });
    const response: OrgsResponse = { orgs };
    return response;
  });

  app.get('/ledger/identities/:did', async (request, reply) => {
    const reader = await readerOf(request, reply);
    requireSignedIn(reader, reply);
    const { did } = parseInput('path', didParamsSchema, request.params);
    const allowed =
      reader.kind === 'member' || (reader.kind === 'patient' && patientMayReadIdentity(state, reader, did));
    if (!allowed) throw accessDenied();
    const party = ledger.getState<PartyRecord>(StateKey.party(did));
    if (party) return party satisfies IdentityResponse;
    const org = ledger.getState<OrgRecord>(StateKey.org(did));
    if (org) return { ...org, kind: 'org' } satisfies IdentityResponse;
    throw new HttpError('UNKNOWN_DID', `no party or organization ${did} on the ledger`);
  });

  /**
   * The patient `:did` of a patient-scoped read, for a member or that patient itself. Decided on
   * the caller and the DID asked for alone, before any lookup: a patient's answer for another
   * patient is the same whether that patient exists or not.
   */
  const patientOfRead = async (request: FastifyRequest, reply: FastifyReply): Promise<string> => {
    const reader = await readerOf(request, reply);
    requireSignedIn(reader, reply);
    const { did } = parseInput('path', didParamsSchema, request.params);
    const allowed = reader.kind === 'member' || (reader.kind === 'patient' && reader.did === did);
    if (!allowed) throw accessDenied();
    const party = ledger.getState<PartyRecord>(StateKey.party(did));
    if (party?.kind !== 'patient')
      throw new HttpError('UNKNOWN_PATIENT', `${did} is not a registered patient`);
    return did;
  };

  app.get('/ledger/patients/:did/consents', async (request, reply) => {
    const did = await patientOfRead(request, reply);
    const grantsPrefix = StateKey.patientGrantsPrefix(did);
    const grants = ledger.rangeState<string>(grantsPrefix).flatMap(([key]): GrantSummary[] => {
      const grant = ledger.getState<GrantRecord>(StateKey.grant(key.slice(grantsPrefix.length)));
      if (!grant) return [];
      const { keys, ...rest } = grant;
      return [{ ...rest, keyCount: keys?.length ?? 0 }];
    });
    const requestsPrefix = StateKey.patientRequestsPrefix(did);
    const requests = ledger.rangeState<string>(requestsPrefix).flatMap(([key]) => {
      const record = ledger.getState<RequestRecord>(StateKey.request(key.slice(requestsPrefix.length)));
      return record ? [record] : [];
    });
    const rotations = ledger.getState<number>(StateKey.rotations(did)) ?? 0;
    const response: ConsentsResponse = { grants, requests, rotations };
    return response;
  });

  // The patient's emergency policy and every break-glass of its record: the consents' read policy.
  app.get('/ledger/patients/:did/emergency', async (request, reply) => {
    const did = await patientOfRead(request, reply);
    return emergencyView(state, did) satisfies EmergencyResponse;
  });

  // The patient's replica organization (records.replica): the consents' read policy.
  app.get('/ledger/patients/:did/replica', async (request, reply) => {
    const did = await patientOfRead(request, reply);
    const named = namedReplica(state, did);
    const response: ReplicaResponse = {
      replica: named === undefined ? null : { ...named, inEffect: replicaInEffect(state, did, Date.now()) === named.org },
    };
    return response;
  });
}

/** onRequest hook: refuses a body that is not JSON before it is read. */
function requireJsonBody(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
  const type = request.headers['content-type'];
  const mediaType = type?.split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/json') return done();
  done(
    new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `request body must be application/json, got ${type === undefined ? 'no Content-Type' : JSON.stringify(type.slice(0, 100))}`,
    ),
  );
}

/** The `txs` of a batch body `{ txs: [...] }`, checked for shape and size. */
function batchOf(body: Record<string, unknown>): unknown[] {
  const extra = Object.keys(body).find((key) => key !== 'txs');
  if (extra !== undefined)
    throw new HttpError(
      'VALIDATION_FAILED',
      `body field "${extra.slice(0, 64)}" is not known (a batch is { txs: [...] })`,
    );
  const { txs } = body;
  if (!Array.isArray(txs))
    throw new HttpError('VALIDATION_FAILED', 'body field "txs" must be an array of signed envelopes');
  if (txs.length === 0)
    throw new HttpError('VALIDATION_FAILED', 'body field "txs" must hold at least one envelope');
  if (txs.length > MAX_BATCH_TXS) {
    throw new HttpError(
      'BATCH_TOO_LARGE',
      `body field "txs" holds ${txs.length} envelopes; at most ${MAX_BATCH_TXS} per batch`,
    );
  }
  return txs as unknown[];
}

async function submitBatch(
  node: RoamNode,
  txs: readonly unknown[],
  waitMs: number | undefined,
  waitForCommit: (id: string, ms: number) => Promise<CommittedTx>,
): Promise<BatchSubmitResponse> {
  const outcome = await node.submit(txs);
  const results: BatchItemResult[] = new Array<BatchItemResult>(txs.length);
  for (const rejected of outcome.rejected) {
    results[rejected.index] = {
      index: rejected.index,
      status: 'rejected',
      error: { code: rejected.code, message: rejected.message },
    };
  }
  const waited = await Promise.all(
    outcome.accepted.map(async ({ id, index }): Promise<BatchItemResult> => {
      if (waitMs === undefined) return { index, id, status: 'accepted' };
      let committed: CommittedTx;
      try {
        committed = await waitForCommit(id, waitMs);
      } catch (error) {
        if (error instanceof LedgerError && error.code === LedgerErrorCode.COMMIT_TIMEOUT) {
          return { index, id, status: 'accepted', error: { code: 'COMMIT_TIMEOUT', message: error.message } };
        }
        throw error;
      }
      return {
        index,
        id,
        status: 'committed',
        height: committed.height,
        blockIndex: committed.index,
        code: committed.code,
        ...withMessage(committed.message),
      };
    }),
  );
  for (const result of waited) results[result.index] = result;
  return { results };
}

/**
 * A stored block as `reader` may see it (every transaction for a member; for others only those
 * the policy lets them see, with `redacted: true`), and its size in bytes of stored JSON (for
 * paging; counted over what is sent, so a redacted page says nothing of the hidden sizes).
 */
function blockResponse(
  node: RoamNode,
  block: StoredBlock,
  reader: LedgerReader,
): { body: BlockResponse; size: number } {
  let size = block.header.length;
  const txs: BlockTx[] = [];
  const stored = reader.kind === 'anonymous' ? [] : node.store.getBlockTxs(block.height);
  for (const tx of stored) {
    const envelope = JSON.parse(tx.envelope) as SignedTx;
    if (!maySeeTx(reader, envelope)) continue;
    size += tx.envelope.length;
    txs.push({ id: tx.id, envelope, code: tx.code as ResultCode, ...withMessage(tx.message ?? undefined) });
  }
  const header = JSON.parse(block.header) as BlockHeader;
  const redacted = reader.kind === 'member' ? {} : { redacted: true as const };
  return { body: { hash: block.hash, header, txs, ...redacted }, size };
}

/** `wait`, or UNAVAILABLE once `signal` aborts (the server is closing). */
function raceClose<T>(wait: Promise<T>, signal: AbortSignal, id: string): Promise<T> {
  const closed = () =>
    new HttpError(
      'UNAVAILABLE',
      `the node is shutting down; transaction ${id} was accepted but its commit was not awaited`,
    );
  if (signal.aborted) {
    // Nobody else awaits `wait`: it rejects when the ledger closes, which must not be unhandled.
    wait.catch(() => undefined);
    return Promise.reject(closed());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(closed());
    signal.addEventListener('abort', onAbort, { once: true });
    wait.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function withMessage(message: string | undefined): { message?: string } {
  return message === undefined ? {} : { message };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
