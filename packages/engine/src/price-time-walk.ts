/**
 * The price-time walk (docs/matching.md, section 4.2): one walk over the
 * opposite side of the book, best price first and oldest first within a
 * price, that decides which makers a taker meets and how much it fills
 * against each. It moves nothing itself: it hands every fill, and every own
 * maker self-trade prevention cancels, to a sink.
 *
 * Two sinks exist. Settlement (spot-settlement.ts, chosen per market by
 * order-execution.ts) moves the funds, closes makers and reports events. The
 * planning sink below only sums, and is what the funds, would-not-fill and
 * minimum-value checks and margin orders use (the planned walk, section
 * 4.5). Both are driven by this one function, so what a check plans is what
 * the order then executes.
 */
import type { OrderType, SelfTradePrevention, Side } from './instruction.js';
import type { BookSide, PriceLevel } from './order-book.js';
import { ReduceOnlyWalk } from './perps/reduce-only-walk.js';
import type { Account, Market, Order } from './state.js';

/** What the walk reads of a taker: a placed Order, or the parameters of an order not yet placed. */
export interface Taker {
  readonly market: Market;
  readonly side: Side;
  readonly orderType: OrderType;
  /** Limit orders: the limit price in ticks. Market orders: ignored. */
  readonly priceTicks: bigint;
  readonly selfTradePrevention: SelfTradePrevention;
  /** Market orders sized in quote: the quote units to spend (Bid) or receive (Ask); otherwise undefined. */
  readonly quoteQuantityUnits: bigint | undefined;
}

/**
 * Why a walk stopped: the taker's quantity is filled, its quote budget is
 * spent (or too small for a step at the next maker), no acceptable maker is
 * left, self-trade prevention stopped it (RejectTaker, RejectBoth), it met
 * maxMakersPerOrder makers, or the sink asked it to stop.
 */
export type StopReason = 'filled' | 'budget' | 'book' | 'self-trade' | 'maker-limit' | 'sink';

/**
 * Where a walk's outcomes go. A settlement sink changes the state as each
 * one happens; the walk reads each maker's remaining quantity and its `next`
 * link before it calls the sink, so a sink may take the maker (and an
 * emptied best level) out of the book. Margin and perpetual settlement plug
 * in here, as further implementations.
 */
export interface FillSink {
  /** Self-trade prevention meets an own maker under RejectMaker or RejectBoth: the maker is cancelled. */
  selfTradeCancel(maker: Order): void;
  /**
   * One fill of `steps` steps against `maker`, at its level's price, worth
   * `quoteUnits` (steps × price × quoteUnitsPerStepTick). Returns whether the
   * walk may go on.
   */
  fill(maker: Order, level: PriceLevel, steps: bigint, quoteUnits: bigint): boolean;
  /** After the walk: a settlement's work that must wait until no maker is being walked (a perpetual's). */
  finish?(): void;
}

export function oppositeSide(market: Market, side: Side): BookSide {
  return side === 'Bid' ? market.asks : market.bids;
}

/** Whether a taker with this side and limit accepts a maker's price. */
export function acceptablePrice(takerSide: Side, limitTicks: bigint, makerTicks: bigint): boolean {
  return takerSide === 'Bid' ? makerTicks <= limitTicks : makerTicks >= limitTicks;
}

/**
 * Walks the side opposite `taker` for `account`, wanting `quantitySteps`
 * (ignored when the taker is sized by quote quantity), and returns why it
 * stopped. Levels are visited from the best (the end of the array) down by
 * index: a settlement sink only ever removes the level being walked, which is
 * then the last, so the index of the next one stays valid either way.
 */
export function walkBook(taker: Taker, account: Account, quantitySteps: bigint, sink: FillSink): StopReason {
  const market = taker.market;
  const levels = oppositeSide(market, taker.side).levels;
  const isLimit = taker.orderType === 'Limit';
  const budget = taker.quoteQuantityUnits;
  const byQuote = budget !== undefined;
  const makerLimit = market.maxMakersPerOrder;
  const selfTrade = taker.selfTradePrevention;
  let stepsLeft = quantitySteps;
  let quoteLeft = budget ?? 0n;
  let makersMet = 0;
  // A perpetual's reduce-only makers offer at most their positions (docs/perps.md, section 4a): the tracker is made
  // at the first maker met, so a walk that meets none (an order that rests without crossing) allocates nothing.
  const isPerpetual = market.perp !== undefined;
  let reduceOnly: ReduceOnlyWalk | undefined;
  if (byQuote ? quoteLeft === 0n : stepsLeft === 0n) return byQuote ? 'budget' : 'filled';
  for (let index = levels.length - 1; index >= 0; index -= 1) {
    const level = levels[index]!;
    if (isLimit && !acceptablePrice(taker.side, taker.priceTicks, level.priceTicks)) return 'book';
    const stepCost = level.priceTicks * market.quoteUnitsPerStepTick;
    let next: Order | undefined;
    for (let maker = level.head; maker !== undefined; maker = next) {
      next = maker.next;
      // The work one order does is bounded: the rest of it expires (section 4.6).
      if (makersMet === makerLimit) return 'maker-limit';
      makersMet += 1;
      if (isPerpetual) reduceOnly ??= new ReduceOnlyWalk(market, account, taker.side);
      if (maker.account === account && selfTrade !== 'Allow') {
        if (selfTrade !== 'RejectTaker') sink.selfTradeCancel(maker);
        if (selfTrade === 'RejectMaker') continue;
        return 'self-trade';
      }
      const makerSteps = reduceOnly === undefined ? maker.remainingSteps : reduceOnly.offeredSteps(maker);
      // A reduce-only maker whose position this walk closed or flipped offers nothing: expired after the walk.
      if (makerSteps === 0n) continue;
      let steps = makerSteps;
      if (byQuote) {
        const affordable = quoteLeft / stepCost;
        if (affordable < steps) steps = affordable;
        if (steps === 0n) return 'budget';
      } else if (stepsLeft < steps) {
        steps = stepsLeft;
      }
      const quoteUnits = steps * stepCost;
      if (byQuote) quoteLeft -= quoteUnits;
      else stepsLeft -= steps;
      reduceOnly?.filled(maker, steps);
      if (!sink.fill(maker, level, steps, quoteUnits)) return 'sink';
      // A spent budget ends the walk before it looks for (or cancels) another maker.
      if (byQuote ? quoteLeft === 0n : stepsLeft === 0n) return byQuote ? 'budget' : 'filled';
      // A maker left with a remainder: only a budget too small for its next
      // step does that. The walk meets that maker again, which counts against
      // the maker limit, and stops there for budget.
      if (steps < makerSteps) return makersMet === makerLimit ? 'maker-limit' : 'budget';
    }
  }
  return 'book';
}

/** The totals of a planned walk. */
export interface FillPlan {
  readonly steps: bigint;
  readonly quoteUnits: bigint;
}

/** The planning sink: sums the fills and changes nothing; own makers it would cancel are only skipped. */
export class FillPlanner implements FillSink, FillPlan {
  steps = 0n;
  quoteUnits = 0n;
  constructor(
    /** Stop at the first fill: all the would-not-fill check needs. */
    private readonly untilFirstFill: boolean,
  ) {}

  selfTradeCancel(): void {}

  fill(_maker: Order, _level: PriceLevel, steps: bigint, quoteUnits: bigint): boolean {
    this.steps += steps;
    this.quoteUnits += quoteUnits;
    return !this.untilFirstFill;
  }
}

/** What an order not yet placed would fill now: the walk with the planning sink. */
export function plannedFill(taker: Taker & { readonly quantitySteps: bigint }, account: Account): FillPlan {
  return planFill(taker, account, false);
}

function planFill(taker: Taker & { readonly quantitySteps: bigint }, account: Account, untilFirstFill: boolean) {
  const planner = new FillPlanner(untilFirstFill);
  walkBook(taker, account, taker.quantitySteps, planner);
  return planner;
}

/**
 * The planned walk of one order, computed at most once and only if a check
 * needs it. A small object rather than a closure: this runs for every order,
 * and a closure per call costs an allocation and, under tsx, a naming call.
 */
export class PlannedWalk {
  private plan: FillPlan | undefined;
  /** Whether the walk fills anything, once a check has asked (a perpetual's order asks before admission does). */
  private fills: boolean | undefined;
  constructor(
    private readonly taker: Taker & { readonly quantitySteps: bigint },
    private readonly account: Account,
  ) {}

  get(): FillPlan {
    return (this.plan ??= planFill(this.taker, this.account, false));
  }

  /** Whether the walk would fill at all: the same walk, stopped at its first fill unless planned whole already. */
  fillsAnything(): boolean {
    if (this.plan !== undefined) return this.plan.steps > 0n;
    return (this.fills ??= planFill(this.taker, this.account, true).steps > 0n);
  }
}
