/**
 * Seeded model-based perpetuals test (docs/perps.md): a few traders send
 * perpetual orders (limit, IOC, market, reduce-only) on two perpetuals while
 * the operator moves SOL's and BTC's index prices (sometimes by tens of per
 * cent), a keeper liquidates any trader, and log time runs past funding
 * boundaries and realisation windows. The model gives its own verdict on
 * each order and liquidation and computes their fills (reference-perps-book.ts,
 * reference-perps-liquidation.ts); the engine's must equal them. After every
 * step the engine's positions, USDC balances, coverage pool and resting
 * orders equal the reference model's (reference-perps.ts), and these
 * invariants hold (perps-invariants-check.ts):
 * positions sum to zero per market; USDC is conserved counting pending PnL
 * and funding; no account is below maintenance after its own accepted order
 * unless it was when the order ran (after the entry's clocks); the order check's health in parts equals a whole
 * pass (expectHealthInParts). A failure names its seed and step.
 * PERPS_SEED reproduces one run, PERPS_RUNS sets the number of runs,
 * PERPS_STEPS the steps per run.
 */
import { describe, expect, it } from 'vitest';
import { expectHealthInParts, PerpRun, perpMarkets, type Step, traders } from './perps-model-harness.js';
import { seededRandom } from './random-log.js';
import { modelHealth } from './reference-perps-health.js';
import { scenarioKeys } from './scenario-runner.js';

const runs = Number(process.env.PERPS_RUNS ?? 4);
const firstSeed = Number(process.env.PERPS_SEED ?? 1);
const stepsPerRun = Number(process.env.PERPS_STEPS ?? 300);

function randomStep(next: () => number, priceTicks: number[]): Step {
  const pick = <T>(items: readonly T[]): T => items[next() % items.length]!;
  const trader = pick(traders);
  const which = next() % perpMarkets.length;
  const market = perpMarkets[which]!;
  const lowest = market.firstTicks / 20;
  const price = (ticks: number): string =>
    (Math.max(1, ticks) / 10 ** market.tickDecimals).toFixed(market.tickDecimals);
  switch (next() % 12) {
    case 0:
    case 1: {
      // Mostly a few per cent, sometimes a jump of up to 30 %, rarely 45 % (the listings allow 50 %): accounts fall
      // below maintenance, and the liquidation's book, pool and ADL paths run.
      const roll = next() % 10;
      const range = roll === 0 ? 90 : roll < 3 ? 60 : 10;
      const movePerCent = (next() % (range + 1)) - range / 2;
      priceTicks[which] = Math.max(lowest, Math.round((priceTicks[which]! * (100 + movePerCent)) / 100));
      return ['operator', 'indexPriceUpdate', { symbol: market.base, price: price(priceTicks[which]!) }];
    }
    case 4:
    case 5:
      // A keeper's step on any trader: refused unless the account is below maintenance.
      return ['operator', 'liquidate', { account: trader }];
    case 2:
      return [trader, 'orderCancelAll', { symbol: market.listing.symbol }];
    case 3:
      // Deposits are rarer than keeper steps, so that accounts stay leveraged enough to fall below maintenance.
      if (next() % 3 === 0) return ['operator', 'liquidate', { account: trader }];
      return ['operator', 'depositCredit', { account: trader, symbol: 'USDC', quantity: String(100 + (next() % 900)) }];
    default: {
      const side = pick(['Bid', 'Ask']);
      const steps = 1 + (next() % market.steps[next() % 4 === 0 ? 1 : 0]!);
      const quantity = (steps / 10 ** market.stepDecimals).toFixed(market.stepDecimals);
      const order: Record<string, string> = { symbol: market.listing.symbol, side, quantity };
      const kind = next() % 4;
      if (kind === 3) order.orderType = 'Market';
      else {
        // Within 5 % of the index.
        order.orderType = 'Limit';
        order.price = price(priceTicks[which]! + Math.round((priceTicks[which]! * ((next() % 1001) - 500)) / 10_000));
        // Some takers are fill-or-kill (read off the size, so the draws that follow stay as they were): both kinds
        // are refused before the margin check when they would not fill (docs/perps.md section 4a).
        if (kind === 2) order.timeInForce = steps % 4 === 0 ? 'FOK' : 'IOC';
      }
      // Reduce-only on any kind: a GTC one rests, to be passed over, cut or expired (docs/perps.md section 4a).
      if (next() % 4 === 0) order.reduceOnly = 'true';
      return [trader, 'orderExecute', order];
    }
  }
}

/** Mostly within a realisation window, sometimes past one or more funding intervals, sometimes past 24 samples. */
function randomDelay(next: () => number): number {
  const roll = next() % 20;
  if (roll < 10) return next() % 3_000;
  if (roll < 14) return 3_000 + (next() % 20_000);
  if (roll < 18) return 20_000 + (next() % 60_000);
  return 100_000 + (next() % 400_000);
}

function runOnce(seed: number, steps: number): Record<string, number> {
  const next = seededRandom(seed);
  const run = new PerpRun();
  const priceTicks = perpMarkets.map((market) => market.firstTicks);
  let timeMs = 10;
  for (const trader of traders) {
    const quantity = String(300 + (next() % 2_000));
    run.step(timeMs, ['operator', 'depositCredit', { account: trader, symbol: 'USDC', quantity }], `seed ${seed}`);
  }
  for (let step = 0; step < steps; step += 1) {
    timeMs += randomDelay(next);
    const row = randomStep(next, priceTicks);
    // Half the keeper's steps go to an account the model has below maintenance, if any.
    if (row[1] === 'liquidate' && next() % 2 === 0) {
      const below = traders.filter((trader) => {
        const health = modelHealth(run.model, scenarioKeys.get(trader)!);
        return health.netEquity < health.maintenanceRequirement;
      });
      if (below.length > 0) row[2].account = below[next() % below.length]!;
    }
    const line = `seed ${seed} step ${step}: ${timeMs} ${row[0]} ${row[1]} ${JSON.stringify(row[2])}`;
    run.step(timeMs, row, line);
    expectHealthInParts(run, traders, timeMs, line);
  }
  for (const [key, count] of Object.entries(run.model.met)) run.outcomes[key] = count;
  return run.outcomes;
}

describe('seeded random perpetual sequences against the reference model', () => {
  it(`agree with the model and keep the invariants over ${runs} runs from seed ${firstSeed}`, () => {
    const totals: Record<string, number> = {};
    for (let seed = firstSeed; seed < firstSeed + runs; seed += 1)
      for (const [key, count] of Object.entries(runOnce(seed, stepsPerRun))) totals[key] = (totals[key] ?? 0) + count;
    if (process.env.PERPS_STATS === '1') console.log(totals);
    // The sequences reach the interesting outcomes, not only refusals.
    for (const key of [
      'orderExecute ok',
      'orderExecute reduceOnly ok',
      'indexPriceUpdate ok',
      'SOL_USDC_PERP fill',
      'BTC_USDC_PERP fill',
      'funding boundary',
      'funding at a premium off zero',
      'mark at a premium estimate',
      'mark off the index',
      'realised PnL',
      'borrowed USDC',
      'fill opens',
      'fill adds',
      'fill reduces',
      'fill closes',
      'fill flips',
      'funding paid',
      'funding received',
      'realised in a later window',
      'realised by the sweep',
      'loss borrowed',
      'order that opens nothing',
      'orderExecute ORDER_WOULD_NOT_FILL',
      'unfillable order refused before margin',
      'order rests',
      'reduce-only order rests',
      'reduce-only order cut',
      'reduce-only order expired',
      'liquidate ok',
      'liquidate NOT_LIQUIDATABLE',
      'position closed on the book',
      'position taken over by the pool',
      'position deleveraged',
    ])
      expect(totals[key] ?? 0, key).toBeGreaterThan(0);
  });
});
