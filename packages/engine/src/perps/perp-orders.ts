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
import { debtUnits, healthWithout, heldUnits, type InitialMarginHealth, initialTermsAt } from '../health.js';
import { maximum, minimum } from '../margin-fixed-point.js';
import { type AttachedViews, PlannedWalk, placeOrder, type OrderParameters } from '../matching.js';
import { wouldNotFill } from '../order-admission.js';
import { type ResolvedOrder, withQuantitySteps } from '../order-request.js';
import { isRejection, reject, type Rejection } from '../result-codes.js';
import { ceilingFee } from '../spot-settlement.js';
import type { Account, ExchangeState, Market } from '../state.js';
import { addQuantityTerms, emptySums, type PositionsHealthSums } from './perp-health.js';
import type { PerpHolding } from './perp-holding.js';
import type { PerpMarketState } from './perp-market.js';
import { filled, fillOutcome, pendingFundingUnits, settlementUnitsTowardPositive } from './position.js';

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
  // The planned walk is shared with admission (placeOrder), so the book is walked at most once.
  const walk = new PlannedWalk(order, account);
  // An order that cannot rest and would execute nothing creates no exposure: it skips the open interest and
  // margin checks, and the spot checks refuse it (ORDER_WOULD_NOT_FILL, docs/perps.md section 4a).
  if (order.triggerPriceTicks === undefined && !order.reduceOnly && !wouldNotFill(order, walk)) {
    const refusal = perpOrderRefusal(state, account, order, recorder.timeMs, walk);
    if (refusal !== undefined) return refusal;
  }
  return placeOrder(state, recorder, signer, order, attached, walk);
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
  return params.quantitySteps <= sizeSteps ? params : withQuantitySteps(params, sizeSteps);
}

/**
 * The open interest limit and the initial margin of a (non-trigger) order
 * on a perpetual, or a trigger order firing. Undefined when it may go on.
 * `walk`: the order's planned walk, if its caller made one.
 */
export function perpOrderRefusal(
  state: ExchangeState,
  account: Account,
  params: OrderParameters,
  timeMs: number,
  walk?: PlannedWalk,
): Rejection | undefined {
  const market = params.market;
  const perp = market.perp as PerpMarketState;
  // The steps and USDC notional of the order filled as far as it can: in full at its limit, or along the walk. Two
  // locals, not an object: a limit order's literal and the walk's plan have different hidden classes.
  let steps: bigint;
  let quoteUnits: bigint;
  if (params.orderType === 'Limit') {
    steps = params.quantitySteps;
    quoteUnits = steps * params.priceTicks * market.quoteUnitsPerStepTick;
  } else {
    const plan = (walk ?? new PlannedWalk(params, account)).get();
    steps = plan.steps;
    quoteUnits = plan.quoteUnits;
  }
  // Nothing can fill now (a market order on an empty side): the spot checks refuse it, or it rests, opening nothing.
  if (steps === 0n) return undefined;
  const deltaUnits = params.side === 'Bid' ? steps * market.stepUnits : -steps * market.stepUnits;
  // The account's holding on the market: its position and its resting orders' totals in one object.
  const holding = account.perpHoldings[market.index];
  const before = holding?.open === true ? holding.quantityUnits : 0n;
  // What the order may open: the whole new side after a flip, else the growth of the position.
  const openingUnits = openedUnits(before, before + deltaUnits);
  const limit = perp.parameters.openInterestLimitUnits;
  if (limit > 0n && openingUnits > 0n && perp.openInterestUnits + openingUnits > limit) {
    const message = `Open interest ${perp.openInterestUnits} + ${openingUnits} units would exceed the limit ${limit}.`;
    return reject('INVALID_ORDER', message, 'openInterestLimit');
  }
  return marginRefusal(state, account, holding, params, deltaUnits, quoteUnits, timeMs);
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
  holding: PerpHolding | undefined,
  params: OrderParameters,
  deltaUnits: bigint,
  quoteUnits: bigint,
  timeMs: number,
): Rejection | undefined {
  const market = params.market;
  const isBid = params.side === 'Bid';
  // Each side's resting orders (not reduce-only) filled in full at their limits: signed base units and notional.
  const bidUnits = holding === undefined ? 0n : holding.bidSteps * market.stepUnits;
  const askUnits = holding === undefined ? 0n : -holding.askSteps * market.stepUnits;
  const bidQuoteUnits = holding === undefined ? 0n : holding.bidQuoteUnits;
  const askQuoteUnits = holding === undefined ? 0n : holding.askQuoteUnits;
  const before = (holding?.open === true ? holding.quantityUnits : 0n) + (isBid ? bidUnits : askUnits);
  // An order that only reduces its side's worst case lowers the requirement: it is never refused for margin.
  if (openedUnits(before, before + deltaUnits) === 0n) return undefined;
  // One health pass over the account's other balances and positions serves both worst cases.
  const base = healthBesides(state, account, market, holding, timeMs);
  const refusal = isBid
    ? worstCaseRefusal(base, bidUnits, bidQuoteUnits, deltaUnits, quoteUnits)
    : worstCaseRefusal(base, askUnits, askQuoteUnits, deltaUnits, quoteUnits);
  if (refusal !== undefined) return refusal;
  const otherUnits = isBid ? askUnits : bidUnits;
  if (otherUnits === 0n) return undefined;
  return worstCaseRefusal(base, otherUnits, isBid ? askQuoteUnits : bidQuoteUnits, 0n, 0n);
}

/** What a move of a position from `before` to `after` opens: all of `after` on a flip, else the growth. */
function openedUnits(before: bigint, after: bigint): bigint {
  if (before !== 0n && after !== 0n && before > 0n !== after > 0n) return magnitude(after);
  // On one side (or from or to zero): the growth of the magnitude, compared and subtracted without negating either.
  if (after >= 0n && before >= 0n) return after > before ? after - before : 0n;
  return after < before ? before - after : 0n;
}

/**
 * What each worst case of an order leaves as it is: the account's health
 * without USDC's own terms and without its position on the market (one pass,
 * health.ts healthWithout), and the USDC it holds and owes. An order's fills
 * move nothing else, so each worst case adds the terms of USDC's new
 * quantities and of the changed position to these sums: exactly the sums of
 * a whole pass of the account with the position and USDC changed, and
 * neither's current terms are computed at all.
 */
interface HealthBesides {
  state: ExchangeState;
  account: Account;
  market: Market;
  health: InitialMarginHealth;
  /**
   * The account's position on the market as the worst cases start from it: its quantity and cost basis (zeros:
   * none) and its funding not yet settled (USDC units, positive: the account pays), which each worst case settles.
   */
  quantityUnits: bigint;
  costBasisUnits: bigint;
  fundingUnits: bigint;
  usdcHeldUnits: bigint;
  usdcDebtUnits: bigint;
}

function healthBesides(
  state: ExchangeState,
  account: Account,
  market: Market,
  holding: PerpHolding | undefined,
  timeMs: number,
): HealthBesides {
  const usdc = market.quote;
  // The holding keeps the account's USDC balance once a fill or a realisation has moved it (the same object, never
  // replaced: perp-holding.ts): read from the object just read, not through the account's list of balances.
  const balance = holding?.settlementBalance ?? account.balances[usdc.index];
  // One object overwritten by every margin check (its worst cases read it at once; nothing runs in between).
  const base = scratchBesides;
  base.state = state;
  base.account = account;
  base.market = market;
  base.health = healthWithout(state, account, timeMs, usdc, market.index);
  if (holding === undefined || !holding.open) {
    // A new position: nothing held, no cost, its funding index the market's (nothing pending).
    base.quantityUnits = 0n;
    base.costBasisUnits = 0n;
    base.fundingUnits = 0n;
  } else {
    // The open holding is the position (perp-holding.ts).
    base.quantityUnits = holding.quantityUnits;
    base.costBasisUnits = holding.costBasisUnits;
    const fundingIndex = (market.perp as PerpMarketState).funding.cumulativeFundingIndex;
    base.fundingUnits = pendingFundingUnits(holding, fundingIndex, market.base.decimals, market.quote.decimals);
  }
  base.usdcHeldUnits = heldUnits(balance, timeMs);
  base.usdcDebtUnits = debtUnits(balance, timeMs);
  return base;
}

/**
 * The account's health with its position on the market replaced by the
 * hypothetical one (its pending funding settled, then the first fill and the
 * second applied, each at the worse of its notional and the mark; a fill of
 * no units is none) and the USDC change (realised PnL less funding less the
 * larger fee on all the fills' notional) applied: a rejection if net equity
 * falls below the initial requirement. The sums of `base` plus USDC's terms
 * at its new quantities plus the hypothetical position's terms (none while it
 * is flat): see HealthBesides. The hypothetical position is kept as values
 * only: its terms read its quantity and cost basis (its funding is settled, so
 * nothing is pending), and fillOutcome is applyFill's own arithmetic, so it is
 * exactly the position a copy given the same fills would hold.
 */
function worstCaseRefusal(
  base: HealthBesides,
  firstUnits: bigint,
  firstQuoteUnits: bigint,
  secondUnits: bigint,
  secondQuoteUnits: bigint,
): Rejection | undefined {
  const market = base.market;
  let quantityUnits = base.quantityUnits;
  let costBasisUnits = base.costBasisUnits;
  let realised = 0n;
  let notional = 0n;
  if (firstUnits !== 0n) {
    realised = fillOutcome(
      quantityUnits,
      costBasisUnits,
      firstUnits,
      pricedAgainstAccount(market, firstUnits, firstQuoteUnits),
    );
    quantityUnits = filled.quantityUnits;
    costBasisUnits = filled.costBasisUnits;
    notional = firstQuoteUnits;
  }
  if (secondUnits !== 0n) {
    const priced = pricedAgainstAccount(market, secondUnits, secondQuoteUnits);
    realised += fillOutcome(quantityUnits, costBasisUnits, secondUnits, priced);
    quantityUnits = filled.quantityUnits;
    costBasisUnits = filled.costBasisUnits;
    notional += secondQuoteUnits;
  }
  const feeBasisPoints =
    market.takerFeeBasisPoints > market.makerFeeBasisPoints ? market.takerFeeBasisPoints : market.makerFeeBasisPoints;
  const usdcChange = realised - base.fundingUnits - ceilingFee(notional, feeBasisPoints);
  // A gain adds to the USDC held; a loss beyond what is held becomes a borrow, as settlement makes it (perp-cash.ts).
  let held = base.usdcHeldUnits;
  let debt = base.usdcDebtUnits;
  if (usdcChange >= 0n) held += usdcChange;
  else {
    const fromHeld = minimum(held, -usdcChange);
    held -= fromHeld;
    debt += -usdcChange - fromHeld;
  }
  const usdc = initialTermsAt(base.state, base.account, market.quote, held, debt);
  const sums = hypotheticalSums;
  sums.gainUnits = 0n;
  sums.lossUnits = 0n;
  sums.initialRequirement = 0n;
  // A flat position is removed from the account: it has no terms.
  if (quantityUnits !== 0n) addQuantityTerms(sums, market, quantityUnits, costBasisUnits, 0n, false);
  const health = base.health;
  const netEquity = health.netEquity + (usdc.collateral - usdc.liability) + (sums.gainUnits - sums.lossUnits);
  const initialRequirement = health.initialRequirement + usdc.initial + sums.initialRequirement;
  if (netEquity >= initialRequirement) return undefined;
  const message = `Net equity ${netEquity} would be below the initial requirement ${initialRequirement}.`;
  return reject('INSUFFICIENT_MARGIN', message, 'order');
}

// healthBesides' answer, overwritten by every margin check and filled before any read (the casts stand for "not
// yet set"). It keeps the last checked state and account reachable until the next check: one, nothing accumulates.
const scratchBesides: HealthBesides = {
  state: undefined as unknown as ExchangeState,
  account: undefined as unknown as Account,
  market: undefined as unknown as Market,
  health: undefined as unknown as InitialMarginHealth,
  quantityUnits: 0n,
  costBasisUnits: 0n,
  fundingUnits: 0n,
  usdcHeldUnits: 0n,
  usdcDebtUnits: 0n,
};
// The hypothetical position's sums of worstCaseRefusal: one, overwritten by every worst case (nothing keeps it).
const hypotheticalSums: PositionsHealthSums = emptySums();

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
