/**
 * The naive perpetuals reference model, written from docs/perps.md
 * (sections 4, 5, 5a, 5b) and NOT from the engine's perps code: one-way
 * positions (open, add, reduce, flip), funding settled lazily through the
 * cumulative funding index, realisation at the mark into USDC, fees, and the
 * USDC cash rule (a loss beyond the available USDC becomes a USDC borrow).
 *
 * Its own order book (reference-perps-book.ts) admits orders (reduce-only
 * rules, the initial margin on the combined exposure, with its own health:
 * reference-perps-health.ts) and computes the fills and order ids, which the
 * test compares with the engine's; its liquidation step is
 * reference-perps-liquidation.ts. Each perpetual's mark price and
 * cumulative funding index are its own too: docs/perps.md section 2 runs the
 * clock of docs/perps-pricing.md (perps-pricing-reference.ts, the naive
 * reference of that document) before and after each entry, from the model's
 * own book (impact prices, mid), its last trade, the index price posted in
 * the log and the log time; the `perpFunding` and `perpMarkPrice` events it
 * expects are compared with the engine's, and a difference throws, naming
 * the entry, the market and both lists. What it takes from the log: the
 * log times and the posted index prices (and which entries were accepted).
 * Everything else it computes itself, in plain maps. It assumes what its
 * test arranges: traders never lend USDC, and the USDC pool's borrow rate
 * is zero (so borrowed units are exact) with cash enough for every loss (the coverage pool is never reached).
 */
import { isDeepStrictEqual } from 'node:util';
import type { EngineEvent } from '../src/events.js';
import type { Position } from '../src/perps/position.js';
import type { PerpFundingParameters, PerpFundingState } from '../src/perps/funding.js';
import {
  type ReferenceEvent,
  type ReferenceMarket,
  referenceAdvance,
  referenceEventOf,
  referenceNewState,
  referenceObserve,
} from './perps-pricing-reference.js';
import type { ModelPerpOrder } from './reference-perps-book.js';

const wad = 10n ** 18n;

/** ⌈a / b⌉ toward +∞ for any sign of a, b > 0. */
function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator > 0n ? quotient + 1n : quotient;
}

/** ⌊a / b⌋ toward −∞ for any sign of a, b > 0. */
function floorDiv(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator < 0n ? quotient - 1n : quotient;
}

export interface ModelPerpListing {
  readonly symbol: string;
  readonly baseDecimals: number;
  readonly usdcDecimals: number;
  /** USDC units per tick of price per whole base unit, and base units per step. */
  readonly tickQuoteUnits: bigint;
  readonly stepBaseUnits: bigint;
  readonly makerFeeBps: bigint;
  readonly takerFeeBps: bigint;
  /** Initial and maintenance margin fractions, wad (the sqrt functions' bases; the test's factors are 0). */
  readonly imfBase: bigint;
  readonly mmfBase: bigint;
  readonly maxMakersPerOrder: number;
  /** The listing's price and quantity bounds, and the base asset's liquidation band (wad): section 6a. */
  readonly minPriceTicks: bigint;
  readonly maxPriceTicks: bigint;
  readonly minQuantitySteps: bigint;
  readonly maxQuantitySteps: bigint;
  readonly liquidationBand: bigint;
  /** The base asset, whose index price is the perpetual's index (docs/perps.md section 1). */
  readonly baseSymbol: string;
  /**
   * The listing's funding fields (docs/perps.md section 1): interval, rate
   * bounds in bps, mark band multipliers (wad).
   */
  readonly fundingIntervalMs: number;
  readonly fundingRateUpperBoundBps: bigint;
  readonly fundingRateLowerBoundBps: bigint;
  readonly markBandMaxMultiplier: bigint;
  readonly markBandMinMultiplier: bigint;
}

export interface ModelPerpMarket extends ModelPerpListing {
  /** The clock's parameters, derived from the listing as docs/perps.md section 2 says. */
  readonly fundingParameters: PerpFundingParameters;
  /** The clock's state (docs/perps-pricing.md section 7), advanced by perps-pricing-reference.ts. */
  readonly clock: PerpFundingState;
  /** The price of the market's last trade in ticks, 0 before its first (docs/perps-pricing.md section 2). */
  lastPriceTicks: bigint;
  /** The clock's mark and cumulative funding index, copied after each run of the clock for settlement's use. */
  markPrice: bigint;
  fundingIndex: bigint;
  /** Funding balance F (section 5): the sum of all payments settled so far. */
  fundingBalanceUnits: bigint;
}

/** A position has the engine's fields (they are compared one by one); the model fills them itself. */
export type ModelPosition = Position;

export interface ModelUsdc {
  available: bigint;
  borrowed: bigint;
}

/** The engine's events of an entry: the model compares their `perpFunding` and `perpMarkPrice` with its own. */
export type ModelPerpEvent = EngineEvent;

/** A clock event as the model computes it: perps-pricing-reference.ts's, with its market. */
export type ModelClockEvent = ReferenceEvent & { readonly marketSymbol: string };

/** One hour: the defaults below are per hour, scaled to the interval. */
const hourMs = 3_600_000n;
/** The hourly defaults of docs/perps-pricing.md section 10 (wad): interest rate, premium fraction, interest clamp. */
const hourlyInterestRate = 12_500_000_000_000n;
const hourlyPremiumFraction = 125_000_000_000_000_000n;
const hourlyInterestClamp = 62_500_000_000_000n;

/** docs/perps.md section 2: a perpetual's clock parameters from its listing. */
export function fundingParametersOf(listing: ModelPerpListing): PerpFundingParameters {
  const intervalMs = BigInt(listing.fundingIntervalMs);
  const scaled = (hourly: bigint): bigint => (hourly * intervalMs) / hourMs;
  const premiumFraction = scaled(hourlyPremiumFraction);
  const upperBand = listing.markBandMaxMultiplier - wad;
  const lowerBand = wad - listing.markBandMinMultiplier;
  return {
    fundingIntervalMs: listing.fundingIntervalMs,
    sampleIntervalMs: listing.fundingIntervalMs % 5_000 === 0 ? 5_000 : 1_000,
    interestRate: scaled(hourlyInterestRate),
    premiumFraction: premiumFraction < wad ? premiumFraction : wad,
    interestClamp: scaled(hourlyInterestClamp),
    fundingRateUpperBoundBasisPoints: listing.fundingRateUpperBoundBps,
    fundingRateLowerBoundBasisPoints: listing.fundingRateLowerBoundBps,
    markBand: upperBand < lowerBand ? upperBand : lowerBand,
    markSmoothingSamples: 30n,
    impactNotionalUnits: 6_000n * 10n ** BigInt(listing.usdcDecimals),
  };
}

/** An engine clock event in the model's shape (the names of perps-pricing-reference.ts). */
function modelClockEventOf(event: ModelPerpEvent): ModelClockEvent | undefined {
  if (event.type !== 'perpFunding' && event.type !== 'perpMarkPrice') return undefined;
  return { marketSymbol: event.marketSymbol, ...referenceEventOf(event) };
}

/** Clock events as text for a failure message (bigints as decimal strings). */
function describeClockEvents(events: readonly ModelClockEvent[]): string {
  return JSON.stringify(events, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/** The realisation window of section 5b. */
const realisationWindowMs = 10_000;
/** K of section 5b, rule 3: positions of each perpetual realised at the end of an accepted entry. */
const realisationsPerEntry = 8;
/** docs/perps.md section 6a: base64(SHA-256("vex coverage pool positions")), the coverage pool's account. */
export const coveragePoolAccountId = '50EmMlre09kMCW8f7sBOzzR2E3Ox7s+SqDL1C4HEel0=';

export class PerpReferenceModel {
  readonly markets = new Map<string, ModelPerpMarket>();
  /** account → market symbol → open position. */
  readonly positions = new Map<string, Map<string, ModelPosition>>();
  readonly usdc = new Map<string, ModelUsdc>();
  /** How many funding payments were settled (each rounds up by less than one unit: the dust bound). */
  settlementCount = 0;
  /** What the model met (for the test's coverage check): fill kinds, funding payments, window realisations. */
  readonly met: Record<string, number> = {};

  /** Each account's ordinal: accounts are numbered in the order they are created (here: by their first deposit). */
  private readonly ordinals = new Map<string, number>();
  /**
   * What section 5a can raise beyond an account's available USDC: the USDC
   * lending pool's cash (what the operator lent, less what traders borrow;
   * the rate is zero) plus the coverage pool's holdings (never reached here).
   */
  lendingPoolCashUnits = 0n;
  /** The USDC coverage pool's holdings: liquidation fees in, the pool's account's realisations in and out. */
  coveragePoolUnits = 0n;
  /** docs/matching.md section 4: order ids count from 1, one per accepted order (system orders included). */
  nextOrderId = 1;
  /** The perpetuals' resting orders (reference-perps-book.ts), in the order they came to rest. */
  readonly orders: ModelPerpOrder[] = [];
  /** The USDC borrow's initial and maintenance margin fractions (wad): docs/margin.md section 6. */
  usdcMargin = { imf: 0n, mmf: 0n, liquidationFee: 0n };

  /** Each base asset's index price (wad; 0 before its first), as the log's accepted `indexPriceUpdate`s posted it. */
  readonly indexPrices = new Map<string, bigint>();

  constructor(readonly feeAccount: string) {}

  /** A perpetual listed at `listedAtMs`: its clock starts as docs/perps-pricing.md section 7 says. */
  list(listing: ModelPerpListing, listedAtMs: number): void {
    const fundingParameters = fundingParametersOf(listing);
    const clock = referenceNewState(listedAtMs, fundingParameters);
    const pricing = { fundingParameters, clock, lastPriceTicks: 0n, markPrice: 0n, fundingIndex: 0n };
    this.markets.set(listing.symbol, { ...listing, ...pricing, fundingBalanceUnits: 0n });
  }

  /** An accepted `indexPriceUpdate` of `baseSymbol` (docs/margin.md section 4): the price it posted, wad. */
  setIndexPrice(baseSymbol: string, priceWad: bigint): void {
    this.indexPrices.set(baseSymbol, priceWad);
  }

  /**
   * Runs the clock of every perpetual (in listing order) at `timeMs`, as
   * docs/perps.md section 2 says: before an entry's handler always; after
   * it (`afterEntry`) only for a market with no sample boundary left at or
   * before `timeMs`. Returns the clock events, in order.
   */
  runClocks(timeMs: number, afterEntry: boolean): ModelClockEvent[] {
    const events: ModelClockEvent[] = [];
    for (const market of this.markets.values()) {
      if (afterEntry && market.clock.nextSampleAtMs <= timeMs) continue;
      const index = this.indexPrices.get(market.baseSymbol) ?? 0n;
      const observation = referenceObserve(this.pricingBookOf(market), market.fundingParameters.impactNotionalUnits);
      for (const event of referenceAdvance(market.clock, market.fundingParameters, timeMs, index, observation)) {
        events.push({ marketSymbol: market.symbol, ...event });
        this.meetClockEvent(event);
      }
      market.markPrice = market.clock.markPrice;
      market.fundingIndex = market.clock.cumulativeFundingIndex;
    }
    return events;
  }

  /** What the clocks met (for the test's coverage check): premiums off zero, marks off the index. */
  private meetClockEvent(event: ReferenceEvent): void {
    if (event.type === 'perpFunding') {
      this.meet(event.averagePremium === 0n ? 'funding at a zero premium' : 'funding at a premium off zero');
    } else {
      this.meet(event.premiumEstimate === 0n ? 'mark at a zero premium estimate' : 'mark at a premium estimate');
      if (event.markPrice !== event.indexPrice) this.meet('mark off the index');
    }
  }

  /**
   * The market's book as docs/perps-pricing.md section 2 reads it, from the
   * model's own resting orders: levels (price in ticks, total steps), best
   * first. A tick is tickQuoteUnits USDC units, so with priceScale the USDC
   * decimals and tickUnits tickQuoteUnits, wad(ticks) is the tick's price.
   */
  private pricingBookOf(market: ModelPerpMarket): ReferenceMarket {
    const levelsOf = (side: 'Bid' | 'Ask'): Array<readonly [bigint, bigint]> => {
      const steps = new Map<bigint, bigint>();
      for (const order of this.orders)
        if (order.symbol === market.symbol && order.side === side)
          steps.set(order.priceTicks, (steps.get(order.priceTicks) ?? 0n) + order.remainingSteps);
      const levels = [...steps.entries()].filter(([, total]) => total > 0n);
      levels.sort(([left], [right]) => (left === right ? 0 : left < right === (side === 'Bid') ? 1 : -1));
      return levels;
    };
    return {
      priceScale: market.usdcDecimals,
      tickUnits: market.tickQuoteUnits,
      quoteUnitsPerStepTick: (market.tickQuoteUnits * market.stepBaseUnits) / 10n ** BigInt(market.baseDecimals),
      bids: levelsOf('Bid'),
      asks: levelsOf('Ask'),
      lastPriceTicks: market.lastPriceTicks,
    };
  }

  usdcOf(account: string): ModelUsdc {
    let usdc = this.usdc.get(account);
    if (usdc === undefined) this.usdc.set(account, (usdc = { available: 0n, borrowed: 0n }));
    return usdc;
  }

  positionsOf(account: string): Map<string, ModelPosition> {
    let positions = this.positions.get(account);
    if (positions === undefined) this.positions.set(account, (positions = new Map()));
    return positions;
  }

  deposit(account: string, units: bigint): void {
    if (!this.ordinals.has(account)) this.ordinals.set(account, this.ordinals.size);
    this.usdcOf(account).available += units;
  }

  /**
   * One accepted entry signed by `signer` at `timeMs` (`where` names it in a
   * failure), with the engine's events. The model runs its clocks before the
   * entry's instruction (docs/perps.md section 2), then `handler` does the
   * instruction (the model computes its fills itself: reference-perps-book.ts),
   * then the signer's due positions (rule 2 of section 5b) and the oldest
   * positions of every perpetual (rule 3) are realised, at the marks the
   * handler saw, and the clocks run again after the entry. The engine's
   * clock events, in order, must be the model's: those before the
   * instruction first (checked before the handler runs, so a wrong mark
   * fails here rather than as a wrong fill), then the rest.
   */
  applyEntry(
    signer: string,
    timeMs: number,
    events: readonly ModelPerpEvent[],
    where: string,
    handler = (): void => {},
  ): void {
    const engineClock: ModelClockEvent[] = [];
    for (const event of events) {
      const clockEvent = modelClockEventOf(event);
      if (clockEvent !== undefined) engineClock.push(clockEvent);
    }
    const beforeEntry = this.runClocks(timeMs, false);
    this.expectClockEvents(`${where} (before the instruction)`, beforeEntry, engineClock.slice(0, beforeEntry.length));
    handler();
    this.realiseDue(signer, timeMs);
    this.realiseOldest(timeMs);
    const afterEntry = this.runClocks(timeMs, true);
    this.expectClockEvents(`${where} (after the instruction)`, afterEntry, engineClock.slice(beforeEntry.length));
  }

  /** The model's clock events against the engine's: market by market (listing order), then the whole order. */
  private expectClockEvents(where: string, expected: readonly ModelClockEvent[], got: readonly ModelClockEvent[]) {
    for (const symbol of this.markets.keys()) {
      const expectedOfMarket = expected.filter((event) => event.marketSymbol === symbol);
      const gotOfMarket = got.filter((event) => event.marketSymbol === symbol);
      if (!isDeepStrictEqual(expectedOfMarket, gotOfMarket))
        throw new Error(
          `${where}: ${symbol} clock events: expected ${describeClockEvents(expectedOfMarket)}, ` +
            `got ${describeClockEvents(gotOfMarket)}`,
        );
    }
    if (!isDeepStrictEqual(expected, got))
      throw new Error(
        `${where}: clock events out of order: expected ${describeClockEvents(expected)}, ` +
          `got ${describeClockEvents(got)}`,
      );
  }

  /** Settlement of fills (section 4): maker first, then taker, each side in full. */
  settleFill(market: ModelPerpMarket, trade: ModelFill, timeMs: number): void {
    const notional = trade.quoteUnits;
    const baseUnits = trade.quantitySteps * market.stepBaseUnits;
    const takerDelta = trade.takerSide === 'Bid' ? baseUnits : -baseUnits;
    this.side(market, trade.maker, -takerDelta, notional, ceilDiv(notional * market.makerFeeBps, 10_000n), timeMs);
    this.side(market, trade.taker, takerDelta, notional, ceilDiv(notional * market.takerFeeBps, 10_000n), timeMs);
  }

  /**
   * One side of a fill or of a liquidation's transfer (section 6a, with no
   * fee): funding settled, the fill rule, the rest realised at the mark, and
   * the USDC change moved by section 5a, or, for the coverage pool's
   * account, into or out of the USDC coverage pool's holdings.
   */
  side(market: ModelPerpMarket, account: string, delta: bigint, notional: bigint, fee: bigint, timeMs: number) {
    const positions = this.positionsOf(account);
    const position = positions.get(market.symbol) ?? emptyPosition(market, timeMs);
    const payment = this.settleFunding(market, position);
    this.meet(fillKind(position.quantityUnits, delta));
    let realised = applyFillRule(position, delta, delta > 0n ? notional : -notional);
    if (position.quantityUnits === 0n) positions.delete(market.symbol);
    else {
      // What stays open is realised at the mark in the same USDC change (sections 4 and 5b).
      realised += this.realiseAtMark(market, position, timeMs);
      positions.set(market.symbol, position);
    }
    this.usdcOf(this.feeAccount).available += fee;
    if (account === coveragePoolAccountId) this.movePool(realised - payment - fee);
    else this.moveCash(account, realised - payment - fee);
  }

  /** The coverage pool's account's USDC change, into or out of the pool's holdings (never below zero). */
  private movePool(change: bigint): void {
    this.coveragePoolUnits += change;
    if (this.coveragePoolUnits < 0n) throw new Error(`the coverage pool pays ${-change} it does not hold`);
  }

  /** An account's ordinal, given at its creation (here: its first deposit, or the pool's first takeover). */
  ordinalOf(account: string): number {
    if (!this.ordinals.has(account)) this.ordinals.set(account, this.ordinals.size);
    return this.ordinals.get(account)!;
  }

  /** Section 5: the pending funding into the position; returns the payment (positive: paid). */
  private settleFunding(market: ModelPerpMarket, position: ModelPosition, counted = true): bigint {
    const moved = market.fundingIndex - position.fundingIndexAtSettlement;
    position.fundingIndexAtSettlement = market.fundingIndex;
    if (position.quantityUnits === 0n || moved === 0n) return 0n;
    const payment = ceilDiv(
      position.quantityUnits * moved * 10n ** BigInt(market.usdcDecimals),
      wad * 10n ** BigInt(market.baseDecimals),
    );
    position.cumulativeFundingUnits += payment;
    market.fundingBalanceUnits += payment;
    if (!counted) return payment;
    this.settlementCount += 1;
    this.meet(payment > 0n ? 'funding paid' : payment < 0n ? 'funding received' : 'funding rounded to zero');
    return payment;
  }

  /** Section 5b: p = the unrealised PnL at the mark into the cost basis and the realised PnL (none at mark 0). */
  private realiseAtMark(market: ModelPerpMarket, position: ModelPosition, timeMs: number): bigint {
    position.realisedAtMs = timeMs;
    if (market.markPrice === 0n) return 0n;
    const pnl = unrealisedPnl(market, position, market.markPrice);
    position.costBasisUnits += pnl;
    position.realisedPnlUnits += pnl;
    return pnl;
  }

  /**
   * Section 5b, item 2: the signer's positions last realised in an earlier
   * 10-second window, in listing order. The one place realisation outside a
   * fill happens (realisation of idle accounts would call it too).
   */
  realiseDue(account: string, timeMs: number): void {
    const positions = this.positions.get(account);
    if (positions === undefined) return;
    const window = Math.floor(timeMs / realisationWindowMs);
    for (const [symbol, market] of this.markets) {
      const position = positions.get(symbol);
      if (position === undefined || Math.floor(position.realisedAtMs / realisationWindowMs) >= window) continue;
      this.meet('realised in a later window');
      this.realiseInWindow(account, market, position, timeMs);
    }
  }

  /** Rule 2's realisation of one position: its funding settled, its PnL at the mark, p − funding into USDC. */
  private realiseInWindow(account: string, market: ModelPerpMarket, position: ModelPosition, timeMs: number): void {
    const payment = this.settleFunding(market, position);
    const pnl = this.realiseAtMark(market, position, timeMs);
    if (account === coveragePoolAccountId) this.movePool(pnl - payment);
    else this.moveCash(account, pnl - payment);
  }

  /**
   * Section 5b, item 3: in each perpetual in listing order, up to K positions
   * of any account last realised before the start of this entry's window, in
   * ascending (realisedAtMs, account ordinal), each realised as in rule 2; a
   * position whose loss cannot be paid stops that perpetual's sweep.
   */
  private realiseOldest(timeMs: number): void {
    const windowStartMs = timeMs - (timeMs % realisationWindowMs);
    for (const [symbol, market] of this.markets) {
      const due: Array<[string, ModelPosition]> = [];
      for (const [account, positions] of this.positions) {
        const position = positions.get(symbol);
        if (position !== undefined && position.realisedAtMs < windowStartMs) due.push([account, position]);
      }
      due.sort(
        ([leftAccount, left], [rightAccount, right]) =>
          left.realisedAtMs - right.realisedAtMs || this.ordinals.get(leftAccount)! - this.ordinals.get(rightAccount)!,
      );
      for (const [account, position] of due.slice(0, realisationsPerEntry)) {
        const change = this.pendingChange(market, position);
        if (account === coveragePoolAccountId && change < 0n && -change > this.coveragePoolUnits) {
          // Section 6a: the pool's account is passed over (stamped, nothing realised); it counts towards K.
          this.meet('pool position passed over');
          position.realisedAtMs = timeMs;
          continue;
        }
        if (!this.canPay(account, this.pendingChange(market, position))) {
          this.meet('realisation held back');
          break;
        }
        this.meet('realised by the sweep');
        this.realiseInWindow(account, market, position, timeMs);
      }
    }
  }

  /** What realising the position now would move into USDC (p − funding), without realising it. */
  private pendingChange(market: ModelPerpMarket, position: ModelPosition): bigint {
    const copy = { ...position };
    const payment = this.settleFunding({ ...market }, copy, false);
    return (market.markPrice === 0n ? 0n : unrealisedPnl(market, copy, market.markPrice)) - payment;
  }

  /** Rule 3's test: a loss at most the available USDC plus what section 5a can raise. */
  private canPay(account: string, change: bigint): boolean {
    const payable = this.usdcOf(account).available + this.lendingPoolCashUnits + this.coveragePoolUnits;
    return change >= 0n || -change <= payable;
  }

  /** Section 5a, for an account that lends no USDC: a gain repays the borrow, a loss beyond available borrows. */
  private moveCash(account: string, change: bigint): void {
    const usdc = this.usdcOf(account);
    if (change >= 0n) {
      usdc.available += change;
      const repaid = usdc.available < usdc.borrowed ? usdc.available : usdc.borrowed;
      usdc.available -= repaid;
      usdc.borrowed -= repaid;
      this.lendingPoolCashUnits += repaid;
      return;
    }
    const fromAvailable = -change < usdc.available ? -change : usdc.available;
    usdc.available -= fromAvailable;
    usdc.borrowed += -change - fromAvailable;
    this.lendingPoolCashUnits -= -change - fromAvailable;
    if (fromAvailable < -change) this.meet('loss borrowed');
  }

  /**
   * The funding dust of section 5, scaled by wad × 10^baseDecimals: F × that
   * + Σ q × (index − index at settlement) × 10^usdcDecimals, over the model's
   * positions. Non-negative, and less than one unit (scaled) per settlement.
   */
  fundingDustScaled(symbol: string): bigint {
    const market = this.markets.get(symbol)!;
    let dust = market.fundingBalanceUnits * wad * 10n ** BigInt(market.baseDecimals);
    for (const positions of this.positions.values()) {
      const position = positions.get(symbol);
      if (position === undefined) continue;
      dust +=
        position.quantityUnits *
        (market.fundingIndex - position.fundingIndexAtSettlement) *
        10n ** BigInt(market.usdcDecimals);
    }
    return dust;
  }

  meet(what: string): void {
    this.met[what] = (this.met[what] ?? 0) + 1;
  }

  fundingBalanceOf(symbol: string): bigint {
    return this.markets.get(symbol)!.fundingBalanceUnits;
  }
}

/** A flat position at the market's funding index: what a fill opens from. */
export function emptyPosition(market: ModelPerpMarket, timeMs = 0): ModelPosition {
  return {
    quantityUnits: 0n,
    costBasisUnits: 0n,
    realisedPnlUnits: 0n,
    cumulativeFundingUnits: 0n,
    fundingIndexAtSettlement: market.fundingIndex,
    realisedAtMs: timeMs,
  };
}

/** One fill as settlement sees it: the taker's side, its size and notional, the two accounts. */
export interface ModelFill {
  readonly takerSide: 'Bid' | 'Ask';
  readonly quantitySteps: bigint;
  readonly quoteUnits: bigint;
  readonly maker: string;
  readonly taker: string;
}

/** What a fill of `delta` does to a position of `quantity`. */
function fillKind(quantity: bigint, delta: bigint): string {
  if (quantity === 0n) return 'fill opens';
  if (quantity > 0n === delta > 0n) return 'fill adds';
  const after = quantity + delta;
  if (after === 0n) return 'fill closes';
  return after > 0n === quantity > 0n ? 'fill reduces' : 'fill flips';
}

/** Unrealised PnL at mark m (section 4): the mark value rounded toward −∞, less the cost basis. */
export function unrealisedPnl(listing: ModelPerpListing, position: ModelPosition, markPrice: bigint): bigint {
  const value = floorDiv(
    position.quantityUnits * markPrice * 10n ** BigInt(listing.usdcDecimals),
    wad * 10n ** BigInt(listing.baseDecimals),
  );
  return value - position.costBasisUnits;
}

/**
 * "A fill" (section 4): d base units (positive bought) for signed quote s
 * (n bought, −n sold). Returns the realised PnL of the part it closes.
 */
export function applyFillRule(position: ModelPosition, delta: bigint, signedQuote: bigint): bigint {
  const quantity = position.quantityUnits;
  if (quantity === 0n || quantity > 0n === delta > 0n) {
    position.quantityUnits += delta;
    position.costBasisUnits += signedQuote;
    return 0n;
  }
  const absolute = (value: bigint): bigint => (value < 0n ? -value : value);
  const closing = absolute(delta) < absolute(quantity) ? absolute(delta) : absolute(quantity);
  const closingQuote = closing === absolute(delta) ? signedQuote : ceilDiv(signedQuote * closing, absolute(delta));
  const released =
    closing === absolute(quantity)
      ? position.costBasisUnits
      : ceilDiv(position.costBasisUnits * closing, absolute(quantity));
  const realised = -closingQuote - released;
  position.costBasisUnits -= released;
  position.quantityUnits += delta;
  if (closing < absolute(delta)) position.costBasisUnits = signedQuote - closingQuote;
  position.realisedPnlUnits += realised;
  return realised;
}
