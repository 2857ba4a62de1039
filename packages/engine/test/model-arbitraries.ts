/**
 * fast-check arbitraries for the model-based tests: a scenario is a genesis
 * shape, one or two markets, and a list of abstract commands. Commands name
 * accounts, markets and orders by small indexes that the runner resolves
 * against the current state, so every command stays meaningful while
 * fast-check shrinks the list.
 */
import fc from 'fast-check';
import type { SelfTradePrevention, Side, TimeInForce } from '../src/instruction.js';

export interface MarketConfig {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
  readonly tickSize: string;
  readonly stepSize: string;
  /** Fraction digits of a price, and a tick in those units. */
  readonly priceScale: number;
  readonly tickUnits: bigint;
  /** Base units in one step. */
  readonly stepUnits: bigint;
  /** Quote units of one step at one tick (what the listing must imply). */
  readonly quoteUnitsPerStepTick: bigint;
  readonly midTicks: bigint;
  /** Allowed price band: midTicks ± priceBandTicks. */
  readonly priceBandTicks: bigint;
  readonly minQuantitySteps: bigint;
  readonly maxQuantitySteps: bigint;
}

export interface FeeConfig {
  readonly makerFeeBps: number;
  readonly takerFeeBps: number;
}

/** A listing's optional order limits; undefined fields are left out of the listing (defaults apply). */
export interface LimitConfig {
  readonly maxOpenOrders: number | undefined;
  readonly maxMakersPerOrder: number | undefined;
  /** The minimum order value in steps at the mid price, plus extra quote units. */
  readonly minOrderValueSteps: number | undefined;
  readonly minOrderValueExtraUnits: number;
}

export const assetDecimals: Readonly<Record<string, number>> = { USDC: 6, SOL: 9, BTC: 8, ETH: 4 };

/** The pool of markets a scenario picks from. */
export const marketPool: readonly MarketConfig[] = [
  {
    // qpst = 0.01 × 0.01 × 10^6 = 100; a step is 10^7 SOL units.
    symbol: 'SOL_USDC',
    base: 'SOL',
    quote: 'USDC',
    baseDecimals: 9,
    quoteDecimals: 6,
    tickSize: '0.01',
    stepSize: '0.01',
    priceScale: 2,
    tickUnits: 1n,
    stepUnits: 10_000_000n,
    quoteUnitsPerStepTick: 100n,
    midTicks: 10_000n,
    priceBandTicks: 20n,
    minQuantitySteps: 1n,
    maxQuantitySteps: 40n,
  },
  {
    // qpst = 0.001 × 0.5 × 10^6 = 500; minimum quantity is two steps.
    symbol: 'BTC_USDC',
    base: 'BTC',
    quote: 'USDC',
    baseDecimals: 8,
    quoteDecimals: 6,
    tickSize: '0.5',
    stepSize: '0.001',
    priceScale: 1,
    tickUnits: 5n,
    stepUnits: 100_000n,
    quoteUnitsPerStepTick: 500n,
    midTicks: 120_000n,
    priceBandTicks: 20n,
    minQuantitySteps: 2n,
    maxQuantitySteps: 40n,
  },
  {
    // qpst = 0.0001 × 0.01 × 10^6 = 1 and a step is 1 ETH unit: fees round up visibly.
    symbol: 'ETH_USDC',
    base: 'ETH',
    quote: 'USDC',
    baseDecimals: 4,
    quoteDecimals: 6,
    tickSize: '0.01',
    stepSize: '0.0001',
    priceScale: 2,
    tickUnits: 1n,
    stepUnits: 1n,
    quoteUnitsPerStepTick: 1n,
    midTicks: 300_000n,
    priceBandTicks: 20n,
    minQuantitySteps: 1n,
    maxQuantitySteps: 40n,
  },
  {
    // A cross market whose quote is BTC: qpst = 0.01 × 0.000001 × 10^8 = 1.
    symbol: 'SOL_BTC',
    base: 'SOL',
    quote: 'BTC',
    baseDecimals: 9,
    quoteDecimals: 8,
    tickSize: '0.000001',
    stepSize: '0.01',
    priceScale: 6,
    tickUnits: 1n,
    stepUnits: 10_000_000n,
    quoteUnitsPerStepTick: 1n,
    midTicks: 2_500n,
    priceBandTicks: 20n,
    minQuantitySteps: 1n,
    maxQuantitySteps: 40n,
  },
];

export type DecimalDefect = 'none' | 'trailingZeros' | 'tooPrecise' | 'offStep' | 'outOfRange' | 'malformed' | 'zero';

export interface AmountSpec {
  /** Multiples of the asset's typical lot (see the runner). */
  readonly lots: number;
  /** Extra smallest units, so amounts are not all round. */
  readonly extraUnits: number;
  readonly defect: DecimalDefect;
}

export interface OrderSpec {
  /** Index into the scenario's markets; -1 names a market that does not exist. */
  readonly market: number;
  readonly side: Side;
  readonly orderType: 'Limit' | 'Market';
  readonly priceOffsetTicks: number;
  readonly steps: number;
  /** Market orders: size by quote quantity instead of quantity. */
  readonly byQuote: boolean;
  /** Quote quantity, in steps-at-mid plus extra quote units. */
  readonly quoteSteps: number;
  readonly quoteExtraUnits: number;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientId: number | undefined;
  readonly priceDefect: DecimalDefect;
  readonly quantityDefect: DecimalDefect;
  /** A trigger order, or an order with an attached take-profit and/or stop-loss (section 8). */
  readonly trigger: 'none' | 'trigger' | 'takeProfit' | 'stopLoss' | 'both';
  /** Trigger prices as offsets from the mid price (the take-profit's and the stop-loss's). */
  readonly triggerOffsetTicks: number;
  readonly stopLossOffsetTicks: number;
  /** Attached orders: give them limit prices (at their trigger prices) rather than fire as market orders. */
  readonly attachedLimit: boolean;
}

export type Command =
  | {
      readonly type: 'deposit';
      readonly dt: number;
      readonly signer: number;
      readonly signedByOperator: boolean;
      readonly target: number;
      readonly asset: number;
      readonly amount: AmountSpec;
      readonly chain: number;
      readonly transaction: number;
    }
  | { readonly type: 'orders'; readonly dt: number; readonly signer: number; readonly orders: readonly OrderSpec[] }
  | {
      readonly type: 'cancel';
      readonly dt: number;
      readonly signer: number;
      readonly market: number;
      readonly by: 'ownOpen' | 'anyOpen' | 'orderId' | 'clientId';
      readonly pick: number;
    }
  | { readonly type: 'cancelAll'; readonly dt: number; readonly signer: number; readonly market: number }
  | {
      readonly type: 'withdraw';
      readonly dt: number;
      readonly signer: number;
      readonly asset: number;
      readonly amount: AmountSpec;
    }
  | {
      readonly type: 'settle';
      readonly dt: number;
      readonly complete: boolean;
      readonly signedByOperator: boolean;
      readonly signer: number;
      readonly pending: boolean;
      readonly pick: number;
    };

/** An opening deposit; the runner gives one to each trader and the operator in each asset. */
export interface Funding {
  readonly lots: number;
  readonly extraUnits: number;
  readonly skip: boolean;
}

export interface Scenario {
  readonly traderCount: number;
  /** Opening deposits, indexed by account × asset (the runner wraps around). */
  readonly funding: readonly Funding[];
  /** Who receives fees: the operator, a key of its own, or the first trader. */
  readonly feeAccount: 'operator' | 'separate' | 'trader';
  readonly markets: readonly MarketConfig[];
  readonly fees: readonly FeeConfig[];
  readonly limits: readonly LimitConfig[];
  readonly commands: readonly Command[];
}

const dt = fc.nat({ max: 3 });
/** Actor indexes: the runner maps them onto traders, the operator and a stranger, traders most often. */
const actor = fc.nat({ max: 15 });
/** A market by index, now and then -1: a market that does not exist. */
const marketIndex = fc.oneof({ arbitrary: fc.nat({ max: 7 }), weight: 20 }, { arbitrary: fc.constant(-1), weight: 1 });

const defect = (weights: readonly [DecimalDefect, number][]): fc.Arbitrary<DecimalDefect> =>
  fc.oneof(...weights.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));

const amountSpec: fc.Arbitrary<AmountSpec> = fc.record({
  lots: fc.oneof({ arbitrary: fc.nat({ max: 40 }), weight: 5 }, { arbitrary: fc.nat({ max: 400 }), weight: 1 }),
  extraUnits: fc.oneof(fc.constant(0), fc.nat({ max: 999 })),
  defect: defect([
    ['none', 30],
    ['trailingZeros', 3],
    ['tooPrecise', 2],
    ['zero', 1],
    ['malformed', 1],
  ]),
});

const orderSpec: fc.Arbitrary<OrderSpec> = fc
  .record({
    market: fc.oneof({ arbitrary: fc.nat({ max: 7 }), weight: 30 }, { arbitrary: fc.constant(-1), weight: 1 }),
    side: fc.constantFrom<Side>('Bid', 'Ask'),
    orderType: fc.oneof(
      { arbitrary: fc.constant<'Limit'>('Limit'), weight: 3 },
      { arbitrary: fc.constant<'Market'>('Market'), weight: 1 },
    ),
    priceOffsetTicks: fc.oneof(
      { arbitrary: fc.integer({ min: -3, max: 3 }), weight: 3 },
      { arbitrary: fc.integer({ min: -8, max: 8 }), weight: 1 },
    ),
    steps: fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 6 }), weight: 3 },
      { arbitrary: fc.integer({ min: 1, max: 30 }), weight: 1 },
    ),
    byQuote: fc.boolean(),
    quoteSteps: fc.integer({ min: 0, max: 12 }),
    quoteExtraUnits: fc.oneof(fc.constant(0), fc.nat({ max: 100_000 })),
    timeInForce: fc.oneof(
      { arbitrary: fc.constant<TimeInForce>('GTC'), weight: 4 },
      { arbitrary: fc.constant<TimeInForce>('IOC'), weight: 1 },
      { arbitrary: fc.constant<TimeInForce>('FOK'), weight: 1 },
    ),
    postOnly: fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constant(true), weight: 1 }),
    selfTradePrevention: fc.constantFrom<SelfTradePrevention>('RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow'),
    clientId: fc.option(fc.integer({ min: 0, max: 6 }), { freq: 2, nil: undefined }),
    priceDefect: defect([
      ['none', 40],
      ['trailingZeros', 2],
      ['tooPrecise', 1],
      ['outOfRange', 1],
      ['malformed', 1],
    ]),
    quantityDefect: defect([
      ['none', 40],
      ['trailingZeros', 2],
      ['tooPrecise', 1],
      ['offStep', 1],
      ['outOfRange', 1],
      ['malformed', 1],
      ['zero', 1],
    ]),
    trigger: fc.oneof(
      { arbitrary: fc.constant<'none'>('none'), weight: 12 },
      { arbitrary: fc.constant<'trigger'>('trigger'), weight: 3 },
      { arbitrary: fc.constantFrom<'takeProfit' | 'stopLoss' | 'both'>('takeProfit', 'stopLoss', 'both'), weight: 2 },
    ),
    triggerOffsetTicks: fc.integer({ min: -6, max: 6 }),
    stopLossOffsetTicks: fc.integer({ min: -6, max: 6 }),
    attachedLimit: fc.boolean(),
  })
  // Keep to what the instruction parser can produce: postOnly only on GTC limit orders.
  .map((spec) => ({ ...spec, postOnly: spec.postOnly && spec.orderType === 'Limit' && spec.timeInForce === 'GTC' }));

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      type: fc.constant<'deposit'>('deposit'),
      dt,
      signer: actor,
      signedByOperator: fc.oneof(
        { arbitrary: fc.constant(true), weight: 12 },
        { arbitrary: fc.constant(false), weight: 1 },
      ),
      target: actor,
      asset: fc.nat({ max: 7 }),
      amount: amountSpec,
      chain: fc.nat({ max: 1 }),
      transaction: fc.nat({ max: 30 }),
    }),
  },
  {
    weight: 14,
    arbitrary: fc.record({
      type: fc.constant<'orders'>('orders'),
      dt,
      signer: actor,
      orders: fc.oneof(
        { arbitrary: fc.array(orderSpec, { minLength: 1, maxLength: 1 }), weight: 4 },
        { arbitrary: fc.array(orderSpec, { minLength: 1, maxLength: 5, size: 'max' }), weight: 1 },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant<'cancel'>('cancel'),
      dt,
      signer: actor,
      market: marketIndex,
      by: fc.constantFrom<'ownOpen' | 'anyOpen' | 'orderId' | 'clientId'>(
        'ownOpen',
        'ownOpen',
        'anyOpen',
        'orderId',
        'clientId',
      ),
      pick: fc.nat({ max: 40 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant<'cancelAll'>('cancelAll'),
      dt,
      signer: actor,
      market: marketIndex,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant<'withdraw'>('withdraw'),
      dt,
      signer: actor,
      asset: fc.integer({ min: -1, max: 7 }),
      amount: amountSpec,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant<'settle'>('settle'),
      dt,
      complete: fc.boolean(),
      signedByOperator: fc.oneof(
        { arbitrary: fc.constant(true), weight: 8 },
        { arbitrary: fc.constant(false), weight: 1 },
      ),
      signer: actor,
      pending: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
      pick: fc.nat({ max: 20 }),
    }),
  },
);

const feeConfig: fc.Arbitrary<FeeConfig> = fc.oneof(
  { arbitrary: fc.constant({ makerFeeBps: 0, takerFeeBps: 0 }), weight: 1 },
  {
    arbitrary: fc.record({
      makerFeeBps: fc.integer({ min: 0, max: 30 }),
      takerFeeBps: fc.integer({ min: 0, max: 30 }),
    }),
    weight: 3,
  },
);

// Small limits, so the model test meets them often: a few open orders, a few makers per order.
const limitConfig: fc.Arbitrary<LimitConfig> = fc.record({
  maxOpenOrders: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: 6 }), weight: 3 },
  ),
  maxMakersPerOrder: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 3 },
  ),
  minOrderValueSteps: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: fc.integer({ min: 0, max: 3 }), weight: 3 },
  ),
  minOrderValueExtraUnits: fc.oneof(fc.constant(0), fc.nat({ max: 999 })),
});

export function scenarioArbitrary(minCommands: number, maxCommands: number): fc.Arbitrary<Scenario> {
  return fc.record({
    traderCount: fc.integer({ min: 2, max: 4 }),
    funding: fc.array(
      fc.record({
        // Small balances and round amounts put funds checks on their boundaries.
        lots: fc.oneof(
          { arbitrary: fc.integer({ min: 0, max: 60 }), weight: 3 },
          { arbitrary: fc.integer({ min: 0, max: 4 }), weight: 2 },
        ),
        extraUnits: fc.oneof(fc.constant(0), fc.nat({ max: 999 })),
        skip: fc.oneof({ arbitrary: fc.constant(false), weight: 7 }, { arbitrary: fc.constant(true), weight: 1 }),
      }),
      { minLength: 20, maxLength: 20 },
    ),
    feeAccount: fc.constantFrom<'operator' | 'separate' | 'trader'>('operator', 'separate', 'trader'),
    markets: fc.shuffledSubarray(marketPool as MarketConfig[], { minLength: 1, maxLength: 2 }),
    fees: fc.array(feeConfig, { minLength: 2, maxLength: 2 }),
    limits: fc.array(limitConfig, { minLength: 2, maxLength: 2 }),
    commands: fc.array(command, { minLength: minCommands, maxLength: maxCommands, size: 'max' }),
  });
}
