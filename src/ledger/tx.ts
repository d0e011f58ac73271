import {
  canonicalJson,
  fromBase64Url,
  randomBytes,
  sha256Hex,
  sign,
  toBase64Url,
  utf8ToBytes,
  SIGNATURE_LENGTH,
} from '../crypto/index.js';
import { TX_VERSION, type SignedTx, type Tx, type TxType } from './types.js';

const NONCE_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
const MAX_SIGNER_LENGTH = 128;
/** Longest chain id accepted (genesis allows 128 characters). */
const MAX_CHAIN_ID_LENGTH = 128;
const TX_KEYS = ['chainId', 'issuedAt', 'nonce', 'payload', 'signer', 'type', 'v'];

/** A signed transaction as the ledger handles it: parsed once, with the bytes that were signed. */
export interface ParsedTx {
  readonly signed: SignedTx;
  /** SHA-256 (hex) of the canonical tx bytes: the transaction id. */
  readonly id: string;
  /** Canonical JSON of `tx`: the signed bytes. */
  readonly txBytes: Uint8Array;
  readonly signature: Uint8Array;
  /** Canonical JSON of the whole envelope `{ sig, tx }`: what blocks store and Merkle leaves hash. */
  readonly envelopeJson: string;
  /**
   * The payload as its type's schema parsed it, when this node's admission did (the schema is
   * static, so executing the transaction's block need not parse it a second time).
   */
  readonly checkedPayload?: { readonly value: unknown };
}

export type ParseTxResult = { ok: true; tx: ParsedTx } | { ok: false; message: string };

/**
 * Builds a fresh transaction for the network `chainId` (its genesis `chainId`, as
 * `GET /ledger/status` reports it); `nonce` and `issuedAt` default to a random nonce and the
 * current time.
 */
export function createTx<P>(input: {
  chainId: string;
  type: TxType;
  signer: string;
  payload: P;
  nonce?: string;
  issuedAt?: number;
}): Tx<P> {
  return {
    v: TX_VERSION,
    chainId: input.chainId,
    type: input.type,
    signer: input.signer,
    nonce: input.nonce ?? toBase64Url(randomBytes(12)),
    issuedAt: input.issuedAt ?? Date.now(),
    payload: input.payload,
  };
}

export function signTx<P>(tx: Tx<P>, secretKey: Uint8Array): SignedTx<P> {
  return { tx, sig: toBase64Url(sign(secretKey, utf8ToBytes(canonicalJson(tx)))) };
}

export function txIdOf(tx: Tx): string {
  return sha256Hex(canonicalJson(tx));
}

/**
 * Checks the shape of a submitted envelope and computes its canonical forms. It does not verify
 * the signature (that needs the signer's current key, from state) nor the tx type's payload.
 */
export function parseSignedTx(value: unknown): ParseTxResult {
  if (!isPlainObject(value)) return fail('envelope must be a JSON object { tx, sig }');
  const extra = Object.keys(value).filter((k) => k !== 'tx' && k !== 'sig');
  if (extra.length > 0) return fail(`envelope has unexpected field "${extra[0]}"`);
  const { tx, sig } = value;
  if (typeof sig !== 'string') return fail('"sig" must be a base64url string');
  let signature: Uint8Array;
  try {
    signature = fromBase64Url(sig);
  } catch {
    return fail('"sig" is not valid base64url');
  }
  if (signature.length !== SIGNATURE_LENGTH) return fail(`"sig" must be ${SIGNATURE_LENGTH} bytes, got ${signature.length}`);
  if (!isPlainObject(tx)) return fail('"tx" must be an object');
  const keys = Object.keys(tx).sort();
  if (keys.length !== TX_KEYS.length || keys.some((k, i) => k !== TX_KEYS[i])) {
    return fail(`"tx" must have exactly the fields ${TX_KEYS.join(', ')}`);
  }
  if (tx.v !== TX_VERSION) return fail(`"tx.v" must be ${TX_VERSION}`);
  if (typeof tx.chainId !== 'string' || tx.chainId.length === 0 || tx.chainId.length > MAX_CHAIN_ID_LENGTH) {
    return fail(`"tx.chainId" must be a string of 1-${MAX_CHAIN_ID_LENGTH} characters`);
  }
  if (typeof tx.type !== 'string' || tx.type.length === 0 || tx.type.length > 64) return fail('"tx.type" must be a string');
  if (typeof tx.signer !== 'string' || !tx.signer.startsWith('did:') || tx.signer.length > MAX_SIGNER_LENGTH) {
    return fail('"tx.signer" must be a DID');
  }
  if (typeof tx.nonce !== 'string' || !NONCE_PATTERN.test(tx.nonce)) {
    return fail('"tx.nonce" must be 8-64 characters of [A-Za-z0-9_-]');
  }
  if (typeof tx.issuedAt !== 'number' || !Number.isSafeInteger(tx.issuedAt) || tx.issuedAt < 0) {
    return fail('"tx.issuedAt" must be a non-negative integer (ms since epoch)');
  }
  if (tx.payload === undefined) return fail('"tx.payload" is required');
  let txJson: string;
  try {
    txJson = canonicalJson(tx);
  } catch (error) {
    return fail(`"tx" cannot be canonicalized: ${(error as Error).message}`);
  }
  const signed = { tx: tx as unknown as Tx, sig };
  const txBytes = utf8ToBytes(txJson);
  // RFC 8785 sorts members: "sig" < "tx", so the envelope's canonical form is assembled directly.
  const envelopeJson = `{"sig":${JSON.stringify(sig)},"tx":${txJson}}`;
  return { ok: true, tx: { signed, id: sha256Hex(txBytes), txBytes, signature, envelopeJson } };
}

/** Parses an envelope from its JSON text (as stored in blocks and carried by orderers). */
export function parseSignedTxJson(text: string): ParseTxResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('envelope is not valid JSON');
  }
  return parseSignedTx(value);
}

function fail(message: string): ParseTxResult {
  return { ok: false, message };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
