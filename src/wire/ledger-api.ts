/**
 * Bodies of the node's ledger API (`/ledger/*`), as the server sends them and the client returns
 * them. The server's routes and the client are both typed against these, so the two cannot drift
 * apart. The ledger's own records (blocks, parties, grants) travel as they are kept, so they are
 * named here from the ledger's pure type modules rather than copied.
 */
import type { BlockHeader } from '../ledger/block.js';
import type { ResultCode } from '../ledger/codes.js';
import type { TxInclusionProof } from '../ledger/proof.js';
import type { GrantRecord, OrgRecord, OrgStatus, PartyRecord, PartyStatus, SignedTx } from '../ledger/types.js';
import type { RequestRecord } from '../contracts/consent.js';
import type { ApiErrorDetail } from './errors.js';

export type {
  BlockHeader,
  TxInclusionProof,
  ResultCode,
  SignedTx,
  PartyRecord,
  OrgRecord,
  GrantRecord,
  RequestRecord,
};

// ---------------------------------------------------------------------------------------------
// POST /ledger/tx
// ---------------------------------------------------------------------------------------------

/** 202: one envelope admitted and handed to ordering (not yet in a block). */
export interface SubmitAccepted {
  readonly id: string;
  readonly status: 'accepted';
}

/**
 * 200 with `?wait=commit`: the transaction is in block `height` at position `index`, with result
 * `code`. A code other than OK is still a commit: the transaction is on the ledger, without effect.
 */
export interface SubmitCommitted {
  readonly id: string;
  readonly status: 'committed';
  readonly height: number;
  readonly index: number;
  readonly code: ResultCode;
  readonly message?: string;
}

/**
 * One envelope of a batch, by its position `index` in the submitted `txs`.
 * - `accepted`: admitted (without wait; or with wait, not committed in time: then `error` is COMMIT_TIMEOUT);
 * - `committed` (with wait): in block `height` at position `blockIndex`, with result `code`;
 * - `rejected`: refused at admission, with the result code it would have had in a block.
 */
export type BatchItemResult =
  | {
      readonly index: number;
      readonly id: string;
      readonly status: 'accepted';
      readonly error?: ApiErrorDetail;
    }
  | {
      readonly index: number;
      readonly id: string;
      readonly status: 'committed';
      readonly height: number;
      readonly blockIndex: number;
      readonly code: ResultCode;
      readonly message?: string;
    }
  | { readonly index: number; readonly status: 'rejected'; readonly error: ApiErrorDetail };

/** 202 (200 with `?wait=commit`): one result per submitted envelope, in submission order. */
export interface BatchSubmitResponse {
  readonly results: readonly BatchItemResult[];
}

// ---------------------------------------------------------------------------------------------
// GET /ledger/tx/:id, /ledger/blocks
// ---------------------------------------------------------------------------------------------

/** A committed transaction, its block header and its RFC 6962 inclusion proof in `header.txRoot`. */
export interface TxResponse {
  readonly id: string;
  readonly height: number;
  /** Position in the block. */
  readonly index: number;
  readonly code: ResultCode;
  readonly message?: string;
  /** The signed envelope, as committed. */
  readonly tx: SignedTx;
  readonly blockHash: string;
  readonly header: BlockHeader;
  readonly proof: TxInclusionProof;
}

export interface BlockTx {
  readonly id: string;
  readonly envelope: SignedTx;
  readonly code: ResultCode;
  readonly message?: string;
}

export interface BlockResponse {
  readonly hash: string;
  readonly header: BlockHeader;
  /** Every transaction of the block; or, when `redacted`, only those the caller may see. */
  readonly txs: readonly BlockTx[];
  /**
   * Set when the caller is not a member of the network: `txs` holds only the caller's own
   * transactions (none for an anonymous caller), so it may be shorter than the block.
   */
  readonly redacted?: true;
}

/**
 * Consecutive blocks from the asked height. May hold fewer than `limit` (the node caps the size
 * of one answer); ask again from the last height + 1 until `blocks` is empty.
 */
export interface BlocksResponse {
  readonly blocks: readonly BlockResponse[];
}

// ---------------------------------------------------------------------------------------------
// GET /ledger/status, /ledger/orgs, /ledger/identities/:did, /ledger/patients/:did/consents
// ---------------------------------------------------------------------------------------------

export interface StatusResponse {
  readonly chainId: string;
  readonly genesisHash: string;
  readonly height: number;
  readonly headHash: string;
  readonly stateRoot: string;
  /** Time of the head block, ms since epoch. */
  readonly headTime: number;
  readonly nodeDid: string;
  readonly org: { readonly did: string; readonly name: string };
  readonly region: string;
  /** The URL this node is reached at (its configured public URL). */
  readonly url: string;
  readonly ordering: 'local' | 'jetstream';
  /** Version of the roam-ehr package the node runs. */
  readonly version: string;
  /** In a network: this node's latest attestation and its agreement with every other node. */
  readonly network?: NetworkAgreement;
}

/** A node's signed statement of the block it committed at a height. */
export interface Attestation {
  readonly v: 1;
  readonly chainId: string;
  readonly node: string;
  readonly height: number;
  readonly hash: string;
  readonly stateRoot: string;
  /** The attesting node's clock when it signed (ms); informative only. */
  readonly time: number;
  /** Ed25519 signature by the node's key over the canonical JSON of the other fields, base64url. */
  readonly sig: string;
}

export type Agreement = 'agrees' | 'diverged' | 'pending';

export interface PeerAgreement {
  readonly node: string;
  readonly org: string;
  readonly orgName: string;
  readonly region: string;
  readonly url: string;
  readonly latest?: Attestation & { readonly receivedAt: number };
  /** Compared at the highest height both nodes have: same block hash and state root, or not. */
  readonly agreement: Agreement;
  readonly comparedAt?: number;
}

export interface NetworkAgreement {
  readonly self?: Attestation;
  readonly peers: readonly PeerAgreement[];
  /** True when this node's block differs from that of a strict majority of the member organizations (one voice each). */
  readonly diverged: boolean;
  /** Why this node stopped committing (it is in the minority), when it did. */
  readonly halted?: string;
}

/** `GET /ledger/sync`: blocks with their raw envelopes, for a node catching up. */
export interface SyncResponse {
  readonly head: number;
  readonly blocks: ReadonlyArray<{
    readonly height: number;
    readonly hash: string;
    /** Canonical JSON of the header. */
    readonly header: string;
    /** Ordering position after this block (where to resume the stream), or null. */
    readonly position: string | null;
    /** Canonical JSON envelopes, in block order. */
    readonly envelopes: readonly string[];
  }>;
}

export interface OrgNodeSummary {
  readonly did: string;
  readonly url: string;
  readonly region: string;
  readonly status: PartyStatus;
}

export interface OrgSummary {
  readonly did: string;
  readonly name: string;
  readonly region: string;
  readonly encryptionKey: string;
  /** Only an `active` organization is a member: grants to a suspended or expelled one are refused. */
  readonly status: OrgStatus;
  readonly nodes: readonly OrgNodeSummary[];
}

export interface OrgsResponse {
  readonly orgs: readonly OrgSummary[];
}

/** A party (patient, practitioner, node) or a member organization (`kind: 'org'`). */
export type IdentityResponse = PartyRecord | OrgIdentity;

export interface OrgIdentity extends OrgRecord {
  readonly kind: 'org';
}

/** A grant without its sealed record keys (opaque and large): only how many it carries. */
export type GrantSummary = Omit<GrantRecord, 'keys'> & { readonly keyCount: number };

export interface ConsentsResponse {
  readonly grants: readonly GrantSummary[];
  readonly requests: readonly RequestRecord[];
  /**
   * How many times the patient rotated its record-key epoch on its own (`consent.rotate`); part
   * of its current epoch. Absent from older nodes' answers (read as 0).
   */
  readonly rotations?: number;
}
