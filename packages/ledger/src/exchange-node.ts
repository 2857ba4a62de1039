/**
 * The sequencer node: the single writer of the log.
 *
 *   submit → signature check in the worker pool → sequencer (this thread):
 *   log time, engine apply, entry encoding, history records → group commit.
 *
 * The order of the log is the order in which verified transactions reach the
 * sequencer. Sequencing is synchronous, so nothing interleaves between apply
 * and the entry being queued. Accepted entries wait for a synced LevelDB
 * batch; while one batch write is in flight the next accumulates, so many
 * submits share one sync. A failed write halts the node: the in-memory state
 * is then ahead of the disk, so nothing more is acknowledged.
 *
 * The contract with the API is docs/node-interface.md; the formats are in
 * docs/log-format.md.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  apply,
  checkInvariants,
  encodeState,
  reject,
  validateGenesis,
  type ApplyOutcome,
  type ExchangeState,
  type Genesis,
  type SignatureVerdict,
  type SignedTransaction,
} from '@vex/engine';
import { pino, type Logger } from 'pino';
import { createDatabase, writeBatch, type BatchOperation, type LedgerDatabase } from './database.js';
import { LedgerClosedError, LedgerHaltedError } from './errors.js';
import { LevelHistoryIndex, historyOperations, type HistoryIndex } from './history.js';
import {
  LogFormatError,
  canonicalGenesisBytes,
  decodeEntry,
  encodeAndHashEntry,
  encodeExportFrame,
  encodeExportHeader,
  encodeExportTrailer,
  hashEntryEncoding,
  type StoredEntry,
} from '@vex/engine';
import { recoverLedger } from './recovery.js';
import { SignaturePool } from './signature-pool.js';
import { encodeSnapshot, entryKey, sequenceOfKey, snapshotKey } from './storage-format.js';

export interface NodeOptions {
  /** LevelDB lives in <dataDirectory>/ledger. */
  readonly dataDirectory: string;
  readonly genesis: Genesis;
  /** A snapshot is written with every entry whose sequence is a multiple of this. Default 10,000. */
  readonly snapshotEveryEntries?: number;
  /** The group-commit batch cap (entries per synced write), and the torn-tail limit. Default 2,048. */
  readonly maximumBatchEntries?: number;
  /** Signature worker threads. Default os.availableParallelism(). */
  readonly verifierThreads?: number;
  /** Wall clock in ms, default Date.now; log time = max(previous log time, floor(clock())). */
  readonly clock?: () => number;
  readonly logger?: Logger;
}

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
}

interface QueuedEntry {
  readonly committed: CommittedEntry;
  readonly operations: BatchOperation[];
  readonly resolve: (result: SubmitResult) => void;
  readonly reject: (error: unknown) => void;
}

const defaultSnapshotEveryEntries = 10_000;
const defaultMaximumBatchEntries = 2_048;
/** Snapshots kept on disk; older ones are deleted as new ones are written. */
const snapshotsKept = 2;
/** Export output is written in pieces of about this size. */
const exportChunkBytes = 1 << 16;

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function copyTransaction(transaction: SignedTransaction): SignedTransaction {
  const { message, publicKey, signature } = transaction;
  if (!(message instanceof Uint8Array) || !(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new TypeError('a signed transaction is three Uint8Arrays: message, publicKey, signature');
  }
  // Copies: the log holds the bytes as they were when submitted, whatever the caller does later.
  return { message: new Uint8Array(message), publicKey: new Uint8Array(publicKey), signature: new Uint8Array(signature) };
}

/**
 * Waits until `destination` can take more data. A reader that goes away
 * mid-export (an HTTP client disconnecting) closes the stream instead of
 * draining it; waiting for `drain` alone would then hang forever and keep a
 * LevelDB iterator open, so a close or error ends the export with an error.
 */
async function waitForDrain(destination: NodeJS.WritableStream): Promise<void> {
  const emitter = destination as unknown as NodeJS.EventEmitter & { destroyed?: boolean };
  if (emitter.destroyed === true) throw new Error('the export destination closed before the export finished');
  const controller = new AbortController();
  const drained = once(emitter, 'drain', { signal: controller.signal });
  const closed = once(emitter, 'close', { signal: controller.signal }).then(() => {
    throw new Error('the export destination closed before the export finished');
  });
  // The loser of the race is aborted below; its rejection is expected.
  drained.catch(() => undefined);
  closed.catch(() => undefined);
  try {
    await Promise.race([drained, closed]);
  } finally {
    controller.abort();
  }
}

export class ExchangeNode {
  readonly history: HistoryIndex;
  private readonly listeners = new Set<(entry: CommittedEntry) => void>();
  private readonly snapshotEveryEntries: number;
  private readonly maximumBatchEntries: number;
  private readonly clock: () => number;

  /** The last sequenced entry (the state includes it); durable or queued. */
  private sequencedSequence: number;
  private sequencedHash: Uint8Array;
  /** The last durable entry. */
  private durable: NodeHead;

  private queue: QueuedEntry[] = [];
  private writing: QueuedEntry[] | undefined;
  private writeScheduled = false;
  private verifying = 0;
  private closing = false;
  private closed: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  private haltError: LedgerHaltedError | undefined;

  private rejectedTransactions = 0;
  private batchesWritten = 0;
  private entriesWritten = 0;
  private sequencingMs = 0;

  private constructor(
    private readonly db: LedgerDatabase,
    private readonly pool: SignaturePool,
    private readonly liveState: ExchangeState,
    private readonly genesisHash: Uint8Array,
    private readonly canonicalGenesis: Uint8Array,
    head: { sequence: number; entryHash: Uint8Array; logTimeMs: number },
    private readonly logger: Logger,
    options: NodeOptions,
  ) {
    this.history = new LevelHistoryIndex(db);
    this.snapshotEveryEntries = positiveInteger(options.snapshotEveryEntries, defaultSnapshotEveryEntries, 'snapshotEveryEntries');
    this.maximumBatchEntries = positiveInteger(options.maximumBatchEntries, defaultMaximumBatchEntries, 'maximumBatchEntries');
    this.clock = options.clock ?? Date.now;
    this.sequencedSequence = head.sequence;
    this.sequencedHash = head.entryHash;
    this.durable = { sequence: head.sequence, entryHash: hex(head.entryHash), logTimeMs: head.logTimeMs };
  }

  /** Recovers from <dataDirectory>/ledger, or starts a new log there. Throws RecoveryError on a damaged log. */
  static async open(options: NodeOptions): Promise<ExchangeNode> {
    // Before anything touches the disk: a new ledger must never store a genesis the engine refuses.
    validateGenesis(options.genesis);
    const logger = (options.logger ?? pino()).child({ component: 'ledger' });
    const maximumBatchEntries = positiveInteger(options.maximumBatchEntries, defaultMaximumBatchEntries, 'maximumBatchEntries');
    positiveInteger(options.snapshotEveryEntries, defaultSnapshotEveryEntries, 'snapshotEveryEntries');
    const canonicalGenesis = canonicalGenesisBytes(options.genesis);
    const location = join(options.dataDirectory, 'ledger');
    await mkdir(location, { recursive: true });
    const db = createDatabase(location);
    try {
      await db.open();
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      throw new Error(
        code === 'LEVEL_LOCKED'
          ? `The ledger at ${location} is in use by another process.`
          : `The ledger at ${location} cannot be opened: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    let pool: SignaturePool | undefined;
    try {
      pool = new SignaturePool(options.verifierThreads);
      const recovered = await recoverLedger({ db, pool, genesis: options.genesis, location, maximumBatchEntries, snapshotsKept, logger });
      const node = new ExchangeNode(db, pool, recovered.state, recovered.genesisHash, canonicalGenesis, recovered, logger, options);
      logger.info(
        {
          location,
          sequence: recovered.sequence,
          verifierThreads: pool.threads,
          snapshotEveryEntries: node.snapshotEveryEntries,
          maximumBatchEntries,
        },
        'ledger open',
      );
      return node;
    } catch (error) {
      await pool?.close().catch(() => undefined);
      await db.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * The engine state, read-only for callers. It includes entries that are
   * sequenced but not yet durable (at most the batch being written and the one
   * accumulating), exactly as a sequencer must.
   */
  get state(): ExchangeState {
    return this.liveState;
  }

  /** The last durable entry. */
  head(): NodeHead {
    return this.durable;
  }

  /** Set once the node has halted (see LedgerHaltedError). */
  get haltedBy(): LedgerHaltedError | undefined {
    return this.haltError;
  }

  /** Internal: the LevelDB handle, for tests and diagnostics. Do not write to it. */
  get database(): LedgerDatabase {
    return this.db;
  }

  statistics(): NodeStatistics {
    return {
      sequencedEntries: this.sequencedSequence,
      durableSequence: this.durable.sequence,
      rejectedTransactions: this.rejectedTransactions,
      batchesWritten: this.batchesWritten,
      entriesWritten: this.entriesWritten,
      sequencingMs: this.sequencingMs,
      queuedEntries: this.queue.length,
      writingEntries: this.writing?.length ?? 0,
    };
  }

  /**
   * Verifies, sequences and applies a signed transaction. Resolves with a
   * rejection at once (nothing is logged), or, when accepted, once the entry
   * is synced to disk. Rejects with LedgerHaltedError or LedgerClosedError if
   * the node cannot take it; after a halt the outcome of an accepted
   * transaction is unknown until the node is restarted.
   */
  submit(transaction: SignedTransaction): Promise<SubmitResult> {
    if (this.haltError !== undefined) return Promise.reject(this.haltError);
    if (this.closing) return Promise.reject(new LedgerClosedError('The ledger is closing and takes no more transactions.'));
    let copy: SignedTransaction;
    try {
      copy = copyTransaction(transaction);
    } catch (error) {
      return Promise.reject(error);
    }
    this.verifying += 1;
    return this.pool.verify(copy).then(
      (verdict) => {
        this.verifying -= 1;
        try {
          return this.sequence(copy, verdict);
        } finally {
          this.checkIdle();
        }
      },
      (error: unknown) => {
        this.verifying -= 1;
        this.checkIdle();
        throw error;
      },
    );
  }

  /** The sequencer: everything here is synchronous, so entries are applied in the order they arrive. */
  private sequence(transaction: SignedTransaction, verdict: SignatureVerdict): SubmitResult | Promise<SubmitResult> {
    if (this.haltError !== undefined) throw this.haltError;
    const started = performance.now();
    const state = this.liveState;
    const now = Math.floor(this.clock());
    if (!Number.isSafeInteger(now) || now < 0) throw new Error(`The clock returned ${now}, which is not a time in milliseconds.`);
    const logTimeMs = Math.max(state.logTimeMs, now);
    if (verdict !== 'valid') {
      this.rejectedTransactions += 1;
      const outcome: ApplyOutcome = {
        accepted: false,
        rejection: reject('INVALID_SIGNATURE', `The signature is not valid (${verdict}).`),
        results: [],
      };
      return { outcome, sequence: undefined, logTimeMs };
    }
    let outcome: ApplyOutcome;
    let operations: BatchOperation[];
    let committed: CommittedEntry;
    try {
      outcome = apply(state, { logTimeMs, transaction }, { signatureVerified: true });
      if (!outcome.accepted) {
        this.rejectedTransactions += 1;
        this.sequencingMs += performance.now() - started;
        return { outcome, sequence: undefined, logTimeMs };
      }
      const sequence = this.sequencedSequence + 1;
      const previousHash = this.sequencedHash;
      const { encoding, entryHash } = encodeAndHashEntry({ sequence, logTimeMs, previousHash, transaction });
      operations = [{ type: 'put', key: entryKey(sequence), value: encoding }];
      historyOperations(state, sequence, outcome.events, operations);
      if (sequence % this.snapshotEveryEntries === 0) this.snapshotOperations(sequence, entryHash, operations);
      this.sequencedSequence = sequence;
      this.sequencedHash = entryHash;
      committed = { sequence, logTimeMs, previousHash, entryHash, transaction, outcome };
    } catch (error) {
      // The engine or the encoding threw part-way: the state may be half-changed.
      this.halt('the sequencer failed while applying an entry', error);
      throw this.haltError;
    }
    this.sequencingMs += performance.now() - started;
    return new Promise<SubmitResult>((resolve, rejectSubmit) => {
      this.queue.push({ committed, operations, resolve, reject: rejectSubmit });
      this.scheduleWrite();
    });
  }

  /**
   * The snapshot goes in the same batch as its entry: it is the state right
   * after that entry (the sequencer builds it synchronously after applying
   * it), and the atomic batch means a snapshot never exists without its entry.
   */
  private snapshotOperations(sequence: number, entryHash: Uint8Array, operations: BatchOperation[]): void {
    checkInvariants(this.liveState);
    const stateEncoding = encodeState(this.liveState);
    const stateHash = hashSha256(stateEncoding);
    operations.push({ type: 'put', key: snapshotKey(sequence), value: encodeSnapshot({ sequence, entryHash, stateHash, stateEncoding }) });
    const obsolete = sequence - snapshotsKept * this.snapshotEveryEntries;
    if (obsolete > 0) operations.push({ type: 'del', key: snapshotKey(obsolete) });
  }

  private scheduleWrite(): void {
    if (this.writing !== undefined || this.writeScheduled) return;
    this.writeScheduled = true;
    // One turn of the event loop gathers everything sequenced meanwhile into the first batch.
    setImmediate(() => {
      this.writeScheduled = false;
      this.writeNext();
    });
  }

  private writeNext(): void {
    if (this.writing !== undefined || this.haltError !== undefined) return;
    if (this.queue.length === 0) {
      this.checkIdle();
      return;
    }
    let batch: QueuedEntry[];
    if (this.queue.length <= this.maximumBatchEntries) {
      batch = this.queue;
      this.queue = [];
    } else {
      batch = this.queue.slice(0, this.maximumBatchEntries);
      this.queue = this.queue.slice(this.maximumBatchEntries);
    }
    this.writing = batch;
    writeBatch(this.db, batch.map((entry) => entry.operations), { sync: true }).then(
      () => this.written(batch),
      (error: unknown) => {
        this.writing = undefined;
        this.halt('a batch write to LevelDB failed', error, batch);
        this.checkIdle();
      },
    );
  }

  private written(batch: QueuedEntry[]): void {
    this.writing = undefined;
    if (this.haltError !== undefined) {
      // Halted while this write was in flight: acknowledge nothing after the failure.
      for (const entry of batch) entry.reject(this.haltError);
      this.checkIdle();
      return;
    }
    const last = batch[batch.length - 1]!.committed;
    this.durable = { sequence: last.sequence, entryHash: hex(last.entryHash), logTimeMs: last.logTimeMs };
    this.batchesWritten += 1;
    this.entriesWritten += batch.length;
    // Keep the disk busy: the next accumulated batch starts before the waiters run.
    this.writeNext();
    for (const entry of batch) {
      const committed = entry.committed;
      for (const listener of this.listeners) {
        try {
          listener(committed);
        } catch (error) {
          this.logger.error({ err: error, sequence: committed.sequence }, 'ledger: a subscriber threw');
        }
      }
      entry.resolve({ outcome: committed.outcome, sequence: committed.sequence, logTimeMs: committed.logTimeMs });
    }
  }

  private halt(reason: string, error: unknown, inFlight: QueuedEntry[] = []): void {
    if (this.haltError !== undefined) return;
    this.haltError = new LedgerHaltedError(
      `The ledger halted: ${reason}. Nothing after entry ${this.durable.sequence} is acknowledged; ` +
        'the outcome of transactions submitted since is unknown. Restart the node to recover from disk.',
      { cause: error },
    );
    this.logger.fatal(
      { err: error, durableSequence: this.durable.sequence, sequencedSequence: this.sequencedSequence, pending: this.queue.length + inFlight.length },
      `ledger halted: ${reason}`,
    );
    const pending = [...inFlight, ...this.queue];
    this.queue = [];
    for (const entry of pending) entry.reject(this.haltError);
  }

  private checkIdle(): void {
    if (this.verifying > 0 || this.queue.length > 0 || this.writing !== undefined || this.writeScheduled) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /** Calls `listener` for every entry after it is durable, in sequence order. Returns an unsubscribe function. */
  subscribe(listener: (entry: CommittedEntry) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * The stored entries from `fromSequence` to `toSequence` (default: the
   * durable head at the call), decoded, hashed and checked against each other.
   * Entries carry no outcome: the log stores transactions, not results.
   */
  async *readEntries(fromSequence: number, toSequence?: number): AsyncGenerator<StoredEntry, void, undefined> {
    for await (const { raw, entry } of this.storedEntries(fromSequence, toSequence)) {
      yield { ...entry, entryHash: hashEntryEncoding(raw) };
    }
  }

  private async *storedEntries(
    fromSequence: number,
    toSequence: number | undefined,
  ): AsyncGenerator<{ raw: Uint8Array; entry: ReturnType<typeof decodeEntry> }, void, undefined> {
    if (!Number.isSafeInteger(fromSequence) || fromSequence < 1) throw new RangeError(`fromSequence must be a positive integer, got ${fromSequence}`);
    if (toSequence !== undefined && !Number.isSafeInteger(toSequence)) throw new RangeError(`toSequence must be an integer, got ${toSequence}`);
    const last = Math.min(toSequence ?? this.durable.sequence, this.durable.sequence);
    if (fromSequence > last) return;
    let expected = fromSequence;
    let previousHash: Uint8Array | undefined;
    for await (const [key, raw] of this.db.iterator({ gte: entryKey(fromSequence), lte: entryKey(last) })) {
      if (sequenceOfKey(key) !== expected) throw new LogFormatError(`entry ${expected} is missing from the ledger`);
      let entry;
      try {
        entry = decodeEntry(raw);
      } catch (error) {
        throw new LogFormatError(`entry ${expected} cannot be decoded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      if (entry.sequence !== expected) throw new LogFormatError(`entry ${expected} says it is entry ${entry.sequence}`);
      if (previousHash !== undefined && !Buffer.from(entry.previousHash).equals(previousHash)) {
        throw new LogFormatError(`entry ${expected} does not chain to entry ${expected - 1}`);
      }
      previousHash = hashEntryEncoding(raw);
      yield { raw, entry };
      expected += 1;
    }
    if (expected !== last + 1) throw new LogFormatError(`entry ${expected} is missing from the ledger`);
  }

  /**
   * Streams the log from `fromSequence` (default 1) to the durable head as an
   * export file (docs/log-format.md). Does not end `destination`.
   */
  async exportLog(destination: NodeJS.WritableStream, fromSequence = 1): Promise<void> {
    if (!Number.isSafeInteger(fromSequence) || fromSequence < 1) throw new RangeError(`fromSequence must be a positive integer, got ${fromSequence}`);
    const last = this.durable.sequence;
    if (fromSequence > last + 1) throw new RangeError(`fromSequence ${fromSequence} is beyond the head ${last} + 1`);
    let anchorHash = this.genesisHash;
    if (fromSequence > 1) {
      const before = await this.db.get(entryKey(fromSequence - 1));
      if (before === undefined) throw new LogFormatError(`entry ${fromSequence - 1} is missing from the ledger`);
      anchorHash = hashEntryEncoding(before);
    }
    const pieces: Uint8Array[] = [encodeExportHeader(this.canonicalGenesis, fromSequence, anchorHash)];
    let pieceBytes = pieces[0]!.length;
    const flush = async (): Promise<void> => {
      if (pieces.length === 0) return;
      const chunk = Buffer.concat(pieces, pieceBytes);
      pieces.length = 0;
      pieceBytes = 0;
      if (!destination.write(chunk)) await waitForDrain(destination);
    };
    let count = 0;
    let lastHash = anchorHash;
    let previousHash: Uint8Array = anchorHash;
    if (fromSequence <= last) {
      for await (const { raw, entry } of this.storedEntries(fromSequence, last)) {
        if (!Buffer.from(entry.previousHash).equals(previousHash)) {
          throw new LogFormatError(`entry ${entry.sequence} does not chain to entry ${entry.sequence - 1}`);
        }
        const frame = encodeExportFrame(raw);
        pieces.push(frame);
        pieceBytes += frame.length;
        lastHash = hashEntryEncoding(raw);
        previousHash = lastHash;
        count += 1;
        if (pieceBytes >= exportChunkBytes) await flush();
      }
    }
    const trailer = encodeExportTrailer(count, lastHash);
    pieces.push(trailer);
    pieceBytes += trailer.length;
    await flush();
  }

  /** Stops intake, waits until every accepted entry is synced (or the node halted), then closes LevelDB and the workers. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      await this.whenIdle();
      await this.pool.close();
      await this.db.close();
      this.logger.info({ sequence: this.durable.sequence, entryHash: this.durable.entryHash, halted: this.haltError !== undefined }, 'ledger closed');
    })();
    return this.closed;
  }
}

function hashSha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}
