/**
 * The fenced writer of the etcd log: the sequencer that won the election.
 * docs/cluster.md, "Appending", is the protocol: every txn compares the
 * leader key (its create revision and lease: the fence) and the head (the
 * expected predecessor), then puts the chunks and the new head. One txn in
 * flight at a time, several queued batches per txn.
 */
import type { ICompare, IKeyValue, IRequestOp, Lease } from 'etcd3';
import { decodeHead, encodeHead } from './etcd-keys.js';
import type { EtcdLogStore } from './etcd-log-store.js';
import { sleep } from './etcd-log-store.js';
import { checkContinuation, chunkLengthBytes, describePosition, encodeChunk, samePosition } from './log-chunk.js';
import {
  LogAppenderDeposedError,
  LogAppendOutcomeUnknownError,
  type LogAppender,
  type LogPosition,
} from './log-store.js';

export interface EtcdAppenderOptions {
  /** The election lease's TTL in whole seconds (default 5). A sequencer that cannot renew it within the TTL is deposed. */
  readonly leaseTtlSeconds?: number;
  /** Target size of one txn's chunks (default 256 KiB); a single larger entry gets a txn of its own. */
  readonly maximumTxnBytes?: number;
  /** Chunks per txn at most (default 16; etcd allows 128 operations per txn). */
  readonly maximumChunksPerTxn?: number;
  /** How long to keep trying to learn whether an errored txn landed before giving up (default 30,000 ms). */
  readonly outcomeDeadlineMs?: number;
  /** The rolling window; without it nothing is ever trimmed. */
  readonly window?: WindowOptions;
  /**
   * A txn unconfirmed for longer than this (default 1,000 ms), or one being resolved after an error, makes
   * `unavailable()` say so: the node then refuses new transactions with 503 instead of queueing them behind it.
   */
  readonly stalledAfterMs?: number;
}

export interface WindowOptions {
  /** Chunks are kept while some replica lacks them, but never more than about this many bytes (default 256 MiB). */
  readonly maximumBytes?: number;
  /** Trim after this many bytes have been appended since the last trim (default maximumBytes / 8). */
  readonly trimEveryBytes?: number;
}

/** The fence: what every append compares. */
export interface Fence {
  readonly sequencerId: string;
  readonly leaseId: string;
  /** The leader key's create revision: a new election creates the key anew, so this changes with every leadership. */
  readonly createRevision: string;
}

export interface AppenderStatistics {
  txns: number;
  chunks: number;
  entries: number;
  bytes: number;
  /** Txns that errored and whose outcome had to be found out by reading the head. */
  outcomeUnknown: number;
  /** Of those, the ones that had in fact landed. */
  outcomeLanded: number;
  retries: number;
  trims: number;
  chunksTrimmed: number;
  compactions: number;
  compactionErrors: number;
}

interface PendingChunk {
  readonly firstSequence: number;
  readonly value: Uint8Array;
  readonly last: LogPosition;
  /** Set on the last chunk of an append call: settles that call. */
  readonly waiter?: { resolve(head: LogPosition): void; reject(error: Error): void };
}

interface WindowChunk {
  readonly firstSequence: number;
  readonly bytes: number;
}

const defaultMaximumTxnBytes = 256 * 1024;

export class EtcdLogAppender implements LogAppender {
  readonly fence: Fence;
  readonly statistics: AppenderStatistics = {
    txns: 0,
    chunks: 0,
    entries: 0,
    bytes: 0,
    outcomeUnknown: 0,
    outcomeLanded: 0,
    retries: 0,
    trims: 0,
    chunksTrimmed: 0,
    compactions: 0,
    compactionErrors: 0,
  };
  private readonly store: EtcdLogStore;
  private readonly lease: Lease;
  private readonly maximumTxnBytes: number;
  private readonly maximumChunksPerTxn: number;
  private readonly outcomeDeadlineMs: number;
  private readonly windowMaximumBytes: number | undefined;
  private readonly trimEveryBytes: number;
  private readonly stalledAfterMs: number;
  /** When the txn now in flight was first sent (Date.now()), across its retries; undefined when none is. */
  private txnSentAtMs: number | undefined;
  /** Set while an errored txn's outcome is being found out by reading the head. */
  private resolvingOutcome = false;
  private durable: LogPosition;
  private queued: LogPosition;
  private queue: PendingChunk[] = [];
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;
  private closing = false;
  /** Chunks in etcd's window as this appender knows them, oldest first; inherited ones have an estimated size. */
  private windowChunks: WindowChunk[] | undefined;
  private windowBytes = 0;
  private bytesSinceTrim = 0;

  /** Made by EtcdLogStore.campaign once the election is won. */
  constructor(store: EtcdLogStore, lease: Lease, fence: Fence, head: LogPosition, options: EtcdAppenderOptions) {
    this.store = store;
    this.lease = lease;
    this.fence = fence;
    this.durable = head;
    this.queued = head;
    this.maximumTxnBytes = options.maximumTxnBytes ?? defaultMaximumTxnBytes;
    this.maximumChunksPerTxn = options.maximumChunksPerTxn ?? 16;
    this.outcomeDeadlineMs = options.outcomeDeadlineMs ?? 30_000;
    this.stalledAfterMs = options.stalledAfterMs ?? 1_000;
    if (options.window !== undefined) {
      this.windowMaximumBytes = options.window.maximumBytes ?? 256 * 1024 * 1024;
      this.trimEveryBytes = options.window.trimEveryBytes ?? Math.max(1, Math.floor(this.windowMaximumBytes / 8));
    } else {
      this.windowMaximumBytes = undefined;
      this.trimEveryBytes = Number.POSITIVE_INFINITY;
    }
    lease.on('lost', (error) =>
      this.fail(new LogAppenderDeposedError(`its lease ${fence.leaseId} was lost (${error.message})`)),
    );
  }

  durableHead(): LogPosition {
    return this.durable;
  }

  /**
   * Why a new append would only wait right now, or undefined: a txn errored and its outcome is being resolved,
   * or one has gone unconfirmed for `stalledAfterMs` (etcd without a quorum never confirms it). What is already
   * queued stays queued; it is acknowledged once etcd confirms it, or the appender stops.
   */
  unavailable(): string | undefined {
    if (this.resolvingOutcome)
      return (
        'The etcd log is unreachable or has no quorum: ' +
        'this sequencer is finding out whether its last write landed.'
      );
    const sentAtMs = this.txnSentAtMs;
    if (sentAtMs === undefined) return undefined;
    const waitedMs = Date.now() - sentAtMs;
    if (waitedMs <= this.stalledAfterMs) return undefined;
    return `The etcd log has not confirmed a write for ${waitedMs} ms (no quorum, or electing a leader).`;
  }

  /** Why this appender stopped, if it has. */
  stopped(): Error | undefined {
    return this.failure;
  }

  append(encodings: readonly Uint8Array[]): Promise<LogPosition> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new LogAppenderDeposedError('it is closing'));
    if (encodings.length === 0) return Promise.reject(new RangeError('append needs at least one entry'));
    let entries: ReturnType<typeof checkContinuation>;
    try {
      entries = checkContinuation(this.queued, encodings);
    } catch (error) {
      // Nothing was queued: the caller's entries do not continue the log.
      return Promise.reject(error);
    }
    return new Promise<LogPosition>((resolve, reject) => {
      // Cut into chunks of at most maximumTxnBytes (an entry larger than that is a chunk of its own).
      let start = 0;
      let bytes = chunkLengthBytes([]);
      for (let index = 0; index <= entries.length; index += 1) {
        const entry = entries[index];
        const isEnd = entry === undefined;
        const entryBytes = isEnd ? 0 : 4 + entry.encoding.length;
        if (isEnd || (index > start && bytes + entryBytes > this.maximumTxnBytes)) {
          const slice = entries.slice(start, index);
          const last = slice[slice.length - 1]!;
          this.queue.push({
            firstSequence: slice[0]!.sequence,
            value: encodeChunk(
              slice[0]!.sequence,
              slice.map((item) => item.encoding),
            ),
            last: { sequence: last.sequence, entryHash: last.entryHash },
            ...(isEnd ? { waiter: { resolve, reject } } : {}),
          });
          start = index;
          bytes = chunkLengthBytes([]);
        }
        bytes += entryBytes;
      }
      const last = entries[entries.length - 1]!;
      this.queued = { sequence: last.sequence, entryHash: last.entryHash };
      this.pump();
    });
  }

  private pump(): void {
    if (this.writing !== undefined) return;
    this.writing = this.writeQueued().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0 && this.failure === undefined) this.pump();
    });
  }

  private async writeQueued(): Promise<void> {
    if (this.windowMaximumBytes !== undefined && this.windowChunks === undefined) {
      try {
        await this.loadWindow();
      } catch {
        // Listed again at the first trim.
      }
    }
    while (this.queue.length > 0 && this.failure === undefined) {
      const chunks: PendingChunk[] = [];
      let bytes = 0;
      while (chunks.length < this.maximumChunksPerTxn && this.queue.length > 0) {
        const next = this.queue[0]!;
        if (chunks.length > 0 && bytes + next.value.length > this.maximumTxnBytes) break;
        chunks.push(next);
        bytes += next.value.length;
        this.queue.shift();
      }
      this.txnSentAtMs = Date.now();
      try {
        await this.commit(chunks, this.durable);
      } catch (error) {
        this.txnSentAtMs = undefined;
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const chunk of chunks) chunk.waiter?.reject(failure);
        this.fail(failure);
        return;
      }
      this.txnSentAtMs = undefined;
      // Landed while the fence held: durable on a quorum, so acknowledged even if the lease is lost right now.
      this.durable = chunks[chunks.length - 1]!.last;
      this.statistics.txns += 1;
      this.statistics.chunks += chunks.length;
      this.statistics.bytes += bytes;
      for (const chunk of chunks) {
        this.statistics.entries += chunk.last.sequence - chunk.firstSequence + 1;
        this.windowChunks?.push({ firstSequence: chunk.firstSequence, bytes: chunk.value.length });
        this.windowBytes += chunk.value.length;
      }
      for (const chunk of chunks) chunk.waiter?.resolve(chunk.last);
      this.bytesSinceTrim += bytes;
      if (this.windowMaximumBytes !== undefined && this.bytesSinceTrim >= this.trimEveryBytes) {
        this.bytesSinceTrim = 0;
        try {
          await this.trimWindow();
        } catch (error) {
          if (error instanceof LogAppenderDeposedError) {
            this.fail(error);
            return;
          }
          // A failed trim loses nothing; the next one retries.
        }
      }
    }
  }

  private fenceCompares(): ICompare[] {
    const leader = this.store.keys.leader;
    return [
      { key: leader, target: 'Create', result: 'Equal', create_revision: this.fence.createRevision },
      { key: leader, target: 'Lease', result: 'Equal', lease: this.fence.leaseId },
    ];
  }

  private holdsFence(leader: IKeyValue | undefined): boolean {
    return (
      leader !== undefined &&
      String(leader.create_revision) === String(this.fence.createRevision) &&
      String(leader.lease) === String(this.fence.leaseId)
    );
  }

  /**
   * One guarded txn, retried until its outcome is known: it resolves once
   * the chunks are in etcd (by this call or an earlier attempt whose reply
   * was lost), and throws LogAppenderDeposedError once the fence is gone, or
   * LogAppendOutcomeUnknownError when etcd cannot be read before the deadline.
   */
  private async commit(chunks: readonly PendingChunk[], expected: LogPosition): Promise<void> {
    const keys = this.store.keys;
    const target = chunks[chunks.length - 1]!.last;
    const success: IRequestOp[] = chunks.map((chunk) => ({
      request_put: {
        key: keys.chunk(chunk.firstSequence),
        value: Buffer.from(chunk.value.buffer, chunk.value.byteOffset, chunk.value.byteLength),
      },
    }));
    success.push({ request_put: { key: keys.head, value: encodeHead(target) } });
    const request = {
      compare: [
        ...this.fenceCompares(),
        { key: keys.head, target: 'Value' as const, result: 'Equal' as const, value: encodeHead(expected) },
      ],
      success,
      failure: [{ request_range: { key: keys.leader } }, { request_range: { key: keys.head } }],
    };
    const deadline = Date.now() + this.outcomeDeadlineMs;
    let backoffMs = 50;
    for (;;) {
      let leader: IKeyValue | undefined;
      let head: LogPosition;
      try {
        const response = await this.store.client.kv.txn(request);
        if (response.succeeded) return;
        leader = response.responses[0]?.response_range.kvs[0];
        const headValue = response.responses[1]?.response_range.kvs[0]?.value;
        if (headValue === undefined) throw new LogAppenderDeposedError('the head key is gone');
        head = decodeHead(headValue);
        // A refusal right after an attempt whose reply was lost (the client retries) may be our own txn having landed.
        if (samePosition(head, target)) return;
      } catch (error) {
        if (error instanceof LogAppenderDeposedError) throw error;
        this.statistics.outcomeUnknown += 1;
        this.resolvingOutcome = true;
        const observed = await this.readStateUntil(deadline, error).finally(() => {
          this.resolvingOutcome = false;
        });
        leader = observed.leader;
        head = observed.head;
        if (samePosition(head, target)) {
          this.statistics.outcomeLanded += 1;
          return;
        }
      }
      if (!this.holdsFence(leader)) {
        throw new LogAppenderDeposedError(
          leader === undefined
            ? `the leader key is gone (lease ${this.fence.leaseId} expired or was revoked)`
            : `another leadership holds the log (leader key created at revision ${leader.create_revision}, lease ${leader.lease}; ours ${this.fence.createRevision}, ${this.fence.leaseId})`,
        );
      }
      if (!samePosition(head, expected)) {
        // Cannot happen while the fence holds: only the fence holder writes the head.
        throw new LogAppenderDeposedError(
          `the head moved to ${describePosition(head)} under this sequencer's fence; expected ${describePosition(expected)}`,
        );
      }
      // Known not to have landed, and still ours: try again (the same content, so a late landing of the first try is harmless).
      if (Date.now() > deadline)
        throw new LogAppendOutcomeUnknownError(
          `the append after ${describePosition(expected)} kept failing for ${this.outcomeDeadlineMs} ms`,
        );
      this.statistics.retries += 1;
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 1_000);
    }
  }

  /** Reads the leader key and the head at one revision, retrying until the deadline. */
  private async readStateUntil(
    deadline: number,
    cause: unknown,
  ): Promise<{ leader: IKeyValue | undefined; head: LogPosition }> {
    const keys = this.store.keys;
    let backoffMs = 50;
    let lastError: unknown = cause;
    while (Date.now() <= deadline) {
      try {
        const response = await this.store.client.kv.txn({
          compare: [],
          success: [{ request_range: { key: keys.leader } }, { request_range: { key: keys.head } }],
          failure: [],
        });
        const headValue = response.responses[1]?.response_range.kvs[0]?.value;
        if (headValue === undefined) throw new LogAppenderDeposedError('the head key is gone');
        return { leader: response.responses[0]?.response_range.kvs[0], head: decodeHead(headValue) };
      } catch (error) {
        if (error instanceof LogAppenderDeposedError) throw error;
        lastError = error;
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 1_000);
      }
    }
    throw new LogAppendOutcomeUnknownError(`etcd could not be read within ${this.outcomeDeadlineMs} ms`, {
      cause: lastError,
    });
  }

  /**
   * Deletes the chunks every replica already holds, and beyond that the
   * oldest chunks while the window exceeds its byte bound (a replica that far
   * behind catches up from another replica's export), then compacts etcd's
   * history so the space is reused. Fenced like an append.
   */
  async trimWindow(): Promise<{ deletedBefore: number | undefined }> {
    const keys = this.store.keys;
    if (this.windowChunks === undefined) await this.loadWindow();
    const chunks = this.windowChunks!;
    const progress = await this.store.replicaProgress();
    let keepFrom = 0; // index of the first chunk kept
    if (progress.size > 0) {
      const acknowledged = Math.min(...progress.values());
      // A chunk may go when the next one starts at or before acknowledged + 1 (all its entries are held by everyone).
      while (keepFrom + 1 < chunks.length && chunks[keepFrom + 1]!.firstSequence <= acknowledged + 1) keepFrom += 1;
    }
    let bytesKept = 0;
    for (let index = keepFrom; index < chunks.length; index += 1) bytesKept += chunks[index]!.bytes;
    // The newest chunk always stays, so a follower can always find the tail.
    while (
      this.windowMaximumBytes !== undefined &&
      bytesKept > this.windowMaximumBytes &&
      keepFrom < chunks.length - 1
    ) {
      bytesKept -= chunks[keepFrom]!.bytes;
      keepFrom += 1;
    }
    if (keepFrom === 0) return { deletedBefore: undefined };
    const firstKept = chunks[keepFrom]!.firstSequence;
    const response = await this.store.client.kv.txn({
      compare: this.fenceCompares(),
      success: [{ request_delete_range: { key: keys.chunkPrefix, range_end: keys.chunk(firstKept) } }],
      failure: [],
    });
    if (!response.succeeded) throw new LogAppenderDeposedError('the fence was gone when the window was trimmed');
    this.windowChunks = chunks.slice(keepFrom);
    this.windowBytes = bytesKept;
    this.statistics.trims += 1;
    this.statistics.chunksTrimmed += keepFrom;
    try {
      // Compaction drops the deleted chunks' old revisions so etcd reuses their space; watchers older than it resume by range reads.
      await this.store.client.kv.compact({ revision: response.header.revision });
      this.statistics.compactions += 1;
    } catch {
      this.statistics.compactionErrors += 1;
    }
    return { deletedBefore: firstKept };
  }

  /** Lists the chunks already in etcd (keys only); their sizes are unknown, so each counts as a full txn (the bound errs towards trimming). */
  private async loadWindow(): Promise<void> {
    const keys = this.store.keys;
    const chunks: WindowChunk[] = [];
    let from: Buffer = keys.chunkPrefix;
    for (;;) {
      const response = await this.store.client.kv.range({
        key: from,
        range_end: keys.chunkRangeEnd,
        keys_only: true,
        limit: 10_000,
        sort_order: 'Ascend',
        sort_target: 'Key',
      });
      for (const kv of response.kvs) {
        const firstSequence = keys.firstSequenceOfChunk(kv.key);
        if (firstSequence !== undefined && firstSequence <= this.durable.sequence)
          chunks.push({ firstSequence, bytes: this.maximumTxnBytes });
      }
      const last = response.kvs[response.kvs.length - 1];
      if (!response.more || last === undefined) break;
      from = Buffer.concat([Buffer.from(last.key), Buffer.from([0])]);
    }
    // Chunks this appender wrote before the listing are in it already; keep the list exact from here on.
    this.windowChunks = chunks;
    this.windowBytes = chunks.reduce((sum, chunk) => sum + chunk.bytes, 0);
  }

  /** The window as this appender accounts it (inherited chunks at their estimated size). */
  windowState(): { chunks: number; bytes: number } {
    return { chunks: this.windowChunks?.length ?? 0, bytes: this.windowBytes };
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    const queue = this.queue;
    this.queue = [];
    for (const chunk of queue) chunk.waiter?.reject(error);
  }

  /** Waits for queued appends, then revokes the lease so a standby can take over at once. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.writing !== undefined) await this.writing;
    this.fail(new LogAppenderDeposedError('it was closed'));
    await this.lease.revoke().catch(() => undefined);
  }

  /** Simulates a crashed sequencer for tests: stops renewing the lease without revoking it, so it expires after its TTL. */
  abandonLeaseForTesting(): void {
    this.lease.release();
  }
}
