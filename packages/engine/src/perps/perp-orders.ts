/**
 * Admission of a perpetual's orders (docs/perps.md, "Orders"): the checks an
 * order on a perpetual passes besides the spot ones of order-admission.ts.
 *
 * - `reduceOnly` (Backpack: "can only reduce the position"): the order must
 *   be on the side opposite the account's position, its quantity is cut to
 *   the position's size so that it never flips it, and it never rests (so a
 *   position that shrinks later cannot leave it reversing the position).
 * - The open interest limit: the part of the order that could open a
 *   position must keep the market's open interest within the listing's limit.
 * - The initial margin: unless the order only reduces the position, the
 *   account's cross-margin health with the position as the whole order would
 *   leave it (filled at its limit price, or along the planned walk for a
 *   market order, but never at a better price than the mark; funding
 *   settled; the larger fee paid) must meet the initial
 *   requirement. O(the account's assets and positions), plus the planned walk
 *   of a market order.
 *
 * Every check reads the state and changes nothing, so a refusal leaves the
 * state untouched.
 */
import type { EntryRecorder } from '../entry-recorder.js';
import type { OrderView } from '../events.js';
import { type AccountHealth, accountHealth, type HealthAdjustment } from '../health.js';
import { lentUnits } from '../lending-pool.js';
import { maximum, minimum } from '../margin-fixed-point.js';
import { type AttachedViews, placeOrder, plannedFill, type OrderParameters } from '../matching.js';
import type { ResolvedOrder } from '../order-request.js';
import { isRejection, reject, type Rejection } from '../result-codes.js';
import { ceilingFee } from '../spot-settlement.js';
import type { Account, Asset, ExchangeState, Market } from '../state.js';
import type { PerpMarketState } from './perp-market.js';
import { applyFill, newPosition, settleFunding, settlementUnitsTowardPositive, type Position } from './position.js';

function magnitude(value: bigint): bigint {
  return value < 0n ? -value : value;
}

/** Places an order on a perpetual after its perpetual checks; the spot checks follow in placeOrder. */
export function placePerpOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  signer: string,
  params: ResolvedOrder,
  attached: AttachedViews,
): OrderView | Rejection {
  const account = state.accounts.get(signer);
  // An unknown account holds nothing: placeOrder refuses it as on a spot market.
  if (account === undefined) return placeOrder(state, recorder, signer, params, attached);
  if (params.margin !== undefined) {
    const message = 'autoBorrow, autoBorrowRepay, autoLend and autoLendRedeem are for spot margin orders only.';
    return reject('INVALID_ORDER', message, 'perpMarginFlags');
  }
  const order = params.reduceOnly ? reduceOnlyOrder(account, params) : params;
  if (isRejection(order)) return order;
  // A trigger order is checked when it fires (trigger-orders.ts), against the state of that moment.
  if (order.triggerPriceTicks === undefined) {
    const refusal = perpOrderRefusal(state, account, order, recorder.timeMs);
    if (refusal !== undefined) return refusal;
  }
  return placeOrder(state, recorder, signer, order, attached);
}

/**
 * A reduce-only order as it may execute: refused unless it can execute now
 * against a position on the other side, its quantity cut to the position's.
 */
function reduceOnlyOrder(account: Account, params: ResolvedOrder): ResolvedOrder | Rejection {
  if (params.triggerPriceTicks !== undefined || params.takeProfit !== undefined || params.stopLoss !== undefined)
    return reject('INVALID_ORDER', 'A reduce-only order cannot be a trigger order or carry one.', 'reduceOnlyTrigger');
  if (params.orderType === 'Limit' && params.timeInForce === 'GTC')
    return reject(
      'INVALID_ORDER',
      'A reduce-only limit order must be IOC or FOK: it never rests.',
      'reduceOnlyResting',
    );
  if (params.quoteQuantityUnits !== undefined)
    return reject('INVALID_ORDER', 'A reduce-only order is sized by quantity.', 'reduceOnlyQuoteQuantity');
  const market = params.market;
  const quantityUnits = account.positions.get(market.index)?.quantityUnits ?? 0n;
  const reduces = params.side === 'Bid' ? quantityUnits < 0n : quantityUnits > 0n;
  const sizeSteps = magnitude(quantityUnits) / market.stepUnits;
  if (!reduces || sizeSteps === 0n) {
    const wanted = params.side === 'Bid' ? 'short' : 'long';
    const message = `The account holds no ${wanted} position on ${market.symbol} to reduce.`;
    return reject('INVALID_ORDER', message, 'reduceOnlyNotReduced');
  }
  // Cut to the position: a reduce-only order never flips it (Backpack decreases such an order likewise).
  return params.quantitySteps <= sizeSteps ? params : { ...params, quantitySteps: sizeSteps };
}

/** The steps and USDC notional of the order filled as far as it can: in full at its limit, or along the walk. */
function orderSize(params: OrderParameters, account: Account): { readonly steps: bigint; readonly quoteUnits: bigint } {
  if (params.orderType === 'Limit') {
    const steps = params.quantitySteps;
    return { steps, quoteUnits: steps * params.priceTicks * params.market.quoteUnitsPerStepTick };
  }
  return plannedFill(params, account);
}

/**
 * The open interest limit and the initial margin of a (non-trigger) order
 * on a perpetual, or a trigger order firing. Undefined when it may go on.
 */
export function perpOrderRefusal(
  state: ExchangeState,
  account: Account,
  params: OrderParameters,
  timeMs: number,
): Rejection | undefined {
  const market = params.market;
  const perp = market.perp as PerpMarketState;
  const { steps, quoteUnits } = orderSize(params, account);
  // Nothing can fill now (a market order on an empty side): the spot checks refuse it, or it rests, opening nothing.
  if (steps === 0n) return undefined;
  const deltaUnits = params.side === 'Bid' ? steps * market.stepUnits : -steps * market.stepUnits;
  const current = account.positions.get(market.index);
  const before = current?.quantityUnits ?? 0n;
  const after = before + deltaUnits;
  const flips = before !== 0n && after !== 0n && before > 0n !== after > 0n;
  // What the order may open: the whole new side after a flip, else the growth of the position.
  const openingUnits = flips
    ? magnitude(after)
    : magnitude(after) > magnitude(before)
      ? magnitude(after) - magnitude(before)
      : 0n;
  const limit = perp.parameters.openInterestLimitUnits;
  if (limit > 0n && openingUnits > 0n && perp.openInterestUnits + openingUnits > limit) {
    const message = `Open interest ${perp.openInterestUnits} + ${openingUnits} units would exceed the limit ${limit}.`;
    return reject('INVALID_ORDER', message, 'openInterestLimit');
  }
  // An order that only reduces the position lowers the requirement: it is never refused for margin.
  if (openingUnits === 0n) return undefined;
  const feeBasisPoints =
    market.takerFeeBasisPoints > market.makerFeeBasisPoints ? market.takerFeeBasisPoints : market.makerFeeBasisPoints;
  const health = healthAfterFill(state, account, market, current, deltaUnits, quoteUnits, feeBasisPoints, timeMs);
  if (health.netEquity >= health.initialRequirement) return undefined;
  const message = `Net equity ${health.netEquity} would be below the initial requirement ${health.initialRequirement}.`;
  return reject('INSUFFICIENT_MARGIN', message, 'order');
}

/**
 * The fill's notional at the worse of its own price and the mark for the
 * account (a buy at the higher, a sell at the lower): an order resting below
 * the mark must not count its gain at the mark before the market gets there.
 */
function pricedAgainstAccount(market: Market, deltaUnits: bigint, quoteUnits: bigint): bigint {
  const mark = (market.perp as PerpMarketState).funding.markPrice;
  if (mark === 0n) return quoteUnits;
  const atMark = settlementUnitsTowardPositive(deltaUnits, mark, market.base.decimals, market.quote.decimals);
  // A buy's notional at the mark rounds up; a sell's (deltaUnits < 0) rounds toward zero, i.e. down.
  return deltaUnits > 0n ? maximum(quoteUnits, atMark) : minimum(quoteUnits, -atMark);
}

/** A change of the USDC held; a loss beyond what is held becomes a borrow, as settlement makes it (perp-cash.ts). */
function usdcAdjustments(account: Account, usdc: Asset, change: bigint, timeMs: number): HealthAdjustment[] {
  if (change >= 0n) return [{ asset: usdc, heldUnits: change, borrowedUnits: 0n }];
  const balance = account.balances[usdc.index];
  const held = balance === undefined ? 0n : balance.available + balance.locked + lentUnits(balance, timeMs);
  const fromHeld = minimum(held, -change);
  return [{ asset: usdc, heldUnits: -fromHeld, borrowedUnits: -change - fromHeld }];
}

/**
 * accountHealth with the fill applied to the account's position on `market`
 * (its funding settled first; a new position if it has none), at the worse
 * of the fill's price and the mark, and the USDC change it would cause. The
 * position is changed in place for the pass and then put back field by field
 * (a new one is added to the account and removed again): no copy and, for an
 * existing position, no change to the account's map of positions.
 */
function healthAfterFill(
  state: ExchangeState,
  account: Account,
  market: Market,
  current: Position | undefined,
  deltaUnits: bigint,
  quoteUnits: bigint,
  feeBasisPoints: bigint,
  timeMs: number,
): AccountHealth {
  const fundingIndex = (market.perp as PerpMarketState).funding.cumulativeFundingIndex;
  const position = current ?? newPosition(fundingIndex);
  const { quantityUnits, costBasisUnits, realisedPnlUnits, cumulativeFundingUnits, fundingIndexAtSettlement } =
    position;
  const funding =
    current === undefined ? 0n : settleFunding(position, fundingIndex, market.base.decimals, market.quote.decimals);
  const realised = applyFill(position, deltaUnits, pricedAgainstAccount(market, deltaUnits, quoteUnits));
  const usdcChange = realised - funding - ceilingFee(quoteUnits, feeBasisPoints);
  const adjustments = usdcAdjustments(account, market.quote, usdcChange, timeMs);
  if (current === undefined) account.positions.set(market.index, position);
  try {
    return accountHealth(state, account, timeMs, adjustments);
  } finally {
    if (current === undefined) account.positions.delete(market.index);
    else {
      position.quantityUnits = quantityUnits;
      position.costBasisUnits = costBasisUnits;
      position.realisedPnlUnits = realisedPnlUnits;
      position.cumulativeFundingUnits = cumulativeFundingUnits;
      position.fundingIndexAtSettlement = fundingIndexAtSettlement;
    }
  }
}
