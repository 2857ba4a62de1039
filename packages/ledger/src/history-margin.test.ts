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
import {
  genesisOf,
  recordingLogger,
  settableClock,
  signedEntry,
  signerFromByte,
  temporaryDirectory,
  type Signer,
} from '../test/helpers.js';
import { demoListing } from '../../engine/test/random-log.js';
import { ExchangeNode } from './exchange-node.js';
import type { HistoryIndex } from './history.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const operator = signerFromByte(1);
const [alice, bob, carol, dave, erin, keeper] = [2, 3, 4, 5, 6, 7].map(signerFromByte) as [
  Signer,
  Signer,
  Signer,
  Signer,
  Signer,
  Signer,
];
const genesis = genesisOf(operator, 'margin-history-test');
const dayMs = 86_400_000;
// The demo SOL_USDC market without fees, so that a sale's proceeds are exact.
const feeFreeSolMarket = {
  ...demoListing.find(([name, params]) => name === 'marketList' && params.symbol === 'SOL_USDC')![1],
  makerFeeBps: '0',
  takerFeeBps: '0',
};

const listingParams = (symbol: string, extra: Record<string, string>) => ({
  symbol,
  collateralWeight: '1',
  haircutPenalty: '0',
  imfBase: '0.2',
  imfFactor: '0',
  mmfBase: '0.1',
  mmfFactor: '0',
  minimumBorrowRate: '0.05',
  optimalUtilization: '0.8',
  optimalBorrowRate: '0.1',
  maximumBorrowRate: '1',
  maxUtilization: '0.95',
  lendFee: '0.1',
  maxPriceMove: '0',
  liquidationFee: '0.01',
  liquidationBand: '0.1',
  stressShock: '0',
  coveragePoolWithdrawalDelayMs: '1000',
  ...extra,
});

/** The log: [signer, instruction, params, log time]. */
function marginLog(): LogEntry[] {
  const deposit = (who: Signer, symbol: string, quantity: string, id: string) =>
    [
      operator,
      'depositCredit',
      { account: who.accountId, symbol, quantity, blockchain: 'Solana', chainTransactionId: id },
    ] as const;
  const order = (side: string, quantity: string, price: string, flags: Record<string, string> = {}) => ({
    symbol: 'SOL_USDC',
    side,
    orderType: 'Limit',
    quantity,
    price,
    ...flags,
  });
  const rows: Array<readonly [Signer, string, Record<string, string>, number]> = [
    [operator, 'assetList', { symbol: 'USDC', decimals: '6' }, 1_000],
    [operator, 'assetList', { symbol: 'SOL', decimals: '9' }, 1_000],
    [operator, 'marketList', feeFreeSolMarket, 1_000],
    [operator, 'borrowLendMarketList', listingParams('USDC', {}), 1_000],
    [operator, 'borrowLendMarketList', listingParams('SOL', { collateralWeight: '0.8', maxPriceMove: '0.5' }), 1_000],
    [operator, 'indexPriceUpdate', { symbol: 'SOL', price: '100', publishedAtMs: '2000' }, 2_000],
    [...deposit(alice, 'USDC', '1000', 'a1'), 2_000],
    [...deposit(bob, 'SOL', '10', 'b1'), 2_000],
    [...deposit(carol, 'USDC', '5000', 'c1'), 2_000],
    [...deposit(dave, 'SOL', '100', 'd1'), 2_000],
    [...deposit(erin, 'SOL', '10', 'e1'), 2_000],
    [alice, 'borrowLendExecute', { symbol: 'USDC', side: 'Lend', quantity: '1000' }, 3_000],
    [bob, 'borrowLendExecute', { symbol: 'USDC', side: 'Borrow', quantity: '300' }, 4_000],
    // Thirty days on, bob repays a third: the first interest record.
    [bob, 'borrowLendExecute', { symbol: 'USDC', side: 'Lend', quantity: '100' }, 4_000 + 30 * dayMs],
    [dave, 'orderExecute', order('Ask', '3', '100'), 5_000 + 30 * dayMs],
    // Bob buys 3 SOL for 300 USDC holding about 200: the order borrows the rest.
    [bob, 'orderExecute', order('Bid', '3', '100', { autoBorrow: 'true' }), 6_000 + 30 * dayMs],
    [carol, 'orderExecute', order('Bid', '3', '100'), 7_000 + 40 * dayMs],
    // He sells them back; the proceeds repay his borrow.
    [bob, 'orderExecute', order('Ask', '3', '100', { autoBorrowRepay: 'true' }), 8_000 + 40 * dayMs],
    [...deposit(bob, 'USDC', '50', 'b2'), 9_000 + 40 * dayMs],
    // One Lend repays what is left of the debt and lends the rest: the borrow closes, a lend opens.
    [bob, 'borrowLendExecute', { symbol: 'USDC', side: 'Lend', quantity: '50' }, 10_000 + 40 * dayMs],
    // Erin borrows against 10 SOL and takes the USDC out; SOL halves; the keeper liquidates her.
    [erin, 'borrowLendExecute', { symbol: 'USDC', side: 'Borrow', quantity: '600' }, 11_000 + 40 * dayMs],
    [erin, 'withdraw', { symbol: 'USDC', quantity: '600', address: 'erin', blockchain: 'Solana' }, 12_000 + 40 * dayMs],
    [
      operator,
      'indexPriceUpdate',
      { symbol: 'SOL', price: '50', publishedAtMs: String(13_000 + 40 * dayMs) },
      13_000 + 40 * dayMs,
    ],
    [carol, 'orderExecute', order('Bid', '10', '46'), 14_000 + 40 * dayMs],
    [keeper, 'liquidate', { account: erin.accountId }, 15_000 + 40 * dayMs],
    // Alice redeems what she can after the loss: her lend interest over the whole span, the loss included.
    [alice, 'borrowLendExecute', { symbol: 'USDC', side: 'Borrow', quantity: '10' }, 16_000 + 50 * dayMs],
  ];
  return rows.map(([signer, instruction, params, timeMs]) => {
    const sorted = Object.fromEntries(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1)));
    return signedEntry(signer, instruction, sorted, timeMs);
  });
}

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
