/**
 * A follower of the etcd log: range reads to catch up, then a watch for new
 * chunks, with every chunk checked (contiguous, chained) before it is passed
 * on. The watch is only a fast path: etcd 3.4.23 (Debian's) predates fixes for
 * watch event-loss bugs, so any gap, reordering, chain break or missing tail
 * (the head says more than the chunks delivered) falls back to range reads,
 * and a poll of the head catches a lost last event. docs/cluster.md,
 * "Following".
 */
import type { IEvent } from 'etcd3';
import { decodeHead } from './etcd-keys.js';
import type { EtcdLogStore } from './etcd-log-store.js';
import { sleep } from './etcd-log-store.js';
import { checkContinuation, decodeChunk } from './log-chunk.js';
import { LogWatch } from './log-watch.js';
import { LogContinuityError, LogOutsideWindowError, type EncodedEntry, type LogPosition } from './log-store.js';

export interface FollowerOptions {
  /** With no watch event for this long, the follower reads the head to catch a lost last event (default 1,000 ms). */
  readonly pollIntervalMs?: number;
  /**
   * A test seam: sees each watch response's events and returns the ones the
   * follower receives, to simulate lost, reordered or duplicated events.
   */
  readonly watchEventFilter?: (events: IEvent[]) => IEvent[];
}

export interface FollowerStatistics {
  /** Chunks taken straight from the watch. */
  watchChunks: number;
  /** Catch-ups by range reads, and the batches they delivered. */
  rangeCatchUps: number;
  rangeBatches: number;
  /**
   * Watch events that did not continue the log (gap, reorder, broken chain,
   * malformed) and sent the follower to range reads.
   */
  gapsDetected: number;
  /** The head was ahead of the delivered chunks (a lost event at the tail). */
  tailGapsDetected: number;
  duplicatesSkipped: number;
  /** Watches that ended or failed and were started again after a catch-up. */
  watchRestarts: number;
  transientErrors: number;
}

/** Problems that are facts about the stored log, not about one read: the follower stops on them. */
function isFatal(error: unknown): boolean {
  return error instanceof LogContinuityError || error instanceof LogOutsideWindowError;
}

export class EtcdLogFollower {
  readonly statistics: FollowerStatistics = {
    watchChunks: 0,
    rangeCatchUps: 0,
    rangeBatches: 0,
    gapsDetected: 0,
    tailGapsDetected: 0,
    duplicatesSkipped: 0,
    watchRestarts: 0,
    transientErrors: 0,
  };
  private position: LogPosition;
  private readonly pollIntervalMs: number;

  constructor(
    private readonly store: EtcdLogStore,
    after: LogPosition,
    private readonly options: FollowerOptions = {},
  ) {
    this.position = after;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
  }

  /** The last entry delivered. */
  delivered(): LogPosition {
    return this.position;
  }

  async *batches(signal?: AbortSignal): AsyncGenerator<EncodedEntry[], void, undefined> {
    const watch = new LogWatch(this.store, this.options.watchEventFilter);
    // A function, so TypeScript does not narrow the flag across awaits.
    const aborted = (): boolean => signal?.aborted === true;
    signal?.addEventListener('abort', watch.notify, { once: true });
    const revision = yield* this.catchUp(signal);
    if (aborted()) return;
    await watch.start(revision + 1);
    try {
      while (!aborted()) {
        if (watch.broken) {
          watch.broken = false;
          this.statistics.watchRestarts += 1;
          await watch.stop();
          watch.pending.length = 0;
          const caughtUpAt = yield* this.catchUp(signal);
          if (aborted()) return;
          try {
            await watch.start(caughtUpAt + 1);
          } catch {
            this.statistics.transientErrors += 1;
            watch.broken = true;
            await sleep(this.pollIntervalMs, signal);
          }
          continue;
        }
        if (watch.pending.length === 0) {
          const woken = await watch.wait(this.pollIntervalMs);
          if (!woken && !aborted()) yield* this.catchUpIfBehind(signal);
          continue;
        }
        const outcome = yield* this.deliverWatched(watch.pending.splice(0), signal);
        if (outcome === 'aborted') return;
        if (outcome === 'catchUp') yield* this.catchUp(signal);
      }
    } finally {
      signal?.removeEventListener('abort', watch.notify);
      await watch.stop();
    }
  }

  /** After a quiet poll interval: reads the head, and catches up if it is past the last entry delivered. */
  private async *catchUpIfBehind(signal?: AbortSignal): AsyncGenerator<EncodedEntry[], void, undefined> {
    let ahead = false;
    try {
      ahead = (await this.store.head()).sequence > this.position.sequence;
    } catch {
      this.statistics.transientErrors += 1;
    }
    if (ahead) {
      this.statistics.tailGapsDetected += 1;
      yield* this.catchUp(signal);
    }
  }

  /**
   * Delivers the chunks of watched events that continue the log, in order.
   * Answers 'catchUp' when the range reads must decide (a gap, a reordered,
   * unchained or malformed chunk, a head past the last chunk delivered),
   * 'aborted' when the signal aborted, else 'delivered'.
   */
  private async *deliverWatched(
    events: readonly IEvent[],
    signal?: AbortSignal,
  ): AsyncGenerator<EncodedEntry[], 'delivered' | 'catchUp' | 'aborted', undefined> {
    const keys = this.store.keys;
    let needsCatchUp = false;
    let headSeen = 0;
    for (const event of events) {
      if (event.type !== 'Put') continue;
      if (keys.isHead(event.kv.key)) {
        try {
          headSeen = Math.max(headSeen, decodeHead(event.kv.value).sequence);
        } catch {
          needsCatchUp = true;
        }
        continue;
      }
      const firstSequence = keys.firstSequenceOfChunk(event.kv.key);
      if (firstSequence === undefined || needsCatchUp) continue;
      let entries: EncodedEntry[];
      try {
        const chunk = decodeChunk(event.kv.value, 'a watched chunk');
        if (chunk.firstSequence !== firstSequence)
          throw new LogContinuityError('malformed', firstSequence, 'the chunk does not start at its key');
        if (firstSequence + chunk.encodings.length - 1 <= this.position.sequence) {
          this.statistics.duplicatesSkipped += 1;
          continue;
        }
        entries = checkContinuation(this.position, chunk.encodings);
      } catch {
        // Out of order, a gap, or not chained: the range read decides what the log really holds.
        this.statistics.gapsDetected += 1;
        needsCatchUp = true;
        continue;
      }
      const last = entries[entries.length - 1]!;
      this.position = { sequence: last.sequence, entryHash: last.entryHash };
      this.statistics.watchChunks += 1;
      yield entries;
      if (signal?.aborted === true) return 'aborted';
    }
    if (!needsCatchUp && headSeen > this.position.sequence) {
      this.statistics.tailGapsDetected += 1;
      needsCatchUp = true;
    }
    return needsCatchUp ? 'catchUp' : 'delivered';
  }

  /**
   * Range reads from the delivered position to the head, at the head's
   * revision; resolves with that revision. Transient errors (etcd failing
   * over, a compaction under a paged read) are retried; a broken or trimmed
   * log is thrown.
   */
  private async *catchUp(signal?: AbortSignal): AsyncGenerator<EncodedEntry[], number, undefined> {
    this.statistics.rangeCatchUps += 1;
    let backoffMs = 50;
    for (;;) {
      try {
        const { head, revision } = await this.store.headWithRevision();
        while (this.position.sequence < head.sequence) {
          const { chunks } = await this.store.readChunksFrom(this.position.sequence + 1, revision);
          if (chunks.length === 0) throw new LogOutsideWindowError(this.position.sequence + 1, undefined);
          const continued = this.store.continueWith(this.position, chunks, head.sequence);
          if (continued.entries.length === 0)
            throw new LogContinuityError(
              'gap',
              this.position.sequence + 1,
              'a range read returned no entries before the head',
            );
          this.position = continued.position;
          this.statistics.rangeBatches += 1;
          yield continued.entries;
          if (signal?.aborted === true) return revision;
        }
        return revision;
      } catch (error) {
        if (isFatal(error) || signal?.aborted === true) throw error;
        this.statistics.transientErrors += 1;
        await sleep(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, 1_000);
      }
    }
  }
}
