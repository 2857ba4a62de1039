/**
 * The one result idiom of the engine: every instruction's result is
 * `{ ok: true, value }` or `{ ok: false, rejection }`, and a rejection carries
 * a code from the one catalogue (result-codes.ts) with a machine-readable
 * reason under it.
 */
import type { DepositView, OrderView, ReservesView, WithdrawalView } from './events.js';
import type { ForcedExitView } from './forced-exit.js';
import type { MarginResultValue } from './margin-views.js';
import type { AttachedViews } from './matching.js';
import { isRejection, type Rejection } from './result-codes.js';

export type ResultValue =
  /** `attached`: the take-profit and stop-loss trigger orders placed with it, if any. */
  | { readonly kind: 'order'; readonly order: OrderView; readonly attached?: AttachedViews }
  | { readonly kind: 'orders'; readonly orders: readonly OrderView[] }
  | { readonly kind: 'withdrawal'; readonly withdrawal: WithdrawalView }
  | { readonly kind: 'deposit'; readonly deposit: DepositView }
  | { readonly kind: 'reserves'; readonly reserves: ReservesView }
  | { readonly kind: 'listed'; readonly symbol: string }
  | { readonly kind: 'exitAddressLinked'; readonly account: string; readonly exitAddress: string }
  | { readonly kind: 'forcedExitServed'; readonly forcedExit: ForcedExitView }
  | { readonly kind: 'attestationRecorded'; readonly sequence: number; readonly digest: string }
  | MarginResultValue;

export type InstructionResult =
  | { readonly ok: true; readonly value: ResultValue }
  | { readonly ok: false; readonly rejection: Rejection };

/**
 * Appends one instruction's result. A module function rather than a closure
 * per execute() call: under tsx, every closure creation also names it with
 * Object.defineProperty, a measurable cost on the replay path.
 */
export function record(results: InstructionResult[], value: ResultValue | Rejection): void {
  results.push(isRejection(value) ? { ok: false, rejection: value } : { ok: true, value });
}
