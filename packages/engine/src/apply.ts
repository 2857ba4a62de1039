/**
 * apply(state, entry) → outcome: the one way the state changes.
 *
 * An entry is a signed transaction plus the log time the sequencer gave it.
 * The outcome says whether it was accepted, what each instruction produced,
 * and the events. A rejected entry leaves the state exactly as it was; only
 * accepted entries belong in the log. See docs/protocol.md.
 */
import { accountIdOf } from './account-id.js';
import type { DepositView, EngineEvent, OrderView, ReservesView, WithdrawalView } from './events.js';
import { operatorInstructionKinds, parseInstruction, type Instruction } from './instruction.js';
import { listAsset, listMarket } from './listing.js';
import { cancelAllOrders, cancelOrder, fireTriggers, placeOrder, type AttachedViews } from './matching.js';
import { resolveOrderRequest } from './order-request.js';
import { linkExitAddress } from './exit-address.js';
import { creditDeposit, requestWithdrawal, settleWithdrawal, stateReserves } from './funds.js';
import { forgetExpired, hasSeen, isWithinWindow, messageDigest, remember } from './replay-protection.js';
import { isRejection, reject, type Rejection } from './result-codes.js';
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

export type ResultValue =
  /** `attached`: the take-profit and stop-loss trigger orders placed with it, if any. */
  | { readonly kind: 'order'; readonly order: OrderView; readonly attached?: AttachedViews }
  | { readonly kind: 'orders'; readonly orders: readonly OrderView[] }
  | { readonly kind: 'withdrawal'; readonly withdrawal: WithdrawalView }
  | { readonly kind: 'deposit'; readonly deposit: DepositView }
  | { readonly kind: 'reserves'; readonly reserves: ReservesView }
  | { readonly kind: 'listed'; readonly symbol: string }
  | { readonly kind: 'exitAddressLinked'; readonly account: string; readonly exitAddress: string }
  | { readonly kind: 'attestationRecorded'; readonly sequence: number; readonly digest: string };

export type InstructionResult =
  | { readonly ok: true; readonly value: ResultValue }
  | { readonly ok: false; readonly rejection: Rejection };

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
}

/**
 * Appends one instruction's result. A module function rather than a closure
 * per execute() call: under tsx, every closure creation also names it with
 * Object.defineProperty, a measurable cost on the replay path.
 */
function record(results: InstructionResult[], value: ResultValue | Rejection): void {
  results.push(isRejection(value) ? { ok: false, rejection: value } : { ok: true, value });
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
    return rejected(reject('INVALID_TIMESTAMP', `Timestamp ${timestampMs} is not within ${windowMs} ms of log time ${logTimeMs}.`));
  }
  const digest = messageDigest(transaction.publicKey, transaction.message);
  if (hasSeen(state.replayProtection, digest)) return rejected(reject('DUPLICATE_REQUEST'));
  const instruction = parseInstruction(parsed.value.groups);
  if (!instruction.ok) return rejected(reject('INVALID_CLIENT_REQUEST', instruction.message));

  const outcome = execute(state, accountIdOf(transaction.publicKey), instruction.instruction, logTimeMs, transaction.signature);
  if (outcome.accepted) {
    forgetExpired(state.replayProtection, logTimeMs);
    remember(state.replayProtection, digest, logTimeMs);
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

  switch (instruction.kind) {
    case 'orderExecute':
      for (const request of instruction.orders) {
        const params = resolveOrderRequest(state, request);
        if (isRejection(params)) {
          record(results, params);
          continue;
        }
        const attached: AttachedViews = {};
        const order = placeOrder(state, recorder, signer, params, attached);
        const hasAttached = attached.takeProfit !== undefined || attached.stopLoss !== undefined;
        record(results, isRejection(order) ? order : hasAttached ? { kind: 'order', order, attached } : { kind: 'order', order });
      }
      break;
    case 'orderCancel':
    case 'orderCancelAll': {
      const market = state.marketsBySymbol.get(instruction.symbol);
      if (market === undefined) {
        record(results, reject('INVALID_MARKET', `Market ${instruction.symbol} does not exist.`));
      } else if (instruction.kind === 'orderCancel') {
        const order = cancelOrder(state, recorder, signer, market, instruction.orderId, instruction.clientId);
        record(results, isRejection(order) ? order : { kind: 'order', order });
      } else {
        record(results, { kind: 'orders', orders: cancelAllOrders(state, recorder, signer, market) });
      }
      break;
    }
    case 'withdraw': {
      const withdrawal = requestWithdrawal(state, recorder, signer, instruction);
      record(results, isRejection(withdrawal) ? withdrawal : { kind: 'withdrawal', withdrawal });
      break;
    }
    case 'exitAddressLink': {
      const linked = linkExitAddress(state, signer, instruction);
      record(results, isRejection(linked) ? linked : { kind: 'exitAddressLinked', ...linked });
      break;
    }
    case 'depositCredit': {
      const deposit = creditDeposit(state, recorder, instruction, entrySignature);
      record(results, isRejection(deposit) ? deposit : { kind: 'deposit', deposit });
      break;
    }
    case 'withdrawalComplete':
    case 'withdrawalFail': {
      const outcome =
        instruction.kind === 'withdrawalComplete'
          ? { completed: true as const, chainTransactionId: instruction.chainTransactionId }
          : { completed: false as const, reason: instruction.reason };
      const withdrawal = settleWithdrawal(state, recorder, instruction.withdrawalId, outcome);
      record(results, isRejection(withdrawal) ? withdrawal : { kind: 'withdrawal', withdrawal });
      break;
    }
    case 'reservesStatement': {
      const statement = stateReserves(state, recorder, instruction);
      record(results, isRejection(statement) ? statement : { kind: 'reserves', reserves: statement });
      break;
    }
    case 'assetList': {
      const asset = listAsset(state, instruction);
      if (isRejection(asset)) record(results, asset);
      else {
        recorder.events.push({ type: 'assetListed', asset: asset.symbol, decimals: asset.decimals });
        record(results, { kind: 'listed', symbol: asset.symbol });
      }
      break;
    }
    case 'attestationRecord':
      record(results, recordAttestation(state, instruction.sequence, instruction.digest));
      break;
    case 'marketList': {
      const market = listMarket(state, instruction);
      if (isRejection(market)) record(results, market);
      else {
        recorder.events.push({ type: 'marketListed', market: market.symbol });
        record(results, { kind: 'listed', symbol: market.symbol });
      }
      break;
    }
  }

  let anyAccepted = false;
  for (let index = 0; index < results.length; index += 1) if (results[index]!.ok) anyAccepted = true;
  if (!anyAccepted) {
    const first = results[0];
    return rejected(first !== undefined && !first.ok ? first.rejection : reject('INVALID_INSTRUCTION'), results);
  }
  // Every accepted entry may fire trigger orders its trades (or earlier ones) reached.
  if (state.pendingTriggerCount > 0) fireTriggers(state, recorder);
  state.logTimeMs = logTimeMs;
  state.headSequence += 1;
  return { accepted: true, results, events: recorder.finish() };
}

/**
 * attestationRecord (docs/attestation.md, "Attestation records"): binds the
 * attestation of the entry just before this one into the log. It must name
 * exactly that entry (the record follows its attestation at once, so a
 * verifier checks it against the state it has just replayed), and that entry
 * must not be a record itself (records are never attested). The digest is
 * not checked here: the engine has no liabilities tree; the replayer checks
 * it against the attestation message it recomputes.
 */
function recordAttestation(state: ExchangeState, sequence: number, digestHex: string): ResultValue | Rejection {
  if (sequence !== state.headSequence) {
    return reject('INVALID_INSTRUCTION', `An attestation record must name the entry before it, ${state.headSequence}, not ${sequence}.`);
  }
  if (state.attestedSequence !== 0 && sequence <= state.attestedSequence + 1) {
    return reject('INVALID_INSTRUCTION', `Entry ${sequence} is not after the last recorded attestation's record (${state.attestedSequence} was recorded by entry ${state.attestedSequence + 1}).`);
  }
  state.attestedSequence = sequence;
  state.attestationDigest = Uint8Array.from(Buffer.from(digestHex, 'hex'));
  return { kind: 'attestationRecorded', sequence, digest: digestHex };
}
