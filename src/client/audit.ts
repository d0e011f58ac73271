/**
 * A patient's access trail, read from the ledger (used by `roam audit` and the web app's "Who saw
 * my record"). Nodes record every FHIR access in `audit.batch` transactions. The entries are
 * located with the node's FHIR AuditEvent view (ids `<height>-<tx>-<entry>`), or by scanning the
 * chain's blocks; each entry is then read from its transaction as GET /ledger/tx/:id answers it,
 * with the inclusion proof checked by verifyTxResponse. Platform-free (fetch only).
 */
import type { AuditEntry } from '../contracts/audit.js';
import { RoamApiError } from './errors.js';
import type { Bundle, FhirClient } from './fhir.js';
import type { RoamClient } from './http-client.js';
import type { BlockResponse, TxResponse } from '../wire/index.js';
import { verifyTxResponse } from './verify.js';

/** Codes of a trail that does not check out. */
export const AuditTrailErrorCode = {
  /** A named transaction or entry is missing, or a proof does not lead to its block. */
  PROOF_INVALID: 'PROOF_INVALID',
  /** The node's AuditEvent view answered something that is not an entry's position. */
  INTERNAL: 'INTERNAL',
} as const;

function trailError(code: string, message: string): RoamApiError {
  return new RoamApiError(0, code, message);
}

/** The most entries of one AuditEvent page (the view's MAX_COUNT). */
const VIEW_MAX_COUNT = 1000;

export interface AuditRow {
  readonly id: string;
  readonly at: number;
  readonly actor: string;
  readonly actorKind: string | null;
  readonly actorOrg: string | null;
  readonly actorOrgName: string | null;
  readonly action: string;
  readonly resourceType: string | null;
  readonly recordId: string | null;
  readonly grantId: string | null;
  readonly purpose: string | null;
  /** The break-glass access the access was made under (null: none). */
  readonly emergency: string | null;
  readonly outcome: string;
  /** The node that recorded the entry, and its region. */
  readonly recordedBy: string;
  readonly region: string | null;
  /** For a custodian's answer to another node (roaming): the region of the node that asked. */
  readonly viaRegion: string | null;
  readonly txId: string;
  readonly height: number;
  readonly proofValid: boolean;
}

const BLOCK_PAGE = 100;

/** Where an audit entry is on the chain: block height, transaction index, entry index. */
interface Position {
  readonly height: number;
  readonly txIndex: number;
  readonly entryIndex: number;
  /** The transaction id, when known from the block already. */
  readonly txId?: string;
  /** What the FHIR view says of the entry, to be checked against the verified transaction. */
  readonly claimed?: { readonly actor: string | undefined; readonly at: number };
}

/** Positions of every audit entry about `patient`, oldest first, by scanning all blocks. */
async function positionsFromBlocks(client: RoamClient, patient: string): Promise<Position[]> {
  const { height } = await client.status();
  const out: Position[] = [];
  for (let from = 0; from <= height;) {
    const { blocks } = await client.getBlocks(from, BLOCK_PAGE);
    if (blocks.length === 0) break;
    for (const block of blocks) {
      block.txs.forEach((tx, txIndex) => {
        if (tx.code !== 'OK' || tx.envelope.tx.type !== 'audit.batch') return;
        const entries = (tx.envelope.tx.payload as { entries?: AuditEntry[] }).entries ?? [];
        entries.forEach((e, entryIndex) => {
          if (e.patient === patient)
            out.push({ height: block.header.height, txIndex, entryIndex, txId: tx.id });
        });
      });
    }
    from = blocks[blocks.length - 1]!.header.height + 1;
  }
  return out;
}

interface FhirAuditEvent {
  readonly id?: string;
  readonly recorded?: string;
  readonly agent?: ReadonlyArray<{
    readonly requestor?: boolean;
    readonly who?: { readonly identifier?: { readonly value?: string } };
  }>;
}

/**
 * Positions of the last `limit` audit entries about the signed-in patient, from the node's FHIR
 * AuditEvent view (ids `<height>-<tx>-<entry>`); null when the node has no such view.
 */
async function positionsFromView(fhir: FhirClient, limit: number): Promise<Position[] | null> {
  const head = await fhir.getOptional<Bundle>('AuditEvent?_count=0');
  if (head === null) return null;
  if (limit === 0) return [];
  const offset = Math.max(0, (head.total ?? 0) - limit);
  const events = await fhir.searchAll('AuditEvent', {
    _count: String(Math.min(limit, VIEW_MAX_COUNT)),
    _page: String(offset),
  });
  const out: Position[] = [];
  for (const event of events as FhirAuditEvent[]) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(event.id ?? '');
    if (m === null)
      throw trailError(
        AuditTrailErrorCode.INTERNAL,
        `AuditEvent id ${event.id ?? '(none)'} is not <height>-<tx>-<entry>`,
      );
    out.push({
      height: Number(m[1]),
      txIndex: Number(m[2]),
      entryIndex: Number(m[3]),
      claimed: {
        actor: event.agent?.find((a) => a.requestor === true)?.who?.identifier?.value,
        at: Date.parse(event.recorded ?? ''),
      },
    });
  }
  return out.slice(-limit);
}

/** Who an actor is: its kind and organization, from the ledger (cached); and the nodes' regions. */
async function actorResolver(client: RoamClient) {
  const { orgs } = await client.orgs();
  const orgName = new Map(orgs.map((o) => [o.did, o.name]));
  const nodeOrg = new Map(orgs.flatMap((o) => o.nodes.map((n) => [n.did, o.did] as const)));
  const nodeRegion = new Map(orgs.flatMap((o) => o.nodes.map((n) => [n.did, n.region] as const)));
  const regionOf = (node: string | undefined) => (node === undefined ? null : (nodeRegion.get(node) ?? null));
  const cache = new Map<string, { kind: string | null; org: string | null }>();
  const who = async (did: string) => {
    let found = cache.get(did);
    if (found === undefined) {
      const org = nodeOrg.get(did);
      if (org !== undefined) {
        found = { kind: 'node', org };
      } else {
        try {
          const identity = await client.identity(did);
          found = {
            kind: identity.kind,
            org: identity.kind === 'org' ? identity.did : (identity.org ?? null),
          };
        } catch (error) {
          if (!(error instanceof RoamApiError) || error.status !== 404) throw error;
          found = { kind: null, org: null };
        }
      }
      cache.set(did, found);
    }
    return { ...found, orgName: found.org === null ? null : (orgName.get(found.org) ?? null) };
  };
  return { who, regionOf };
}

/**
 * The entries at `positions`, each read from its transaction as GET /ledger/tx/:id answers it,
 * with the inclusion proof checked (verifyTxResponse) and, for positions from the FHIR view, the
 * view's actor and time checked against the verified entry.
 */
async function verifiedRows(
  client: RoamClient,
  patient: string,
  positions: readonly Position[],
): Promise<AuditRow[]> {
  const { who, regionOf } = await actorResolver(client);
  const blocks = new Map<number, Promise<BlockResponse>>();
  const txs = new Map<string, Promise<TxResponse>>();
  const rows: AuditRow[] = [];
  for (const position of positions) {
    let txId = position.txId;
    if (txId === undefined) {
      let block = blocks.get(position.height);
      if (block === undefined) blocks.set(position.height, (block = client.getBlock(position.height)));
      txId = (await block).txs[position.txIndex]?.id;
    }
    if (txId === undefined) {
      throw trailError(
        AuditTrailErrorCode.PROOF_INVALID,
        `block ${position.height} has no transaction ${position.txIndex} (named by AuditEvent ${position.height}-${position.txIndex}-${position.entryIndex})`,
      );
    }
    let pending = txs.get(txId);
    if (pending === undefined) txs.set(txId, (pending = client.getTx(txId)));
    const view = await pending;
    const entry = (view.tx.tx.payload as { entries?: AuditEntry[] }).entries?.[position.entryIndex];
    const consistent =
      view.tx.tx.type === 'audit.batch' &&
      view.height === position.height &&
      entry?.patient === patient &&
      (position.claimed === undefined ||
        (position.claimed.actor === entry.actor && position.claimed.at === entry.at));
    const proofValid = consistent && verifyTxResponse(view);
    if (entry === undefined) {
      throw trailError(
        AuditTrailErrorCode.PROOF_INVALID,
        `transaction ${txId} has no audit entry ${position.entryIndex}`,
      );
    }
    const actor = await who(entry.actor);
    rows.push({
      id: entry.id,
      at: entry.at,
      actor: entry.actor,
      actorKind: entry.actor === patient ? 'patient (you)' : actor.kind,
      actorOrg: actor.org,
      actorOrgName: actor.orgName,
      action: entry.action,
      resourceType: entry.resourceType ?? null,
      recordId: entry.recordId ?? null,
      grantId: entry.grantId ?? null,
      purpose: entry.purpose ?? null,
      emergency: entry.emergency ?? null,
      outcome: entry.outcome,
      recordedBy: view.tx.tx.signer,
      region: regionOf(view.tx.tx.signer),
      viaRegion: regionOf(entry.via),
      txId: view.id,
      height: view.height,
      proofValid,
    });
  }
  return rows;
}

/**
 * The patient's last `limit` audit entries, oldest first, each with its proof checked: located
 * with the FHIR AuditEvent view when `fhir` is given and the node has it, else by scanning blocks.
 */
export async function readAuditTrail(
  client: RoamClient,
  patient: string,
  limit: number,
  fhir?: FhirClient,
): Promise<{ source: 'fhir-view' | 'ledger-scan'; rows: AuditRow[] }> {
  const fromView = fhir === undefined ? null : await positionsFromView(fhir, limit);
  if (fromView !== null) return { source: 'fhir-view', rows: await verifiedRows(client, patient, fromView) };
  const all = await positionsFromBlocks(client, patient);
  return {
    source: 'ledger-scan',
    rows: await verifiedRows(client, patient, limit === 0 ? [] : all.slice(-limit)),
  };
}
