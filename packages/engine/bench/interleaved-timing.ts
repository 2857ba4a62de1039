/**
 * Times two streams through execute() in alternating slices, so that both
 * halves of a comparison run under the same machine conditions.
 *
 * Why (docs/benchmarks.md, "Margin workload: spot and margin interleaved"):
 * on the shared 2-core virtual machine the CPU cost of one operation moves
 * by up to a factor of two between and within runs (both halves at once in
 * one run, one half alone in another, switching mid-run), with no change in
 * the engine's optimisation or deoptimisation events. Two halves timed one
 * after the other each land in whichever state the machine is in, and their
 * ratio jumps between modes. In slices of a few hundred milliseconds, taken
 * in turn (and in swapped order every other pair), both halves share every
 * such period; the ratio of their totals measures the engine, not the
 * neighbours. Both states and streams exist before the first slice and a
 * full garbage collection runs before timing starts, so neither half times
 * the other's set-up garbage.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { execute, type ExchangeState, type Instruction } from '../src/index.js';

/** One half of the comparison: its state and its stream. */
export interface TimedHalf {
  readonly state: ExchangeState;
  readonly stream: ReadonlyArray<readonly [string, Instruction, number]>;
}

/** What one half measured over all its slices: wall and CPU seconds (all threads, GC included), counts. */
export interface HalfTiming {
  seconds: number;
  cpuSeconds: number;
  accepted: number;
  liquidations: number;
}

/** A full garbage collection, exposed for the benchmark only (node's --expose-gc, set at run time). */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function runSlice(half: TimedHalf, from: number, to: number, timing: HalfTiming): void {
  const { state, stream } = half;
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  for (let index = from; index < to; index += 1) {
    const [signer, instruction, timeMs] = stream[index]!;
    const outcome = execute(state, signer, instruction, timeMs);
    if (outcome.accepted) {
      timing.accepted += 1;
      if (instruction.kind === 'liquidate') timing.liquidations += 1;
    }
  }
  const cpu = process.cpuUsage(cpuStarted);
  timing.seconds += Number(process.hrtime.bigint() - started) / 1e9;
  timing.cpuSeconds += (cpu.user + cpu.system) / 1e6;
}

/**
 * Runs both streams to their ends in `slices` slices each: slice k of the
 * first half then slice k of the second for even k, the other way round for
 * odd k. Each stream is executed in order, exactly as a single run would.
 */
export function interleavedExecution(first: TimedHalf, second: TimedHalf, slices: number): [HalfTiming, HalfTiming] {
  const timings: [HalfTiming, HalfTiming] = [
    { seconds: 0, cpuSeconds: 0, accepted: 0, liquidations: 0 },
    { seconds: 0, cpuSeconds: 0, accepted: 0, liquidations: 0 },
  ];
  const halves = [first, second] as const;
  collectGarbage();
  for (let slice = 0; slice < slices; slice += 1) {
    const order = slice % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) {
      const half = halves[which]!;
      const from = Math.floor((half.stream.length * slice) / slices);
      const to = Math.floor((half.stream.length * (slice + 1)) / slices);
      runSlice(half, from, to, timings[which]!);
    }
  }
  return timings;
}

/**
 * interleavedExecution after an untimed warm-up: the first `warmUpOperations`
 * of both streams, interleaved alike, on throwaway states from `freshState`
 * (0 for the first half, 1 for the second), so that the timed slices start
 * with the code both halves share already optimised for both.
 */
export function warmedUpInterleavedExecution(
  first: TimedHalf,
  second: TimedHalf,
  freshState: (which: 0 | 1) => ExchangeState,
  warmUpOperations: number,
  slices: number,
): [HalfTiming, HalfTiming] {
  if (warmUpOperations > 0) {
    const head = (which: 0 | 1, half: TimedHalf): TimedHalf => ({
      state: freshState(which),
      stream: half.stream.slice(0, warmUpOperations),
    });
    interleavedExecution(head(0, first), head(1, second), slices);
  }
  return interleavedExecution(first, second, slices);
}

/** The geometric mean of positive `values`: the summary of pairs whose positions alternate (their bias cancels). */
export function geometricMean(values: readonly number[]): number {
  return Math.exp(values.reduce((sum, value) => sum + Math.log(value), 0) / values.length);
}
