/**
 * The borrow/lend history over a real node and engine run: manual borrows and
 * lends, a margin order's autoBorrow and autoBorrowRepay, a Lend that repays
 * a debt and lends the rest in one entry, and a liquidation whose debt the
 * lenders bear. The expectations are an independent reading of the entries'
 * lendingMovement events; the history survives a restart and a second node fed
 * the same log derives the same records.
 */
import type { EngineEvent, LendingMovementView, LogEntry } from '@vex/engine';
import { afterEach, describe, expect, test } from 'vitest';
import { recordingLogger, settableClock, temporaryDirectory } from '../test/helpers.js';
import { alice, bob, dayMs, erin, genesis, marginLog } from '../test/margin-log.js';
import { ExchangeNode } from './exchange-node.js';
import type { HistoryIndex } from './history.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Movement = LendingMovementView & { readonly timeMs: number; readonly events: readonly EngineEvent[] };

async function runNode(entries: readonly LogEntry[], path: string) {
  const clock = settableClock();
  const open = () =>
    ExchangeNode.open({
      dataDirectory: path,
      genesis,
      logger: recordingLogger().logger,
      clock: clock.clock,
      verifierThreads: 1,
      snapshotEveryEntries: 10,
    });
  const node = await open();
  const movements: Movement[] = [];
  node.subscribe((entry) => {
    for (const event of entry.outcome.events)
      if (event.type === 'lendingMovement')
        movements.push({ ...event.movement, timeMs: entry.logTimeMs, events: entry.outcome.events });
  });
  for (const entry of entries) {
    clock.set(entry.logTimeMs);
    const { outcome } = await node.submit(entry.transaction);
    const described = outcome.accepted ? 'ok' : `${outcome.rejection.code} ${outcome.rejection.message}`;
    expect(described, `entry at ${entry.logTimeMs}`).toBe('ok');
  }
  return { node, movements, open };
}

async function everything(history: HistoryIndex, account: string) {
  const all = { limit: 1_000 };
  return {
    borrowLend: await history.borrowLendHistory(account, all),
    interest: await history.interestHistory(account, all),
    positions: await history.lendingPositions(account, all),
  };
}

const debt = (scaled: bigint, index: bigint) => (scaled * index + 10n ** 18n - 1n) / 10n ** 18n;
const claim = (scaled: bigint, index: bigint) => (scaled * index) / 10n ** 18n;

describe('borrow/lend history', () => {
  test('movements, sources, positions and interest; the same after a restart and on a second node', async () => {
    const entries = marginLog();
    const directory = await temporaryDirectory();
    cleanups.push(directory.remove);
    const { node, movements, open } = await runNode(entries, directory.path);
    const bobs = movements.filter((movement) => movement.account === bob.accountId);

    const bobHistory = await everything(node.history, bob.accountId);
    // Newest first: the Lend that closed the borrow and opened a lend, the order's repayment and borrow, manual ones.
    expect(bobHistory.borrowLend.map((record) => [record.eventType, record.source, record.quantityUnits])).toEqual([
      ['Lend', 'Manual', bobs[5]!.units],
      ['BorrowRepay', 'Manual', bobs[4]!.units],
      ['BorrowRepay', 'AutoBorrowRepay', 300_000_000n],
      ['Borrow', 'SpotMargin', bobs[2]!.units],
      ['BorrowRepay', 'Manual', 100_000_000n],
      ['Borrow', 'Manual', 300_000_000n],
    ]);
    expect(bobs.map((movement) => movement.movement)).toEqual([
      'Borrow',
      'BorrowRepay',
      'Borrow',
      'BorrowRepay',
      'BorrowRepay',
      'Lend',
    ]);
    expect(bobs[4]!.units + bobs[5]!.units).toBe(50_000_000n);
    const [, , autoBorrow, autoRepay] = bobHistory.borrowLend.slice().reverse();
    const orderIdOf = (movement: Movement) =>
      movement.events.flatMap((event) => (event.type === 'orderAccepted' ? [event.order.orderId] : []))[0];
    expect(autoBorrow!.orderId).toBe(orderIdOf(bobs[2]!));
    expect(autoRepay!.orderId).toBe(orderIdOf(bobs[3]!));
    expect(autoBorrow!.orderId).not.toBe(autoRepay!.orderId);

    // Positions: the borrow (opened by the first movement, closed by the fifth) and the lend the sixth opened.
    const borrowId = String(bobHistory.borrowLend.at(-1)!.positionId);
    const lendId = bobHistory.borrowLend[0]!.positionId;
    expect(bobHistory.borrowLend.slice(1).every((record) => record.positionId === borrowId)).toBe(true);
    expect(lendId).not.toBe(borrowId);
    expect(bobHistory.positions.map((position) => [position.positionId, position.side, position.state])).toEqual([
      [lendId, 'Lend', 'Open'],
      [borrowId, 'Borrow', 'Closed'],
    ]);
    const [lend, borrow] = bobHistory.positions;
    expect(lend!.quantityUnits).toBe(claim(bobs[5]!.lendScaled, bobs[5]!.supplyIndex));
    expect(borrow).toMatchObject({ source: 'Manual', openedAtMs: 4_000, closedAtMs: 10_000 + 40 * dayMs });

    // Interest at each change: the borrow as it stood after the previous change, valued at the two indexes.
    const expectedInterest = bobs.slice(1, 5).map((movement, index) => {
      const previous = bobs[index]!;
      return debt(previous.borrowScaled, movement.borrowIndex) - debt(previous.borrowScaled, previous.borrowIndex);
    });
    const paid = bobHistory.interest.map((record) => record.quantityUnits).reverse();
    expect(paid).toEqual(expectedInterest.filter((units) => units !== 0n));
    expect(paid[0]!).toBeGreaterThan(0n);
    expect(borrow!.cumulativeInterestUnits).toBe(expectedInterest.reduce((sum, units) => sum + units, 0n));
    expect(
      bobHistory.interest.every((record) => record.paymentType === 'Borrow' && record.positionId === borrowId),
    ).toBe(true);
    // 300 USDC for 30 days at utilisation 0.3: 5 % + (10 % − 5 %) × 0.3 / 0.8 = 6.875 % a year.
    const first = bobHistory.interest.at(-1)!;
    expect(first.intervalMs).toBe(30 * dayMs);
    expect(first.interestRate).toBeGreaterThanOrEqual(68_740n * 10n ** 12n);
    expect(first.interestRate).toBeLessThanOrEqual(68_760n * 10n ** 12n);

    // Erin: the manual borrow, then the liquidation's repayments and the written-off rest.
    const erinHistory = await everything(node.history, erin.accountId);
    const erinSources = erinHistory.borrowLend.map((record) => `${record.eventType} ${record.source}`).reverse();
    expect(erinSources[0]).toBe('Borrow Manual');
    expect(erinSources.slice(1)).toContain('BorrowRepay Liquidation');
    expect(erinSources.at(-1)).toBe('BorrowRepay SocialisedLoss');
    expect(erinHistory.positions).toMatchObject([{ side: 'Borrow', state: 'Closed' }]);

    // Alice lent from the start; the socialised loss shows in her lend interest, which is below what she accrued.
    const aliceHistory = await everything(node.history, alice.accountId);
    expect(aliceHistory.positions).toMatchObject([{ side: 'Lend', state: 'Open' }]);
    const alices = movements.filter((movement) => movement.account === alice.accountId);
    expect(aliceHistory.interest.map((record) => record.quantityUnits)).toEqual([
      claim(alices[0]!.lendScaled, alices[1]!.supplyIndex) - claim(alices[0]!.lendScaled, alices[0]!.supplyIndex),
    ]);

    // Filters and paging.
    const history = node.history;
    expect(await history.borrowLendHistory(bob.accountId, { eventType: 'Borrow' })).toEqual(
      bobHistory.borrowLend.filter((record) => record.eventType === 'Borrow'),
    );
    expect(await history.borrowLendHistory(bob.accountId, { sources: ['SpotMargin', 'AutoBorrowRepay'] })).toEqual(
      bobHistory.borrowLend.slice(2, 4),
    );
    expect(await history.borrowLendHistory(bob.accountId, { limit: 2, offset: 1, ascending: true })).toEqual(
      bobHistory.borrowLend.slice().reverse().slice(1, 3),
    );
    expect(await history.borrowLendHistory(bob.accountId, { fromMs: 5_000, toMs: 9_000 + 40 * dayMs })).toEqual(
      bobHistory.borrowLend.slice(2, 5),
    );
    expect(await history.borrowLendHistory(bob.accountId, { positionId: lendId })).toEqual(
      bobHistory.borrowLend.slice(0, 1),
    );
    expect(await history.lendingPositions(bob.accountId, { state: 'Closed' })).toEqual([borrow]);
    expect(await history.lendingPositions(bob.accountId, { side: 'Lend' })).toEqual([lend]);
    expect(await history.interestHistory(bob.accountId, { asset: 'SOL' })).toEqual([]);
    expect(await history.interestHistory('not an account', {})).toEqual([]);

    // A restart replays from the last snapshot over the stored records; a second node derives them from the log.
    const before = await Promise.all([alice, bob, erin].map((who) => everything(node.history, who.accountId)));
    await node.close();
    const reopened = await open();
    cleanups.push(() => reopened.close());
    expect(await Promise.all([alice, bob, erin].map((who) => everything(reopened.history, who.accountId)))).toEqual(
      before,
    );
    const secondDirectory = await temporaryDirectory();
    cleanups.push(secondDirectory.remove);
    const second = await runNode(entries, secondDirectory.path);
    cleanups.push(() => second.node.close());
    expect(await Promise.all([alice, bob, erin].map((who) => everything(second.node.history, who.accountId)))).toEqual(
      before,
    );
  });
});
