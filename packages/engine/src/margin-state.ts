/**
 * The margin part of the state (docs/margin.md): per borrowable asset its
 * listing parameters, price, lending pool and coverage pool; per account its
 * settings. Per (account, asset) lend and borrow positions live on Balance
 * (state.ts) as scaled amounts. All of it is encoded by the state codec.
 */
import type { Account } from './state.js';

/** The listing parameters of a borrowable asset; every fraction in wad (10^-18). */
export interface MarginParameters {
  readonly collateralWeight: bigint;
  /** The weight falls as the position grows: weight / (1 + haircutPenalty × √notional). */
  readonly haircutPenalty: bigint;
  readonly imfBase: bigint;
  readonly imfFactor: bigint;
  readonly mmfBase: bigint;
  readonly mmfFactor: bigint;
  /** Yearly borrow rate at zero utilisation, at the optimal utilisation, and at 100 %. */
  readonly minimumBorrowRate: bigint;
  readonly optimalUtilization: bigint;
  readonly optimalBorrowRate: bigint;
  readonly maximumBorrowRate: bigint;
  /** Borrows and redemptions that would take utilisation above this are refused. */
  readonly maxUtilization: bigint;
  /** The exchange's share of the interest: lend rate = borrow rate × utilisation × (1 − lendFee). */
  readonly lendFee: bigint;
  /** The largest relative move of one index price update. */
  readonly maxPriceMove: bigint;
  /** Paid by a liquidated account to the coverage pool, as a fraction of the debt value repaid. */
  readonly liquidationFee: bigint;
  /** Liquidation orders trade at most this fraction away from the index price. */
  readonly liquidationBand: bigint;
  /** The stress figure moves this asset's price against borrowers by this fraction. */
  readonly stressShock: bigint;
  readonly coveragePoolWithdrawalDelayMs: number;
}

export interface LendingPool {
  /** Cumulative indexes, wad, 1.0 at listing: a scaled borrow × borrowIndex is the debt now. */
  borrowIndex: bigint;
  supplyIndex: bigint;
  /** The log time the indexes were last brought forward to. */
  accruedAtMs: number;
  totalBorrowScaled: bigint;
  totalSupplyScaled: bigint;
  /** Units the pool holds: lent in, not borrowed out. */
  cashUnits: bigint;
  /**
   * Starts at 0 and grows by one each time a socialised loss wipes out every
   * lend (docs/margin.md, "Supply epochs"); a lend opened in an earlier epoch
   * is worth nothing and left out of totalSupplyScaled.
   */
  supplyEpoch: number;
}

export interface CoverageWithdrawalRequest {
  readonly shares: bigint;
  readonly requestedAtMs: number;
}

export interface CoveragePool {
  holdingsUnits: bigint;
  totalShares: bigint;
  /** Shares by account; zero holdings are removed. */
  readonly shares: Map<Account, bigint>;
  readonly withdrawalRequests: Map<Account, CoverageWithdrawalRequest>;
}

export interface AssetMargin {
  readonly parameters: MarginParameters;
  /** Index price in the settlement asset per whole unit, wad; zero before the first update. */
  indexPrice: bigint;
  /** The publishedAtMs of the last accepted update (0 before the first). */
  priceUpdatedAtMs: number;
  readonly lendingPool: LendingPool;
  readonly coveragePool: CoveragePool;
}

export interface AccountSettings {
  autoBorrowSettlements: boolean;
  autoLend: boolean;
  autoRepayBorrows: boolean;
  /** Wad; zero means no limit beyond the assets' IMF. */
  leverageLimit: bigint;
}

export function newAccountSettings(): AccountSettings {
  return { autoBorrowSettlements: false, autoLend: false, autoRepayBorrows: false, leverageLimit: 0n };
}

/** The settlement asset: margin values, prices and perpetual settlements are in it; its price is 1. */
export const settlementAssetSymbol = 'USDC';
