/**
 * The margin hot paths' shortcuts give exactly what the plain formulas give:
 * valueUnits' one-word divisions (the price's trailing zeros reduced, or
 * wad then 10^shift) against the one division of docs/margin.md's
 * formula, and the reduced fractions against multiplyDown and multiplyUp,
 * in both rounding directions, on seeded random inputs and at the edges
 * (zero, negative amounts, whole and zero fractions).
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../test/random-log.js';
import { valueUnits } from './index-prices.js';
import {
  divideDown,
  divideUp,
  multiplyDown,
  multiplyDownReduced,
  multiplyUp,
  multiplyUpReduced,
  reducedFraction,
  wad,
} from './margin-fixed-point.js';
import type { Asset } from './state.js';

function randomBigint(next: () => number, words: number): bigint {
  let value = 0n;
  for (let word = 0; word < words; word += 1) value = (value << 32n) | BigInt(next());
  return value;
}

/** docs/margin.md's formula, in one division. */
function plainValue(units: bigint, decimals: number, price: bigint, settlementDecimals: number, up: boolean): bigint {
  const numerator = units * price * 10n ** BigInt(settlementDecimals);
  const denominator = 10n ** BigInt(decimals) * wad;
  return up ? divideUp(numerator, denominator) : divideDown(numerator, denominator);
}

describe('margin fast paths', () => {
  it('valueUnits equals the one-division formula', () => {
    const next = seededRandom(12);
    const mismatches: string[] = [];
    for (let trial = 0; trial < 5000; trial += 1) {
      const decimals = next() % 13;
      const settlementDecimals = next() % 9;
      const units = trial % 50 === 0 ? 0n : randomBigint(next, 1 + (next() % 3)) * (trial % 7 === 0 ? -1n : 1n);
      const price = trial % 40 === 0 ? wad : randomBigint(next, 1 + (next() % 3)) * 10n ** BigInt(next() % 18);
      const asset = { decimals } as Asset;
      for (const up of [false, true]) {
        const expected =
          price === wad && decimals === settlementDecimals && units >= 0n
            ? units
            : plainValue(units, decimals, price, settlementDecimals, up);
        const got = valueUnits(units, asset, price, settlementDecimals, up);
        if (got !== expected) mismatches.push(`${units} ${decimals} ${price} ${settlementDecimals} ${up}: ${got}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('valueUnits equals the one-division formula for short decimal prices (trailing zeros reduced)', () => {
    const next = seededRandom(14);
    const mismatches: string[] = [];
    for (let trial = 0; trial < 5000; trial += 1) {
      const decimals = next() % 13;
      const settlementDecimals = next() % 9;
      const units = trial % 50 === 0 ? 0n : randomBigint(next, 1 + (next() % 3));
      // 0 … 10^6 times 10^0 … 10^30: prices such as 100.23 (10023 × 10^16), and some with more zeros than wad.
      const price = BigInt(next() % 1_000_001) * 10n ** BigInt(next() % 31);
      const asset = { decimals, index: trial % 3 } as Asset;
      for (const up of [false, true]) {
        const expected =
          price === wad && decimals === settlementDecimals
            ? units
            : plainValue(units, decimals, price, settlementDecimals, up);
        const got = valueUnits(units, asset, price, settlementDecimals, up);
        if (got !== expected) mismatches.push(`${units} ${decimals} ${price} ${settlementDecimals} ${up}: ${got}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('reduced fractions give multiplyDown and multiplyUp exactly', () => {
    const next = seededRandom(13);
    const mismatches: string[] = [];
    const fractions = [
      0n,
      1n,
      wad,
      wad / 2n,
      (wad * 8n) / 10n,
      (wad * 15n) / 100n,
      2n * wad,
      123_456_789n,
      wad / 5n,
      wad / 10n,
      (wad * 3n) / 10n,
    ];
    for (let trial = 0; trial < 2000; trial += 1)
      fractions.push(BigInt(next() % 1000) * 10n ** BigInt(next() % 19) + (trial % 3 === 0 ? BigInt(next()) : 0n));
    for (const fraction of fractions) {
      const reduced = reducedFraction(fraction);
      if (reduced.numerator * wad !== fraction * reduced.denominator) mismatches.push(`${fraction} reduced`);
      for (let trial = 0; trial < 20; trial += 1) {
        const amount = trial === 0 ? 0n : randomBigint(next, 1 + (next() % 3)) * (trial % 4 === 0 ? -1n : 1n);
        if (multiplyDownReduced(amount, reduced) !== multiplyDown(amount, fraction)) mismatches.push(`${amount} down`);
        if (multiplyUpReduced(amount, reduced) !== multiplyUp(amount, fraction)) mismatches.push(`${amount} up`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
