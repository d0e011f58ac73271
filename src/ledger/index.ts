export { ResultCode, RESULT_CODES, consumesNonce } from './codes.js';
export {
  TX_VERSION,
  TxType,
  TX_TYPES,
  PRACTITIONER_ROLES,
  SENSITIVITY_CLASSES,
  ORG_STATUSES,
  DEFAULT_MAX_NODES_PER_ORG,
  type Tx,
  type SignedTx,
  type TxResult,
  type PartyKind,
  type PractitionerRole,
  type SensitivityClass,
  type PartyStatus,
  type PartyRecord,
  type OrgRecord,
  type OrgStatus,
  type GrantScope,
  type GrantAccess,
  type GrantRecord,
  type BlockInfo,
  type GenesisDocument,
  type GenesisFounder,
} from './types.js';
export {
  TxRejected,
  type ContractContext,
  type ContractHandler,
  type ContractRegistry,
  type ContractSuite,
  type GenesisContext,
  type NetworkParams,
} from './contract.js';
export { StateKey } from './keys.js';
export { createTx, signTx, txIdOf, parseSignedTx, parseSignedTxJson, type ParsedTx, type ParseTxResult } from './tx.js';
export {
  BLOCK_VERSION,
  ZERO_HASH,
  blockHash,
  envelopeLeafHash,
  txRootOf,
  resultsRootOf,
  writeSetHash,
  chainStateRoot,
  type BlockHeader,
  type WriteSet,
} from './block.js';
export {
  executeBlock,
  executeGenesis,
  genesisHash,
  paramsOf,
  type ExecutionEnv,
  type ExecutedBlock,
  type ExecutedTx,
  type PreviousBlock,
  type ReplayIndex,
  type VerifiedSignatures,
} from './executor.js';
export { BlockStateView, type StateSource } from './state-view.js';
export {
  Ledger,
  type LedgerOptions,
  type CommittedBlock,
  type EnqueuedBlock,
  type CommittedBlockTx,
  type CommittedTx,
  type AdmissionRejection,
} from './ledger.js';
export { verifyChain, type VerifyReport, type VerifyOptions } from './verify.js';
export { buildTxInclusionProof, verifyTxInclusion, type TxInclusionProof } from './proof.js';
export { LedgerError, LedgerErrorCode } from './errors.js';
export { threadPoolVerifier, type SignatureVerifier, type VerifyItem } from './verifier.js';
export { WorkerVerifierPool } from './verifier-pool.js';
