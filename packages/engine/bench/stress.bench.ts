/**
 * The cost of the stress figure an attestation states (docs/attestation.md,
 * "Stress figure"; docs/benchmarks.md, "Stress figure"):
 *
 *   pnpm bench:stress [--borrowers 100000] [--rounds 5]
 *
 * Set-up, untimed: USDC and SOL borrowable (SOL at 100, stress shock 0.3), a
 * lender of SOL, and --borrowers accounts that each hold USDC and borrow SOL
 * (amounts vary, so some fall short under the shock), all through execute().
 * Timed, median of --rounds after two warm-up rounds: stressFigure over the
 * borrower set at a log time one hour later (indexes accrued), and, as its
 * peer in the same run, the sort of the borrower set by ordinal it includes.
 * Wall clock and process CPU are both printed (a shared machine inflates the wall clock).
 * The last line is one JSON object: {"borrowers":…,"stressMs":…,"stressCpuMs":…,"sortMs":…,"sortShare":…}.
 */
import { loadavg } from 'node:os';
import { stressFigure } from '../src/index.js';
import { median, positiveIntegerArgument, timeCall as time } from './bench-support.js';
import { borrowerBenchStartMs, borrowerState } from './borrower-state.js';

const borrowerCount = positiveIntegerArgument('borrowers', 100_000);
const rounds = positiveIntegerArgument('rounds', 5);
const startMs = borrowerBenchStartMs;

const setUpStarted = performance.now();
const state = borrowerState(borrowerCount);
const setUpSeconds = ((performance.now() - setUpStarted) / 1000).toFixed(1);
console.log(
  `set-up: ${state.borrowers.size} borrowers, ${state.accountList.length} accounts in ${setUpSeconds} s; ` +
    `load average ${loadavg()[0]!.toFixed(1)}`,
);
const atMs = startMs + 3_600_000;
const stressTimes: Array<{ wallMs: number; cpuMs: number }> = [];
const sortTimes: Array<{ wallMs: number; cpuMs: number }> = [];
let figure: bigint[] = [];
for (let round = 0; round < rounds + 2; round += 1) {
  const stress = time(() => (figure = stressFigure(state, atMs)));
  const sort = time(() => [...state.borrowers].sort((left, right) => left.ordinal - right.ordinal));
  if (round >= 2) {
    stressTimes.push(stress);
    sortTimes.push(sort);
  }
}
const stressMs = median(stressTimes.map((item) => item.wallMs));
const stressCpuMs = median(stressTimes.map((item) => item.cpuMs));
const sortMs = median(sortTimes.map((item) => item.wallMs));
console.log(`stress figure: ${figure.map(String).join(', ')} (settlement units per asset)`);
console.log(
  `stressFigure over ${borrowerCount} borrowers: ${stressMs.toFixed(2)} ms wall, ${stressCpuMs.toFixed(2)} ms CPU ` +
    `(medians of ${rounds}); load average ${loadavg()[0]!.toFixed(1)}`,
);
console.log(
  `of which the sort by ordinal, alone: ${sortMs.toFixed(2)} ms (${((100 * sortMs) / stressMs).toFixed(1)} %)`,
);
console.log(
  JSON.stringify({
    borrowers: borrowerCount,
    stressMs: Number(stressMs.toFixed(2)),
    stressCpuMs: Number(stressCpuMs.toFixed(2)),
    sortMs: Number(sortMs.toFixed(2)),
    sortShare: Number((sortMs / stressMs).toFixed(3)),
  }),
);
