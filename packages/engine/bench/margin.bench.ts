/**
 * pnpm bench:engine (second part) — the margin workload beside a spot
 * workload of the same shape, both through execute(), in one run:
 *
 *   tsx packages/engine/bench/margin.bench.ts [--ops N] [--seed N] [--accounts N]
 *
 * Margin: limit orders on SOL_USDC around the index price (half IOC), most
 * with margin flags (autoBorrow, autoLendRedeem, autoBorrowRepay, autoLend)
 * by accounts that borrow, so every order takes the margin path; borrows and
 * lends; an operator index price update (a random walk of up to ±3 USDC) every 100
 * operations; liquidation attempts by a keeper after each price update.
 * Spot: the same stream of orders without flags, borrows, prices or
 * liquidations, on accounts that never borrow. Each row gives ops/s over all
 * operations attempted (accepted or refused) and the accepted count;
 * checkInvariants runs after each workload, outside the timing, and the
 * margin run's final state hash is printed, so that a change meant to be
 * a pure speed-up can show it ends in the same state byte for byte.
 *
 * The two halves run interleaved, in `--slices N` (default 20) alternating
 * slices of their streams (interleaved-timing.ts says why: the machine's
 * cost per operation drifts, and both halves must share its drift), after
 * an untimed warm-up of `--warm-up N` operations (default 100,000; none with
 * `--no-warm-up`) of both streams on throwaway states;
 * `--sequential` times spot to its end and then margin, as before
 * 2026-12-06 evening. `--pairs N` (default 2) repeats the comparison N times
 * in the process, each on fresh states, alternating which half takes the
 * first position, and prints the geometric mean of the pairs' ratios.
 */
import { cpus, loadavg } from 'node:os';
import { checkInvariants, createState, stateHashHex, type ExchangeState, type Instruction } from '../src/index.js';
import { seededRandom } from '../test/random-log.js';
import { solUsdcListing } from '../test/support-listings.js';
import {
  benchListing,
  indexedKey,
  median,
  mustExecute,
  positiveIntegerArgument,
  timedExecution,
} from './bench-support.js';
import { collectGarbage, geometricMean, type HalfTiming, warmedUpInterleavedExecution } from './interleaved-timing.js';

const operations = positiveIntegerArgument('ops', 200_000);
const seed = positiveIntegerArgument('seed', 7);
const accountCount = positiveIntegerArgument('accounts', 1000);
const slices = positiveIntegerArgument('slices', 20);
const pairs = positiveIntegerArgument('pairs', 2);
const warmUpOperations = process.argv.includes('--no-warm-up') ? 0 : positiveIntegerArgument('warm-up', 100_000);
const sequential = process.argv.includes('--sequential');
const startMs = 1_750_000_000_000;
const key = indexedKey;
const operator = key(1_000_000);
const keeper = key(1_000_001);
const must = mustExecute;

const listing = benchListing;

function setUp(margin: boolean): ExchangeState {
  const state = createState({ exchangeName: 'margin-bench', operatorKeys: [operator], feeAccount: operator });
  const t = startMs;
  must(state, operator, { kind: 'assetList', symbol: 'USDC', decimals: 6 }, t);
  must(state, operator, { kind: 'assetList', symbol: 'SOL', decimals: 9 }, t);
  must(state, operator, solUsdcListing({ maxPrice: '100000' }), t);
  if (margin) {
    const common = { kind: 'borrowLendMarketList' as const, ...listing };
    must(
      state,
      operator,
      { ...common, symbol: 'USDC', collateralWeight: '1', imfBase: '0.2', mmfBase: '0.1', maxPriceMove: '0' },
      t,
    );
    must(
      state,
      operator,
      { ...common, symbol: 'SOL', collateralWeight: '0.8', imfBase: '0.3', mmfBase: '0.15', maxPriceMove: '0.1' },
      t,
    );
    must(state, operator, { kind: 'indexPriceUpdate', symbol: 'SOL', price: '100', publishedAtMs: t }, t);
  }
  for (let index = 0; index < accountCount; index += 1) {
    for (const [symbol, quantity] of [
      ['SOL', '20'],
      ['USDC', '2000'],
    ] as const) {
      must(
        state,
        operator,
        {
          kind: 'depositCredit',
          account: key(index),
          symbol,
          quantity,
          blockchain: 'Solana',
          chainTransactionId: `${symbol}${index}`,
        },
        t,
      );
    }
    // Every second account lends half its funds; the others borrow a little, so their orders take the margin path.
    if (!margin) continue;
    if (index % 2 === 0) {
      must(state, key(index), { kind: 'borrowLendExecute', symbol: 'USDC', side: 'Lend', quantity: '1000' }, t);
      must(state, key(index), { kind: 'borrowLendExecute', symbol: 'SOL', side: 'Lend', quantity: '10' }, t);
    } else {
      must(state, key(index), { kind: 'borrowLendExecute', symbol: 'USDC', side: 'Borrow', quantity: '100' }, t);
    }
  }
  return state;
}

function workload(margin: boolean): Array<[string, Instruction, number]> {
  const next = seededRandom(seed);
  const stream: Array<[string, Instruction, number]> = [];
  let priceCents = 10_000;
  let timeMs = startMs + 1;
  const flagSets = [
    {},
    { autoBorrow: true },
    { autoBorrow: true, autoLendRedeem: true },
    { autoBorrowRepay: true, autoLend: true },
  ];
  for (let op = 0; op < operations; op += 1) {
    timeMs += 1;
    // Borrowers are the odd accounts in the margin run; in the spot run the same indexes simply trade.
    const trader = key(2 * (next() % (accountCount / 2)) + 1);
    const roll = next() % 100;
    if (margin && op % 100 === 0) {
      // A random walk of up to ±3 % of the starting price per update, so that some borrowers fall below maintenance.
      priceCents = Math.max(1000, priceCents + (next() % 601) - 300);
      stream.push([
        operator,
        { kind: 'indexPriceUpdate', symbol: 'SOL', price: (priceCents / 100).toFixed(2), publishedAtMs: timeMs },
        timeMs,
      ]);
    } else if (margin && roll < 5) {
      stream.push([keeper, { kind: 'liquidate', account: trader }, timeMs]);
    } else if (margin && roll < 15) {
      const side = next() % 2 === 0 ? 'Borrow' : 'Lend';
      stream.push([
        trader,
        {
          kind: 'borrowLendExecute',
          symbol: next() % 2 === 0 ? 'SOL' : 'USDC',
          side,
          quantity: String(1 + (next() % 20)),
        },
        timeMs,
      ]);
    } else if (roll < 20) {
      stream.push([trader, { kind: 'orderCancelAll', symbol: 'SOL_USDC' }, timeMs]);
    } else {
      const side = next() % 2 === 0 ? 'Bid' : 'Ask';
      const offset = (next() % 200) - 100;
      const price = ((priceCents + (side === 'Bid' ? offset - 20 : offset + 20)) / 100).toFixed(2);
      const flags = margin ? flagSets[next() % flagSets.length]! : {};
      stream.push([
        trader,
        {
          kind: 'orderExecute',
          orders: [
            {
              symbol: 'SOL_USDC',
              side,
              orderType: 'Limit',
              price,
              quantity: String(1 + (next() % 5)),
              timeInForce: next() % 2 === 0 ? 'IOC' : 'GTC',
              postOnly: false,
              selfTradePrevention: 'RejectTaker',
              ...flags,
            },
          ],
        },
        timeMs,
      ]);
    }
  }
  return stream;
}

interface RunFigures {
  readonly opsPerSecond: number;
  /** Over the process's CPU time (all threads, garbage collection included): much less disturbed by other load. */
  readonly cpuOpsPerSecond: number;
  readonly accepted: number;
  readonly liquidations: number;
  readonly hash: string;
}

function figures(state: ExchangeState, operationCount: number, timing: HalfTiming): RunFigures {
  checkInvariants(state);
  return {
    opsPerSecond: Math.round(operationCount / timing.seconds),
    cpuOpsPerSecond: Math.round(operationCount / timing.cpuSeconds),
    accepted: timing.accepted,
    liquidations: timing.liquidations,
    hash: stateHashHex(state),
  };
}

/** Spot then margin, each timed to its end (each after a full collection): the scheme before interleaving. */
function runSequential(): [RunFigures, RunFigures] {
  const results = [false, true].map((margin) => {
    const state = setUp(margin);
    const stream = workload(margin);
    collectGarbage();
    return figures(state, stream.length, timedExecution(state, stream));
  });
  return [results[0]!, results[1]!];
}

/**
 * Spot and margin interleaved, `marginFirst` choosing which half takes the first position (created first, first in
 * the even slices). The position itself is worth 9 to 16 % (each workload against itself, warm or not, ran that
 * much faster second; cause not found), so the pairs alternate it and the summary is their geometric mean.
 */
function runInterleaved(marginFirst: boolean): [RunFigures, RunFigures] {
  const build = (margin: boolean) => ({ state: setUp(margin), stream: workload(margin) });
  const first = build(marginFirst);
  const second = build(!marginFirst);
  // Warm-up, untimed, on throwaway states: the first `--warm-up` operations of both streams, interleaved alike.
  const freshState = (which: 0 | 1) => setUp(which === 0 ? marginFirst : !marginFirst);
  const [firstTiming, secondTiming] = warmedUpInterleavedExecution(first, second, freshState, warmUpOperations, slices);
  const firstFigures = figures(first.state, first.stream.length, firstTiming);
  const secondFigures = figures(second.state, second.stream.length, secondTiming);
  return marginFirst ? [secondFigures, firstFigures] : [firstFigures, secondFigures];
}

console.log(
  `margin workload: ${operations} operations, ${accountCount} accounts, seed ${seed}, ${cpus().length} cores, ` +
    (sequential ? 'sequential' : `interleaved in ${slices} slices, positions alternating`),
);
const perSecond = (figures: RunFigures): string =>
  `${figures.opsPerSecond.toLocaleString('en')} ops/s (${figures.cpuOpsPerSecond.toLocaleString('en')} per CPU second)`;
const wallRatios: number[] = [];
const cpuRatios: number[] = [];
for (let pair = 0; pair < pairs; pair += 1) {
  const marginFirst = pair % 2 === 1;
  const [spot, margin] = sequential ? runSequential() : runInterleaved(marginFirst);
  const cpuRatio = margin.cpuOpsPerSecond / spot.cpuOpsPerSecond;
  wallRatios.push(margin.opsPerSecond / spot.opsPerSecond);
  cpuRatios.push(cpuRatio);
  if (!sequential) console.log(`  pair ${pair + 1}: ${marginFirst ? 'margin' : 'spot'} in the first position`);
  console.log(`  spot   (execute)  ${perSecond(spot)}, ${spot.accepted} accepted`);
  console.log(
    `  margin (execute)  ${perSecond(margin)}, ${margin.accepted} accepted, ${margin.liquidations} liquidations`,
  );
  console.log(
    `  ratio margin / spot ${wallRatios[pair]!.toFixed(2)}, by CPU time ${cpuRatio.toFixed(3)} (target ≥ 0.5)`,
  );
  console.log(`  margin final state hash ${margin.hash}`);
}
console.log(
  `ratio margin / spot over ${pairs} pair(s), geometric mean: ${geometricMean(wallRatios).toFixed(3)},` +
    ` by CPU time ${geometricMean(cpuRatios).toFixed(3)}` +
    (pairs > 2 ? ` (median by CPU time ${median(cpuRatios).toFixed(3)})` : ''),
);
console.log(
  `load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')} at end`,
);
console.log(
  JSON.stringify({ ops: operations, pairs, ratio: geometricMean(wallRatios), cpuRatio: geometricMean(cpuRatios) }),
);
