/**
 * Helpers of the sign-in tests: a real node in a temp folder (test/http/fixture.ts), parties
 * registered through the ledger, signed challenges, and an app with a movable clock.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import type { ChallengeResponse, TokenResponse } from '../../src/wire/index.js';
import { sign, toBase64Url, utf8ToBytes } from '../../src/crypto/index.js';
import type { SignedTx } from '../../src/ledger/index.js';
import { createNodeAuthService, registerAuthRoutes, type AuthService } from '../../src/node/auth/index.js';
import { errorResponse } from '../../src/node/http/errors.js';
import type { RoamNode } from '../../src/node/index.js';
import type { Wallet } from '../../src/wallet/index.js';
import { envelope, newPatient, registerPatient } from '../http/fixture.js';

export { openTestNode, newPatient, type TestNode } from '../http/fixture.js';

export interface Answer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Record<string, unknown>;
}

export interface ErrorJson {
  readonly error: { readonly code: string; readonly message: string };
}

export async function call<T = unknown>(app: FastifyInstance, options: InjectOptions): Promise<Answer<T>> {
  const res = await app.inject(options);
  return { status: res.statusCode, body: res.json<T>(), headers: res.headers };
}

export function post<T = unknown>(app: FastifyInstance, url: string, payload: object): Promise<Answer<T>> {
  return call<T>(app, { method: 'POST', url, payload });
}

export function me<T = unknown>(app: FastifyInstance, token: string | undefined): Promise<Answer<T>> {
  return call<T>(app, {
    method: 'GET',
    url: '/auth/me',
    ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
  });
}

/** Checks an error answer: status, code, and for 401s the `WWW-Authenticate: Bearer` challenge. */
export function assertError(res: Answer, status: number, code: string): void {
  const body = res.body as ErrorJson;
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  if (status === 401) assert.match(String(res.headers['www-authenticate']), /^Bearer realm="roam"/);
}

/** Submits `tx` and waits for its commit; fails unless the result code is OK. */
export async function commit(node: RoamNode, tx: SignedTx): Promise<void> {
  const outcome = await node.submit([tx]);
  const accepted = outcome.accepted[0];
  assert.ok(accepted, `refused at admission: ${JSON.stringify(outcome.rejected)}`);
  const committed = await node.waitForCommit(accepted.id, 10_000);
  assert.equal(committed.code, 'OK', committed.message);
}

/** A new patient wallet, registered on the ledger. */
export async function registeredPatient(node: RoamNode): Promise<Wallet> {
  const patient = newPatient();
  await commit(node, registerPatient(patient));
  return patient;
}

export async function deactivate(node: RoamNode, party: Wallet): Promise<void> {
  await commit(node, envelope(party, 'identity.deactivate', { did: party.did }));
}

/** Signature (base64url) of `message` with `secretKey`. */
export function signMessage(secretKey: Uint8Array, message: string): string {
  return toBase64Url(sign(secretKey, utf8ToBytes(message)));
}

/** challenge → sign with the wallet's key → token; returns the token answer. */
export async function signInThrough(app: FastifyInstance, wallet: Wallet): Promise<Answer<TokenResponse>> {
  const challenge = await post<ChallengeResponse>(app, '/auth/challenge', { did: wallet.did });
  assert.equal(challenge.status, 200, JSON.stringify(challenge.body));
  const { nonce, message } = challenge.body;
  return post<TokenResponse>(app, '/auth/token', {
    did: wallet.did,
    nonce,
    signature: signMessage(wallet.signing.secretKey, message),
  });
}

/** A clock the tests move by hand. */
export class TestClock {
  constructor(public ms: number) {}
  readonly now = () => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface ClockApp {
  readonly app: FastifyInstance;
  readonly auth: AuthService;
  readonly clock: TestClock;
  /** Everything the app logged (JSON lines). */
  logs(): string;
}

/**
 * The `/auth` routes of `node` with a movable clock, on an app with the node server's error
 * handler and a logger writing into memory (to check that no token or signature is logged).
 */
export async function clockApp(node: RoamNode, startMs = Date.now()): Promise<ClockApp> {
  const clock = new TestClock(startMs);
  let logged = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString('utf8');
      done();
    },
  });
  const app = Fastify({ logger: { level: 'trace', stream } });
  app.setErrorHandler((error, request, reply) => {
    const { status, body, internal } = errorResponse(error);
    if (internal) request.log.error({ err: error }, 'request failed');
    return reply.code(status).send(body);
  });
  const auth = registerAuthRoutes(app, createNodeAuthService(node, { now: clock.now }));
  await app.ready();
  return { app, auth, clock, logs: () => logged };
}
