/**
 * The sequencer node: the single writer of the log. A thin facade over
 * single-purpose modules:
 *
 *   submit → admission (admission.ts) → signature check in the worker pool
 *   (signature-pool.ts; a flush of one or two signatures on this thread) →
 *   sequencer (sequencer.ts, this thread): log time,
 *   engine apply, entry encoding, history records, snapshot and attestation
 *   when due → group commit (group-commit.ts) through the log store
 *   (level-log-store.ts) → acknowledgement.
 *
 * Around them: the attestation schedule (attestation-schedule.ts), proofs
 * (proof-service.ts), exports (log-export.ts) and opening and recovery
 * (node-opening.ts, recovery.ts).
 *
 * The order of the log is the order in which verified transactions reach the
 * sequencer. Sequencing is synchronous, so nothing interleaves between apply
 * and the entry being queued. A failed write halts the node: the in-memory
 * state is then ahead of the disk, so nothing more is acknowledged (the
 * group commit retries a write refused for want of file descriptors first).
 *
 * The contract with the API is docs/node-interface.md; the formats are in
 * docs/log-format.md.
 */
import {
  stateHashHex,
  type Attestation,
  type AttestationOfAnyVersion,
  type ExchangeState,
  type SignatureVerdict,
  type SignedTransaction,
  type StoredEntry,
} from '@vex/engine';
import { pino, type Logger } from 'pino';
import { Admission } from './admission.js';
import type { AttestationMaker } from './attestation-maker.js';
import { AttestationSchedule } from './attestation-schedule.js';
import { readStoredAttestation, readStoredAttestations } from './attestation-store.js';
import type { LedgerDatabase } from './database.js';
import { LedgerClosedError, LedgerHaltedError, LedgerOverloadedError, LedgerStorageBusyError } from './errors.js';
import { GroupCommit, type GroupCommitItem } from './group-commit.js';
import { LevelHistoryIndex, type HistoryIndex } from './history.js';
import { LevelLogStore, type LedgerLogWriter } from './level-log-store.js';
import { exportAttestations, exportLog, readLatestSnapshot, waitForDrain } from './log-export.js';
import { eventLoopScheduler, type NodeOptions } from './node-options.js';
import { checkNodeOptions, openLedger, type NodeSettings, type OpenedLedger } from './node-opening.js';
import {
  hex,
  type CommittedBatch,
  type CommittedEntry,
  type NodeHead,
  type NodeStatistics,
  type ProofAnswer,
  type StoredSnapshot,
  type SubmitResult,
} from './node-types.js';
import { answerProof } from './proof-service.js';
import { applyVerified, LedgerReadOnlyError, verifyLogged } from './replica-apply.js';
import { Sequencer, type SequencedEntry } from './sequencer.js';
import type { SignatureVerifier } from './signature-pool.js';
import type { BatchOperation } from './database.js';
import { SnapshotTaker } from './snapshot-taker.js';
import type { EncodedEntry } from './log-store.js';

export type { NodeOptions, NodeScheduler } from './node-options.js';
export type {
  CommittedBatch,
  CommittedEntry,
  NodeHead,
  NodeStatistics,
  ProofAnswer,
  StoredSnapshot,
  SubmitResult,
} from './node-types.js';

/** An item of the group commit: an entry (or an idle head's attestation alone) and who waits for it. */
interface NodeCommitItem extends GroupCommitItem {
  /** The entry with its replay-protection digest (SequencedEntry.messageDigest), for the snapshot worker. */
  readonly entry: (NonNullable<GroupCommitItem['entry']> & { readonly messageDigest: string }) | undefined;
  /** Undefined for an attestation of an idle head, which has a batch item of its own. */
  readonly committed: CommittedEntry | undefined;
  /** The attestation this item's records store, visible once they are durable. */
  readonly attestation: Attestation | undefined;
  readonly resolve: (result: SubmitResult) => void;
  readonly reject: (error: unknown) => void;
  /** Called once the item's batch is durable (a snapshot written by the snapshot worker's request). */
  readonly written?: () => void;
}

function ignore(): void {}

function copyTransaction(transaction: SignedTransaction): SignedTransaction {
  const { message, publicKey, signature } = transaction;
  if (!(message instanceof Uint8Array) || !(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new TypeError('a signed transaction is three Uint8Arrays: message, publicKey, signature');
  }
  // Copies: the log holds the bytes as they were when submitted, whatever the caller does later.
  return {
    message: new Uint8Array(message),
    publicKey: new Uint8Array(publicKey),
    signature: new Uint8Array(signature),
  };
}

function itemOf(
  sequenced: SequencedEntry,
  resolve: NodeCommitItem['resolve'],
  reject: NodeCommitItem['reject'],
  joinsPrevious = false,
): NodeCommitItem {
  const { committed, encoding, messageDigest, records, attestation } = sequenced;
  return {
    entry: { sequence: committed.sequence, encoding, messageDigest },
    records,
    committed,
    attestation,
    resolve,
    reject,
    joinsPrevious,
  };
}

export class ExchangeNode {
  readonly history: HistoryIndex;
  private readonly listeners = new Set<(entry: CommittedEntry) => void>();
  private readonly commitListeners = new Set<(batch: CommittedBatch) => void>();
  private readonly db: LedgerDatabase;
  private readonly pool: SignatureVerifier;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly genesisHash: Uint8Array;
  private readonly canonicalGenesis: Uint8Array;
  private readonly attestationMaker: AttestationMaker | undefined;
  /** The latest attestation stored when the node opened, of either version (durableAttestationSequence). */
  private readonly storedAttestationSequence: number;
  private readonly store: LevelLogStore;
  /** What batches are written through: the store, or (cluster mode) the replicated log in front of it. */
  private readonly writer: LedgerLogWriter;
  private readonly sequencer: Sequencer;
  private readonly admission: Admission;
  private readonly groupCommit: GroupCommit<NodeCommitItem>;
  private readonly attestations: AttestationSchedule;
  private readonly snapshotEveryEntries: number;
  /** Whether the sequencer writes snapshots in their entries' batches, or a worker takes them (snapshot-taker.ts). */
  private readonly snapshotsOnSequencer: boolean;
  /** The snapshot worker, started once the recovered head is attested (undefined while snapshotsOnSequencer). */
  private snapshots: SnapshotTaker | undefined;
  private readonly snapshotFollowIntervalMs: number | undefined;
  private readonly snapshotWorkerNiceness: number | undefined;
  /** The last durable entry. */
  private durable: NodeHead;
  private verifying = 0;
  private closing = false;
  private closed: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  private haltError: LedgerHaltedError | undefined;
  /** A read replica applies entries from the log (applyFromLog) and refuses submit(). */
  private readonly readReplica: boolean;

  private constructor(opened: OpenedLedger, settings: NodeSettings, logger: Logger, options: NodeOptions) {
    const { db, pool, recovered } = opened;
    this.db = db;
    this.pool = pool;
    this.logger = logger;
    this.genesisHash = recovered.genesisHash;
    this.canonicalGenesis = opened.canonicalGenesis;
    this.attestationMaker = opened.maker;
    this.storedAttestationSequence = opened.storedAttestationSequence;
    this.snapshotEveryEntries = settings.snapshotEveryEntries;
    this.readReplica = options.readReplica === true;
    this.clock = options.clock ?? Date.now;
    const scheduler = options.scheduler ?? eventLoopScheduler;
    this.history = new LevelHistoryIndex(db);
    this.store = new LevelLogStore(db, { sequence: recovered.sequence, entryHash: recovered.entryHash });
    this.snapshotsOnSequencer = options.snapshotsOnSequencer ?? options.verifySignaturesInline === true;
    this.snapshotFollowIntervalMs = options.snapshotFollowIntervalMs;
    this.snapshotWorkerNiceness = options.snapshotWorkerNiceness;
    const inlineSnapshotEvery = this.snapshotsOnSequencer ? settings.snapshotEveryEntries : undefined;
    this.sequencer = new Sequencer(recovered.state, recovered, this.clock, inlineSnapshotEvery, opened.maker);
    this.admission = new Admission(settings.maximumPendingTransactions, this.clock, logger);
    this.attestations = new AttestationSchedule(opened.maker, opened.latestStored, scheduler, this.clock, logger);
    this.writer = options.logWriter?.(this.store) ?? this.store;
    this.groupCommit = new GroupCommit<NodeCommitItem>(this.writer, settings, scheduler, this.clock, logger, {
      durable: (batch, durationMs) => this.batchDurable(batch, durationMs),
      acknowledge: (batch) => this.acknowledge(batch),
      abandoned: (batch) => {
        for (const item of batch) item.reject(this.haltError);
      },
      failed: (error, batch) => this.halt('a batch write to LevelDB failed', error, batch),
      drained: () => this.checkIdle(),
    });
    this.durable = {
      sequence: recovered.sequence,
      entryHash: hex(recovered.entryHash),
      logTimeMs: recovered.logTimeMs,
    };
  }

  /** Recovers from <dataDirectory>/ledger, or starts a new log there. Throws RecoveryError on a damaged log. */
  static async open(options: NodeOptions): Promise<ExchangeNode> {
    const settings = checkNodeOptions(options);
    const logger = (options.logger ?? pino()).child({ component: 'ledger' });
    const opened = await openLedger(options, settings, logger);
    try {
      const node = new ExchangeNode(opened, settings, logger, options);
      // The tree was built at the head; attesting the head makes it the latest attestation's tree, so proofs can be
      // served.
      // A head attested but not yet recorded (the node stopped between the two batches) gets its record.
      const maker = opened.maker;
      // A replica writes nothing the log does not hold: it attests only where the log records an attestation.
      if (maker !== undefined && !node.readReplica)
        await node.attestRecoveredHead(maker.hasUnattested(opened.recovered.state));
      node.startSnapshots();
      const attestations =
        maker === undefined
          ? 'off'
          : {
              ...settings.attestationCadence,
              operatorKey: maker.operatorKey,
              latest: node.attestations.latest?.sequence ?? null,
            };
      logger.info(
        {
          location: opened.location,
          sequence: opened.recovered.sequence,
          verifierThreads: opened.pool.threads,
          snapshotEveryEntries: settings.snapshotEveryEntries,
          maximumBatchEntries: settings.maximumBatchEntries,
          maximumPendingTransactions: settings.maximumPendingTransactions,
          attestations,
        },
        'ledger open',
      );
      return node;
    } catch (error) {
      await opened.pool.close().catch(() => undefined);
      await opened.db.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * The engine state, read-only for callers. It includes entries that are
   * sequenced but not yet durable (at most the batch being written and the one
   * accumulating), exactly as a sequencer must.
   */
  get state(): ExchangeState {
    return this.sequencer.state;
  }

  /** The last durable entry. */
  head(): NodeHead {
    return this.durable;
  }

  /**
   * Attests the recovered head when `unattested`, and appends the record of
   * the latest attestation when the log does not hold it yet, in one synced
   * batch of its own, before the node takes any work.
   */
  private async attestRecoveredHead(unattested: boolean): Promise<void> {
    const maker = this.attestationMaker!;
    const items: NodeCommitItem[] = [];
    if (unattested) {
      const made = this.sequencer.attestHead();
      items.push({
        entry: undefined,
        records: [made.operation],
        committed: undefined,
        attestation: undefined,
        resolve: ignore,
        reject: ignore,
      });
      this.logger.info({ sequence: made.attestation.sequence }, 'ledger: attested the recovered head');
    }
    const latest = maker.latest;
    if (latest === undefined || this.state.attestedSequence === latest.sequence) return;
    if (latest.sequence !== this.sequencer.sequence) {
      throw new Error(
        `the latest attestation follows entry ${latest.sequence}, not the head ${this.sequencer.sequence}, ` +
          'and the log does not record it',
      );
    }
    const record = this.sequencer.attestationRecord(latest);
    items.push(itemOf(record, ignore, ignore));
    await this.writer.commit(items);
    const committed = record.committed;
    this.durable = {
      sequence: committed.sequence,
      entryHash: hex(committed.entryHash),
      logTimeMs: committed.logTimeMs,
    };
    this.attestations.durable(latest);
    const entryHash = hex(committed.entryHash);
    this.logger.info(
      { sequence: committed.sequence, attested: latest.sequence, entryHash, stateHash: stateHashHex(this.state) },
      'ledger: recorded the latest attestation',
    );
  }

  /**
   * Starts the snapshot worker from the state at the head, before the node
   * takes any work (a snapshot due at the recovered head's own attestation
   * record, if there was one, is not taken: the next one is).
   */
  private startSnapshots(): void {
    if (this.snapshotsOnSequencer) return;
    this.snapshots = new SnapshotTaker(
      this.state,
      this.sequencer.sequence,
      this.snapshotEveryEntries,
      {
        write: (operations) => this.writeSnapshot(operations),
        failed: (error) => this.halt('the snapshot worker failed', error),
      },
      this.snapshotFollowIntervalMs,
      this.snapshotWorkerNiceness,
    );
  }

  /** Queues a snapshot from the worker as an item of its own; resolves once it is durable. */
  private writeSnapshot(records: BatchOperation[]): Promise<void> {
    if (this.haltError !== undefined) return Promise.reject(this.haltError);
    return new Promise((written, reject) => {
      const item = { entry: undefined, records, committed: undefined, attestation: undefined };
      this.groupCommit.enqueue({ ...item, resolve: ignore, reject, written: () => written() });
      this.groupCommit.schedule();
    });
  }

  /** Queues the record of `attestation` right after the attestation's own item; halts if it cannot be made. */
  private queueAttestationRecord(attestation: Attestation): void {
    let record: SequencedEntry;
    try {
      record = this.sequencer.attestationRecord(attestation);
    } catch (error) {
      this.halt('the attestation record could not be sequenced', error);
      return;
    }
    this.groupCommit.enqueue(itemOf(record, ignore, ignore, true));
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
    const signatureUsage = this.pool.usage?.();
    return {
      sequencedEntries: this.sequencer.sequence,
      durableSequence: this.durable.sequence,
      rejectedTransactions: this.sequencer.rejectedTransactions,
      batchesWritten: this.groupCommit.batchesWritten,
      entriesWritten: this.groupCommit.entriesWritten,
      sequencingMs: this.sequencer.sequencingMs,
      queuedEntries: this.groupCommit.queuedItems,
      writingEntries: this.groupCommit.writingItems,
      pendingTransactions: this.admission.pendingTransactions,
      peakPendingTransactions: this.admission.peakPendingTransactions,
      overloadedTransactions: this.admission.overloadedTransactions,
      storageBusyEpisodes: this.groupCommit.storageBusyEpisodes,
      verifyingTransactions: this.verifying,
      signatureThreads: this.pool.threads,
      signatureUtilization: signatureUsage?.utilization ?? 0,
      signatureQueuedTasks: signatureUsage?.queuedTasks ?? 0,
    };
  }

  /**
   * Verifies, sequences and applies a signed transaction. Resolves with a
   * rejection at once (nothing is logged), or, when accepted, once the entry
   * is synced to disk. Rejects with LedgerHaltedError or LedgerClosedError if
   * the node cannot take it, and at once with LedgerOverloadedError when
   * maximumPendingTransactions are already in flight; after a halt the outcome
   * of an accepted transaction is unknown until the node is restarted.
   */
  submit(transaction: SignedTransaction): Promise<SubmitResult> {
    const refused = this.refusedAtIntake();
    if (refused !== undefined) return Promise.reject(refused);
    let copy: SignedTransaction;
    try {
      copy = copyTransaction(transaction);
    } catch (error) {
      return Promise.reject(error);
    }
    this.admission.admit();
    this.verifying += 1;
    const answer = this.pool.verify(copy).then(
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
    // Registered before the caller's handlers, so the slot is free by the time the caller hears the answer.
    answer.then(this.admission.answered, this.admission.answered);
    return answer;
  }

  /** Why a transaction cannot be taken at all right now, or undefined. */
  private refusedAtIntake(): Error | undefined {
    if (this.haltError !== undefined) return this.haltError;
    if (this.readReplica) return new LedgerReadOnlyError('This node is a read replica: it takes no transactions.');
    if (this.closing) return new LedgerClosedError('The ledger is closing and takes no more transactions.');
    const logUnavailable = this.writer.unavailable?.();
    if (logUnavailable !== undefined)
      return new LedgerStorageBusyError(
        `${logUnavailable} This transaction was refused unseen; send it again shortly.`,
      );
    if (this.groupCommit.storageBusy()) {
      return new LedgerStorageBusyError(
        'The ledger is short of file descriptors and retrying a write; this transaction was refused unseen ' +
          '(nothing was logged). Send it again shortly.',
      );
    }
    if (this.admission.full()) {
      this.admission.refuse();
      return new LedgerOverloadedError(this.admission.maximumPendingTransactions);
    }
    return undefined;
  }

  /** The sequencer step: everything here is synchronous, so entries are applied in the order they arrive. */
  private sequence(transaction: SignedTransaction, verdict: SignatureVerdict): SubmitResult | Promise<SubmitResult> {
    if (this.haltError !== undefined) throw this.haltError;
    const logTimeMs = this.sequencer.nextLogTime();
    const refusal = this.sequencer.refusal(transaction, verdict, logTimeMs);
    if (refusal !== undefined) return refusal;
    let sequenced: SubmitResult | SequencedEntry;
    try {
      sequenced = this.sequencer.apply(transaction, logTimeMs);
    } catch (error) {
      // The engine or the encoding threw part-way: the state may be half-changed.
      this.halt('the sequencer failed while applying an entry', error);
      throw this.haltError;
    }
    if (!('committed' in sequenced)) return sequenced;
    const answer = new Promise<SubmitResult>((resolve, rejectSubmit) => {
      this.groupCommit.enqueue(itemOf(sequenced, resolve, rejectSubmit));
    });
    // The record follows its attestation at once: no other entry can come between them.
    if (sequenced.attestation !== undefined) this.queueAttestationRecord(sequenced.attestation);
    this.groupCommit.schedule();
    this.armAttestationTimer();
    return answer;
  }

  private armAttestationTimer(): void {
    this.attestations.arm(
      this.state,
      () => !this.closing && this.haltError === undefined,
      () => this.attestHead(),
    );
  }

  /**
   * Attests the last sequenced entry as an item of its own, queued after that
   * entry, so it is written in the entry's batch or a later one, never before it.
   */
  private attestHead(): void {
    let made;
    try {
      made = this.sequencer.attestHead();
    } catch (error) {
      this.halt('the attestation of the head failed', error);
      return;
    }
    const item = { entry: undefined, records: [made.operation], committed: undefined, attestation: made.attestation };
    this.groupCommit.enqueue({ ...item, resolve: ignore, reject: ignore });
    this.queueAttestationRecord(made.attestation);
    this.groupCommit.schedule();
  }

  /** A batch is durable: the head moves to its last entry (before the next write starts). */
  private batchDurable(batch: readonly NodeCommitItem[], durationMs: number): void {
    let entries = 0;
    let last: CommittedEntry | undefined;
    const encodings: Uint8Array[] = [];
    const digests: string[] = [];
    for (const item of batch) {
      if (item.committed === undefined) continue;
      entries += 1;
      last = item.committed;
      encodings.push(item.entry!.encoding);
      digests.push(item.entry!.messageDigest);
    }
    // The head moves to the batch's last entry (its hash in hex once per batch, not per entry).
    if (last !== undefined)
      this.durable = { sequence: last.sequence, entryHash: hex(last.entryHash), logTimeMs: last.logTimeMs };
    // Durable entries only: a snapshot the worker makes from them is written after its entry.
    this.snapshots?.follow(encodings, digests);
    if (this.commitListeners.size === 0) return;
    const committed: CommittedBatch = { entries, items: batch.length, durationMs, sequence: this.durable.sequence };
    for (const listener of this.commitListeners) {
      try {
        listener(committed);
      } catch (error) {
        this.logger.error({ err: error }, 'ledger: a commit subscriber threw');
      }
    }
  }

  /**
   * A read replica's step (replica-apply.ts; docs/cluster.md, "Read
   * replicas"): applies `batch`, entries read from the log that continue this
   * node's head, with their signatures verified, writes them with their
   * records (and the attestations the log records) in one synced batch, then
   * tells subscribers as the sequencer does. Resolves with the new head. Call
   * it with one batch at a time. Any failure halts the node.
   */
  async applyFromLog(batch: readonly EncodedEntry[]): Promise<NodeHead> {
    if (!this.readReplica) throw new Error('Only a read replica applies entries from the log.');
    if (this.haltError !== undefined) throw this.haltError;
    const started = this.clock();
    let items: NodeCommitItem[];
    try {
      const verified = await verifyLogged(this.pool, batch);
      items = applyVerified(this.sequencer, this.attestationMaker, verified).map((item) => ({
        ...item,
        resolve: ignore,
        reject: ignore,
      }));
      await this.store.commit(items);
    } catch (error) {
      this.halt('an entry from the log could not be applied or written', error);
      throw this.haltError;
    }
    this.batchDurable(items, this.clock() - started);
    this.acknowledge(items);
    return this.durable;
  }

  /** Calls `listener` after every group-commit batch is durable (for metrics). Returns an unsubscribe function. */
  subscribeCommits(listener: (batch: CommittedBatch) => void): () => void {
    this.commitListeners.add(listener);
    return () => {
      this.commitListeners.delete(listener);
    };
  }

  /** Subscribers hear of each entry, then its submitter; attestations in the batch become the ones served. */
  private acknowledge(batch: readonly NodeCommitItem[]): void {
    for (const item of batch) {
      const committed = item.committed;
      if (committed !== undefined) {
        for (const listener of this.listeners) {
          try {
            listener(committed);
          } catch (error) {
            this.logger.error({ err: error, sequence: committed.sequence }, 'ledger: a subscriber threw');
          }
        }
        item.resolve({ outcome: committed.outcome, sequence: committed.sequence, logTimeMs: committed.logTimeMs });
      }
      if (item.attestation !== undefined) this.attestations.durable(item.attestation);
      item.written?.();
    }
  }

  private halt(reason: string, error: unknown, inFlight: readonly NodeCommitItem[] = []): void {
    if (this.haltError !== undefined) return;
    this.haltError = new LedgerHaltedError(
      `The ledger halted: ${reason}. Nothing after entry ${this.durable.sequence} is acknowledged; ` +
        'the outcome of transactions submitted since is unknown. Restart the node to recover from disk.',
      { cause: error },
    );
    const queued = this.groupCommit.stop();
    this.logger.fatal(
      {
        err: error,
        durableSequence: this.durable.sequence,
        sequencedSequence: this.sequencer.sequence,
        pending: queued.length + inFlight.length,
      },
      `ledger halted: ${reason}`,
    );
    for (const entry of [...inFlight, ...queued]) entry.reject(this.haltError);
    this.attestations.fail(this.haltError);
  }

  private checkIdle(): void {
    if (this.verifying > 0 || !this.groupCommit.idle()) return;
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
    for await (const { entry } of this.store.entries(fromSequence, toSequence)) yield entry;
  }

  /** The log store: the node's LevelDB log behind the log-store interface (for replicas and tools). */
  get logStore(): LevelLogStore {
    return this.store;
  }

  /**
   * Streams the log from `fromSequence` (default 1) to the durable head as an
   * export file (docs/log-format.md). Does not end `destination`.
   */
  exportLog(destination: NodeJS.WritableStream, fromSequence = 1): Promise<void> {
    const source = {
      store: this.store,
      genesisHash: this.genesisHash,
      canonicalGenesis: this.canonicalGenesis,
      headSequence: this.durable.sequence,
    };
    return exportLog(source, destination, fromSequence);
  }

  /** The latest attestation whose batch is durable; undefined before the first. */
  latestAttestation(): Attestation | undefined {
    return this.attestations.latest;
  }

  /**
   * The durable attestation that follows entry `sequence`, if one was made there: version 1 for one made before
   * the ledger was upgraded from storage format 1 (storage-upgrade.ts), version 2 otherwise.
   */
  async attestationAt(sequence: number): Promise<AttestationOfAnyVersion | undefined> {
    if (!Number.isSafeInteger(sequence) || sequence < 1)
      throw new RangeError(`sequence must be a positive integer, got ${sequence}`);
    const latest = this.attestations.latest;
    if (sequence > this.durableAttestationSequence()) return undefined;
    if (sequence === latest?.sequence) return latest;
    return (await readStoredAttestation(this.db, sequence))?.attestation;
  }

  /** Durable attestations at sequences from `fromSequence` on, in sequence order, at most `limit`. */
  async readAttestations(fromSequence: number, limit: number): Promise<AttestationOfAnyVersion[]> {
    if (!Number.isSafeInteger(fromSequence) || fromSequence < 1)
      throw new RangeError(`fromSequence must be a positive integer, got ${fromSequence}`);
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    const through = this.durableAttestationSequence();
    if (through === 0 || limit === 0) return [];
    const attestations: AttestationOfAnyVersion[] = [];
    for await (const stored of readStoredAttestations(this.db, fromSequence, through, limit))
      attestations.push(stored.attestation);
    return attestations;
  }

  /**
   * Writes the durable attestations from `fromSequence` (default 1) to the
   * latest at the time of the call as JSON Lines: each one's stored canonical
   * JSON and a newline, in sequence order. Does not end `destination`.
   * Resolves with the number written.
   */
  exportAttestations(destination: NodeJS.WritableStream, fromSequence = 1): Promise<number> {
    return exportAttestations(this.db, this.durableAttestationSequence(), destination, fromSequence);
  }

  /**
   * The sequence of the last durable attestation (0 for none): the latest this node made, or the latest stored
   * when it opened, which after an upgrade from storage format 1 may be a version-1 one it does not serve as latest.
   */
  private durableAttestationSequence(): number {
    return Math.max(this.attestations.latest?.sequence ?? 0, this.storedAttestationSequence);
  }

  /** Calls `listener` with every attestation once its batch is durable, in sequence order; returns an unsubscriber. */
  subscribeAttestations(listener: (attestation: Attestation) => void): () => void {
    return this.attestations.subscribe(listener);
  }

  /**
   * The inclusion proof of `accountId`'s leaf under the latest attestation,
   * or under the attestation at `sequence` (docs/attestation.md, "Inclusion
   * proofs"; proof-service.ts).
   */
  proof(accountId: string, sequence?: number): Promise<ProofAnswer> {
    return answerProof(
      {
        maker: this.attestationMaker,
        whenAttestationDurable: (at) => this.attestations.whenDurable(at, this.haltError),
        // Proofs are held only under attestations this node made, which are version 2.
        attestationAt: async (at) => {
          const attestation = await this.attestationAt(at);
          return attestation?.version === 2 ? attestation : undefined;
        },
      },
      accountId,
      sequence,
    );
  }

  /** The most recent stored snapshot record (at or before the durable head), byte for byte. */
  async readLatestSnapshot(): Promise<StoredSnapshot | undefined> {
    // The snapshots due at durable entries so far are written first, as when the sequencer wrote them.
    await this.snapshots?.flush();
    return readLatestSnapshot(this.db, this.durable.sequence);
  }

  /**
   * Writes the most recent snapshot record (docs/log-format.md, "Snapshots")
   * to `destination`, for the replayer's --from-snapshot. Resolves with its
   * sequence, or undefined, writing nothing, when there is no snapshot yet.
   * Does not end `destination`.
   */
  async exportLatestSnapshot(destination: NodeJS.WritableStream): Promise<number | undefined> {
    const snapshot = await this.readLatestSnapshot();
    if (snapshot === undefined) return undefined;
    if (!destination.write(snapshot.record)) await waitForDrain(destination);
    return snapshot.sequence;
  }

  /** Stops intake, waits until every accepted entry is synced (or the node halted), then closes LevelDB and workers. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.attestations.cancel();
      await this.whenIdle();
      // A clean stop leaves no entry unattested, so an export taken afterwards covers the whole log.
      const unattested = this.attestationMaker?.hasUnattested(this.state) === true;
      if (unattested && this.haltError === undefined && !this.readReplica) {
        this.attestHead();
        await this.whenIdle();
      }
      // The snapshots due so far are written before LevelDB closes, as when the sequencer wrote them.
      await this.snapshots?.flush();
      await this.whenIdle();
      await this.snapshots?.close();
      this.admission.endEpisodeWhenQuiet(true);
      await this.pool.close();
      await this.db.close();
      this.logger.info(
        {
          sequence: this.durable.sequence,
          entryHash: this.durable.entryHash,
          halted: this.haltError !== undefined,
          // How close this life came to its admission bound, and how often it refused.
          peakPendingTransactions: this.admission.peakPendingTransactions,
          overloadedTransactions: this.admission.overloadedTransactions,
        },
        'ledger closed',
      );
    })();
    return this.closed;
  }
}
