/**
 * What an attestation costs with many borrowing accounts (docs/benchmarks.md,
 * "Margin attestations"):
 *
 *   npx tsx packages/engine/bench/margin-attest.bench.ts [--borrowers 100000] [--rounds 5] [--changes 1000]
 *
 * Without --borrowers it measures 10,000 and then 100,000 borrowers in one
 * run. Set-up, untimed: the stress benchmark's state (borrower-state.ts: each
 * borrower holds USDC and borrows SOL), then the liabilities tree and the
 * state commitment over it. Each round moves the log time on by one second
 * (so the pools' indexes move and interest accrues) and credits a deposit to
 * --changes random borrowers through execute(); then what the node's
 * attestation maker does is timed on this (the sequencer's) thread, part by
 * part: the tree's update (which rewrites the leaf of every account that
 * lends or borrows, liabilities-tree.ts), the state commitment's update, the
 * fields (the stress figure over every borrower included) and the signature.
 * Then, as the peer in the same run, a second tree update at the same log
 * time with no account changed: the cost of rewriting every lender's and
 * borrower's leaf alone. Medians of --rounds after two warm-up rounds, wall
 * clock and process CPU, with the load average. The last line is one JSON object.
 */
import { loadavg } from 'node:os';
import { LiabilitiesTree, StateCommitment, execute, type ExchangeState } from '../src/index.js';
import { timedAttestation } from './attestation-timing.js';
import { indexedKey as key, median, positiveIntegerArgument, timeCall } from './bench-support.js';
import { borrowerBenchOperator, borrowerBenchStartMs, borrowerState, depositInstruction } from './borrower-state.js';

const rounds = positiveIntegerArgument('rounds', 5);
const changes = positiveIntegerArgument('changes', 1_000);
const sizes = process.argv.includes('--borrowers')
  ? [positiveIntegerArgument('borrowers', 100_000)]
  : [10_000, 100_000];

interface RoundTimes {
  readonly tree: { wallMs: number; cpuMs: number };
  readonly commitment: { wallMs: number; cpuMs: number };
  readonly fields: { wallMs: number; cpuMs: number };
  readonly signature: { wallMs: number; cpuMs: number };
  readonly leavesOnly: { wallMs: number; cpuMs: number };
}

/** A seeded choice of accounts (a linear congruential sequence: the same in every run). */
function* changedBorrowers(borrowerCount: number, round: number): Generator<number> {
  let value = 12_345 + round;
  for (let index = 0; index < changes; index += 1) {
    value = (value * 1_103_515_245 + 12_345) % 2_147_483_648;
    yield value % borrowerCount;
  }
}

function oneRound(state: ExchangeState, tree: LiabilitiesTree, commitment: StateCommitment, round: number): RoundTimes {
  const timeMs = borrowerBenchStartMs + (round + 1) * 1_000;
  for (const borrower of changedBorrowers(state.borrowers.size, round)) {
    const instruction = depositInstruction(key(borrower), 'USDC', '1', `r${round}-${borrower}`);
    execute(state, borrowerBenchOperator, instruction, timeMs);
  }
  const sequence = 2 * round + 1;
  const attested = timedAttestation(state, tree, commitment, sequence);
  const leavesOnly = timeCall(() => tree.update(state, sequence + 1));
  return { ...attested, leavesOnly };
}

function measure(borrowerCount: number) {
  const setUpStarted = performance.now();
  const state = borrowerState(borrowerCount);
  const tree = LiabilitiesTree.build(state);
  const commitment = StateCommitment.build(state);
  const setUpSeconds = ((performance.now() - setUpStarted) / 1000).toFixed(1);
  console.log(
    `set-up: ${state.borrowers.size} borrowers, ${state.accountList.length} accounts, tree and commitment in ` +
      `${setUpSeconds} s; load average ${loadavg()[0]!.toFixed(1)}`,
  );
  const times: RoundTimes[] = [];
  for (let round = 0; round < rounds + 2; round += 1) {
    const measured = oneRound(state, tree, commitment, round);
    if (round >= 2) times.push(measured);
  }
  const medianOf = (pick: (times: RoundTimes) => { wallMs: number; cpuMs: number }) => ({
    wallMs: median(times.map((item) => pick(item).wallMs)),
    cpuMs: median(times.map((item) => pick(item).cpuMs)),
  });
  const total = {
    wallMs: median(
      times.map((item) => item.tree.wallMs + item.commitment.wallMs + item.fields.wallMs + item.signature.wallMs),
    ),
    cpuMs: median(
      times.map((item) => item.tree.cpuMs + item.commitment.cpuMs + item.fields.cpuMs + item.signature.cpuMs),
    ),
  };
  const parts = {
    tree: medianOf((item) => item.tree),
    commitment: medianOf((item) => item.commitment),
    fields: medianOf((item) => item.fields),
    signature: medianOf((item) => item.signature),
    leavesOnly: medianOf((item) => item.leavesOnly),
  };
  const shown = (part: { wallMs: number; cpuMs: number }) =>
    `${part.wallMs.toFixed(1)} ms wall, ${part.cpuMs.toFixed(1)} ms CPU`;
  console.log(
    `${borrowerCount} borrowers, ${changes} changed accounts, 1 s of interest: attestation ${shown(total)} ` +
      `(medians of ${rounds}); load average ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(
    `  tree update ${shown(parts.tree)}; commitment ${shown(parts.commitment)}; ` +
      `fields with the stress figure ${shown(parts.fields)}; signature ${shown(parts.signature)}`,
  );
  console.log(
    `  peer: rewriting every lender's and borrower's leaf alone ${shown(parts.leavesOnly)} ` +
      `= ${((100 * parts.leavesOnly.cpuMs) / total.cpuMs).toFixed(1)} % of the attestation's CPU`,
  );
  return { borrowerCount, total, parts };
}

const results = sizes.map(measure);
const summary: Record<string, number> = {};
for (const result of results) {
  const suffix = `${result.borrowerCount / 1000}k`;
  summary[`attestCpuMs${suffix}`] = Number(result.total.cpuMs.toFixed(2));
  summary[`attestMs${suffix}`] = Number(result.total.wallMs.toFixed(2));
  summary[`leavesOnlyCpuMs${suffix}`] = Number(result.parts.leavesOnly.cpuMs.toFixed(2));
  summary[`stressFieldsCpuMs${suffix}`] = Number(result.parts.fields.cpuMs.toFixed(2));
}
if (results.length === 2) {
  const [small, large] = results as [(typeof results)[0], (typeof results)[0]];
  summary.cpuRatio = Number((large.total.cpuMs / small.total.cpuMs).toFixed(2));
  summary.borrowerRatio = large.borrowerCount / small.borrowerCount;
}
console.log(JSON.stringify(summary));
