/**
 * What the node hands its callers: submit results, committed entries, its
 * head, proofs, snapshots and statistics (docs/node-interface.md).
 */
import type { ApplyOutcome, InclusionProof, StoredEntry } from '@vex/engine';

export interface SubmitResult {
  /** Rejected outcomes are never logged. */
  readonly outcome: ApplyOutcome;
  /** Set when accepted; the entry is synced to disk when submit() resolves. */
  readonly sequence: number | undefined;
  readonly logTimeMs: number;
}

/** An entry as it became durable, with what applying it did. */
export interface CommittedEntry extends StoredEntry {
  readonly outcome: Extract<ApplyOutcome, { accepted: true }>;
}

export interface NodeHead {
  /** The last durable entry; 0 for an empty log. */
  readonly sequence: number;
  /** Its entry hash in hex; the genesis hash for an empty log. */
  readonly entryHash: string;
  /** Its log time; 0 for an empty log. */
  readonly logTimeMs: number;
}

/** The answer to proof(): the inclusion proof, or why there is none. */
export type ProofAnswer =
  | { readonly found: true; readonly proof: InclusionProof }
  | {
      readonly found: false;
      /**
       * no-attestations: none made (yet, or ever); too-old: the attestation
       * at `sequence` is older than the oldest whose proofs the node still
       * holds (the message gives the range held); not-attested: no
       * attestation follows entry `sequence`; unknown-account: no leaf.
       */
      readonly reason: 'no-attestations' | 'too-old' | 'not-attested' | 'unknown-account';
      readonly message: string;
    };

/** The latest snapshot record as stored (docs/log-format.md, "Snapshots"). */
export interface StoredSnapshot {
  readonly sequence: number;
  readonly record: Uint8Array;
}

export interface NodeStatistics {
  /** Entries accepted and sequenced (durable or about to be). */
  readonly sequencedEntries: number;
  readonly durableSequence: number;
  readonly rejectedTransactions: number;
  readonly batchesWritten: number;
  readonly entriesWritten: number;
  /** Time spent in the sequencer (log time, apply, encoding, history, snapshots), in ms. */
  readonly sequencingMs: number;
  /** Accepted entries waiting for a batch write, and entries in the batch being written. */
  readonly queuedEntries: number;
  readonly writingEntries: number;
  /** Transactions submitted and not yet answered, now and at most so far (never above maximumPendingTransactions). */
  readonly pendingTransactions: number;
  readonly peakPendingTransactions: number;
  /** submit() calls refused with LedgerOverloadedError. */
  readonly overloadedTransactions: number;
  /** Times a batch write failed for want of file descriptors and was retried instead of halting. */
  readonly storageBusyEpisodes: number;
  /** Transactions whose signature is being checked now. */
  readonly verifyingTransactions: number;
  /** Signature worker threads (0 when inline), their busy ratio since start (0 to 1), and tasks queued for them. */
  readonly signatureThreads: number;
  readonly signatureUtilization: number;
  readonly signatureQueuedTasks: number;
}

/** One group-commit batch made durable: what subscribeCommits listeners hear. */
export interface CommittedBatch {
  /** Entries in the batch (an idle head's attestation is an item without one). */
  readonly entries: number;
  readonly items: number;
  /** From the start of the batch's write to its durability, in ms (the wall clock's performance.now). */
  readonly durationMs: number;
  /** The durable head after it. */
  readonly sequence: number;
}

/** Lowercase hex of `bytes`: the engine's one hex function. */
export { bytesToLowerHex as hex } from '@vex/engine';
