/**
 * Seeded random margin sequences (docs/margin.md): borrows, lends, price
 * moves, margin orders, liquidations and coverage pool movements by a few
 * accounts over growing log time. After every step the invariants hold and a
 * rejection changed nothing (applyRow); an accepted borrow, withdrawal or
 * margin order leaves its account at its initial margin unless it was below
 * it before and did not borrow; an accepted liquidation step is justified and
 * bounded, and one that ends in the backstop leaves no debt.
 * MARGIN_SEED reproduces one run, MARGIN_RUNS sets the number of runs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  accountHealth,
  accountHealthTerms,
  adjustedHealth,
  surplusCoversSpend,
  isLiquidatable,
  meetsInitialMargin,
  type HealthAdjustment,
} from '../src/health.js';
import type { ExchangeState } from '../src/state.js';
import { StateCommitment, stateCommitmentOf } from '../src/state-commitment.js';
import { seededRandom } from './random-log.js';
import { applyRow, runScenario, scenarioKeys } from './scenario-runner.js';

const setup = readFileSync(new URL('./scenarios/setup.scenario', import.meta.url), 'utf8');
const traders = ['alice', 'bob', 'carol', 'dave', 'erin'];
const runs = Number(process.env.MARGIN_RUNS ?? 12);
const firstSeed = Number(process.env.MARGIN_SEED ?? 1);

type Step = readonly [string, string, Record<string, string>];

function randomStep(next: () => number, solPrice: { value: number }): Step {
  const pick = <T>(items: readonly T[]): T => items[next() % items.length]!;
  const trader = pick(traders);
  const asset = pick(['SOL', 'USDC']);
  const quantity = String(1 + (next() % (asset === 'SOL' ? 8 : 600)));
  const price = String(Math.max(1, solPrice.value + (next() % 21) - 10));
  switch (next() % 9) {
    case 0:
    case 1:
      return [trader, 'borrowLendExecute', { symbol: asset, side: pick(['Borrow', 'Lend']), quantity }];
    case 2: {
      // Within the listing's bound of 50 % most of the time; sometimes beyond it.
      solPrice.value = Math.max(5, Math.round(solPrice.value * (0.45 + (next() % 111) / 100)));
      return ['operator', 'indexPriceUpdate', { symbol: 'SOL', price: String(solPrice.value) }];
    }
    case 3:
    case 4: {
      const flags: Record<string, string> = pick<Record<string, string>>([
        {},
        { autoBorrow: 'true' },
        { autoBorrow: 'true', autoLendRedeem: 'true' },
        { autoBorrowRepay: 'true', autoLend: 'true' },
      ]);
      const side = pick(['Bid', 'Ask']);
      const order = {
        symbol: 'SOL_USDC',
        side,
        orderType: 'Limit',
        price,
        quantity: String(1 + (next() % 5)),
        ...flags,
      };
      return [trader, 'orderExecute', order];
    }
    case 5:
      return ['keeper', 'liquidate', { account: pick(traders) }];
    case 6:
      return [trader, 'withdraw', { symbol: asset, quantity, address: 'x', blockchain: 'Solana' }];
    case 7:
      return [
        trader,
        pick(['coveragePoolDeposit', 'coveragePoolWithdrawRequest', 'coveragePoolWithdraw']),
        { symbol: asset, quantity, shares: '1000' },
      ];
    default:
      return [trader, 'orderCancelAll', { symbol: 'SOL_USDC' }];
  }
}

function runOnce(seed: number, steps: number): Record<string, number> {
  const next = seededRandom(seed);
  // A generator of its own, so the health check's draws leave the steps of each seed as they were.
  const adjustmentRandom = seededRandom(seed + 1_000_000);
  const state: ExchangeState = runScenario(setup);
  // The incremental state commitment must see every margin change (balances, settings, pools, indexes).
  const commitment = StateCommitment.build(state);
  const outcomes: Record<string, number> = {};
  const solPrice = { value: 100 };
  let timeMs = 1000;
  let published = 2;
  for (let step = 0; step < steps; step += 1) {
    timeMs += next() % 3_000_000;
    const [signer, name, raw] = randomStep(next, solPrice);
    const params = new Map(Object.entries(raw));
    if (name === 'indexPriceUpdate') params.set('publishedAtMs', String((published = timeMs)));
    if (name.startsWith('coveragePool')) {
      if (name !== 'coveragePoolDeposit') params.delete('quantity');
      if (name !== 'coveragePoolWithdrawRequest') params.delete('shares');
    }
    const account = state.accounts.get(scenarioKeys.get(signer)!);
    const surplusBefore = account === undefined ? 0n : surplus(state, signer, timeMs);
    const line = `seed ${seed} step ${step}: ${timeMs} ${signer} ${name} ${JSON.stringify(raw)}`;
    const outcome = applyRow(state, timeMs, signer, name, params, line);
    const key = `${name} ${outcome.accepted ? 'ok' : outcome.rejection.code}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    expect(Buffer.from(commitment.update(state)).toString('hex'), line).toBe(
      Buffer.from(stateCommitmentOf(state)).toString('hex'),
    );
    expectAdjustedHealthExact(state, adjustmentRandom, timeMs, line);
    if (!outcome.accepted) continue;
    if (name === 'liquidate') {
      const liquidated = state.accounts.get(scenarioKeys.get(raw.account!)!)!;
      const event = outcome.events.find((candidate) => candidate.type === 'liquidation');
      if (event?.type !== 'liquidation') throw new Error(`${line}: no liquidation event`);
      const step = event.liquidation;
      // Justified, and bounded (docs/margin.md, section 8): a step that ends in the backstop leaves no debt;
      // any other stops restored, with its budget spent, or having closed something with equity left.
      expect(step.netEquityBefore < step.maintenanceRequirementBefore, line).toBe(true);
      if (step.backstopped) expect(liquidated.borrowCount, line).toBe(0);
      else if (isLiquidatable(state, liquidated, timeMs))
        expect(step.closedValue > 0n && step.netEquityAfter > 0n, line).toBe(true);
    } else if (account !== undefined && ['borrowLendExecute', 'withdraw', 'orderExecute'].includes(name)) {
      const health = accountHealth(state, account, timeMs);
      // Below initial margin only if it already was and the entry did not make it worse.
      if (!meetsInitialMargin(health))
        expect(surplus(state, signer, timeMs) >= surplusBefore || surplusBefore < 0n, line).toBe(true);
    }
  }
  void published;
  return outcomes;
}

/**
 * adjustedHealth (what a margin order's admission uses: one pass, then only
 * the adjusted assets' terms) must equal a whole accountHealth pass with the
 * same adjustments, for every trader, after every step: random held and
 * borrowed changes of each sign and zero, on one asset, both, or one twice.
 */
function expectAdjustedHealthExact(state: ExchangeState, next: () => number, timeMs: number, line: string): void {
  const assets = [state.assetsBySymbol.get('SOL')!, state.assetsBySymbol.get('USDC')!];
  const delta = (): bigint => [0n, 0n, 1n, -1n][next() % 4]! * BigInt(next() % 2_000_000_000);
  for (const trader of traders) {
    const account = state.accounts.get(scenarioKeys.get(trader)!);
    if (account === undefined) continue;
    const base = accountHealthTerms(state, account, timeMs);
    expect(base.health, line).toEqual(accountHealth(state, account, timeMs));
    const adjustments: HealthAdjustment[] = [];
    for (let count = 1 + (next() % 3); count > 0; count -= 1)
      adjustments.push({ asset: assets[next() % 2]!, heldUnits: delta(), borrowedUnits: delta() });
    expect(adjustedHealth(state, account, base, adjustments), `${line} ${trader}`).toEqual(
      accountHealth(state, account, timeMs, adjustments),
    );
    // The filled end of an order that borrows nothing: when the shortcut passes it, the whole pass must too.
    // Drawn from a generator of their own, so that the sequences the seeds give stay those they always gave.
    const spendAsset = assets[shortcutRandom() % 2]!;
    const receiveAsset = spendAsset === assets[0] ? assets[1]! : assets[0]!;
    const spend = BigInt(shortcutRandom() % 2_000_000_000);
    const receive = BigInt(shortcutRandom() % 2_000_000_000);
    if (!surplusCoversSpend(base, spendAsset, receiveAsset, receive)) continue;
    shortcutsTaken += 1;
    const filled = accountHealth(state, account, timeMs, [
      { asset: spendAsset, heldUnits: -spend, borrowedUnits: 0n },
      { asset: receiveAsset, heldUnits: receive, borrowedUnits: 0n },
    ]);
    expect(meetsInitialMargin(filled), `${line} ${trader} filled end`).toBe(true);
  }
}

/** How often surplusCoversSpend passed a filled end in expectAdjustedHealthExact (the test must reach it). */
let shortcutsTaken = 0;
const shortcutRandom = seededRandom(4242);

function surplus(state: ExchangeState, signer: string, timeMs: number): bigint {
  const health = accountHealth(state, state.accounts.get(scenarioKeys.get(signer)!)!, timeMs);
  return health.netEquity - health.initialRequirement;
}

describe('seeded random margin sequences', () => {
  it(`keep every invariant over ${runs} runs from seed ${firstSeed}`, () => {
    const totals: Record<string, number> = {};
    for (let seed = firstSeed; seed < firstSeed + runs; seed += 1) {
      for (const [key, count] of Object.entries(runOnce(seed, 250))) totals[key] = (totals[key] ?? 0) + count;
    }
    if (process.env.MARGIN_STATS === '1') console.log(totals);
    // The sequences reach the interesting outcomes, not only refusals.
    for (const key of [
      'borrowLendExecute ok',
      'liquidate ok',
      'orderExecute ok',
      'indexPriceUpdate ok',
      'indexPriceUpdate PRICE_REJECTED',
    ]) {
      expect(totals[key] ?? 0, key).toBeGreaterThan(0);
    }
    expect(shortcutsTaken, 'filled ends passed by surplusCoversSpend').toBeGreaterThan(0);
  });
});
