import { describe, expect, it } from 'vitest';
import { wad } from '../margin-fixed-point.js';
import { marginFractionOf, notionalUnitsUp, positionRequirementUnits } from './position-health.js';

const usdc = 10n ** 6n;
/** Backpack's SOL_USDC_PERP initial margin function: max(0.02, 0.0001275 × √notional). */
const solImf = { base: (wad * 2n) / 100n, factor: (wad * 1275n) / 10_000_000n };

describe('position requirement (sqrt margin functions)', () => {
  it('is the base fraction for small notionals', () => {
    expect(marginFractionOf(solImf, 10_000n * usdc, 6)).toBe(solImf.base);
    expect(positionRequirementUnits(solImf, 10_000n * usdc, 6)).toBe(200n * usdc);
  });

  it('grows with √notional above $24,606 (docs facts: 12.75 % at $1,000,000)', () => {
    // √1,000,000 = 1000, × 0.0001275 = 0.1275 exactly.
    expect(marginFractionOf(solImf, 1_000_000n * usdc, 6)).toBe((wad * 1275n) / 10_000n);
    expect(positionRequirementUnits(solImf, 1_000_000n * usdc, 6)).toBe(127_500n * usdc);
    // Just above the crossover the factor term rules, rounded up.
    expect(marginFractionOf(solImf, 24_700n * usdc, 6)).toBeGreaterThan(solImf.base);
  });

  it('is capped at the whole notional', () => {
    expect(marginFractionOf({ base: wad / 2n, factor: wad }, 4n * usdc, 6)).toBe(wad);
  });

  it('notional rounds up, either side', () => {
    // 1 unit of SOL (1e-9) at 1.5 USDC is 1.5e-9 USDC: one USDC unit when rounded up.
    expect(notionalUnitsUp(-1n, (wad * 3n) / 2n, 9, 6)).toBe(1n);
    expect(notionalUnitsUp(2n * 10n ** 9n, 150n * wad, 9, 6)).toBe(300n * usdc);
  });
});
