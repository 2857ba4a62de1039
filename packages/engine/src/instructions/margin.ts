/** The margin instructions (docs/margin.md): borrow and lend, account settings, prices, liquidation, coverage pool. */
import { executeBorrowLend, updateAccount } from '../borrow-lend.js';
import { completeCoverageWithdrawal, depositToCoveragePool, requestCoverageWithdrawal } from '../coverage-pool.js';
import { updateIndexPrice } from '../index-prices.js';
import { record } from '../instruction-result.js';
import { liquidate } from '../liquidation.js';
import type { CoveragePoolView } from '../margin-views.js';
import { isRejection, type Rejection } from '../result-codes.js';
import type { EntryRecorder } from '../entry-recorder.js';
import type { InstructionResult } from '../instruction-result.js';
import type { InstructionHandlers } from './instruction-table.js';

function recordPool(
  recorder: EntryRecorder,
  results: InstructionResult[],
  outcome: CoveragePoolView | Rejection,
): void {
  if (isRejection(outcome)) {
    record(results, outcome);
    return;
  }
  recorder.events.push({ type: 'coveragePool', coveragePool: outcome });
  record(results, { kind: 'coveragePool', coveragePool: outcome });
}

export const marginHandlers: InstructionHandlers<
  | 'borrowLendExecute'
  | 'accountUpdate'
  | 'indexPriceUpdate'
  | 'liquidate'
  | 'coveragePoolDeposit'
  | 'coveragePoolWithdrawRequest'
  | 'coveragePoolWithdraw'
> = {
  borrowLendExecute(state, recorder, signer, instruction, results) {
    const outcome = executeBorrowLend(state, recorder, signer, instruction);
    if (isRejection(outcome)) return record(results, outcome);
    recorder.events.push({ type: 'borrowLend', borrowLend: outcome });
    record(results, { kind: 'borrowLend', borrowLend: outcome });
  },
  accountUpdate(state, recorder, signer, instruction, results) {
    const account = updateAccount(state, signer, instruction, recorder.timeMs);
    if (isRejection(account)) return record(results, account);
    const settings = { account: account.id, ...account.settings };
    recorder.events.push({ type: 'accountUpdated', settings });
    record(results, { kind: 'accountUpdated', settings });
  },
  indexPriceUpdate(state, recorder, _signer, instruction, results) {
    const price = updateIndexPrice(state, instruction, recorder.timeMs);
    if (isRejection(price)) return record(results, price);
    recorder.events.push({ type: 'indexPrice', price });
    record(results, { kind: 'price', price });
  },
  liquidate(state, recorder, signer, instruction, results, entrySignature) {
    const liquidation = liquidate(state, recorder, signer, instruction, entrySignature);
    record(results, isRejection(liquidation) ? liquidation : { kind: 'liquidation', liquidation });
  },
  coveragePoolDeposit(state, recorder, signer, instruction, results) {
    recordPool(recorder, results, depositToCoveragePool(state, recorder, signer, instruction));
  },
  coveragePoolWithdrawRequest(state, recorder, signer, instruction, results) {
    recordPool(recorder, results, requestCoverageWithdrawal(state, signer, instruction, recorder.timeMs));
  },
  coveragePoolWithdraw(state, recorder, signer, instruction, results) {
    recordPool(recorder, results, completeCoverageWithdrawal(state, recorder, signer, instruction));
  },
};
