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
import { createState, stressFigure, type ExchangeState, type Instruction } from '../src/index.js';
import { benchListing, indexedKey as key, mustExecute, positiveIntegerArgument } from './bench-support.js';

const borrowerCount = positiveIntegerArgument('borrowers', 100_000);
const rounds = positiveIntegerArgument('rounds', 5);
const startMs = 1_750_000_000_000;
const operator = key(10_000_000);
const lender = key(10_000_001);

function must(state: ExchangeState, signer: string, instruction: Instruction): void {
  mustExecute(state, signer, instruction, startMs);
}

const listing = { kind: 'borrowLendMarketList' as const, ...benchListing };

function deposit(state: ExchangeState, account: string, symbol: string, quantity: string, id: string): void {
  const instruction: Instruction = {
    kind: 'depositCredit',
    account,
    symbol,
    quantity,
    blockchain: 'Solana',
    chainTransactionId: id,
  };
  must(state, operator, instruction);
}

function setUp(): ExchangeState {
  const state = createState({ exchangeName: 'stress-bench', operatorKeys: [operator], feeAccount: operator });
  must(state, operator, { kind: 'assetList', symbol: 'USDC', decimals: 6 });
  must(state, operator, { kind: 'assetList', symbol: 'SOL', decimals: 9 });
  const usdc = { ...listing, symbol: 'USDC', collateralWeight: '1', imfBase: '0.2', mmfBase: '0.1' };
  must(state, operator, { ...usdc, maxPriceMove: '0', stressShock: '0' });
  const sol = { ...listing, symbol: 'SOL', collateralWeight: '0.8', imfBase: '0.3', mmfBase: '0.15' };
  must(state, operator, { ...sol, maxPriceMove: '0.1', stressShock: '0.3' });
  must(state, operator, { kind: 'indexPriceUpdate', symbol: 'SOL', price: '100', publishedAtMs: startMs });
  const lent = String(borrowerCount * 30);
  deposit(state, lender, 'SOL', lent, 'lender');
  must(state, lender, { kind: 'borrowLendExecute', symbol: 'SOL', side: 'Lend', quantity: lent });
  for (let index = 0; index < borrowerCount; index += 1) {
    deposit(state, key(index), 'USDC', '1000', `b${index}`);
    // 1 to 20 SOL against 1000 USDC: with SOL at 130 after the shock, those above about 7.7 SOL fall short.
    const quantity = String(1 + (index % 20));
    must(state, key(index), { kind: 'borrowLendExecute', symbol: 'SOL', side: 'Borrow', quantity });
  }
  return state;
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Wall clock and process CPU (all threads) of one call, in milliseconds. */
function time(run: () => unknown): { wallMs: number; cpuMs: number } {
  const cpu = process.cpuUsage();
  const started = performance.now();
  run();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

const setUpStarted = performance.now();
const state = setUp();
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
