/**
 * The perpetuals reference model's own order book (docs/perps.md section 4a
 * and docs/matching.md section 4), done the slow way: the next maker is found
 * by filtering and sorting the open orders each time. It admits an order
 * (reduce-only rules and cut, the initial margin on the combined exposure,
 * would-not-fill), walks it (a resting reduce-only maker offers at most its
 * account's position as the walk has left it), settles the fills through the
 * model (reference-perps.ts) and conforms resting reduce-only orders after
 * the walk (expired when the position closed or flipped, cut to its size).
 * The spot reference book (reference-book.ts) moves reservations, which a
 * perpetual has none of, so the walk is written again here without them.
 * The orders the seeded test sends: limit (GTC, IOC) and market orders sized
 * by quantity, under the default self-trade prevention (`RejectTaker`).
 */
import type { Side } from '../src/instruction.js';
import type { ModelTrade } from './reference-state.js';
import { ceilDiv, floorDiv, magnitude, modelHealth, pendingFunding } from './reference-perps-health.js';
import {
  applyFillRule,
  emptyPosition,
  type ModelPerpMarket,
  type ModelPosition,
  type PerpReferenceModel,
} from './reference-perps.js';

export interface ModelPerpOrder {
  readonly orderId: number;
  readonly account: string;
  readonly symbol: string;
  readonly side: Side;
  readonly priceTicks: bigint;
  remainingSteps: bigint;
  readonly reduceOnly: boolean;
}

export interface ModelOrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: 'Limit' | 'Market';
  /** Zero for a market order. */
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly timeInForce: 'GTC' | 'IOC' | 'FOK';
  readonly reduceOnly: boolean;
}

/** A fill as the spot reference model reports a trade, without the trade id and fees (section 4 computes those). */
export type ModelPerpTrade = Omit<ModelTrade, 'tradeId' | 'makerFeeUnits' | 'takerFeeUnits'>;

export type ModelAdmission =
  | { readonly accepted: false; readonly code: string; readonly reason?: string }
  | { readonly accepted: true; readonly order: ModelOrderRequest };

/** USDC units per step of base per tick of price. */
export function quotePerStepTick(market: ModelPerpMarket): bigint {
  return (market.tickQuoteUnits * market.stepBaseUnits) / 10n ** BigInt(market.baseDecimals);
}

interface WalkResult {
  readonly fills: Array<{ readonly maker: ModelPerpOrder; readonly steps: bigint }>;
  readonly stop: 'done' | 'noMaker' | 'makerLimit' | 'selfTrade';
  /** Accounts in the order their positions first moved. */
  readonly moved: string[];
}

/**
 * The price-time walk of a taker over `book` (orders changed in place: pass
 * copies to plan). A reduce-only maker offers at most its account's position
 * on the other side as the walk has left it; offering nothing, it is passed
 * over (met all the same).
 */
function walkBook(
  model: PerpReferenceModel,
  market: ModelPerpMarket,
  book: ModelPerpOrder[],
  taker: { readonly account: string; readonly side: Side; readonly priceTicks: bigint; steps: bigint },
): WalkResult {
  const fills: WalkResult['fills'] = [];
  const moved: string[] = [];
  const quantities = new Map<string, bigint>();
  const quantityOf = (account: string): bigint =>
    quantities.get(account) ?? model.positions.get(account)?.get(market.symbol)?.quantityUnits ?? 0n;
  const move = (account: string, delta: bigint): void => {
    if (!moved.includes(account)) moved.push(account);
    quantities.set(account, quantityOf(account) + delta);
  };
  const passedOver = new Set<ModelPerpOrder>();
  let makersMet = 0;
  for (;;) {
    if (taker.steps === 0n) return { fills, stop: 'done', moved };
    const maker = nextMaker(book, market.symbol, taker, passedOver);
    if (maker === undefined) return { fills, stop: 'noMaker', moved };
    if (makersMet === market.maxMakersPerOrder) return { fills, stop: 'makerLimit', moved };
    makersMet += 1;
    if (maker.account === taker.account) return { fills, stop: 'selfTrade', moved };
    let offer = maker.remainingSteps;
    if (maker.reduceOnly) {
      const position = quantityOf(maker.account);
      const faces = maker.side === 'Bid' ? position < 0n : position > 0n;
      const size = faces ? magnitude(position) / market.stepBaseUnits : 0n;
      if (size < offer) {
        offer = size;
        if (book === model.orders) model.meet('reduce-only maker capped');
      }
      if (offer === 0n) {
        passedOver.add(maker);
        continue;
      }
    }
    const steps = taker.steps < offer ? taker.steps : offer;
    const takerDelta = (taker.side === 'Bid' ? 1n : -1n) * steps * market.stepBaseUnits;
    move(maker.account, -takerDelta);
    move(taker.account, takerDelta);
    fills.push({ maker, steps });
    maker.remainingSteps -= steps;
    taker.steps -= steps;
    if (maker.remainingSteps === 0n) book.splice(book.indexOf(maker), 1);
  }
}

function nextMaker(
  book: readonly ModelPerpOrder[],
  symbol: string,
  taker: { readonly side: Side; readonly priceTicks: bigint },
  passedOver: ReadonlySet<ModelPerpOrder>,
): ModelPerpOrder | undefined {
  const bid = taker.side === 'Bid';
  const candidates = book.filter(
    (order) =>
      order.symbol === symbol &&
      order.side !== taker.side &&
      !passedOver.has(order) &&
      (taker.priceTicks === 0n || (bid ? order.priceTicks <= taker.priceTicks : order.priceTicks >= taker.priceTicks)),
  );
  candidates.sort((left, right) => {
    if (left.priceTicks !== right.priceTicks)
      return (bid ? left.priceTicks < right.priceTicks : left.priceTicks > right.priceTicks) ? -1 : 1;
    return left.orderId - right.orderId;
  });
  return candidates[0];
}

/** The planned walk (docs/matching.md 4.5): steps and USDC notional, changing nothing. */
export function plannedWalk(
  model: PerpReferenceModel,
  market: ModelPerpMarket,
  account: string,
  order: ModelOrderRequest,
): { readonly steps: bigint; readonly quoteUnits: bigint } {
  const book = model.orders.map((resting) => ({ ...resting }));
  const taker = { account, side: order.side, priceTicks: order.priceTicks, steps: order.quantitySteps };
  const { fills } = walkBook(model, market, book, taker);
  let steps = 0n;
  let quoteUnits = 0n;
  for (const fill of fills) {
    steps += fill.steps;
    quoteUnits += fill.steps * fill.maker.priceTicks * quotePerStepTick(market);
  }
  return { steps, quoteUnits };
}

/** What a move of a position from `before` to `after` opens (section 4a, step 2). */
export function openedUnits(before: bigint, after: bigint): bigint {
  if (before !== 0n && after !== 0n && before > 0n !== after > 0n) return magnitude(after);
  return magnitude(after) > magnitude(before) ? magnitude(after) - magnitude(before) : 0n;
}

/**
 * Admission of an order on a perpetual (section 4a, matching.md's
 * would-not-fill before the margin check): a rejection, or the order as it may execute (a
 * reduce-only order cut to the position).
 */
export function admitPerpOrder(model: PerpReferenceModel, account: string, request: ModelOrderRequest): ModelAdmission {
  const market = model.markets.get(request.symbol)!;
  let order = request;
  if (order.reduceOnly) {
    const quantity = model.positions.get(account)?.get(market.symbol)?.quantityUnits ?? 0n;
    const reduces = order.side === 'Bid' ? quantity < 0n : quantity > 0n;
    const size = magnitude(quantity) / market.stepBaseUnits;
    if (!reduces || size === 0n) return { accepted: false, code: 'INVALID_ORDER', reason: 'reduceOnlyNotReduced' };
    if (order.quantitySteps > size) order = { ...order, quantitySteps: size };
  }
  const planned =
    order.orderType === 'Market' || order.timeInForce !== 'GTC'
      ? plannedWalk(model, market, account, order)
      : undefined;
  const size =
    order.orderType === 'Limit'
      ? { steps: order.quantitySteps, quoteUnits: order.quantitySteps * order.priceTicks * quotePerStepTick(market) }
      : planned!;
  const refusedForMargin = (): boolean =>
    !order.reduceOnly &&
    size.steps > 0n &&
    marginRefused(model, account, market, order.side, size.steps, size.quoteUnits);
  // An order that cannot rest and would execute nothing (a fill-or-kill order: less than its whole quantity) opens
  // nothing: it is refused before the margin check, which it may fail as well.
  const wouldNotFill =
    planned !== undefined && (order.timeInForce === 'FOK' ? planned.steps < order.quantitySteps : planned.steps === 0n);
  if (wouldNotFill) {
    if (refusedForMargin()) model.meet('unfillable order refused before margin');
    return { accepted: false, code: 'ORDER_WOULD_NOT_FILL' };
  }
  if (refusedForMargin()) return { accepted: false, code: 'INSUFFICIENT_MARGIN', reason: 'order' };
  return { accepted: true, order };
}

interface HypotheticalFill {
  readonly deltaUnits: bigint;
  readonly quoteUnits: bigint;
}

/** Section 4a, step 4: the order's side's worst case, then (if it rests any) the other side's. */
function marginRefused(
  model: PerpReferenceModel,
  account: string,
  market: ModelPerpMarket,
  side: Side,
  steps: bigint,
  quoteUnits: bigint,
): boolean {
  const restingSide = (which: Side): HypotheticalFill => {
    let restingSteps = 0n;
    let restingQuote = 0n;
    for (const order of model.orders) {
      if (order.account !== account || order.symbol !== market.symbol || order.side !== which || order.reduceOnly)
        continue;
      restingSteps += order.remainingSteps;
      restingQuote += order.remainingSteps * order.priceTicks * quotePerStepTick(market);
    }
    const deltaUnits = (which === 'Bid' ? 1n : -1n) * restingSteps * market.stepBaseUnits;
    return { deltaUnits, quoteUnits: restingQuote };
  };
  const same = restingSide(side);
  const other = restingSide(side === 'Bid' ? 'Ask' : 'Bid');
  const deltaUnits = (side === 'Bid' ? 1n : -1n) * steps * market.stepBaseUnits;
  const worst = (model.positions.get(account)?.get(market.symbol)?.quantityUnits ?? 0n) + same.deltaUnits;
  if (openedUnits(worst, worst + deltaUnits) === 0n) return false;
  if (worstCaseFails(model, account, market, [same, { deltaUnits, quoteUnits }])) return true;
  return other.deltaUnits !== 0n && worstCaseFails(model, account, market, [other]);
}

/**
 * One hypothetical position: the position copied, its funding settled, the
 * fills applied each at the worse of its price and the mark; the USDC change
 * (realised − funding − the larger fee of the fills' notional) held, a loss
 * beyond the USDC held borrowed; refused below the initial requirement.
 */
function worstCaseFails(
  model: PerpReferenceModel,
  account: string,
  market: ModelPerpMarket,
  fills: readonly HypotheticalFill[],
): boolean {
  const current = model.positions.get(account)?.get(market.symbol);
  const copy: ModelPosition = { ...(current ?? emptyPosition(market)) };
  const funding = pendingFunding(market, copy);
  copy.cumulativeFundingUnits += funding;
  copy.fundingIndexAtSettlement = market.fundingIndex;
  let realised = 0n;
  let notional = 0n;
  for (const fill of fills) {
    if (fill.deltaUnits === 0n) continue;
    realised += applyFillRule(copy, fill.deltaUnits, worsePrice(market, fill.deltaUnits, fill.quoteUnits));
    notional += fill.quoteUnits;
  }
  const feeBps = market.takerFeeBps > market.makerFeeBps ? market.takerFeeBps : market.makerFeeBps;
  const change = realised - funding - ceilDiv(notional * feeBps, 10_000n);
  const usdc = { ...model.usdcOf(account) };
  if (change >= 0n) usdc.available += change;
  else {
    const fromHeld = usdc.available < -change ? usdc.available : -change;
    usdc.available -= fromHeld;
    usdc.borrowed += -change - fromHeld;
  }
  const position = copy.quantityUnits === 0n ? undefined : copy;
  const health = modelHealth(model, account, { symbol: market.symbol, position, usdc });
  return health.netEquity < health.initialRequirement;
}

/** The signed quote of a hypothetical fill at the worse of its notional and the mark (a buy higher, a sell lower). */
function worsePrice(market: ModelPerpMarket, deltaUnits: bigint, quoteUnits: bigint): bigint {
  if (market.markPrice === 0n) return deltaUnits > 0n ? quoteUnits : -quoteUnits;
  const exact = magnitude(deltaUnits) * market.markPrice * 10n ** BigInt(market.usdcDecimals);
  const scale = 10n ** 18n * 10n ** BigInt(market.baseDecimals);
  if (deltaUnits > 0n) {
    const atMark = ceilDiv(exact, scale);
    return atMark > quoteUnits ? atMark : quoteUnits;
  }
  const atMark = floorDiv(exact, scale);
  return -(atMark < quoteUnits ? atMark : quoteUnits);
}

/**
 * Executes an admitted order with id `orderId` at `timeMs`: walks it, settles
 * the fills (maker, then taker, each through the model), conforms the
 * reduce-only orders of the accounts whose positions moved, and rests a GTC
 * limit order's remainder. Returns the trades.
 */
export function executePerpOrder(
  model: PerpReferenceModel,
  account: string,
  order: ModelOrderRequest,
  orderId: number,
  timeMs: number,
): ModelPerpTrade[] {
  const market = model.markets.get(order.symbol)!;
  const taker = { account, side: order.side, priceTicks: order.priceTicks, steps: order.quantitySteps };
  const { fills, stop, moved } = walkBook(model, market, model.orders, taker);
  const trades = fills.map(({ maker, steps }) => {
    const quoteUnits = steps * maker.priceTicks * quotePerStepTick(market);
    // The last trade the mark reads (docs/perps-pricing.md section 2): a fill trades at the maker's price.
    market.lastPriceTicks = maker.priceTicks;
    model.settleFill(
      market,
      { takerSide: order.side, quantitySteps: steps, quoteUnits, maker: maker.account, taker: account },
      timeMs,
    );
    return {
      market: market.symbol,
      priceTicks: maker.priceTicks,
      quantitySteps: steps,
      quoteUnits,
      takerSide: order.side,
      makerOrderId: maker.orderId,
      takerOrderId: orderId,
      makerAccount: maker.account,
      takerAccount: account,
    };
  });
  conformReduceOnly(model, market, moved);
  const rests =
    order.orderType === 'Limit' && order.timeInForce === 'GTC' && stop !== 'makerLimit' && stop !== 'selfTrade';
  if (rests && taker.steps > 0n) {
    model.orders.push({
      orderId,
      account,
      symbol: market.symbol,
      side: order.side,
      priceTicks: order.priceTicks,
      remainingSteps: taker.steps,
      reduceOnly: order.reduceOnly,
    });
    model.meet(order.reduceOnly ? 'reduce-only order rests' : 'order rests');
  }
  return trades;
}

/**
 * "Resting reduce-only orders", after the walk (or any other move of
 * positions): each account's reduce-only orders on the market, in ascending
 * id, expired if they no longer face the position, cut to its size if larger.
 */
export function conformReduceOnly(
  model: PerpReferenceModel,
  market: ModelPerpMarket,
  accounts: readonly string[],
): void {
  for (const account of accounts) {
    const quantity = model.positions.get(account)?.get(market.symbol)?.quantityUnits ?? 0n;
    const size = magnitude(quantity) / market.stepBaseUnits;
    const mine = model.orders
      .filter((order) => order.account === account && order.symbol === market.symbol && order.reduceOnly)
      .sort((left, right) => left.orderId - right.orderId);
    for (const order of mine) {
      const faces = order.side === 'Bid' ? quantity < 0n : quantity > 0n;
      if (!faces || size === 0n) {
        model.orders.splice(model.orders.indexOf(order), 1);
        model.meet('reduce-only order expired');
      } else if (order.remainingSteps > size) {
        order.remainingSteps = size;
        model.meet('reduce-only order cut');
      }
    }
  }
}

/** orderCancelAll: the account's open orders on the market leave the book. */
export function cancelAllPerpOrders(model: PerpReferenceModel, account: string, symbol: string): void {
  for (let index = model.orders.length - 1; index >= 0; index -= 1) {
    const order = model.orders[index]!;
    if (order.account === account && order.symbol === symbol) model.orders.splice(index, 1);
  }
}
