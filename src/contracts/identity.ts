/**
 * Identity contract: patients register themselves, organization admins register their
 * practitioners, any party rotates its signing key, and parties are deactivated by themselves
 * or by an admin of their organization. A party's id is its did:key for life; after a rotation
 * the ledger holds the key that now signs for it.
 */
import { z } from 'zod';
import { isSigningDid } from '../crypto/index.js';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import { PRACTITIONER_ROLES, type PartyRecord, type PractitionerRole } from '../ledger/types.js';
import {
  didSchema,
  getParty,
  isUnique,
  key32Schema,
  parsePayload,
  requireOrgAdmin,
  signerAsOrgAdmin,
  signingKeyOf,
  writePractitioner,
  type Contract,
  type Payload,
} from './common.js';
import { endGrantsOf } from './consent.js';

export const patientRegisterSchema = z.strictObject({ encryptionKey: key32Schema });
/** `identity.patient.register`: the signer registers itself as a patient. */
export type PatientRegisterPayload = Payload<typeof patientRegisterSchema>;

export const practitionerRegisterSchema = z.strictObject({
  practitioner: didSchema,
  roles: z
    .array(z.enum(PRACTITIONER_ROLES as readonly [PractitionerRole, ...PractitionerRole[]]))
    .min(1)
    .refine(isUnique, { error: 'expected each role at most once' }),
  encryptionKey: key32Schema,
});
/** `identity.practitioner.register`: an org admin registers a practitioner of its organization. */
export type PractitionerRegisterPayload = Payload<typeof practitionerRegisterSchema>;

export const keyRotateSchema = z.strictObject({ newSigningKey: key32Schema });
/** `identity.key.rotate`: the signer replaces its Ed25519 signing key. */
export type KeyRotatePayload = Payload<typeof keyRotateSchema>;

export const deactivateSchema = z.strictObject({ did: didSchema });
/** `identity.deactivate`: deactivates a party; it can no longer sign. */
export type DeactivatePayload = Payload<typeof deactivateSchema>;

export const patientRegister: Contract<PatientRegisterPayload> = {
  allowsUnregisteredSigner: true,
  parse: (payload) => parsePayload(patientRegisterSchema, payload),
  execute(ctx, payload) {
    if (getParty(ctx, ctx.signer) !== undefined) {
      throw new TxRejected(ResultCode.ALREADY_REGISTERED, `signer ${ctx.signer} is already registered`);
    }
    // The runner authenticated the signer with the key inside its did:key, so this holds; checked
    // anyway because the patient's signing key is read from it.
    if (!isSigningDid(ctx.signer)) {
      throw new TxRejected(ResultCode.NOT_AUTHORIZED, 'signer is not an Ed25519 did:key');
    }
    const party: PartyRecord = {
      did: ctx.signer,
      kind: 'patient',
      signingKey: signingKeyOf(ctx.signer),
      encryptionKey: payload.encryptionKey,
      status: 'active',
      registeredAt: ctx.block.time,
    };
    ctx.put(StateKey.party(ctx.signer), party);
  },
};

export const practitionerRegister: Contract<PractitionerRegisterPayload> = {
  parse: (payload) => parsePayload(practitionerRegisterSchema, payload),
  execute(ctx, payload) {
    const admin = requireOrgAdmin(ctx);
    if (getParty(ctx, payload.practitioner) !== undefined) {
      throw new TxRejected(
        ResultCode.ALREADY_REGISTERED,
        `"payload.practitioner" ${payload.practitioner} is already registered`,
      );
    }
    writePractitioner(ctx, {
      did: payload.practitioner,
      encryptionKey: payload.encryptionKey,
      org: admin.org,
      roles: payload.roles,
      registeredAt: ctx.block.time,
    });
  },
};

export const keyRotate: Contract<KeyRotatePayload> = {
  parse: (payload) => parsePayload(keyRotateSchema, payload),
  execute(ctx, payload) {
    const party = ctx.signerParty;
    if (party === undefined)
      throw new TxRejected(ResultCode.UNKNOWN_PARTY, `signer ${ctx.signer} is not registered`);
    if (party.signingKey === payload.newSigningKey) {
      throw new TxRejected(ResultCode.SAME_KEY, '"payload.newSigningKey" is the current signing key');
    }
    ctx.put(StateKey.party(party.did), { ...party, signingKey: payload.newSigningKey });
  },
};

export const deactivate: Contract<DeactivatePayload> = {
  parse: (payload) => parsePayload(deactivateSchema, payload),
  execute(ctx, payload) {
    const target = getParty(ctx, payload.did);
    if (target === undefined)
      throw new TxRejected(ResultCode.UNKNOWN_PARTY, `"payload.did" ${payload.did} is not registered`);
    if (payload.did !== ctx.signer) {
      // Someone else's party: only an admin of its own organization, and never a patient.
      const admin = signerAsOrgAdmin(ctx);
      if (admin === undefined || target.kind === 'patient' || target.org !== admin.org) {
        throw new TxRejected(
          ResultCode.NOT_AUTHORIZED,
          `signer ${ctx.signer} may not deactivate ${payload.did}`,
        );
      }
    }
    if (target.status !== 'active')
      throw new TxRejected(ResultCode.PARTY_DEACTIVATED, `party ${payload.did} is already deactivated`);
    ctx.put(StateKey.party(target.did), { ...target, status: 'deactivated' });
    if (target.kind === 'patient') endGrantsOf(ctx, target.did);
  },
};
