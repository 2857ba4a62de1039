/**
 * Margin end to end over HTTP with unmodified ccxt 4.5.84 (Backpack's
 * implicit methods and createOrder's params): a lender lends, a borrower
 * borrows and buys on margin with autoBorrow, the operator posts a price drop
 * with the CLI, the built-in keeper liquidates the borrower through the book,
 * every asset's units add up, and the exported log replays to the node's
 * state.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkInvariants, stateHashHex } from '@vex/engine';
import { replayLog } from '@vex/replayer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as cliMain } from '../../client/src/cli.js';
import { Keeper } from './keeper.js';
import { demoMarginSettings } from './margin-config.js';
import { postIndexPrice } from './price-feed.js';
import { deposit, startTestExchange, TestKey, type TestExchange } from './test-support.js';
import { backpackClient } from '../test/exchange-fixture.js';

describe('margin with ccxt, end to end', { timeout: 120_000 }, () => {
  let exchange: TestExchange;
  let keeper: Keeper;
  const keys = { alice: TestKey.random(), bob: TestKey.random(), carol: TestKey.random() };
  const directory = mkdtempSync(join(tmpdir(), 'vex-ccxt-margin-'));
  const operatorKeyFile = join(directory, 'operator-key.json');

  async function postPriceWithCli(symbol: string, price: string): Promise<void> {
    let stdout = '';
    let stderr = '';
    const argv = [
      'price',
      '--symbol',
      symbol,
      '--price',
      price,
      '--operator-key',
      operatorKeyFile,
      '--url',
      exchange.baseUrl,
    ];
    const code = await cliMain(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout).results).toEqual([
      expect.objectContaining({ ok: true, kind: 'price', indexPrice: price }),
    ]);
  }

  beforeAll(async () => {
    // No idle attestations: the head stays where the test's last entry left it, so the replay can be compared with it.
    exchange = await startTestExchange({ config: demoMarginSettings(), attestEveryMs: 3_600_000 });
    writeFileSync(
      operatorKeyFile,
      JSON.stringify({ secret: exchange.operatorKey.secret, publicKey: exchange.operatorKey.apiKey }),
    );
    keeper = new Keeper({ node: exchange.node, seed: TestKey.random().seed }).start();
    expect((await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', '150')).outcome.accepted).toBe(true);
    await deposit(exchange, keys.alice.apiKey, 'USDC', '10000');
    await deposit(exchange, keys.bob.apiKey, 'SOL', '10');
    await deposit(exchange, keys.carol.apiKey, 'SOL', '20');
    await deposit(exchange, keys.carol.apiKey, 'USDC', '2000');
  });

  afterAll(async () => {
    await keeper?.stop();
    await exchange?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('ccxt reads the perpetual’s mark, index and estimated funding rate (fetchFundingRate)', async () => {
    const client = backpackClient(exchange, keys.alice);
    const rate = await client.fetchFundingRate('SOL/USDC:USDC');
    expect(rate).toMatchObject({ symbol: 'SOL/USDC:USDC', markPrice: 150, indexPrice: 150, fundingRate: 0.0000125 });
    expect(rate.nextFundingTimestamp).toBeGreaterThan(0);
    expect(rate.nextFundingTimestamp! % 3_600_000).toBe(0);
  });

  it('lends, borrows, trades on margin and is liquidated after a price drop', async () => {
    const alice = backpackClient(exchange, keys.alice);
    const bob = backpackClient(exchange, keys.bob);
    const carol = backpackClient(exchange, keys.carol);
    expect(await alice.privatePostApiV1BorrowLend({ symbol: 'USDC', side: 'Lend', quantity: '10000' })).toMatchObject({
      netQuantity: '10000',
    });
    expect(await bob.privatePostApiV1BorrowLend({ symbol: 'USDC', side: 'Borrow', quantity: '200' })).toMatchObject({
      netQuantity: '-200',
    });
    await carol.createOrder('SOL/USDC', 'limit', 'sell', 5, 150);
    // 4 SOL at 150 = 600 USDC: 200 borrowed already, the rest borrowed by the order itself.
    const order = await bob.createOrder('SOL/USDC', 'limit', 'buy', 4, 150, { autoBorrow: true });
    expect(order.status).toBe('closed');
    const positions = await bob.privateGetApiV1BorrowLendPositions();
    expect(positions).toEqual([
      expect.objectContaining({ symbol: 'USDC', netQuantity: expect.stringMatching(/^-60\d/) }),
    ]);
    // The taker fee, 5 bps, is taken from the 4 SOL received.
    expect((await bob.fetchBalance()).SOL!.free).toBeCloseTo(13.998, 6);

    // 14 SOL × 80 × 0.8 = 896 against ~600 owed: still healthy. Then 14 × 55 × 0.8 = 616 < 600 + 60.
    await carol.createOrder('SOL/USDC', 'limit', 'buy', 14, 54);
    await postPriceWithCli('SOL', '80');
    await keeper.requestSweep();
    expect(keeper.submitted).toEqual([]);
    await postPriceWithCli('SOL', '55');
    for (let waited = 0; keeper.submitted.length === 0 && waited < 10_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await keeper.requestSweep();
    // Gradual liquidation (docs/margin.md, section 8): two bounded steps sell 2.43 and 2.03 SOL to carol at 54
    // and bring bob back above maintenance; the rest of his borrow stays open.
    expect(keeper.submitted).toEqual([
      { account: keys.bob.apiKey, accepted: true },
      { account: keys.bob.apiKey, accepted: true },
    ]);
    expect(await bob.privateGetApiV1BorrowLendPositions()).toEqual([
      expect.objectContaining({ symbol: 'USDC', netQuantity: expect.stringMatching(/^-36\d\./) }),
    ]);
    const summary = await bob.privateGetApiV1CapitalCollateral();
    expect(summary).toMatchObject({ borrowLiability: expect.stringMatching(/^36\d\./), liquidating: false });
    const left = (await bob.fetchBalance()).SOL!.free!;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(14);
  });

  it('balances add up: every unit deposited is in a balance, a lending pool or a coverage pool', () => {
    const state = exchange.node.state;
    checkInvariants(state);
    for (const asset of state.assets) {
      let held = 0n;
      for (const account of state.accountList) {
        const balance = account.balances[asset.index];
        if (balance !== undefined) held += balance.available + balance.locked + balance.pendingWithdrawal;
      }
      const pools =
        asset.margin === undefined ? 0n : asset.margin.lendingPool.cashUnits + asset.margin.coveragePool.holdingsUnits;
      expect(held + pools, asset.symbol).toBe(asset.depositedUnits - asset.withdrawnUnits);
    }
  });

  it('the exported log replays to the same state', async () => {
    const log = new Uint8Array(await (await fetch(`${exchange.baseUrl}/api/v1/log?from=1`)).arrayBuffer());
    const report = await replayLog({ log, logDescription: 'GET /api/v1/log?from=1', workers: 1 });
    if (!report.verified) throw new Error(`the replay diverged: ${JSON.stringify(report.divergence)}`);
    expect(report.entriesApplied).toBe(exchange.node.head().sequence);
    expect(report.stateHash).toBe(stateHashHex(exchange.node.state));
  });
});
