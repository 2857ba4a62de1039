/**
 * fast-check arbitraries for the margin model test (docs/margin.md): three
 * markets on USDC with wide price ranges (so liquidation orders can trade),
 * USDC, SOL and BTC borrowable with one of a few parameter profiles (ETH is
 * collateral worth nothing), and commands that lend, borrow, move prices,
 * place margin orders, withdraw, liquidate, use the coverage pools and let
 * time pass. Commands name accounts, assets and amounts by small indexes the
 * runner (model-margin-commands.ts) resolves against the current state.
 */
import fc from 'fast-check';
import { type MarketConfig, marketPool } from './model-arbitraries.js';

function marketOf(symbol: string): MarketConfig {
  return marketPool.find((market) => market.symbol === symbol)!;
}

/** The margin test's markets: the spot model's, with price ranges wide enough for index moves and liquidations. */
export const marginMarkets: readonly MarketConfig[] = [
  { ...marketOf('SOL_USDC'), priceBandTicks: 9_000n, maxQuantitySteps: 4_000n },
  { ...marketOf('BTC_USDC'), priceBandTicks: 100_000n, maxQuantitySteps: 400n },
  { ...marketOf('ETH_USDC'), priceBandTicks: 200_000n, maxQuantitySteps: 100_000n },
];

/** The borrowable assets, settlement asset first (it must be listed first). */
export const borrowableAssets = ['USDC', 'SOL', 'BTC'] as const;
/** Every asset of the scenario; ETH is not borrowable. */
export const marginAssets = ['USDC', 'SOL', 'BTC', 'ETH'] as const;

export interface MarginScenario {
  readonly traderCount: number;
  /** Per borrowable asset, the index of its parameter profile (model-margin-commands.ts). */
  readonly profiles: readonly number[];
  readonly fees: readonly { makerFeeBps: number; takerFeeBps: number }[];
  /** Opening deposits per trader and asset, in lots (0 = none). */
  readonly funding: readonly number[];
  readonly commands: readonly MarginCommand[];
}

export type MarginCommand =
  | { type: 'price'; asset: number; movePerMille: number; stale: boolean; dt: number }
  | { type: 'borrowLend'; signer: number; asset: number; borrow: boolean; lots: number; extraUnits: number; dt: number }
  | {
      type: 'order';
      signer: number;
      market: number;
      bid: boolean;
      marketOrder: boolean;
      steps: number;
      offsetPerMille: number;
      ioc: boolean;
      flags: number;
      dt: number;
    }
  | { type: 'withdraw'; signer: number; asset: number; lots: number; extraUnits: number; dt: number }
  | { type: 'deposit'; target: number; asset: number; lots: number; dt: number }
  | { type: 'liquidate'; keeper: number; target: number; dt: number }
  /** Borrow near the limit, move the price against the borrower, then a keeper's `steps` liquidation steps. */
  | {
      type: 'squeeze';
      signer: number;
      keeper: number;
      asset: number;
      lots: number;
      movePerMille: number;
      steps: number;
    }
  | { type: 'leverage'; signer: number; choice: number; dt: number }
  | { type: 'coverage'; signer: number; asset: number; action: number; lots: number; dt: number }
  | { type: 'cancelAll'; signer: number; market: number; dt: number }
  | { type: 'wait'; dt: number };

const signer = fc.nat(7);
const asset = fc.nat(3);
/** Mostly no time, sometimes under two seconds (interest accrues in whole seconds), seconds, days (interest). */
const dt = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 1999 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 120_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 * 86_400_000 }) },
);

const command: fc.Arbitrary<MarginCommand> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('price' as const),
      asset: fc.nat(1),
      movePerMille: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: -250, max: 250 }) },
        { weight: 1, arbitrary: fc.integer({ min: -400, max: 400 }) },
      ),
      stale: fc.nat(9).map((value) => value === 0),
      dt,
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      type: fc.constant('borrowLend' as const),
      signer,
      asset,
      borrow: fc.boolean(),
      lots: fc.oneof(fc.nat(12), fc.integer({ min: 10, max: 80 })),
      extraUnits: fc.oneof(fc.constant(0), fc.nat(999)),
      dt,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('order' as const),
      signer,
      market: fc.nat(2),
      bid: fc.boolean(),
      marketOrder: fc.boolean(),
      steps: fc.integer({ min: 1, max: 400 }),
      offsetPerMille: fc.integer({ min: -60, max: 60 }),
      ioc: fc.boolean(),
      flags: fc.nat(15),
      dt,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('withdraw' as const),
      signer,
      asset,
      lots: fc.nat(8),
      extraUnits: fc.nat(999),
      dt,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('deposit' as const), target: signer, asset, lots: fc.nat(10), dt }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('liquidate' as const), keeper: signer, target: signer, dt }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('squeeze' as const),
      signer,
      keeper: signer,
      asset: fc.nat(1),
      lots: fc.integer({ min: 60, max: 80 }),
      movePerMille: fc.integer({ min: 50, max: 250 }),
      steps: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leverage' as const), signer, choice: fc.nat(7), dt }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('coverage' as const),
      signer,
      asset,
      action: fc.nat(2),
      lots: fc.nat(5),
      dt,
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('cancelAll' as const), signer, market: fc.nat(2), dt }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('wait' as const), dt }) },
);

export function marginScenarioArbitrary(minSteps: number, maxSteps: number): fc.Arbitrary<MarginScenario> {
  return fc.record({
    traderCount: fc.integer({ min: 2, max: 5 }),
    profiles: fc.array(fc.nat(2), { minLength: 3, maxLength: 3 }),
    fees: fc.array(
      fc.record({
        makerFeeBps: fc.oneof(fc.constant(0), fc.nat(30)),
        takerFeeBps: fc.oneof(fc.constant(0), fc.nat(50)),
      }),
      { minLength: 3, maxLength: 3 },
    ),
    funding: fc.array(fc.nat(10), { minLength: 20, maxLength: 20 }),
    commands: fc.array(command, { minLength: minSteps, maxLength: maxSteps, size: 'max' }),
  });
}
