export { ExchangeNode, type CommittedEntry, type NodeHead, type NodeOptions, type NodeStatistics, type SubmitResult } from './exchange-node.js';
export { RecoveryError, LedgerHaltedError, LedgerClosedError, type RecoveryProblem } from './errors.js';
export {
  LevelHistoryIndex,
  defaultPageLimit,
  maximumPageLimit,
  type FillRecord,
  type HistoryIndex,
  type Page,
  type PublicTrade,
} from './history.js';
export {
  keyspaces,
  entryKey,
  snapshotKey,
  genesisMetaKey,
  formatMetaKey,
  storageFormatVersion,
  encodeSnapshot,
  decodeSnapshot,
  type SnapshotRecord,
} from './storage-format.js';
export { SignaturePool } from './signature-pool.js';
export type { LedgerDatabase, BatchOperation } from './database.js';
