/**
 * Realisation of unrealised PnL into USDC (docs/perps.md, "Realisation"):
 * a position's PnL at the mark is moved into its account's USDC, and its
 * cost basis becomes the position's value at the mark, so that USDC moves
 * between winners and losers as the mark moves, without changing any
 * position's size (Backpack's "every 10 seconds, any unrealised profits or
 * losses are realised").
 *
 * When: on every change of a position (each side of each fill, after the
 * fill), and, at the end of every accepted entry signed by an account, for
 * each of that account's positions last realised in an earlier 10-second
 * window of log time (⌊realisedAtMs / 10,000⌋ < ⌊now / 10,000⌋). The work
 * is bounded by the account's positions, never a sweep over accounts: a
 * position nobody touches keeps its PnL pending; health counts it at the
 * mark (perp-health.ts).
 */
import type { EntryRecorder } from '../entry-recorder.js';
import type { Account, ExchangeState, Market } from '../state.js';
import { settlePerpCash } from './perp-cash.js';
import { reportSettlements, settleFundingReported } from './perp-events.js';
import type { PerpMarketState } from './perp-market.js';
import { positionsInOrder } from './position-codec.js';
import { type Position, unrealisedPnlUnits } from './position.js';

/** The realisation cadence: one window of log time. */
export const realisationWindowMs = 10_000;

/**
 * Realises the position's PnL at its market's mark (none while the mark is
 * zero) and stamps it with `timeMs`. Returns the PnL (signed, positive: the
 * account gains): the caller moves it into USDC. The mark value rounds
 * toward −∞ (unrealisedPnlUnits), so a gain rounds down and a loss up.
 */
export function realiseAtMark(market: Market, position: Position, timeMs: number): bigint {
  position.realisedAtMs = timeMs;
  const mark = (market.perp as PerpMarketState).funding.markPrice;
  if (mark === 0n) return 0n;
  const pnl = unrealisedPnlUnits(position, mark, market.base.decimals, market.quote.decimals);
  position.costBasisUnits += pnl;
  position.realisedPnlUnits += pnl;
  return pnl;
}

/**
 * After an accepted entry signed by `account`: settles the funding of and
 * realises every position of the account due in this window, then moves the
 * result into its USDC. Positions in ascending market index.
 */
export function realiseDuePositions(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  timeMs: number,
): void {
  if (account.positions.size === 0) return;
  // One or two positions are put in order without a sorted copy (the common case: a copy per entry cost 2 %).
  if (account.positions.size > 2) {
    for (const [marketIndex, position] of positionsInOrder(account))
      realiseIfDue(state, recorder, account, marketIndex, position, timeMs);
    return;
  }
  let firstIndex = -1;
  let secondIndex = -1;
  for (const marketIndex of account.positions.keys()) {
    if (firstIndex < 0) firstIndex = marketIndex;
    else if (marketIndex < firstIndex) {
      secondIndex = firstIndex;
      firstIndex = marketIndex;
    } else secondIndex = marketIndex;
  }
  realiseIfDue(state, recorder, account, firstIndex, account.positions.get(firstIndex)!, timeMs);
  if (secondIndex >= 0)
    realiseIfDue(state, recorder, account, secondIndex, account.positions.get(secondIndex)!, timeMs);
}

/** Settles the funding of and realises one position, if it was last realised in an earlier window than `timeMs`. */
function realiseIfDue(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  marketIndex: number,
  position: Position,
  timeMs: number,
): void {
  // The start of the entry's window (integer arithmetic: no division on numbers in the engine).
  if (position.realisedAtMs >= timeMs - (timeMs % realisationWindowMs)) return;
  const market = state.markets[marketIndex]!;
  const funding = settleFundingReported(account, market, position, recorder);
  const pnl = realiseAtMark(market, position, timeMs);
  state.changes.accountChanged(account);
  settlePerpCash(state, recorder, account, market.quote, pnl - funding);
  reportSettlements(recorder, account, market, { realisedUnits: pnl, fundingUnits: funding, feeUnits: 0n });
}
