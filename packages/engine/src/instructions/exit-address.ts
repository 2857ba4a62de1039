/**
 * exitAddressLink and forcedExitServe (docs/protocol.md, docs/custody.md): the custody vault's exit address of an
 * account, and the operator's answer to a forced-exit request, which withdraws to it.
 */
import { linkExitAddress } from '../exit-address.js';
import { serveForcedExit } from '../forced-exit.js';
import { record } from '../instruction-result.js';
import { isRejection } from '../result-codes.js';
import type { InstructionHandlers } from './instruction-table.js';

export const exitAddressHandlers: InstructionHandlers<'exitAddressLink' | 'forcedExitServe'> = {
  exitAddressLink(state, _recorder, signer, instruction, results) {
    const linked = linkExitAddress(state, signer, instruction);
    record(results, isRejection(linked) ? linked : { kind: 'exitAddressLinked', ...linked });
  },
  forcedExitServe(state, recorder, _signer, instruction, results) {
    record(results, { kind: 'forcedExitServed', forcedExit: serveForcedExit(state, recorder, instruction) });
  },
};
