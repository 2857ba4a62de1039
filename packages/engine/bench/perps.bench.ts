/**
 * pnpm bench:engine (third part) — the perps workload beside a spot stream
 * of the same shape, both through execute(), in one process:
 *
 *   tsx packages/engine/bench/perps.bench.ts [--ops N] [--seed N] [--accounts N] [--step-ms N] [--pairs N]
 *     [--slices N] [--warm-up N | --no-warm-up] [--sequential]
 *
 * The workload is perps-workload.ts's (its header describes it; 1,000,000
 * operations by default). The two halves run interleaved, as in
 * margin.bench.ts: both states and streams are built first, then an
 * untimed warm-up of `--warm-up N` operations (default 100,000; none with
 * `--no-warm-up`) of both streams on throwaway states, then `--slices N`
 * (default 20) alternating timed slices of the two streams (interleaved-timing.ts
 * says why: this machine's cost per operation drifts between and within
 * runs, and both halves must share its drift). `--pairs N` (default 2)
 * repeats the comparison on fresh states, alternating which half takes the
 * first position, and the ratios' summary is their geometric mean (the
 * position itself is worth about a tenth). `--sequential` is the scheme
 * before 2026-12-06 evening: spot to its end, then perps, each on a fresh
 * state with its stream built and a full GC before its timer starts.
 * Each stream runs in order on its own state either way, so the perps
 * final state hash is that of a whole sequential run.
 *
 * Each row gives ops/s over all operations attempted (accepted or refused),
 * per wall second and per CPU second of the process (all threads, garbage
 * collection included: much less disturbed by the other load of a shared
 * machine), and the accepted count. checkInvariants runs after each run,
 * outside the timing, and the perps run's final state hash is printed, so
 * that a change meant to be a pure speed-up can show that it ends in the
 * same state byte for byte.
 */
import { cpus, loadavg } from 'node:os';
import { checkInvariants, type ExchangeState, stateHashHex } from '../src/index.js';
import { median, positiveIntegerArgument, timedExecution } from './bench-support.js';
import {
  collectGarbage,
  geometricMean,
  type HalfTiming,
  type TimedHalf,
  warmedUpInterleavedExecution,
} from './interleaved-timing.js';
import {
  fundingIntervalMs,
  type PerpsWorkloadOptions,
  perpOnlyLiquidations,
  setUpState,
  startMs,
  workload,
} from './perps-workload.js';

const options: PerpsWorkloadOptions = {
  operations: positiveIntegerArgument('ops', 1_000_000),
  seed: positiveIntegerArgument('seed', 7),
  accountCount: positiveIntegerArgument('accounts', 1000),
  stepMs: positiveIntegerArgument('step-ms', 10),
};
const pairs = positiveIntegerArgument('pairs', 2);
const slices = positiveIntegerArgument('slices', 20);
const warmUpOperations = process.argv.includes('--no-warm-up') ? 0 : positiveIntegerArgument('warm-up', 100_000);
const sequential = process.argv.includes('--sequential');

interface RunFigures {
  readonly opsPerSecond: number;
  readonly cpuOpsPerSecond: number;
  readonly accepted: number;
  readonly liquidations: number;
  readonly positions: number;
  readonly hash: string;
}

function figures(state: ExchangeState, operationCount: number, timing: HalfTiming): RunFigures {
  checkInvariants(state);
  let positions = 0;
  for (const account of state.accounts.values()) positions += account.positions.size;
  return {
    opsPerSecond: Math.round(operationCount / timing.seconds),
    cpuOpsPerSecond: Math.round(operationCount / timing.cpuSeconds),
    accepted: timing.accepted,
    liquidations: timing.liquidations,
    positions,
    hash: stateHashHex(state),
  };
}

const build = (perps: boolean): TimedHalf => ({ state: setUpState(perps, options), stream: workload(perps, options) });

/** Spot then perps, each timed to its end after a full collection: the scheme before interleaving. */
function runSequential(): [RunFigures, RunFigures] {
  const results = [false, true].map((perps) => {
    const { state, stream } = build(perps);
    collectGarbage();
    return figures(state, stream.length, timedExecution(state, stream));
  });
  return [results[0]!, results[1]!];
}

/** Spot and perps interleaved, `perpsFirst` choosing which half is built first and runs first in the even slices. */
function runInterleaved(perpsFirst: boolean): [RunFigures, RunFigures] {
  const first = build(perpsFirst);
  const second = build(!perpsFirst);
  const freshState = (which: 0 | 1) => setUpState(which === 0 ? perpsFirst : !perpsFirst, options);
  const [firstTiming, secondTiming] = warmedUpInterleavedExecution(first, second, freshState, warmUpOperations, slices);
  const firstFigures = figures(first.state, first.stream.length, firstTiming);
  const secondFigures = figures(second.state, second.stream.length, secondTiming);
  return perpsFirst ? [secondFigures, firstFigures] : [firstFigures, secondFigures];
}

const perSecond = (figures: RunFigures): string =>
  `${figures.opsPerSecond.toLocaleString('en')} ops/s (${figures.cpuOpsPerSecond.toLocaleString('en')} per CPU second)`;
const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

const endMs = startMs + options.operations * options.stepMs;
const boundaries = Math.floor(endMs / fundingIntervalMs) - Math.floor(startMs / fundingIntervalMs);
console.log(
  `perps workload: ${options.operations} operations, ${options.accountCount} accounts, seed ${options.seed},` +
    ` ${options.stepMs} ms a step (${boundaries} funding boundaries), perp-only liquidations ${perpOnlyLiquidations},` +
    ` ${cpus().length} cores, ` +
    (sequential ? 'sequential' : `interleaved in ${slices} slices, positions alternating`) +
    `, load average ${load()} at start`,
);
const spotRuns: RunFigures[] = [];
const perpsRuns: RunFigures[] = [];
const ratios: number[] = [];
const cpuRatios: number[] = [];
for (let pair = 0; pair < pairs; pair += 1) {
  const perpsFirst = pair % 2 === 1;
  const [spot, perps] = sequential ? runSequential() : runInterleaved(perpsFirst);
  spotRuns.push(spot);
  perpsRuns.push(perps);
  ratios.push(perps.opsPerSecond / spot.opsPerSecond);
  cpuRatios.push(perps.cpuOpsPerSecond / spot.cpuOpsPerSecond);
  if (!sequential) console.log(`  pair ${pair + 1}: ${perpsFirst ? 'perps' : 'spot'} in the first position`);
  console.log(`  spot  (execute)  ${perSecond(spot)}, ${spot.accepted} accepted`);
  console.log(
    `  perps (execute)  ${perSecond(perps)}, ${perps.accepted} accepted, ${perps.liquidations} liquidations,` +
      ` ${perps.positions} open positions`,
  );
  console.log(
    `  ratio perps / spot ${ratios[pair]!.toFixed(2)}, by CPU time ${cpuRatios[pair]!.toFixed(3)} (target ≥ 0.5);` +
      ` load average ${load()}`,
  );
}
console.log(`  perps final state hash ${perpsRuns[0]!.hash}`);
if (perpsRuns.some((figures) => figures.hash !== perpsRuns[0]!.hash)) throw new Error('perps runs differ');
const spotCpu = median(spotRuns.map((figures) => figures.cpuOpsPerSecond));
const perpsCpu = median(perpsRuns.map((figures) => figures.cpuOpsPerSecond));
const summary = sequential ? median : geometricMean;
console.log(
  `  ${sequential ? 'medians' : 'geometric means of the ratios'} over ${pairs} pair(s):` +
    ` ratio ${summary(ratios).toFixed(3)},` +
    ` by CPU time ${summary(cpuRatios).toFixed(3)}; medians per CPU second: spot ${spotCpu.toLocaleString('en')},` +
    ` perps ${perpsCpu.toLocaleString('en')}`,
);
console.log(
  JSON.stringify({
    ops: options.operations,
    spotOpsPerSec: median(spotRuns.map((figures) => figures.opsPerSecond)),
    perpsOpsPerSec: median(perpsRuns.map((figures) => figures.opsPerSecond)),
    spotCpuOpsPerSec: spotCpu,
    perpsCpuOpsPerSec: perpsCpu,
    ratio: summary(ratios),
    cpuRatio: summary(cpuRatios),
  }),
);
