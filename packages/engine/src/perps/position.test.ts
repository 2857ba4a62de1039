import { describe, expect, it } from 'vitest';
import { wad } from '../margin-fixed-point.js';
import {
  applyFill,
  newPosition,
  settleFunding,
  markValueUnits,
  notionalOfQuotient,
  settlementUnitsQuotient,
  settlementUnitsTowardPositive,
  unrealisedPnlUnits,
  type Position,
} from './position.js';

// SOL has 9 decimals, USDC 6: one SOL is 10^9 units, one USDC 10^6.
const sol = 10n ** 9n;
const usdc = 10n ** 6n;

/** A position after the fills (signed SOL, price in USDC), with the PnL each realised. */
function after(...fills: Array<[bigint, bigint]>): { position: Position; realised: bigint[] } {
  const position = newPosition(0n);
  const realised = fills.map(([solQuantity, price]) => {
    const size = solQuantity < 0n ? -solQuantity : solQuantity;
    return applyFill(position, solQuantity * sol, size * price * usdc);
  });
  return { position, realised };
}

describe('positions', () => {
  it('open, add, reduce, close: cost basis and realised PnL', () => {
    const { position, realised } = after([10n, 100n], [10n, 110n], [-5n, 120n], [-15n, 90n]);
    // Open 10 at 100, add 10 at 110 (entry 105), sell 5 at 120 (+75), sell 15 at 90 (−225).
    expect(realised).toEqual([0n, 0n, 75n * usdc, -225n * usdc]);
    expect(position).toMatchObject({ quantityUnits: 0n, costBasisUnits: 0n, realisedPnlUnits: -150n * usdc });
  });

  it('flips a long into a short at the fill price', () => {
    const { position, realised } = after([10n, 100n], [-15n, 120n]);
    expect(realised).toEqual([0n, 200n * usdc]);
    // Short 5 at 120: the cost basis is negative (Backpack's netCost for a short).
    expect(position).toMatchObject({ quantityUnits: -5n * sol, costBasisUnits: -600n * usdc });
  });

  it('a short gains when it buys back lower', () => {
    const { position, realised } = after([-10n, 100n], [4n, 90n]);
    expect(realised).toEqual([0n, 40n * usdc]);
    expect(position).toMatchObject({ quantityUnits: -6n * sol, costBasisUnits: -600n * usdc });
  });

  it('rounds a partial close against the account and realises the remainder exactly at the close', () => {
    const position = newPosition(0n);
    applyFill(position, 3n, 100n); // 3 units for 100 quote units: cost per unit 33.33…
    expect(applyFill(position, -1n, 34n)).toBe(0n); // released cost ⌈100/3⌉ = 34
    expect(applyFill(position, -2n, 66n)).toBe(0n); // the remaining 66, exactly
    expect(position.costBasisUnits).toBe(0n);
    const short = newPosition(0n);
    applyFill(short, -3n, 100n);
    expect(applyFill(short, 1n, 33n)).toBe(0n); // released −33 (toward +∞), so the short gains 0, not 0.33
    expect(applyFill(short, 2n, 66n)).toBe(1n); // and the rest, 67 − 66
  });

  it('funding: a long pays, a short receives, each rounded against the account', () => {
    const long = newPosition(0n);
    const short = newPosition(0n);
    applyFill(long, 3n, 1n);
    applyFill(short, -3n, 1n);
    // Index moves by 1/3 of a millionth of a USDC per whole SOL (wad): 3 units of SOL owe 10^-15 USDC units.
    const index = wad / 3n;
    expect(settleFunding(long, index, 9, 6)).toBe(1n); // pays ⌈3 × (1/3)e18 × 1e6 / 1e27⌉ = 1
    expect(settleFunding(short, index, 9, 6)).toBe(0n); // receives ⌊…⌋ = 0
    expect(long.fundingIndexAtSettlement).toBe(index);
    // A whole SOL long over an index move of 0.5 USDC pays exactly 0.5 USDC.
    const whole = newPosition(0n);
    applyFill(whole, sol, 100n * usdc);
    expect(settleFunding(whole, wad / 2n, 9, 6)).toBe(usdc / 2n);
    expect(whole.cumulativeFundingUnits).toBe(usdc / 2n);
  });

  it('unrealised PnL at the mark', () => {
    const { position } = after([-2n, 100n]);
    expect(unrealisedPnlUnits(position, 90n * wad, 9, 6)).toBe(20n * usdc);
    expect(unrealisedPnlUnits(position, 101n * wad, 9, 6)).toBe(-2n * usdc);
    const tiny = newPosition(0n);
    applyFill(tiny, -1n, 0n); // 1 unit short at 0; a mark of 1.5 USDC values it at −1.5e-9 USDC → −1 unit
    expect(unrealisedPnlUnits(tiny, (wad * 3n) / 2n, 9, 6)).toBe(-1n);
  });

  it('values the position at ⌊quantity × mark⌋ (the negated ceiling of the negated product), for any decimals', () => {
    for (const [baseDecimals, settlementDecimals] of [
      [9, 6],
      [6, 6],
      [2, 6],
    ] as const) {
      for (const quantity of [1n, -1n, 7n, -7n, 123_456_789n, -123_456_789n]) {
        for (const mark of [1n, wad / 3n, (wad * 3n) / 2n, 97_123_456_789n * wad]) {
          const position = newPosition(0n);
          position.quantityUnits = quantity;
          position.costBasisUnits = 5n;
          const value = -settlementUnitsTowardPositive(-quantity, mark, baseDecimals, settlementDecimals);
          expect(unrealisedPnlUnits(position, mark, baseDecimals, settlementDecimals)).toBe(value - 5n);
        }
      }
    }
  });
});

describe('conversions to USDC units', () => {
  // q × p × 10^s / (wad × 10^b) in one division of the exact rational, as docs/perps.md states the rounding: the
  // engine keeps its divisors to one word (p / 10^(b − s) when exact, else wad and 10^(b − s) in turn) and must
  // round exactly as this does.
  const ceiling = (numerator: bigint, denominator: bigint): bigint =>
    numerator / denominator + (numerator % denominator > 0n ? 1n : 0n);
  const floor = (numerator: bigint, denominator: bigint): bigint =>
    numerator / denominator - (numerator % denominator < 0n ? 1n : 0n);
  // Operands of many sizes: small, around the divisor, products past 2^128; a fixed linear congruential sequence.
  // Multiples of powers of ten too, as marks on a tick grid are (the engine divides those by fewer words).
  const operands: bigint[] = [1n, 7n, wad - 1n, wad, wad + 1n, 10n ** 21n - 1n, 10n ** 21n, 10n ** 21n + 1n];
  for (const power of [2n, 3n, 16n, 17n]) operands.push(12_345n * 10n ** power, 7n * 10n ** power + 1n);
  // The engine folds rounding away from zero into the numerator (± (divisor − 1) before truncating): numerators
  // at and next to multiples of each divisor it uses (wad, wad × 10^k), and past one and two 64-bit words.
  for (const divisor of [wad, wad * 100n, wad * 10n ** 12n])
    operands.push(divisor - 1n, divisor + 1n, 2n * divisor - 1n);
  operands.push(2n ** 64n - 1n, 2n ** 64n + 1n, 2n ** 128n + 1n);
  let draw = 12_345n;
  for (let index = 0; index < 40; index += 1) {
    draw = (draw * 6_364_136_223_846_793_005n + 1_442_695_040_888_963_407n) % 2n ** 64n;
    operands.push((draw % 10n ** BigInt(3 + (index % 25))) + 1n);
  }

  // Per-unit amounts with many counts of trailing zeros (zero, marks on tick grids of every size, and past wad), with
  // decimals where wad × 10^(b − s) is far past one word (30, 6) and where the settlement has more digits than wad
  // has (0, 24): whatever equal rational the engine divides (branch perps19 tried q × n / 10^(18 + b − s − j) for
  // p = n × 10^j, docs/benchmarks.md), it must round as this does.
  const perUnitMultiples: bigint[] = [0n];
  for (const power of [1n, 4n, 18n, 19n, 20n, 21n, 22n, 25n, 30n]) perUnitMultiples.push(3n * 10n ** power);

  it('rounds as one division of the exact rational, for any decimals, signs and sizes', () => {
    for (const [baseDecimals, settlementDecimals] of [
      [9, 6],
      [8, 6],
      [6, 6],
      [7, 6],
      [2, 6],
      [18, 6],
      [30, 6],
      [0, 24],
    ] as const) {
      const denominator = wad * 10n ** BigInt(baseDecimals);
      const scale = 10n ** BigInt(settlementDecimals);
      for (const quantity of operands) {
        for (const perUnit of operands.slice(0, 24).concat(operands.slice(-4), perUnitMultiples)) {
          // Both signs of both operands (a funding index difference is signed), each perUnit again after another.
          for (const [signedQuantity, signedPerUnit] of [
            [quantity, perUnit],
            [-quantity, perUnit],
            [quantity, -perUnit],
            [-quantity, -perUnit],
          ] as const) {
            const numerator = signedQuantity * signedPerUnit * scale;
            expect(settlementUnitsTowardPositive(signedQuantity, signedPerUnit, baseDecimals, settlementDecimals)).toBe(
              ceiling(numerator, denominator),
            );
            const position = newPosition(0n);
            position.quantityUnits = signedQuantity;
            position.costBasisUnits = 3n;
            expect(unrealisedPnlUnits(position, signedPerUnit, baseDecimals, settlementDecimals)).toBe(
              floor(numerator, denominator) - 3n,
            );
          }
          const quotient = settlementUnitsQuotient(quantity, perUnit, {
            base: { decimals: baseDecimals },
            quote: { decimals: settlementDecimals },
          });
          const numerator = quantity * perUnit * scale;
          expect(quotient).toBe(numerator / denominator);
          // Read right after the quotient (it reads that division): the same quotient rounded up.
          expect(notionalOfQuotient(quotient)).toBe(ceiling(numerator, denominator));
          // A short's mark value is the notional negated, a long's the quotient (perp-health.ts relies on both).
          expect(markValueUnits(-quantity, perUnit, baseDecimals, settlementDecimals)).toBe(
            -ceiling(numerator, denominator),
          );
          expect(markValueUnits(quantity, perUnit, baseDecimals, settlementDecimals)).toBe(numerator / denominator);
        }
      }
    }
  });
});

describe('refreshPerpMarket', () => {
  it('sets the mark to the base asset index price (empty book) and leaves the funding index', async () => {
    const { refreshPerpMarket } = await import('./perp-clock.js');
    const { defaultPerpFundingParameters, newPerpFundingState } = await import('./funding.js');
    const { observeBook } = await import('./mark-price.js');
    const emptyBook = {
      bids: { levels: [] },
      asks: { levels: [] },
      lastPriceTicks: 0n,
      priceScale: 2,
      tickUnits: 1n,
      quoteUnitsPerStepTick: 100n,
    };
    expect(observeBook(emptyBook, 1n).midPrice).toBeUndefined();
    const marketWith = (indexPrice: bigint | undefined, funding: object) => ({
      ...emptyBook,
      symbol: 'SOL_USDC_PERP',
      perp: { funding, fundingParameters: defaultPerpFundingParameters },
      base: { margin: indexPrice === undefined ? undefined : { indexPrice } },
    });
    const state = { recorder: { events: [] as unknown[] } };
    const perp = { ...newPerpFundingState(0, defaultPerpFundingParameters), cumulativeFundingIndex: 5n };
    refreshPerpMarket(state as never, marketWith(150n * wad, perp) as never, 1000);
    expect(perp.markPrice).toBe(150n * wad);
    expect(perp.cumulativeFundingIndex).toBe(5n);
    const unpriced = { ...newPerpFundingState(0, defaultPerpFundingParameters), markPrice: 7n, markIndexPrice: 7n };
    refreshPerpMarket(state as never, marketWith(undefined, unpriced) as never, 1000);
    expect(unpriced.markPrice).toBe(0n);
  });
});
