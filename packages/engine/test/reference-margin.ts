/**
 * The margin reference model's lending pools, prices and health, written
 * from docs/margin.md (sections 4 to 6) and NOT from the engine: interest by
 * cumulative indexes brought forward in whole seconds at each touch, scaled positions, the
 * gross cross-margin health. Part of the naive margin reference model
 * (reference-margin-model.ts).
 */
import type { BorrowLendMarketListing } from '../src/instruction.js';
import { ceilDiv, floorDiv, fractionRoot, larger, smaller, WAD, wadOf, YEAR_SECONDS } from './reference-margin-math.js';
import {
  type MarginData,
  type ModelMarginParameters,
  type ModelPool,
  type ModelPosition,
  positionOf,
  SETTLEMENT,
  settingsOf,
} from './reference-margin-state.js';
import { pow10 } from './reference-decimal.js';
import { balanceEntry, fail, type ModelData, type Rejected } from './reference-state.js';

// ----- listing (5.1) ----------------------------------------------------------

const fractionNames = [
  'collateralWeight',
  'haircutPenalty',
  'imfBase',
  'imfFactor',
  'mmfBase',
  'mmfFactor',
  'minimumBorrowRate',
  'optimalUtilization',
  'optimalBorrowRate',
  'maximumBorrowRate',
  'maxUtilization',
  'lendFee',
  'maxPriceMove',
  'liquidationFee',
  'liquidationBand',
  'stressShock',
] as const;

function parametersOf(listing: BorrowLendMarketListing): ModelMarginParameters | Rejected {
  const values: Record<string, bigint> = {};
  for (const name of fractionNames) {
    const value = wadOf(listing[name]);
    if (value === undefined || value > 1000n * WAD) return fail('INVALID_INSTRUCTION');
    values[name] = value;
  }
  const p = values as unknown as Omit<ModelMarginParameters, 'coveragePoolWithdrawalDelayMs'>;
  const atMostOne = [p.collateralWeight, p.imfBase, p.mmfBase, p.maxUtilization, p.lendFee, p.maxPriceMove];
  const ordered =
    p.mmfBase <= p.imfBase &&
    p.mmfFactor <= p.imfFactor &&
    p.minimumBorrowRate <= p.optimalBorrowRate &&
    p.optimalBorrowRate <= p.maximumBorrowRate &&
    p.optimalUtilization > 0n &&
    p.optimalUtilization < WAD;
  const bands = [p.liquidationFee, p.liquidationBand, p.stressShock];
  if (!ordered || [...atMostOne, ...bands].some((value) => value > WAD)) return fail('INVALID_INSTRUCTION');
  return { ...p, coveragePoolWithdrawalDelayMs: listing.coveragePoolWithdrawalDelayMs };
}

export function listBorrowLend(
  data: ModelData,
  margin: MarginData,
  listing: BorrowLendMarketListing,
  logTimeMs: number,
): { ok: true; kind: 'listed'; symbol: string } | Rejected {
  if (!data.assets.some((asset) => asset.symbol === listing.symbol)) return fail('INVALID_ASSET');
  if (margin.pools.has(listing.symbol)) return fail('ALREADY_EXISTS');
  const parameters = parametersOf(listing);
  if ('ok' in parameters) return parameters;
  if (listing.symbol !== SETTLEMENT && !margin.pools.has(SETTLEMENT)) return fail('INVALID_INSTRUCTION');
  margin.pools.set(listing.symbol, {
    parameters,
    indexPrice: listing.symbol === SETTLEMENT ? WAD : 0n,
    publishedAtMs: 0,
    borrowIndex: WAD,
    supplyIndex: WAD,
    accruedAtMs: logTimeMs,
    totalBorrowScaled: 0n,
    totalSupplyScaled: 0n,
    cashUnits: 0n,
    supplyEpoch: 0,
  });
  margin.coverage.set(listing.symbol, { holdingsUnits: 0n, totalShares: 0n, shares: new Map(), requests: new Map() });
  return { ok: true, kind: 'listed', symbol: listing.symbol };
}

// ----- prices (4) -------------------------------------------------------------

export interface ModelPriceResult {
  readonly ok: true;
  readonly kind: 'price';
  readonly asset: string;
  readonly indexPrice: bigint;
  readonly publishedAtMs: number;
}

export function updatePrice(
  margin: MarginData,
  symbol: string,
  priceText: string,
  publishedAtMs: number,
  logTimeMs: number,
): ModelPriceResult | Rejected {
  const pool = margin.pools.get(symbol);
  if (pool === undefined || symbol === SETTLEMENT) return fail('PRICE_REJECTED');
  const price = wadOf(priceText);
  if (price === undefined || price === 0n || price >= 10n ** 12n * WAD) return fail('PRICE_REJECTED');
  if (publishedAtMs <= pool.publishedAtMs || publishedAtMs > logTimeMs) return fail('PRICE_REJECTED');
  if (pool.indexPrice > 0n) {
    const move = price > pool.indexPrice ? price - pool.indexPrice : pool.indexPrice - price;
    if (move * WAD > pool.indexPrice * pool.parameters.maxPriceMove) return fail('PRICE_REJECTED');
  }
  pool.indexPrice = price;
  pool.publishedAtMs = publishedAtMs;
  return { ok: true, kind: 'price', asset: symbol, indexPrice: price, publishedAtMs };
}

// ----- interest (5.2, 5.3) ----------------------------------------------------

export function totalBorrowed(pool: ModelPool, borrowIndex = pool.borrowIndex): bigint {
  return ceilDiv(pool.totalBorrowScaled * borrowIndex, WAD);
}

export function totalLent(pool: ModelPool, supplyIndex = pool.supplyIndex): bigint {
  return floorDiv(pool.totalSupplyScaled * supplyIndex, WAD);
}

function borrowRateAt(parameters: ModelMarginParameters, utilisation: bigint): bigint {
  const { minimumBorrowRate, optimalBorrowRate, maximumBorrowRate, optimalUtilization } = parameters;
  if (utilisation <= optimalUtilization)
    return minimumBorrowRate + ceilDiv((optimalBorrowRate - minimumBorrowRate) * utilisation, optimalUtilization);
  const beyond = smaller(utilisation, WAD) - optimalUtilization;
  return optimalBorrowRate + ceilDiv((maximumBorrowRate - optimalBorrowRate) * beyond, WAD - optimalUtilization);
}

/** Whole seconds of log time from the pool's accrual time to `timeMs` (docs/margin.md section 5.3). */
function secondsSince(pool: ModelPool, timeMs: number): bigint {
  return timeMs <= pool.accruedAtMs ? 0n : BigInt(timeMs - pool.accruedAtMs) / 1000n;
}

/** The pool's indexes brought forward by the whole seconds elapsed to `timeMs`, without storing them. */
export function indexesAt(pool: ModelPool, timeMs: number): { borrowIndex: bigint; supplyIndex: bigint } {
  const { borrowIndex, supplyIndex } = pool;
  const seconds = secondsSince(pool, timeMs);
  if (seconds === 0n || pool.totalBorrowScaled === 0n) return { borrowIndex, supplyIndex };
  const lent = totalLent(pool);
  const utilisation = lent === 0n ? 0n : floorDiv(totalBorrowed(pool) * WAD, lent);
  const borrowRate = borrowRateAt(pool.parameters, utilisation);
  const lendRate = floorDiv(floorDiv(borrowRate * utilisation, WAD) * (WAD - pool.parameters.lendFee), WAD);
  return {
    borrowIndex: borrowIndex + ceilDiv(borrowIndex * borrowRate * seconds, WAD * YEAR_SECONDS),
    supplyIndex: supplyIndex + floorDiv(supplyIndex * lendRate * seconds, WAD * YEAR_SECONDS),
  };
}

/** Brings the pool's indexes forward by the whole seconds elapsed and moves accruedAtMs by exactly those seconds. */
export function accrue(pool: ModelPool, timeMs: number): void {
  const seconds = secondsSince(pool, timeMs);
  const { borrowIndex, supplyIndex } = indexesAt(pool, timeMs);
  pool.borrowIndex = borrowIndex;
  pool.supplyIndex = supplyIndex;
  pool.accruedAtMs += Number(seconds) * 1000;
}

/** Brings forward every pool the account lends to or borrows from (docs/margin.md section 5.3). */
export function accrueAccountPools(margin: MarginData, account: string, timeMs: number): void {
  for (const [key, position] of margin.positions) {
    if (!key.startsWith(`${account}/`) || (position.lendScaled === 0n && position.borrowScaled === 0n)) continue;
    accrue(margin.pools.get(key.slice(account.length + 1))!, timeMs);
  }
}

/** 5.2a: a lend opened in an earlier supply epoch than the pool's is worth nothing. */
function expired(pool: ModelPool, position: ModelPosition): boolean {
  return position.lendScaled > 0n && position.lendEpoch !== pool.supplyEpoch;
}

/** The lend's scaled amount as the pool's total counts it: 0 for an expired lend. */
export function countedLendScaled(pool: ModelPool, position: ModelPosition): bigint {
  return expired(pool, position) ? 0n : position.lendScaled;
}

/** 5.2a: an expired lend is cleared (without touching the pool's total) before the position moves. */
function clearExpired(margin: MarginData, account: string, asset: string): ModelPosition {
  const position = positionOf(margin, account, asset);
  if (expired(margin.pools.get(asset)!, position)) {
    position.lendScaled = 0n;
    position.lendEpoch = 0;
  }
  return position;
}

export function lentOf(margin: MarginData, account: string, asset: string, timeMs: number): bigint {
  const pool = margin.pools.get(asset);
  const position = margin.positions.get(`${account}/${asset}`);
  if (pool === undefined || position === undefined || expired(pool, position)) return 0n;
  return floorDiv(position.lendScaled * indexesAt(pool, timeMs).supplyIndex, WAD);
}

export function borrowedOf(margin: MarginData, account: string, asset: string, timeMs: number): bigint {
  const pool = margin.pools.get(asset);
  const position = margin.positions.get(`${account}/${asset}`);
  if (pool === undefined || position === undefined) return 0n;
  return ceilDiv(position.borrowScaled * indexesAt(pool, timeMs).borrowIndex, WAD);
}

export function borrowsAnything(margin: MarginData, account: string): boolean {
  for (const [key, position] of margin.positions)
    if (key.startsWith(`${account}/`) && position.borrowScaled > 0n) return true;
  return false;
}

// ----- moving units in and out of a pool (5.4), at the stored indexes ----------

/** Lends `units` from available: scaled credit rounded down. */
export function lendUnits(data: ModelData, margin: MarginData, account: string, asset: string, units: bigint): void {
  const pool = margin.pools.get(asset)!;
  const scaled = floorDiv(units * WAD, pool.supplyIndex);
  const position = clearExpired(margin, account, asset);
  position.lendScaled += scaled;
  position.lendEpoch = position.lendScaled === 0n ? 0 : pool.supplyEpoch;
  pool.totalSupplyScaled += scaled;
  pool.cashUnits += units;
  data.balances.get(`${account}/${asset}`)!.available -= units;
}

/**
 * Redeems `units` of a lend to available: scaled burn rounded up, never more than the position; redeeming all
 * the lent units burns the whole position (docs/margin.md 5.2: no dust worth nothing is left).
 */
export function redeemUnits(data: ModelData, margin: MarginData, account: string, asset: string, units: bigint): void {
  const pool = margin.pools.get(asset)!;
  const position = clearExpired(margin, account, asset);
  const whole = units === floorDiv(position.lendScaled * pool.supplyIndex, WAD);
  const scaled = whole ? position.lendScaled : smaller(ceilDiv(units * WAD, pool.supplyIndex), position.lendScaled);
  position.lendScaled -= scaled;
  if (position.lendScaled === 0n) position.lendEpoch = 0;
  pool.totalSupplyScaled -= scaled;
  pool.cashUnits -= units;
  balanceOf(data, account, asset).available += units;
}

/** Borrows `units` into available: scaled debt rounded up. */
export function borrowUnits(data: ModelData, margin: MarginData, account: string, asset: string, units: bigint): void {
  const pool = margin.pools.get(asset)!;
  const scaled = ceilDiv(units * WAD, pool.borrowIndex);
  clearExpired(margin, account, asset).borrowScaled += scaled;
  pool.totalBorrowScaled += scaled;
  pool.cashUnits -= units;
  balanceOf(data, account, asset).available += units;
}

/** Repays `units` of a borrow from available: scaled debt removed rounded down, at most the position. */
export function repayUnits(data: ModelData, margin: MarginData, account: string, asset: string, units: bigint): void {
  const pool = margin.pools.get(asset)!;
  const position = positionOf(margin, account, asset);
  const scaled = smaller(floorDiv(units * WAD, pool.borrowIndex), position.borrowScaled);
  position.borrowScaled -= scaled;
  pool.totalBorrowScaled -= scaled;
  pool.cashUnits += units;
  data.balances.get(`${account}/${asset}`)!.available -= units;
}

const balanceOf = balanceEntry;

/** Utilisation for a limit check, rounded up; undefined (infinite) when debt remains with nothing lent. */
export function limitUtilisation(borrowed: bigint, lent: bigint): bigint | undefined {
  if (borrowed === 0n) return 0n;
  if (lent <= 0n) return undefined;
  return ceilDiv(borrowed * WAD, lent);
}

// ----- health (6) -------------------------------------------------------------

export interface ModelHealth {
  readonly collateralValue: bigint;
  readonly liabilityValue: bigint;
  readonly netEquity: bigint;
  readonly initialRequirement: bigint;
  readonly maintenanceRequirement: bigint;
}

/** Per asset: units added to what the account holds and to what it owes, for checks before a change. */
export type HealthChanges = ReadonlyMap<string, { readonly held: bigint; readonly owed: bigint }>;

export function valueOf(
  units: bigint,
  price: bigint,
  decimals: number,
  settlementDecimals: number,
  up: boolean,
): bigint {
  const numerator = units * price * pow10(settlementDecimals);
  const denominator = pow10(decimals) * WAD;
  return up ? ceilDiv(numerator, denominator) : floorDiv(numerator, denominator);
}

/** The notional in whole settlement units as a fraction, rounded up; and its square root, rounded up. */
function rootNotional(value: bigint, settlementDecimals: number): bigint {
  return fractionRoot(ceilDiv(value * WAD, pow10(settlementDecimals)), true);
}

function marginFractionOf(base: bigint, factor: bigint, value: bigint, decimals: number, leverage: bigint): bigint {
  let fraction = larger(base, ceilDiv(factor * rootNotional(value, decimals), WAD));
  if (leverage > 0n) fraction = larger(fraction, ceilDiv(WAD * WAD, leverage));
  return smaller(fraction, WAD);
}

/** weight_a(n) of section 6 for a value in settlement units: the collateral weight lowered by the haircut. */
function weightOf(p: ModelMarginParameters, value: bigint, settlementDecimals: number): bigint {
  const penalty = ceilDiv(p.haircutPenalty * rootNotional(value, settlementDecimals), WAD);
  return floorDiv(p.collateralWeight * WAD, WAD + penalty);
}

/** Section 9a: the shares owned less those under a withdrawal request. */
export function collateralSharesOf(margin: MarginData, account: string, asset: string): bigint {
  const coverage = margin.coverage.get(asset);
  if (coverage === undefined) return 0n;
  return (coverage.shares.get(account) ?? 0n) - (coverage.requests.get(account)?.shares ?? 0n);
}

/**
 * Section 9a: u = ⌊shares · holdings / totalShares⌋, v = value(u) rounded down, and
 * ⌊v · ⌊weight_a(v) · ½⌋⌋: a share counts at half the asset's weight. All rounded down.
 */
function shareCollateral(
  margin: MarginData,
  account: string,
  asset: { readonly symbol: string; readonly decimals: number },
  pool: ModelPool,
  settlementDecimals: number,
): bigint {
  const shares = collateralSharesOf(margin, account, asset.symbol);
  const coverage = margin.coverage.get(asset.symbol)!;
  if (shares <= 0n || coverage.totalShares === 0n) return 0n;
  const units = floorDiv(shares * coverage.holdingsUnits, coverage.totalShares);
  const value = valueOf(units, pool.indexPrice, asset.decimals, settlementDecimals, false);
  const weight = floorDiv(weightOf(pool.parameters, value, settlementDecimals) * COVERAGE_SHARE_WEIGHT, WAD);
  return floorDiv(value * weight, WAD);
}

/** coverageShareWeight of section 9a, in wad: ½. */
const COVERAGE_SHARE_WEIGHT = WAD / 2n;

export function healthOf(
  data: ModelData,
  margin: MarginData,
  account: string,
  timeMs: number,
  changes: HealthChanges = new Map(),
): ModelHealth {
  const settlementDecimals = data.assets.find((asset) => asset.symbol === SETTLEMENT)?.decimals ?? 6;
  const leverage = margin.settings.get(account)?.leverageLimit ?? 0n;
  let collateralValue = 0n;
  let liabilityValue = 0n;
  let initialRequirement = 0n;
  let maintenanceRequirement = 0n;
  for (const asset of data.assets) {
    const pool = margin.pools.get(asset.symbol);
    if (pool === undefined || pool.indexPrice === 0n) continue;
    const p = pool.parameters;
    const balance = data.balances.get(`${account}/${asset.symbol}`);
    const change = changes.get(asset.symbol);
    const held =
      (balance === undefined ? 0n : balance.available + balance.locked) +
      lentOf(margin, account, asset.symbol, timeMs) +
      (change?.held ?? 0n);
    const owed = borrowedOf(margin, account, asset.symbol, timeMs) + (change?.owed ?? 0n);
    if (held > 0n) {
      const value = valueOf(held, pool.indexPrice, asset.decimals, settlementDecimals, false);
      collateralValue += floorDiv(value * weightOf(p, value, settlementDecimals), WAD);
    }
    collateralValue += shareCollateral(margin, account, asset, pool, settlementDecimals);
    if (owed > 0n) {
      const value = valueOf(owed, pool.indexPrice, asset.decimals, settlementDecimals, true);
      liabilityValue += value;
      const imf = marginFractionOf(p.imfBase, p.imfFactor, value, settlementDecimals, leverage);
      const mmf = marginFractionOf(p.mmfBase, p.mmfFactor, value, settlementDecimals, 0n);
      initialRequirement += ceilDiv(value * imf, WAD);
      maintenanceRequirement += ceilDiv(value * mmf, WAD);
    }
  }
  const netEquity = collateralValue - liabilityValue;
  return { collateralValue, liabilityValue, netEquity, initialRequirement, maintenanceRequirement };
}

export const meetsInitial = (health: ModelHealth): boolean => health.netEquity >= health.initialRequirement;

/** Liquidatable: it borrows and its net equity is below its maintenance requirement. */
export function isLiquidatable(data: ModelData, margin: MarginData, account: string, timeMs: number): boolean {
  if (!borrowsAnything(margin, account)) return false;
  const health = healthOf(data, margin, account, timeMs);
  return health.netEquity < health.maintenanceRequirement;
}

export { settingsOf };
