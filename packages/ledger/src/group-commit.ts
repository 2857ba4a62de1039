/**
 * The group commit: sequenced items wait in a queue; one write is in flight
 * at a time, and while it is, the next batch accumulates, so many submits
 * share one sync. One turn of the event loop gathers everything sequenced
 * meanwhile into the first batch.
 *
 * A failed write is reported to the node, which halts: its in-memory state is
 * then ahead of the log, so nothing more may be acknowledged. The exception
 * is a write that failed for want of file descriptors ("Too many open
 * files"): that is back-pressure, not damage (LevelDB failed to open a file
 * before appending, so nothing of the batch was written), so the same batch
 * is written again after a back-off, up to storageRetryLimitMs, while the
 * node refuses new transactions (storageBusy()).
 */
import type { Logger } from 'pino';
import { isDescriptorExhaustion } from './errors.js';
import type { LedgerLogWriter, LogCommitItem } from './level-log-store.js';
import { storageRetryFirstDelayMs, storageRetryMaximumDelayMs, type NodeScheduler } from './node-options.js';

export interface GroupCommitItem extends LogCommitItem {
  /**
   * An attestation record: it goes in the same batch as the item before it
   * (the attestation it records), so an attestation is never served before
   * the log records it.
   */
  readonly joinsPrevious?: boolean;
}

export interface GroupCommitHandlers<Item> {
  /** The batch is durable (called before the next write starts), `durationMs` after its write began. */
  durable(batch: readonly Item[], durationMs: number): void;
  /** The batch is durable and the next write has started: answer its waiters. */
  acknowledge(batch: readonly Item[]): void;
  /** A batch was written after the node stopped (halted): acknowledge nothing of it. */
  abandoned(batch: readonly Item[]): void;
  /** The write of `batch` failed for good. */
  failed(error: unknown, batch: readonly Item[]): void;
  /** Nothing is queued or being written any more. */
  drained(): void;
}

export interface GroupCommitSettings {
  readonly maximumBatchEntries: number;
  readonly storageRetryLimitMs: number;
}

interface StorageBusy {
  readonly sinceMs: number;
  retries: number;
  delayMs: number;
}

export class GroupCommit<Item extends GroupCommitItem> {
  private queue: Item[] = [];
  private writing: Item[] | undefined;
  private writeScheduled = false;
  private stopped = false;
  private storageBusyEpisode: StorageBusy | undefined;
  batchesWritten = 0;
  entriesWritten = 0;
  /** Times a batch write failed for want of file descriptors and was retried instead of halting. */
  storageBusyEpisodes = 0;

  constructor(
    private readonly writer: LedgerLogWriter,
    private readonly settings: GroupCommitSettings,
    private readonly scheduler: NodeScheduler,
    private readonly clock: () => number,
    private readonly logger: Logger,
    private readonly handlers: GroupCommitHandlers<Item>,
  ) {}

  get queuedItems(): number {
    return this.queue.length;
  }

  get writingItems(): number {
    return this.writing?.length ?? 0;
  }

  /** True while a batch write is retried for want of file descriptors: new work should be refused. */
  storageBusy(): boolean {
    return this.storageBusyEpisode !== undefined;
  }

  /** True when nothing is queued, scheduled or being written. */
  idle(): boolean {
    return this.queue.length === 0 && this.writing === undefined && !this.writeScheduled;
  }

  /** Queues `item` behind everything queued before; call schedule() to have it written. */
  enqueue(item: Item): void {
    this.queue.push(item);
  }

  /** Stops writing (the node halted) and hands back what was queued and never written. */
  stop(): Item[] {
    this.stopped = true;
    const queued = this.queue;
    this.queue = [];
    return queued;
  }

  schedule(): void {
    if (this.writing !== undefined || this.writeScheduled) return;
    this.writeScheduled = true;
    // One turn of the event loop gathers everything sequenced meanwhile into the first batch.
    this.scheduler.runSoon(() => {
      this.writeScheduled = false;
      this.writeNext();
    });
  }

  private writeNext(): void {
    if (this.writing !== undefined || this.stopped) return;
    if (this.queue.length === 0) {
      this.handlers.drained();
      return;
    }
    let batch: Item[];
    if (this.queue.length <= this.settings.maximumBatchEntries) {
      batch = this.queue;
      this.queue = [];
    } else {
      // An attestation record stays with the attestation before it, so a batch may hold one item more.
      let size = this.settings.maximumBatchEntries;
      while (size < this.queue.length && this.queue[size]!.joinsPrevious === true) size += 1;
      batch = this.queue.slice(0, size);
      this.queue = this.queue.slice(size);
    }
    this.writing = batch;
    this.write(batch, performance.now());
  }

  /** Writes `batch`; entries of the batch stay unacknowledged until it is durable. */
  private write(batch: Item[], startedMs: number): void {
    this.writer.commit(batch).then(
      () => {
        const busy = this.storageBusyEpisode;
        if (busy !== undefined) {
          const durationMs = this.clock() - busy.sinceMs;
          this.logger.warn(
            { retries: busy.retries, durationMs },
            'ledger: storage has file descriptors again; writes resumed',
          );
          this.storageBusyEpisode = undefined;
        }
        this.written(batch, performance.now() - startedMs);
      },
      (error: unknown) => {
        if (!this.retryLater(error, batch, startedMs)) this.writeFailed(error, batch);
      },
    );
  }

  /** Schedules the batch again when it failed for want of descriptors and the retry limit is not reached. */
  private retryLater(error: unknown, batch: Item[], startedMs: number): boolean {
    if (!isDescriptorExhaustion(error) || this.stopped) return false;
    const now = this.clock();
    if (this.storageBusyEpisode === undefined) {
      this.storageBusyEpisode = { sinceMs: now, retries: 0, delayMs: storageRetryFirstDelayMs };
      this.storageBusyEpisodes += 1;
      this.logger.error(
        { err: error, entries: batch.length },
        'ledger: a batch write found no free file descriptor; retrying it and refusing new transactions meanwhile',
      );
    }
    const busy = this.storageBusyEpisode;
    if (now - busy.sinceMs >= this.settings.storageRetryLimitMs) return false;
    busy.retries += 1;
    const delayMs = busy.delayMs;
    busy.delayMs = Math.min(busy.delayMs * 2, storageRetryMaximumDelayMs);
    this.scheduler.runAfter(delayMs, () => this.write(batch, startedMs));
    return true;
  }

  private writeFailed(error: unknown, batch: Item[]): void {
    this.storageBusyEpisode = undefined;
    this.writing = undefined;
    this.handlers.failed(error, batch);
    this.handlers.drained();
  }

  private written(batch: Item[], durationMs: number): void {
    this.writing = undefined;
    if (this.stopped) {
      // Stopped while this write was in flight: acknowledge nothing after the failure.
      this.handlers.abandoned(batch);
      this.handlers.drained();
      return;
    }
    let entryCount = 0;
    for (const item of batch) if (item.entry !== undefined) entryCount += 1;
    this.batchesWritten += 1;
    this.entriesWritten += entryCount;
    this.handlers.durable(batch, durationMs);
    // Keep the disk busy: the next accumulated batch starts before the waiters run.
    this.writeNext();
    this.handlers.acknowledge(batch);
  }
}
