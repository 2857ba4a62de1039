/**
 * The checks an order must pass at the moment it executes (docs/matching.md,
 * section 4, checks 4 to 7): funds, post-only, would-not-fill and the
 * minimum value. Those that depend on the book read the planned walk: the
 * price-time walk with the planning sink (price-time-walk.ts).
 */
import type { OrderType, SelfTradePrevention, Side, TimeInForce } from './instruction.js';
import { acceptablePrice, oppositeSide, PlannedWalk } from './price-time-walk.js';
import { reject, type Rejection } from './result-codes.js';
import type { Account, Market } from './state.js';

export interface OrderParameters {
  readonly market: Market;
  readonly side: Side;
  readonly orderType: OrderType;
  /** Limit orders: the limit price in ticks. Market orders: ignored. */
  readonly priceTicks: bigint;
  /** Orders sized in base: the quantity in steps. Zero when sized by quote. */
  readonly quantitySteps: bigint;
  /** Market orders sized in quote: the quote units to spend (Bid) or receive (Ask). */
  readonly quoteQuantityUnits: bigint | undefined;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientId: number | undefined;
}

/**
 * Checks the account can pay for the order as it will execute, and returns
 * what it needs: for a limit order that is exactly its full reservation.
 */
function fundsNeeded(params: OrderParameters, account: Account, walk: PlannedWalk): bigint | Rejection {
  const market = params.market;
  // A perpetual's order reserves nothing: its margin is checked by perps/perp-orders.ts before admission.
  if (market.perp !== undefined) return 0n;
  if (params.side === 'Bid') {
    const available = account.availableOf(market.quote);
    let needed: bigint;
    if (params.orderType === 'Limit') needed = params.quantitySteps * params.priceTicks * market.quoteUnitsPerStepTick;
    else if (params.quoteQuantityUnits !== undefined) needed = params.quoteQuantityUnits;
    else needed = walk.get().quoteUnits;
    if (needed > available)
      return reject(
        'INSUFFICIENT_FUNDS',
        `The order needs ${needed} ${market.quote.symbol} units; ${available} are available.`,
      );
    return needed;
  } else {
    const available = account.availableOf(market.base);
    const steps = params.quoteQuantityUnits !== undefined ? walk.get().steps : params.quantitySteps;
    const needed = steps * market.stepUnits;
    if (needed > available)
      return reject(
        'INSUFFICIENT_FUNDS',
        `The order needs ${needed} ${market.base.symbol} units; ${available} are available.`,
      );
    return needed;
  }
}

/**
 * Check 6 (docs/matching.md, section 4): whether an order that cannot rest
 * would execute nothing now, or a fill-or-kill order less than its full
 * quantity. A perpetual's admission asks it before its margin checks
 * (perps/perp-orders.ts), with the walk that admit then reads.
 */
export function wouldNotFill(params: OrderParameters, walk: PlannedWalk): boolean {
  if (params.orderType === 'Limit' && params.timeInForce === 'GTC') return false;
  // A fill-or-kill order needs the whole walk anyway; the others only its first fill.
  if (params.timeInForce !== 'FOK') return !walk.fillsAnything();
  const steps = walk.get().steps;
  return steps === 0n || steps < params.quantitySteps;
}

/**
 * Checks a new order, or a trigger order firing, at the moment it executes.
 * Returns what the funds check requires (a limit order's reservation), or
 * the rejection. `walk` is the order's planned walk if a check before
 * admission made one (it is then not walked again).
 */
export function admit(
  params: OrderParameters,
  account: Account,
  walk: PlannedWalk = new PlannedWalk(params, account),
): bigint | Rejection {
  const market = params.market;
  const isLimit = params.orderType === 'Limit';
  const needed = fundsNeeded(params, account, walk);
  if (typeof needed !== 'bigint') return needed;
  if (params.postOnly) {
    const best = oppositeSide(market, params.side).best();
    if (best !== undefined && acceptablePrice(params.side, params.priceTicks, best.priceTicks)) {
      return reject('INVALID_ORDER', 'A postOnly order would immediately match.');
    }
  }
  // An order that cannot rest and would execute nothing would only fill the
  // log: it is refused rather than accepted as Expired (docs/matching.md, 4.6).
  if (wouldNotFill(params, walk)) {
    // wouldNotFill planned a fill-or-kill order's whole walk: reading its steps walks nothing again.
    const partly = params.timeInForce === 'FOK' && walk.get().steps > 0n;
    const message = partly
      ? 'The fill-or-kill order could not be filled in full.'
      : 'The order cannot rest and would execute nothing now.';
    return reject('ORDER_WOULD_NOT_FILL', message);
  }
  // Every value is at least zero, so a market without a minimum needs no planned walk for it.
  if (market.minOrderValueUnits === 0n) return needed;
  const value = isLimit
    ? params.quantitySteps * params.priceTicks * market.quoteUnitsPerStepTick
    : (params.quoteQuantityUnits ?? walk.get().quoteUnits);
  if (value < market.minOrderValueUnits) {
    return reject(
      'ORDER_VALUE_TOO_SMALL',
      `The order's value is ${value} ${market.quote.symbol} units; the minimum is ${market.minOrderValueUnits}.`,
    );
  }
  return needed;
}
