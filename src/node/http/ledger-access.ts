/**
 * Who may read what of the ledger API (issue #9: "the ledger is not public"). Every `/ledger`
 * GET route asks `resolveLedgerReader` who the caller is, then one of the checks below, before
 * it reads anything.
 *
 * | route                                   | anonymous      | patient                        | member practitioner/admin, member node |
 * |-----------------------------------------|----------------|--------------------------------|----------------------------------------|
 * | GET /ledger/status                      | yes            | yes                            | yes                                    |
 * | GET /ledger/blocks, /ledger/blocks/:h   | headers only   | headers + its own transactions | everything                             |
 * | GET /ledger/tx/:id                      | 401            | its own, else 403              | yes                                    |
 * | GET /ledger/sync                        | 401            | 403                            | yes                                    |
 * | GET /ledger/orgs                        | 401            | yes (to choose a grantee)      | yes                                    |
 * | GET /ledger/identities/:did             | 401            | itself, orgs, practitioners and nodes; else 403 | yes                   |
 * | GET /ledger/patients/:did/consents      | 401            | its own, else 403              | yes                                    |
 *
 * "Its own" transaction: signed by the patient, or naming the patient's DID anywhere in its
 * payload (its records' anchors, grants, audit entries about it). A member is an active
 * practitioner or node of an active member organization: it replicates the whole ledger anyway
 * (it runs, or works for, a node). A member node is recognised by the signed node-request headers
 * of `src/node/roaming/signing.ts`, or by an access token of its own. A practitioner or node
 * of a suspended organization reads as a patient would of data that is not its own: refused.
 *
 * Refusals carry no data and do not depend on whether the thing asked for exists: a patient asking
 * for another patient's consents, or for a transaction, gets the same 403 LEDGER_ACCESS_DENIED
 * for a real and for a made-up DID or id.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isMemberOrg, type StateReader } from '../../contracts/index.js';
import type { PartyRecord, SignedTx } from '../../ledger/index.js';
import { StateKey } from '../../ledger/index.js';
import { AUTH_REALM, authenticateBearer, type AuthService } from '../auth/index.js';
import { NODE_AUTH_CHALLENGE, NODE_HEADERS, type NodeRequestVerifier } from '../roaming/index.js';
import { HttpError } from './errors.js';

/** The caller of a ledger read, as the policy sees it. */
export type LedgerReader =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'patient'; readonly did: string }
  /** An active practitioner (any role) or node of an active member organization. */
  | { readonly kind: 'member'; readonly did: string; readonly org: string }
  /** Signed in, but neither a patient nor a member (e.g. a practitioner of a suspended organization). */
  | { readonly kind: 'outsider'; readonly did: string };

export interface LedgerReaderSources {
  readonly auth: AuthService;
  readonly nodeRequests: NodeRequestVerifier;
  readonly state: StateReader;
}

/**
 * The caller of `request`: a valid access token's principal, a member node's signed request, or
 * anonymous when it presents neither. A presented credential that does not verify is refused
 * (401 with its code), never read as anonymous.
 */
export async function resolveLedgerReader(
  request: FastifyRequest,
  reply: FastifyReply,
  sources: LedgerReaderSources,
): Promise<LedgerReader> {
  if (request.headers.authorization !== undefined) {
    const principal = await authenticateBearer(sources.auth, request, reply);
    return readerOf(sources.state, principal.did);
  }
  if (request.headers[NODE_HEADERS.node] !== undefined) {
    const node = await sources.nodeRequests
      .verify({ method: request.method, path: request.url, body: '', headers: request.headers })
      .catch((error: unknown) => {
        if (error instanceof HttpError && error.statusCode === 401)
          void reply.header('www-authenticate', NODE_AUTH_CHALLENGE);
        throw error;
      });
    return readerOf(sources.state, node.did);
  }
  return { kind: 'anonymous' };
}

/** The policy's view of a verified party. */
function readerOf(state: StateReader, did: string): LedgerReader {
  const party = state.get<PartyRecord>(StateKey.party(did));
  if (party?.status !== 'active') return { kind: 'outsider', did };
  if (party.kind === 'patient') return { kind: 'patient', did };
  if (party.org !== undefined && isMemberOrg(state, party.org))
    return { kind: 'member', did, org: party.org };
  return { kind: 'outsider', did };
}

/** 401 TOKEN_MISSING for anonymous callers: sign in first. */
export function requireSignedIn(
  reader: LedgerReader,
  reply: FastifyReply,
): asserts reader is Exclude<LedgerReader, { kind: 'anonymous' }> {
  if (reader.kind !== 'anonymous') return;
  void reply.header('www-authenticate', `Bearer realm="${AUTH_REALM}"`);
  throw new HttpError(
    'TOKEN_MISSING',
    'this ledger read needs a signed-in party (Authorization: Bearer <token>)',
  );
}

/** The one refusal of a signed-in caller: the same for what exists and what does not. */
export function accessDenied(): HttpError {
  return new HttpError('LEDGER_ACCESS_DENIED', 'this ledger data is not yours to read, or does not exist');
}

/** Members only (401 for anonymous, 403 LEDGER_ACCESS_DENIED for others). */
export function requireMember(
  reader: LedgerReader,
  reply: FastifyReply,
): asserts reader is Extract<LedgerReader, { kind: 'member' }> {
  requireSignedIn(reader, reply);
  if (reader.kind !== 'member') throw accessDenied();
}

/** Whether `reader` may see `envelope` in full. */
export function maySeeTx(reader: LedgerReader, envelope: SignedTx): boolean {
  switch (reader.kind) {
    case 'member':
      return true;
    case 'patient':
      return envelope.tx.signer === reader.did || mentions(envelope.tx.payload, reader.did);
    case 'anonymous':
    case 'outsider':
      return false;
  }
}

/** Most nested levels `mentions` descends (payloads are shallow; this bounds a hostile one). */
const MAX_PAYLOAD_DEPTH = 16;

/** True when `value` holds the string `did` anywhere (values, not keys). */
function mentions(value: unknown, did: string, depth = 0): boolean {
  if (value === did) return true;
  if (depth >= MAX_PAYLOAD_DEPTH || typeof value !== 'object' || value === null) return false;
  const children = Array.isArray(value) ? (value as unknown[]) : Object.values(value);
  return children.some((child) => mentions(child, did, depth + 1));
}

/** Whether a patient may read the party or organization record of `did`. */
export function patientMayReadIdentity(
  state: StateReader,
  reader: { readonly did: string },
  did: string,
): boolean {
  if (did === reader.did) return true;
  const party = state.get<PartyRecord>(StateKey.party(did));
  if (party !== undefined) return party.kind !== 'patient';
  return state.get(StateKey.org(did)) !== undefined;
}
