/**
 * Admission of a perpetual's orders (docs/perps.md, "Orders"): the checks an
 * order on a perpetual passes besides the spot ones of order-admission.ts.
 *
 * - `reduceOnly` (Backpack: "can only reduce the position"): the order must
 *   be on the side opposite the account's position and its quantity is cut
 *   to the position's size so that it never flips it. A reduce-only limit
 *   order may rest; while it rests it is cut or expired whenever the position
 *   shrinks or flips (resting-perp-orders.ts), and a walk never lets it fill
 *   past the position (reduce-only-walk.ts).
 * - A reduce-only order opens nothing: it skips the two checks below.
 * - The open interest limit: the part of the order that could open a
 *   position must keep the market's open interest within the listing's limit.
 * - The initial margin, on the combined exposure: unless the order opens
 *   nothing beyond the position and the account's resting orders on its
 *   side, the account's cross-margin health with the position replaced by
 *   each worst case (the position, then all resting orders of one side, then
 *   on the order's side the order itself, each filled at its limit price, or
 *   along the planned walk for a market order, but never at a better price
 *   than the mark; funding settled; the larger fee paid) must meet the
 *   initial requirement. O(the account's assets and positions), plus the
 *   planned walk of a market order: the resting orders are read as totals.
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
import { restingPerpOrdersOf, type RestingPerpOrders } from './resting-perp-orders.js';

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
  // A trigger order is checked when it fires (trigger-orders.ts), against the state of that moment. A
  // reduce-only order, cut to the position, opens nothing and is expired before it could: it is never refused here.
  if (order.triggerPriceTicks === undefined && !order.reduceOnly) {
    const refusal = perpOrderRefusal(state, account, order, recorder.timeMs);
    if (refusal !== undefined) return refusal;
  }
  return placeOrder(state, recorder, signer, order, attached);
}

/**
 * A reduce-only order as it may execute: refused unless it faces a position
 * on the other side, its quantity cut to the position's (a GTC limit order
 * may then rest, docs/perps.md section 4a).
 */
function reduceOnlyOrder(account: Account, params: ResolvedOrder): ResolvedOrder | Rejection {
  if (params.triggerPriceTicks !== undefined || params.takeProfit !== undefined || params.stopLoss !== undefined)
    return reject('INVALID_ORDER', 'A reduce-only order cannot be a trigger order or carry one.', 'reduceOnlyTrigger');
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
  const before = account.positions.get(market.index)?.quantityUnits ?? 0n;
  // What the order may open: the whole new side after a flip, else the growth of the position.
  const openingUnits = openedUnits(before, before + deltaUnits);
  const limit = perp.parameters.openInterestLimitUnits;
  if (limit > 0n && openingUnits > 0n && perp.openInterestUnits + openingUnits > limit) {
    const message = `Open interest ${perp.openInterestUnits} + ${openingUnits} units would exceed the limit ${limit}.`;
    return reject('INVALID_ORDER', message, 'openInterestLimit');
  }
  return marginRefusal(state, account, params, deltaUnits, quoteUnits, timeMs);
}

/**
 * The initial margin on the combined exposure (docs/perps.md, section 4a,
 * step 4): the order's side's worst case (the position, then the account's
 * resting orders on that side, then the order) and, if the account rests
 * orders on the other side, that side's worst case (the position, then those
 * orders); the order is refused if either falls below the initial
 * requirement, i.e. whichever needs more margin. An order that opens nothing
 * beyond its side's worst case before it is never refused.
 */
function marginRefusal(
  state: ExchangeState,
  account: Account,
  params: OrderParameters,
  deltaUnits: bigint,
  quoteUnits: bigint,
  timeMs: number,
): Rejection | undefined {
  const market = params.market;
  const resting = restingPerpOrdersOf(account, market);
  const isBid = params.side === 'Bid';
  const sameSide = restingFill(market, resting, isBid);
  const otherSide = restingFill(market, resting, !isBid);
  const before = (account.positions.get(market.index)?.quantityUnits ?? 0n) + sameSide.deltaUnits;
  // An order that only reduces its side's worst case lowers the requirement: it is never refused for margin.
  if (openedUnits(before, before + deltaUnits) === 0n) return undefined;
  const fills = [sameSide, { deltaUnits, quoteUnits }];
  const refusal = worstCaseRefusal(state, account, market, fills, timeMs);
  if (refusal !== undefined || otherSide.deltaUnits === 0n) return refusal;
  return worstCaseRefusal(state, account, market, [otherSide], timeMs);
}

interface HypotheticalFill {
  readonly deltaUnits: bigint;
  readonly quoteUnits: bigint;
}

/** One side's resting orders (not reduce-only) filled in full at their limits: signed base units and notional. */
function restingFill(market: Market, resting: RestingPerpOrders, bids: boolean): HypotheticalFill {
  return bids
    ? { deltaUnits: resting.bidSteps * market.stepUnits, quoteUnits: resting.bidQuoteUnits }
    : { deltaUnits: -resting.askSteps * market.stepUnits, quoteUnits: resting.askQuoteUnits };
}

/** What a move of a position from `before` to `after` opens: all of `after` on a flip, else the growth. */
function openedUnits(before: bigint, after: bigint): bigint {
  if (before !== 0n && after !== 0n && before > 0n !== after > 0n) return magnitude(after);
  return magnitude(after) > magnitude(before) ? magnitude(after) - magnitude(before) : 0n;
}

/**
 * The account's health with its position on `market` changed in place (a
 * new one while it has none) by settling its pending funding and applying
 * `fills` in turn (each at the worse of its notional and the mark), the
 * USDC change (realised PnL less funding less the larger fee on all the
 * fills' notional) applied: a rejection if net equity falls below the
 * initial requirement. The position is put back field by field afterwards
 * (no copy swapped into the account's map: this runs for most orders).
 */
function worstCaseRefusal(
  state: ExchangeState,
  account: Account,
  market: Market,
  fills: readonly HypotheticalFill[],
  timeMs: number,
): Rejection | undefined {
  const perp = market.perp as PerpMarketState;
  const current = account.positions.get(market.index);
  const hypothetical: Position = current ?? newPosition(perp.funding.cumulativeFundingIndex);
  const saved = savedFields(hypothetical);
  const base = market.base.decimals;
  const decimals = market.quote.decimals;
  const funding =
    current === undefined ? 0n : settleFunding(hypothetical, perp.funding.cumulativeFundingIndex, base, decimals);
  let realised = 0n;
  let notional = 0n;
  for (const fill of fills) {
    if (fill.deltaUnits === 0n) continue;
    realised += applyFill(
      hypothetical,
      fill.deltaUnits,
      pricedAgainstAccount(market, fill.deltaUnits, fill.quoteUnits),
    );
    notional += fill.quoteUnits;
  }
  const feeBasisPoints =
    market.takerFeeBasisPoints > market.makerFeeBasisPoints ? market.takerFeeBasisPoints : market.makerFeeBasisPoints;
  const usdcChange = realised - funding - ceilingFee(notional, feeBasisPoints);
  const adjustments = usdcAdjustments(account, market.quote, usdcChange, timeMs);
  let health: AccountHealth;
  if (current !== undefined && hypothetical.quantityUnits !== 0n) {
    // The common case: the position stays in the map, changed, and is restored after the pass.
    try {
      health = accountHealth(state, account, timeMs, adjustments);
    } finally {
      restoreFields(hypothetical, saved);
    }
  } else {
    health = withPosition(account, market, hypothetical, () => accountHealth(state, account, timeMs, adjustments));
    if (current !== undefined) restoreFields(current, saved);
  }
  if (health.netEquity >= health.initialRequirement) return undefined;
  const message = `Net equity ${health.netEquity} would be below the initial requirement ${health.initialRequirement}.`;
  return reject('INSUFFICIENT_MARGIN', message, 'order');
}

/** The fields worstCaseRefusal changes (realisedAtMs it never touches). */
type SavedFields = readonly [bigint, bigint, bigint, bigint, bigint];

function savedFields(position: Position): SavedFields {
  return [
    position.quantityUnits,
    position.costBasisUnits,
    position.realisedPnlUnits,
    position.cumulativeFundingUnits,
    position.fundingIndexAtSettlement,
  ];
}

function restoreFields(position: Position, saved: SavedFields): void {
  position.quantityUnits = saved[0];
  position.costBasisUnits = saved[1];
  position.realisedPnlUnits = saved[2];
  position.cumulativeFundingUnits = saved[3];
  position.fundingIndexAtSettlement = saved[4];
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
 * Runs `measure` with the account's position on `market` replaced by `position` (removed while it is flat),
 * then puts the real one back: for a position that opens or closes, the rare cases.
 */
function withPosition<T>(account: Account, market: Market, position: Position, measure: () => T): T {
  const real = account.positions.get(market.index);
  if (position.quantityUnits === 0n) account.positions.delete(market.index);
  else account.positions.set(market.index, position);
  try {
    return measure();
  } finally {
    if (real === undefined) account.positions.delete(market.index);
    else account.positions.set(market.index, real);
  }
}
