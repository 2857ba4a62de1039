import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stateHashHex, type LogEntry } from '@vex/engine';
import { afterEach, describe, expect, test } from 'vitest';
import {
  collect,
  fixture,
  recordingLogger,
  replayWithEngine,
  settableClock,
  signedEntry,
  submitInWaves,
  temporaryDirectory,
  type Signer,
} from '../test/helpers.js';
import type { BatchOperation } from './database.js';
import { LedgerClosedError, LedgerHaltedError, LedgerOverloadedError, LedgerStorageBusyError } from './errors.js';
import { ExchangeNode, type CommittedEntry, type NodeOptions, type SubmitResult } from './exchange-node.js';
import { encodeEntry, genesisHash, hashEntryEncoding, readLogExport } from '@vex/engine';
import { keyspaces, sequenceOfKey } from './storage-format.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const { entries, operator, traders, genesis } = fixture(11, 300);
const setupCount = 5 + 3 * traders.length; // listings and deposits come first in the generated log

async function openNode(options: Partial<NodeOptions> = {}) {
  let directory = options.dataDirectory;
  if (directory === undefined) {
    const created = await temporaryDirectory();
    cleanups.push(created.remove);
    directory = created.path;
  }
  const clock = settableClock(entries[0]!.logTimeMs);
  const log = recordingLogger();
  const node = await ExchangeNode.open({
    genesis,
    logger: log.logger,
    clock: clock.clock,
    verifierThreads: 1,
    ...options,
    dataDirectory: directory,
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) await node.close();
    closed = true;
  };
  cleanups.push(close);
  return { node, clock, directory: directory, lines: log.lines, close };
}

/** Lists the assets and markets and funds the traders, one submit at a time (so in order with any thread count). */
async function setUp(node: ExchangeNode, setClock: (timeMs: number) => void): Promise<void> {
  const results = await submitInWaves(node, setClock, entries.slice(0, setupCount), 1);
  expect(results.every((result) => result.outcome.accepted)).toBe(true);
}

/** Deposits that are always accepted: distinct chain transaction ids. */
function deposits(count: number, startTimeMs: number, account: Signer = traders[0]!): LogEntry[] {
  return Array.from({ length: count }, (_, index) =>
    signedEntry(
      operator,
      'depositCredit',
      {
        account: account.accountId,
        symbol: 'USDC',
        quantity: '1',
        blockchain: 'Solana',
        chainTransactionId: `group-${startTimeMs}-${index}`,
      },
      startTimeMs + Math.floor(index / 100),
    ),
  );
}

/**
 * Wraps the real LevelDB batch method to record which entries each write carried and when it completed.
 * The node writes through the chained form (db.batch() then put/del and write({ sync })); the array
 * form (db.batch(operations, options)) is wrapped the same way.
 */
function instrumentBatches(
  node: ExchangeNode,
  options: { failAfter?: number; failWith?: (call: number) => Error | undefined } = {},
) {
  const db = node.database;
  const realBatch = db.batch.bind(db) as {
    (): ReturnType<typeof db.batch>;
    (operations: BatchOperation[], options?: { sync?: boolean }): Promise<void>;
  };
  const calls: Array<{ sequences: number[]; sync: boolean | undefined; completed: boolean }> = [];
  const durable = new Set<number>();
  const write = (
    operations: readonly BatchOperation[],
    sync: boolean | undefined,
    perform: () => Promise<void>,
    abandon: () => Promise<void>,
  ): Promise<void> => {
    const call = {
      sequences: operations
        .filter((operation) => operation.type === 'put' && operation.key[0] === keyspaces.entry)
        .map((operation) => sequenceOfKey(operation.key)!),
      sync,
      completed: false,
    };
    calls.push(call);
    if (options.failAfter !== undefined && calls.length > options.failAfter) {
      return abandon().then(() => Promise.reject(new Error('simulated disk failure')));
    }
    const failure = options.failWith?.(calls.length);
    if (failure !== undefined) return abandon().then(() => Promise.reject(failure));
    return perform().then(() => {
      call.completed = true;
      for (const sequence of call.sequences) durable.add(sequence);
    });
  };
  (db as unknown as { batch: unknown }).batch = (operations?: BatchOperation[], batchOptions?: { sync?: boolean }) => {
    if (operations !== undefined) {
      return write(
        operations,
        batchOptions?.sync,
        () => realBatch(operations, batchOptions),
        async () => undefined,
      );
    }
    const chained = realBatch();
    const carried: BatchOperation[] = [];
    const put = chained.put.bind(chained);
    const del = chained.del.bind(chained);
    const realWrite = chained.write.bind(chained);
    chained.put = (key: Uint8Array, value: Uint8Array) => {
      carried.push({ type: 'put', key, value });
      return put(key, value);
    };
    chained.del = (key: Uint8Array) => {
      carried.push({ type: 'del', key });
      return del(key);
    };
    (chained as unknown as { write: (writeOptions?: { sync?: boolean }) => Promise<void> }).write = (writeOptions) =>
      write(
        carried,
        writeOptions?.sync,
        () => realWrite(writeOptions ?? {}),
        () => chained.close(),
      );
    return chained;
  };
  return { calls, durable };
}

describe('ExchangeNode', () => {
  test('appends accepted entries, reads them back and chains them', async () => {
    const { node, clock } = await openNode();
    expect(node.head()).toEqual({
      sequence: 0,
      entryHash: Buffer.from(genesisHash(genesis)).toString('hex'),
      logTimeMs: 0,
    });
    const results = await submitInWaves(node, clock.set, entries);
    const accepted = results.flatMap((result, index) =>
      result.sequence === undefined ? [] : [{ result, entry: entries[index]! }],
    );
    expect(accepted.length).toBeGreaterThan(150);
    expect(accepted.map(({ result }) => result.sequence)).toEqual(accepted.map((_, index) => index + 1));

    const stored = await collect(node.readEntries(1));
    expect(stored.length).toBe(accepted.length);
    let previous = genesisHash(genesis);
    let previousTime = 0;
    stored.forEach((entry, index) => {
      expect(entry.sequence).toBe(index + 1);
      expect(entry.previousHash).toEqual(previous);
      expect(entry.entryHash).toEqual(hashEntryEncoding(encodeEntry(entry)));
      expect(entry.logTimeMs).toBe(accepted[index]!.result.logTimeMs);
      expect(entry.logTimeMs).toBeGreaterThanOrEqual(previousTime);
      // The transaction exactly as submitted.
      expect(entry.transaction.message).toEqual(accepted[index]!.entry.transaction.message);
      expect(entry.transaction.publicKey).toEqual(accepted[index]!.entry.transaction.publicKey);
      expect(entry.transaction.signature).toEqual(accepted[index]!.entry.transaction.signature);
      previous = entry.entryHash;
      previousTime = entry.logTimeMs;
    });
    expect(node.head()).toEqual({
      sequence: stored.length,
      entryHash: Buffer.from(previous).toString('hex'),
      logTimeMs: previousTime,
    });
    expect((await collect(node.readEntries(5, 9))).map((entry) => entry.sequence)).toEqual([5, 6, 7, 8, 9]);
    expect(await collect(node.readEntries(stored.length + 1))).toEqual([]);
    // The log alone reproduces the node's state.
    expect(stateHashHex(replayWithEngine(genesis, stored))).toBe(stateHashHex(node.state));
  });

  test('rejected transactions are answered at once and never logged', async () => {
    const { node, clock, directory, close } = await openNode();
    await setUp(node, clock.set);
    const head = node.head();
    expect(head.sequence).toBe(setupCount);
    const time = entries[setupCount - 1]!.logTimeMs;
    clock.set(time);

    const forged = { ...entries[0]!.transaction, signature: entries[0]!.transaction.signature.slice() };
    forged.signature[5]! ^= 1;
    const unknownOrder = signedEntry(traders[0]!, 'orderCancel', { symbol: 'SOL_USDC', orderId: '999' }, time);
    const stale = signedEntry(traders[0]!, 'orderCancelAll', { symbol: 'SOL_USDC' }, time - 60_000);
    const results = await Promise.all([
      node.submit(forged),
      node.submit(unknownOrder.transaction),
      node.submit(entries[3]!.transaction), // already accepted
      node.submit(stale.transaction),
    ]);
    expect(results.map((result) => (result.outcome.accepted ? 'accepted' : result.outcome.rejection.code))).toEqual([
      'INVALID_SIGNATURE',
      'RESOURCE_NOT_FOUND',
      'DUPLICATE_REQUEST',
      'INVALID_TIMESTAMP',
    ]);
    for (const result of results) expect(result.sequence).toBeUndefined();
    expect(node.head()).toEqual(head);
    expect(node.statistics().rejectedTransactions).toBe(4);
    expect((await collect(node.readEntries(1))).length).toBe(setupCount);
    await close();

    const reopened = await openNode({ dataDirectory: directory });
    expect(reopened.node.head()).toEqual(head);
  });

  test('group commit: 500 concurrent submits share few synced batches, each acknowledged after its batch', async () => {
    const { node, clock } = await openNode({ verifierThreads: 2 });
    await setUp(node, clock.set);
    const { calls, durable } = instrumentBatches(node);
    const load = deposits(500, entries[setupCount]!.logTimeMs);
    clock.set(load[0]!.logTimeMs);
    const batchesBefore = node.statistics().batchesWritten;
    const acknowledgedBeforeDurable: number[] = [];
    // 500 submits arriving over time in bursts of 10, so that many arrive while a write is in flight.
    const pending: Array<Promise<SubmitResult>> = [];
    for (let burst = 0; burst < 50; burst += 1) {
      for (const entry of load.slice(burst * 10, burst * 10 + 10)) {
        pending.push(
          node.submit(entry.transaction).then((result) => {
            if (result.sequence === undefined || !durable.has(result.sequence))
              acknowledgedBeforeDurable.push(result.sequence ?? -1);
            return result;
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const results = await Promise.all(pending);
    expect(results.every((result) => result.outcome.accepted)).toBe(true);
    expect(acknowledgedBeforeDurable).toEqual([]);
    expect(calls.every((call) => call.sync === true && call.completed)).toBe(true);
    const carried = calls.flatMap((call) => call.sequences).sort((left, right) => left - right);
    expect(carried).toEqual(Array.from({ length: 500 }, (_, index) => setupCount + 1 + index));
    // Sharing, not a figure that depends on machine load: on average at least
    // four submits per sync, and some syncs carry many.
    expect(calls.length).toBeLessThanOrEqual(125);
    expect(Math.max(...calls.map((call) => call.sequences.length))).toBeGreaterThanOrEqual(20);
    expect(node.statistics().batchesWritten - batchesBefore).toBe(calls.length);
    console.log(
      `group commit: 500 submits in ${calls.length} synced batches (${calls.map((call) => call.sequences.length).join(', ')})`,
    );
  });

  test('group commit respects maximumBatchEntries', async () => {
    const { node, clock } = await openNode({ maximumBatchEntries: 16 });
    const { calls } = instrumentBatches(node);
    await setUp(node, clock.set);
    const load = deposits(200, entries[setupCount]!.logTimeMs);
    clock.set(load[0]!.logTimeMs);
    await Promise.all(load.map((entry) => node.submit(entry.transaction)));
    expect(calls.every((call) => call.sequences.length <= 16)).toBe(true);
    expect(calls.flatMap((call) => call.sequences).length).toBe(setupCount + 200);
  });

  test('maximumPendingTransactions: submits beyond it are refused at once and never logged; answers free the places', async () => {
    const { node, clock, directory, lines, close } = await openNode({ maximumPendingTransactions: 3 });
    await setUp(node, clock.set);
    const head = node.head().sequence;
    const load = deposits(5, entries[setupCount]!.logTimeMs);
    clock.set(load[0]!.logTimeMs);
    // A sequenced entry keeps its place until its submit() is answered, after its synced batch.
    const pendingWhenDurable: number[] = [];
    const unsubscribe = node.subscribe(() => pendingWhenDurable.push(node.statistics().pendingTransactions));
    // Five submits in one turn: the first three take the three places, the last two are refused before anything else runs.
    const settled = await Promise.allSettled(load.map((entry) => node.submit(entry.transaction)));
    unsubscribe();
    expect(
      settled.slice(0, 3).map((result) => (result.status === 'fulfilled' ? result.value.sequence : result.reason)),
    ).toEqual([head + 1, head + 2, head + 3]);
    for (const refused of settled.slice(3)) {
      if (refused.status !== 'rejected') throw new Error('a submit beyond the bound was taken');
      expect(refused.reason).toBeInstanceOf(LedgerOverloadedError);
      expect((refused.reason as LedgerOverloadedError).maximumPendingTransactions).toBe(3);
      expect((refused.reason as Error).message).toMatch(/3 transactions are already in flight/);
    }
    expect(pendingWhenDurable).toHaveLength(3);
    expect(Math.min(...pendingWhenDurable)).toBeGreaterThanOrEqual(1);
    expect(node.statistics()).toMatchObject({
      pendingTransactions: 0,
      peakPendingTransactions: 3,
      overloadedTransactions: 2,
      rejectedTransactions: 0,
    });
    // The refused two left no trace: the log has the first three after the setup, and the state is the log's replay.
    const stored = await collect(node.readEntries(1));
    expect(stored.slice(setupCount).map((entry) => entry.transaction.signature)).toEqual(
      load.slice(0, 3).map((entry) => entry.transaction.signature),
    );
    expect(stateHashHex(replayWithEngine(genesis, stored))).toBe(stateHashHex(node.state));
    // The operator hears of it once for the episode, not once per refusal.
    const overloadLines = () =>
      lines.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('ledger overload'));
    expect(overloadLines()).toMatchObject([
      { level: 40, msg: expect.stringMatching(/^ledger overloaded: refusing/), maximumPendingTransactions: 3 },
    ]);
    // Their places are free again: the refused requests, sent again unchanged a quiet second later, are accepted,
    // and that admission ends the episode with its count.
    clock.set(load[0]!.logTimeMs + 1_000);
    const again = await Promise.all(load.slice(3).map((entry) => node.submit(entry.transaction)));
    expect(again.map((result) => result.sequence)).toEqual([head + 4, head + 5]);
    expect(overloadLines()).toHaveLength(2);
    expect(overloadLines()[1]).toMatchObject({
      level: 40,
      msg: 'ledger overload over',
      refusedTransactions: 2,
      peakPendingTransactions: 3,
      maximumPendingTransactions: 3,
    });
    await close();
    const reopened = await openNode({ dataDirectory: directory });
    expect(reopened.node.head().sequence).toBe(head + 5);
  });

  test('maximumPendingTransactions must be a positive integer, checked before the disk is touched', async () => {
    const directory = await temporaryDirectory();
    cleanups.push(directory.remove);
    for (const maximumPendingTransactions of [0, -1, 2.5]) {
      await expect(
        ExchangeNode.open({
          dataDirectory: join(directory.path, 'data'),
          genesis,
          logger: recordingLogger().logger,
          maximumPendingTransactions,
        }),
      ).rejects.toThrow(`maximumPendingTransactions must be a positive integer, got ${maximumPendingTransactions}`);
    }
    expect(existsSync(join(directory.path, 'data'))).toBe(false);
  });

  test('subscribers see every entry once, in order, after it is durable', async () => {
    const { node, clock } = await openNode({ verifierThreads: 2 });
    const seen: CommittedEntry[] = [];
    const notDurableYet: number[] = [];
    const unsubscribe = node.subscribe((entry) => {
      if (node.head().sequence < entry.sequence) notDurableYet.push(entry.sequence);
      seen.push(entry);
    });
    await setUp(node, clock.set);
    const load = deposits(300, entries[setupCount]!.logTimeMs);
    clock.set(load[0]!.logTimeMs);
    await Promise.all(load.map((entry) => node.submit(entry.transaction)));
    unsubscribe();
    expect(seen.map((entry) => entry.sequence)).toEqual(
      Array.from({ length: setupCount + 300 }, (_, index) => index + 1),
    );
    expect(notDurableYet).toEqual([]);
    expect(seen.every((entry) => entry.outcome.accepted && entry.outcome.events.length > 0)).toBe(true);
    const stored = await collect(node.readEntries(1));
    expect(stored.map((entry) => Buffer.from(entry.entryHash).toString('hex'))).toEqual(
      seen.map((entry) => Buffer.from(entry.entryHash).toString('hex')),
    );
  });

  test('close() waits for accepted entries to be synced, then refuses new work', async () => {
    const { node, clock, directory, close } = await openNode();
    await setUp(node, clock.set);
    const load = deposits(100, entries[setupCount]!.logTimeMs);
    clock.set(load[0]!.logTimeMs);
    const pending = load.map((entry) => node.submit(entry.transaction));
    await close();
    const results = await Promise.all(pending);
    expect(results.every((result) => result.sequence !== undefined)).toBe(true);
    await expect(node.submit(load[0]!.transaction)).rejects.toBeInstanceOf(LedgerClosedError);
    const reopened = await openNode({ dataDirectory: directory });
    expect(reopened.node.head().sequence).toBe(setupCount + 100);
  });

  test('a failed batch write halts the node: nothing more is acknowledged', async () => {
    const { node, clock, directory, lines, close } = await openNode();
    await setUp(node, clock.set);
    const durableHead = node.head();
    const { calls } = instrumentBatches(node, { failAfter: 0 });
    const load = deposits(50, entries[setupCount]!.logTimeMs);
    clock.set(load[0]!.logTimeMs);
    const settled = await Promise.allSettled(load.map((entry) => node.submit(entry.transaction)));
    expect(calls.length).toBe(1);
    expect(settled.every((result) => result.status === 'rejected' && result.reason instanceof LedgerHaltedError)).toBe(
      true,
    );
    expect(node.haltedBy).toBeInstanceOf(LedgerHaltedError);
    await expect(node.submit(load[0]!.transaction)).rejects.toBeInstanceOf(LedgerHaltedError);
    expect(node.head()).toEqual(durableHead);
    const fatal = lines.find((line) => line.level === 60);
    expect(fatal?.msg).toMatch(/halted: a batch write to LevelDB failed/);
    await close();
    // The disk holds exactly what was acknowledged.
    const reopened = await openNode({ dataDirectory: directory });
    expect(reopened.node.head()).toEqual(durableHead);
  });

  /** LevelDB's words when it cannot open a file for want of descriptors (classic-level wraps them the same way). */
  const tooManyOpenFiles = (): Error =>
    new Error('Write failed', {
      cause: Object.assign(new Error('IO error: ledger/000123.log: Too many open files'), { code: 'LEVEL_IO_ERROR' }),
    });

  test('a write that finds no free file descriptor is retried, not a halt; new work is refused meanwhile', async () => {
    const { node, clock, directory, lines, close } = await openNode();
    await setUp(node, clock.set);
    let refusedWhileBusy: unknown;
    const { calls } = instrumentBatches(node, {
      failWith: (call) => {
        if (call > 3) return undefined;
        // While the first batch is retried, a new transaction is refused at once.
        if (call === 2)
          refusedWhileBusy = node
            .submit(deposits(1, entries[setupCount]!.logTimeMs + 5_000)[0]!.transaction)
            .catch((error: unknown) => error);
        return tooManyOpenFiles();
      },
    });
    const load = deposits(50, entries[setupCount]!.logTimeMs);
    clock.set(load[0]!.logTimeMs);
    const results = await Promise.all(load.map((entry) => node.submit(entry.transaction)));
    expect(results.every((result) => result.sequence !== undefined)).toBe(true);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(await refusedWhileBusy).toBeInstanceOf(LedgerStorageBusyError);
    expect(node.haltedBy).toBeUndefined();
    expect(node.statistics().storageBusyEpisodes).toBe(1);
    expect(lines.some((line) => /writes resumed/.test(line.msg))).toBe(true);
    expect(node.head().sequence).toBe(setupCount + 50);
    await close();
    const reopened = await openNode({ dataDirectory: directory });
    expect(reopened.node.head().sequence).toBe(setupCount + 50);
  });

  test('a shortage of file descriptors that lasts past storageRetryLimitMs halts the node', async () => {
    const { node, clock, close } = await openNode({ storageRetryLimitMs: 1_000 });
    await setUp(node, clock.set);
    const start = entries[setupCount]!.logTimeMs;
    // Each failed attempt moves the clock on, so the limit is passed after a few retries.
    instrumentBatches(node, {
      failWith: (call) => {
        clock.set(start + call * 400);
        return tooManyOpenFiles();
      },
    });
    clock.set(start);
    const settled = await Promise.allSettled(deposits(5, start).map((entry) => node.submit(entry.transaction)));
    expect(settled.every((result) => result.status === 'rejected' && result.reason instanceof LedgerHaltedError)).toBe(
      true,
    );
    expect(node.haltedBy).toBeInstanceOf(LedgerHaltedError);
    await close();
  });

  test('exportLog streams a file that readLogExport verifies, whole or from a sequence', async () => {
    const { node, clock, directory } = await openNode();
    await submitInWaves(node, clock.set, entries);
    const stored = await collect(node.readEntries(1));

    const path = join(directory, 'log.vexlog');
    const file = createWriteStream(path);
    await node.exportLog(file);
    file.end();
    await finished(file);
    const whole = await readLogExport(createReadStream(path));
    expect(whole.genesis).toEqual(genesis);
    expect(whole.firstSequence).toBe(1);
    expect(whole.entries).toEqual(stored);
    expect(Buffer.from(whole.lastHash).toString('hex')).toBe(node.head().entryHash);
    expect(stateHashHex(replayWithEngine(whole.genesis, whole.entries))).toBe(stateHashHex(node.state));

    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    await node.exportLog(sink, 50);
    const partial = await readLogExport(Buffer.concat(chunks));
    expect(partial.firstSequence).toBe(50);
    expect(partial.anchorHash).toEqual(stored[48]!.entryHash);
    expect(partial.entries).toEqual(stored.slice(49));
  });

  test('exportLog ends with an error, not a hang, when the reader goes away mid-export', async () => {
    const { node, clock } = await openNode();
    await submitInWaves(node, clock.set, entries);
    // A tiny buffer that nobody reads fills at once; then the reader disconnects.
    const sink = new PassThrough({ highWaterMark: 16 });
    const exporting = node.exportLog(sink);
    setTimeout(() => sink.destroy(), 20);
    await expect(exporting).rejects.toThrow(/closed before the export finished/);
    // The node keeps working and can export again.
    const again = new PassThrough();
    const chunks: Buffer[] = [];
    again.on('data', (chunk: Buffer) => chunks.push(chunk));
    await node.exportLog(again);
    expect((await readLogExport(Buffer.concat(chunks))).entries.length).toBe(node.head().sequence);
  });
});
