/**
 * Lending pools (docs/margin.md, "Borrow and lend"): one per borrowable
 * asset, listed by borrowLendMarketList. Interest accrues through two
 * cumulative indexes brought forward from log time whenever the pool is
 * touched; nothing ever sweeps over accounts. Positions are scaled amounts on
 * the account's Balance: lent units = ⌊lendScaled × supplyIndex⌋ (a claim,
 * rounded down), borrowed units = ⌈borrowScaled × borrowIndex⌉ (a debt,
 * rounded up). The pool's cash is real units: lends bring them in, borrows
 * take them out, so conservation stays exact per asset.
 */
import { credit, debit } from './balance-movements.js';
import type { EntryRecorder } from './entry-recorder.js';
import type { BorrowLendMarketListing } from './instruction.js';
import { borrowLendListingDecimals } from './margin-instruction-parser.js';
import {
  divideDown,
  divideUp,
  divideUpBy,
  minimum,
  multiplyDown,
  parseFraction,
  ratioDown,
  ratioUp,
  wad,
  wadLessOne,
  yearMs,
} from './margin-fixed-point.js';
import type { AssetMargin, LendingPool, MarginParameters } from './margin-state.js';
import type { LendingMovementView } from './margin-views.js';
import { settlementAssetSymbol } from './margin-state.js';
import { invariant, reject, type Rejection } from './result-codes.js';
import type { Asset, Balance, ExchangeState } from './state.js';

/** Fractions that may not exceed 1.0; the rates and factors may. */
const atMostOne: ReadonlySet<string> = new Set([
  'collateralWeight',
  'optimalUtilization',
  'maxUtilization',
  'lendFee',
  'maxPriceMove',
  'liquidationFee',
  'liquidationBand',
  'stressShock',
  'imfBase',
  'mmfBase',
]);

/** Checks and converts a listing's parameters; the rules are in docs/margin.md, "Listing". */
export function marginParameters(listing: BorrowLendMarketListing): MarginParameters | Rejection {
  const values: Record<string, bigint> = {};
  for (const key of borrowLendListingDecimals) {
    const value = parseFraction(listing[key]);
    if (value === undefined)
      return reject(
        'INVALID_INSTRUCTION',
        `${key} must be a plain decimal with at most 18 fraction digits.`,
        'malformedParameter',
      );
    if (atMostOne.has(key) && value > wad)
      return reject('INVALID_INSTRUCTION', `${key} must be at most 1.`, 'parameterOutOfRange');
    if (value > 1000n * wad)
      return reject('INVALID_INSTRUCTION', `${key} must be at most 1000.`, 'parameterOutOfRange');
    values[key] = value;
  }
  const parameters = {
    ...values,
    coveragePoolWithdrawalDelayMs: listing.coveragePoolWithdrawalDelayMs,
  } as unknown as MarginParameters;
  const { optimalUtilization, minimumBorrowRate, optimalBorrowRate, maximumBorrowRate } = parameters;
  if (optimalUtilization === 0n || optimalUtilization >= wad) {
    return reject(
      'INVALID_INSTRUCTION',
      'optimalUtilization must lie strictly between 0 and 1.',
      'parameterOutOfRange',
    );
  }
  if (minimumBorrowRate > optimalBorrowRate || optimalBorrowRate > maximumBorrowRate) {
    return reject(
      'INVALID_INSTRUCTION',
      'The borrow rates must not fall: minimum ≤ optimal ≤ maximum.',
      'parameterOutOfRange',
    );
  }
  if (parameters.mmfBase > parameters.imfBase || parameters.mmfFactor > parameters.imfFactor) {
    return reject(
      'INVALID_INSTRUCTION',
      'The maintenance function must not exceed the initial one.',
      'parameterOutOfRange',
    );
  }
  return parameters;
}

export function newAssetMargin(parameters: MarginParameters, listedAtMs: number): AssetMargin {
  return {
    parameters,
    indexPrice: 0n,
    priceUpdatedAtMs: 0,
    lendingPool: {
      borrowIndex: wad,
      supplyIndex: wad,
      accruedAtMs: listedAtMs,
      totalBorrowScaled: 0n,
      totalSupplyScaled: 0n,
      cashUnits: 0n,
      supplyEpoch: 0,
    },
    coveragePool: { holdingsUnits: 0n, totalShares: 0n, shares: new Map(), withdrawalRequests: new Map() },
  };
}

/** borrowLendMarketList: makes a listed asset borrowable. The settlement asset is listed first and its price is 1. */
export function listBorrowLendMarket(state: ExchangeState, listing: BorrowLendMarketListing): Asset | Rejection {
  const asset = state.assetsBySymbol.get(listing.symbol);
  if (asset === undefined) return reject('INVALID_ASSET', `Asset ${listing.symbol} does not exist.`);
  if (asset.margin !== undefined) return reject('ALREADY_EXISTS', `${asset.symbol} is already borrowable.`);
  const settlement = state.assetsBySymbol.get(settlementAssetSymbol);
  if (asset !== settlement && settlement?.margin === undefined) {
    return reject(
      'INVALID_INSTRUCTION',
      `${settlementAssetSymbol} must be made borrowable first.`,
      'settlementAssetFirst',
    );
  }
  const parameters = marginParameters(listing);
  if ('code' in parameters) return parameters;
  asset.margin = newAssetMargin(parameters, state.recorder.timeMs);
  if (asset.symbol === settlementAssetSymbol) asset.margin.indexPrice = wad;
  return asset;
}

/** The yearly borrow rate at utilisation `utilization` (wad): two straight lines meeting at the optimum; rounded up. */
export function borrowRate(parameters: MarginParameters, utilization: bigint): bigint {
  const { minimumBorrowRate, optimalUtilization, optimalBorrowRate, maximumBorrowRate } = parameters;
  if (utilization <= optimalUtilization) {
    return minimumBorrowRate + divideUp((optimalBorrowRate - minimumBorrowRate) * utilization, optimalUtilization);
  }
  const excess = minimum(utilization, wad) - optimalUtilization;
  return optimalBorrowRate + divideUp((maximumBorrowRate - optimalBorrowRate) * excess, wad - optimalUtilization);
}

/** The yearly lend rate: borrow rate × utilisation × (1 − lendFee), rounded down. */
export function lendRate(parameters: MarginParameters, utilization: bigint): bigint {
  return lendRateFrom(parameters, borrowRate(parameters, utilization), utilization);
}

/** lendRate() given the borrow rate at the same utilisation, so that accrual computes the curve once. */
function lendRateFrom(parameters: MarginParameters, rate: bigint, utilization: bigint): bigint {
  return multiplyDown(multiplyDown(rate, utilization), wad - parameters.lendFee);
}

export function totalBorrowedUnits(pool: LendingPool): bigint {
  return divideUpBy(pool.totalBorrowScaled * pool.borrowIndex, wad, wadLessOne);
}

export function totalLentUnits(pool: LendingPool): bigint {
  return divideDown(pool.totalSupplyScaled * pool.supplyIndex, wad);
}

/** Borrowed ÷ lent, wad, rounded down; zero when nothing is lent. */
export function utilization(pool: LendingPool): bigint {
  const lent = totalLentUnits(pool);
  return lent === 0n ? 0n : ratioDown(totalBorrowedUnits(pool), lent);
}

/** A year in seconds (interest accrues per whole second of log time), and less one for divideUpBy. */
const yearSeconds = yearMs / 1000n;
const yearSecondsLessOne = yearSeconds - 1n;

/** A lending pool's two cumulative indexes (wad). */
export interface PoolIndexes {
  readonly borrowIndex: bigint;
  readonly supplyIndex: bigint;
}

/**
 * The whole seconds of log time from the pool's accrual time to `timeMs` (docs/margin.md, "Interest"): 0 within
 * the same second, compared as numbers (log times are safe integers) so that most entries allocate nothing; the
 * quotient is an integer division, at most once a second per pool.
 */
function wholeSecondsElapsed(pool: LendingPool, timeMs: number): number {
  const elapsedMs = timeMs - pool.accruedAtMs;
  return elapsedMs < 1000 ? 0 : Number(BigInt(elapsedMs) / 1000n);
}

/** Whether accrue(margin, timeMs) would move the pool: at least a whole second has passed since its accrual time. */
export function accrualDue(margin: AssetMargin, timeMs: number): boolean {
  return timeMs - margin.lendingPool.accruedAtMs >= 1000;
}

/** product × seconds: a product by 1 (exact) and its BigInt() are skipped. */
function timesSeconds(product: bigint, seconds: number): bigint {
  return seconds === 1 ? product : product * BigInt(seconds);
}

/**
 * The pool's indexes brought forward by the whole seconds elapsed to `timeMs`, without changing the pool: the
 * indexes as of accruedAtMs + 1000 × wholeSecondsElapsed, the last whole second of the pool's clock.
 */
export function indexesAt(margin: AssetMargin, timeMs: number): PoolIndexes {
  const pool = margin.lendingPool;
  // Compared as numbers first: within the same second (most entries) nothing moves, and BigInt() allocates.
  const seconds = wholeSecondsElapsed(pool, timeMs);
  if (seconds === 0 || pool.totalBorrowScaled === 0n) return pool;
  const used = utilization(pool);
  const rate = borrowRate(margin.parameters, used);
  // Debts grow by ⌈index × rate × seconds / (wad × year)⌉, claims by ⌊…⌋ at the lend rate. Divided in two steps,
  // which is exact for positive divisors (⌈⌈x / a⌉ / b⌉ = ⌈x / ab⌉, ⌊⌊x / a⌋ / b⌋ = ⌊x / ab⌋) and about twice as fast
  // as one division by the two-word wad × year.
  const borrowProduct = timesSeconds(pool.borrowIndex * rate, seconds);
  const borrowGrowth = divideUpBy(divideUpBy(borrowProduct, wad, wadLessOne), yearSeconds, yearSecondsLessOne);
  const supplyProduct = timesSeconds(pool.supplyIndex * lendRateFrom(margin.parameters, rate, used), seconds);
  const supplyGrowth = divideDown(divideDown(supplyProduct, wad), yearSeconds);
  return { borrowIndex: pool.borrowIndex + borrowGrowth, supplyIndex: pool.supplyIndex + supplyGrowth };
}

/**
 * Brings the pool's indexes forward by the whole seconds elapsed to `timeMs` (called only by accepted instructions
 * that touch the pool). accruedAtMs advances by exactly those seconds, also when nothing is borrowed: the sub-second
 * remainder carries over, so no time is lost or counted twice.
 */
export function accrue(margin: AssetMargin, timeMs: number): void {
  const pool = margin.lendingPool;
  const seconds = wholeSecondsElapsed(pool, timeMs);
  if (seconds === 0) return;
  const { borrowIndex, supplyIndex } = indexesAt(margin, timeMs);
  pool.borrowIndex = borrowIndex;
  pool.supplyIndex = supplyIndex;
  pool.accruedAtMs += seconds * 1000;
}

/** Lent units of a scaled lend at `supplyIndex`: ⌊lendScaled × supplyIndex / wad⌋, a claim, rounded down. */
export function lentUnitsAtIndex(lendScaled: bigint, supplyIndex: bigint): bigint {
  return divideDown(lendScaled * supplyIndex, wad);
}

/** Borrowed units of a scaled borrow at `borrowIndex`: ⌈borrowScaled × borrowIndex / wad⌉, a debt, rounded up. */
export function borrowedUnitsAtIndex(borrowScaled: bigint, borrowIndex: bigint): bigint {
  return divideUpBy(borrowScaled * borrowIndex, wad, wadLessOne);
}

/**
 * Whether a balance's lend was opened in an earlier supply epoch of its pool
 * (docs/margin.md, "Supply epochs"): a socialised loss wiped it out, so it is
 * worth nothing, is left out of the pool's scaled total and waits to be
 * cleared when the balance's position next moves.
 */
export function isExpiredLend(balance: Balance): boolean {
  return balance.lendScaled !== 0n && balance.lendEpoch !== balance.asset.margin!.lendingPool.supplyEpoch;
}

/** The scaled lend that counts: the position, or 0 when it belongs to an earlier supply epoch. */
export function currentLendScaled(balance: Balance): bigint {
  return isExpiredLend(balance) ? 0n : balance.lendScaled;
}

/** What a balance has lent, in units, at indexes brought to `timeMs` (rounded down; 0 for an expired lend). */
export function lentUnits(balance: Balance, timeMs: number): bigint {
  if (balance.lendScaled === 0n || isExpiredLend(balance)) return 0n;
  return lentUnitsAtIndex(balance.lendScaled, indexesAt(balance.asset.margin!, timeMs).supplyIndex);
}

/** What a balance owes, in units, at indexes brought to `timeMs` (rounded up). */
export function borrowedUnits(balance: Balance, timeMs: number): bigint {
  if (balance.borrowScaled === 0n) return 0n;
  return borrowedUnitsAtIndex(balance.borrowScaled, indexesAt(balance.asset.margin!, timeMs).borrowIndex);
}

/**
 * Sets a balance's scaled lend or borrow, keeping the pool's scaled total,
 * the account's count of such positions and the state's set of lenders or
 * borrowers (derived bookkeeping) in step.
 */
function setScaled(state: ExchangeState, balance: Balance, kind: 'lend' | 'borrow', scaled: bigint): void {
  const account = balance.account;
  const pool = balance.asset.margin!.lendingPool;
  const previous = kind === 'lend' ? balance.lendScaled : balance.borrowScaled;
  if (kind === 'lend') {
    // An expired lend is not in the total: its epoch's end took it out.
    pool.totalSupplyScaled += scaled - currentLendScaled(balance);
    balance.lendScaled = scaled;
    balance.lendEpoch = scaled === 0n ? 0 : pool.supplyEpoch;
  } else {
    pool.totalBorrowScaled += scaled - previous;
    balance.borrowScaled = scaled;
  }
  if ((previous !== 0n) === (scaled !== 0n)) return;
  const change = scaled !== 0n ? 1 : -1;
  const count = kind === 'lend' ? (account.lendCount += change) : (account.borrowCount += change);
  const holders = kind === 'lend' ? state.lenders : state.borrowers;
  if (count === 0) holders.delete(account);
  else holders.add(account);
}

function setBorrowScaled(state: ExchangeState, balance: Balance, scaled: bigint): void {
  setScaled(state, balance, 'borrow', scaled);
}

function setLendScaled(state: ExchangeState, balance: Balance, scaled: bigint): void {
  setScaled(state, balance, 'lend', scaled);
}

/**
 * Clears a lend of an earlier supply epoch (worth nothing) before the
 * balance's position moves, reported as a WriteOff of 0 units at supply index
 * 0: the value its epoch ended at, so the history shows the loss and closes
 * the position.
 */
function clearExpiredLend(state: ExchangeState, recorder: EntryRecorder, balance: Balance): void {
  if (!isExpiredLend(balance)) return;
  setLendScaled(state, balance, 0n);
  recordMovement(recorder, balance, 'WriteOff', 0n, 0n);
}

/** Reports a position change as a lendingMovement event (the history's borrow/lend and interest records). */
function recordMovement(
  recorder: EntryRecorder,
  balance: Balance,
  movement: LendingMovementView['movement'],
  units: bigint,
  supplyIndex = balance.asset.margin!.lendingPool.supplyIndex,
): void {
  const pool = balance.asset.margin!.lendingPool;
  recorder.events.push({
    type: 'lendingMovement',
    movement: {
      account: balance.account.id,
      asset: balance.asset.symbol,
      movement,
      units,
      lendScaled: balance.lendScaled,
      borrowScaled: balance.borrowScaled,
      borrowIndex: pool.borrowIndex,
      supplyIndex,
    },
  });
}

/**
 * available → pool: lends `units` (the pool must be accrued to now). The
 * lender's scaled claim is rounded down, so a lend never creates value.
 */
export function lendUnits(state: ExchangeState, recorder: EntryRecorder, balance: Balance, units: bigint): void {
  const pool = balance.asset.margin!.lendingPool;
  invariant(balance.borrowScaled === 0n, 'a lend against an open borrow must repay it first');
  clearExpiredLend(state, recorder, balance);
  debit(recorder, balance, units);
  setLendScaled(state, balance, balance.lendScaled + divideDown(units * wad, pool.supplyIndex));
  pool.cashUnits += units;
  recordMovement(recorder, balance, 'Lend', units);
}

/** pool → available: redeems `units` of the lend (at most all of it; the scaled claim burnt is rounded up). */
export function redeemUnits(
  state: ExchangeState,
  recorder: EntryRecorder,
  balance: Balance,
  units: bigint,
  timeMs: number,
): void {
  const pool = balance.asset.margin!.lendingPool;
  clearExpiredLend(state, recorder, balance);
  const lent = lentUnits(balance, timeMs);
  invariant(units <= lent && units <= pool.cashUnits, 'a redemption beyond the lend or the pool cash');
  const burnt =
    units === lent ? balance.lendScaled : minimum(balance.lendScaled, divideUp(units * wad, pool.supplyIndex));
  setLendScaled(state, balance, balance.lendScaled - burnt);
  pool.cashUnits -= units;
  credit(recorder, balance, units);
  recordMovement(recorder, balance, 'LendRedeem', units);
}

/** pool → available: borrows `units` (the scaled debt added is rounded up). */
export function borrowUnits(state: ExchangeState, recorder: EntryRecorder, balance: Balance, units: bigint): void {
  const pool = balance.asset.margin!.lendingPool;
  clearExpiredLend(state, recorder, balance);
  invariant(
    balance.lendScaled === 0n && units <= pool.cashUnits,
    'a borrow against an open lend or beyond the pool cash',
  );
  setBorrowScaled(state, balance, balance.borrowScaled + divideUp(units * wad, pool.borrowIndex));
  pool.cashUnits -= units;
  credit(recorder, balance, units);
  recordMovement(recorder, balance, 'Borrow', units);
}

/** available → pool: repays `units` of the debt (at most all of it; the scaled debt removed is rounded down). */
export function repayUnits(
  state: ExchangeState,
  recorder: EntryRecorder,
  balance: Balance,
  units: bigint,
  timeMs: number,
): void {
  const pool = balance.asset.margin!.lendingPool;
  const owed = borrowedUnits(balance, timeMs);
  invariant(units <= owed, 'a repayment beyond the debt');
  debit(recorder, balance, units);
  const removed =
    units === owed ? balance.borrowScaled : minimum(balance.borrowScaled, divideDown(units * wad, pool.borrowIndex));
  setBorrowScaled(state, balance, balance.borrowScaled - removed);
  pool.cashUnits += units;
  recordMovement(recorder, balance, 'BorrowRepay', units);
}

/**
 * Writes off `units` of a balance's debt that nobody can pay (docs/margin.md,
 * "Socialised loss"): the debt leaves the pool's books and the supply index
 * falls so that lenders share the loss pro rata. A loss that would take the
 * index to 0 wipes every lend instead: the pool starts a new supply epoch at
 * index 1 with nothing lent ("Supply epochs"), so no later lend divides by a
 * zero index. Returns the units written off.
 */
export function writeOffDebt(state: ExchangeState, balance: Balance, timeMs: number): bigint {
  const pool = balance.asset.margin!.lendingPool;
  const owed = borrowedUnits(balance, timeMs);
  const lentBefore = totalLentUnits(pool);
  setBorrowScaled(state, balance, 0n);
  recordMovement(state.recorder, balance, 'WriteOff', owed);
  if (owed === 0n || pool.totalSupplyScaled === 0n) return owed;
  const lentAfter = lentBefore > owed ? lentBefore - owed : 0n;
  // Lenders' claims are cut to what the pool still has: rounded down.
  const supplyIndex = divideDown(lentAfter * wad, pool.totalSupplyScaled);
  if (supplyIndex > 0n) {
    pool.supplyIndex = supplyIndex;
    return owed;
  }
  // Wiped: the open lends become an earlier epoch's, worth nothing; whatever rounding left is the pool's surplus.
  pool.supplyEpoch += 1;
  pool.supplyIndex = wad;
  pool.totalSupplyScaled = 0n;
  return owed;
}

/** Utilisation if `borrowedDelta` more were borrowed and `lentDelta` more lent (negative: redeemed). */
export function utilizationAfter(pool: LendingPool, borrowedDelta: bigint, lentDelta: bigint): bigint {
  const lent = totalLentUnits(pool) + lentDelta;
  const borrowed = totalBorrowedUnits(pool) + borrowedDelta;
  if (borrowed <= 0n) return 0n;
  // Rounded up: a limit on utilisation must not let a borrow through by rounding.
  return lent <= 0n ? wad + 1n : ratioUp(borrowed, lent);
}
