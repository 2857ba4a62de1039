/**
 * One account's state on one perpetual, in one object (docs/perps.md,
 * section 5b): its position, its place in the market's order by
 * realisation time (position-queue.ts), the totals of its resting orders
 * (resting-perp-orders.ts) and its USDC balance. Reached from the account
 * (`account.perpHoldings[market index]`), from its resting orders on the
 * market (`order.perpHolding`) and from the market's position index, so that
 * an order's margin check, each side of a fill and a realisation read one
 * object instead of the account's map of positions, its map of resting
 * records, the index's map of holders and its list of balances in turn.
 *
 * Derived, never encoded or hashed: the position is the one in
 * `account.positions` (the state), kept here by the only code that stores or
 * removes one (movePosition, perp-settlement.ts; the state decoder), and the
 * engine reads positions from here, so code that stores a position must set
 * it here too; the totals are rebuilt from the book when a state is decoded.
 * checkMarketPositions (whether or not the market's index is built) and
 * checkRestingPerpOrders fail a holding that disagrees with the state. A
 * holding, once made, is kept for the account's life (an account's orders
 * and positions come and go on the same markets; at most one per account and
 * perpetual).
 */
import type { Account, Balance, Market, Order } from '../state.js';
import type { Position } from './position.js';

export class PerpHolding {
  /** The account's position on the market: the object `account.positions` holds; undefined while it holds none. */
  position: Position | undefined = undefined;
  /**
   * The account's balance of the market's settlement asset (USDC), once a realisation or a fill has moved it
   * (undefined: not yet). A balance is never replaced, so the reference stays the account's.
   */
  settlementBalance: Balance | undefined = undefined;
  /** Resting bids that are not reduce-only: remaining steps, and their notional at their limits in USDC units. */
  bidSteps = 0n;
  bidQuoteUnits = 0n;
  /** Resting asks that are not reduce-only, likewise. */
  askSteps = 0n;
  askQuoteUnits = 0n;
  /** Resting reduce-only orders, ascending id. */
  readonly reduceOnly: Order[] = [];
  /**
   * The place in the market's order by realisation time while the position is open and the market's index is
   * built (position-queue.ts): the position's realisedAtMs when it was last linked, and the neighbours.
   */
  timeMs = 0;
  previous: PerpHolding | undefined = undefined;
  next: PerpHolding | undefined = undefined;
  /** The account's ordinal, kept here: the walk that links a holding compares ordinals without the account. */
  readonly ordinal: number;

  constructor(readonly account: Account) {
    this.ordinal = account.ordinal;
  }
}

/** The account's holding on `market`, made (empty) at the first ask. */
export function holdingOf(account: Account, market: Market): PerpHolding {
  let holding = account.perpHoldings[market.index];
  if (holding === undefined) {
    holding = new PerpHolding(account);
    account.perpHoldings[market.index] = holding;
  }
  return holding;
}
