/**
 * What the margin instructions return and report (docs/margin.md,
 * "Results and events"). Amounts are bigint units of the named asset;
 * values are settlement-asset units; prices and fractions are wad (10^-18).
 */
import type { PriceView } from './index-prices.js';
import type { PositionLiquidationRecord } from './perps/perp-liquidation.js';

export interface BorrowLendView {
  readonly account: string;
  readonly asset: string;
  readonly side: 'Borrow' | 'Lend';
  readonly quantityUnits: bigint;
  /** The part that repaid a borrow (Lend) or redeemed a lend (Borrow) first. */
  readonly offsetUnits: bigint;
  /** The position after it: positive when lent, negative when borrowed. */
  readonly netQuantityUnits: bigint;
}

export interface AccountSettingsView {
  readonly account: string;
  readonly autoBorrowSettlements: boolean;
  readonly autoLend: boolean;
  readonly autoRepayBorrows: boolean;
  readonly leverageLimit: bigint;
}

/** One liquidation's outcome, step by step (docs/margin.md, "Liquidation"). */
export interface LiquidationView {
  readonly account: string;
  readonly liquidator: string;
  readonly cancelledOrders: number;
  /** Per asset: units sold (negative) or bought (positive) through the book by system orders. */
  readonly bookTrades: ReadonlyArray<{ readonly asset: string; readonly units: bigint }>;
  /** Per debt asset: units repaid by the account, by the coverage pool, and written off on lenders. */
  readonly debts: ReadonlyArray<{
    readonly asset: string;
    readonly repaidByAccountUnits: bigint;
    readonly paidByCoveragePoolUnits: bigint;
    readonly socialisedUnits: bigint;
  }>;
  /**
   * Per asset, what its coverage pool took over at the bankruptcy price (the backstop): units of the
   * balance and coverage shares of that pool (burnt).
   */
  readonly backstop: ReadonlyArray<{ readonly asset: string; readonly units: bigint; readonly shares: bigint }>;
  /**
   * The perpetual positions' part (docs/perps.md, "Liquidation and ADL"): each change of the account's
   * positions, by system order type, in order; the positions' budget (notional at the mark) and what the
   * book closed of it. Present only when the account held a position at the step.
   */
  readonly positions?: readonly PositionLiquidationRecord[];
  readonly positionBudgetUnits?: bigint;
  readonly positionClosedUnits?: bigint;
  /** The liquidation fees paid to the settlement asset's coverage pool, in settlement units. */
  readonly feeUnits: bigint;
  /** The account's health at the entry, before the step: the justification (net equity < maintenance). */
  readonly netEquityBefore: bigint;
  readonly maintenanceRequirementBefore: bigint;
  /** The step's budget (0 when netting alone restored the account) and the debt value the book closed. */
  readonly budgetValue: bigint;
  readonly closedValue: bigint;
  /** Whether the step ended in the backstop. */
  readonly backstopped: boolean;
  /** The account's health after the step (settlement units). */
  readonly netEquityAfter: bigint;
  readonly maintenanceRequirementAfter: bigint;
  readonly initialRequirementAfter: bigint;
}

export interface CoveragePoolView {
  readonly account: string;
  readonly asset: string;
  readonly action: 'deposit' | 'withdrawRequest' | 'withdraw';
  readonly units: bigint;
  readonly shares: bigint;
  readonly poolHoldingsUnits: bigint;
  readonly poolTotalShares: bigint;
}

export type MarginResultValue =
  | { readonly kind: 'borrowLend'; readonly borrowLend: BorrowLendView }
  | { readonly kind: 'accountUpdated'; readonly settings: AccountSettingsView }
  | { readonly kind: 'price'; readonly price: PriceView }
  | { readonly kind: 'liquidation'; readonly liquidation: LiquidationView }
  | { readonly kind: 'coveragePool'; readonly coveragePool: CoveragePoolView };

/**
 * One change of an account's lend or borrow position in an asset (docs/margin.md,
 * "Results and events"): what moved, the scaled position after it and the
 * pool's indexes at that moment, so a reader can value the position at every
 * change and the interest between two changes without reading the state.
 * WriteOff is a debt cleared by a socialised loss, or a lend of an earlier
 * supply epoch cleared (0 units, supply index 0; docs/margin.md, section 5.2a).
 */
export interface LendingMovementView {
  readonly account: string;
  readonly asset: string;
  readonly movement: 'Borrow' | 'BorrowRepay' | 'Lend' | 'LendRedeem' | 'WriteOff';
  readonly units: bigint;
  readonly lendScaled: bigint;
  readonly borrowScaled: bigint;
  readonly borrowIndex: bigint;
  readonly supplyIndex: bigint;
}

export type MarginEvent =
  | { readonly type: 'borrowLendMarketListed'; readonly asset: string }
  | { readonly type: 'lendingMovement'; readonly movement: LendingMovementView }
  | { readonly type: 'indexPrice'; readonly price: PriceView }
  | { readonly type: 'borrowLend'; readonly borrowLend: BorrowLendView }
  | { readonly type: 'accountUpdated'; readonly settings: AccountSettingsView }
  | { readonly type: 'liquidation'; readonly liquidation: LiquidationView }
  /** Bad debt no coverage pool could pay, written off on the asset's lenders by lowering the supply index. */
  | { readonly type: 'socialisedLoss'; readonly asset: string; readonly units: bigint; readonly supplyIndex: bigint }
  | { readonly type: 'coveragePool'; readonly coveragePool: CoveragePoolView };
