/**
 * Perpetual settlement (docs/perps.md, "Settlement of fills"): the fill sink
 * of a perpetual market. A fill moves no base units: it moves the taker's
 * and the maker's positions by the filled quantity (position.ts), pays each
 * the PnL its closing part realises and charges each its fee, all in USDC,
 * and keeps the market's open interest. Trades, maker updates and the level
 * are recorded exactly as on a spot market (SpotSettlement.recordFill).
 */
import { credit } from '../balance-movements.js';
import type { EntryRecorder } from '../entry-recorder.js';
import { markLeafStale } from '../liabilities-perps.js';
import type { PriceLevel } from '../order-book.js';
import { ceilingFee, SpotSettlement } from '../spot-settlement.js';
import type { Account, Market, Order } from '../state.js';
import type { PerpMarketState } from './perp-market.js';
import { settlePerpCashOf } from './perp-cash.js';
import { reportPositionChanged, reportSettlements, settleFundingReported } from './perp-events.js';
import { realiseAtMark } from './perp-realisation.js';
import { holdingOf, type PerpHolding, resetPositionOf } from './perp-holding.js';
import { nodeRealised, positionClosed, positionRealised } from './position-queue.js';
import { applyFill, newPosition, type Position } from './position.js';
import { conformReduceOnlyOrders, perpOrderFilled } from './resting-perp-orders.js';

/** What movePosition did: see there. */
export interface MovedPosition {
  position: Position;
  realisedUnits: bigint;
  fundingUnits: bigint;
  openInterestChangeUnits: bigint;
  /** The account's holding on the market (perp-holding.ts): its USDC balance and resting orders. */
  holding: PerpHolding;
}

/**
 * movePosition's answer: one object, overwritten by every call (each caller reads it before moving another
 * position), rather than one allocated per side of every fill.
 */
const moved: MovedPosition = {
  position: newPosition(0n),
  realisedUnits: 0n,
  fundingUnits: 0n,
  openInterestChangeUnits: 0n,
  holding: undefined as unknown as PerpHolding,
};

/**
 * Moves `account`'s position on `market` by `deltaUnits` base units for
 * `quoteUnits` USDC units at log time `timeMs`: settles its funding
 * (reported to `recorder`, if any: perp-events.ts), applies the fill, realises what stays open at
 * the mark, and returns the position after it, the realised PnL, the funding
 * paid and the change in open interest (valid until the next call). A position that becomes flat is
 * removed (docs/perps.md, "Encoding"); the market's position index
 * (position-queue.ts: the holders and the realisation order) follows.
 */
export function movePosition(
  account: Account,
  market: Market,
  deltaUnits: bigint,
  quoteUnits: bigint,
  timeMs: number,
  recorder?: EntryRecorder,
  holding: PerpHolding = holdingOf(account, market),
): Readonly<MovedPosition> {
  const perp = market.perp as PerpMarketState;
  // The holding is the position (perp-holding.ts): one object for the account's map, the index and the fill.
  const opening = !holding.open;
  const position = opening ? resetPositionOf(holding, perp.funding.cumulativeFundingIndex, timeMs) : holding;
  // Funding up to now is settled before the position changes (docs/perps.md, "Funding").
  const fundingUnits = settleFundingReported(account, market, position, recorder);
  const before = position.quantityUnits;
  let realisedUnits = applyFill(position, deltaUnits, quoteUnits);
  if (position.quantityUnits === 0n) {
    if (!opening) {
      account.positions.delete(market.index);
      holding.open = false;
      positionClosed(market, account);
    }
  } else {
    // What stays open is realised at the mark too (docs/perps.md, "Realisation"): every change realises all PnL.
    const pnlUnits = realiseAtMark(market, position, timeMs);
    // Most fills open or add (nothing realised by the fill): then no sum is made.
    if (pnlUnits !== 0n) realisedUnits = realisedUnits === 0n ? pnlUnits : realisedUnits + pnlUnits;
    if (opening) {
      account.positions.set(market.index, holding);
      holding.open = true;
      positionRealised(market, holding, timeMs);
    } else nodeRealised(market, holding, timeMs);
  }
  const after = position.quantityUnits;
  // Only longs count in open interest (long part after − long part before), so a short's move makes no bigint.
  moved.openInterestChangeUnits = before > 0n ? (after > 0n ? after - before : -before) : after > 0n ? after : 0n;
  moved.position = position;
  moved.realisedUnits = realisedUnits;
  moved.fundingUnits = fundingUnits;
  moved.holding = holding;
  return moved;
}

/** Settles one taker's fills on a perpetual market. One per walk. */
export class PerpSettlement extends SpotSettlement {
  /**
   * Accounts whose positions moved while holding resting reduce-only orders
   * here, in first-move order; made at the first (most walks meet none).
   */
  private reduceOnlyHolders: Account[] | undefined = undefined;
  /** The taker's holding on the market, found at the walk's first fill (the same for all of them). */
  private takerHolding: PerpHolding | undefined = undefined;

  override fill(maker: Order, level: PriceLevel, steps: bigint, quoteUnits: bigint): boolean {
    const { market } = this;
    const baseUnits = steps * market.stepUnits;
    const takerDelta = this.taker.side === 'Bid' ? baseUnits : -baseUnits;
    // Both fees are taken of the fill's USDC notional, rounded up.
    this.makerFee = ceilingFee(quoteUnits, market.makerFeeBasisPoints);
    this.takerFee = ceilingFee(quoteUnits, market.takerFeeBasisPoints);
    // Maker, then taker: the order in which balances are reported, as on a spot market.
    // A resting order reaches its account's holding directly (set when it rested).
    const makerHolding = maker.perpHolding ?? holdingOf(maker.account, market);
    this.settleSide(maker.account, makerHolding, -takerDelta, quoteUnits, this.makerFee);
    const takerHolding = (this.takerHolding ??= holdingOf(this.taker.account, market));
    this.settleSide(this.taker.account, takerHolding, takerDelta, quoteUnits, this.takerFee);
    perpOrderFilled(maker, steps, quoteUnits);
    this.recordFill(maker, level, steps, quoteUnits);
    return true;
  }

  /** After the walk: the resting reduce-only orders of every account whose position moved are cut or expired. */
  finish(): void {
    const holders = this.reduceOnlyHolders;
    if (holders === undefined) return;
    for (const account of holders) conformReduceOnlyOrders(this.state, this.recorder, account, this.market);
  }

  /**
   * One side of a fill: its funding is settled and its position moves, the
   * fee goes to the fee account, and its USDC takes the realised PnL less
   * the funding and the fee (perp-cash.ts: a loss beyond the available USDC
   * becomes a USDC borrow).
   */
  private settleSide(
    account: Account,
    holding: PerpHolding,
    deltaUnits: bigint,
    quoteUnits: bigint,
    feeUnits: bigint,
  ): void {
    const { market, recorder, state } = this;
    // The holding keeps the account's USDC balance for the next fill or sweep (never replaced: perp-holding.ts).
    // Found before the position moves: for a maker both are another account's cold objects, and their cache misses
    // can overlap when their loads are not held back behind the position's bigint arithmetic.
    let balance = holding.settlementBalance;
    if (balance === undefined) holding.settlementBalance = balance = account.balance(market.quote);
    // movePosition's answer is overwritten by its next call: read before anything else runs.
    const { position, realisedUnits, fundingUnits, openInterestChangeUnits } = movePosition(
      account,
      market,
      deltaUnits,
      quoteUnits,
      recorder.timeMs,
      recorder,
      holding,
    );
    if (holding.reduceOnly.length > 0) {
      const holders = (this.reduceOnlyHolders ??= []);
      if (!holders.includes(account)) holders.push(account);
    }
    // Zero for every short's move and every long's reduction: then no sum is stored into the market.
    if (openInterestChangeUnits !== 0n) (market.perp as PerpMarketState).openInterestUnits += openInterestChangeUnits;
    // The position is in the account's piece of the state encoding, whether or not USDC moves.
    state.changes.accountChanged(account);
    // And in its liabilities leaf (liabilities-perps.ts), whether or not USDC moves.
    markLeafStale(state, account);
    // The fee is credited first: a loss the account cannot pay is borrowed, never taken from the fee.
    if (feeUnits > 0n) credit(recorder, state.feeAccount.balance(market.quote), feeUnits);
    // Funding moves at funding boundaries only and most fills realise nothing: the zero terms make no difference.
    // The fee's USDC change is negated once, for the net change and for its report.
    const feeChangeUnits = feeUnits === 0n ? 0n : -feeUnits;
    let netUnits = fundingUnits === 0n ? realisedUnits : realisedUnits - fundingUnits;
    if (feeUnits !== 0n) netUnits = netUnits === 0n ? feeChangeUnits : netUnits - feeUnits;
    settlePerpCashOf(state, recorder, balance, market.quote, netUnits);
    reportSettlements(recorder, account, market, realisedUnits, fundingUnits, feeChangeUnits);
    reportPositionChanged(recorder, account, market, position, feeUnits);
  }
}
