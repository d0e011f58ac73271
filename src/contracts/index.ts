/**
 * The ledger's contracts: deterministic handlers for every transaction type, the genesis writer,
 * the payload types clients build transactions from, and the access decision
 * (`findCoveringGrant`) shared with the FHIR layer.
 */
import { ResultCode } from '../ledger/codes.js';
import type { ContractHandler, ContractRegistry, ContractSuite } from '../ledger/contract.js';
import { TxType } from '../ledger/types.js';
import { auditBatch } from './audit.js';
import {
  consentApprove,
  consentDeny,
  consentGrant,
  consentRekey,
  consentRequest,
  consentRevoke,
} from './consent.js';
import { consentRotate } from './consent-rotate.js';
import { emergencyAccess, emergencyDisable, emergencyEnable, emergencyFlag, emergencyRelease } from './emergency.js';
import { applyGenesis, nodeRegister, orgPropose, orgVote, proposalOpen } from './governance.js';
import { deactivate, keyRotate, patientRegister, practitionerRegister } from './identity.js';
import { MAX_TX_BYTES } from './limits.js';
import { recordAnchor, recordErase } from './records.js';
import { recordReplica } from './replica.js';
import type { AuditBatchPayload } from './audit.js';
import type {
  ConsentApprovePayload,
  ConsentDenyPayload,
  ConsentGrantPayload,
  ConsentRekeyPayload,
  ConsentRequestPayload,
  ConsentRevokePayload,
} from './consent.js';
import type { ConsentRotatePayload } from './consent-rotate.js';
import type {
  EmergencyAccessPayload,
  EmergencyDisablePayload,
  EmergencyEnablePayload,
  EmergencyFlagPayload,
  EmergencyReleasePayload,
} from './emergency.js';
import type { NodeRegisterPayload, OrgProposePayload, OrgVotePayload, ProposalOpenPayload } from './governance.js';
import type {
  DeactivatePayload,
  KeyRotatePayload,
  PatientRegisterPayload,
  PractitionerRegisterPayload,
} from './identity.js';
import type { RecordAnchorTxPayload, RecordErasePayload } from './records.js';
import type { RecordReplicaPayload } from './replica.js';

export type { StateReader } from './common.js';
export { MAX_TX_BYTES } from './limits.js';
export { isActivePractitionerOf, isMemberOrg, nodeUrlRefusal } from './common.js';
export {
  applyGenesis,
  validateGenesis,
  requiredYesVotes,
  tallyVotes,
  type OrgProposePayload,
  type OrgVotePayload,
  type NodeRegisterPayload,
  type ProposalOpenPayload,
  type ProposalKind,
  type ProposalRecord,
  type ProposalStatus,
  type OrgAddProposal,
  type OrgStandingProposal,
  type OrgRotateKeyProposal,
  type NodeRotateKeyProposal,
  STANDING_KINDS,
  type StandingKind,
} from './governance.js';
export {
  type PatientRegisterPayload,
  type PractitionerRegisterPayload,
  type KeyRotatePayload,
  type DeactivatePayload,
} from './identity.js';
export {
  PURPOSES,
  PURPOSE_OF_USE,
  PURPOSE_OF_USE_SYSTEM,
  MAX_GRANT_KEYS,
  MAX_GRANT_KEY_BYTES,
  MAX_REQUEST_EXPIRES_IN_MS,
  findCoveringGrant,
  grantCovers,
  currentEpoch,
  type Purpose,
  type CoveringGrantResult,
  type ConsentGrantPayload,
  type ConsentRevokePayload,
  type ConsentRequestPayload,
  type ConsentApprovePayload,
  type ConsentDenyPayload,
  type ConsentRekeyPayload,
  type RequestRecord,
} from './consent.js';
export { type ConsentRotatePayload } from './consent-rotate.js';
export {
  EMERGENCY_ROLE,
  EMERGENCY_REASONS,
  EMERGENCY_RESOURCE_TYPES,
  MAX_EMERGENCY_DURATION_MS,
  MAX_EMERGENCY_TRUSTEES,
  MAX_ESCROW_KEYS,
  MAX_ESCROW_KEYS_CT_LENGTH,
  isEmergencyActive,
  type EmergencyReason,
  type SealedShare,
  type EscrowPayload,
  type EmergencyEnablePayload,
  type EmergencyDisablePayload,
  type EmergencyAccessPayload,
  type EmergencyReleasePayload,
  type EmergencyFlagPayload,
  type EmergencyTrustee,
  type EnabledEmergencyPolicy,
  type DisabledEmergencyPolicy,
  type EmergencyPolicy,
  type EmergencyRelease,
  type EmergencyAccessRecord,
} from './emergency.js';
export {
  MAX_ANCHORS_PER_TX,
  type RecordAnchorPayload,
  type RecordAnchorsPayload,
  type RecordAnchorTxPayload,
  type RecordErasePayload,
  type RecordEntry,
  type ActiveRecord,
  type ErasedRecord,
  type RecordVersionAnchor,
} from './records.js';
export {
  holdsWriteGrant,
  namedReplica,
  replicaInEffect,
  type RecordReplicaPayload,
  type ReplicaDesignation,
} from './replica.js';
export {
  AUDIT_ACTIONS,
  AUDIT_OUTCOMES,
  MAX_AUDIT_BATCH,
  type AuditAction,
  type AuditOutcome,
  type AuditEntry,
  type AuditBatchPayload,
  type AuditRecord,
} from './audit.js';

/** Payload type of each transaction type, for clients that build transactions. */
export interface TxPayloads {
  'gov.org.propose': OrgProposePayload;
  'gov.org.vote': OrgVotePayload;
  'gov.node.register': NodeRegisterPayload;
  'gov.proposal.open': ProposalOpenPayload;
  'identity.patient.register': PatientRegisterPayload;
  'identity.practitioner.register': PractitionerRegisterPayload;
  'identity.key.rotate': KeyRotatePayload;
  'identity.deactivate': DeactivatePayload;
  'consent.grant': ConsentGrantPayload;
  'consent.revoke': ConsentRevokePayload;
  'consent.request': ConsentRequestPayload;
  'consent.approve': ConsentApprovePayload;
  'consent.deny': ConsentDenyPayload;
  'consent.rekey': ConsentRekeyPayload;
  'consent.rotate': ConsentRotatePayload;
  'records.anchor': RecordAnchorTxPayload;
  'records.erase': RecordErasePayload;
  'records.replica': RecordReplicaPayload;
  'audit.batch': AuditBatchPayload;
  'emergency.enable': EmergencyEnablePayload;
  'emergency.disable': EmergencyDisablePayload;
  'emergency.access': EmergencyAccessPayload;
  'emergency.release': EmergencyReleasePayload;
  'emergency.flag': EmergencyFlagPayload;
}

// Every transaction type has its payload type above (fails the typecheck otherwise).
const txPayloadsComplete: [TxType] extends [keyof TxPayloads] ? true : false = true;
void txPayloadsComplete;

/**
 * The handler of every transaction type.
 *
 * @example const registry = createContractRegistry(); registry.get(TxType.ConsentGrant)?.parse(payload)
 */
export function createContractRegistry(): ContractRegistry {
  const handlers: Record<TxType, Omit<ContractHandler, 'maxTxBytes'>> = {
    [TxType.GovOrgPropose]: orgPropose,
    [TxType.GovOrgVote]: orgVote,
    [TxType.GovNodeRegister]: nodeRegister,
    [TxType.GovProposalOpen]: proposalOpen,
    [TxType.PatientRegister]: patientRegister,
    [TxType.PractitionerRegister]: practitionerRegister,
    [TxType.KeyRotate]: keyRotate,
    [TxType.Deactivate]: deactivate,
    [TxType.ConsentGrant]: consentGrant,
    [TxType.ConsentRevoke]: consentRevoke,
    [TxType.ConsentRequest]: consentRequest,
    [TxType.ConsentApprove]: consentApprove,
    [TxType.ConsentDeny]: consentDeny,
    [TxType.ConsentRekey]: consentRekey,
    [TxType.ConsentRotate]: consentRotate,
    [TxType.RecordAnchor]: recordAnchor,
    [TxType.RecordErase]: recordErase,
    [TxType.RecordReplica]: recordReplica,
    [TxType.AuditBatch]: auditBatch,
    [TxType.EmergencyEnable]: emergencyEnable,
    [TxType.EmergencyDisable]: emergencyDisable,
    [TxType.EmergencyAccess]: emergencyAccess,
    [TxType.EmergencyRelease]: emergencyRelease,
    [TxType.EmergencyFlag]: emergencyFlag,
  };
  return new Map(
    (Object.entries(handlers) as Array<[TxType, Omit<ContractHandler, 'maxTxBytes'>]>).map(([type, handler]) => [
      type,
      { ...handler, maxTxBytes: MAX_TX_BYTES[type] },
    ]),
  );
}

/** The registry and the genesis writer together, as the ledger's executor takes them. */
export function createContractSuite(): ContractSuite {
  return { registry: createContractRegistry(), applyGenesis };
}

/**
 * Every code a contract can commit (all rejections; OK aside). The runner's own codes
 * (envelope, signature, replay, window, unknown or deactivated signer, CONTRACT_ERROR) are not
 * in it.
 */
export const CONTRACT_RESULT_CODES: readonly Exclude<ResultCode, 'OK'>[] = [
  ResultCode.INVALID_PAYLOAD,
  ResultCode.NOT_PATIENT,
  ResultCode.NOT_PRACTITIONER,
  ResultCode.NOT_ORG_ADMIN,
  ResultCode.NOT_NODE,
  ResultCode.NOT_AUTHORIZED,
  ResultCode.UNKNOWN_ORG,
  ResultCode.ORG_EXISTS,
  ResultCode.PROPOSAL_EXISTS,
  ResultCode.PROPOSAL_NOT_FOUND,
  ResultCode.PROPOSAL_CLOSED,
  ResultCode.ALREADY_VOTED,
  ResultCode.NODE_EXISTS,
  ResultCode.NODE_LIMIT_REACHED,
  ResultCode.WRONG_ORG_STATUS,
  ResultCode.ALREADY_REGISTERED,
  ResultCode.UNKNOWN_PARTY,
  ResultCode.UNKNOWN_PATIENT,
  ResultCode.PARTY_DEACTIVATED,
  ResultCode.SAME_KEY,
  ResultCode.GRANT_EXISTS,
  ResultCode.GRANT_NOT_FOUND,
  ResultCode.NOT_GRANT_OWNER,
  ResultCode.GRANT_REVOKED,
  ResultCode.GRANT_EXPIRED,
  ResultCode.EXPIRY_IN_PAST,
  ResultCode.NO_GRANT,
  ResultCode.SCOPE_NOT_COVERED,
  ResultCode.REQUEST_EXISTS,
  ResultCode.REQUEST_NOT_FOUND,
  ResultCode.REQUEST_CLOSED,
  ResultCode.GRANT_KEYS_FULL,
  ResultCode.RECORD_NOT_FOUND,
  ResultCode.RECORD_ERASED,
  ResultCode.VERSION_CONFLICT,
  ResultCode.NOT_CUSTODIAN,
  ResultCode.RECORD_MISMATCH,
  ResultCode.STALE_EPOCH,
  ResultCode.FOREIGN_ACTOR,
  ResultCode.REPLICA_NOT_MEMBER,
  ResultCode.REPLICA_NO_WRITE_GRANT,
  ResultCode.REPLICA_NOT_SET,
  ResultCode.REPLICA_UNCHANGED,
  ResultCode.EMERGENCY_DISABLED,
  ResultCode.EMERGENCY_ROLE_REQUIRED,
  ResultCode.EMERGENCY_EXISTS,
  ResultCode.EMERGENCY_UNKNOWN,
  ResultCode.EMERGENCY_ENDED,
  ResultCode.NOT_TRUSTEE,
  ResultCode.EMERGENCY_ALREADY_RELEASED,
  ResultCode.EMERGENCY_ALREADY_FLAGGED,
];
