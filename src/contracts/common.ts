/**
 * Helpers shared by the contracts: payload schemas for the wire formats (ids, DIDs, keys), the
 * deterministic translation of schema failures into INVALID_PAYLOAD messages, and the role
 * checks every contract starts with. Nothing here reads a clock or any state but the context's.
 */
import { z } from 'zod';
import {
  canonicalJson,
  fromBase64Url,
  isSigningDid,
  signingKeyFromDid,
  toBase64Url,
  utf8ToBytes,
} from '../crypto/index.js';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected, type ContractContext } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import type { OrgRecord, PartyRecord, PractitionerRole } from '../ledger/types.js';

/** Read-only view of world state: what pure helpers such as `findCoveringGrant` need. */
export interface StateReader {
  get<T>(key: string): T | undefined;
  /** Entries whose key starts with `prefix`, in ascending key order. */
  range<T>(prefix: string): Array<[key: string, value: T]>;
  /**
   * The values of many keys at once (one store query where the reader can; absent keys map to
   * undefined). Optional: a reader without it is read with `get` per key.
   */
  getMany?<T>(keys: readonly string[]): Map<string, T | undefined>;
  /** The patient's revoked grant ids from an index beside the state (see `ContractContext`); optional. */
  revokedGrantsOf?(patient: string): ReadonlySet<string> | undefined;
  /** A folder's keys in ascending order, read lazily (see `ContractContext`); optional. */
  folderKeys?(folder: string): Iterable<string> | undefined;
}

/**
 * A contract handler with its payload type; assignable to the ledger's `ContractHandler`.
 * `parse` throws `TxRejected(INVALID_PAYLOAD)`; `execute` throws `TxRejected` for any rule.
 */
export interface Contract<P> {
  readonly allowsUnregisteredSigner?: boolean;
  readonly parse: (payload: unknown) => P;
  readonly execute: (ctx: ContractContext, payload: P) => void;
}

/**
 * A payload type as clients build it and contracts read it: the schema's output, read-only all
 * the way down (so readonly arrays of the ledger's types are accepted).
 */
export type Payload<S extends z.ZodType> = DeepReadonly<z.output<S>>;
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? ReadonlyArray<DeepReadonly<U>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

// ---------------------------------------------------------------------------------------------
// Payload schemas
// ---------------------------------------------------------------------------------------------

export const ID_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Bytes of a raw Ed25519 / X25519 public key. */
export const KEY_LENGTH = 32;
/** Longest did:key accepted (an Ed25519 did:key is 56 characters). */
const MAX_DID_LENGTH = 128;

/** An identifier chosen by the client: 8..`max` characters of [A-Za-z0-9_-]. */
export function idSchema(max = 64) {
  return z.string().min(8).max(max).regex(ID_PATTERN);
}

/** An Ed25519 did:key. */
export const didSchema = z
  .string()
  .max(MAX_DID_LENGTH)
  .refine((value) => isSigningDid(value), { error: 'expected an Ed25519 did:key' });

/** True when `text` is the canonical unpadded base64url encoding of exactly 32 bytes. */
export function isKey32(text: string): boolean {
  try {
    const bytes = fromBase64Url(text);
    // Re-encoding rules out non-canonical spellings of the same key (unused trailing bits).
    return bytes.length === KEY_LENGTH && toBase64Url(bytes) === text;
  } catch {
    return false;
  }
}

/** A 32-byte public key, base64url without padding. */
export const key32Schema = z
  .string()
  .max(64)
  .refine((value) => isKey32(value), { error: 'expected the base64url encoding of a 32-byte key' });

/** Unpadded base64url text of 1..`max` characters (opaque ciphertexts: the ledger checks only the shape). */
export function base64UrlSchema(max: number) {
  return z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/);
}

/** A FHIR R4 resource type name, such as `Observation`. */
export const FHIR_TYPE_PATTERN = /^[A-Z][A-Za-z]{1,63}$/;
export const fhirTypeSchema = z.string().regex(FHIR_TYPE_PATTERN);

export const regionSchema = z.string().min(1).max(64);

/** Longest node URL accepted. */
export const MAX_URL_LENGTH = 2048;
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/**
 * A node URL: `https://host[:port][/path]`, or `http:` (see `nodeUrlRefusal`). The host is a DNS
 * name, an IPv4 address or a bracketed IPv6 address; the path holds RFC 3986 path characters and
 * percent escapes only. No userinfo, query, fragment or anything after the path: a node URL is a
 * base that node requests append their paths to, and other nodes connect to it as it stands.
 * A regular expression rather than the WHATWG parser so that every node, whatever its runtime
 * version, accepts exactly the same strings.
 */
const NODE_URL_PATTERN = new RegExp(
  `^(https?)://(${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::([0-9]{1,5}))?((?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*)$`,
);
/** Hosts a plain `http:` node URL may name without the genesis param `allowHttpNodeUrls`. */
const LOOPBACK_HOST = /^(?:localhost|\[::1\]|127\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){2})$/i;

/** A node URL as registered on the ledger (the shape; `nodeUrlRefusal` adds the network's rules). */
export const urlSchema = z
  .string()
  .max(MAX_URL_LENGTH)
  .refine((value) => shapeOfNodeUrl(value) !== undefined, {
    error: 'expected https://host[:port][/path] (no credentials, query or fragment; port 0-65535)',
  });

function shapeOfNodeUrl(value: string): { readonly scheme: string; readonly host: string } | undefined {
  const match = NODE_URL_PATTERN.exec(value);
  if (match === null) return undefined;
  const port = match[3];
  // Port 0 passes: `roam init --port 0` (any free port) announces it until the node registers its real URL.
  if (port !== undefined && Number(port) > 65535) return undefined;
  return { scheme: match[1]!, host: match[2]! };
}

/**
 * Why a network does not accept `url` as a node URL, or undefined when it does: the shape of
 * `urlSchema`, and `http:` only for loopback hosts (127.0.0.0/8, [::1], localhost) unless the
 * network's genesis allows plain HTTP (`params.allowHttpNodeUrls`, local development). Node HTTP
 * carries bearer tokens and decrypted health data: on any real network it is HTTPS.
 *
 * @example nodeUrlRefusal('http://10.0.0.7:8080', { allowHttp: false }) // 'http: is allowed …'
 */
export function nodeUrlRefusal(url: string, rules: { readonly allowHttp: boolean }): string | undefined {
  const shape = url.length > MAX_URL_LENGTH ? undefined : shapeOfNodeUrl(url);
  if (shape === undefined) return 'expected https://host[:port][/path] (no credentials, query or fragment; port 0-65535)';
  if (shape.scheme === 'http' && !rules.allowHttp && !LOOPBACK_HOST.test(shape.host)) {
    return 'is http: — node URLs are https: (http: only for loopback hosts, or when the genesis param allowHttpNodeUrls is true)';
  }
  return undefined;
}

/** Byte length of a value's RFC 8785 canonical JSON, or undefined when it has none. */
export function canonicalSize(value: unknown): number | undefined {
  try {
    return utf8ToBytes(canonicalJson(value)).length;
  } catch {
    return undefined;
  }
}

export function isUnique(items: readonly unknown[]): boolean {
  return new Set(items).size === items.length;
}

// ---------------------------------------------------------------------------------------------
// Deterministic schema errors
// ---------------------------------------------------------------------------------------------

/** `payload.entries[3].id`, from a root name and a zod issue path. */
function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  return out;
}

function bound(origin: string, comparison: string, limit: number | bigint): string {
  const n = String(limit);
  switch (origin) {
    case 'string':
      return `expected a length ${comparison} ${n} characters`;
    case 'array':
    case 'set':
      return `expected ${comparison} ${n} items`;
    default:
      return `expected a value ${comparison} ${n}`;
  }
}

/**
 * A message naming the first failing field. Built from the issue's code and data only, not from
 * zod's localizable messages, so that every node writes the same bytes into its block.
 */
export function describeIssue(root: string, issue: z.core.$ZodIssue): string {
  const at = formatPath(root, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return `"${at}" expected ${issue.expected}`;
    case 'too_small':
      return `"${at}" ${bound(issue.origin, issue.inclusive === false ? '>' : '>=', issue.minimum)}`;
    case 'too_big':
      return `"${at}" ${bound(issue.origin, issue.inclusive === false ? '<' : '<=', issue.maximum)}`;
    case 'invalid_format':
      return `"${at}" has an invalid format`;
    case 'invalid_value':
      return `"${at}" expected one of ${issue.values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ')}`;
    case 'unrecognized_keys':
      return `"${formatPath(root, [...issue.path, issue.keys[0] ?? ''])}" is not a known field`;
    case 'custom':
      return `"${at}" ${issue.message}`;
    case 'invalid_union':
    case 'invalid_key':
    case 'invalid_element':
    case 'not_multiple_of':
      return `"${at}" is invalid`;
  }
}

/**
 * Parses a transaction payload, throwing `TxRejected(INVALID_PAYLOAD)` that names the first bad
 * field (e.g. `"payload.org.did" expected an Ed25519 did:key`).
 */
export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new TxRejected(
    ResultCode.INVALID_PAYLOAD,
    issue ? describeIssue('payload', issue) : '"payload" is invalid',
  );
}

// ---------------------------------------------------------------------------------------------
// Parties and roles
// ---------------------------------------------------------------------------------------------

/** The base64url Ed25519 key a did:key names (the party's signing key until it rotates). */
export function signingKeyOf(did: string): string {
  return toBase64Url(signingKeyFromDid(did));
}

export function getParty(reader: Pick<StateReader, 'get'>, did: string): PartyRecord | undefined {
  return reader.get<PartyRecord>(StateKey.party(did));
}

export function isMemberOrg(reader: Pick<StateReader, 'get'>, did: string | undefined): boolean {
  if (did === undefined) return false;
  return reader.get<OrgRecord>(StateKey.org(did))?.status === 'active';
}

/** An active practitioner or node that belongs to an active member organization. */
function isActiveMember(
  reader: Pick<StateReader, 'get'>,
  party: PartyRecord | undefined,
  kind: 'practitioner' | 'node',
): party is PartyRecord & { org: string } {
  return (
    party !== undefined && party.kind === kind && party.status === 'active' && isMemberOrg(reader, party.org)
  );
}

export function isActivePractitionerOf(reader: Pick<StateReader, 'get'>, did: string, org: string): boolean {
  const party = getParty(reader, did);
  return isActiveMember(reader, party, 'practitioner') && party.org === org;
}

/** The signer's party when it is an active admin of an active member organization. */
export function signerAsOrgAdmin(ctx: ContractContext): (PartyRecord & { org: string }) | undefined {
  const party = ctx.signerParty;
  return isActiveMember(ctx, party, 'practitioner') && party.roles?.includes('admin') === true
    ? party
    : undefined;
}

/** The signer as an active admin of an active member organization, or NOT_ORG_ADMIN. */
export function requireOrgAdmin(ctx: ContractContext): PartyRecord & { org: string } {
  const admin = signerAsOrgAdmin(ctx);
  if (admin === undefined) {
    throw new TxRejected(
      ResultCode.NOT_ORG_ADMIN,
      `signer ${ctx.signer} is not an active admin of a member organization`,
    );
  }
  return admin;
}

/** The signer as an active practitioner of an active member organization, or NOT_PRACTITIONER. */
export function requirePractitioner(ctx: ContractContext): PartyRecord & { org: string } {
  const party = ctx.signerParty;
  if (!isActiveMember(ctx, party, 'practitioner')) {
    throw new TxRejected(
      ResultCode.NOT_PRACTITIONER,
      `signer ${ctx.signer} is not an active practitioner of a member organization`,
    );
  }
  return party;
}

/** The signer as an active node of an active member organization, or NOT_NODE. */
export function requireNode(ctx: ContractContext): PartyRecord & { org: string } {
  const party = ctx.signerParty;
  if (!isActiveMember(ctx, party, 'node')) {
    throw new TxRejected(
      ResultCode.NOT_NODE,
      `signer ${ctx.signer} is not an active node of a member organization`,
    );
  }
  return party;
}

/** The signer as an active patient, or NOT_PATIENT. */
export function requirePatientSigner(ctx: ContractContext): PartyRecord {
  const party = ctx.signerParty;
  if (party === undefined || party.kind !== 'patient' || party.status !== 'active') {
    throw new TxRejected(ResultCode.NOT_PATIENT, `signer ${ctx.signer} is not an active patient`);
  }
  return party;
}

/** The registered patient `did` (active or not), or UNKNOWN_PATIENT naming `field`. */
export function requirePatient(reader: Pick<StateReader, 'get'>, did: string, field: string): PartyRecord {
  const party = getParty(reader, did);
  if (party === undefined || party.kind !== 'patient') {
    throw new TxRejected(ResultCode.UNKNOWN_PATIENT, `"${field}" ${did} is not a registered patient`);
  }
  return party;
}

// ---------------------------------------------------------------------------------------------
// Party writers (genesis, admission of an organization, registrations)
// ---------------------------------------------------------------------------------------------

/** Where party writers put records: a contract context or the genesis context. */
export interface StateWriter {
  put(key: string, value: unknown): void;
}

/** Writes `party/<did>` for a practitioner of `org` and its `idx/org-practitioner` entry. */
export function writePractitioner(
  state: StateWriter,
  input: {
    did: string;
    encryptionKey: string;
    org: string;
    roles: readonly PractitionerRole[];
    registeredAt: number;
  },
): PartyRecord {
  const party: PartyRecord = {
    did: input.did,
    kind: 'practitioner',
    signingKey: signingKeyOf(input.did),
    encryptionKey: input.encryptionKey,
    status: 'active',
    org: input.org,
    roles: [...input.roles],
    registeredAt: input.registeredAt,
  };
  state.put(StateKey.party(input.did), party);
  state.put(StateKey.orgPractitioner(input.org, input.did), input.did);
  return party;
}

/** Writes `party/<did>` for a node of `org` and its `idx/org-node` entry. */
export function writeNode(
  state: StateWriter,
  input: {
    did: string;
    encryptionKey: string;
    org: string;
    url: string;
    region: string;
    registeredAt: number;
  },
): PartyRecord {
  const party: PartyRecord = {
    did: input.did,
    kind: 'node',
    signingKey: signingKeyOf(input.did),
    encryptionKey: input.encryptionKey,
    status: 'active',
    org: input.org,
    url: input.url,
    region: input.region,
    registeredAt: input.registeredAt,
  };
  state.put(StateKey.party(input.did), party);
  state.put(StateKey.orgNode(input.org, input.did), input.did);
  return party;
}
