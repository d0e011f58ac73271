/**
 * Emergency access (break-glass) contract. A patient decides beforehand whether a practitioner
 * may break the glass (`emergency.enable` / `emergency.disable`): enabling it escrows the record
 * keys of the chosen classes under a fresh escrow key E, whose Shamir shares are sealed to trustee
 * organizations (see `src/vault/escrow.ts`; the ledger only checks their shape). A practitioner
 * with the `emergency` role asks (`emergency.access`, coded reason, at most 24 hours); the
 * trustees' nodes release their shares re-sealed to the requesting organization
 * (`emergency.release`); the patient, or an admin of an organization it granted, flags an access
 * for review (`emergency.flag`). Everything is on the ledger: nothing of a break-glass is silent.
 */
import { z } from 'zod';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected, type ContractContext } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import { SENSITIVITY_CLASSES, type SensitivityClass } from '../ledger/types.js';
import {
  didSchema,
  idSchema,
  isMemberOrg,
  isUnique,
  key32Schema,
  parsePayload,
  requireNode,
  requirePatient,
  requirePatientSigner,
  requirePractitioner,
  signerAsOrgAdmin,
  type Contract,
  type Payload,
} from './common.js';
import { currentEpoch, SEALED_KEY_SUITE } from './consent.js';

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/** The practitioner role an organization gives those who may break the glass. */
export const EMERGENCY_ROLE = 'emergency';
/** HL7 v3 ActReason purpose-of-use codes a break-glass may give (coded: no free text on the chain). */
export const EMERGENCY_REASONS = ['ETREAT', 'BTG'] as const;
export type EmergencyReason = (typeof EMERGENCY_REASONS)[number];
/** Longest emergency access window. */
export const MAX_EMERGENCY_DURATION_MS = 24 * 60 * 60 * 1000;
/** Most trustee organizations of an escrow (and so most shares). */
export const MAX_EMERGENCY_TRUSTEES = 7;
/** Most record keys one escrow holds (as many as a grant may carry). */
export const MAX_ESCROW_KEYS = 256;
/**
 * Longest base64url ciphertext of the escrowed keys: {@link MAX_ESCROW_KEYS} entries of at most
 * ~90 bytes of canonical JSON each (`{"class":"sensitive","epoch":…,"key":"…43…"}`), plus the GCM
 * tag, in base64url (~30,700 characters).
 */
export const MAX_ESCROW_KEYS_CT_LENGTH = 32_768;
/**
 * The International Patient Summary's section resource types: all a custodian serves under a
 * break-glass, read-only.
 */
export const EMERGENCY_RESOURCE_TYPES = [
  'Patient',
  'AllergyIntolerance',
  'Condition',
  'MedicationStatement',
  'MedicationRequest',
  'Medication',
  'Immunization',
  'Procedure',
  'Device',
  'DeviceUseStatement',
  'Observation',
  'DiagnosticReport',
] as const;

// ---------------------------------------------------------------------------------------------
// Schemas and payload types
// ---------------------------------------------------------------------------------------------

const base64UrlSchema = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/);
const classesSchema = z
  .array(z.enum(SENSITIVITY_CLASSES as readonly [SensitivityClass, ...SensitivityClass[]]))
  .min(1)
  .refine(isUnique, { error: 'expected each class at most once' });

/**
 * A Shamir share of the escrow key sealed with HPKE (the vault's `SealedEscrowShare`): to a trustee
 * in a policy, to the requesting organization in a release. Opaque to the ledger; its fields are
 * checked so that it carries a share and nothing else.
 */
export const sealedShareSchema = z.strictObject({
  v: z.literal(1),
  suite: z.literal(SEALED_KEY_SUITE),
  /** The HPKE encapsulated key (X25519: 32 bytes). */
  enc: key32Schema,
  /** The sealed 33-byte share and its tag (49 bytes). */
  ct: base64UrlSchema(128),
});
export type SealedShare = Payload<typeof sealedShareSchema>;

const trusteesSchema = z
  .array(z.strictObject({ org: didSchema, share: sealedShareSchema }))
  .min(1)
  .max(MAX_EMERGENCY_TRUSTEES)
  .refine((trustees) => isUnique(trustees.map((t) => t.org)), { error: 'expected each trustee at most once' });

export const escrowSchema = z.strictObject({
  /** Hex SHA-256 commitment to the escrow key (see the vault's `escrowCommitment`). */
  commitment: z.string().regex(/^[0-9a-f]{64}$/),
  /** The record keys, AES-256-GCM under the escrow key. */
  keys: z.strictObject({
    /** 12-byte IV, base64url. */
    iv: z.string().regex(/^[A-Za-z0-9_-]{16}$/),
    ct: base64UrlSchema(MAX_ESCROW_KEYS_CT_LENGTH),
  }),
  /** The patient's current epoch: the escrowed keys are those of epochs 0..epoch. */
  epoch: z.number().int().nonnegative(),
});
export type EscrowPayload = Payload<typeof escrowSchema>;

export const emergencyEnableSchema = z
  .strictObject({
    classes: classesSchema,
    threshold: z.number().int().min(1).max(MAX_EMERGENCY_TRUSTEES),
    trustees: trusteesSchema,
    escrow: escrowSchema,
  })
  .refine((payload) => payload.threshold <= payload.trustees.length, {
    error: 'expected a threshold of at most the number of trustees',
    path: ['threshold'],
  });
/** `emergency.enable`: the signing patient allows break-glass and escrows its keys (replaces any policy). */
export type EmergencyEnablePayload = Payload<typeof emergencyEnableSchema>;

export const emergencyDisableSchema = z.strictObject({});
/** `emergency.disable`: the signing patient opts out; shares and escrow leave the state. */
export type EmergencyDisablePayload = Payload<typeof emergencyDisableSchema>;

export const emergencyAccessSchema = z.strictObject({
  id: idSchema(),
  patient: didSchema,
  reason: z.enum(EMERGENCY_REASONS),
  durationMs: z.number().int().positive().max(MAX_EMERGENCY_DURATION_MS),
});
/** `emergency.access`: a practitioner with the `emergency` role breaks the glass. */
export type EmergencyAccessPayload = Payload<typeof emergencyAccessSchema>;

export const emergencyReleaseSchema = z.strictObject({ access: idSchema(), share: sealedShareSchema });
/** `emergency.release`: a trustee organization's node releases its share to the requesting organization. */
export type EmergencyReleasePayload = Payload<typeof emergencyReleaseSchema>;

export const emergencyFlagSchema = z.strictObject({ access: idSchema() });
/** `emergency.flag`: the patient, or an admin of an organization it granted, flags an access for review. */
export type EmergencyFlagPayload = Payload<typeof emergencyFlagSchema>;

// ---------------------------------------------------------------------------------------------
// State records
// ---------------------------------------------------------------------------------------------

export interface EmergencyTrustee {
  readonly org: string;
  readonly share: SealedShare;
}

/** `emergency-policy/<patient>` while break-glass is allowed. */
export interface EnabledEmergencyPolicy {
  readonly patient: string;
  readonly status: 'enabled';
  /** Increments on every enable and disable. */
  readonly version: number;
  readonly classes: readonly SensitivityClass[];
  readonly threshold: number;
  readonly trustees: readonly EmergencyTrustee[];
  readonly escrow: EscrowPayload;
  readonly updatedAt: number;
}

/** `emergency-policy/<patient>` after the patient opted out. */
export interface DisabledEmergencyPolicy {
  readonly patient: string;
  readonly status: 'disabled';
  readonly version: number;
  readonly updatedAt: number;
}

export type EmergencyPolicy = EnabledEmergencyPolicy | DisabledEmergencyPolicy;

/** A trustee's share as released to the requesting organization. */
export interface EmergencyRelease {
  readonly org: string;
  /** The releasing node. */
  readonly node: string;
  readonly share: SealedShare;
  readonly at: number;
}

/** `emergency/<id>`: one break-glass, active while `start ≤ t < end`. */
export interface EmergencyAccessRecord {
  readonly id: string;
  readonly patient: string;
  /** The practitioner who broke the glass. */
  readonly requester: string;
  /** The requester's organization: the one the shares are released to. */
  readonly org: string;
  readonly reason: EmergencyReason;
  readonly start: number;
  readonly end: number;
  /** The policy version the access was granted under. */
  readonly policyVersion: number;
  readonly classes: readonly SensitivityClass[];
  readonly threshold: number;
  readonly trustees: readonly EmergencyTrustee[];
  readonly escrow: EscrowPayload;
  readonly releases: readonly EmergencyRelease[];
  readonly flagged?: { readonly by: string; readonly at: number };
}

/**
 * Whether an access is active at `now` (ms): `start ≤ now < end` — block time in contracts, the
 * node's clock on nodes, the reader's clock in clients.
 */
export function isEmergencyActive(access: { readonly start: number; readonly end: number }, now: number): boolean {
  return access.start <= now && now < access.end;
}

// ---------------------------------------------------------------------------------------------
// Contracts
// ---------------------------------------------------------------------------------------------

function policyOf(ctx: ContractContext, patient: string): EmergencyPolicy | undefined {
  return ctx.get<EmergencyPolicy>(StateKey.emergencyPolicy(patient));
}

/** UNKNOWN_ORG for a trustee that is not an active member; STALE_EPOCH for keys not up to the current epoch. */
export const emergencyEnable: Contract<EmergencyEnablePayload> = {
  parse: (payload) => parsePayload(emergencyEnableSchema, payload),
  execute(ctx, payload) {
    const patient = requirePatientSigner(ctx);
    payload.trustees.forEach((trustee, i) => {
      if (!isMemberOrg(ctx, trustee.org)) {
        throw new TxRejected(
          ResultCode.UNKNOWN_ORG,
          `"payload.trustees[${i}].org" ${trustee.org} is not a member organization`,
        );
      }
    });
    // An escrow missing the newest keys would open only the records written before a rotation.
    const epoch = currentEpoch(ctx, patient.did);
    if (payload.escrow.epoch !== epoch) {
      throw new TxRejected(
        ResultCode.STALE_EPOCH,
        `"payload.escrow.epoch" is ${payload.escrow.epoch}, the patient's current epoch is ${epoch}`,
      );
    }
    const policy: EnabledEmergencyPolicy = {
      patient: patient.did,
      status: 'enabled',
      version: (policyOf(ctx, patient.did)?.version ?? 0) + 1,
      classes: payload.classes,
      threshold: payload.threshold,
      trustees: payload.trustees,
      escrow: payload.escrow,
      updatedAt: ctx.block.time,
    };
    ctx.put(StateKey.emergencyPolicy(patient.did), policy);
  },
};

/** EMERGENCY_DISABLED when there is no enabled policy to disable. */
export const emergencyDisable: Contract<EmergencyDisablePayload> = {
  parse: (payload) => parsePayload(emergencyDisableSchema, payload),
  execute(ctx) {
    const patient = requirePatientSigner(ctx);
    const current = policyOf(ctx, patient.did);
    if (current?.status !== 'enabled') {
      throw new TxRejected(ResultCode.EMERGENCY_DISABLED, `patient ${patient.did} has no enabled emergency policy`);
    }
    const policy: DisabledEmergencyPolicy = {
      patient: patient.did,
      status: 'disabled',
      version: current.version + 1,
      updatedAt: ctx.block.time,
    };
    ctx.put(StateKey.emergencyPolicy(patient.did), policy);
  },
};

/**
 * NOT_PRACTITIONER, EMERGENCY_ROLE_REQUIRED (both decided on the signer alone, before anything
 * about the patient is looked up, so that no one else learns which DIDs are patients),
 * UNKNOWN_PATIENT, PARTY_DEACTIVATED, EMERGENCY_DISABLED (never enabled, or opted out),
 * EMERGENCY_EXISTS. Reason and duration are schema checks (INVALID_PAYLOAD).
 */
export const emergencyAccess: Contract<EmergencyAccessPayload> = {
  parse: (payload) => parsePayload(emergencyAccessSchema, payload),
  execute(ctx, payload) {
    const requester = requirePractitioner(ctx);
    if (requester.roles?.includes(EMERGENCY_ROLE) !== true) {
      throw new TxRejected(
        ResultCode.EMERGENCY_ROLE_REQUIRED,
        `signer ${ctx.signer} does not have the ${EMERGENCY_ROLE} role`,
      );
    }
    const patient = requirePatient(ctx, payload.patient, 'payload.patient');
    if (patient.status !== 'active') {
      throw new TxRejected(ResultCode.PARTY_DEACTIVATED, `patient ${payload.patient} is deactivated`);
    }
    const policy = policyOf(ctx, payload.patient);
    if (policy?.status !== 'enabled') {
      throw new TxRejected(
        ResultCode.EMERGENCY_DISABLED,
        `patient ${payload.patient} does not allow emergency access`,
      );
    }
    if (ctx.get(StateKey.emergency(payload.id)) !== undefined) {
      throw new TxRejected(ResultCode.EMERGENCY_EXISTS, `emergency access ${payload.id} already exists`);
    }
    const access: EmergencyAccessRecord = {
      id: payload.id,
      patient: payload.patient,
      requester: ctx.signer,
      org: requester.org,
      reason: payload.reason,
      start: ctx.block.time,
      end: ctx.block.time + payload.durationMs,
      policyVersion: policy.version,
      classes: policy.classes,
      threshold: policy.threshold,
      trustees: policy.trustees,
      escrow: policy.escrow,
      releases: [],
    };
    ctx.put(StateKey.emergency(access.id), access);
    ctx.put(StateKey.patientEmergency(access.patient, access.id), access.id);
  },
};

/** NOT_NODE, EMERGENCY_UNKNOWN, EMERGENCY_ENDED, NOT_TRUSTEE, EMERGENCY_ALREADY_RELEASED. */
export const emergencyRelease: Contract<EmergencyReleasePayload> = {
  parse: (payload) => parsePayload(emergencyReleaseSchema, payload),
  execute(ctx, payload) {
    const node = requireNode(ctx);
    const access = ctx.get<EmergencyAccessRecord>(StateKey.emergency(payload.access));
    if (access === undefined) {
      throw new TxRejected(ResultCode.EMERGENCY_UNKNOWN, `emergency access ${payload.access} does not exist`);
    }
    if (!isEmergencyActive(access, ctx.block.time)) {
      throw new TxRejected(
        ResultCode.EMERGENCY_ENDED,
        `emergency access ${access.id} ended at ${access.end}, not after the block time ${ctx.block.time}`,
      );
    }
    if (!access.trustees.some((trustee) => trustee.org === node.org)) {
      throw new TxRejected(
        ResultCode.NOT_TRUSTEE,
        `organization ${node.org} is not a trustee of emergency access ${access.id}`,
      );
    }
    if (access.releases.some((release) => release.org === node.org)) {
      throw new TxRejected(
        ResultCode.EMERGENCY_ALREADY_RELEASED,
        `organization ${node.org} already released its share for emergency access ${access.id}`,
      );
    }
    const release: EmergencyRelease = { org: node.org, node: ctx.signer, share: payload.share, at: ctx.block.time };
    ctx.put(StateKey.emergency(access.id), { ...access, releases: [...access.releases, release] });
  },
};

/**
 * NOT_AUTHORIZED for a signer that is neither a patient nor an organization admin (decided on the
 * signer alone); EMERGENCY_UNKNOWN for an access that does not exist or that the signer may not
 * flag (the same answer, so a signer learns nothing of others' accesses);
 * EMERGENCY_ALREADY_FLAGGED (the first flag stays).
 */
export const emergencyFlag: Contract<EmergencyFlagPayload> = {
  parse: (payload) => parsePayload(emergencyFlagSchema, payload),
  execute(ctx, payload) {
    const party = ctx.signerParty;
    const isPatient = party?.kind === 'patient' && party.status === 'active';
    const admin = isPatient ? undefined : signerAsOrgAdmin(ctx);
    if (!isPatient && admin === undefined) {
      throw new TxRejected(
        ResultCode.NOT_AUTHORIZED,
        `signer ${ctx.signer} is neither a patient nor an active admin of a member organization`,
      );
    }
    const access = ctx.get<EmergencyAccessRecord>(StateKey.emergency(payload.access));
    const mayFlag =
      access !== undefined &&
      (isPatient
        ? access.patient === ctx.signer
        : admin !== undefined &&
          ctx.range<unknown>(StateKey.orgPatientGrantsPrefix(admin.org, access.patient)).length > 0);
    if (access === undefined || !mayFlag) {
      throw new TxRejected(
        ResultCode.EMERGENCY_UNKNOWN,
        `no emergency access ${payload.access} that signer ${ctx.signer} may flag`,
      );
    }
    if (access.flagged !== undefined) {
      throw new TxRejected(
        ResultCode.EMERGENCY_ALREADY_FLAGGED,
        `emergency access ${access.id} was flagged at ${access.flagged.at}`,
      );
    }
    const flagged: EmergencyAccessRecord = { ...access, flagged: { by: ctx.signer, at: ctx.block.time } };
    ctx.put(StateKey.emergency(access.id), flagged);
  },
};
