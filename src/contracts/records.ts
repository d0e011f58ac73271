/**
 * Records contract: a node anchors each version of a record its organization keeps (the
 * ciphertext stays off-chain with that custodian) and marks records erased. The ledger keeps the
 * latest version's anchor in state; anchors of older versions remain in older blocks.
 */
import { z } from 'zod';
import { ResultCode } from '../ledger/codes.js';
import { TxRejected, type ContractContext } from '../ledger/contract.js';
import { StateKey } from '../ledger/keys.js';
import { SENSITIVITY_CLASSES, type SensitivityClass } from '../ledger/types.js';
import {
  didSchema,
  fhirTypeSchema,
  idSchema,
  isActivePractitionerOf,
  isMemberOrg,
  parsePayload,
  requireNode,
  requirePatient,
  type Contract,
  type Payload,
} from './common.js';
import { currentEpoch, findCoveringGrant } from './consent.js';
import { replicaInEffect } from './replica.js';

export const recordAnchorSchema = z.strictObject({
  recordId: idSchema(128),
  version: z.number().int().min(1),
  patient: didSchema,
  resourceType: fhirTypeSchema,
  class: z.enum(SENSITIVITY_CLASSES as readonly [SensitivityClass, ...SensitivityClass[]]),
  /** SHA-256 of the version's ciphertext, lowercase hex. */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  author: didSchema,
  /** Epoch of the patient's record key the version is encrypted under. */
  epoch: z.number().int().nonnegative(),
});
/** `records.anchor`: a node of the custodian organization anchors a record version. */
export type RecordAnchorPayload = Payload<typeof recordAnchorSchema>;

/** Most anchors in one `records.anchor` transaction. */
export const MAX_ANCHORS_PER_TX = 250;
export const recordAnchorsSchema = z.strictObject({
  anchors: z.array(recordAnchorSchema).min(1).max(MAX_ANCHORS_PER_TX),
});
/**
 * `records.anchor` with several versions (e.g. those of one transaction Bundle): anchored in
 * order, all or none — the transaction is refused with the code of the first anchor refused.
 */
export type RecordAnchorsPayload = Payload<typeof recordAnchorsSchema>;
/** The payload of `records.anchor`: one anchor, or several. */
export type RecordAnchorTxPayload = RecordAnchorPayload | RecordAnchorsPayload;

export const recordEraseSchema = z.strictObject({ recordId: idSchema(128) });
/** `records.erase`: the patient or the custodian's node marks a record erased. */
export type RecordErasePayload = Payload<typeof recordEraseSchema>;

/** The anchor of a record's latest version. */
export interface RecordVersionAnchor {
  readonly version: number;
  readonly contentHash: string;
  readonly author: string;
  readonly epoch: number;
  readonly anchoredAt: number;
  readonly txId: string;
  /**
   * The organization that wrote (anchored) this version when it is not the custodian: the
   * patient's replica, writing while it is in effect (absent when the custodian wrote it).
   */
  readonly writer?: string;
}

/** `record/<id>` of a live record. */
export interface ActiveRecord {
  readonly id: string;
  readonly patient: string;
  readonly resourceType: string;
  readonly class: SensitivityClass;
  /** The organization that keeps the ciphertext; fixed by version 1. */
  readonly custodian: string;
  readonly latest: RecordVersionAnchor;
  /** Number of versions anchored. */
  readonly versions: number;
  readonly status: 'active';
}

/** `record/<id>` after erasure: only the pointer (id, patient DID, custodian) and the hash remain. */
export interface ErasedRecord {
  readonly id: string;
  readonly patient: string;
  readonly custodian: string;
  readonly latest: Pick<RecordVersionAnchor, 'version' | 'contentHash' | 'anchoredAt' | 'txId'>;
  readonly versions: number;
  readonly status: 'erased';
  readonly erasedAt: number;
}

export type RecordEntry = ActiveRecord | ErasedRecord;

export const recordAnchor: Contract<RecordAnchorTxPayload> = {
  parse: (payload) =>
    // The several-anchor form is told by its one member, so that a single anchor's errors still
    // name its own fields.
    typeof payload === 'object' && payload !== null && 'anchors' in payload
      ? parsePayload(recordAnchorsSchema, payload)
      : parsePayload(recordAnchorSchema, payload),
  execute(ctx, payload) {
    const node = requireNode(ctx);
    if (!('anchors' in payload)) return anchorVersion(ctx, node.org, payload, '');
    payload.anchors.forEach((anchor, i) => anchorVersion(ctx, node.org, anchor, `anchors[${i}]`));
  },
};

/**
 * Anchors one version (the rules of `records.anchor`); `where` is the anchor's place in a
 * several-anchor payload (e.g. `anchors[2]`), named in the messages of refusals.
 */
function anchorVersion(ctx: ContractContext, org: string, payload: RecordAnchorPayload, where: string): void {
  requirePatient(ctx, payload.patient, where === '' ? 'payload.patient' : `payload.${where}.patient`);
  const at = (message: string): string => (where === '' ? message : `payload.${where}: ${message}`);
  const previous = ctx.get<RecordEntry>(StateKey.record(payload.recordId));
  if (previous !== undefined) {
    if (previous.status === 'erased')
      throw new TxRejected(ResultCode.RECORD_ERASED, at(`record ${payload.recordId} is erased`));
    // The patient's replica in effect continues a record another custodian keeps (e.g. while
    // that custodian is down); the record's custodian stays the same.
    if (previous.custodian !== org && replicaInEffect(ctx, previous.patient, ctx.block.time) !== org) {
      throw new TxRejected(
        ResultCode.NOT_CUSTODIAN,
        at(`record ${payload.recordId} is kept by ${previous.custodian}, not ${org}`),
      );
    }
    if (previous.patient !== payload.patient || previous.resourceType !== payload.resourceType) {
      throw new TxRejected(
        ResultCode.RECORD_MISMATCH,
        at(`record ${payload.recordId} is a ${previous.resourceType} of patient ${previous.patient}`),
      );
    }
  }
  const expected = previous === undefined ? 1 : previous.versions + 1;
  if (payload.version !== expected) {
    throw new TxRejected(
      ResultCode.VERSION_CONFLICT,
      at(`record ${payload.recordId} expects version ${expected}, got ${payload.version}`),
    );
  }
  if (payload.author === payload.patient) {
    // The patient's own write: the node holds its keys only through a grant, so the grant must be
    // a live write grant, and the version must not be under a key a revoked party still holds.
    const current = currentEpoch(ctx, payload.patient);
    if (payload.epoch !== current) {
      throw new TxRejected(
        ResultCode.STALE_EPOCH,
        at(`record ${payload.recordId} is under epoch ${payload.epoch}, the patient's current epoch is ${current}`),
      );
    }
  } else if (!isActivePractitionerOf(ctx, payload.author, org)) {
    throw new TxRejected(
      ResultCode.NOT_PRACTITIONER,
      at(`author ${payload.author} is not an active practitioner of ${org}`),
    );
  }
  // Overwriting a version of another class moves it out of (or into) that class: a change needs
  // write access on both, so that no one downgrades a sensitive record by overwriting it.
  const classes = previous === undefined || previous.class === payload.class ? [payload.class] : [previous.class, payload.class];
  for (const sensitivityClass of classes) {
    const access = findCoveringGrant(ctx, payload.patient, org, payload.resourceType, sensitivityClass, 'write', ctx.block.time);
    if (access.code !== ResultCode.OK) {
      throw new TxRejected(
        access.code,
        at(`organization ${org} may not write ${sensitivityClass} ${payload.resourceType} records of ${payload.patient}`),
      );
    }
  }
  const record: ActiveRecord = {
    id: payload.recordId,
    patient: payload.patient,
    resourceType: payload.resourceType,
    class: payload.class,
    custodian: previous?.custodian ?? org,
    latest: {
      version: payload.version,
      contentHash: payload.contentHash,
      author: payload.author,
      epoch: payload.epoch,
      anchoredAt: ctx.block.time,
      txId: ctx.txId,
      ...(previous === undefined || previous.custodian === org ? {} : { writer: org }),
    },
    versions: payload.version,
    status: 'active',
  };
  ctx.put(StateKey.record(record.id), record);
  if (previous === undefined) ctx.put(StateKey.patientRecord(record.patient, record.id), record.id);
}

export const recordErase: Contract<RecordErasePayload> = {
  parse: (payload) => parsePayload(recordEraseSchema, payload),
  execute(ctx, payload) {
    const record = ctx.get<RecordEntry>(StateKey.record(payload.recordId));
    if (record === undefined)
      throw new TxRejected(ResultCode.RECORD_NOT_FOUND, `record ${payload.recordId} does not exist`);
    if (record.status === 'erased')
      throw new TxRejected(ResultCode.RECORD_ERASED, `record ${payload.recordId} is already erased`);
    const signer = ctx.signerParty;
    const isPatient = ctx.signer === record.patient;
    // A node of a suspended or expelled custodian no longer acts for it.
    const isCustodianNode =
      signer?.kind === 'node' &&
      signer.status === 'active' &&
      signer.org === record.custodian &&
      isMemberOrg(ctx, signer.org);
    if (!isPatient && !isCustodianNode) {
      throw new TxRejected(
        ResultCode.NOT_AUTHORIZED,
        `signer ${ctx.signer} may not erase record ${payload.recordId}`,
      );
    }
    const erased: ErasedRecord = {
      id: record.id,
      patient: record.patient,
      custodian: record.custodian,
      latest: {
        version: record.latest.version,
        contentHash: record.latest.contentHash,
        anchoredAt: record.latest.anchoredAt,
        txId: record.latest.txId,
      },
      versions: record.versions,
      status: 'erased',
      erasedAt: ctx.block.time,
    };
    ctx.put(StateKey.record(record.id), erased);
  },
};
