/**
 * The perpetuals model-based harness (docs/perps.md; docs/testing.md,
 * "Perpetuals model-based test"): the setup (USDC, SOL and BTC pools, two
 * perpetuals, the operator's lend and coverage deposit) and PerpRun, which
 * applies one step to the engine and to the reference model
 * (reference-perps.ts) and compares them: the model's verdict on orders and
 * liquidations, fills, order ids, the marks and funding (the clocks' events,
 * which the model checks entry by entry, and the clocks' states), positions,
 * USDC, the coverage pool, the resting orders, and the invariants
 * (perps-invariants-check.ts). Used by
 * the seeded test (perps-random.test.ts) and the fixed cases
 * (perps-model-cases.test.ts).
 */
import { expect } from 'vitest';
import type { ApplyOutcome } from '../src/apply.js';
import type { EngineEvent, OrderView } from '../src/events.js';
import { accountHealth, debtUnits, healthWithout, heldUnits, initialTermsAt } from '../src/health.js';
import { addPositionTerms, emptySums } from '../src/perps/perp-health.js';
import { borrowedUnits, lentUnits } from '../src/lending-pool.js';
import type { Side } from '../src/instruction.js';
import type { ExchangeState } from '../src/state.js';
import { copyOfPosition } from '../src/perps/position.js';
import { expectPerpConservation, expectPositionsSumToZero, type PerpLedger } from './perps-invariants-check.js';
import { coveragePoolAccountId, PerpReferenceModel } from './reference-perps.js';
import { modelHealth } from './reference-perps-health.js';
import { liquidateModel, type ModelLiquidation } from './reference-perps-liquidation.js';
import {
  admitPerpOrder,
  cancelAllPerpOrders,
  executePerpOrder,
  type ModelAdmission,
  type ModelOrderRequest,
  type ModelPerpOrder,
  type ModelPerpTrade,
} from './reference-perps-book.js';
import { applyRow, runScenario, scenarioKeys } from './scenario-runner.js';

export const traders = ['alice', 'bob', 'carol', 'dave', 'erin'];
const usdcUnits = 1_000_000n;

const common = 'liquidationFee=0.01 liquidationBand=0.1 coveragePoolWithdrawalDelayMs=1000';
const usdcPool = [
  'symbol=USDC collateralWeight=1 haircutPenalty=0 imfBase=0.2 imfFactor=0 mmfBase=0.1 mmfFactor=0',
  'minimumBorrowRate=0 optimalUtilization=0.8 optimalBorrowRate=0 maximumBorrowRate=0 maxUtilization=0.9',
  'lendFee=0 maxPriceMove=0 stressShock=0',
].join(' ');
const basePool = (symbol: string): string =>
  [
    `symbol=${symbol} collateralWeight=0.8 haircutPenalty=0 imfBase=0.3 imfFactor=0 mmfBase=0.15 mmfFactor=0`,
    'minimumBorrowRate=0.02 optimalUtilization=0.5 optimalBorrowRate=0.2 maximumBorrowRate=2 maxUtilization=0.95',
    'lendFee=0.2 maxPriceMove=0.5 stressShock=0.3',
  ].join(' ');

/** The index prices the setup posts at log time 2, after listing the perpetuals at log time 1. */
const setupIndexPrices = { SOL: '100', BTC: '60000' } as const;

/** A decimal string (at most 18 fraction digits) in wad, as docs/margin.md section 4 reads an index price. */
function wadOf(text: string): bigint {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole! + fraction.padEnd(18, '0'));
}

/**
 * USDC with a zero borrow rate (borrowed units stay exact, so the model needs
 * no interest) and a deep pool the operator lends; SOL and BTC for their
 * index prices; SOL_USDC_PERP with fees, IMF 10 %, MMF 5 % and one-minute
 * funding intervals, and BTC_USDC_PERP (8 decimals) with a taker fee only,
 * IMF 8 %, MMF 4 % and two-minute intervals.
 */
const setup = [
  '1 operator assetList symbol=USDC decimals=6 -> ok',
  '1 operator assetList symbol=SOL decimals=9 -> ok',
  '1 operator assetList symbol=BTC decimals=8 -> ok',
  `1 operator borrowLendMarketList ${usdcPool} ${common} -> ok`,
  `1 operator borrowLendMarketList ${basePool('SOL')} ${common} -> ok`,
  `1 operator borrowLendMarketList ${basePool('BTC')} ${common} -> ok`,
  [
    '1 operator marketList symbol=SOL_USDC_PERP baseSymbol=SOL quoteSymbol=USDC tickSize=0.01 stepSize=0.01',
    'minQuantity=0.01 maxQuantity=100000 minPrice=0.01 maxPrice=1000000 makerFeeBps=2 takerFeeBps=5',
    'marketType=PERP imfBase=0.1 imfFactor=0 mmfBase=0.05 mmfFactor=0 fundingIntervalMs=60000 -> ok',
  ].join(' '),
  [
    '1 operator marketList symbol=BTC_USDC_PERP baseSymbol=BTC quoteSymbol=USDC tickSize=0.1 stepSize=0.0001',
    'minQuantity=0.0001 maxQuantity=1000 minPrice=0.1 maxPrice=10000000 makerFeeBps=0 takerFeeBps=4',
    'marketType=PERP imfBase=0.08 imfFactor=0 mmfBase=0.04 mmfFactor=0 fundingIntervalMs=120000 -> ok',
  ].join(' '),
  `2 operator indexPriceUpdate symbol=SOL price=${setupIndexPrices.SOL} publishedAtMs=2 -> ok`,
  `2 operator indexPriceUpdate symbol=BTC price=${setupIndexPrices.BTC} publishedAtMs=2 -> ok`,
  [
    '2 operator depositCredit account=operator symbol=USDC quantity=10000000',
    'blockchain=Solana chainTransactionId=o1 -> ok',
  ].join(' '),
  '2 operator borrowLendExecute symbol=USDC side=Lend quantity=5000000 -> ok',
  '2 operator coveragePoolDeposit symbol=USDC quantity=500 -> ok',
].join('\n');

export type Step = readonly [string, string, Record<string, string>];

/** The listing fields the setup leaves at their defaults (docs/perps.md section 1): ±100 bps, the band 0.9 to 1.1. */
const defaultFundingListing = {
  ...{ fundingRateUpperBoundBps: 100n, fundingRateLowerBoundBps: -100n },
  ...{ markBandMaxMultiplier: 11n * 10n ** 17n, markBandMinMultiplier: 9n * 10n ** 17n },
};

/** The two perpetuals: how the test writes their prices and sizes, and their listing as the model takes it. */
export const perpMarkets = [
  {
    listing: {
      ...{ symbol: 'SOL_USDC_PERP', baseDecimals: 9, tickQuoteUnits: 10_000n, stepBaseUnits: 10_000_000n },
      ...{ baseSymbol: 'SOL', fundingIntervalMs: 60_000, ...defaultFundingListing },
      ...{ imfBase: 10n ** 17n, mmfBase: 5n * 10n ** 16n, maxMakersPerOrder: 100 },
      ...{ minPriceTicks: 1n, maxPriceTicks: 100_000_000n, minQuantitySteps: 1n, maxQuantitySteps: 10_000_000n },
    },
    fees: { makerFeeBps: 2n, takerFeeBps: 5n },
    ...{ base: 'SOL', tickDecimals: 2, stepDecimals: 2, firstTicks: 10_000, steps: [800, 8_000] },
  },
  {
    listing: {
      ...{ symbol: 'BTC_USDC_PERP', baseDecimals: 8, tickQuoteUnits: 100_000n, stepBaseUnits: 10_000n },
      ...{ baseSymbol: 'BTC', fundingIntervalMs: 120_000, ...defaultFundingListing },
      ...{ imfBase: 8n * 10n ** 16n, mmfBase: 4n * 10n ** 16n, maxMakersPerOrder: 100 },
      ...{ minPriceTicks: 1n, maxPriceTicks: 100_000_000n, minQuantitySteps: 1n, maxQuantitySteps: 10_000_000n },
    },
    fees: { makerFeeBps: 0n, takerFeeBps: 4n },
    ...{ base: 'BTC', tickDecimals: 1, stepDecimals: 4, firstTicks: 600_000, steps: [100, 1_500] },
  },
] as const;
/** The test's order as the model takes it: steps and ticks from the decimal strings the test wrote. */
function modelRequest(raw: Record<string, string>): ModelOrderRequest {
  const market = perpMarkets.find((candidate) => candidate.listing.symbol === raw.symbol)!;
  // A decimal string in whole ticks or steps of `decimals` places (the test writes only exact ones).
  const fixed = (text: string, decimals: number): bigint => {
    const [whole, fraction = ''] = text.split('.');
    return BigInt(whole! + fraction.padEnd(decimals, '0'));
  };
  return {
    symbol: raw.symbol!,
    side: raw.side as Side,
    orderType: raw.orderType as 'Limit' | 'Market',
    priceTicks: raw.price === undefined ? 0n : fixed(raw.price, market.tickDecimals),
    quantitySteps: fixed(raw.quantity!, market.stepDecimals),
    timeInForce: raw.timeInForce === 'IOC' || raw.timeInForce === 'FOK' ? raw.timeInForce : 'GTC',
    reduceOnly: raw.reduceOnly === 'true',
  };
}

/** The engine's trades, in the model's shape. */
function engineTrades(events: readonly EngineEvent[]): ModelPerpTrade[] {
  const trades: ModelPerpTrade[] = [];
  for (const event of events) {
    if (event.type !== 'trade') continue;
    const { market, priceTicks, quantitySteps, quoteUnits, takerSide, makerOrderId, takerOrderId } = event;
    const accounts = { makerAccount: event.makerAccount, takerAccount: event.takerAccount };
    trades.push({ market, priceTicks, quantitySteps, quoteUnits, takerSide, makerOrderId, takerOrderId, ...accounts });
  }
  return trades;
}

/** The engine's resting orders on perpetuals, by id, in the model's shape. */
function engineBook(state: ExchangeState): ModelPerpOrder[] {
  const orders: ModelPerpOrder[] = [];
  for (const account of state.accounts.values())
    for (let order = account.firstOpenOrder; order !== undefined; order = order.accountNext) {
      if (order.market.perp === undefined) continue;
      const { side, priceTicks, remainingSteps, reduceOnly } = order;
      const symbol = order.market.symbol;
      orders.push({ orderId: order.id, account: account.id, symbol, side, priceTicks, remainingSteps, reduceOnly });
    }
  return orders.sort((left, right) => left.orderId - right.orderId);
}

export class PerpRun {
  readonly state: ExchangeState = runScenario(setup);
  readonly model = new PerpReferenceModel(scenarioKeys.get('operator')!);
  /** The operator's deposit of the setup. */
  readonly ledger: PerpLedger = { depositedUnits: 10_000_000n * usdcUnits };
  readonly usdc = this.state.assetsBySymbol.get('USDC')!;
  readonly outcomes: Record<string, number> = {};
  private deposits = 0;
  /**
   * Whether the last accepted order's signer was below maintenance when its
   * instruction ran: after the entry's clocks, whose funding and new mark
   * can put an account below maintenance before its order (measured before
   * the entry, seeds 101 and 200 of 1,500 steps failed the check for that).
   */
  private belowWhenOrderRan = false;

  constructor() {
    // The setup lists the perpetuals at log time 1 (both base assets' liquidationBand is 0.1: `common`).
    for (const { listing, fees } of perpMarkets)
      this.model.list({ ...listing, ...fees, liquidationBand: 10n ** 17n, usdcDecimals: 6 }, 1);
    // Its index entries at log time 2 set the marks (after each entry; no clock boundary is due before 5,000 ms).
    for (const [base, price] of Object.entries(setupIndexPrices)) {
      this.model.setIndexPrice(base, wadOf(price));
      this.model.runClocks(2, true);
    }
    // The model's derivation of the setup must already agree with the engine's: parameters and clocks.
    for (const { listing } of perpMarkets) {
      const perp = this.state.marketsBySymbol.get(listing.symbol)!.perp!;
      const model = this.model.markets.get(listing.symbol)!;
      expect(model.fundingParameters, `${listing.symbol}: the clock's parameters`).toEqual(perp.fundingParameters);
      expect(model.clock, `${listing.symbol}: the clock after the setup`).toEqual(perp.funding);
    }
    // The operator lent 5,000,000 of its 10,000,000 USDC and put 500 in the coverage pool (which takes over
    // positions in a backstop); what it holds available is the model's.
    this.model.deposit(scenarioKeys.get('operator')!, 4_999_500n * usdcUnits);
    this.model.coveragePoolUnits = 500n * usdcUnits;
    this.model.lendingPoolCashUnits = 5_000_000n * usdcUnits;
    // The USDC pool's imfBase 0.2 and mmfBase 0.1, its liquidationFee 0.01.
    this.model.usdcMargin = { imf: 2n * 10n ** 17n, mmf: 10n ** 17n, liquidationFee: 10n ** 16n };
  }

  /** The engine's USDC of an account at the log time, as the model keeps it. */
  engineUsdc(key: string, timeMs: number): { available: bigint; borrowed: bigint } {
    const account = this.state.accounts.get(key);
    if (account === undefined) return { available: 0n, borrowed: 0n };
    const balance = account.balance(this.usdc);
    return { available: balance.available + balance.locked, borrowed: borrowedUnits(balance, timeMs) };
  }

  belowMaintenance(signer: string, timeMs: number): boolean {
    const account = this.state.accounts.get(scenarioKeys.get(signer)!);
    if (account === undefined) return false;
    const health = accountHealth(this.state, account, timeMs);
    return health.netEquity < health.maintenanceRequirement;
  }

  step(timeMs: number, [signer, name, raw]: Step, line: string): void {
    const params = new Map(Object.entries(raw));
    if (name === 'indexPriceUpdate') params.set('publishedAtMs', String(timeMs));
    if (name === 'depositCredit') {
      params.set('blockchain', 'Solana');
      params.set('chainTransactionId', `deposit-${(this.deposits += 1)}`);
    }
    const before = name === 'orderExecute' ? this.modelQuantity(signer, raw.symbol!) : 0n;
    const sameSideResting = name === 'orderExecute' ? this.restingUnits(signer, raw.symbol!, raw.side === 'Bid') : 0n;
    const outcome: ApplyOutcome = applyRow(this.state, timeMs, signer, name, params, line);
    if (name === 'orderExecute')
      this.expectOrderRules(raw, before, sameSideResting, this.modelQuantity(signer, raw.symbol!), outcome, line);
    const reduceOnly = raw.reduceOnly === undefined ? '' : ' reduceOnly';
    this.count(`${name}${reduceOnly} ${outcome.accepted ? 'ok' : outcome.rejection.code}`);
    if (name === 'orderExecute') this.orderStep(timeMs, signer, raw, outcome, line);
    else if (name === 'liquidate') this.liquidationStep(timeMs, raw, outcome, line);
    else if (!outcome.accepted) return;
    else {
      if (name === 'depositCredit') {
        const units = BigInt(raw.quantity!) * usdcUnits;
        this.model.deposit(scenarioKeys.get(raw.account!)!, units);
        this.ledger.depositedUnits += units;
      }
      const key = scenarioKeys.get(signer)!;
      let handler = (): void => {};
      if (name === 'orderCancelAll') handler = () => cancelAllPerpOrders(this.model, key, raw.symbol!);
      if (name === 'indexPriceUpdate') handler = () => this.model.setIndexPrice(raw.symbol!, wadOf(raw.price!));
      this.model.applyEntry(key, timeMs, outcome.events, line, handler);
    }
    if (outcome.accepted) this.countEvents(outcome.events);
    this.compare(timeMs, line);
    // No account is left below maintenance by its own accepted order, unless it was below when the order ran.
    if (name === 'orderExecute' && outcome.accepted && !this.belowWhenOrderRan)
      expect(this.belowMaintenance(signer, timeMs), `${line}: left below maintenance`).toBe(false);
  }

  private countEvents(events: readonly EngineEvent[]): void {
    for (const event of events) {
      if (event.type === 'perpFunding') this.count('funding boundary');
      if (event.type === 'trade') this.count(`${event.market} fill`);
    }
  }

  /**
   * An order: the model admits it (section 4a) where the engine's handler
   * ran, at the marks and funding indexes of that moment, and compares its
   * verdict; an accepted order's fills are the model's own, compared with the
   * engine's trades. A rejected entry changed nothing, its clock included, so
   * the operator's no-op entry (a cancel of nothing) at the same log time
   * moves the clock as the order saw it, and the model admits the order in
   * that entry's handler.
   */
  private orderStep(timeMs: number, signer: string, raw: Record<string, string>, outcome: ApplyOutcome, line: string) {
    const key = scenarioKeys.get(signer)!;
    const request = modelRequest(raw);
    let admission: ModelAdmission | undefined;
    const admit = (): void => {
      admission = admitPerpOrder(this.model, key, request);
    };
    if (!outcome.accepted) {
      this.noOpEntry(timeMs, line, admit);
      const reason = admission!.accepted ? undefined : admission!.reason;
      const engine = { code: outcome.rejection.code, reason: reason && outcome.rejection.reason };
      expect(engine, `${line}: the model's verdict`).toEqual(
        admission!.accepted ? { code: 'ok' } : { code: admission!.code, reason },
      );
      return;
    }
    this.model.applyEntry(key, timeMs, outcome.events, line, () => {
      const health = modelHealth(this.model, key);
      this.belowWhenOrderRan = health.netEquity < health.maintenanceRequirement;
      admit();
      expect(admission!.accepted ? 'ok' : admission!.code, `${line}: the model's verdict`).toBe('ok');
      if (!admission!.accepted) return;
      const orderId = this.model.nextOrderId++;
      const engineOrder = (outcome.results[0] as unknown as { readonly value: { readonly order: OrderView } }).value;
      expect(engineOrder.order.orderId, `${line}: the order id`).toBe(orderId);
      const trades = executePerpOrder(this.model, key, admission!.order, orderId, timeMs);
      expect(engineTrades(outcome.events), `${line}: fills`).toEqual(trades);
    });
  }

  /**
   * A rejected entry changed nothing, its clock included: the operator's
   * no-op entry (a cancel of nothing) at the same log time moves the clock as
   * the rejected entry saw it, and `handler` runs where its handler would.
   */
  private noOpEntry(timeMs: number, line: string, handler: () => void): void {
    const noOp = applyRow(
      this.state,
      timeMs,
      'operator',
      'orderCancelAll',
      new Map([['symbol', 'SOL_USDC_PERP']]),
      line,
    );
    expect(noOp.accepted, `${line}: the no-op entry`).toBe(true);
    if (noOp.accepted) this.model.applyEntry(scenarioKeys.get('operator')!, timeMs, noOp.events, line, handler);
  }

  /**
   * A keeper's `liquidate`: the model's verdict (docs/margin.md section 8)
   * and, when accepted, its own step (reference-perps-liquidation.ts),
   * compared with the engine's `liquidation` event and book trades.
   */
  private liquidationStep(timeMs: number, raw: Record<string, string>, outcome: ApplyOutcome, line: string): void {
    const key = scenarioKeys.get(raw.account!)!;
    let result: ModelLiquidation | undefined;
    const step = (): void => {
      result = liquidateModel(this.model, key, timeMs);
    };
    if (!outcome.accepted) {
      this.noOpEntry(timeMs, line, step);
      const reason = result!.accepted ? 'accepted' : result!.reason;
      expect(`${outcome.rejection.code}:${outcome.rejection.reason}`, `${line}: the model's verdict`).toBe(
        `NOT_LIQUIDATABLE:${reason}`,
      );
      return;
    }
    this.model.applyEntry(scenarioKeys.get('operator')!, timeMs, outcome.events, line, () => {
      step();
      expect(result!.accepted, `${line}: the model's verdict`).toBe(true);
      if (!result!.accepted) return;
      const { trades, accepted: _, ...figures } = result!;
      const view = outcome.events.find((event) => event.type === 'liquidation')!.liquidation;
      const engineFigures = {
        positions: view.positions ?? [],
        positionBudgetUnits: view.positionBudgetUnits ?? 0n,
        positionClosedUnits: view.positionClosedUnits ?? 0n,
        ...{ closedValue: view.closedValue, feeUnits: view.feeUnits, backstopped: view.backstopped },
      };
      expect(engineFigures, `${line}: the liquidation`).toEqual(figures);
      expect(engineTrades(outcome.events), `${line}: the liquidation's fills`).toEqual(trades);
    });
  }

  /** The signer's position on `symbol` in the model (its quantity in base units; 0 when flat). */
  modelQuantity(signer: string, symbol: string): bigint {
    return this.model.positions.get(scenarioKeys.get(signer)!)?.get(symbol)?.quantityUnits ?? 0n;
  }

  /** The signer's resting orders (not reduce-only) on one side of `symbol` in the model, signed base units. */
  restingUnits(signer: string, symbol: string, bids: boolean): bigint {
    const key = scenarioKeys.get(signer)!;
    const step = this.model.markets.get(symbol)!.stepBaseUnits;
    let units = 0n;
    for (const order of this.model.orders)
      if (
        order.account === key &&
        order.symbol === symbol &&
        !order.reduceOnly &&
        order.side === (bids ? 'Bid' : 'Ask')
      )
        units += (bids ? step : -step) * order.remainingSteps;
    return units;
  }

  /**
   * docs/perps.md section 4a: an order that opens nothing beyond its side's
   * worst case (with w the position plus the account's resting orders on the
   * order's side, not reduce-only, and d the order's whole signed quantity,
   * |w + d| ≤ |w| without a flip) is never refused for margin, nor is a
   * reduce-only order; an accepted reduce-only order never grows or flips the
   * position.
   */
  expectOrderRules(
    raw: Record<string, string>,
    before: bigint,
    sameSideResting: bigint,
    after: bigint,
    outcome: ApplyOutcome,
    line: string,
  ): void {
    const market = perpMarkets.find((candidate) => candidate.listing.symbol === raw.symbol)!;
    const steps = BigInt(Math.round(Number(raw.quantity!) * 10 ** market.stepDecimals));
    const delta = (raw.side === 'Bid' ? 1n : -1n) * steps * market.listing.stepBaseUnits;
    const absolute = (value: bigint): bigint => (value < 0n ? -value : value);
    const worst = before + sameSideResting;
    const flips = worst !== 0n && worst + delta !== 0n && worst > 0n !== worst + delta > 0n;
    const opensNothing = raw.reduceOnly !== undefined || (!flips && absolute(worst + delta) <= absolute(worst));
    if (opensNothing) {
      this.count('order that opens nothing');
      if (!outcome.accepted)
        expect(outcome.rejection.code, `${line}: refused for margin`).not.toBe('INSUFFICIENT_MARGIN');
    }
    if (raw.reduceOnly !== undefined && outcome.accepted) {
      const grew = absolute(after) > absolute(before) || (after !== 0n && after > 0n !== before > 0n);
      expect(grew, `${line}: a reduce-only order grew or flipped ${before} to ${after}`).toBe(false);
    }
  }

  count(key: string): void {
    this.outcomes[key] = (this.outcomes[key] ?? 0) + 1;
  }

  compare(timeMs: number, line: string): void {
    const accounts = [...['operator', ...traders].map((name) => [name, scenarioKeys.get(name)!] as const)];
    accounts.push(['the coverage pool', coveragePoolAccountId]);
    for (const [name, key] of accounts) {
      const account = this.state.accounts.get(key);
      for (const { listing } of perpMarkets) {
        const enginePosition = account?.positions.get(this.state.marketsBySymbol.get(listing.symbol)!.index);
        const modelPosition = this.model.positions.get(key)?.get(listing.symbol);
        // By its fields: the engine's position is its account's holding (perp-holding.ts), which holds more.
        const engineFields = enginePosition === undefined ? undefined : copyOfPosition(enginePosition);
        expect(engineFields, `${line}: ${listing.symbol} position of ${name}`).toEqual(modelPosition);
        if (enginePosition !== undefined && enginePosition.realisedPnlUnits !== 0n) this.count('realised PnL');
      }
      expect(this.engineUsdc(key, timeMs), `${line}: USDC of ${name}`).toEqual(this.model.usdcOf(key));
      if (account !== undefined && name !== 'operator')
        expect(lentUnits(account.balance(this.usdc), timeMs), `${line}: ${name} lends`).toBe(0n);
      if (this.model.usdcOf(key).borrowed > 0n && name !== 'operator') this.count('borrowed USDC');
    }
    // The clocks the model ran itself (its events were compared entry by entry), whole, and the last trade.
    for (const { listing } of perpMarkets) {
      const market = this.state.marketsBySymbol.get(listing.symbol)!;
      const model = this.model.markets.get(listing.symbol)!;
      expect(market.perp!.funding, `${line}: ${listing.symbol} clock`).toEqual(model.clock);
      expect(market.lastPriceTicks, `${line}: ${listing.symbol} last trade`).toBe(model.lastPriceTicks);
    }
    const coveragePool = this.usdc.margin!.coveragePool.holdingsUnits;
    expect(coveragePool, `${line}: the USDC coverage pool`).toBe(this.model.coveragePoolUnits);
    const modelBook = [...this.model.orders].sort((left, right) => left.orderId - right.orderId);
    expect(engineBook(this.state), `${line}: resting orders`).toEqual(modelBook);
    expectPositionsSumToZero(this.state, line);
    expectPerpConservation(this.state, this.ledger, this.model, timeMs, line);
  }
}

/**
 * The order check's health in parts (perp-orders.ts, docs/perps.md section
 * 4a): a pass without USDC's own terms and without one market's position
 * (healthWithout), plus USDC's terms at its held and owed units
 * (initialTermsAt) and the position's terms (addPositionTerms), must equal a
 * whole accountHealth pass, for each named account that exists and every
 * perpetual. Returns how many (account, perpetual) pairs it compared.
 */
export function expectHealthInParts(run: PerpRun, names: readonly string[], timeMs: number, when: string): number {
  const usdc = run.usdc;
  let compared = 0;
  for (const name of names) {
    const account = run.state.accounts.get(scenarioKeys.get(name)!);
    if (account === undefined) continue;
    const whole = accountHealth(run.state, account, timeMs);
    for (const { listing } of perpMarkets) {
      const market = run.state.marketsBySymbol.get(listing.symbol)!;
      // Read at once: healthWithout's answer is overwritten by its next call.
      const without = healthWithout(run.state, account, timeMs, usdc, market.index);
      const withoutSums = { netEquity: without.netEquity, initialRequirement: without.initialRequirement };
      const balance = account.balances[usdc.index];
      const usdcTerms = initialTermsAt(
        run.state,
        account,
        usdc,
        heldUnits(balance, timeMs),
        debtUnits(balance, timeMs),
      );
      const position = emptySums();
      const held = account.positions.get(market.index);
      if (held !== undefined) addPositionTerms(position, market, held, false);
      const parts = {
        netEquity:
          withoutSums.netEquity + usdcTerms.collateral - usdcTerms.liability + position.gainUnits - position.lossUnits,
        initialRequirement: withoutSums.initialRequirement + usdcTerms.initial + position.initialRequirement,
      };
      const expected = { netEquity: whole.netEquity, initialRequirement: whole.initialRequirement };
      expect(parts, `${when}: ${name} ${listing.symbol}`).toEqual(expected);
      compared += 1;
    }
  }
  return compared;
}
