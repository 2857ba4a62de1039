/**
 * Interest accrues in whole seconds of log time (docs/margin.md, section 5.3): entries within the same second of
 * a pool's clock leave it alone, and the clock advances by exactly the whole seconds counted, carrying the rest.
 */
import { describe, expect, it } from 'vitest';
import { accrue, indexesAt, marginParameters, newAssetMargin } from './lending-pool.js';
import type { AssetMargin, MarginParameters } from './margin-state.js';

const listedAtMs = 1_750_000_000_123;

function borrowedPool(): AssetMargin {
  const parameters = marginParameters({
    kind: 'borrowLendMarketList',
    symbol: 'SOL',
    ...{ collateralWeight: '0.8', haircutPenalty: '0', imfBase: '0.3', imfFactor: '0', mmfBase: '0.15' },
    ...{ mmfFactor: '0', minimumBorrowRate: '0.01', optimalUtilization: '0.8', optimalBorrowRate: '0.1' },
    ...{ maximumBorrowRate: '1', maxUtilization: '0.95', lendFee: '0.1', maxPriceMove: '0.5' },
    ...{ liquidationFee: '0.01', liquidationBand: '0.05', stressShock: '0.3', coveragePoolWithdrawalDelayMs: 1000 },
  }) as MarginParameters;
  const margin = newAssetMargin(parameters, listedAtMs);
  margin.lendingPool.totalSupplyScaled = 1000n * 10n ** 9n;
  margin.lendingPool.totalBorrowScaled = 400n * 10n ** 9n;
  return margin;
}

function snapshot(margin: AssetMargin) {
  const { borrowIndex, supplyIndex, accruedAtMs } = margin.lendingPool;
  return { borrowIndex, supplyIndex, accruedAtMs };
}

describe('accrual in whole seconds', () => {
  it('leaves the indexes and the accrual time alone within the same second', () => {
    const margin = borrowedPool();
    const before = snapshot(margin);
    expect(indexesAt(margin, listedAtMs + 999)).toBe(margin.lendingPool);
    accrue(margin, listedAtMs + 999);
    expect(snapshot(margin)).toEqual(before);
  });

  it('moves the indexes by the whole seconds and carries the rest over', () => {
    const stepped = borrowedPool();
    accrue(stepped, listedAtMs + 1500);
    expect(stepped.lendingPool.accruedAtMs).toBe(listedAtMs + 1000);
    expect(stepped.lendingPool.borrowIndex).toBeGreaterThan(10n ** 18n);
    expect(stepped.lendingPool.supplyIndex).toBeGreaterThan(10n ** 18n);
    accrue(stepped, listedAtMs + 2000);
    expect(stepped.lendingPool.accruedAtMs).toBe(listedAtMs + 2000);
    // The same as touching the pool exactly at each whole second: no time lost or counted twice.
    const exact = borrowedPool();
    accrue(exact, listedAtMs + 1000);
    accrue(exact, listedAtMs + 2000);
    expect(snapshot(stepped)).toEqual(snapshot(exact));
  });

  it('reads at a time what accruing to that time stores, and counts many seconds in one step', () => {
    const margin = borrowedPool();
    const read = indexesAt(margin, listedAtMs + 86_400_999);
    accrue(margin, listedAtMs + 86_400_999);
    expect(snapshot(margin)).toEqual({ ...read, accruedAtMs: listedAtMs + 86_400_000 });
    // One day at 5.5 % a year (utilisation 0.4 on the curve 0.01 / 0.1 at 0.8): ⌈wad × 0.055 × 86,400 / year⌉.
    expect(margin.lendingPool.borrowIndex).toBe(10n ** 18n + 150_684_931_506_850n);
  });

  it('advances the clock by whole seconds even when nothing is borrowed', () => {
    const margin = borrowedPool();
    margin.lendingPool.totalBorrowScaled = 0n;
    accrue(margin, listedAtMs + 2999);
    expect(snapshot(margin)).toEqual({
      borrowIndex: 10n ** 18n,
      supplyIndex: 10n ** 18n,
      accruedAtMs: listedAtMs + 2000,
    });
  });
});
