import { describe, expect, it } from 'vitest';
import { divideUp, maximum, minimum, multiplyUp, squareRootUp, wad } from '../margin-fixed-point.js';
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

  it('skips the square root only where the base rules: the same fraction as the whole formula on both sides', () => {
    // The formula of docs/perps.md, section 6, with its square root always taken.
    const reference = (fn: { base: bigint; factor: bigint }, notional: bigint, decimals: number): bigint => {
      const root = squareRootUp(divideUp(notional * wad * wad, 10n ** BigInt(decimals)));
      return minimum(wad, maximum(multiplyUp(root, fn.factor), fn.base));
    };
    const functions = [
      solImf,
      { base: (wad * 125n) / 10_000n, factor: (wad * 765n) / 10_000_000n },
      { base: (wad * 2n) / 100n, factor: (wad * 935n) / 10_000_000n },
      { base: 1n, factor: 3n },
      { base: wad / 3n, factor: wad / 7n },
    ];
    for (const fn of functions)
      for (const decimals of [6, 2]) {
        // The crossover: the largest notional whose factor term does not exceed the base, found by bisection.
        let low = 0n;
        let high = 10n ** 30n;
        while (high - low > 1n) {
          const middle = (low + high) / 2n;
          if (multiplyUp(squareRootUp(divideUp(middle * wad * wad, 10n ** BigInt(decimals))), fn.factor) <= fn.base)
            low = middle;
          else high = middle;
        }
        for (const notional of [0n, 1n, low - 1n, low, low + 1n, low + 2n, high * 3n, 10n ** 12n])
          if (notional >= 0n) {
            expect(marginFractionOf(fn, notional, decimals)).toBe(reference(fn, notional, decimals));
            // The requirement, by the reduced fraction below the crossover: the whole formula's product.
            const fraction = reference(fn, notional, decimals);
            expect(positionRequirementUnits(fn, notional, decimals)).toBe(multiplyUp(notional, fraction));
          }
      }
  });
});
