/**
 * The built-in keeper over a real node and HTTP: a borrower withdraws what he
 * borrowed, the price of his collateral falls, and the keeper's `liquidate`
 * (signed with the keeper key, not an operator-only instruction) is accepted;
 * a healthy account is never submitted. The demo feed's walk is fixed by its
 * seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keeper } from './keeper.js';
import { borrowLendHole } from './margin-reserves.js';
import { demoMarginSettings } from './margin-config.js';
import { PriceWalk, postIndexPrice } from './price-feed.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main as cliMain } from '../../client/src/cli.js';
import { deposit, signedRequest, startTestExchange, TestKey, type TestExchange } from './test-support.js';

describe('the built-in keeper', { timeout: 60_000 }, () => {
  let exchange: TestExchange;
  let keeper: Keeper;
  const bob = TestKey.random();
  const carol = TestKey.random();
  const keeperKey = TestKey.random();

  const keyDirectory = mkdtempSync(join(tmpdir(), 'vex-keeper-'));
  const operatorKeyFile = join(keyDirectory, 'operator-key.json');

  async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await cliMain([...argv, '--url', exchange.baseUrl], {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    return { code, stdout, stderr };
  }

  beforeAll(async () => {
    exchange = await startTestExchange({ config: demoMarginSettings() });
    writeFileSync(
      operatorKeyFile,
      JSON.stringify({ secret: exchange.operatorKey.secret, publicKey: exchange.operatorKey.apiKey }),
    );
    keeper = new Keeper({ node: exchange.node, seed: keeperKey.seed }).start();
  });

  afterAll(async () => {
    await keeper?.stop();
    await exchange?.close();
    rmSync(keyDirectory, { recursive: true, force: true });
  });

  async function positions(key: TestKey): Promise<Array<{ symbol: string; netQuantity: string }>> {
    const answer = await signedRequest(exchange, key, 'GET', '/api/v1/borrowLend/positions', 'borrowLendPositionQuery');
    expect(answer.status).toBe(200);
    return answer.body;
  }

  it('liquidates an account the price drop takes below maintenance, and only that one', async () => {
    expect((await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', '150')).outcome.accepted).toBe(true);
    await deposit(exchange, carol.apiKey, 'USDC', '20000');
    await deposit(exchange, bob.apiKey, 'SOL', '10');
    const lend = await signedRequest(exchange, carol, 'POST', '/api/v1/borrowLend', 'borrowLendExecute', {
      body: { quantity: '10000', side: 'Lend', symbol: 'USDC' },
    });
    expect(lend.body).toMatchObject({ netQuantity: '10000' });
    const borrow = await signedRequest(exchange, bob, 'POST', '/api/v1/borrowLend', 'borrowLendExecute', {
      body: { quantity: '800', side: 'Borrow', symbol: 'USDC' },
    });
    expect(borrow.body).toMatchObject({ netQuantity: '-800' });
    const withdrawal = await signedRequest(exchange, bob, 'POST', '/wapi/v1/capital/withdrawals', 'withdraw', {
      body: { address: 'bob-wallet', blockchain: 'Solana', quantity: '800', symbol: 'USDC' },
    });
    expect(withdrawal.status, JSON.stringify(withdrawal.body)).toBe(200);
    // The borrow/lend hole: 800 USDC borrowed out and withdrawn, covered by 10 SOL × 150 × 0.8.
    expect(borrowLendHole(exchange.node.state, 'USDC')).toMatchObject({
      lent: expect.stringMatching(/^10000/),
      borrowed: expect.stringMatching(/^800/),
      borrowCollateralValue: '1200',
    });
    // A bid inside the 10 % liquidation band around the new price.
    const bid = await signedRequest(exchange, carol, 'POST', '/api/v1/order', 'orderExecute', {
      body: { orderType: 'Limit', price: '99', quantity: '10', side: 'Bid', symbol: 'SOL_USDC' },
    });
    expect(bid.status, JSON.stringify(bid.body)).toBe(200);

    // 10 SOL × 140 × 0.8 − 800 = 320 ≥ 80: still healthy, the keeper submits nothing.
    expect((await postIndexPrice(exchange.node, exchange.operatorKey.seed, 'SOL', '140')).outcome.accepted).toBe(true);
    await keeper.requestSweep();
    expect(keeper.submitted).toEqual([]);
    // 10 × 100 × 0.8 − 800 = 0 < 80: liquidatable.
    // Posted with the CLI, as an operator would: pnpm exchange price --symbol SOL --price 100.
    const drop = await cli(['price', '--symbol', 'SOL', '--price', '100', '--operator-key', operatorKeyFile]);
    expect(drop.code, drop.stderr).toBe(0);
    expect(JSON.parse(drop.stdout).results).toEqual([
      expect.objectContaining({ ok: true, kind: 'price', symbol: 'SOL', indexPrice: '100' }),
    ]);
    for (let waited = 0; keeper.submitted.length === 0 && waited < 10_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await keeper.requestSweep();
    // Gradual liquidation (docs/margin.md, section 8): two steps, each selling part of bob's SOL to carol at 99
    // (budgets of 20 % of his debt), bring him back above maintenance; the rest of his borrow stays open.
    expect(keeper.submitted).toEqual([
      { account: bob.apiKey, accepted: true },
      { account: bob.apiKey, accepted: true },
    ]);
    expect(await positions(bob)).toEqual([
      expect.objectContaining({ symbol: 'USDC', netQuantity: expect.stringMatching(/^-488\.4/) }),
    ]);
    const summary = await signedRequest(exchange, bob, 'GET', '/api/v1/capital/collateral', 'collateralQuery');
    expect(summary.body).toMatchObject({ borrowLiability: expect.stringMatching(/^488\.4/), liquidating: false });
    const get = async (path: string) => (await fetch(`${exchange.baseUrl}${path}`)).json();
    expect(await get('/api/v1/liquidations/candidates')).toEqual([]);
    expect(await get('/api/v1/prices')).toEqual(
      expect.arrayContaining([expect.objectContaining({ symbol: 'SOL', indexPrice: '100' })]),
    );
    // The liquidation fees, 1 % of each system order's proceeds (two sales of SOL at 99), went to the USDC
    // coverage pool.
    expect(await get('/api/v1/coveragePool')).toEqual(
      expect.arrayContaining([expect.objectContaining({ symbol: 'USDC', holdings: '3.146626' })]),
    );
  });

  it('walks the demo prices the same way from the same seed', () => {
    const first = new PriceWalk({ SOL: '150' }, 42n);
    const second = new PriceWalk({ SOL: '150' }, 42n);
    const path = Array.from({ length: 5 }, () => first.step('SOL'));
    expect(Array.from({ length: 5 }, () => second.step('SOL'))).toEqual(path);
    for (const price of path) expect(Math.abs(Number(price) / 150 - 1)).toBeLessThan(0.03);
  });
});
