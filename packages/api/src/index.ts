export {
  buildServer,
  defaultRateLimits,
  defaultBodyLimitBytes,
  errorAnswer,
  type BuildServerOptions,
  type RateLimits,
  type RateLimit,
} from './server.js';
export type { AssetInfo } from './context.js';
export type {
  ExchangeNodePort,
  CommittedEntry,
  SubmitResult,
  HistoryIndex,
  FillRecord,
  PublicTrade,
  Page,
} from './node-port.js';
export { ApiError, httpStatusFor } from './errors.js';
export { freePortBelowEphemeralRange } from './free-port.js';
export { wireResult } from './routes-native.js';
export {
  demoConfig,
  parseConfig,
  genesisOf,
  assetInfoOf,
  ConfigError,
  type ExchangeConfig,
  type AssetConfig,
  type MarketConfig,
} from './config.js';
export { applyListings, BootstrapError } from './bootstrap.js';
export {
  loadOrCreateOperatorKey,
  readOperatorKey,
  operatorKeyFromSeed,
  operatorKeyFileName,
  type OperatorKey,
} from './operator-key.js';
export { NodeMetrics, singleNodeStatus, type ClusterStatus } from './metrics.js';
export type { ReadOnlyMode, WriteRefusal } from './read-only.js';
export { parseCustodySettings, custodyInfoOf, type CustodySettings, type CustodyInfo } from './custody-config.js';
