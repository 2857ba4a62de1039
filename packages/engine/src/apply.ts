/**
 * apply(state, entry) → outcome: the one way the state changes.
 *
 * An entry is a signed transaction plus the log time the sequencer gave it.
 * The outcome says whether it was accepted, what each instruction produced,
 * and the events. A rejected entry leaves the state exactly as it was; only
 * accepted entries belong in the log. See docs/protocol.md.
 */
import { signerAccountId } from './signer-account-ids.js';
import type { EntryRecorder } from './entry-recorder.js';
import type { EngineEvent } from './events.js';
import { operatorInstructionKinds, parseInstruction, type Instruction } from './instruction.js';
import type { InstructionResult } from './instruction-result.js';
import { refreshPerpMarkets, restorePerpClocks } from './perps/perp-clock.js';
import { realiseDuePositions, realiseOldestPositions } from './perps/perp-realisation.js';
import { instructionTable, type InstructionHandler } from './instructions/instruction-table.js';
import { fireTriggers } from './matching.js';
import { forgetExpired, hasSeen, isWithinWindow, messageDigest, remember } from './replay-protection.js';
import { invariant, reject, type Rejection } from './result-codes.js';
import { verifySignature } from './signature.js';
import { parseSigningString } from './signing-string.js';
import { genesisCreatorSignature, type ExchangeState } from './state.js';

export interface SignedTransaction {
  /** Exactly the bytes the signer signed: the UTF-8 signing string. */
  readonly message: Uint8Array;
  /** The signer's 32-byte ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The 64-byte ed25519 signature. */
  readonly signature: Uint8Array;
}

export interface LogEntry {
  /** Assigned by the sequencer; never decreases along the log. */
  readonly logTimeMs: number;
  readonly transaction: SignedTransaction;
}

export type { InstructionResult, ResultValue } from './instruction-result.js';

export type ApplyOutcome =
  | {
      readonly accepted: true;
      /** One result per instruction; a batch has one per order, some of which may be rejections. */
      readonly results: readonly InstructionResult[];
      readonly events: readonly EngineEvent[];
    }
  | {
      readonly accepted: false;
      readonly rejection: Rejection;
      readonly results: readonly InstructionResult[];
    };

export interface ApplyOptions {
  /**
   * Set when the signature has already been checked under the signature rule
   * (the sequencer and the replayer check signatures in parallel, ahead of
   * applying). Everything else is checked here regardless.
   */
  readonly signatureVerified?: boolean;
  /**
   * The entry's messageDigest (replay-protection.ts), when it was already
   * computed off this thread (the replayer's signature workers compute it
   * beside the signature); it must be exactly messageDigest(publicKey, message).
   */
  readonly messageDigest?: string;
}

function rejected(rejection: Rejection, results: readonly InstructionResult[] = []): ApplyOutcome {
  return { accepted: false, rejection, results };
}

export function apply(state: ExchangeState, entry: LogEntry, options: ApplyOptions = {}): ApplyOutcome {
  const { transaction, logTimeMs } = entry;
  if (!Number.isSafeInteger(logTimeMs) || logTimeMs < state.logTimeMs) {
    return rejected(reject('INVALID_LOG_TIME', `Log time ${logTimeMs} precedes ${state.logTimeMs}.`));
  }
  if (options.signatureVerified !== true) {
    const verdict = verifySignature(transaction.publicKey, transaction.message, transaction.signature);
    if (verdict !== 'valid') return rejected(reject('INVALID_SIGNATURE', `The signature is not valid (${verdict}).`));
  }
  const parsed = parseSigningString(transaction.message);
  if (!parsed.ok) return rejected(reject(parsed.code, parsed.message));
  const { timestampMs, windowMs } = parsed.value;
  if (!isWithinWindow(logTimeMs, timestampMs, windowMs)) {
    return rejected(
      reject('INVALID_TIMESTAMP', `Timestamp ${timestampMs} is not within ${windowMs} ms of log time ${logTimeMs}.`),
    );
  }
  const digest = options.messageDigest ?? messageDigest(transaction.publicKey, transaction.message);
  if (hasSeen(state.replayProtection, digest)) return rejected(reject('DUPLICATE_REQUEST'));
  const instruction = parseInstruction(parsed.value.groups);
  if (!instruction.ok) return rejected(reject('INVALID_CLIENT_REQUEST', instruction.message));

  const outcome = execute(
    state,
    signerAccountId(transaction.publicKey),
    instruction.instruction,
    logTimeMs,
    transaction.signature,
  );
  if (outcome.accepted) {
    forgetExpired(state.replayProtection, logTimeMs, state.changes);
    remember(state.replayProtection, digest, logTimeMs, state.changes);
  }
  return outcome;
}

/**
 * Applies an already authenticated instruction for `signer` (a base64 public
 * key). apply() calls this after its checks; tests and benchmarks call it
 * directly to exercise the engine without signatures. `entrySignature` is the
 * entry's signature: an account the entry creates takes its salt from it
 * (docs/attestation.md); callers without one get the all-zero signature.
 */
export function execute(
  state: ExchangeState,
  signer: string,
  instruction: Instruction,
  logTimeMs: number,
  entrySignature: Uint8Array = genesisCreatorSignature,
): ApplyOutcome {
  if (!Number.isSafeInteger(logTimeMs) || logTimeMs < state.logTimeMs) {
    return rejected(reject('INVALID_LOG_TIME', `Log time ${logTimeMs} precedes ${state.logTimeMs}.`));
  }
  if (instruction.kind === 'query') {
    return rejected(reject('INVALID_INSTRUCTION', `${instruction.name} is a query, not a transaction.`));
  }
  if (operatorInstructionKinds.has(instruction.kind) && !state.operatorKeys.has(signer)) {
    return rejected(reject('UNAUTHORIZED', `Only an operator key may sign ${instruction.kind}.`));
  }
  const recorder = state.recorder.begin(logTimeMs);
  const results: InstructionResult[] = [];
  // An attestation record changes nothing but the attested sequence (docs/attestation.md, "Attestation
  // records"): none of an entry's time-driven work, so the tree built at a record gives the attested root.
  const isRecord = instruction.kind === 'attestationRecord';
  // Funding boundaries and premium samples up to this entry, read from the book the previous entries left.
  const movedClocks = isRecord ? undefined : refreshPerpMarkets(state, logTimeMs);

  const handler = instructionTable[instruction.kind] as InstructionHandler<typeof instruction.kind> | undefined;
  // The table is complete by type; a kind without a handler is a bug, never a rejection.
  if (handler === undefined) invariant(false, `no handler for instruction ${(instruction as { kind: string }).kind}`);
  handler(state, recorder, signer, instruction as never, results, entrySignature);

  let anyAccepted = false;
  for (let index = 0; index < results.length; index += 1) if (results[index]!.ok) anyAccepted = true;
  if (!anyAccepted) {
    restorePerpClocks(movedClocks);
    const first = results[0];
    return rejected(first !== undefined && !first.ok ? first.rejection : reject('INVALID_INSTRUCTION'), results);
  }
  if (!isRecord) afterAcceptedEntry(state, recorder, signer, logTimeMs);
  state.logTimeMs = logTimeMs;
  state.headSequence += 1;
  return { accepted: true, results, events: recorder.finish() };
}

/** The work that follows every accepted entry but an attestation record. */
function afterAcceptedEntry(state: ExchangeState, recorder: EntryRecorder, signer: string, logTimeMs: number): void {
  // Every accepted entry may fire trigger orders its trades (or earlier ones) reached.
  if (state.pendingTriggerCount > 0) fireTriggers(state, recorder);
  // The signer's perpetual positions due in this 10-second window are realised at the mark (docs/perps.md).
  const signerAccount = state.accounts.get(signer);
  if (signerAccount !== undefined && signerAccount.positions.size > 0)
    realiseDuePositions(state, recorder, signerAccount, logTimeMs);
  // Then a bounded number of every perpetual's positions realised longest ago, whoever holds them (docs/perps.md).
  realiseOldestPositions(state, recorder, logTimeMs);
  // An index price this entry posted moves the mark now (no boundary is due again).
  refreshPerpMarkets(state, logTimeMs, true);
}
