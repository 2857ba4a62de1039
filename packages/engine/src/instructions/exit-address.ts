/** exitAddressLink (docs/protocol.md, docs/custody.md): the custody vault's exit address of an account. */
import { linkExitAddress } from '../exit-address.js';
import { record } from '../instruction-result.js';
import { isRejection } from '../result-codes.js';
import type { InstructionHandlers } from './instruction-table.js';

export const exitAddressHandlers: InstructionHandlers<'exitAddressLink'> = {
  exitAddressLink(state, _recorder, signer, instruction, results) {
    const linked = linkExitAddress(state, signer, instruction);
    record(results, isRejection(linked) ? linked : { kind: 'exitAddressLinked', ...linked });
  },
};
