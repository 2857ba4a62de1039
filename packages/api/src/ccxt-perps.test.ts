/**
 * Perpetuals end to end with unmodified ccxt 4.5.84 and ccxt.pro over a real
 * node (LevelDB, HTTP, WebSocket, the built-in keeper): two traders open
 * opposite SOL/USDC:USDC positions, the short closes part of it with a
 * reduce-only order, watchPositions streams both changes (a new subscriber
 * gets Backpack's snapshot first), the operator posts index prices (the CLI,
 * then the operator route), log time passes a funding boundary so funding is
 * paid, and fetchPositions, fetchFundingRate, fetchFundingRateHistory,
 * fetchFundingHistory, fetchOpenInterest, fetchMarkOHLCV and fetchIndexOHLCV
 * parse with the expected values. The price moves against the long: first to
 * a price it survives (the long's own next entry then settles its funding and
 * realises its loss), then below its liquidation price, where the keeper
 * liquidates it (behind keeperLiquidatesPerpPositions until liquidation of
 * positions lands). The exported log replays to the node's state.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkInvariants, stateHashHex } from '@vex/engine';
import { replayLog } from '@vex/replayer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { main as cliMain } from '../../client/src/cli.js';
import { backpackClient, backpackProClient, type Backpack, type BackpackPro } from '../test/exchange-fixture.js';
import { Keeper } from './keeper.js';
import { demoMarginSettings } from './margin-config.js';
import { deposit, operatorTransaction, startTestExchange, TestKey, type TestExchange } from './test-support.js';

/**
 * Switch on once the keeper and `liquidate` handle perpetual positions (branch `perpliq`): today's keeper
 * looks only at accounts that borrow, and `liquidate` closes no position, so the long, whose loss is still
 * unrealised, is never liquidated.
 */
const keeperLiquidatesPerpPositions = true;

const hourMs = 3_600_000;
const perp = 'SOL/USDC:USDC';

describe('perpetuals with ccxt, end to end', { timeout: 120_000 }, () => {
  let exchange: TestExchange;
  let keeper: Keeper;
  // The node's, keeper's and ccxt's clock runs ahead of the wall clock by `offsetMs` (ccxt: options.timeDifference).
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  const keys = { long: TestKey.random(), short: TestKey.random(), carol: TestKey.random() };
  const clients: Backpack[] = [];
  const proClients: BackpackPro[] = [];
  let longWatcher: BackpackPro;
  const directory = mkdtempSync(join(tmpdir(), 'vex-ccxt-perps-'));
  let firstPriceMs = 0;

  function client(key: TestKey): Backpack {
    const made = backpackClient(exchange, key);
    made.options.timeDifference = -offsetMs;
    clients.push(made);
    return made;
  }

  async function proClient(key: TestKey): Promise<BackpackPro> {
    const made = await backpackProClient(exchange, key);
    made.options.timeDifference = -offsetMs;
    proClients.push(made);
    return made;
  }

  /** Moves every clock `byMs` ahead. */
  function advance(byMs: number): void {
    offsetMs += byMs;
    for (const each of [...clients, ...proClients]) each.options.timeDifference = -offsetMs;
  }

  async function postPriceWithCli(price: string): Promise<void> {
    const keyFile = join(directory, 'operator-key.json');
    writeFileSync(
      keyFile,
      JSON.stringify({ secret: exchange.operatorKey.secret, publicKey: exchange.operatorKey.apiKey }),
    );
    let stdout = '';
    let stderr = '';
    const argv = ['price', '--symbol', 'SOL', '--price', price, '--operator-key', keyFile, '--url', exchange.baseUrl];
    const code = await cliMain(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout).results).toEqual([expect.objectContaining({ ok: true, indexPrice: price })]);
  }

  /** The operator route (POST /api/v1/transactions) on the test clock, which the CLI does not keep. */
  async function postPrice(price: string): Promise<void> {
    const timeMs = Math.max(clock(), exchange.node.state.logTimeMs);
    const params = { price, publishedAtMs: String(timeMs), symbol: 'SOL' };
    const { status, body } = await operatorTransaction(exchange, 'indexPriceUpdate', params, timeMs);
    expect(status, JSON.stringify(body)).toBe(200);
  }

  /** The start of the hour of the first price: ccxt drops candles that start before `since`. */
  const firstHourMs = () => firstPriceMs - (firstPriceMs % hourMs);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Accounts with a private stream open on the node's WebSocket hub. */
  const subscribedAccounts = () => exchange.app.serverStatistics().webSocket!.privateAccounts;
  async function waitUntil(condition: () => boolean, what: string): Promise<void> {
    for (let waited = 0; !condition() && waited < 10_000; waited += 25) await pause(25);
    expect(condition(), what).toBe(true);
  }

  beforeAll(async () => {
    // No idle attestations: the head stays where the test's last entry left it, so the replay can be compared with it.
    exchange = await startTestExchange({ clock, config: demoMarginSettings(), attestEveryMs: hourMs });
    keeper = new Keeper({ node: exchange.node, seed: TestKey.random().seed, clock }).start();
    await postPriceWithCli('150');
    firstPriceMs = exchange.node.state.logTimeMs;
    await deposit(exchange, keys.long.apiKey, 'USDC', '100');
    await deposit(exchange, keys.short.apiKey, 'USDC', '1000');
    await deposit(exchange, keys.carol.apiKey, 'USDC', '1000');
  });

  afterAll(async () => {
    for (const each of proClients) await each.close();
    await keeper?.stop();
    await exchange?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('opens opposite positions; watchPositions streams each side’s fill', async () => {
    const long = client(keys.long);
    const short = client(keys.short);
    const shortWatcher = await proClient(keys.short);
    longWatcher = await proClient(keys.long);
    const shortOpened = shortWatcher.watchPositions();
    const longOpened = longWatcher.watchPositions([perp]);
    // Let the subscriptions reach the server before anything happens.
    await waitUntil(() => subscribedAccounts() === 2, 'both accounts subscribed');

    // 10 SOL at 150: the long rests the bid, the short sells into it.
    await long.createOrder(perp, 'limit', 'buy', 10, 150);
    const sold = await short.createOrder(perp, 'market', 'sell', 10);
    expect(sold).toMatchObject({ status: 'closed', filled: 10 });
    // ccxt 4.5.84 leaves a position's figures as the strings Backpack sends (its safePosition parses none).
    const [shortPosition] = await shortOpened;
    expect(shortPosition).toMatchObject({ symbol: perp, side: 'short', contracts: '10', markPrice: '150' });
    expect(shortPosition!.info).toMatchObject({ e: 'positionOpened', s: 'SOL_USDC_PERP', q: '-10' });
    const [longPosition] = await longOpened;
    expect(longPosition).toMatchObject({ symbol: perp, side: 'long', contracts: '10', notional: '1500' });
    proClients.splice(proClients.indexOf(shortWatcher), 1);
    await shortWatcher.close();
  });

  it('a subscriber to account.positionUpdate first gets a snapshot of its positions, without `e`', async () => {
    const socket = new WebSocket(exchange.wsUrl);
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const timestamp = String(clock());
    const signature = keys.short.sign(`instruction=subscribe&timestamp=${timestamp}&window=5000`);
    const streams = ['account.positionUpdate.SOL_USDC_PERP', 'account.positionUpdate.BTC_USDC_PERP'];
    socket.send(
      JSON.stringify({
        method: 'SUBSCRIBE',
        params: streams,
        signature: [keys.short.apiKey, signature, timestamp, '5000'],
        id: 7,
      }),
    );
    await waitUntil(() => messages.length >= 2, 'the acknowledgement and the snapshot');
    await pause(100);
    socket.close();
    await waitUntil(() => subscribedAccounts() === 1, 'only the long’s watcher left');
    const micros = exchange.node.state.logTimeMs * 1000;
    // The acknowledgement, then the one open position (none on BTC_USDC_PERP).
    expect(messages).toEqual([
      { id: 7, result: null },
      {
        stream: 'account.positionUpdate.SOL_USDC_PERP',
        data: expect.objectContaining({
          E: micros,
          s: 'SOL_USDC_PERP',
          q: '-10',
          Q: '10',
          B: '150',
          M: '150',
          T: micros,
        }),
      },
    ]);
    expect(messages[1].data.e).toBeUndefined();
  });

  it('a funding boundary passes; watchPositions streams the short’s reduce-only close of 2', async () => {
    advance(hourMs);
    // The first entry past the boundary settles the interval (no book: the interest floor, longs pay).
    await postPrice('150');
    const short = client(keys.short);
    // A new subscriber: ccxt.pro passes the snapshot (it has no `e`) by and resolves with the change.
    const shortAdjusted = (await proClient(keys.short)).watchPositions();
    await waitUntil(() => subscribedAccounts() === 2, 'the short subscribed again');
    await pause(100);
    await client(keys.carol).createOrder(perp, 'limit', 'sell', 2, 150);
    const bought = await short.createOrder(perp, 'market', 'buy', 2, undefined, { reduceOnly: true });
    expect(bought).toMatchObject({ status: 'closed', filled: 2 });
    const [adjusted] = await shortAdjusted;
    expect(adjusted).toMatchObject({ symbol: perp, side: 'short', contracts: '8' });
    expect(adjusted!.info).toMatchObject({ e: 'positionAdjusted', q: '-8' });
    // A reduce-only order never opens: with 8 short left, a reduce-only sell is refused.
    await expect(short.createOrder(perp, 'market', 'sell', 1, undefined, { reduceOnly: true })).rejects.toThrow(
      /INVALID_ORDER/,
    );
  });

  it('ccxt reads the positions, funding, open interest and mark and index candles', async () => {
    const long = client(keys.long);
    const short = client(keys.short);
    const [longPosition] = await long.fetchPositions();
    expect(longPosition).toMatchObject({ symbol: perp, side: 'long', contracts: '10', markPrice: '150' });
    expect(longPosition).toMatchObject({ notional: '1500', entryPrice: '150', unrealizedPnl: '0' });
    // The long's funding is pending (settled when its position is next touched, docs/perps.md section 5).
    expect(longPosition!.info).toMatchObject({ breakEvenPrice: '150.001875', cumulativeFundingPayment: '-0.01875' });
    // 150 − buffer ÷ (10 × (1 − MMF)): the buffer is 100 − 0.3 maker fee − 0.01875 funding − 18.75 maintenance
    // (MMF 1.25 %: the base beats 0.0000765 × √1500), so 150 − 80.93125 ÷ 9.875 = 141.8044…
    expect(longPosition!.liquidationPrice).toBe('141.804430379746835444');
    expect(await short.fetchPositions([perp])).toEqual([expect.objectContaining({ side: 'short', contracts: '8' })]);

    const rate = await long.fetchFundingRate(perp);
    expect(rate).toMatchObject({ symbol: perp, markPrice: 150, indexPrice: 150, fundingRate: 0.0000125 });
    const rates = await long.fetchFundingRateHistory(perp);
    expect(rates).toEqual([expect.objectContaining({ symbol: perp, fundingRate: 0.0000125 })]);
    expect(rates[0]!.timestamp! % hourMs).toBe(0);

    // 10 SOL × 150 × 0.0000125 = 0.01875 USDC, received by the short when its reduce-only order settled it.
    const received = await short.fetchFundingHistory(perp);
    expect(received).toEqual([expect.objectContaining({ symbol: perp, amount: 0.01875, rate: 0.0000125 })]);
    expect(received[0]!.timestamp).toBe(rates[0]!.timestamp);

    // Long 10 = short 8 + carol's 2.
    expect(await long.fetchOpenInterest(perp)).toMatchObject({ symbol: perp, openInterestValue: 10 });

    // One candle: the second hour's price left the mark where it was, so it has no mark event (docs/api.md).
    const mark = await long.fetchMarkOHLCV(perp, '1h', firstHourMs());
    expect(mark).toEqual([[firstHourMs(), 150, 150, 150, 150, 0]]);
    expect(await long.fetchIndexOHLCV(perp, '1h', firstHourMs())).toEqual(mark);
  });

  it('a price the long survives: the keeper leaves it', async () => {
    advance(1_000);
    // Net equity 99.68125 − 80 = 19.68125 against a maintenance requirement of 1420 × 1.25 % = 17.75.
    await postPrice('142');
    await keeper.requestSweep();
    expect(keeper.submitted).toEqual([]);
    const [position] = await client(keys.long).fetchPositions();
    // 10 × (142 − 150), not yet realised: the long has signed nothing since.
    expect(position).toMatchObject({ contracts: '10', markPrice: '142', unrealizedPnl: '-80' });
    const candles = await client(keys.long).fetchMarkOHLCV(perp, '1h', firstHourMs());
    expect(candles.map((candle) => candle[4])).toEqual([150, 142]);
    expect(candles[1]![0]).toBe(firstHourMs() + hourMs);
  });

  it('the long’s funding is settled and its loss realised without its asking (docs/perps.md 5b)', async () => {
    const long = client(keys.long);
    // The long has signed nothing since the boundary, but the bounded realisation that ends every accepted entry
    // (docs/perps.md 5b, rule 3) took its position at the price entry: its funding is settled already.
    expect(await long.fetchFundingHistory(perp)).toEqual([
      expect.objectContaining({ symbol: perp, amount: -0.01875, rate: 0.0000125 }),
    ]);
    // That realisation was at the mark the price entry saw (150); the first accepted entry of a later 10-second
    // window realises it at the new mark, 142 (here the long's own: it lends 1 USDC).
    advance(10_000);
    expect(await long.privatePostApiV1BorrowLend({ symbol: 'USDC', side: 'Lend', quantity: '1' })).toMatchObject({
      netQuantity: '1',
    });
    const paid = await long.fetchFundingHistory(perp);
    expect(paid).toEqual([expect.objectContaining({ symbol: perp, amount: -0.01875, rate: 0.0000125 })]);
    // Realised at the mark: the cost basis is now 10 × 142, the 80 USDC lost left the long's USDC.
    const [position] = await long.fetchPositions();
    expect(position).toMatchObject({ contracts: '10', entryPrice: '142', unrealizedPnl: '0', realizedPnl: '-80' });
    expect(position!.info).toMatchObject({ breakEvenPrice: '142.001875', netCost: '1420' });
    expect(position!.liquidationPrice).toBe('141.804430379746835444');
    // 100 − 0.3 − 0.01875 − 80 − the 1 lent.
    expect((await long.fetchBalance()).USDC).toMatchObject({ free: 18.68125, total: 18.68125 });
  });

  it.runIf(keeperLiquidatesPerpPositions)(
    'the price moves below the long’s liquidation price: the keeper liquidates it',
    async () => {
      // Carol's bid is the book the liquidation closes the long into.
      await client(keys.carol).createOrder(perp, 'limit', 'buy', 10, 140);
      const liquidated = longWatcher.watchPositions([perp]);
      await pause(100);
      advance(1_000);
      // Net equity 99.68125 − 90 = 9.68125 against a maintenance requirement of 1410 × 1.25 % = 17.625.
      await postPrice('141');
      for (let waited = 0; keeper.submitted.length === 0 && waited < 10_000; waited += 50) await pause(50);
      await keeper.requestSweep();
      expect(keeper.submitted.length).toBeGreaterThan(0);
      expect(keeper.submitted.every((record) => record.account === keys.long.apiKey && record.accepted)).toBe(true);
      const long = client(keys.long);
      const positions = await long.fetchPositions();
      expect(positions.reduce((sum, position) => sum + Number(position.contracts), 0)).toBeLessThan(10);
      const [update] = await liquidated;
      expect(update).toMatchObject({ symbol: perp });
      expect(Number(update!.contracts)).toBeLessThan(10);
      // Its funding payment is still in its history.
      expect(await long.fetchFundingHistory(perp)).toEqual([expect.objectContaining({ amount: -0.01875 })]);
      checkInvariants(exchange.node.state);
    },
  );

  it('the exported log replays to the same state', async () => {
    checkInvariants(exchange.node.state);
    const log = new Uint8Array(await (await fetch(`${exchange.baseUrl}/api/v1/log?from=1`)).arrayBuffer());
    const report = await replayLog({ log, logDescription: 'GET /api/v1/log?from=1', workers: 1 });
    if (!report.verified) throw new Error(`the replay diverged: ${JSON.stringify(report.divergence)}`);
    expect(report.entriesApplied).toBe(exchange.node.head().sequence);
    expect(report.stateHash).toBe(stateHashHex(exchange.node.state));
  });
});
