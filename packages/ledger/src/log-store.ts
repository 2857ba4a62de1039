/**
 * The log-store seam: what the sequencer and the replicas need of "the log",
 * whether it lives in the node's own LevelDB (single-node mode, today) or is
 * replicated by etcd (cluster mode). docs/cluster.md, "The LogStore
 * interface", says how each implementation maps onto it.
 *
 * A store holds entries exactly as encoded (docs/log-format.md, "Entry
 * encoding"), numbered 1, 2, 3, … and hash-chained from the genesis hash. It
 * never interprets the signed transactions: replicas verify signatures and
 * re-apply entries with the engine; the store only guarantees durability,
 * order, contiguity and the hash chain.
 */

/** A point in the log: the last entry's sequence and entry hash (0 and the genesis hash for an empty log). */
export interface LogPosition {
  readonly sequence: number;
  readonly entryHash: Uint8Array;
}

/** One entry as the store hands it out: its encoding and the hash recomputed from it. */
export interface EncodedEntry {
  readonly sequence: number;
  /** The entry encoding, exactly the stored bytes. */
  readonly encoding: Uint8Array;
  readonly entryHash: Uint8Array;
}

/**
 * The single writer of a log. Obtaining one is how a sequencer becomes the
 * sequencer (for etcd: winning the election); once it has been deposed it
 * refuses every append, forever.
 */
export interface LogAppender {
  /** The last durable entry as this appender knows it (it is the only writer, so this is the log's head). */
  durableHead(): LogPosition;
  /**
   * Appends entries that continue the log: the first must be entry
   * head + 1 (counting entries already queued by earlier calls) and chain to
   * it. Resolves with the new head once every entry is durable (quorum-durable
   * for etcd); rejects with LogAppenderDeposedError if the appender lost its
   * right to write before that, or LogAppendOutcomeUnknownError if it could
   * not find out whether its last write landed; after either, nothing more
   * is ever appended through this appender. Entries that do not continue
   * the log are refused with LogContinuityError and change nothing.
   */
  append(encodings: readonly Uint8Array[]): Promise<LogPosition>;
  /** Stops appending and gives the right to write up (for etcd: revokes the lease), after pending appends settle. */
  close(): Promise<void>;
}

/** Reading the log; any number of readers, on any machine. */
export interface LogReader {
  /** The last durable entry (a linearizable read for etcd). */
  head(): Promise<LogPosition>;
  /**
   * The entries from `fromSequence` through `toSequence` (default: the head
   * at the call), in order, in batches, each checked: contiguous, chained,
   * and (for entry `fromSequence`) chained to `anchor` when it is given.
   * Throws LogOutsideWindowError when part of the range is no longer held
   * (etcd keeps a rolling window only).
   */
  read(fromSequence: number, toSequence?: number, anchor?: LogPosition): AsyncIterable<EncodedEntry[]>;
  /**
   * Every entry after `after`, as it becomes durable, forever (until `signal`
   * aborts): checked batches, contiguous and chained to `after`.
   */
  follow(after: LogPosition, options?: { readonly signal?: AbortSignal }): AsyncIterable<EncodedEntry[]>;
}

/** The appender may not write any more: its lease expired or was revoked, or another sequencer holds the log. */
export class LogAppenderDeposedError extends Error {
  constructor(detail: string) {
    super(`This sequencer may no longer append to the log: ${detail}`);
    this.name = 'LogAppenderDeposedError';
  }
}

/** A write failed and the store could not tell, within the deadline, whether it landed; the appender stops. */
export class LogAppendOutcomeUnknownError extends Error {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`Whether the last log write landed is unknown: ${detail}`, options);
    this.name = 'LogAppendOutcomeUnknownError';
  }
}

/** The requested entries are before the store's window (they were trimmed after every replica had them). */
export class LogOutsideWindowError extends Error {
  constructor(
    readonly requestedSequence: number,
    readonly firstHeldSequence: number | undefined,
  ) {
    super(
      `Entry ${requestedSequence} is no longer in the replicated log's window` +
        (firstHeldSequence === undefined ? '' : ` (it starts at entry ${firstHeldSequence})`) +
        "; catch up from another replica's export.",
    );
    this.name = 'LogOutsideWindowError';
  }
}

/** What a continuity check found wrong. */
export type LogContinuityProblem = 'malformed' | 'gap' | 'overlap' | 'chain';

/** Entries that are malformed, not contiguous or not chained: in the store itself this is corruption. */
export class LogContinuityError extends Error {
  constructor(
    readonly problem: LogContinuityProblem,
    readonly sequence: number,
    detail: string,
  ) {
    super(`The log is broken at entry ${sequence} (${problem}): ${detail}`);
    this.name = 'LogContinuityError';
  }
}
