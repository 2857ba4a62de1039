/** custodianReservesStatement: a deposit token's custodian states its reserves (docs/attestation.md). */
import { stateReserves } from '../funds.js';
import { record } from '../instruction-result.js';
import { isRejection } from '../result-codes.js';
import type { InstructionHandler } from './instruction-table.js';

export const custodianReservesHandler: InstructionHandler<'custodianReservesStatement'> = (
  state,
  recorder,
  signer,
  instruction,
  results,
) => {
  const statement = stateReserves(state, recorder, instruction, signer);
  record(results, isRejection(statement) ? statement : { kind: 'reserves', reserves: statement });
};
