import { genesisHash } from '@vex/engine';
import { describe, expect, test } from 'vitest';
import type { Logger } from 'pino';
import { recordingLogger } from '../test/helpers.js';
import { memoryDatabase, sequencedLog } from '../test/sequenced-log.js';
import { GroupCommit, type GroupCommitHandlers, type GroupCommitItem } from './group-commit.js';
import { LevelLogStore, type LedgerLogWriter, type LogCommitItem } from './level-log-store.js';
import { eventLoopScheduler } from './node-options.js';

const { genesis, sequenced } = sequencedLog(9, 60);

function itemAt(index: number, joinsPrevious = false): GroupCommitItem {
  const { committed, encoding } = sequenced[index]!;
  return { entry: { sequence: committed.sequence, encoding }, records: [], joinsPrevious };
}

/** The LevelDB store; its first `failures` commits fail with `error` (writing nothing); batches are noted. */
async function storeFailing(failures: number, error: Error) {
  const db = await memoryDatabase();
  const store = new LevelLogStore(db, { sequence: 0, entryHash: genesisHash(genesis) });
  const batches: number[][] = [];
  let failuresLeft = failures;
  const writer: LedgerLogWriter = {
    commit: (items: readonly LogCommitItem[]) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        return Promise.reject(error);
      }
      batches.push(items.map((item) => item.entry!.sequence));
      return store.commit(items);
    },
  };
  return { db, store, writer, batches };
}

function recordingHandlers() {
  const events: string[] = [];
  let drained: () => void = () => undefined;
  const whenDrained = new Promise<void>((resolve) => (drained = resolve));
  const handlers: GroupCommitHandlers<GroupCommitItem> = {
    durable: (batch) => events.push(`durable ${batch.length}`),
    acknowledge: (batch) => events.push(`acknowledge ${batch.length}`),
    abandoned: (batch) => events.push(`abandoned ${batch.length}`),
    failed: (error, batch) => events.push(`failed ${batch.length} ${(error as Error).message}`),
    drained: () => drained(),
  };
  return { events, handlers, whenDrained };
}

/** A group commit on the event loop and the wall clock, logging to `logger` (by default, one nobody reads). */
function groupCommitOf(
  writer: LedgerLogWriter,
  options: { maximumBatchEntries: number; storageRetryLimitMs: number },
  handlers: GroupCommitHandlers<GroupCommitItem>,
  logger: Logger = recordingLogger().logger,
): GroupCommit<GroupCommitItem> {
  return new GroupCommit(writer, options, eventLoopScheduler, Date.now, logger, handlers);
}

describe('GroupCommit', () => {
  test('gathers what is queued in one turn into one batch, and what comes during a write into the next', async () => {
    const { db, store, writer, batches } = await storeFailing(0, new Error('unused'));
    const { events, handlers, whenDrained } = recordingHandlers();
    const commit = groupCommitOf(
      writer,
      { maximumBatchEntries: 100, storageRetryLimitMs: 1_000 },
      {
        ...handlers,
        durable: (batch, durationMs) => {
          expect(durationMs).toBeGreaterThanOrEqual(0);
          handlers.durable(batch, durationMs);
          // Queued while the first batch was being written: the next batch.
          if (batches.length === 1) for (let index = 3; index < 6; index += 1) commit.enqueue(itemAt(index));
        },
      },
    );
    for (let index = 0; index < 3; index += 1) commit.enqueue(itemAt(index));
    commit.schedule();
    await whenDrained;
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(events).toEqual(['durable 3', 'acknowledge 3', 'durable 3', 'acknowledge 3']);
    expect(commit.batchesWritten).toBe(2);
    expect(commit.entriesWritten).toBe(6);
    expect(store.durableHead().sequence).toBe(6);
    expect(commit.idle()).toBe(true);
    await db.close();
  });

  test('caps a batch at maximumBatchEntries, but an item that joins the one before stays with it', async () => {
    const { db, writer, batches } = await storeFailing(0, new Error('unused'));
    const { handlers, whenDrained } = recordingHandlers();
    const commit = groupCommitOf(writer, { maximumBatchEntries: 2, storageRetryLimitMs: 1_000 }, handlers);
    [itemAt(0), itemAt(1), itemAt(2, true), itemAt(3), itemAt(4)].forEach((item) => commit.enqueue(item));
    commit.schedule();
    await whenDrained;
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    await db.close();
  });

  test('a write refused for want of descriptors is retried, new work refused; others are reported', async () => {
    const exhausted = Object.assign(new Error('IO error: Too many open files'), { code: 'EMFILE' });
    const busy = await storeFailing(2, exhausted);
    const log = recordingLogger();
    const first = recordingHandlers();
    const retrying = groupCommitOf(
      busy.writer,
      { maximumBatchEntries: 10, storageRetryLimitMs: 10_000 },
      first.handlers,
      log.logger,
    );
    retrying.enqueue(itemAt(0));
    retrying.schedule();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(retrying.storageBusy()).toBe(true);
    await first.whenDrained;
    expect(retrying.storageBusy()).toBe(false);
    expect(retrying.storageBusyEpisodes).toBe(1);
    expect(first.events).toEqual(['durable 1', 'acknowledge 1']);
    expect(log.lines.some((line) => line.msg.includes('writes resumed'))).toBe(true);

    const broken = await storeFailing(1, new Error('disk on fire'));
    const second = recordingHandlers();
    const failing = groupCommitOf(
      broken.writer,
      { maximumBatchEntries: 10, storageRetryLimitMs: 10_000 },
      second.handlers,
      log.logger,
    );
    failing.enqueue(itemAt(0));
    failing.schedule();
    await second.whenDrained;
    expect(second.events).toEqual(['failed 1 disk on fire']);
    failing.enqueue(itemAt(1));
    expect(failing.stop().length).toBe(1);
    await busy.db.close();
    await broken.db.close();
  });
});
