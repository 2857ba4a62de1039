/** withdraw, depositCredit, withdrawalComplete, withdrawalFail and reservesStatement (docs/protocol.md). */
import { creditDeposit, requestWithdrawal, settleWithdrawal, stateReserves } from '../funds.js';
import { record } from '../instruction-result.js';
import { isRejection } from '../result-codes.js';
import type { InstructionHandlers } from './instruction-table.js';

export const fundsHandlers: InstructionHandlers<
  'withdraw' | 'depositCredit' | 'withdrawalComplete' | 'withdrawalFail' | 'reservesStatement'
> = {
  withdraw(state, recorder, signer, instruction, results) {
    const withdrawal = requestWithdrawal(state, recorder, signer, instruction);
    record(results, isRejection(withdrawal) ? withdrawal : { kind: 'withdrawal', withdrawal });
  },
  depositCredit(state, recorder, _signer, instruction, results, entrySignature) {
    const deposit = creditDeposit(state, recorder, instruction, entrySignature);
    record(results, isRejection(deposit) ? deposit : { kind: 'deposit', deposit });
  },
  withdrawalComplete(state, recorder, _signer, instruction, results) {
    const outcome = { completed: true as const, chainTransactionId: instruction.chainTransactionId };
    const withdrawal = settleWithdrawal(state, recorder, instruction.withdrawalId, outcome);
    record(results, isRejection(withdrawal) ? withdrawal : { kind: 'withdrawal', withdrawal });
  },
  withdrawalFail(state, recorder, _signer, instruction, results) {
    const withdrawal = settleWithdrawal(state, recorder, instruction.withdrawalId, {
      completed: false,
      reason: instruction.reason,
    });
    record(results, isRejection(withdrawal) ? withdrawal : { kind: 'withdrawal', withdrawal });
  },
  reservesStatement(state, recorder, signer, instruction, results) {
    const statement = stateReserves(state, recorder, instruction, signer);
    record(results, isRejection(statement) ? statement : { kind: 'reserves', reserves: statement });
  },
};
