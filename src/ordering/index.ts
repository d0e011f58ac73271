export {
  type Orderer,
  type BlockCut,
  type CutHandler,
  type BlockLimits,
  DEFAULT_BLOCK_LIMITS,
  DEFAULT_BLOCK_MAX_TXS,
  DEFAULT_BLOCK_MAX_BYTES,
  DEFAULT_BLOCK_TIMEOUT_MS,
} from './orderer.js';
export { BlockCutter, type Batch, type PendingItem } from './block-cutter.js';
export { LocalOrderer, type LocalOrdererOptions, type OrdererLog } from './local-orderer.js';
export { JetStreamOrderer, streamNameOf, type JetStreamOrdererOptions } from './jetstream-orderer.js';
export { OrderingError, OrderingErrorCode } from './errors.js';
