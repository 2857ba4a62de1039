/** attestationRecord (docs/attestation.md, "Attestation records"). */
import { record } from '../instruction-result.js';
import { reject } from '../result-codes.js';
import type { InstructionHandler } from './instruction-table.js';

/**
 * Binds the attestation of the entry just before this one into the log. It
 * must name exactly that entry (the record follows its attestation at once,
 * so a verifier checks it against the state it has just replayed), and that
 * entry must not be a record itself (records are never attested). The digest
 * is not checked here: the engine has no liabilities tree; the replayer
 * checks it against the attestation message it recomputes.
 */
export const attestationRecordHandler: InstructionHandler<'attestationRecord'> = (
  state,
  _recorder,
  _signer,
  instruction,
  results,
) => {
  const { sequence, digest } = instruction;
  if (sequence !== state.headSequence) {
    return record(
      results,
      reject(
        'INVALID_INSTRUCTION',
        `An attestation record must name the entry before it, ${state.headSequence}, not ${sequence}.`,
      ),
    );
  }
  if (state.attestedSequence !== 0 && sequence <= state.attestedSequence + 1) {
    return record(
      results,
      reject(
        'INVALID_INSTRUCTION',
        `Entry ${sequence} is not after the last recorded attestation's record ` +
          `(${state.attestedSequence} was recorded by entry ${state.attestedSequence + 1}).`,
      ),
    );
  }
  state.attestedSequence = sequence;
  state.attestationDigest = Uint8Array.from(Buffer.from(digest, 'hex'));
  record(results, { kind: 'attestationRecorded', sequence, digest });
};
