export {
  ExchangeNode,
  type CommittedBatch,
  type CommittedEntry,
  type NodeHead,
  type NodeOptions,
  type NodeScheduler,
  type NodeStatistics,
  type ProofAnswer,
  type StoredSnapshot,
  type SubmitResult,
} from './exchange-node.js';
export {
  AttestationMaker,
  attestationOperation,
  type AttestationCadence,
  type AttestationObserver,
  type MadeAttestation,
} from './attestation-maker.js';
export {
  readStoredAttestation,
  readLatestStoredAttestation,
  readStoredAttestations,
  type StoredAttestation,
} from './attestation-store.js';
export {
  RecoveryError,
  LedgerHaltedError,
  LedgerClosedError,
  LedgerOverloadedError,
  LedgerStorageBusyError,
  isDescriptorExhaustion,
  type RecoveryProblem,
} from './errors.js';
export {
  LevelHistoryIndex,
  defaultPageLimit,
  maximumPageLimit,
  type FillRecord,
  type HistoryIndex,
  type Page,
  type PublicTrade,
  type TradeRange,
} from './history.js';
export type {
  BorrowLendQuery,
  BorrowLendRecord,
  InterestRecord,
  LendingPositionQuery,
  LendingPositionRecord,
  LendingQuery,
  LendingSource,
} from './history-margin.js';
export type {
  FundingIntervalQuery,
  FundingIntervalRecord,
  MarkPriceRange,
  MarkPriceRecord,
} from './history-perps.js';
export type {
  PerpClosedPositionRecord,
  PerpFundingPaymentRecord,
  PerpSettlementRecord,
} from './history-perp-accounts.js';
export {
  keyspaces,
  entryKey,
  snapshotKey,
  attestationKey,
  genesisMetaKey,
  formatMetaKey,
  storageFormatVersion,
  encodeSnapshot,
  decodeSnapshot,
  type SnapshotRecord,
} from './storage-format.js';
export { SignaturePool } from './signature-pool.js';
export { createDatabase, type LedgerDatabase, type BatchOperation } from './database.js';
export * from './log-store.js';
export { LevelLogStore, type LedgerLogWriter, type LogCommitItem, type CheckedStoredEntry } from './level-log-store.js';
export { LedgerReadOnlyError } from './replica-apply.js';
