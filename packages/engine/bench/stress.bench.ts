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
 * The last line is one JSON object: {"borrowers":…,"stressMs":…,"sortMs":…,"sortShare":…}.
 */
import { loadavg } from 'node:os';
import { createState, execute, stressFigure, type ExchangeState, type Instruction } from '../src/index.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`bad --${name}`);
  return value;
}
const borrowerCount = argument('borrowers', 100_000);
const rounds = argument('rounds', 5);
const startMs = 1_750_000_000_000;
const key = (index: number): string => {
  const bytes = Buffer.alloc(32);
  bytes.writeUInt32BE(index + 1, 0);
  return bytes.toString('base64');
};
const operator = key(10_000_000);
const lender = key(10_000_001);

function must(state: ExchangeState, signer: string, instruction: Instruction): void {
  const outcome = execute(state, signer, instruction, startMs);
  if (!outcome.accepted)
    throw new Error(`setup ${instruction.kind}: ${outcome.rejection.code} ${outcome.rejection.message}`);
}

const listing = {
  kind: 'borrowLendMarketList' as const,
  haircutPenalty: '0',
  imfFactor: '0',
  mmfFactor: '0',
  minimumBorrowRate: '0.01',
  optimalUtilization: '0.8',
  optimalBorrowRate: '0.1',
  maximumBorrowRate: '1',
  maxUtilization: '0.95',
  lendFee: '0.1',
  liquidationFee: '0.01',
  liquidationBand: '0.05',
  coveragePoolWithdrawalDelayMs: 1000,
};

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

function time(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

const setUpStarted = performance.now();
const state = setUp();
console.log(
  `set-up: ${state.borrowers.size} borrowers, ${state.accountList.length} accounts in ${((performance.now() - setUpStarted) / 1000).toFixed(1)} s; load average ${loadavg()[0]!.toFixed(1)}`,
);
const atMs = startMs + 3_600_000;
const stressTimes: number[] = [];
const sortTimes: number[] = [];
let figure: bigint[] = [];
for (let round = 0; round < rounds + 2; round += 1) {
  const stressMs = time(() => (figure = stressFigure(state, atMs)));
  const sortMs = time(() => [...state.borrowers].sort((left, right) => left.ordinal - right.ordinal));
  if (round >= 2) {
    stressTimes.push(stressMs);
    sortTimes.push(sortMs);
  }
}
const stressMs = median(stressTimes);
const sortMs = median(sortTimes);
console.log(`stress figure: ${figure.map(String).join(', ')} (settlement units per asset)`);
console.log(`stressFigure over ${borrowerCount} borrowers: ${stressMs.toFixed(2)} ms (median of ${rounds})`);
console.log(
  `of which the sort by ordinal, alone: ${sortMs.toFixed(2)} ms (${((100 * sortMs) / stressMs).toFixed(1)} %)`,
);
console.log(
  JSON.stringify({
    borrowers: borrowerCount,
    stressMs: Number(stressMs.toFixed(2)),
    sortMs: Number(sortMs.toFixed(2)),
    sortShare: Number((sortMs / stressMs).toFixed(3)),
  }),
);
