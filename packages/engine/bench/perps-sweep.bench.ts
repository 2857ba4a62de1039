/**
 * The realisation sweep alone (perp-realisation.ts, realiseOldestPositions), on the state the perps workload
 * leaves after `--ops N` operations (default 100,000: about 1,800 open positions):
 *
 *   tsx packages/engine/bench/perps-sweep.bench.ts [--ops N] [--rounds N] [--churn-bytes N]
 *
 * Each round moves both perpetuals' marks by one tick (so that every realisation has a PnL to move, as in the
 * workload, where the index moves every 50 operations), advances log time by one realisation window and sweeps
 * every open position once, in entries as execute() makes them (recorder begun, one call of the sweep, recorder
 * finished: each entry realises up to 8 positions per perpetual). `--churn-bytes N` allocates about N bytes of
 * short-lived objects after each entry, untimed, as the rest of the workload's operations do between two
 * realisations; 0 (the default) leaves the sweep's objects in cache. Prints the CPU and wall time per realisation
 * of whole rounds (churn included), the wall time of the entries alone (begin, sweep, finish) per realisation,
 * and, under `node --expose-gc`, the heap bytes allocated per realisation (rounds without churn). The marks are
 * set by hand: the state is the bench's own and never hashed. The sweep here finds its objects in cache much more
 * than in the workload (docs/benchmarks.md, perps12): it measures the sweep's own work, not its cache misses.
 */
import { execute, type ExchangeState } from '../src/index.js';
import type { PerpMarketState } from '../src/perps/perp-market.js';
import { realiseOldestPositions, realisationWindowMs } from '../src/perps/perp-realisation.js';
import { positiveIntegerArgument } from './bench-support.js';
import { setUpState, workload } from './perps-workload.js';

const operations = positiveIntegerArgument('ops', 100_000);
const rounds = positiveIntegerArgument('rounds', 40);
const churnIndex = process.argv.indexOf('--churn-bytes');
const churnBytes = churnIndex >= 0 ? Number(process.argv[churnIndex + 1]) : 0;

const options = { operations, seed: 7, accountCount: 1000, stepMs: 10 };
const state: ExchangeState = setUpState(true, options);
let timeMs = 0;
for (const [signer, instruction, entryTimeMs] of workload(true, options)) {
  execute(state, signer, instruction, entryTimeMs);
  timeMs = entryTimeMs;
}
let positions = 0;
for (const account of state.accounts.values()) positions += account.positions.size;

const perps = state.markets.filter((market) => market.perp !== undefined);
/** One tick of each perpetual's price grid in wad (a mark moved by whole ticks stays on the grid). */
const tickWad = 10n ** 16n;

/** Short-lived objects of about `bytes` bytes (an object of four fields is about 32 bytes). */
let sink: unknown;
function churn(bytes: number): void {
  for (let made = 0; made < bytes; made += 32) sink = { a: made, b: sink === undefined, c: made, d: 0 };
}

/** One round: every open position realised once. Returns the realisations that moved USDC (one balance event each). */
function round(roundIndex: number, churnPerEntry: number): { realisations: number; entries: number; sweepNs: number } {
  for (const market of perps) {
    const funding = (market.perp as PerpMarketState).funding;
    funding.markPrice += roundIndex % 2 === 0 ? tickWad : -tickWad;
  }
  timeMs += realisationWindowMs;
  let realisations = 0;
  let entries = 0;
  // The sweep and its entry's events only: the churn between entries is not timed.
  let sweepNs = 0;
  for (;;) {
    const started = process.hrtime.bigint();
    const recorder = state.recorder.begin(timeMs);
    realiseOldestPositions(state, recorder, timeMs);
    const events = recorder.finish();
    sweepNs += Number(process.hrtime.bigint() - started);
    let settled = 0;
    // Indexed: an iterator would add its own allocation to the bytes per realisation.
    for (let index = 0; index < events.length; index += 1) if (events[index]!.type === 'balance') settled += 1;
    if (settled === 0) break;
    realisations += settled;
    entries += 1;
    if (churnPerEntry > 0) churn(churnPerEntry);
  }
  return { realisations, entries, sweepNs };
}

// Warm-up: the sweep's code optimised, every position realised once at the new time.
for (let index = 0; index < 10; index += 1) round(index, churnBytes);

const cpuPerRealisation: number[] = [];
const wallPerRealisation: number[] = [];
const sweepPerRealisation: number[] = [];
let realisationsPerRound = 0;
let entriesPerRound = 0;
for (let index = 0; index < rounds; index += 1) {
  const cpuStarted = process.cpuUsage();
  const started = process.hrtime.bigint();
  const { realisations, entries, sweepNs } = round(index, churnBytes);
  const wallNs = Number(process.hrtime.bigint() - started);
  const cpu = process.cpuUsage(cpuStarted);
  cpuPerRealisation.push(((cpu.user + cpu.system) * 1000) / realisations);
  wallPerRealisation.push(wallNs / realisations);
  sweepPerRealisation.push(sweepNs / realisations);
  realisationsPerRound = realisations;
  entriesPerRound = entries;
}

// Allocation: rounds without churn, heap growth with no collection inside (a large young generation is advised:
// run with --max-semi-space-size=128 --min-semi-space-size=128).
const gc = (globalThis as { gc?: () => void }).gc;
const bytesPerRealisation: number[] = [];
if (gc !== undefined) {
  for (let index = 0; index < 5; index += 1) {
    gc();
    const before = process.memoryUsage().heapUsed;
    const { realisations } = round(index, 0);
    bytesPerRealisation.push((process.memoryUsage().heapUsed - before) / realisations);
  }
}

const sorted = (values: number[]) => [...values].sort((left, right) => left - right);
const medianOf = (values: number[]) => sorted(values)[Math.floor(values.length / 2)]!;
console.log(
  JSON.stringify({
    operations,
    positions,
    realisationsPerRound,
    entriesPerRound,
    churnBytes,
    cpuNsPerRealisation: Math.round(medianOf(cpuPerRealisation)),
    wallNsPerRealisation: Math.round(medianOf(wallPerRealisation)),
    sweepWallNsPerRealisation: Math.round(medianOf(sweepPerRealisation)),
    sweepWallNsRange: [Math.round(sorted(sweepPerRealisation)[0]!), Math.round(sorted(sweepPerRealisation).at(-1)!)],
    bytesPerRealisation: bytesPerRealisation.length === 0 ? undefined : Math.round(medianOf(bytesPerRealisation)),
  }),
);
