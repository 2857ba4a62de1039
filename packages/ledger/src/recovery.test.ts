import { GenesisError, stateHashHex } from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { collect, fixture, recordingLogger, replayWithEngine, submitInWaves } from '../test/helpers.js';
import { createDatabase } from './database.js';
import { RecoveryError } from './errors.js';
import { ExchangeNode, type NodeOptions } from './exchange-node.js';
import type { StoredEntry } from '@vex/engine';
import { encodeEntry } from '@vex/engine';
import { entryKey, snapshotKey, snapshotRange, sequenceOfKey } from './storage-format.js';
import { nodeTestSetup } from './test-support.js';

// About 1,000 accepted entries.
const { entries, traders, genesis } = fixture(23, 1_400);
const { cleanups, newDirectory, openNode } = nodeTestSetup(genesis, entries[0]!.logTimeMs);

/** Builds a ledger from the fixture and closes it; returns what it stored. */
async function buildLedger(
  options: Partial<NodeOptions> = {},
): Promise<{ directory: string; stored: StoredEntry[]; stateHash: string }> {
  const directory = await newDirectory();
  const { node, clock, close } = await openNode(directory, options);
  await submitInWaves(node, clock.set, entries);
  const stored = await collect(node.readEntries(1));
  const stateHash = stateHashHex(node.state);
  await close();
  return { directory, stored, stateHash };
}

async function rawDatabase(directory: string) {
  const db = createDatabase(`${directory}/ledger`);
  await db.open();
  return db;
}

async function expectRecoveryError(promise: Promise<unknown>): Promise<RecoveryError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RecoveryError);
  return error as RecoveryError;
}

function recoveredLine(lines: Array<Record<string, unknown>>): Record<string, unknown> {
  const line = lines.find(
    (candidate) => typeof candidate.msg === 'string' && candidate.msg.startsWith('ledger recovered'),
  );
  expect(line).toBeDefined();
  return line!;
}

describe('recovery', () => {
  test('a restart without snapshots replays the whole log to the same state', async () => {
    const { directory, stored, stateHash } = await buildLedger();
    expect(stored.length).toBeGreaterThan(900);
    const { node, lines } = await openNode(directory);
    expect(stateHashHex(node.state)).toBe(stateHash);
    expect(node.head().sequence).toBe(stored.length);
    expect(node.head().entryHash).toBe(Buffer.from(stored.at(-1)!.entryHash).toString('hex'));
    expect(recoveredLine(lines)).toMatchObject({ entries: stored.length, snapshot: null, replayed: stored.length });
  });

  test('snapshots every 100 entries: a restart loads the latest and replays fewer than 100', async () => {
    const { directory, stored, stateHash } = await buildLedger({ snapshotEveryEntries: 100 });
    const last = stored.length;
    const latest = Math.floor(last / 100) * 100;

    const db = await rawDatabase(directory);
    const snapshots = (await db.keys(snapshotRange).all()).map((key) => sequenceOfKey(key));
    await db.close();
    expect(snapshots).toEqual([latest - 100, latest]); // the two latest are kept

    const { node, lines, clock, close } = await openNode(directory, { snapshotEveryEntries: 100 });
    expect(stateHashHex(node.state)).toBe(stateHash);
    expect(recoveredLine(lines)).toMatchObject({ entries: last, snapshot: latest, replayed: last - latest });

    // The log continues across the restart; everything still replays from genesis to the same state.
    const shifted = fixture(24, 200).entries.slice(5 + 18); // trader activity only: the same markets and traders
    clock.set(shifted[0]!.logTimeMs);
    await submitInWaves(node, clock.set, shifted);
    const all = await collect(node.readEntries(1));
    expect(all.length).toBeGreaterThan(last);
    expect(stateHashHex(replayWithEngine(genesis, all))).toBe(stateHashHex(node.state));
    const afterMore = stateHashHex(node.state);
    await close();
    const again = await openNode(directory, { snapshotEveryEntries: 100 });
    expect(stateHashHex(again.node.state)).toBe(afterMore);
  });

  test('replay protection survives restarts, through the snapshot and through replay', async () => {
    const { directory, stored } = await buildLedger({ snapshotEveryEntries: 100 });
    const latest = Math.floor(stored.length / 100) * 100;
    const { node, clock } = await openNode(directory, { snapshotEveryEntries: 100 });
    const inSnapshot = stored.slice(latest - 30, latest);
    const replayed = stored.slice(latest, latest + 30);
    expect(replayed.length).toBeGreaterThan(0);
    clock.set(stored.at(-1)!.logTimeMs);
    const results = await Promise.all([...inSnapshot, ...replayed].map((entry) => node.submit(entry.transaction)));
    expect(results.map((result) => (result.outcome.accepted ? 'accepted' : result.outcome.rejection.code))).toEqual(
      results.map(() => 'DUPLICATE_REQUEST'),
    );
    expect(node.head().sequence).toBe(stored.length);
  });

  test('a different genesis is refused', async () => {
    const { directory } = await buildLedger();
    const error = await expectRecoveryError(
      ExchangeNode.open({
        dataDirectory: directory,
        genesis: { ...genesis, exchangeName: 'another exchange' },
        logger: recordingLogger().logger,
      }),
    );
    expect(error.problem).toBe('genesis-mismatch');
    expect(error.message).toMatch(/"exchangeName":"ledger-test".*"exchangeName":"another exchange"/);
    expect(error.describe()).toMatch(/cannot be opened[\s\S]*genesis-mismatch/);
    // The refused open released the database.
    const { node } = await openNode(directory);
    expect(node.head().sequence).toBeGreaterThan(0);
  });

  test('a ledger in use by another node is refused', async () => {
    const directory = await newDirectory();
    await openNode(directory);
    await expect(
      ExchangeNode.open({ dataDirectory: directory, genesis, logger: recordingLogger().logger }),
    ).rejects.toThrow(/in use by another process/);
  });

  test('an invalid genesis is refused before anything is written', async () => {
    const directory = await newDirectory();
    await expect(
      ExchangeNode.open({
        dataDirectory: directory,
        genesis: { ...genesis, operatorKeys: ['not a key'] },
        logger: recordingLogger().logger,
      }),
    ).rejects.toBeInstanceOf(GenesisError);
    const { node } = await openNode(directory);
    expect(node.head().sequence).toBe(0);
  });

  test('a damaged entry in the middle stops start-up and names the entry', async () => {
    const { directory, stored } = await buildLedger();
    const original = encodeEntry(stored[499]!);

    const cases: Array<{ damage: Uint8Array; problem: string; sequence: number; message: RegExp }> = [];
    const garbage = new Uint8Array(120).fill(0x5a);
    cases.push({
      damage: garbage,
      problem: 'corrupt-entry',
      sequence: 500,
      message: /entry 500: it cannot be decoded/,
    });
    const flippedMessage = original.slice();
    flippedMessage[flippedMessage.length - 3]! ^= 0x01;
    cases.push({
      damage: flippedMessage,
      problem: 'invalid-signature',
      sequence: 500,
      message: /entry 500: its signature does not verify/,
    });
    const otherPrevious = original.slice();
    otherPrevious[20]! ^= 0xff;
    cases.push({
      damage: otherPrevious,
      problem: 'broken-chain',
      sequence: 500,
      message: /entry 500: its previous hash .* is not the hash .* of entry 499/,
    });

    for (const { damage, problem, sequence, message } of cases) {
      const db = await rawDatabase(directory);
      await db.put(entryKey(500), damage);
      await db.close();
      const error = await expectRecoveryError(
        ExchangeNode.open({ dataDirectory: directory, genesis, logger: recordingLogger().logger }),
      );
      expect(error.problem).toBe(problem);
      expect(error.sequence).toBe(sequence);
      expect(error.message).toMatch(message);
      expect(error.describe()).toContain(`Sequence: ${sequence}`);
    }
    const db = await rawDatabase(directory);
    await db.put(entryKey(500), original);
    await db.close();
    const { node } = await openNode(directory);
    expect(node.head().sequence).toBe(stored.length);
  });

  test('a missing entry or a snapshot that does not match its entry stops start-up', async () => {
    const { directory, stored } = await buildLedger({ snapshotEveryEntries: 100 });
    let db = await rawDatabase(directory);
    const latest = Math.floor(stored.length / 100) * 100;
    expect(stored.length).toBeGreaterThan(latest);
    const snapshot = (await db.get(snapshotKey(latest)))!;
    const altered = snapshot.slice();
    altered[20]! ^= 1; // inside the recorded entry hash
    await db.put(snapshotKey(latest), altered);
    await db.close();
    let error = await expectRecoveryError(
      ExchangeNode.open({ dataDirectory: directory, genesis, logger: recordingLogger().logger }),
    );
    expect(error.problem).toBe('snapshot-mismatch');
    expect(error.sequence).toBe(latest);

    db = await rawDatabase(directory);
    await db.put(snapshotKey(latest), snapshot);
    await db.del(entryKey(latest + 1));
    await db.close();
    error = await expectRecoveryError(
      ExchangeNode.open({ dataDirectory: directory, genesis, logger: recordingLogger().logger }),
    );
    expect(error.problem).toBe('missing-entry');
    expect(error.sequence).toBe(latest + 1);
  });

  test('a torn tail of at most one batch is dropped with a warning, and what it wrote goes with it', async () => {
    const maximumBatchEntries = 16;
    const { directory, stored } = await buildLedger({ snapshotEveryEntries: 10, maximumBatchEntries });
    const last = stored.length;
    const lastSnapshot = Math.floor(last / 10) * 10;
    const firstTorn = Math.min(lastSnapshot, last - 2); // tear through the latest snapshot's entry
    const db = await rawDatabase(directory);
    for (let sequence = firstTorn; sequence <= last; sequence += 1) {
      await db.put(entryKey(sequence), new Uint8Array(64).fill(sequence & 0xff));
    }
    await db.close();

    const { node, lines } = await openNode(directory, { snapshotEveryEntries: 10, maximumBatchEntries });
    const kept = stored.slice(0, firstTorn - 1);
    expect(node.head().sequence).toBe(firstTorn - 1);
    expect(node.head().entryHash).toBe(Buffer.from(kept.at(-1)!.entryHash).toString('hex'));
    expect(stateHashHex(node.state)).toBe(stateHashHex(replayWithEngine(genesis, kept)));
    const warning = lines.find((line) => line.level === 40);
    expect(warning?.msg).toMatch(
      new RegExp(`dropped a torn tail of ${last - firstTorn + 1} entries \\(${firstTorn}\\.\\.${last}\\)`),
    );
    expect(warning?.droppedSequences).toEqual(
      Array.from({ length: last - firstTorn + 1 }, (_, index) => firstTorn + index),
    );
    expect(warning?.droppedSnapshots).toEqual([lastSnapshot]);
    expect(warning?.historyRecordsDeleted).toBeGreaterThan(0);

    // The history now matches a ledger that only ever saw the kept entries (byte-identical log).
    const twinDirectory = await newDirectory();
    let next = 0;
    const twin = await ExchangeNode.open({
      dataDirectory: twinDirectory,
      genesis,
      logger: recordingLogger().logger,
      verifierThreads: 1,
      clock: () => kept[next++]!.logTimeMs,
    });
    cleanups.push(() => twin.close());
    await Promise.all(kept.map((entry) => twin.submit(entry.transaction)));
    expect(twin.head()).toEqual(node.head());
    let compared = 0;
    for (const trader of traders) {
      const page = { limit: 1_000 };
      compared +=
        (await twin.history.fills(trader.accountId, page)).length +
        (await twin.history.orders(trader.accountId, page)).length;
      expect(await node.history.fills(trader.accountId, page)).toEqual(
        await twin.history.fills(trader.accountId, page),
      );
      expect(await node.history.orders(trader.accountId, page)).toEqual(
        await twin.history.orders(trader.accountId, page),
      );
      expect(await node.history.withdrawals(trader.accountId, page)).toEqual(
        await twin.history.withdrawals(trader.accountId, page),
      );
      expect(await node.history.deposits(trader.accountId, page)).toEqual(
        await twin.history.deposits(trader.accountId, page),
      );
    }
    for (const market of ['SOL_USDC', 'BTC_USDC'])
      expect(await node.history.trades(market, 1_000)).toEqual(await twin.history.trades(market, 1_000));
    expect(compared).toBeGreaterThan(500);
    // Orders by id, up to past any a torn entry accepted (at most 3 each: an order, its take-profit and stop-loss).
    const lastOrderId = node.state.nextOrderId + 3 * (last - firstTorn + 1);
    let ordersById = 0;
    for (let orderId = 1; orderId <= lastOrderId; orderId += 1) {
      const order = await twin.history.order(orderId);
      if (order !== undefined) ordersById += 1;
      expect(await node.history.order(orderId)).toEqual(order);
    }
    expect(ordersById).toBeGreaterThan(100);

    // The repair is durable: the next start is clean.
    await node.close();
    const again = await openNode(directory, { snapshotEveryEntries: 10, maximumBatchEntries });
    expect(again.node.head().sequence).toBe(firstTorn - 1);
    expect(again.lines.some((line) => line.level === 40)).toBe(false);
  });

  test('damage at the end longer than one batch, or followed by intact entries, is not a torn tail', async () => {
    const maximumBatchEntries = 4;
    const { directory, stored } = await buildLedger({ maximumBatchEntries });
    const last = stored.length;
    let db = await rawDatabase(directory);
    for (let sequence = last - 5; sequence <= last; sequence += 1) await db.put(entryKey(sequence), new Uint8Array(10));
    await db.close();
    let error = await expectRecoveryError(
      ExchangeNode.open({ dataDirectory: directory, genesis, maximumBatchEntries, logger: recordingLogger().logger }),
    );
    expect(error.problem).toBe('corrupt-entry');
    expect(error.sequence).toBe(last - 5);

    db = await rawDatabase(directory);
    for (let sequence = last - 5; sequence <= last; sequence += 1)
      await db.put(entryKey(sequence), encodeEntry(stored[sequence - 1]!));
    await db.put(entryKey(last - 2), new Uint8Array(10));
    await db.close();
    error = await expectRecoveryError(
      ExchangeNode.open({ dataDirectory: directory, genesis, maximumBatchEntries, logger: recordingLogger().logger }),
    );
    expect(error.problem).toBe('corrupt-entry');
    expect(error.sequence).toBe(last - 2);
  });
});
