/**
 * Consent contract: a patient grants an organization access to a scope of its records (resource
 * types × sensitivity classes) for a purpose, read or write, until an expiry, carrying the record
 * keys sealed to the grantee; adds keys of a new epoch to it (`consent.rekey`); revokes it; and
 * answers practitioners' access requests.
 * {@link findCoveringGrant} is the one decision procedure every access check uses.
 *
 * Key epochs: a patient's current record-key epoch is the number of its grants that are revoked,
 * so every party computes it from the ledger. A grant carries the keys of each class in its scope
 * for epochs 0..current; after a revocation the patient rekeys its other active grants with the
 * keys of the new epoch. The ledger keeps the sealed keys opaque: it never checks their epochs.
 */
import { z } from 'zod';
import { canonicalJson } from '../crypto/index.js';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected, type ContractContext } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import {
  SENSITIVITY_CLASSES,
  type GrantAccess,
  type GrantRecord,
  type GrantScope,
  type SensitivityClass,
} from '../ledger/types.js';
import {
  base64UrlSchema,
  canonicalSize,
  didSchema,
  FHIR_TYPE_PATTERN,
  idSchema,
  isMemberOrg,
  isUnique,
  parsePayload,
  requirePatient,
  requirePatientSigner,
  requirePractitioner,
  type Contract,
  type Payload,
  type StateReader,
} from './common.js';

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

export const PURPOSES = ['treatment', 'emergency', 'research', 'payment', 'operations'] as const;
/** Why access is granted or requested. */
export type Purpose = (typeof PURPOSES)[number];

/** Code system of HL7 v3 PurposeOfUse codes (ActReason), for the FHIR `Consent` view. */
export const PURPOSE_OF_USE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
/** Each purpose as an HL7 v3 PurposeOfUse code. */
export const PURPOSE_OF_USE: Readonly<Record<Purpose, 'TREAT' | 'ETREAT' | 'HRESCH' | 'HPAYMT' | 'HOPERAT'>> =
  {
    treatment: 'TREAT',
    emergency: 'ETREAT',
    research: 'HRESCH',
    payment: 'HPAYMT',
    operations: 'HOPERAT',
  };

export const GRANT_ACCESS = ['read', 'write'] as const satisfies readonly GrantAccess[];
/**
 * Most sealed keys a grant may carry, in its `consent.grant` payload and after any
 * `consent.rekey`: e.g. both sensitivity classes for 128 epochs.
 */
export const MAX_GRANT_KEYS = 256;
/** Largest sealed key object, in bytes of canonical JSON (a real one is ~230). */
export const MAX_GRANT_KEY_BYTES = 512;
/** Longest grant duration a practitioner may request: ten years of 365.25 days. */
export const MAX_REQUEST_EXPIRES_IN_MS = 10 * 365.25 * 24 * 60 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// Schemas and payload types
// ---------------------------------------------------------------------------------------------

const sensitivityClassSchema = z.enum(
  SENSITIVITY_CLASSES as readonly [SensitivityClass, ...SensitivityClass[]],
);

export const scopeSchema = z.strictObject({
  resourceTypes: z
    .array(
      z
        .string()
        .refine((t) => t === '*' || FHIR_TYPE_PATTERN.test(t), {
          error: "expected '*' or a FHIR resource type",
        }),
    )
    .min(1)
    .max(64)
    .refine(isUnique, { error: 'expected each resource type at most once' }),
  classes: z
    .array(sensitivityClassSchema)
    .min(1)
    .refine(isUnique, { error: 'expected each class at most once' }),
});

const purposeSchema = z.enum(PURPOSES);
const accessSchema = z.enum(GRANT_ACCESS);
const expiresAtSchema = z.number().int().nonnegative().nullable();
/** HPKE suite of sealed record keys (RFC 9180; the vault's GRANT_HPKE_SUITE). */
export const SEALED_KEY_SUITE = 'DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/AES-256-GCM';
/**
 * A record key sealed to the grantee (the vault's `SealedRecordKey`). Its fields are checked so
 * that a grant carries keys and nothing else (no free text on the chain); the ledger does not
 * open it, nor check its epoch.
 */
const sealedKeySchema = z
  .strictObject({
    v: z.literal(1),
    suite: z.literal(SEALED_KEY_SUITE),
    class: sensitivityClassSchema,
    epoch: z.number().int().nonnegative(),
    /** The HPKE encapsulated key (X25519: 32 bytes). */
    enc: base64UrlSchema(64),
    /** The sealed 32-byte key and its tag (48 bytes). */
    ct: base64UrlSchema(128),
  })
  .refine((key) => (canonicalSize(key) ?? Infinity) <= MAX_GRANT_KEY_BYTES, {
    error: `expected a sealed key of at most ${MAX_GRANT_KEY_BYTES} bytes of canonical JSON`,
  })
  // Opaque to the ledger and its clients' payload types: the vault reads it (parseSealedRecordKey).
  .transform((key): Readonly<Record<string, unknown>> => key);
const keysSchema = z.array(sealedKeySchema).max(MAX_GRANT_KEYS);

export const consentGrantSchema = z.strictObject({
  grantId: idSchema(),
  grantee: didSchema,
  scope: scopeSchema,
  purpose: purposeSchema,
  access: accessSchema,
  expiresAt: expiresAtSchema,
  keys: keysSchema.exactOptional(),
});
/** `consent.grant`: the signing patient grants organization `grantee` access. */
export type ConsentGrantPayload = Payload<typeof consentGrantSchema>;

export const consentRevokeSchema = z.strictObject({ grantId: idSchema() });
/** `consent.revoke`: the grant's patient ends it. */
export type ConsentRevokePayload = Payload<typeof consentRevokeSchema>;

export const consentRekeySchema = z.strictObject({
  grantId: idSchema(),
  keys: keysSchema.min(1),
});
/**
 * `consent.rekey`: the grant's patient adds sealed record keys (normally those of a new epoch,
 * after a revocation) to an active, unexpired grant. Keys the grant already holds (same canonical
 * JSON) are skipped.
 */
export type ConsentRekeyPayload = Payload<typeof consentRekeySchema>;

export const consentRequestSchema = z.strictObject({
  requestId: idSchema(),
  patient: didSchema,
  scope: scopeSchema,
  purpose: purposeSchema,
  access: accessSchema,
  expiresInMs: z.number().int().positive().max(MAX_REQUEST_EXPIRES_IN_MS).exactOptional(),
});
/**
 * `consent.request`: a practitioner asks a patient to grant its organization access. It carries
 * coded values only (the purpose is an HL7 v3 PurposeOfUse code): no free text goes on the chain.
 */
export type ConsentRequestPayload = Payload<typeof consentRequestSchema>;

export const consentApproveSchema = z.strictObject({
  requestId: idSchema(),
  grantId: idSchema(),
  expiresAt: expiresAtSchema.exactOptional(),
  keys: keysSchema.exactOptional(),
});
/**
 * `consent.approve`: the patient answers a request with a grant to the requester's organization.
 * `expiresAt` defaults to block time + the request's `expiresInMs`, or no expiry.
 */
export type ConsentApprovePayload = Payload<typeof consentApproveSchema>;

export const consentDenySchema = z.strictObject({ requestId: idSchema() });
/** `consent.deny`: the patient declines a request. */
export type ConsentDenyPayload = Payload<typeof consentDenySchema>;

// ---------------------------------------------------------------------------------------------
// State records
// ---------------------------------------------------------------------------------------------

/** `request/<id>`: a practitioner's access request, pending until the patient answers. */
export interface RequestRecord {
  readonly id: string;
  readonly patient: string;
  /** DID of the requesting practitioner. */
  readonly requester: string;
  /** The requester's organization: the grantee of the grant if approved. */
  readonly org: string;
  readonly scope: GrantScope;
  readonly purpose: Purpose;
  readonly access: GrantAccess;
  readonly expiresInMs: number | null;
  readonly status: 'pending' | 'approved' | 'denied';
  readonly requestedAt: number;
  /** Block time of the approval or denial. */
  readonly decidedAt?: number;
  /** The grant that answered the request (approved only). */
  readonly grantId?: string;
}

// ---------------------------------------------------------------------------------------------
// Grants
// ---------------------------------------------------------------------------------------------

interface NewGrant {
  readonly grantId: string;
  readonly grantee: string;
  readonly scope: GrantScope;
  readonly purpose: Purpose;
  readonly access: GrantAccess;
  readonly expiresAt: number | null;
  readonly keys?: readonly unknown[];
  readonly requestId?: string;
}

/** Creates a grant from the signing patient: UNKNOWN_ORG, GRANT_EXISTS, EXPIRY_IN_PAST. */
function createGrant(ctx: ContractContext, patient: string, input: NewGrant): GrantRecord {
  if (!isMemberOrg(ctx, input.grantee)) {
    throw new TxRejected(ResultCode.UNKNOWN_ORG, `grantee ${input.grantee} is not a member organization`);
  }
  if (ctx.get(StateKey.grant(input.grantId)) !== undefined) {
    throw new TxRejected(ResultCode.GRANT_EXISTS, `grant ${input.grantId} already exists`);
  }
  if (input.expiresAt !== null && input.expiresAt <= ctx.block.time) {
    throw new TxRejected(
      ResultCode.EXPIRY_IN_PAST,
      `expiresAt ${input.expiresAt} is not after the block time ${ctx.block.time}`,
    );
  }
  const grant: GrantRecord = {
    id: input.grantId,
    patient,
    grantee: input.grantee,
    scope: { resourceTypes: [...input.scope.resourceTypes], classes: [...input.scope.classes] },
    purpose: input.purpose,
    access: input.access,
    expiresAt: input.expiresAt,
    status: 'active',
    grantedAt: ctx.block.time,
    txId: ctx.txId,
    ...(input.keys === undefined ? {} : { keys: input.keys }),
    ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
  };
  ctx.put(StateKey.grant(grant.id), grant);
  ctx.put(StateKey.patientGrant(patient, grant.id), grant.id);
  ctx.put(StateKey.orgPatientGrant(grant.grantee, patient, grant.id), grant.id);
  return grant;
}

/** Whether `grant` covers the resource type, class and access asked for (status and expiry aside). */
export function grantCovers(
  grant: Pick<GrantRecord, 'scope' | 'access'>,
  resourceType: string,
  sensitivityClass: SensitivityClass,
  access: GrantAccess,
): boolean {
  return (
    (grant.scope.resourceTypes.includes('*') || grant.scope.resourceTypes.includes(resourceType)) &&
    grant.scope.classes.includes(sensitivityClass) &&
    (grant.access === 'write' || access === 'read')
  );
}

export type CoveringGrantResult =
  | { readonly code: typeof ResultCode.OK; readonly grant: GrantRecord }
  | {
      readonly code:
        | typeof ResultCode.NO_GRANT
        | typeof ResultCode.GRANT_EXPIRED
        | typeof ResultCode.GRANT_REVOKED
        | typeof ResultCode.SCOPE_NOT_COVERED;
    };

/**
 * Decides whether organization `org` may access a `patient`'s resource of `resourceType` and
 * `sensitivityClass` with `access` at time `now` (ms): OK with the first (by grant id) active,
 * unexpired grant from the patient to the org that covers it ('write' grants cover 'read').
 * Otherwise the most informative failure: when some grant would cover but none is usable, the
 * state of the most recently granted of those (GRANT_REVOKED, or GRANT_EXPIRED when
 * `expiresAt <= now`); SCOPE_NOT_COVERED when grants exist but none covers; NO_GRANT when none,
 * or when `org` is not an active member (a suspended or expelled organization's grants are not
 * honoured, and it learns nothing of them). Pure and deterministic: reads only `reader`, in key order.
 *
 * @example findCoveringGrant(ctx, patientDid, orgDid, 'Observation', 'general', 'read', ctx.block.time)
 */
export function findCoveringGrant(
  reader: StateReader,
  patient: string,
  org: string,
  resourceType: string,
  sensitivityClass: SensitivityClass,
  access: GrantAccess,
  now: number,
): CoveringGrantResult {
  if (!isMemberOrg(reader, org)) return { code: ResultCode.NO_GRANT };
  let anyGrant = false;
  let latestUnusable: GrantRecord | undefined;
  const prefix = StateKey.orgPatientGrantsPrefix(org, patient);
  // Read lazily where the reader can: the first usable grant ends the loop (usually the first).
  const keys = reader.folderKeys?.(prefix) ?? reader.range<unknown>(prefix).map(([key]) => key);
  for (const key of keys) {
    const grant = reader.get<GrantRecord>(StateKey.grant(key.slice(prefix.length)));
    if (grant === undefined || grant.patient !== patient || grant.grantee !== org) continue;
    anyGrant = true;
    if (!grantCovers(grant, resourceType, sensitivityClass, access)) continue;
    if (grant.status === 'active' && (grant.expiresAt === null || grant.expiresAt > now)) {
      return { code: ResultCode.OK, grant };
    }
    // Key order is grant-id order; ties in grantedAt keep the first.
    if (latestUnusable === undefined || grant.grantedAt > latestUnusable.grantedAt) latestUnusable = grant;
  }
  if (latestUnusable !== undefined) {
    return {
      code: latestUnusable.status === 'revoked' ? ResultCode.GRANT_REVOKED : ResultCode.GRANT_EXPIRED,
    };
  }
  return { code: anyGrant ? ResultCode.SCOPE_NOT_COVERED : ResultCode.NO_GRANT };
}

/**
 * The patient's current record-key epoch: how many of its grants are revoked plus how many times
 * it rotated on its own (`consent.rotate`) — the rule every party applies;
 * `src/client/consent.ts` computes the same from the ledger's consents answer.
 */
export function currentEpoch(reader: StateReader, patient: string): number {
  let epoch = reader.get<number>(StateKey.rotations(patient)) ?? 0;
  // The executor's index answers the same count without reading every grant of the patient.
  const revoked = reader.revokedGrantsOf?.(patient);
  if (revoked !== undefined) return epoch + revoked.size;
  const prefix = StateKey.patientGrantsPrefix(patient);
  for (const [key] of reader.range<unknown>(prefix)) {
    if (reader.get<GrantRecord>(StateKey.grant(key.slice(prefix.length)))?.status === 'revoked') epoch++;
  }
  return epoch;
}

/**
 * Ends every active grant of `patient` at block time, as revocations (a deactivated patient can
 * no longer sign a revocation, so its grants must not outlive it).
 */
export function endGrantsOf(ctx: ContractContext, patient: string): void {
  const prefix = StateKey.patientGrantsPrefix(patient);
  for (const [key] of ctx.range<unknown>(prefix)) {
    const grant = ctx.get<GrantRecord>(StateKey.grant(key.slice(prefix.length)));
    if (grant?.status !== 'active') continue;
    ctx.put(StateKey.grant(grant.id), { ...grant, status: 'revoked', revokedAt: ctx.block.time });
  }
}

// ---------------------------------------------------------------------------------------------
// Contracts
// ---------------------------------------------------------------------------------------------

export const consentGrant: Contract<ConsentGrantPayload> = {
  parse: (payload) => parsePayload(consentGrantSchema, payload),
  execute(ctx, payload) {
    const patient = requirePatientSigner(ctx);
    createGrant(ctx, patient.did, payload);
  },
};

export const consentRevoke: Contract<ConsentRevokePayload> = {
  parse: (payload) => parsePayload(consentRevokeSchema, payload),
  execute(ctx, payload) {
    const grant = ctx.get<GrantRecord>(StateKey.grant(payload.grantId));
    if (grant === undefined)
      throw new TxRejected(ResultCode.GRANT_NOT_FOUND, `grant ${payload.grantId} does not exist`);
    if (grant.patient !== ctx.signer) {
      throw new TxRejected(
        ResultCode.NOT_GRANT_OWNER,
        `grant ${payload.grantId} was not granted by signer ${ctx.signer}`,
      );
    }
    if (grant.status === 'revoked')
      throw new TxRejected(ResultCode.GRANT_REVOKED, `grant ${payload.grantId} is already revoked`);
    ctx.put(StateKey.grant(grant.id), { ...grant, status: 'revoked', revokedAt: ctx.block.time });
  },
};

/**
 * GRANT_NOT_FOUND, NOT_GRANT_OWNER, GRANT_REVOKED, GRANT_EXPIRED (at block time),
 * GRANT_KEYS_FULL when the grant would hold more than {@link MAX_GRANT_KEYS} keys.
 */
export const consentRekey: Contract<ConsentRekeyPayload> = {
  parse: (payload) => parsePayload(consentRekeySchema, payload),
  execute(ctx, payload) {
    const grant = ctx.get<GrantRecord>(StateKey.grant(payload.grantId));
    if (grant === undefined)
      throw new TxRejected(ResultCode.GRANT_NOT_FOUND, `grant ${payload.grantId} does not exist`);
    if (grant.patient !== ctx.signer) {
      throw new TxRejected(
        ResultCode.NOT_GRANT_OWNER,
        `grant ${payload.grantId} was not granted by signer ${ctx.signer}`,
      );
    }
    if (grant.status === 'revoked')
      throw new TxRejected(ResultCode.GRANT_REVOKED, `grant ${payload.grantId} is revoked`);
    if (grant.expiresAt !== null && grant.expiresAt <= ctx.block.time) {
      throw new TxRejected(
        ResultCode.GRANT_EXPIRED,
        `grant ${payload.grantId} expired at ${grant.expiresAt}, not after the block time ${ctx.block.time}`,
      );
    }
    const keys: unknown[] = [...(grant.keys ?? [])];
    const held = new Set(keys.map((key) => canonicalJson(key)));
    for (const key of payload.keys) {
      const text = canonicalJson(key);
      if (held.has(text)) continue;
      held.add(text);
      keys.push(key);
    }
    if (keys.length > MAX_GRANT_KEYS) {
      throw new TxRejected(
        ResultCode.GRANT_KEYS_FULL,
        `grant ${payload.grantId} would hold ${keys.length} sealed keys, more than ${MAX_GRANT_KEYS}`,
      );
    }
    ctx.put(StateKey.grant(grant.id), { ...grant, keys });
  },
};

export const consentRequest: Contract<ConsentRequestPayload> = {
  parse: (payload) => parsePayload(consentRequestSchema, payload),
  execute(ctx, payload) {
    const requester = requirePractitioner(ctx);
    const patient = requirePatient(ctx, payload.patient, 'payload.patient');
    if (patient.status !== 'active') {
      throw new TxRejected(ResultCode.PARTY_DEACTIVATED, `patient ${payload.patient} is deactivated`);
    }
    if (ctx.get(StateKey.request(payload.requestId)) !== undefined) {
      throw new TxRejected(ResultCode.REQUEST_EXISTS, `request ${payload.requestId} already exists`);
    }
    const request: RequestRecord = {
      id: payload.requestId,
      patient: payload.patient,
      requester: ctx.signer,
      org: requester.org,
      scope: payload.scope,
      purpose: payload.purpose,
      access: payload.access,
      expiresInMs: payload.expiresInMs ?? null,
      status: 'pending',
      requestedAt: ctx.block.time,
    };
    ctx.put(StateKey.request(request.id), request);
    ctx.put(StateKey.patientRequest(request.patient, request.id), request.id);
  },
};

/** The pending request `requestId` addressed to the signing patient. */
function pendingRequestOfSigner(ctx: ContractContext, requestId: string): RequestRecord {
  requirePatientSigner(ctx);
  const request = ctx.get<RequestRecord>(StateKey.request(requestId));
  if (request === undefined)
    throw new TxRejected(ResultCode.REQUEST_NOT_FOUND, `request ${requestId} does not exist`);
  if (request.patient !== ctx.signer) {
    throw new TxRejected(ResultCode.NOT_AUTHORIZED, `request ${requestId} is addressed to another patient`);
  }
  if (request.status !== 'pending')
    throw new TxRejected(ResultCode.REQUEST_CLOSED, `request ${requestId} is ${request.status}`);
  return request;
}

export const consentApprove: Contract<ConsentApprovePayload> = {
  parse: (payload) => parsePayload(consentApproveSchema, payload),
  execute(ctx, payload) {
    const request = pendingRequestOfSigner(ctx, payload.requestId);
    const expiresAt =
      payload.expiresAt !== undefined
        ? payload.expiresAt
        : request.expiresInMs !== null
          ? ctx.block.time + request.expiresInMs
          : null;
    const grant = createGrant(ctx, request.patient, {
      grantId: payload.grantId,
      grantee: request.org,
      scope: request.scope,
      purpose: request.purpose,
      access: request.access,
      expiresAt,
      requestId: request.id,
      ...(payload.keys === undefined ? {} : { keys: payload.keys }),
    });
    const approved: RequestRecord = {
      ...request,
      status: 'approved',
      decidedAt: ctx.block.time,
      grantId: grant.id,
    };
    ctx.put(StateKey.request(request.id), approved);
  },
};

export const consentDeny: Contract<ConsentDenyPayload> = {
  parse: (payload) => parsePayload(consentDenySchema, payload),
  execute(ctx, payload) {
    const request = pendingRequestOfSigner(ctx, payload.requestId);
    const denied: RequestRecord = { ...request, status: 'denied', decidedAt: ctx.block.time };
    ctx.put(StateKey.request(request.id), denied);
  },
};
