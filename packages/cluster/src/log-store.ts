/**
 * The log-store seam lives in the ledger (packages/ledger/src/log-store.ts),
 * which holds its first implementation, the node's own LevelDB log; the etcd
 * log here is the second. Re-exported so the cluster's modules and users keep
 * one import path.
 */
export {
  LogAppenderDeposedError,
  LogAppendOutcomeUnknownError,
  LogContinuityError,
  LogOutsideWindowError,
  type EncodedEntry,
  type LogAppender,
  type LogContinuityProblem,
  type LogPosition,
  type LogReader,
} from '@vex/ledger';
