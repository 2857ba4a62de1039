/**
 * The node's options, their defaults and their checks (docs/node-interface.md).
 */
import { accountIdOf, publicKeyFromSeed, type Genesis } from '@vex/engine';
import type { Logger } from 'pino';
import type { AttestationObserver } from './attestation-maker.js';
import type { LedgerDatabase } from './database.js';
import type { LedgerLogWriter, LevelLogStore } from './level-log-store.js';

export interface NodeOptions {
  /** LevelDB lives in <dataDirectory>/ledger. */
  readonly dataDirectory: string;
  readonly genesis: Genesis;
  /** A snapshot is written with every entry whose sequence is a multiple of this. Default 10,000. */
  readonly snapshotEveryEntries?: number;
  /** The group-commit batch cap (entries per synced write), and the torn-tail limit. Default 2,048. */
  readonly maximumBatchEntries?: number;
  /** Signature worker threads. Default os.availableParallelism() − 1, at least 1 (signature-pool.ts). */
  readonly verifierThreads?: number;
  /**
   * Signatures gathered in one turn of the event loop that are verified on
   * the sequencing thread rather than handed to a worker, at most (0: always
   * the workers). Default 2 (signature-pool.ts, defaultInlineVerificationMaximum).
   */
  readonly inlineVerificationMaximum?: number;
  /**
   * Transactions in flight at most: submitted and not yet answered (being
   * verified, waiting for the sequencer, or sequenced and waiting for their
   * synced batch). A submit() beyond it rejects at once with
   * LedgerOverloadedError, logging nothing. Default 4,096.
   */
  readonly maximumPendingTransactions?: number;
  /** Wall clock in ms, default Date.now; log time = max(previous log time, floor(clock())). */
  readonly clock?: () => number;
  readonly logger?: Logger;
  /**
   * An already constructed database to use instead of LevelDB at
   * <dataDirectory>/ledger: the simulator's disk (packages/ledger/sim). The
   * node opens it if it is not open and closes it on close(); dataDirectory
   * then only names it in messages.
   */
  readonly database?: LedgerDatabase;
  /**
   * Check signatures on the calling thread instead of in worker threads, so
   * that nothing depends on when workers reply (the simulator). Default false.
   */
  readonly verifySignaturesInline?: boolean;
  /**
   * Encode snapshots on the sequencer thread, in their entries' own batches,
   * instead of in the snapshot worker (snapshot-taker.ts), which follows the
   * durable entries with its own copy of the state and hands each snapshot
   * back to be written after its entry. Default: verifySignaturesInline (the
   * simulator, where nothing may depend on when a worker replies).
   */
  readonly snapshotsOnSequencer?: boolean;
  /**
   * How long durable entries are gathered before they are sent to the snapshot worker in one message (ms; default
   * 50; 0: one message per group-commit batch; snapshot-taker.ts).
   */
  readonly snapshotFollowIntervalMs?: number;
  /**
   * Nice steps below the node's own priority at which the snapshot worker thread runs, 0 to 39 (Linux; elsewhere
   * ignored). Default 10 (snapshot-taker.ts, defaultSnapshotWorkerNiceness); 0: the node's priority.
   */
  readonly snapshotWorkerNiceness?: number;
  /** When deferred work runs. Default: the event loop (setImmediate, setTimeout); the simulator drives its own. */
  readonly scheduler?: NodeScheduler;
  /**
   * The 32-byte Ed25519 seed of a genesis operator key, which signs the
   * node's attestations (docs/attestation.md). Without it the node makes no
   * attestations and serves no proofs.
   */
  readonly attestationSigningSeed?: Uint8Array;
  /** An attestation follows the entry that is this many entries after the last attestation. Default 10,000. */
  readonly attestEveryEntries?: number;
  /** Told of every attestation as it is made (attestation-maker.ts, AttestationObserver): the custody committer. */
  readonly onAttestationMade?: AttestationObserver;
  /**
   * …or whose log time is this far past the last attestation's; when no entry
   * comes, a timer attests the head once the clock is this far past it.
   * Default 1,000 ms.
   */
  readonly attestEveryMs?: number;
  /**
   * The memory the liabilities tree may spend on undo logs, so that proofs
   * are given under recent older attestations too, not only the latest
   * (docs/attestation.md, "Inclusion proofs"); the oldest are dropped beyond
   * it. Default 64 MiB; 0 serves the latest attestation's proofs only.
   */
  readonly proofHistoryBytes?: number;
  /**
   * How long a batch write that fails for want of file descriptors ("Too many
   * open files") is retried, while new transactions are refused with
   * LedgerStorageBusyError, before the node halts. Default 60,000 ms.
   */
  readonly storageRetryLimitMs?: number;
  /**
   * Cluster mode (docs/cluster.md): makes the writer the group commit writes
   * through from the local LevelDB log store, e.g. one that appends each
   * batch's entries to the replicated log before writing them locally.
   * Default: the local store itself (a synced LevelDB batch).
   */
  readonly logWriter?: (localStore: LevelLogStore) => LedgerLogWriter;
  /**
   * A read replica (docs/cluster.md, "Read replicas"): the node applies
   * entries read from the log (applyFromLog) instead of taking transactions
   * (submit() rejects with LedgerReadOnlyError), and attests only where the
   * log records an attestation, never on opening or closing. Default false.
   */
  readonly readReplica?: boolean;
}

export interface NodeScheduler {
  /** Runs `callback` after the current turn of the event loop (the group commit's gathering wait). */
  runSoon(callback: () => void): void;
  /** Runs `callback` after `delayMs` ms; the returned function cancels it. */
  runAfter(delayMs: number, callback: () => void): () => void;
}

export const eventLoopScheduler: NodeScheduler = {
  runSoon: (callback) => {
    setImmediate(callback);
  },
  runAfter: (delayMs, callback) => {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

export const defaultSnapshotEveryEntries = 10_000;
export const defaultAttestEveryEntries = 10_000;
export const defaultAttestEveryMs = 1_000;
export const maximumTimerDelayMs = 2 ** 31 - 1;
export const defaultMaximumBatchEntries = 2_048;
export const defaultStorageRetryLimitMs = 60_000;
/** The first retry of a batch write refused for want of descriptors, doubling up to the most. */
export const storageRetryFirstDelayMs = 20;
export const storageRetryMaximumDelayMs = 1_000;
/**
 * Two full group-commit batches, one being written and one gathering: more in
 * flight cannot make the commit pipeline faster, only the wait longer. At the
 * end-to-end rate measured on the 2-core reference machine (docs/benchmarks.md,
 * about 6,600 orders/s; 2,000 to 3,000/s when it is shared) a full bound is
 * 0.6 to 2 s of queue, well inside the default 5 s signature window (a
 * transaction still waiting past its window would be refused as
 * INVALID_TIMESTAMP when it reaches the sequencer, having waited for nothing)
 * and the 30 s request timeout; its memory is a few tens of MB (see
 * packages/api/test/overload.test.ts for the measured RSS).
 */
export const defaultMaximumPendingTransactions = 4_096;
/** An overload episode is over when a transaction is admitted this long after the last refusal. */
export const overloadQuietMs = 1_000;
/** Snapshots kept on disk; older ones are deleted as new ones are written. */
export const snapshotsKept = 2;
/** Export output is written in pieces of about this size. */
export const exportChunkBytes = 1 << 16;

export function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Checks the attestation signing seed before anything touches the disk; returns its base64 public key. */
export function checkAttestationSigningSeed(seed: Uint8Array, genesis: Genesis): string {
  if (!(seed instanceof Uint8Array) || seed.length !== 32)
    throw new RangeError('attestationSigningSeed must be a 32-byte Ed25519 seed');
  const operatorKey = accountIdOf(publicKeyFromSeed(seed));
  if (!genesis.operatorKeys.includes(operatorKey)) {
    throw new RangeError(
      `attestationSigningSeed belongs to ${operatorKey}, which is not a genesis operator key, ` +
        'so no verifier would accept its attestations',
    );
  }
  return operatorKey;
}
