/**
 * The simulated users' margin requests (docs/margin.md): the operator lists
 * USDC, SOL and BTC as borrowable and posts moving index prices; traders
 * lend, borrow (some close to what their margin allows), repay, place margin
 * orders with the auto-borrow and auto-lend flags and underwrite the USDC
 * coverage pool; a keeper liquidates the accounts it sees below maintenance.
 *
 * Like the spot workload (workload.ts) it reads the state only to be
 * plausible, as a client reads the API: prices, balances, health. A share of
 * the requests is refused by design (prices that move too far or arrive out
 * of order, borrows beyond the margin, liquidations of healthy accounts).
 */
import {
  accountHealth,
  type Asset,
  borrowedUnits,
  type ExchangeState,
  isLiquidatable,
  meetsInitialMargin,
  type SignedTransaction,
  wad,
} from '@vex/engine';
import type { SeededRandom } from './seeded-random.js';

export type MarginRequestKind =
  | 'borrow-lend-listing'
  | 'index-price'
  | 'lend'
  | 'borrow'
  | 'margin-order'
  | 'liquidate'
  | 'coverage-deposit';

export interface MarginParticipant {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly accountId: string;
}

export interface MarginGroup {
  readonly instruction: string;
  readonly params: Record<string, string>;
}

type Sign = (signer: MarginParticipant, groups: readonly MarginGroup[], nowMs: number) => SignedTransaction;

const commonParameters = {
  liquidationFee: '0.01',
  liquidationBand: '0.1',
  coveragePoolWithdrawalDelayMs: '1000',
};

/** The borrowable assets, settlement asset first (it must be listed first). */
export const marginListing: ReadonlyArray<Record<string, string>> = [
  {
    symbol: 'USDC',
    collateralWeight: '1',
    haircutPenalty: '0',
    imfBase: '0.15',
    imfFactor: '0',
    mmfBase: '0.1',
    mmfFactor: '0',
    minimumBorrowRate: '0',
    optimalUtilization: '0.8',
    optimalBorrowRate: '0.1',
    maximumBorrowRate: '1',
    maxUtilization: '0.9',
    lendFee: '0.1',
    maxPriceMove: '0',
    stressShock: '0',
    ...commonParameters,
  },
  {
    symbol: 'SOL',
    collateralWeight: '0.8',
    haircutPenalty: '0.0001',
    imfBase: '0.25',
    imfFactor: '0.0005',
    mmfBase: '0.2',
    mmfFactor: '0.00025',
    minimumBorrowRate: '0.02',
    optimalUtilization: '0.5',
    optimalBorrowRate: '0.2',
    maximumBorrowRate: '2',
    maxUtilization: '0.95',
    lendFee: '0.2',
    maxPriceMove: '0.3',
    stressShock: '0.3',
    ...commonParameters,
  },
  {
    symbol: 'BTC',
    collateralWeight: '0.85',
    haircutPenalty: '0.00005',
    imfBase: '0.22',
    imfFactor: '0.0002',
    mmfBase: '0.15',
    mmfFactor: '0.0001',
    minimumBorrowRate: '0.01',
    optimalUtilization: '0.6',
    optimalBorrowRate: '0.15',
    maximumBorrowRate: '1.5',
    maxUtilization: '0.95',
    lendFee: '0.2',
    maxPriceMove: '0.3',
    stressShock: '0.25',
    ...commonParameters,
  },
];

/** The first index prices (the spot workload's mid prices) and the range the operator keeps them in. */
const priced: ReadonlyArray<{ symbol: string; first: string; low: bigint; high: bigint }> = [
  { symbol: 'SOL', first: '100', low: 5n * wad, high: 1_000n * wad },
  { symbol: 'BTC', first: '60000', low: 5_000n * wad, high: 500_000n * wad },
];

const operatorLiquidity: ReadonlyArray<readonly [string, string]> = [
  ['USDC', '20000000'],
  ['SOL', '200000'],
  ['BTC', '2000'],
];

/** `units` at `decimals`, as the shortest decimal string. */
function decimalText(units: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const fraction = (units % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return fraction === '' ? (units / scale).toString() : `${units / scale}.${fraction}`;
}

export class MarginWorkload {
  /** Each priced asset's trend: +1 rising, −1 falling. */
  private readonly trends = priced.map(() => 1);

  constructor(
    private readonly random: SeededRandom,
    private readonly operator: MarginParticipant,
    private readonly keeper: MarginParticipant,
    private readonly traders: readonly MarginParticipant[],
    private readonly sign: Sign,
  ) {}

  /** The borrow-lend listings, then the first prices; undefined once all are in the state (or not yet possible). */
  setUpRequest(
    state: ExchangeState,
    nowMs: number,
    due: (name: string) => boolean,
  ): { kind: MarginRequestKind; transaction: SignedTransaction } | 'waiting' | undefined {
    let waiting = false;
    for (const params of marginListing) {
      const asset = state.assetsBySymbol.get(params.symbol!);
      if (asset === undefined) return 'waiting';
      if (asset.margin !== undefined) continue;
      if (due(`margin listing ${params.symbol}`)) {
        const transaction = this.sign(this.operator, [{ instruction: 'borrowLendMarketList', params }], nowMs);
        return { kind: 'borrow-lend-listing', transaction };
      }
      waiting = true;
    }
    for (const { symbol, first } of priced) {
      const margin = state.assetsBySymbol.get(symbol)?.margin;
      if (margin === undefined || margin.indexPrice > 0n) continue;
      if (due(`first price ${symbol}`)) return { kind: 'index-price', transaction: this.price(symbol, first, nowMs) };
      waiting = true;
    }
    const liquidity = waiting ? undefined : this.liquidityRequest(state, nowMs, due);
    return liquidity ?? (waiting ? 'waiting' : undefined);
  }

  /**
   * The operator's deep lend of each borrowable asset, so that traders can
   * borrow up to what their margin allows (and the stress figure and the
   * keeper have something to find): a deposit, then a lend of it.
   */
  private liquidityRequest(
    state: ExchangeState,
    nowMs: number,
    due: (name: string) => boolean,
  ): { kind: MarginRequestKind; transaction: SignedTransaction } | 'waiting' | undefined {
    const operator = state.accounts.get(this.operator.accountId);
    let waiting = false;
    for (const [symbol, quantity] of operatorLiquidity) {
      const asset = state.assetsBySymbol.get(symbol)!;
      const balance = operator?.balances[asset.index];
      if (balance !== undefined && balance.lendScaled > 0n) continue;
      waiting = true;
      if (!due(`liquidity ${symbol}`)) continue;
      if (balance === undefined || balance.available < BigInt(quantity) * 10n ** BigInt(asset.decimals)) {
        const params = {
          account: this.operator.accountId,
          symbol,
          quantity,
          blockchain: 'Solana',
          chainTransactionId: `sim-liquidity-${symbol}`,
        };
        return {
          kind: 'lend',
          transaction: this.sign(this.operator, [{ instruction: 'depositCredit', params }], nowMs),
        };
      }
      const params = { symbol, side: 'Lend', quantity };
      return {
        kind: 'lend',
        transaction: this.sign(this.operator, [{ instruction: 'borrowLendExecute', params }], nowMs),
      };
    }
    return waiting ? 'waiting' : undefined;
  }

  request(kind: MarginRequestKind, state: ExchangeState, nowMs: number): SignedTransaction {
    const trader = this.random.pick(this.traders);
    switch (kind) {
      case 'index-price':
        return this.movePrice(state, nowMs);
      case 'lend':
        return this.lend(state, trader, nowMs);
      case 'borrow':
        return this.borrow(state, trader, nowMs);
      case 'margin-order':
        return this.sign(trader, [this.marginOrder(state)], nowMs);
      case 'liquidate':
        return this.liquidate(state, nowMs);
      case 'coverage-deposit': {
        const params = { symbol: 'USDC', quantity: String(1 + this.random.below(5_000)) };
        return this.sign(trader, [{ instruction: 'coveragePoolDeposit', params }], nowMs);
      }
      default:
        return this.movePrice(state, nowMs);
    }
  }

  private price(symbol: string, price: string, publishedAtMs: number): SignedTransaction {
    const params = { symbol, price, publishedAtMs: String(publishedAtMs) };
    return this.sign(this.operator, [{ instruction: 'indexPriceUpdate', params }], publishedAtMs);
  }

  /**
   * A move of 5 to 25 % in the asset's current trend (which turns now and
   * then, so that borrowers meet runs against them), often 29 %, sometimes
   * 45 % (refused beyond the listing's 30 %); kept within a range; sometimes
   * stale.
   */
  private movePrice(state: ExchangeState, nowMs: number): SignedTransaction {
    const which = this.random.below(priced.length);
    const { symbol, low, high } = priced[which]!;
    const current = state.assetsBySymbol.get(symbol)?.margin?.indexPrice ?? 0n;
    if (this.random.chance(0.2)) this.trends[which] = -this.trends[which]!;
    const size = this.random.chance(0.05) ? 450 : this.random.chance(0.25) ? 290 : this.random.between(50, 250);
    let price = (current * BigInt(1_000 + this.trends[which]! * size)) / 1_000n;
    price = price < low ? low : price > high ? high : price;
    const publishedAtMs = this.random.chance(0.03) ? nowMs - 60_000 : nowMs;
    const params = {
      symbol,
      price: decimalText(price === 0n ? 100n * wad : price, 18),
      publishedAtMs: String(publishedAtMs),
    };
    return this.sign(this.operator, [{ instruction: 'indexPriceUpdate', params }], nowMs);
  }

  private asset(state: ExchangeState): Asset | undefined {
    return state.assetsBySymbol.get(this.random.pick(marginListing).symbol!);
  }

  /** Lends part of what the trader has available (repaying a borrow of it first), or a random amount. */
  private lend(state: ExchangeState, trader: MarginParticipant, nowMs: number): SignedTransaction {
    const account = state.accounts.get(trader.accountId);
    const borrowed = account?.balances.find((balance) => balance !== undefined && balance.borrowScaled > 0n);
    const asset = borrowed !== undefined && this.random.chance(0.5) ? borrowed.asset : this.asset(state);
    const available = asset === undefined ? 0n : (account?.balances[asset.index]?.available ?? 0n);
    let units = (available * BigInt(this.random.between(1, 60))) / 100n;
    if (borrowed !== undefined && asset === borrowed.asset && this.random.chance(0.5))
      units = borrowedUnits(borrowed, nowMs) + 1n;
    if (units === 0n) units = 1n;
    const params = {
      symbol: asset?.symbol ?? 'USDC',
      side: 'Lend',
      quantity: decimalText(units, asset?.decimals ?? 6),
    };
    return this.sign(trader, [{ instruction: 'borrowLendExecute', params }], nowMs);
  }

  /** Borrows 70 to 102 % of the largest borrow its margin allows, mostly within what the pool can lend. */
  private borrow(state: ExchangeState, trader: MarginParticipant, nowMs: number): SignedTransaction {
    const asset = this.asset(state);
    const account = state.accounts.get(trader.accountId);
    let units = BigInt(1 + this.random.below(1_000));
    if (asset !== undefined && account !== undefined && asset.margin !== undefined) {
      const fits = (borrow: bigint) =>
        meetsInitialMargin(accountHealth(state, account, nowMs, [{ asset, heldUnits: borrow, borrowedUnits: borrow }]));
      let lowest = 0n;
      let highest = 1n;
      while (fits(highest) && highest < 10n ** 30n) highest *= 2n;
      while (highest - lowest > 1n) {
        const middle = (lowest + highest) / 2n;
        if (fits(middle)) lowest = middle;
        else highest = middle;
      }
      units = (lowest * BigInt(this.random.between(70, 102))) / 100n + 1n;
      // Within what the pool can lend, mostly: beyond it the borrow waits for lenders (INSUFFICIENT_SUPPLY).
      const cash = (asset.margin.lendingPool.cashUnits * BigInt(this.random.between(10, 85))) / 100n;
      if (cash > 0n && cash < units && this.random.chance(0.9)) units = cash;
    }
    const params = {
      symbol: asset?.symbol ?? 'SOL',
      side: 'Borrow',
      quantity: decimalText(units, asset?.decimals ?? 9),
    };
    return this.sign(trader, [{ instruction: 'borrowLendExecute', params }], nowMs);
  }

  /** A limit order near the index price carrying margin flags, often bigger than the trader holds. */
  private marginOrder(state: ExchangeState): MarginGroup {
    const random = this.random;
    const [symbol, base, tickDecimals, stepDecimals] = random.pick([
      ['SOL_USDC', 'SOL', 2, 2],
      ['BTC_USDC', 'BTC', 1, 5],
    ] as const);
    const index = state.assetsBySymbol.get(base)?.margin?.indexPrice ?? 0n;
    const ticks = (index * 10n ** BigInt(tickDecimals)) / wad;
    const priceTicks = ticks + (ticks * BigInt(random.between(-30, 30))) / 1_000n;
    const baseUnits = base === 'SOL' ? BigInt(1 + random.below(4_000)) : BigInt(1 + random.below(3_000));
    const params: Record<string, string> = {
      symbol,
      side: random.pick(['Bid', 'Ask']),
      orderType: 'Limit',
      price: decimalText(priceTicks > 0n ? priceTicks : 1n, tickDecimals),
      quantity: decimalText(baseUnits, stepDecimals),
      timeInForce: random.pick(['GTC', 'IOC']),
    };
    for (const flag of ['autoBorrow', 'autoBorrowRepay', 'autoLend', 'autoLendRedeem'])
      if (random.chance(0.5)) params[flag] = 'true';
    return { instruction: 'orderExecute', params };
  }

  /** The keeper liquidates an account it sees below maintenance; sometimes (refused) a healthy one. */
  private liquidate(state: ExchangeState, nowMs: number): SignedTransaction {
    const unhealthy = this.traders.filter((trader) => {
      const account = state.accounts.get(trader.accountId);
      return account !== undefined && isLiquidatable(state, account, nowMs);
    });
    const target =
      unhealthy.length > 0 && this.random.chance(0.9) ? this.random.pick(unhealthy) : this.random.pick(this.traders);
    return this.sign(this.keeper, [{ instruction: 'liquidate', params: { account: target.accountId } }], nowMs);
  }
}
