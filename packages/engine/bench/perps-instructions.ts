/**
 * A fixed run of one stream of the perps workload (perps-workload.ts), for counting instructions rather than timing:
 * this host's time per operation moves by about ±8 % between runs (docs/benchmarks.md, perps workload, branch
 * `perps19`), more than the 1 to 3 % a cut of the perps path is worth, while an instruction count of a run that
 * V8 executes the same way every time does not move with the neighbours' load.
 *
 *   npx esbuild packages/engine/bench/perps-instructions.ts --bundle --platform=node --format=esm \
 *     --outfile=/tmp/perps-instructions.mjs
 *   setarch $(uname -m) -R valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
 *     node --predictable --predictable-gc-schedule --single-threaded --v8-pool-size=0 --no-incremental-marking \
 *     --no-flush-bytecode --no-flush-baseline-code --no-memory-reducer --no-minor-gc-task --hash-seed=1 \
 *     --random-seed=1 /tmp/perps-instructions.mjs [--spot] [--ops N] [--warm-up N] [--no-run] [--seed N] \
 *     [--accounts N] [--step-ms N]
 *
 * Bundled, so that no tsx or esbuild service runs beside the engine. Each flag removes a decision V8 or node
 * takes on time rather than on the program (docs/benchmarks.md, perps workload, branch `perps20`): no compiler
 * or collector threads, a fixed heap growth, no incremental marking (its steps are sized by measured speed: with
 * it, two runs of one bundle differed by 0.3 to 4.5 %), no flushing or memory reducer, fixed seeds, and no
 * address randomisation. So configured, three runs of one bundle at 50,000 operations agreed to 0.003 %.
 *
 * The run: both streams built (`--ops N` operations each, default 100,000), the untimed warm-up of
 * perps.bench.ts (the first `--warm-up N` operations of both streams interleaved in 20 slices on throwaway
 * states, default 50,000), then the perps stream alone (the spot stream with `--spot`) on its own state.
 * `--no-run` stops after the warm-up: its count, taken from a full run's, leaves the count of the measured stream.
 * The state hash printed at the end shows that a cut left the result as it was. The count includes V8's own
 * compilation and collection, and it cannot see memory latency (most of a perps operation's extra time: the
 * cold objects of docs/benchmarks.md, perps14 to perps16): a cut it shows still needs the real bench. The script
 * also runs under plain node or tsx (it prints the CPU time of the measured stream).
 */
import { execute, type ExchangeState, stateHashHex } from '../src/index.js';
import { positiveIntegerArgument } from './bench-support.js';
import { interleavedExecution, type TimedHalf } from './interleaved-timing.js';
import { type PerpsWorkloadOptions, setUpState, workload } from './perps-workload.js';

const options: PerpsWorkloadOptions = {
  operations: positiveIntegerArgument('ops', 100_000),
  seed: positiveIntegerArgument('seed', 7),
  accountCount: positiveIntegerArgument('accounts', 1000),
  stepMs: positiveIntegerArgument('step-ms', 10),
};
const measuredPerps = !process.argv.includes('--spot');
const warmUpOperations = positiveIntegerArgument('warm-up', 50_000);
const run = !process.argv.includes('--no-run');

const build = (perps: boolean): TimedHalf => ({ state: setUpState(perps, options), stream: workload(perps, options) });
const measured = build(measuredPerps);
const other = build(!measuredPerps);
const head = (half: TimedHalf, perps: boolean): TimedHalf => ({
  state: setUpState(perps, options),
  stream: half.stream.slice(0, warmUpOperations),
});
// Perps first, as in the bench's first pair, whichever stream is measured.
const [perpsHalf, spotHalf] = measuredPerps ? [measured, other] : [other, measured];
interleavedExecution(head(perpsHalf, true), head(spotHalf, false), 20);

let accepted = 0;
const state: ExchangeState = measured.state;
const cpuStarted = process.cpuUsage();
if (run) {
  for (const [signer, instruction, timeMs] of measured.stream) {
    if (execute(state, signer, instruction, timeMs).accepted) accepted += 1;
  }
}
const cpu = process.cpuUsage(cpuStarted);
const microsecondsPerOperation = run ? (cpu.user + cpu.system) / measured.stream.length : 0;
console.log(
  `${measuredPerps ? 'perps' : 'spot'} stream: ${run ? measured.stream.length : 0} operations after a warm-up of` +
    ` ${warmUpOperations}, ${accepted} accepted, ${microsecondsPerOperation.toFixed(3)} CPU µs an operation;` +
    ` state hash ${stateHashHex(state)}`,
);
