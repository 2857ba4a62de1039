/**
 * One account's state on one perpetual, in one object (docs/perps.md,
 * section 5b): its position (the holding is the position: the object
 * `account.positions` holds while it is open), its place in the market's
 * order by realisation time (position-queue.ts), the totals of its resting
 * orders (resting-perp-orders.ts) and its USDC balance. Reached from the
 * account (`account.perpHoldings[market index]`), from its resting orders on
 * the market (`order.perpHolding`) and from the market's position index, so
 * that an order's margin check, each side of a fill and a realisation read
 * one object instead of the account's map of positions, its map of resting
 * records, the index's map of holders and its list of balances in turn; and
 * the position's fields are the holding's own, so that a realisation or a
 * fill side first touches one object, not a holding and then a position
 * (each a cache miss for another account's: docs/benchmarks.md, perps12 and
 * perps14).
 *
 * Derived, never encoded or hashed, but the position's fields: those are the
 * state's, encoded from `account.positions` (which holds this object while
 * `open`), set only by the code that opens, moves or closes a position
 * (movePosition, perp-settlement.ts; the state decoder; openPositionOf
 * below). The totals are rebuilt from the book when a state is decoded.
 * checkMarketPositions (whether or not the market's index is built) and
 * checkRestingPerpOrders fail a holding that disagrees with the state. A
 * holding, once made, is kept for the account's life (an account's orders
 * and positions come and go on the same markets; at most one per account and
 * perpetual), and a position that closes and opens again is the same object
 * with its fields set afresh.
 */
import type { Account, Balance, Market, Order } from '../state.js';
import type { Position } from './position.js';

export class PerpHolding implements Position {
  // The position's fields (position.ts, Position), first: read by every realisation, margin check and fill side.
  // While the holding is not `open` they are those of the position last closed (or zeros) and nothing reads them.
  quantityUnits = 0n;
  costBasisUnits = 0n;
  realisedPnlUnits = 0n;
  cumulativeFundingUnits = 0n;
  fundingIndexAtSettlement = 0n;
  realisedAtMs = 0;
  /** Whether the account holds a position on the market: then `account.positions` holds this object. */
  open = false;
  /**
   * The place in the market's order by realisation time while the position is open and the market's index is
   * built (position-queue.ts): the position's realisedAtMs when it was last linked, and the neighbours.
   */
  timeMs = 0;
  previous: PerpHolding | undefined = undefined;
  next: PerpHolding | undefined = undefined;
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
   * `ordinal`: the account's, kept here (the walk that links a holding compares ordinals without the account).
   * detachedHolding passes its own and no account.
   */
  constructor(
    readonly account: Account,
    readonly ordinal: number = account.ordinal,
  ) {}
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

/**
 * A holding of no account, for a hypothetical position (the coverage pool's takeover test, pool-positions.ts): of
 * the same class as every position the position functions see, so that they keep one hidden class.
 */
export function detachedHolding(): PerpHolding {
  return new PerpHolding(undefined as unknown as Account, -1);
}

/** Sets `holding`'s position fields to a new position's (newPosition, position.ts). */
export function resetPositionOf(holding: PerpHolding, fundingIndex: bigint, timeMs: number): PerpHolding {
  holding.quantityUnits = 0n;
  holding.costBasisUnits = 0n;
  holding.realisedPnlUnits = 0n;
  holding.cumulativeFundingUnits = 0n;
  holding.fundingIndexAtSettlement = fundingIndex;
  holding.realisedAtMs = timeMs;
  return holding;
}

/** Sets `holding`'s position fields to a copy of `position`'s. */
export function copyPositionInto(holding: PerpHolding, position: Position): PerpHolding {
  holding.quantityUnits = position.quantityUnits;
  holding.costBasisUnits = position.costBasisUnits;
  holding.realisedPnlUnits = position.realisedPnlUnits;
  holding.cumulativeFundingUnits = position.cumulativeFundingUnits;
  holding.fundingIndexAtSettlement = position.fundingIndexAtSettlement;
  holding.realisedAtMs = position.realisedAtMs;
  return holding;
}

/**
 * Stores `position` (its fields) as `account`'s open position on `market`: its holding becomes the position in
 * `account.positions`. For the state decoder and for states assembled by hand (tests, benchmarks); the engine
 * opens positions through movePosition. The market's index, if built, is not told (build it afterwards).
 */
export function openPositionOf(account: Account, market: Market, position: Position): PerpHolding {
  const holding = copyPositionInto(holdingOf(account, market), position);
  holding.open = true;
  account.positions.set(market.index, holding);
  return holding;
}
