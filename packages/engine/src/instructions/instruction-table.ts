/**
 * The table of instruction modules: one entry per transaction kind, checked
 * for completeness by the compiler (a kind without a handler, or a handler
 * for no kind, does not compile). execute() in apply.ts dispatches through it.
 */
import type { EntryRecorder } from '../entry-recorder.js';
import type { TransactionInstruction, TransactionKind } from '../instruction.js';
import type { InstructionResult } from '../instruction-result.js';
import type { ExchangeState } from '../state.js';
import { attestationRecordHandler } from './attestation-record.js';
import { custodianReservesHandler } from './custodian-reserves.js';
import { exitAddressHandlers } from './exit-address.js';
import { fundsHandlers } from './funds.js';
import { listingHandlers } from './listing.js';
import { marginHandlers } from './margin.js';
import { tradingHandlers } from './trading.js';

/** Applies one instruction for `signer`, appending its result (or, for a batch, one per order) to `results`. */
export type InstructionHandler<Kind extends TransactionKind> = (
  state: ExchangeState,
  recorder: EntryRecorder,
  signer: string,
  instruction: Extract<TransactionInstruction, { kind: Kind }>,
  results: InstructionResult[],
  entrySignature: Uint8Array,
) => void;

export type InstructionHandlers<Kinds extends TransactionKind> = { readonly [Kind in Kinds]: InstructionHandler<Kind> };

export const instructionTable: InstructionHandlers<TransactionKind> = {
  ...tradingHandlers,
  ...fundsHandlers,
  ...listingHandlers,
  ...marginHandlers,
  ...exitAddressHandlers,
  attestationRecord: attestationRecordHandler,
  custodianReservesStatement: custodianReservesHandler,
};
