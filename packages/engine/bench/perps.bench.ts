/**
 * pnpm bench:engine (third part) — the perps workload beside a spot stream
 * of the same shape, both through execute(), in one process:
 *
 *   tsx packages/engine/bench/perps.bench.ts [--ops N] [--seed N] [--accounts N] [--step-ms N] [--pairs N]
 *
 * The workload is perps-workload.ts's (its header describes it; 1,000,000
 * operations by default). Each pair runs spot, then perps, each on a fresh
 * state with its stream built and a full GC (when exposed) before its timer
 * starts; with --pairs N > 1 the pairs alternate and the medians are
 * reported too. Each row gives ops/s over all operations attempted (accepted
 * or refused), per wall second and per CPU second of the process (all
 * threads, garbage collection included: much less disturbed by the other
 * load of a shared machine), and the accepted count. checkInvariants runs
 * after each run, outside the timing, and the perps run's final state hash
 * is printed, so that a change meant to be a pure speed-up can show that it
 * ends in the same state byte for byte.
 */
import { cpus, loadavg } from 'node:os';
import { checkInvariants, stateHashHex } from '../src/index.js';
import { median, positiveIntegerArgument, timedExecution } from './bench-support.js';
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
const pairs = positiveIntegerArgument('pairs', 1);

interface RunFigures {
  readonly opsPerSecond: number;
  readonly cpuOpsPerSecond: number;
  readonly accepted: number;
  readonly liquidations: number;
  readonly positions: number;
  readonly hash: string;
}

const collectGarbage = (globalThis as { gc?: () => void }).gc;

function run(perps: boolean): RunFigures {
  const state = setUpState(perps, options);
  const stream = workload(perps, options);
  collectGarbage?.();
  const { seconds, cpuSeconds, accepted, liquidations } = timedExecution(state, stream);
  checkInvariants(state);
  let positions = 0;
  for (const account of state.accounts.values()) positions += account.positions.size;
  return {
    opsPerSecond: Math.round(stream.length / seconds),
    cpuOpsPerSecond: Math.round(stream.length / cpuSeconds),
    accepted,
    liquidations,
    positions,
    hash: stateHashHex(state),
  };
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
    ` ${cpus().length} cores, load average ${load()} at start`,
);
const spotRuns: RunFigures[] = [];
const perpsRuns: RunFigures[] = [];
const ratios: number[] = [];
const cpuRatios: number[] = [];
for (let pair = 0; pair < pairs; pair += 1) {
  const spot = run(false);
  const perps = run(true);
  spotRuns.push(spot);
  perpsRuns.push(perps);
  ratios.push(perps.opsPerSecond / spot.opsPerSecond);
  cpuRatios.push(perps.cpuOpsPerSecond / spot.cpuOpsPerSecond);
  console.log(`  spot  (execute)  ${perSecond(spot)}, ${spot.accepted} accepted`);
  console.log(
    `  perps (execute)  ${perSecond(perps)}, ${perps.accepted} accepted, ${perps.liquidations} liquidations,` +
      ` ${perps.positions} open positions`,
  );
  console.log(
    `  ratio perps / spot ${ratios[pair]!.toFixed(2)}, by CPU time ${cpuRatios[pair]!.toFixed(2)} (target ≥ 0.5);` +
      ` load average ${load()}`,
  );
}
console.log(`  perps final state hash ${perpsRuns[0]!.hash}`);
if (perpsRuns.some((figures) => figures.hash !== perpsRuns[0]!.hash)) throw new Error('perps runs differ');
const spotCpu = median(spotRuns.map((figures) => figures.cpuOpsPerSecond));
const perpsCpu = median(perpsRuns.map((figures) => figures.cpuOpsPerSecond));
if (pairs > 1)
  console.log(
    `  medians of ${pairs} pairs: spot ${spotCpu.toLocaleString('en')}, perps ${perpsCpu.toLocaleString('en')}` +
      ` per CPU second; ratio ${median(ratios).toFixed(2)}, by CPU time ${median(cpuRatios).toFixed(2)}`,
  );
console.log(
  JSON.stringify({
    ops: options.operations,
    spotOpsPerSec: median(spotRuns.map((figures) => figures.opsPerSecond)),
    perpsOpsPerSec: median(perpsRuns.map((figures) => figures.opsPerSecond)),
    spotCpuOpsPerSec: spotCpu,
    perpsCpuOpsPerSec: perpsCpu,
    ratio: median(ratios),
    cpuRatio: median(cpuRatios),
  }),
);
