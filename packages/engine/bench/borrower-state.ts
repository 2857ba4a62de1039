/**
 * The state the attestation-side margin benchmarks share (stress.bench.ts,
 * margin-attest.bench.ts): USDC and SOL borrowable (SOL at 100, stress shock
 * 0.3), one lender of SOL, and `borrowerCount` accounts that each hold 1,000
 * USDC and borrow 1 to 20 SOL (so about two thirds fall short under the
 * shock), all through execute() at borrowerBenchStartMs.
 */
import { createState, type ExchangeState, type Instruction } from '../src/index.js';
import { benchListing, indexedKey as key, mustExecute } from './bench-support.js';

export const borrowerBenchStartMs = 1_750_000_000_000;
/** The operator key of the borrower state (it signs deposits). */
export const borrowerBenchOperator = key(10_000_000);
const operator = borrowerBenchOperator;
const lender = key(10_000_001);
const startMs = borrowerBenchStartMs;

function must(state: ExchangeState, signer: string, instruction: Instruction): void {
  mustExecute(state, signer, instruction, startMs);
}

const listing = { kind: 'borrowLendMarketList' as const, ...benchListing };

/** An operator's deposit credit of `quantity` `symbol` to `account`, under chain transaction id `id`. */
export function depositInstruction(account: string, symbol: string, quantity: string, id: string): Instruction {
  return { kind: 'depositCredit', account, symbol, quantity, blockchain: 'Solana', chainTransactionId: id };
}

function deposit(state: ExchangeState, account: string, symbol: string, quantity: string, id: string): void {
  must(state, operator, depositInstruction(account, symbol, quantity, id));
}

/** The borrowers' state (see the module comment); borrower i's key is indexedKey(i). */
export function borrowerState(borrowerCount: number): ExchangeState {
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
