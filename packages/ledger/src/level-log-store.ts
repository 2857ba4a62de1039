/**
 * The log in the node's own LevelDB: the single-node implementation of the
 * log-store seam (log-store.ts; docs/cluster.md, "The LogStore interface").
 *
 * Entries live under `0x01 ‖ u64 sequence` (docs/log-format.md). The node
 * writes through commit(): each item's entry and the records derived from it
 * (history, snapshot, attestation) in ONE synced LevelDB batch, so a record
 * never exists without its entry. append() is the plain LogAppender form,
 * entries only, checked to continue the log. A single node is always the
 * writer, so the appender is never deposed; a failed write is reported to
 * the caller, which halts (docs/log-format.md, "Halting").
 */
import { LogFormatError, decodeEntry, hashEntryEncoding, type StoredEntry } from '@vex/engine';
import { writeBatch, type BatchOperation, type LedgerDatabase } from './database.js';
import {
  LogContinuityError,
  type EncodedEntry,
  type LogAppender,
  type LogPosition,
  type LogReader,
} from './log-store.js';
import { entryKey, sequenceOfKey } from './storage-format.js';

/** One item of a group-commit batch: an entry (or none) and the records that go with it. */
export interface LogCommitItem {
  /** The entry this item appends; undefined for records alone (an idle head's attestation). */
  readonly entry: { readonly sequence: number; readonly encoding: Uint8Array } | undefined;
  /** Derived records, written in the same atomic batch after the entry. */
  readonly records: readonly BatchOperation[];
}

/** What the group commit writes through: the local store, or (cluster mode) a replicated log in front of it. */
export interface LedgerLogWriter {
  /** Makes every item durable, in order; rejects if nothing can be said about it (the node then halts). */
  commit(items: readonly LogCommitItem[]): Promise<void>;
  /**
   * Why new transactions should be refused unseen right now (the replicated log cannot make anything durable
   * at the moment, e.g. etcd has no quorum), or undefined. The node answers LedgerStorageBusyError (503).
   */
  unavailable?(): string | undefined;
}

/** A stored entry with its encoding, decoded and checked against the one before. */
export interface CheckedStoredEntry {
  readonly raw: Uint8Array;
  readonly entry: StoredEntry;
}

const readBatchEntries = 256;

export class LevelLogStore implements LedgerLogWriter, LogAppender, LogReader {
  private durable: LogPosition;
  private commitWaiters: Array<() => void> = [];

  constructor(
    private readonly db: LedgerDatabase,
    head: LogPosition,
  ) {
    this.durable = head;
  }

  durableHead(): LogPosition {
    return this.durable;
  }

  head(): Promise<LogPosition> {
    return Promise.resolve(this.durable);
  }

  async commit(items: readonly LogCommitItem[]): Promise<void> {
    let last: LogCommitItem['entry'];
    // Each entry's put as a list of its own, then its records as they are: a batch entry has 70 to 90 records, and
    // copying them into one list per entry was garbage on the sequencing thread.
    const lists: Array<readonly BatchOperation[]> = [];
    for (const item of items) {
      if (item.entry !== undefined) {
        last = item.entry;
        lists.push([{ type: 'put', key: entryKey(item.entry.sequence), value: item.entry.encoding }]);
      }
      lists.push(item.records);
    }
    await writeBatch(this.db, lists, { sync: true });
    if (last !== undefined) this.advance({ sequence: last.sequence, entryHash: hashEntryEncoding(last.encoding) });
  }

  async append(encodings: readonly Uint8Array[]): Promise<LogPosition> {
    let position = this.durable;
    for (const encoding of encodings) position = checkContinues(position, encoding);
    const sequence = this.durable.sequence;
    await this.commit(
      encodings.map((encoding, index) => ({ entry: { sequence: sequence + index + 1, encoding }, records: [] })),
    );
    return this.durable;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private advance(head: LogPosition): void {
    this.durable = head;
    const waiters = this.commitWaiters;
    this.commitWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /**
   * The stored entries from `fromSequence` to `toSequence` (capped at the
   * durable head), decoded and checked: present, numbered and chained.
   */
  async *entries(fromSequence: number, toSequence?: number): AsyncGenerator<CheckedStoredEntry, void, undefined> {
    checkRange(fromSequence, toSequence);
    const last = Math.min(toSequence ?? this.durable.sequence, this.durable.sequence);
    if (fromSequence > last) return;
    let expected = fromSequence;
    let previousHash: Uint8Array | undefined;
    for await (const [key, raw] of this.db.iterator({ gte: entryKey(fromSequence), lte: entryKey(last) })) {
      if (sequenceOfKey(key) !== expected) throw new LogFormatError(`entry ${expected} is missing from the ledger`);
      const entry = decodeStored(raw, expected);
      if (previousHash !== undefined && !Buffer.from(entry.previousHash).equals(previousHash)) {
        throw new LogFormatError(`entry ${expected} does not chain to entry ${expected - 1}`);
      }
      previousHash = hashEntryEncoding(raw);
      yield { raw, entry: { ...entry, entryHash: previousHash } };
      expected += 1;
    }
    if (expected !== last + 1) throw new LogFormatError(`entry ${expected} is missing from the ledger`);
  }

  /** The hash of stored entry `sequence`, read from the disk. */
  async entryHashAt(sequence: number): Promise<Uint8Array> {
    const stored = await this.db.get(entryKey(sequence));
    if (stored === undefined) throw new LogFormatError(`entry ${sequence} is missing from the ledger`);
    return hashEntryEncoding(stored);
  }

  async *read(
    fromSequence: number,
    toSequence?: number,
    anchor?: LogPosition,
  ): AsyncGenerator<EncodedEntry[], void, undefined> {
    let batch: EncodedEntry[] = [];
    for await (const { raw, entry } of this.entries(fromSequence, toSequence)) {
      if (
        anchor !== undefined &&
        entry.sequence === fromSequence &&
        !Buffer.from(entry.previousHash).equals(anchor.entryHash)
      ) {
        throw new LogContinuityError(
          'chain',
          fromSequence,
          `it does not chain to the anchor at entry ${anchor.sequence}`,
        );
      }
      batch.push({ sequence: entry.sequence, encoding: raw, entryHash: entry.entryHash });
      if (batch.length >= readBatchEntries) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async *follow(
    after: LogPosition,
    options: { readonly signal?: AbortSignal } = {},
  ): AsyncGenerator<EncodedEntry[], void, undefined> {
    let position = after;
    const signal = options.signal;
    while (signal?.aborted !== true) {
      if (this.durable.sequence <= position.sequence) {
        await this.nextCommit(signal);
        continue;
      }
      for await (const batch of this.read(position.sequence + 1, this.durable.sequence, position)) {
        yield batch;
        position = batch[batch.length - 1]!;
      }
    }
  }

  private nextCommit(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      this.commitWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

function checkRange(fromSequence: number, toSequence: number | undefined): void {
  if (!Number.isSafeInteger(fromSequence) || fromSequence < 1) {
    throw new RangeError(`fromSequence must be a positive integer, got ${fromSequence}`);
  }
  if (toSequence !== undefined && !Number.isSafeInteger(toSequence)) {
    throw new RangeError(`toSequence must be an integer, got ${toSequence}`);
  }
}

function decodeStored(raw: Uint8Array, expected: number): ReturnType<typeof decodeEntry> {
  let entry;
  try {
    entry = decodeEntry(raw);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LogFormatError(`entry ${expected} cannot be decoded: ${reason}`, { cause: error });
  }
  if (entry.sequence !== expected) throw new LogFormatError(`entry ${expected} says it is entry ${entry.sequence}`);
  return entry;
}

/** The position after `encoding`, which must continue `position`; LogContinuityError otherwise. */
function checkContinues(position: LogPosition, encoding: Uint8Array): LogPosition {
  const expected = position.sequence + 1;
  let entry;
  try {
    entry = decodeEntry(encoding);
  } catch (error) {
    throw new LogContinuityError('malformed', expected, error instanceof Error ? error.message : String(error));
  }
  if (entry.sequence !== expected) {
    throw new LogContinuityError(
      entry.sequence > expected ? 'gap' : 'overlap',
      expected,
      `it says it is entry ${entry.sequence}`,
    );
  }
  if (!Buffer.from(entry.previousHash).equals(position.entryHash)) {
    throw new LogContinuityError('chain', expected, `it does not chain to entry ${position.sequence}`);
  }
  return { sequence: expected, entryHash: hashEntryEncoding(encoding) };
}
