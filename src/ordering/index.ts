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
export { JetStreamOrderer, type JetStreamOrdererOptions } from './jetstream-orderer.js';
export { createOrderingStream, orderingStreamExists, orderingSubjects, streamNameOf, DUPLICATE_WINDOW_MS, type OrderingSubjects } from './ordering-stream.js';
export { connectToNats, natsConnectionOptions, natsInboxPrefix, type NatsClientCredentials, type NatsConnectOptions } from './nats-connection.js';
export { nextBlockTime, MAX_BLOCK_TIME_STEP_MS, BLOCK_CLOCK_WARNING_MS } from './block-time.js';
export { OrderingError, OrderingErrorCode } from './errors.js';
