/**
 * The sequencer node: the single writer of the log.
 *
 *   submit → signature check in the worker pool → sequencer (this thread):
 *   log time, engine apply, entry encoding, history records, snapshot and
 *   attestation when due → group commit.
 *
 * The order of the log is the order in which verified transactions reach the
 * sequencer. Sequencing is synchronous, so nothing interleaves between apply
 * and the entry being queued. Accepted entries wait for a synced LevelDB
 * batch; while one batch write is in flight the next accumulates, so many
 * submits share one sync. A failed write halts the node: the in-memory state
 * is then ahead of the disk, so nothing more is acknowledged. The exception is
 * a write that failed for want of file descriptors ("Too many open files"):
 * that is back-pressure, not damage, so the same batch is retried while new
 * transactions are refused, and the node halts only if it lasts.
 *
 * The contract with the API is docs/node-interface.md; the formats are in
 * docs/log-format.md.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  accountIdOf,
  apply,
  attestationDigestHex,
  isAttestationRecordMessage,
  checkInvariants,
  encodeState,
  publicKeyFromSeed,
  reject,
  stateHashHex,
  validateGenesis,
  type ApplyOutcome,
  type Attestation,
  type InclusionProof,
  type ExchangeState,
  type Genesis,
  type SignatureVerdict,
  type SignedTransaction,
} from '@vex/engine';
import { pino, type Logger } from 'pino';
import { createDatabase, writeBatch, type BatchOperation, type LedgerDatabase } from './database.js';
import { AttestationMaker, isRecordOf, type AttestationObserver, type MadeAttestation } from './attestation-maker.js';
import { readLatestStoredAttestation, readStoredAttestation, readStoredAttestations } from './attestation-store.js';
import {
  isDescriptorExhaustion,
  LedgerClosedError,
  LedgerHaltedError,
  LedgerOverloadedError,
  LedgerStorageBusyError,
  RecoveryError,
} from './errors.js';
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
import { InlineSignatureVerifier, SignaturePool, type SignatureVerifier } from './signature-pool.js';
import { encodeSnapshot, entryKey, sequenceOfKey, snapshotKey, snapshotRange } from './storage-format.js';

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
  /** Told of every attestation as it is made (attestation-maker.ts, AttestationObserver): the custody committer. */
  readonly onAttestationMade?: AttestationObserver;
}

export interface NodeScheduler {
  /** Runs `callback` after the current turn of the event loop (the group commit's gathering wait). */
  runSoon(callback: () => void): void;
  /** Runs `callback` after `delayMs` ms; the returned function cancels it. */
  runAfter(delayMs: number, callback: () => void): () => void;
}

const eventLoopScheduler: NodeScheduler = {
  runSoon: (callback) => {
    setImmediate(callback);
  },
  runAfter: (delayMs, callback) => {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

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
}

interface QueuedEntry {
  /** Undefined for an attestation of an idle head, which has a batch item of its own. */
  readonly committed: CommittedEntry | undefined;
  /** The attestation this item's operations store, visible once they are durable. */
  readonly attestation: Attestation | undefined;
  readonly operations: BatchOperation[];
  readonly resolve: (result: SubmitResult) => void;
  readonly reject: (error: unknown) => void;
  /**
   * An attestation record: it goes in the same batch as the item before it
   * (the attestation it records), so an attestation is never served before
   * the log records it.
   */
  readonly joinsPrevious?: boolean;
}

const defaultSnapshotEveryEntries = 10_000;
const defaultAttestEveryEntries = 10_000;
const defaultAttestEveryMs = 1_000;
const maximumTimerDelayMs = 2 ** 31 - 1;
const defaultMaximumBatchEntries = 2_048;
const defaultStorageRetryLimitMs = 60_000;
/** The first retry of a batch write refused for want of descriptors, doubling up to the most. */
const storageRetryFirstDelayMs = 20;
const storageRetryMaximumDelayMs = 1_000;
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
const defaultMaximumPendingTransactions = 4_096;
/** An overload episode is over when a transaction is admitted this long after the last refusal. */
const overloadQuietMs = 1_000;
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

function ignore(): void {}

/** Checks the attestation signing seed before anything touches the disk; returns its base64 public key. */
function checkAttestationSigningSeed(seed: Uint8Array, genesis: Genesis): string {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new RangeError('attestationSigningSeed must be a 32-byte Ed25519 seed');
  const operatorKey = accountIdOf(publicKeyFromSeed(seed));
  if (!genesis.operatorKeys.includes(operatorKey)) {
    throw new RangeError(`attestationSigningSeed belongs to ${operatorKey}, which is not a genesis operator key, so no verifier would accept its attestations`);
  }
  return operatorKey;
}

export class ExchangeNode {
  readonly history: HistoryIndex;
  private readonly listeners = new Set<(entry: CommittedEntry) => void>();
  private readonly attestationListeners = new Set<(attestation: Attestation) => void>();
  private readonly snapshotEveryEntries: number;
  private readonly maximumBatchEntries: number;
  private readonly maximumPendingTransactions: number;
  private readonly clock: () => number;
  private readonly scheduler: NodeScheduler;

  /** The last sequenced entry (the state includes it); durable or queued. */
  private sequencedSequence: number;
  private sequencedHash: Uint8Array;
  /** The last durable entry. */
  private durable: NodeHead;

  private queue: QueuedEntry[] = [];
  private writing: QueuedEntry[] | undefined;
  private writeScheduled = false;
  private verifying = 0;
  /** Submitted and not yet answered; see maximumPendingTransactions. */
  private pendingTransactions = 0;
  private peakPendingTransactions = 0;
  private overloadedTransactions = 0;
  /** The overload episode under way, from its first refusal; see refusedAsOverload. */
  private overload: { startedAtMs: number; lastRefusalAtMs: number; refused: number } | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  private haltError: LedgerHaltedError | undefined;
  private readonly storageRetryLimitMs: number;
  /** Set while a batch write is being retried after "Too many open files" (see writeBatchNow). */
  private storageBusy: { sinceMs: number; retries: number; delayMs: number } | undefined;
  private storageBusyEpisodes = 0;

  /** The latest durable attestation: the one served. The maker may be one ahead while its batch is written. */
  private durableAttestation: Attestation | undefined;
  private attestationWaiters: Array<{ sequence: number; resolve: () => void; reject: (error: unknown) => void }> = [];
  private cancelAttestationTimer: (() => void) | undefined;

  private rejectedTransactions = 0;
  private batchesWritten = 0;
  private entriesWritten = 0;
  private sequencingMs = 0;

  private constructor(
    private readonly db: LedgerDatabase,
    private readonly pool: SignatureVerifier,
    private readonly liveState: ExchangeState,
    private readonly genesisHash: Uint8Array,
    private readonly canonicalGenesis: Uint8Array,
    head: { sequence: number; entryHash: Uint8Array; logTimeMs: number },
    private readonly logger: Logger,
    options: NodeOptions,
    private readonly attestationMaker: AttestationMaker | undefined,
    latestAttestation: Attestation | undefined,
  ) {
    this.durableAttestation = latestAttestation;
    this.history = new LevelHistoryIndex(db);
    this.snapshotEveryEntries = positiveInteger(options.snapshotEveryEntries, defaultSnapshotEveryEntries, 'snapshotEveryEntries');
    this.maximumBatchEntries = positiveInteger(options.maximumBatchEntries, defaultMaximumBatchEntries, 'maximumBatchEntries');
    this.maximumPendingTransactions = positiveInteger(options.maximumPendingTransactions, defaultMaximumPendingTransactions, 'maximumPendingTransactions');
    this.clock = options.clock ?? Date.now;
    this.scheduler = options.scheduler ?? eventLoopScheduler;
    this.storageRetryLimitMs = positiveInteger(options.storageRetryLimitMs, defaultStorageRetryLimitMs, 'storageRetryLimitMs');
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
    positiveInteger(options.maximumPendingTransactions, defaultMaximumPendingTransactions, 'maximumPendingTransactions');
    const attestationCadence = {
      everyEntries: positiveInteger(options.attestEveryEntries, defaultAttestEveryEntries, 'attestEveryEntries'),
      everyMs: positiveInteger(options.attestEveryMs, defaultAttestEveryMs, 'attestEveryMs'),
    };
    const signingSeed = options.attestationSigningSeed;
    if (signingSeed !== undefined) checkAttestationSigningSeed(signingSeed, options.genesis);
    const canonicalGenesis = canonicalGenesisBytes(options.genesis);
    const location = options.database === undefined ? join(options.dataDirectory, 'ledger') : options.dataDirectory;
    if (options.database === undefined) await mkdir(location, { recursive: true });
    const db = options.database ?? createDatabase(location);
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
    let pool: SignatureVerifier | undefined;
    try {
      pool = options.verifySignaturesInline === true ? new InlineSignatureVerifier() : new SignaturePool(options.verifierThreads);
      const recovered = await recoverLedger({ db, pool, genesis: options.genesis, location, maximumBatchEntries, snapshotsKept, logger });
      let latestStored: Attestation | undefined;
      try {
        latestStored = (await readLatestStoredAttestation(db, recovered.sequence))?.attestation;
      } catch (error) {
        throw new RecoveryError('attestation-mismatch', location, undefined, error instanceof Error ? error.message : String(error), { cause: error });
      }
      let maker: AttestationMaker | undefined;
      if (signingSeed !== undefined) {
        maker = new AttestationMaker(
          recovered.state,
          new Uint8Array(signingSeed),
          recovered.genesisHash,
          attestationCadence,
          latestStored,
          recovered.sequence,
          options.proofHistoryBytes,
        );
        maker.observer = options.onAttestationMade;
        if (latestStored !== undefined && latestStored.sequence === recovered.sequence) {
          checkRecoveredAttestation(latestStored, maker, recovered.state, hex(recovered.entryHash), location);
        } else if (latestStored !== undefined && isRecordOf(recovered.state, latestStored, recovered.sequence)) {
          checkRecordedAttestation(latestStored, maker, recovered.state, location);
        }
      }
      const node = new ExchangeNode(db, pool, recovered.state, recovered.genesisHash, canonicalGenesis, recovered, logger, options, maker, latestStored);
      // The tree was built at the head; attesting the head makes it the latest attestation's tree, so proofs can be served.
      // A head attested but not yet recorded (the node stopped between the two batches) gets its record.
      if (maker !== undefined) await node.attestRecoveredHead(maker.hasUnattested(recovered.state));
      logger.info(
        {
          location,
          sequence: recovered.sequence,
          verifierThreads: pool.threads,
          snapshotEveryEntries: node.snapshotEveryEntries,
          maximumBatchEntries,
          maximumPendingTransactions: node.maximumPendingTransactions,
          attestations: maker === undefined ? 'off' : { ...attestationCadence, operatorKey: maker.operatorKey, latest: node.durableAttestation?.sequence ?? null },
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

  /**
   * Attests the recovered head when `unattested`, and appends the record of
   * the latest attestation when the log does not hold it yet, in one synced
   * batch of its own, before the node takes any work.
   */
  private async attestRecoveredHead(unattested: boolean): Promise<void> {
    const maker = this.attestationMaker!;
    const operations: BatchOperation[][] = [];
    if (unattested) {
      const made = maker.attest(this.liveState, this.sequencedSequence, this.sequencedHash);
      operations.push([made.operation]);
      this.logger.info({ sequence: made.attestation.sequence }, 'ledger: attested the recovered head');
    }
    const latest = maker.latest;
    if (latest === undefined || this.liveState.attestedSequence === latest.sequence) return;
    if (latest.sequence !== this.sequencedSequence) {
      throw new Error(`the latest attestation follows entry ${latest.sequence}, not the head ${this.sequencedSequence}, and the log does not record it`);
    }
    const record = this.sequenceAttestationRecord(latest);
    operations.push(record.operations);
    await writeBatch(this.db, operations, { sync: true });
    this.durable = { sequence: record.committed.sequence, entryHash: hex(record.committed.entryHash), logTimeMs: record.committed.logTimeMs };
    this.durableAttestation = latest;
    this.logger.info(
      { sequence: record.committed.sequence, attested: latest.sequence, entryHash: hex(record.committed.entryHash), stateHash: stateHashHex(this.liveState) },
      'ledger: recorded the latest attestation',
    );
  }

  /**
   * Applies and encodes the attestation record of `attestation`, the
   * attestation of the last sequenced entry, as the next entry
   * (docs/attestation.md, "Attestation records"). Synchronous, right after
   * the attestation is made. Throws if the engine refuses it: the caller halts.
   */
  private sequenceAttestationRecord(attestation: Attestation): { committed: CommittedEntry; operations: BatchOperation[] } {
    const state = this.liveState;
    const now = Math.floor(this.clock());
    if (!Number.isSafeInteger(now) || now < 0) throw new Error(`The clock returned ${now}, which is not a time in milliseconds.`);
    const logTimeMs = Math.max(state.logTimeMs, now);
    const transaction = this.attestationMaker!.signRecord(attestation, logTimeMs);
    const outcome = apply(state, { logTimeMs, transaction }, { signatureVerified: true });
    if (!outcome.accepted) {
      throw new Error(`the engine refuses the node's own attestation record: ${outcome.rejection.code}: ${outcome.rejection.message}`);
    }
    const sequence = this.sequencedSequence + 1;
    const previousHash = this.sequencedHash;
    const { encoding, entryHash } = encodeAndHashEntry({ sequence, logTimeMs, previousHash, transaction });
    const operations: BatchOperation[] = [{ type: 'put', key: entryKey(sequence), value: encoding }];
    historyOperations(state, sequence, outcome.events, operations);
    if (sequence % this.snapshotEveryEntries === 0) this.snapshotOperations(sequence, entryHash, operations);
    this.sequencedSequence = sequence;
    this.sequencedHash = entryHash;
    return { committed: { sequence, logTimeMs, previousHash, entryHash, transaction, outcome }, operations };
  }

  /** Queues the record of `attestation` right after the attestation's own item; halts if it cannot be made. */
  private queueAttestationRecord(attestation: Attestation): void {
    let record: { committed: CommittedEntry; operations: BatchOperation[] };
    try {
      record = this.sequenceAttestationRecord(attestation);
    } catch (error) {
      this.halt('the attestation record could not be sequenced', error);
      return;
    }
    this.queue.push({ committed: record.committed, attestation: undefined, operations: record.operations, resolve: ignore, reject: ignore, joinsPrevious: true });
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
      pendingTransactions: this.pendingTransactions,
      peakPendingTransactions: this.peakPendingTransactions,
      overloadedTransactions: this.overloadedTransactions,
      storageBusyEpisodes: this.storageBusyEpisodes,
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
    if (this.haltError !== undefined) return Promise.reject(this.haltError);
    if (this.closing) return Promise.reject(new LedgerClosedError('The ledger is closing and takes no more transactions.'));
    if (this.storageBusy !== undefined) {
      return Promise.reject(
        new LedgerStorageBusyError('The ledger is short of file descriptors and retrying a write; this transaction was refused unseen (nothing was logged). Send it again shortly.'),
      );
    }
    if (this.pendingTransactions >= this.maximumPendingTransactions) {
      this.refusedAsOverload();
      return Promise.reject(new LedgerOverloadedError(this.maximumPendingTransactions));
    }
    let copy: SignedTransaction;
    try {
      copy = copyTransaction(transaction);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.overload !== undefined) this.endOverloadWhenQuiet(false);
    this.pendingTransactions += 1;
    if (this.pendingTransactions > this.peakPendingTransactions) this.peakPendingTransactions = this.pendingTransactions;
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
    answer.then(this.transactionAnswered, this.transactionAnswered);
    return answer;
  }

  private readonly transactionAnswered = (): void => {
    this.pendingTransactions -= 1;
  };

  /**
   * Counts a refusal. The operator hears of overload once per episode, not
   * per refusal (thousands a second would only add to the load): a warning
   * when refusals start, and one with the count when they have stopped.
   */
  private refusedAsOverload(): void {
    this.overloadedTransactions += 1;
    const now = this.clock();
    if (this.overload === undefined) {
      this.overload = { startedAtMs: now, lastRefusalAtMs: now, refused: 0 };
      this.logger.warn(
        { maximumPendingTransactions: this.maximumPendingTransactions },
        'ledger overloaded: refusing transactions while this many are in flight (clients get 429)',
      );
    }
    this.overload.refused += 1;
    this.overload.lastRefusalAtMs = now;
  }

  /** Ends the overload episode once a transaction is admitted overloadQuietMs after the last refusal (or at close). */
  private endOverloadWhenQuiet(closing: boolean): void {
    const overload = this.overload;
    if (overload === undefined || (!closing && this.clock() - overload.lastRefusalAtMs < overloadQuietMs)) return;
    this.overload = undefined;
    this.logger.warn(
      {
        refusedTransactions: overload.refused,
        durationMs: overload.lastRefusalAtMs - overload.startedAtMs,
        peakPendingTransactions: this.peakPendingTransactions,
        maximumPendingTransactions: this.maximumPendingTransactions,
      },
      'ledger overload over',
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
    if (isAttestationRecordMessage(transaction.message)) {
      // Only the node writes attestation records, right after its own attestations (docs/attestation.md).
      this.rejectedTransactions += 1;
      const outcome: ApplyOutcome = {
        accepted: false,
        rejection: reject('INVALID_INSTRUCTION', 'Attestation records are written by the node itself, right after each attestation.'),
        results: [],
      };
      return { outcome, sequence: undefined, logTimeMs };
    }
    let outcome: ApplyOutcome;
    let operations: BatchOperation[];
    let committed: CommittedEntry;
    let attestation: Attestation | undefined;
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
      // The attestation is made here, from the state right after this entry, and stored in the entry's own batch.
      if (this.attestationMaker?.isDue(sequence, logTimeMs) === true) {
        const made = this.attestationMaker.attest(state, sequence, entryHash);
        operations.push(made.operation);
        attestation = made.attestation;
      }
      this.sequencedSequence = sequence;
      this.sequencedHash = entryHash;
      committed = { sequence, logTimeMs, previousHash, entryHash, transaction, outcome };
    } catch (error) {
      // The engine or the encoding threw part-way: the state may be half-changed.
      this.halt('the sequencer failed while applying an entry', error);
      throw this.haltError;
    }
    const answer = new Promise<SubmitResult>((resolve, rejectSubmit) => {
      this.queue.push({ committed, attestation, operations, resolve, reject: rejectSubmit });
    });
    // The record follows its attestation at once: no other entry can come between them.
    if (attestation !== undefined) this.queueAttestationRecord(attestation);
    this.sequencingMs += performance.now() - started;
    this.scheduleWrite();
    this.armAttestationTimer();
    return answer;
  }

  /**
   * When entries are left unattested, a timer attests the head once the
   * clock is attestEveryMs past the last attestation, so the last entries
   * before a quiet spell are attested too. While entries keep coming the
   * sequencer attests first and the timer finds nothing to do.
   */
  private armAttestationTimer(): void {
    const maker = this.attestationMaker;
    if (maker === undefined || this.cancelAttestationTimer !== undefined || this.closing || this.haltError !== undefined) return;
    if (!maker.hasUnattested(this.liveState)) return;
    // setTimeout takes at most 2^31 − 1 ms (longer delays fire at once), so a far-off attestation is re-checked then.
    this.cancelAttestationTimer = this.scheduler.runAfter(Math.min(maker.msUntilDue(this.clock()), maximumTimerDelayMs), () => {
      this.cancelAttestationTimer = undefined;
      if (this.closing || this.haltError !== undefined || !maker.hasUnattested(this.liveState)) return;
      // The clock may lag the log time (it is only ever taken forward): wait until it has caught up.
      if (maker.msUntilDue(this.clock()) > 0) this.armAttestationTimer();
      else this.attestHead();
    });
  }

  /**
   * Attests the last sequenced entry as an item of its own, queued after that
   * entry, so it is written in the entry's batch or a later one, never before it.
   */
  private attestHead(): void {
    let made: MadeAttestation;
    try {
      made = this.attestationMaker!.attest(this.liveState, this.sequencedSequence, this.sequencedHash);
    } catch (error) {
      this.halt('the attestation of the head failed', error);
      return;
    }
    this.queue.push({ committed: undefined, attestation: made.attestation, operations: [made.operation], resolve: ignore, reject: ignore });
    this.queueAttestationRecord(made.attestation);
    this.scheduleWrite();
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
    this.scheduler.runSoon(() => {
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
      // An attestation record stays with the attestation before it, so a batch may hold one item more.
      let size = this.maximumBatchEntries;
      while (size < this.queue.length && this.queue[size]!.joinsPrevious === true) size += 1;
      batch = this.queue.slice(0, size);
      this.queue = this.queue.slice(size);
    }
    this.writing = batch;
    this.writeBatchNow(batch);
  }

  /**
   * Writes `batch` (this.writing). A failure halts the node, except one for
   * want of file descriptors: nothing of the batch was written then (LevelDB
   * failed to open a file before appending), so the same batch is written
   * again after a back-off, up to storageRetryLimitMs, while submit() refuses
   * new work. Entries of the batch stay unacknowledged until it is durable.
   */
  private writeBatchNow(batch: QueuedEntry[]): void {
    writeBatch(this.db, batch.map((entry) => entry.operations), { sync: true }).then(
      () => {
        if (this.storageBusy !== undefined) {
          this.logger.warn({ retries: this.storageBusy.retries, durationMs: this.clock() - this.storageBusy.sinceMs }, 'ledger: storage has file descriptors again; writes resumed');
          this.storageBusy = undefined;
        }
        this.written(batch);
      },
      (error: unknown) => {
        if (isDescriptorExhaustion(error) && this.haltError === undefined) {
          const now = this.clock();
          if (this.storageBusy === undefined) {
            this.storageBusy = { sinceMs: now, retries: 0, delayMs: storageRetryFirstDelayMs };
            this.storageBusyEpisodes += 1;
            this.logger.error({ err: error, entries: batch.length }, 'ledger: a batch write found no free file descriptor; retrying it and refusing new transactions meanwhile');
          }
          const busy = this.storageBusy;
          if (now - busy.sinceMs < this.storageRetryLimitMs) {
            busy.retries += 1;
            const delayMs = busy.delayMs;
            busy.delayMs = Math.min(busy.delayMs * 2, storageRetryMaximumDelayMs);
            this.scheduler.runAfter(delayMs, () => this.writeBatchNow(batch));
            return;
          }
        }
        this.storageBusy = undefined;
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
    let entryCount = 0;
    for (const item of batch) {
      if (item.committed === undefined) continue;
      entryCount += 1;
      const last = item.committed;
      this.durable = { sequence: last.sequence, entryHash: hex(last.entryHash), logTimeMs: last.logTimeMs };
    }
    this.batchesWritten += 1;
    this.entriesWritten += entryCount;
    // Keep the disk busy: the next accumulated batch starts before the waiters run.
    this.writeNext();
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
      if (item.attestation !== undefined) this.attestationDurable(item.attestation);
    }
  }

  /** An attestation's batch is on disk: it becomes the one served, and its subscribers and proof waiters hear of it. */
  private attestationDurable(attestation: Attestation): void {
    this.durableAttestation = attestation;
    for (const listener of this.attestationListeners) {
      try {
        listener(attestation);
      } catch (error) {
        this.logger.error({ err: error, sequence: attestation.sequence }, 'ledger: an attestation subscriber threw');
      }
    }
    const waiters = this.attestationWaiters;
    this.attestationWaiters = waiters.filter((waiter) => waiter.sequence > attestation.sequence);
    for (const waiter of waiters) if (waiter.sequence <= attestation.sequence) waiter.resolve();
  }

  /** Resolves once the attestation at `sequence` (or a later one) is durable; rejects if the node halts first. */
  private whenAttestationDurable(sequence: number): Promise<void> {
    if ((this.durableAttestation?.sequence ?? 0) >= sequence) return Promise.resolve();
    if (this.haltError !== undefined) return Promise.reject(this.haltError);
    return new Promise((resolve, rejectWaiter) => this.attestationWaiters.push({ sequence, resolve, reject: rejectWaiter }));
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
    const attestationWaiters = this.attestationWaiters;
    this.attestationWaiters = [];
    for (const waiter of attestationWaiters) waiter.reject(this.haltError);
    this.cancelAttestationTimer?.();
    this.cancelAttestationTimer = undefined;
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
  /** The latest attestation whose batch is durable; undefined before the first. */
  latestAttestation(): Attestation | undefined {
    return this.durableAttestation;
  }

  /** The durable attestation that follows entry `sequence`, if one was made there. */
  async attestationAt(sequence: number): Promise<Attestation | undefined> {
    if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError(`sequence must be a positive integer, got ${sequence}`);
    const latest = this.durableAttestation;
    if (latest === undefined || sequence > latest.sequence) return undefined;
    if (sequence === latest.sequence) return latest;
    return (await readStoredAttestation(this.db, sequence))?.attestation;
  }

  /** Durable attestations at sequences from `fromSequence` on, in sequence order, at most `limit`. */
  async readAttestations(fromSequence: number, limit: number): Promise<Attestation[]> {
    if (!Number.isSafeInteger(fromSequence) || fromSequence < 1) throw new RangeError(`fromSequence must be a positive integer, got ${fromSequence}`);
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    const latest = this.durableAttestation;
    if (latest === undefined || limit === 0) return [];
    const attestations: Attestation[] = [];
    for await (const stored of readStoredAttestations(this.db, fromSequence, latest.sequence, limit)) attestations.push(stored.attestation);
    return attestations;
  }

  /**
   * Writes the durable attestations from `fromSequence` (default 1) to the
   * latest at the time of the call as JSON Lines: each one's stored canonical
   * JSON and a newline, in sequence order. Does not end `destination`.
   * Resolves with the number written.
   */
  async exportAttestations(destination: NodeJS.WritableStream, fromSequence = 1): Promise<number> {
    if (!Number.isSafeInteger(fromSequence) || fromSequence < 1) throw new RangeError(`fromSequence must be a positive integer, got ${fromSequence}`);
    const latest = this.durableAttestation;
    if (latest === undefined) return 0;
    let count = 0;
    let pending = '';
    for await (const stored of readStoredAttestations(this.db, fromSequence, latest.sequence)) {
      pending += `${stored.json}\n`;
      count += 1;
      if (pending.length >= exportChunkBytes) {
        const chunk = pending;
        pending = '';
        if (!destination.write(chunk)) await waitForDrain(destination);
      }
    }
    if (pending.length > 0 && !destination.write(pending)) await waitForDrain(destination);
    return count;
  }

  /** Calls `listener` with every attestation once its batch is durable, in sequence order. Returns an unsubscribe function. */
  subscribeAttestations(listener: (attestation: Attestation) => void): () => void {
    this.attestationListeners.add(listener);
    return () => {
      this.attestationListeners.delete(listener);
    };
  }

  /**
   * The inclusion proof of `accountId`'s leaf under the latest attestation,
   * or under the attestation at `sequence` (docs/attestation.md, "Inclusion
   * proofs"). The node keeps one liabilities tree, at the latest attestation,
   * with undo logs reaching back over the recent older attestations within
   * proofHistoryBytes (and no further than the last newly listed asset, or
   * the node's start): an older one is answered `too-old`, naming the
   * sequences held. The answer waits, when the attestation's batch is still
   * being written, until it is durable.
   */
  async proof(accountId: string, sequence?: number): Promise<ProofAnswer> {
    const maker = this.attestationMaker;
    if (maker === undefined) {
      return { found: false, reason: 'no-attestations', message: 'This node makes no attestations (it has no operator key to sign them), so it has no proofs.' };
    }
    const latest = maker.latest;
    if (latest === undefined) return { found: false, reason: 'no-attestations', message: 'There is no attestation yet: the log is empty.' };
    const unknownAccount = (at: number): ProofAnswer => ({
      found: false,
      reason: 'unknown-account',
      message: `Account ${accountId.slice(0, 44)} has no leaf in the attestation at sequence ${at}: no deposit had been credited to it by then.`,
    });
    if (sequence === undefined || sequence === latest.sequence) {
      const proof = maker.inclusionProof(accountId);
      if (proof === undefined) return unknownAccount(latest.sequence);
      await this.whenAttestationDurable(latest.sequence);
      return { found: true, proof };
    }
    const refusal = (): ProofAnswer | undefined => {
      if (maker.holds(sequence)) return undefined;
      const held = maker.heldSequences();
      const range = held === undefined || held.oldest === held.latest
        ? `proofs are served under the latest attestation (sequence ${held?.latest ?? latest.sequence}) only`
        : `proofs are served under the attestations from sequence ${held.oldest} to ${held.latest}`;
      if (Number.isSafeInteger(sequence) && sequence >= 1 && sequence < (held?.oldest ?? latest.sequence)) {
        return {
          found: false,
          reason: 'too-old',
          message:
            `The attestation at sequence ${sequence} is too old for a proof: ${range}. The node keeps the recent ` +
            'attestations\' liabilities trees within a memory budget; older trees can be rebuilt from the exported log.',
        };
      }
      return { found: false, reason: 'not-attested', message: `There is no attestation at sequence ${sequence}; ${range}.` };
    };
    const refused = refusal();
    if (refused !== undefined) return refused;
    await this.whenAttestationDurable(sequence);
    const attestation = await this.attestationAt(sequence);
    // The tree may have moved on (and dropped it) while the attestation was read.
    const dropped = refusal();
    if (dropped !== undefined) return dropped;
    if (attestation === undefined) throw new Error(`ledger: the attestation at sequence ${sequence} is held in the tree but not stored`);
    const proof = maker.inclusionProofAt(attestation, accountId);
    return proof === undefined ? unknownAccount(sequence) : { found: true, proof };
  }

  /** The most recent stored snapshot record (at or before the durable head), byte for byte. */
  async readLatestSnapshot(): Promise<StoredSnapshot | undefined> {
    const head = this.durable.sequence;
    if (head < 1) return undefined;
    for await (const [key, record] of this.db.iterator({ gte: snapshotRange.gte, lte: snapshotKey(head), reverse: true, limit: 1 })) {
      const sequence = sequenceOfKey(key);
      if (sequence === undefined) throw new LogFormatError(`a snapshot key has ${key.length} bytes instead of 9`);
      return { sequence, record };
    }
    return undefined;
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

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.cancelAttestationTimer?.();
      this.cancelAttestationTimer = undefined;
      await this.whenIdle();
      // A clean stop leaves no entry unattested, so an export taken afterwards covers the whole log.
      if (this.attestationMaker?.hasUnattested(this.liveState) === true && this.haltError === undefined) {
        this.attestHead();
        await this.whenIdle();
      }
      this.endOverloadWhenQuiet(true);
      await this.pool.close();
      await this.db.close();
      this.logger.info(
        {
          sequence: this.durable.sequence,
          entryHash: this.durable.entryHash,
          halted: this.haltError !== undefined,
          // How close this life came to its admission bound, and how often it refused.
          peakPendingTransactions: this.peakPendingTransactions,
          overloadedTransactions: this.overloadedTransactions,
        },
        'ledger closed',
      );
    })();
    return this.closed;
  }
}

/**
 * A recovered attestation at the head must attest exactly the recovered
 * state: same head, same state hash, same liabilities root. Anything else
 * means the stored attestation or the state is not what the log gives.
 */
function checkRecoveredAttestation(attestation: Attestation, maker: AttestationMaker, state: ExchangeState, headHash: string, location: string): void {
  const root = maker.treeRoot();
  const differences: string[] = [];
  if (attestation.headHash !== headHash) differences.push(`head hash ${attestation.headHash}, but the entry hashes to ${headHash}`);
  const recoveredStateHash = stateHashHex(state);
  if (attestation.stateHash !== recoveredStateHash) differences.push(`state hash ${attestation.stateHash}, but the recovered state hashes to ${recoveredStateHash}`);
  if (attestation.liabilitiesRoot !== root.liabilitiesRoot || attestation.accountCount !== root.accountCount) {
    differences.push(
      `liabilities root ${attestation.liabilitiesRoot} over ${attestation.accountCount} accounts, ` +
        `but the recovered state gives ${root.liabilitiesRoot} over ${root.accountCount}`,
    );
  }
  if (differences.length > 0) {
    throw new RecoveryError('attestation-mismatch', location, attestation.sequence, `attestation ${attestation.sequence} records ${differences.join('; ')}`);
  }
}

/**
 * The head is the record of the latest stored attestation: the record's digest
 * must be that attestation's, and the tree (which a record does not change)
 * must have its root.
 */
function checkRecordedAttestation(attestation: Attestation, maker: AttestationMaker, state: ExchangeState, location: string): void {
  const digest = attestationDigestHex(attestation);
  const recorded = hex(state.attestationDigest);
  const root = maker.treeRoot();
  const differences: string[] = [];
  if (digest !== recorded) differences.push(`digest ${digest}, but the log records ${recorded}`);
  if (attestation.liabilitiesRoot !== root.liabilitiesRoot || attestation.accountCount !== root.accountCount) {
    differences.push(`liabilities root ${attestation.liabilitiesRoot}, but the recovered state gives ${root.liabilitiesRoot}`);
  }
  if (differences.length > 0) {
    throw new RecoveryError('attestation-mismatch', location, attestation.sequence, `attestation ${attestation.sequence} has ${differences.join('; ')}`);
  }
}

function hashSha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}
