/**
 * Cross-margin health (docs/margin.md, "Health"), Backpack's gross model. Per
 * asset, what the account holds (available + locked + lent; pending
 * withdrawals are already leaving and count for nothing) is collateral worth
 * value × weight(value); what it borrows is a liability worth its value,
 * which carries initial and maintenance requirements of value × IMF(value)
 * and value × MMF(value). Net equity = Σ collateral − Σ liabilities.
 *
 * Rounding favours solvency: collateral values and weights round down,
 * liabilities, fractions and requirements round up. The cost is O(the
 * account's assets); perpetual positions will add their unrealised PnL to
 * net equity and their notional to the requirements in accumulate() below.
 */
import { collateralShareUnits, coverageShareWeight } from './coverage-pool.js';
import { borrowedUnits, lentUnits } from './lending-pool.js';
import { powerOfTen, valueUnits } from './index-prices.js';
import {
  divideDown,
  divideUp,
  fractionSquareRoot,
  maximum,
  minimum,
  multiplyDown,
  multiplyDownReduced,
  multiplyUp,
  multiplyUpReduced,
  ratioUp,
  reducedFraction,
  wad,
  type ReducedFraction,
} from './margin-fixed-point.js';
import { settlementAssetSymbol, type AssetMargin, type MarginParameters } from './margin-state.js';
import type { Account, Asset, Balance, ExchangeState } from './state.js';
import { positionsHealth } from './perps/perp-health.js';

export interface AccountHealth {
  /** Σ weighted collateral value, settlement units, rounded down. */
  readonly collateralValue: bigint;
  /** Σ liability value, rounded up. */
  readonly liabilityValue: bigint;
  /** collateralValue − liabilityValue; negative when the account is bankrupt at the index prices. */
  readonly netEquity: bigint;
  readonly initialRequirement: bigint;
  readonly maintenanceRequirement: bigint;
}

/** What the initial margin is checked on: an AccountHealth without the maintenance requirement. */
export type InitialMarginHealth = Pick<AccountHealth, 'netEquity' | 'initialRequirement'>;

/** A change to one asset's held and borrowed quantities, for checking an instruction before it applies. */
export interface HealthAdjustment {
  readonly asset: Asset;
  readonly heldUnits: bigint;
  readonly borrowedUnits: bigint;
}

export function settlementDecimals(state: ExchangeState): number {
  return state.assetsBySymbol.get(settlementAssetSymbol)?.decimals ?? 6;
}

/** A value in settlement units as a notional in whole settlement units (wad), rounded as asked. */
function notional(value: bigint, decimals: number, roundUp: boolean): bigint {
  const scale = powerOfTen(decimals);
  return roundUp ? divideUp(value * wad, scale) : divideDown(value * wad, scale);
}

/** weight / (1 + haircutPenalty × √notional): the collateral weight falls as the position grows; rounded down. */
export function collateralWeight(parameters: MarginParameters, value: bigint, decimals: number): bigint {
  if (parameters.haircutPenalty === 0n) return parameters.collateralWeight;
  const penalty = multiplyUp(parameters.haircutPenalty, fractionSquareRoot(notional(value, decimals, true), true));
  return divideDown(parameters.collateralWeight * wad, wad + penalty);
}

/** max(base, factor × √notional), at least 1 / leverageLimit when one is set, at most 1; rounded up. */
export function marginFraction(
  base: bigint,
  factor: bigint,
  value: bigint,
  decimals: number,
  leverageLimit: bigint,
): bigint {
  // The square root is skipped when the factor is zero: it is the costliest step of a health check.
  let fraction = base;
  if (factor !== 0n)
    fraction = maximum(base, multiplyUp(factor, fractionSquareRoot(notional(value, decimals, true), true)));
  if (leverageLimit > 0n) fraction = maximum(fraction, ratioUp(wad, leverageLimit));
  return minimum(fraction, wad);
}

/**
 * The collateral value of the account's coverage-pool shares of `asset`'s
 * pool (docs/margin.md, section 9a): the units they redeem now (rounded
 * down), valued at the index price (rounded down), times the asset's weight
 * for that value times coverageShareWeight, each rounded down.
 */
export function coverageShareCollateral(account: Account, asset: Asset, decimals: number): bigint {
  const margin = asset.margin!;
  const units = collateralShareUnits(margin.coveragePool, account);
  if (units === 0n) return 0n;
  const value = valueUnits(units, asset, margin.indexPrice, decimals, false);
  return multiplyDown(value, multiplyDown(collateralWeight(margin.parameters, value, decimals), coverageShareWeight));
}

/** One shared empty list: a default `[]` would allocate on every health pass. */
const noAdjustments: readonly HealthAdjustment[] = [];

/**
 * One priced asset's part of a health pass: the held and borrowed units it
 * was computed from and its terms of the four sums (coverage shares, which
 * no adjustment moves, stay in the totals). The sums are plain bigint sums
 * of these terms, so replacing one asset's terms gives exactly what a whole
 * pass with that asset's new quantities gives.
 */
export interface AssetTerms {
  readonly held: bigint;
  readonly debt: bigint;
  readonly collateral: bigint;
  readonly liability: bigint;
  readonly initial: bigint;
  readonly maintenance: bigint;
}

const zeroTerms: AssetTerms = { held: 0n, debt: 0n, collateral: 0n, liability: 0n, initial: 0n, maintenance: 0n };

/** A health pass that keeps each asset's terms, so a pass with a few quantities changed recomputes only those. */
export interface HealthTerms {
  readonly health: AccountHealth;
  /** By asset index; undefined for an asset that counts for nothing (not borrowable, no price, beyond the balances). */
  readonly assets: ReadonlyArray<AssetTerms | undefined>;
}

/** A listing's constant fractions in reduced form (margin-fixed-point.ts): the same products, in fewer words. */
interface ReducedParameters {
  readonly parameters: MarginParameters;
  readonly collateralWeight: ReducedFraction;
  readonly imfBase: ReducedFraction;
  readonly mmfBase: ReducedFraction;
}

/**
 * By asset index, the reduced fractions of the parameters last seen for it. A listing's parameters object never
 * changes, so an entry is valid while it names the same object (checked on every use: another state, or a relisting,
 * only recomputes it). Not a WeakMap: the engine keeps nothing whose contents depend on garbage collection.
 */
const reducedByAssetIndex: Array<ReducedParameters | undefined> = [];

function reducedParameters(asset: Asset, parameters: MarginParameters): ReducedParameters {
  const cached = reducedByAssetIndex[asset.index];
  if (cached !== undefined && cached.parameters === parameters) return cached;
  const reduced = {
    parameters,
    collateralWeight: reducedFraction(parameters.collateralWeight),
    imfBase: reducedFraction(parameters.imfBase),
    mmfBase: reducedFraction(parameters.mmfBase),
  };
  reducedByAssetIndex[asset.index] = reduced;
  return reduced;
}

/** value × fraction rounded up, by the reduced base fraction when the margin fraction is the base (the usual case). */
function requirement(value: bigint, fraction: bigint, base: ReducedFraction): bigint {
  return fraction === base.fraction ? multiplyUpReduced(value, base) : multiplyUp(value, fraction);
}

/** Weighted collateral value of `held` units (nothing unless positive), rounded down. */
function heldCollateral(asset: Asset, margin: AssetMargin, held: bigint, decimals: number): bigint {
  if (held <= 0n) return 0n;
  const value = valueUnits(held, asset, margin.indexPrice, decimals, false);
  const parameters = margin.parameters;
  // Without a haircut the weight is the listing's constant: its reduced form gives the same product.
  if (parameters.haircutPenalty === 0n)
    return multiplyDownReduced(value, reducedParameters(asset, parameters).collateralWeight);
  return multiplyDown(value, collateralWeight(parameters, value, decimals));
}

function assetTerms(
  asset: Asset,
  margin: AssetMargin,
  held: bigint,
  debt: bigint,
  decimals: number,
  leverageLimit: bigint,
  // False for an initial margin check only: the maintenance term is then left at 0 (one product fewer).
  withMaintenance: boolean,
  collateral = heldCollateral(asset, margin, held, decimals),
): AssetTerms {
  if (debt <= 0n) return { held, debt, collateral, liability: 0n, initial: 0n, maintenance: 0n };
  const parameters = margin.parameters;
  const value = valueUnits(debt, asset, margin.indexPrice, decimals, true);
  const initialFraction = marginFraction(parameters.imfBase, parameters.imfFactor, value, decimals, leverageLimit);
  const reduced = reducedParameters(asset, parameters);
  const initial = requirement(value, initialFraction, reduced.imfBase);
  if (!withMaintenance) return { held, debt, collateral, liability: value, initial, maintenance: 0n };
  const maintenanceFraction = marginFraction(parameters.mmfBase, parameters.mmfFactor, value, decimals, 0n);
  const maintenance = requirement(value, maintenanceFraction, reduced.mmfBase);
  return { held, debt, collateral, liability: value, initial, maintenance };
}

function healthOf(
  collateralValue: bigint,
  liabilityValue: bigint,
  initial: bigint,
  maintenance: bigint,
): AccountHealth {
  return {
    collateralValue,
    liabilityValue,
    netEquity: collateralValue - liabilityValue,
    initialRequirement: initial,
    maintenanceRequirement: maintenance,
  };
}

/**
 * One asset's terms of the collateral, liability and initial requirement sums
 * for `held` and `debt` units (zero for an asset that counts for nothing: not
 * borrowable, or no price yet): what a health pass adds for it, coverage
 * shares aside. For an initial margin check: no maintenance term.
 */
export function initialTermsAt(
  state: ExchangeState,
  account: Account,
  asset: Asset,
  held: bigint,
  debt: bigint,
): Pick<AssetTerms, 'collateral' | 'liability' | 'initial'> {
  const margin = asset.margin;
  if (margin === undefined || margin.indexPrice === 0n) return zeroTerms;
  return assetTerms(asset, margin, held, debt, settlementDecimals(state), account.settings.leverageLimit, false);
}

/** What a balance holds at `timeMs` (available + locked + lent; pending withdrawals count for nothing). */
export function heldUnits(balance: Balance | undefined, timeMs: number): bigint {
  if (balance === undefined) return 0n;
  // Most balances have nothing locked and nothing lent: a zero term is not added (no new bigint for the same sum).
  let held = balance.available;
  if (balance.locked !== 0n) held += balance.locked;
  const lent = lentUnits(balance, timeMs);
  if (lent !== 0n) held += lent;
  return held;
}

/** What a balance owes at `timeMs`, rounded up. */
export function debtUnits(balance: Balance | undefined, timeMs: number): bigint {
  return balance === undefined ? 0n : borrowedUnits(balance, timeMs);
}

/** The account's health at `timeMs` and the current index prices, with `adjustments` applied first. */
export function accountHealth(
  state: ExchangeState,
  account: Account,
  timeMs: number,
  adjustments: readonly HealthAdjustment[] = noAdjustments,
): AccountHealth {
  return healthPass(state, account, timeMs, adjustments, undefined, -1, -1, true);
}

/**
 * accountHealth's net equity and initial requirement without `asset`'s own
 * terms (its coverage shares still count) and without the terms of the
 * account's position on the market `marketIndex`. The sums are plain sums of
 * per-asset and per-position terms, so adding initialTermsAt for any held
 * and debt of `asset` and a position's terms (perp-health.ts
 * addPositionTerms) gives exactly the whole pass with those quantities and
 * that position: the check of a perpetual's order (perp-orders.ts), which
 * moves only USDC and the one position, computes neither's current terms,
 * nor any maintenance term.
 */
export function healthWithout(
  state: ExchangeState,
  account: Account,
  timeMs: number,
  asset: Asset,
  marketIndex: number,
): InitialMarginHealth {
  return healthPass(state, account, timeMs, noAdjustments, undefined, asset.index, marketIndex, false);
}

/** accountHealth without adjustments, keeping each asset's terms for adjustedHealth. */
export function accountHealthTerms(state: ExchangeState, account: Account, timeMs: number): HealthTerms {
  // Sized up front (holes read as undefined): an empty array grown by its first store reserves 17 slots, and this
  // runs for every margin order.
  const assets = new Array<AssetTerms | undefined>(account.balances.length);
  return { health: healthPass(state, account, timeMs, noAdjustments, assets, -1, -1, true), assets };
}

function healthPass(
  state: ExchangeState,
  account: Account,
  timeMs: number,
  adjustments: readonly HealthAdjustment[],
  keep: Array<AssetTerms | undefined> | undefined,
  // The asset (index) whose own terms, and the market (index) whose position's terms, are left out; −1: none.
  excludedAssetIndex: number,
  excludedMarketIndex: number,
  // False: the maintenance terms are not computed and the result's maintenance requirement is 0 (healthWithout).
  withMaintenance: boolean,
): AccountHealth {
  const decimals = settlementDecimals(state);
  const leverageLimit = account.settings.leverageLimit;
  let collateralValue = 0n;
  let liabilityValue = 0n;
  let initialRequirement = 0n;
  let maintenanceRequirement = 0n;
  let count = account.balances.length;
  for (let other = 0; other < adjustments.length; other += 1) {
    const index = adjustments[other]!.asset.index;
    if (index >= count) count = index + 1;
  }
  for (let index = 0; index < count; index += 1) {
    const asset = state.assets[index]!;
    const margin = asset.margin;
    // An asset that is not borrowable, or has no price yet, is worth nothing as collateral (and cannot be borrowed).
    if (margin === undefined || margin.indexPrice === 0n) continue;
    if (margin.coveragePool.shares.size > 0) collateralValue += coverageShareCollateral(account, asset, decimals);
    if (index === excludedAssetIndex) continue;
    const balance = account.balances[index];
    let held = heldUnits(balance, timeMs);
    let debt = debtUnits(balance, timeMs);
    for (let other = 0; other < adjustments.length; other += 1) {
      const adjustment = adjustments[other]!;
      if (adjustment.asset !== asset) continue;
      held += adjustment.heldUnits;
      debt += adjustment.borrowedUnits;
    }
    // Nothing held and nothing owed (most assets of most accounts): every term is zero, so there is nothing to add.
    if (keep === undefined && held <= 0n && debt <= 0n) continue;
    const terms = assetTerms(asset, margin, held, debt, decimals, leverageLimit, withMaintenance);
    if (keep !== undefined) keep[index] = terms;
    collateralValue += terms.collateral;
    liabilityValue += terms.liability;
    initialRequirement += terms.initial;
    maintenanceRequirement += terms.maintenance;
  }
  // Perpetual positions (docs/perps.md, "Health"): unrealised PnL at the mark, and their requirements.
  const positions = positionsHealth(state, account, excludedMarketIndex, withMaintenance);
  collateralValue += positions.gainUnits;
  liabilityValue += positions.lossUnits;
  initialRequirement += positions.initialRequirement;
  maintenanceRequirement += positions.maintenanceRequirement;
  return healthOf(collateralValue, liabilityValue, initialRequirement, maintenanceRequirement);
}

/**
 * accountHealth(state, account, timeMs, adjustments) from a pass over the
 * same account, time and prices (`base`): each adjusted asset's terms are
 * replaced by those of its new quantities, and only the terms whose
 * quantity moved are recomputed. Exactly equal to the whole pass (the
 * seeded margin test compares them after every step).
 */
export function adjustedHealth(
  state: ExchangeState,
  account: Account,
  base: HealthTerms,
  adjustments: readonly HealthAdjustment[],
): AccountHealth {
  const decimals = settlementDecimals(state);
  let { collateralValue, liabilityValue, initialRequirement, maintenanceRequirement } = base.health;
  for (let index = 0; index < adjustments.length; index += 1) {
    const asset = adjustments[index]!.asset;
    const margin = asset.margin;
    if (margin === undefined || margin.indexPrice === 0n || firstIndexOf(adjustments, asset) !== index) continue;
    let heldDelta = 0n;
    let debtDelta = 0n;
    for (let other = index; other < adjustments.length; other += 1) {
      if (adjustments[other]!.asset !== asset) continue;
      heldDelta += adjustments[other]!.heldUnits;
      debtDelta += adjustments[other]!.borrowedUnits;
    }
    const before = base.assets[asset.index] ?? zeroTerms;
    const held = before.held + heldDelta;
    const collateral = heldDelta === 0n ? before.collateral : heldCollateral(asset, margin, held, decimals);
    collateralValue += collateral - before.collateral;
    if (debtDelta === 0n) continue;
    const leverageLimit = account.settings.leverageLimit;
    const debt = before.debt + debtDelta;
    const after = assetTerms(asset, margin, held, debt, decimals, leverageLimit, true, collateral);
    liabilityValue += after.liability - before.liability;
    initialRequirement += after.initial - before.initial;
    maintenanceRequirement += after.maintenance - before.maintenance;
  }
  return healthOf(collateralValue, liabilityValue, initialRequirement, maintenanceRequirement);
}

/**
 * Whether adjustedHealth(base, [spend asset: held −spend; receive asset: held
 * +receiveUnits]), with no debt moved, surely meets the initial margin, for
 * any spend ≥ 0 (a margin order's filled end when it borrows nothing),
 * without valuing it. With no debt moved the requirements stay the base's and
 * net equity moves only by the two assets' collateral terms. The spend
 * asset's term cannot fall below zero (a collateral value is never negative),
 * so it loses at most its whole term; the receive asset's term cannot fall,
 * as its held units grow by receiveUnits ≥ 0 and, without a haircut, its
 * collateral (the units' value rounded down, times the listing's constant
 * weight rounded down; 0 for units ≤ 0) is non-decreasing in the units,
 * each step being non-decreasing. So a surplus over the initial
 * requirement that covers the spend asset's whole term is enough. With a
 * haircut the weight falls as the value grows and its rounding need not keep
 * the product monotone: false. False says nothing (the caller values it).
 */
export function surplusCoversSpend(
  base: HealthTerms,
  spendAsset: Asset,
  receiveAsset: Asset,
  receiveUnits: bigint,
): boolean {
  if (receiveUnits < 0n) return false;
  const receiveMargin = receiveAsset.margin;
  if (receiveUnits > 0n && receiveMargin !== undefined && receiveMargin.parameters.haircutPenalty !== 0n) return false;
  const spendCollateral = base.assets[spendAsset.index]?.collateral ?? 0n;
  return base.health.netEquity - base.health.initialRequirement >= spendCollateral;
}

function firstIndexOf(adjustments: readonly HealthAdjustment[], asset: Asset): number {
  let index = 0;
  while (adjustments[index]!.asset !== asset) index += 1;
  return index;
}

/** Whether the account meets its initial margin (after `adjustments`). */
export function meetsInitialMargin(health: AccountHealth): boolean {
  return health.netEquity >= health.initialRequirement;
}

/** Whether a liquidation is justified: the account borrows or holds a position, and is below maintenance. */
export function isLiquidatable(state: ExchangeState, account: Account, timeMs: number): boolean {
  if (account.borrowCount === 0 && account.positions.size === 0) return false;
  const health = accountHealth(state, account, timeMs);
  return health.netEquity < health.maintenanceRequirement;
}
