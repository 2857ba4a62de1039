/**
 * The hand-written model scenarios' fixtures: a harness on one market with
 * two funded traders, and short ways to write limit orders and read results.
 */
import { type ApplyOutcome, balancesOf, type Instruction, type OrderRequest, type OrderView } from '../src/index.js';
import { type FeeConfig, type LimitConfig, type MarketConfig, marketPool } from './model-arbitraries.js';
import { canon, OPERATOR, SEPARATE_FEE, traderKey } from './model-compare.js';
import { Harness } from './model-harness.js';
import { solUsdcLimitOrder } from './support-orders.js';

// The pool's SOL_USDC with a larger maximum quantity (10 SOL), so examples can use whole coins.
export const SOL_USDC: MarketConfig = {
  ...marketPool.find((market) => market.symbol === 'SOL_USDC')!,
  maxQuantitySteps: 1_000n,
};
export const ETH_USDC = marketPool.find((market) => market.symbol === 'ETH_USDC')!;
export const ALICE = traderKey(0);
export const BOB = traderKey(1);

export function exampleHarness(
  market: MarketConfig = SOL_USDC,
  fee: FeeConfig = { makerFeeBps: 0, takerFeeBps: 0 },
  limits?: Partial<LimitConfig>,
): Harness {
  const limitConfig: LimitConfig = {
    maxOpenOrders: undefined,
    maxMakersPerOrder: undefined,
    minOrderValueSteps: undefined,
    minOrderValueExtraUnits: 0,
    ...limits,
  };
  const harness = new Harness({
    feeAccount: SEPARATE_FEE,
    traders: [ALICE, BOB],
    markets: [market],
    fees: [fee],
    limits: [limitConfig],
  });
  let transaction = 0;
  for (const account of [ALICE, BOB]) {
    for (const [symbol, quantity] of [
      [market.base, '1000'],
      [market.quote, '10000000'],
    ] as const) {
      transaction += 1;
      harness.step(OPERATOR, {
        kind: 'depositCredit',
        account,
        symbol,
        quantity,
        blockchain: 'solana',
        chainTransactionId: `seed-${transaction}`,
      });
    }
  }
  return harness;
}

export function codes(outcome: ApplyOutcome): string {
  return outcome.accepted ? 'accepted' : outcome.rejection.code;
}

export function limit(
  side: 'Bid' | 'Ask',
  price: string,
  quantity: string,
  extra: Partial<OrderRequest> = {},
): Instruction {
  return solUsdcLimitOrder(side, price, quantity, extra);
}

export function orderOf(outcome: ApplyOutcome, index = 0): OrderView {
  const result = outcome.results[index];
  if (result === undefined || !result.ok || result.value.kind !== 'order')
    throw new Error(`result ${index} is not an order: ${canon(result)}`);
  return result.value.order;
}

export function balance(harness: Harness, account: string, asset: string) {
  const found = balancesOf(harness.state, account).find((item) => item.asset === asset);
  if (found === undefined) throw new Error(`no ${asset}`);
  return found;
}
