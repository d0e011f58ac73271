import type { ResultCode } from './codes.js';

export const TX_VERSION = 1;

/**
 * The transaction types, grouped by contract. The string is what goes on the wire and in blocks.
 */
export const TxType = {
  GovOrgPropose: 'gov.org.propose',
  GovOrgVote: 'gov.org.vote',
  GovNodeRegister: 'gov.node.register',
  GovProposalOpen: 'gov.proposal.open',
  PatientRegister: 'identity.patient.register',
  PractitionerRegister: 'identity.practitioner.register',
  KeyRotate: 'identity.key.rotate',
  Deactivate: 'identity.deactivate',
  ConsentGrant: 'consent.grant',
  ConsentRevoke: 'consent.revoke',
  ConsentRequest: 'consent.request',
  ConsentApprove: 'consent.approve',
  ConsentDeny: 'consent.deny',
  ConsentRekey: 'consent.rekey',
  ConsentRotate: 'consent.rotate',
  RecordAnchor: 'records.anchor',
  RecordErase: 'records.erase',
  RecordReplica: 'records.replica',
  AuditBatch: 'audit.batch',
  EmergencyEnable: 'emergency.enable',
  EmergencyDisable: 'emergency.disable',
  EmergencyAccess: 'emergency.access',
  EmergencyRelease: 'emergency.release',
  EmergencyFlag: 'emergency.flag',
} as const;
export type TxType = (typeof TxType)[keyof typeof TxType];
export const TX_TYPES: readonly TxType[] = Object.values(TxType);

/** A transaction: serialized as RFC 8785 canonical JSON, those bytes signed with Ed25519. */
export interface Tx<P = unknown> {
  readonly v: typeof TX_VERSION;
  /**
   * The network the transaction is meant for (its genesis `chainId`): a transaction signed for one
   * network is refused by every other (WRONG_CHAIN), so it cannot be replayed there.
   */
  readonly chainId: string;
  readonly type: TxType;
  /** DID of the signing party (its identity DID; after key rotation the ledger holds its current key). */
  readonly signer: string;
  /** Unique per signer; a (signer, nonce) pair is accepted once. 8–64 chars of [A-Za-z0-9_-]. */
  readonly nonce: string;
  /** Milliseconds since the Unix epoch; must be within the validity window of the block time. */
  readonly issuedAt: number;
  readonly payload: P;
}

/** What is submitted, ordered and stored: `{ tx, sig }` with `sig` base64url. */
export interface SignedTx<P = unknown> {
  readonly tx: Tx<P>;
  readonly sig: string;
}

export interface TxResult {
  readonly code: ResultCode;
  /** Deterministic, human-readable reason when `code` is not OK. */
  readonly message?: string;
}

// ---------------------------------------------------------------------------------------------
// World state, as contracts read and write it. Keys are strings; values canonical JSON.
// ---------------------------------------------------------------------------------------------

export type PartyKind = 'patient' | 'practitioner' | 'node';
export type PractitionerRole = 'physician' | 'nurse' | 'emergency' | 'admin';
export const PRACTITIONER_ROLES: readonly PractitionerRole[] = ['physician', 'nurse', 'emergency', 'admin'];
export type SensitivityClass = 'general' | 'sensitive';
export const SENSITIVITY_CLASSES: readonly SensitivityClass[] = ['general', 'sensitive'];
export type PartyStatus = 'active' | 'deactivated';

/** `party/<did>`: anyone who signs transactions. An org admin is a practitioner with role `admin`. */
export interface PartyRecord {
  readonly did: string;
  readonly kind: PartyKind;
  /** Current Ed25519 public key, base64url (equals the did:key's key until rotated). */
  readonly signingKey: string;
  /** X25519 public key, base64url. */
  readonly encryptionKey: string;
  readonly status: PartyStatus;
  /** Organization DID, for practitioners and nodes. */
  readonly org?: string;
  readonly roles?: readonly PractitionerRole[];
  /** Node endpoint (nodes only). */
  readonly url?: string;
  readonly region?: string;
  readonly registeredAt: number;
}

/**
 * A member organization's standing: only an `active` one is a member (its parties sign, its nodes
 * attest and serve, grants to it are honoured). `suspended` can be reinstated by vote;
 * `expelled` is final.
 */
export type OrgStatus = 'active' | 'suspended' | 'expelled';
export const ORG_STATUSES: readonly OrgStatus[] = ['active', 'suspended', 'expelled'];

/** `org/<did>`: a member organization of the consortium. */
export interface OrgRecord {
  readonly did: string;
  readonly name: string;
  readonly region: string;
  /** X25519 key to which patients seal record keys in grants, base64url. */
  readonly encryptionKey: string;
  readonly status: OrgStatus;
  readonly joinedAt: number;
  /** Block time of the last change of `status` (absent until the first suspension). */
  readonly statusChangedAt?: number;
}

export interface GrantScope {
  /** FHIR resource types, or ['*'] for all. */
  readonly resourceTypes: readonly string[];
  readonly classes: readonly SensitivityClass[];
}

export type GrantAccess = 'read' | 'write';

/** `grant/<grantId>`. */
export interface GrantRecord {
  readonly id: string;
  readonly patient: string;
  readonly grantee: string;
  readonly scope: GrantScope;
  readonly purpose: string;
  readonly access: GrantAccess;
  /** ms since epoch, or null for no expiry. */
  readonly expiresAt: number | null;
  readonly status: 'active' | 'revoked';
  readonly grantedAt: number;
  readonly revokedAt?: number;
  /** Record keys sealed to the grantee (HPKE); opaque to the ledger. */
  readonly keys?: readonly unknown[];
  /** The access request this grant answers, if any. */
  readonly requestId?: string;
  readonly txId: string;
}

/** Deterministic block context given to every contract call. */
export interface BlockInfo {
  readonly height: number;
  /** Block time, ms since epoch (set by the orderer, never the executing node's clock). */
  readonly time: number;
}

/** `maxNodesPerOrg` of a genesis document that does not set it. */
export const DEFAULT_MAX_NODES_PER_ORG = 2;

/** The network's founding document; every node of a network starts from the same one. */
export interface GenesisDocument {
  readonly format: 'roam-genesis';
  readonly version: 1;
  /** Names the network; part of every block hash through block 0. */
  readonly chainId: string;
  /** Time of block 0, ms since epoch. */
  readonly time: number;
  readonly params: {
    readonly txValidityMs: number;
    readonly txFutureSkewMs: number;
    readonly joinQuorum: number;
    /**
     * Most active nodes one organization may have (default {@link DEFAULT_MAX_NODES_PER_ORG}):
     * bounds what one member's own admin can add to the network on its own.
     */
    readonly maxNodesPerOrg?: number | undefined;
    /** Optional (default false): accept `http:` node URLs for any host, as the demo does. */
    readonly allowHttpNodeUrls?: boolean | undefined;
  };
  readonly founders: readonly GenesisFounder[];
}

export interface GenesisFounder {
  readonly org: { readonly did: string; readonly name: string; readonly region: string; readonly encryptionKey: string };
  /** Org admins: registered as practitioners of the org with role `admin`. */
  readonly admins: ReadonlyArray<{ readonly did: string; readonly encryptionKey: string }>;
  readonly nodes: ReadonlyArray<{
    readonly did: string;
    readonly url: string;
    readonly region: string;
    readonly encryptionKey: string;
  }>;
}
