import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDecimal, maximumDecimalLength, parseDecimal, parseIncrements, parseUnsignedInteger } from './decimal.js';

describe('parseDecimal', () => {
  it.each([
    ['0', 0, 0n],
    ['0', 6, 0n],
    ['1', 0, 1n],
    ['1', 6, 1_000_000n],
    ['0.5', 1, 5n],
    ['0.5', 9, 500_000_000n],
    ['0.50', 1, 5n],
    ['0.50', 2, 50n],
    ['100', 0, 100n],
    ['100', 2, 10_000n],
    ['101.25', 2, 10_125n],
    ['101.25', 6, 101_250_000n],
    ['1.000', 0, 1n],
    ['0.0', 0, 0n],
    ['0.000000000000000001', 18, 1n],
    ['340282366920938463463374607431768211455', 0, 340282366920938463463374607431768211455n],
  ])('accepts %j at scale %i as %s units', (text, scale, units) => {
    expect(parseDecimal(text, scale)).toEqual({ ok: true, units });
  });

  it.each([
    '',
    '.5',
    '5.',
    '01',
    '00',
    '00.5',
    '+1',
    '-1',
    '-0',
    '1e3',
    '1E3',
    '1,5',
    ' 1',
    '1 ',
    '1\n',
    '0x10',
    '\uFF11', // fullwidth digit one
    '\u0661', // Arabic-Indic digit one
    'NaN',
    'Infinity',
    '1..5',
    '1.5.',
    '1_000',
    '.',
  ])('rejects %j as malformed', (text) => {
    expect(parseDecimal(text, 18)).toEqual({ ok: false, reason: 'malformed' });
  });

  it.each([
    ['0.001', 2],
    ['101.255', 2],
    ['0.5', 0],
    ['1.0000000000000000001', 18],
  ])('rejects %j at scale %i as too precise, never rounding', (text, scale) => {
    expect(parseDecimal(text, scale)).toEqual({ ok: false, reason: 'too-precise' });
  });

  it('ignores trailing fraction zeros when judging precision', () => {
    expect(parseDecimal('0.0010', 3)).toEqual({ ok: true, units: 1n });
    expect(parseDecimal('2.500000', 1)).toEqual({ ok: true, units: 25n });
  });

  it('rejects text longer than the maximum before looking at it', () => {
    expect(maximumDecimalLength).toBe(48);
    expect(parseDecimal('1'.repeat(48), 0)).toEqual({ ok: true, units: BigInt('1'.repeat(48)) });
    expect(parseDecimal('1'.repeat(49), 0)).toEqual({ ok: false, reason: 'too-long' });
    expect(parseDecimal(' '.repeat(49), 0)).toEqual({ ok: false, reason: 'too-long' });
    expect(parseDecimal('0.' + '0'.repeat(47), 0)).toEqual({ ok: false, reason: 'too-long' });
  });
});

describe('formatDecimal', () => {
  it.each([
    [0n, 0, '0'],
    [0n, 6, '0'],
    [1n, 0, '1'],
    [5n, 1, '0.5'],
    [50n, 2, '0.5'],
    [10_125n, 2, '101.25'],
    [1_000_000n, 6, '1'],
    [1n, 18, '0.000000000000000001'],
    [-10_125n, 2, '-101.25'],
  ])('formats %s units at scale %i as %j', (units, scale, text) => {
    expect(formatDecimal(units, scale)).toBe(text);
  });
});

describe('parseIncrements', () => {
  it('counts whole increments', () => {
    expect(parseIncrements('101.25', 2, 1n)).toEqual({ ok: true, count: 10_125n });
    expect(parseIncrements('101.25', 2, 5n)).toEqual({ ok: true, count: 2_025n });
    expect(parseIncrements('0.5', 9, 10_000_000n)).toEqual({ ok: true, count: 50n });
    expect(parseIncrements('0', 2, 5n)).toEqual({ ok: true, count: 0n });
  });

  it('rejects a value between increments as too precise', () => {
    expect(parseIncrements('101.26', 2, 5n)).toEqual({ ok: false, reason: 'too-precise' });
    expect(parseIncrements('0.005', 9, 10_000_000n)).toEqual({ ok: false, reason: 'too-precise' });
  });

  it('passes parse failures through', () => {
    expect(parseIncrements('1e3', 2, 1n)).toEqual({ ok: false, reason: 'malformed' });
    expect(parseIncrements('0.001', 2, 1n)).toEqual({ ok: false, reason: 'too-precise' });
    expect(parseIncrements('9'.repeat(49), 2, 1n)).toEqual({ ok: false, reason: 'too-long' });
  });
});

describe('parseUnsignedInteger', () => {
  it('accepts canonical integers within the maximum', () => {
    expect(parseUnsignedInteger('0', 10n)).toBe(0n);
    expect(parseUnsignedInteger('10', 10n)).toBe(10n);
    expect(parseUnsignedInteger('4294967295', 4_294_967_295n)).toBe(4_294_967_295n);
    expect(parseUnsignedInteger('18446744073709551615', (1n << 64n) - 1n)).toBe((1n << 64n) - 1n);
  });

  it.each(['', '01', '-1', '+1', '1.0', '1e3', ' 1', '1 ', '\uFF11', '0x1', '123456789012345678901'])(
    'rejects %j',
    (text) => {
      expect(parseUnsignedInteger(text, 1n << 80n)).toBeUndefined();
    },
  );

  it('rejects values above the maximum', () => {
    expect(parseUnsignedInteger('11', 10n)).toBeUndefined();
    expect(parseUnsignedInteger('4294967296', 4_294_967_295n)).toBeUndefined();
  });
});

/** Accepted decimal strings: canonical integer part, optional fraction (trailing zeros allowed), and a scale that fits. */
const acceptedDecimal = fc
  .record({
    integerPart: fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,20}$/)),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,18}$/), { nil: undefined }),
    extraScale: fc.nat({ max: 18 }),
  })
  .map(({ integerPart, fraction, extraScale }) => {
    const text = fraction === undefined ? integerPart : `${integerPart}.${fraction}`;
    const significant = (fraction ?? '').replace(/0+$/, '').length;
    return { text, scale: Math.min(18, significant + extraScale) };
  });

describe('decimal properties', () => {
  it('parseDecimal(formatDecimal(u, s), s) === u for every u ≥ 0 and scale 0..18', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 18 }), (units, scale) => {
        const text = formatDecimal(units, scale);
        expect(parseDecimal(text, scale)).toEqual({ ok: true, units });
      }),
      { numRuns: 2_000 },
    );
  });

  it('formatDecimal(parse(s)) is s with trailing fraction zeros (and a bare point) removed', () => {
    fc.assert(
      fc.property(acceptedDecimal, ({ text, scale }) => {
        const parsed = parseDecimal(text, scale);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const stripped = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
        expect(formatDecimal(parsed.units, scale)).toBe(stripped);
      }),
      { numRuns: 2_000 },
    );
  });

  it('agrees with the regular-expression parser it replaced on any text and scale', () => {
    // The parser as it was before it read by character code: same result, or same reason, for every input.
    const reference = (text: string, scale: number): ReturnType<typeof parseDecimal> => {
      if (text.length > maximumDecimalLength) return { ok: false, reason: 'too-long' };
      const match = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(text);
      if (match === null) return { ok: false, reason: 'malformed' };
      const fraction = (match[2] ?? '').replace(/0+$/, '');
      if (fraction.length > scale) return { ok: false, reason: 'too-precise' };
      return { ok: true, units: BigInt((match[1] as string) + fraction.padEnd(scale, '0')) };
    };
    const decimalish = fc.stringMatching(/^[0-9.]{0,52}$/);
    const nearDecimal = fc
      .tuple(acceptedDecimal, fc.constantFrom('', '.', '0', '00', 'e5', '-', ' ', '+1', '.0', '..'), fc.nat(60))
      .map(([{ text }, piece, at]) => text.slice(0, at) + piece + text.slice(at));
    fc.assert(
      fc.property(
        fc.oneof(decimalish, nearDecimal, fc.string({ maxLength: 20 })),
        fc.integer({ min: 0, max: 70 }),
        (text, scale) => {
          expect(parseDecimal(text, scale)).toEqual(reference(text, scale));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('anything outside the plain-decimal grammar is malformed or too long', () => {
    const grammar = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        const parsed = parseDecimal(text, 18);
        if (text.length > maximumDecimalLength) expect(parsed).toEqual({ ok: false, reason: 'too-long' });
        else if (!grammar.test(text)) expect(parsed).toEqual({ ok: false, reason: 'malformed' });
      }),
      { numRuns: 2_000 },
    );
  });
});
