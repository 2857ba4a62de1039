import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInstruction } from './instruction.js';
import {
  encodeSigningString,
  encodeSigningStringBytes,
  maximumBatchSize,
  maximumSigningStringBytes,
  parseSigningString,
  type SigningString,
} from './signing-string.js';
import vectors from './signing-string-vectors.json' with { type: 'json' };

interface PlainGroup {
  readonly instruction: string;
  readonly params: Record<string, string>;
}

interface ValidVector {
  readonly name: string;
  readonly groups: readonly PlainGroup[];
  readonly timestampMs: number;
  readonly windowMs: number;
  readonly raw: string;
  readonly percentEncoded: string;
  readonly alsoParses?: readonly string[];
  readonly instructionRejects?: boolean;
}

interface InvalidVector {
  readonly name: string;
  readonly message?: string;
  readonly messageHex?: string;
  readonly error: string;
}

const validVectors = vectors.valid as readonly ValidVector[];
const invalidVectors = vectors.invalid as readonly InvalidVector[];
const utf8 = new TextEncoder();

function toMapGroups(groups: readonly PlainGroup[]): Array<{ instruction: string; params: Map<string, string> }> {
  return groups.map((group) => ({ instruction: group.instruction, params: new Map(Object.entries(group.params)) }));
}

/** The parse result as plain data, with params in the order the parser produced them. */
function plain(value: SigningString): {
  groups: Array<{ instruction: string; params: Array<[string, string]> }>;
  timestampMs: number;
  windowMs: number;
} {
  return {
    groups: value.groups.map((group) => ({ instruction: group.instruction, params: [...group.params] })),
    timestampMs: value.timestampMs,
    windowMs: value.windowMs,
  };
}

function expected(vector: Pick<ValidVector, 'groups' | 'timestampMs' | 'windowMs'>): ReturnType<typeof plain> {
  return {
    groups: vector.groups.map((group) => ({
      instruction: group.instruction,
      params: Object.entries(group.params).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)),
    })),
    timestampMs: vector.timestampMs,
    windowMs: vector.windowMs,
  };
}

function parseText(text: string): ReturnType<typeof parseSigningString> {
  return parseSigningString(utf8.encode(text));
}

describe('signing-string golden vectors', () => {
  it('has the cases the protocol promises', () => {
    const names = validVectors.map((vector) => vector.name);
    for (const name of ['single-order', 'batch', 'cancel', 'withdraw-address', 'no-parameters', 'mixed-batch'])
      expect(names).toContain(name);
    expect(invalidVectors.length).toBeGreaterThan(40);
  });

  describe.each(validVectors)('$name', (vector) => {
    it('encodes to the raw form', () => {
      expect(encodeSigningString(toMapGroups(vector.groups), vector.timestampMs, vector.windowMs)).toBe(vector.raw);
      expect(
        Buffer.from(encodeSigningStringBytes(toMapGroups(vector.groups), vector.timestampMs, vector.windowMs)).toString(
          'utf8',
        ),
      ).toBe(vector.raw);
    });

    it('encodes to the percent-encoded form', () => {
      expect(
        encodeSigningString(toMapGroups(vector.groups), vector.timestampMs, vector.windowMs, { percentEncode: true }),
      ).toBe(vector.percentEncoded);
    });

    it('parses the raw form, the percent-encoded form and every alternative back to the groups', () => {
      for (const text of [vector.raw, vector.percentEncoded, ...(vector.alsoParses ?? [])]) {
        const parsed = parseText(text);
        expect(parsed.ok, text).toBe(true);
        if (parsed.ok) expect(plain(parsed.value)).toEqual(expected(vector));
      }
    });

    it(
      vector.instructionRejects === true
        ? 'is rejected by the instruction layer'
        : 'is accepted by the instruction layer',
      () => {
        const parsed = parseText(vector.raw);
        if (!parsed.ok) throw new Error(parsed.message);
        const instruction = parseInstruction(parsed.value.groups);
        expect(instruction.ok).toBe(vector.instructionRejects !== true);
        if (!instruction.ok) expect(instruction.message).toContain('Only orderExecute may be batched');
      },
    );
  });

  it.each(invalidVectors)('rejects $name', (vector) => {
    const bytes =
      vector.messageHex !== undefined
        ? Uint8Array.from(Buffer.from(vector.messageHex, 'hex'))
        : utf8.encode(vector.message as string);
    const parsed = parseSigningString(bytes);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(vector.error);
  });
});

describe('signing-string limits', () => {
  const order = 'instruction=orderExecute&orderType=Limit&price=99&quantity=1&side=Bid&symbol=SOL_USDC';

  it(`accepts a batch of ${maximumBatchSize} groups and rejects ${maximumBatchSize + 1}`, () => {
    expect(maximumBatchSize).toBe(50);
    const batch = (count: number): string =>
      `${Array.from({ length: count }, () => order).join('&')}&timestamp=1&window=5000`;
    const full = parseText(batch(maximumBatchSize));
    expect(full.ok).toBe(true);
    if (full.ok) expect(full.value.groups).toHaveLength(maximumBatchSize);
    const tooMany = parseText(batch(maximumBatchSize + 1));
    expect(tooMany).toEqual({
      ok: false,
      code: 'INVALID_CLIENT_REQUEST',
      message: `A batch holds at most ${maximumBatchSize} instructions.`,
    });
  });

  it(`accepts a message of exactly ${maximumSigningStringBytes} bytes and rejects one byte more`, () => {
    expect(maximumSigningStringBytes).toBe(16_384);
    const message = (length: number): string => {
      const frame = 'instruction=orderQueryAll&memo=&timestamp=1&window=5000';
      const memo = 'x'.repeat(length - frame.length);
      return `instruction=orderQueryAll&memo=${memo}&timestamp=1&window=5000`;
    };
    expect(utf8.encode(message(maximumSigningStringBytes)).length).toBe(maximumSigningStringBytes);
    expect(parseText(message(maximumSigningStringBytes)).ok).toBe(true);
    expect(parseText(message(maximumSigningStringBytes + 1))).toEqual({
      ok: false,
      code: 'INVALID_CLIENT_REQUEST',
      message: 'The signed message is too long.',
    });
  });

  it('counts bytes, not characters', () => {
    // 5461 three-byte characters: fewer than 16384 characters, more than 16384 bytes.
    const text = `instruction=orderQueryAll&memo=${'€'.repeat(5_461)}&timestamp=1&window=5000`;
    expect(text.length).toBeLessThan(maximumSigningStringBytes);
    expect(parseText(text)).toEqual({
      ok: false,
      code: 'INVALID_CLIENT_REQUEST',
      message: 'The signed message is too long.',
    });
  });
});

describe('signing-string round trips', () => {
  const reserved = new Set(['instruction', 'timestamp', 'window']);
  const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,11}$/).filter((text) => !reserved.has(text));
  const printable = fc.constantFrom(
    ' ',
    '/',
    ':',
    '+',
    '=',
    '&',
    '%',
    '?',
    '#',
    '~',
    '!',
    '(',
    ')',
    '*',
    "'",
    'é',
    '€',
    '😀',
    '中',
    'a',
    'Z',
    '0',
    '.',
  );
  const value = fc.oneof(
    fc.string({ unit: printable, minLength: 1, maxLength: 12 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }),
  );
  const group = fc.record({
    instruction: fc.stringMatching(/^[a-z][A-Za-z0-9]{0,15}$/),
    params: fc.uniqueArray(fc.tuple(key, value), { selector: ([name]) => name, maxLength: 6 }),
  });
  const signingString = fc.record({
    groups: fc.array(group, { minLength: 1, maxLength: 5 }),
    timestampMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    windowMs: fc.integer({ min: 1, max: 60_000 }),
  });

  function canonical(input: {
    groups: Array<{ instruction: string; params: Array<[string, string]> }>;
    timestampMs: number;
    windowMs: number;
  }) {
    return expected({
      groups: input.groups.map((entry) => ({
        instruction: entry.instruction,
        params: Object.fromEntries(entry.params),
      })),
      timestampMs: input.timestampMs,
      windowMs: input.windowMs,
    });
  }

  it('percent-encoded: encode then parse gives the groups back, for any values', () => {
    fc.assert(
      fc.property(signingString, (input) => {
        const groups = input.groups.map((entry) => ({ instruction: entry.instruction, params: new Map(entry.params) }));
        const parsed = parseSigningString(
          encodeSigningStringBytes(groups, input.timestampMs, input.windowMs, { percentEncode: true }),
        );
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(plain(parsed.value)).toEqual(canonical(input));
      }),
      { numRuns: 1_000 },
    );
  });

  it('raw: encode then parse gives the groups back whenever no value holds & or %', () => {
    fc.assert(
      fc.property(signingString, (input) => {
        fc.pre(
          input.groups.every((entry) => entry.params.every(([, text]) => !text.includes('&') && !text.includes('%'))),
        );
        const groups = input.groups.map((entry) => ({ instruction: entry.instruction, params: new Map(entry.params) }));
        const parsed = parseSigningString(encodeSigningStringBytes(groups, input.timestampMs, input.windowMs));
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(plain(parsed.value)).toEqual(canonical(input));
      }),
      { numRuns: 1_000 },
    );
  });

  it('the raw and percent-encoded forms of the same groups parse identically', () => {
    fc.assert(
      fc.property(signingString, (input) => {
        fc.pre(
          input.groups.every((entry) => entry.params.every(([, text]) => !text.includes('&') && !text.includes('%'))),
        );
        const groups = input.groups.map((entry) => ({ instruction: entry.instruction, params: new Map(entry.params) }));
        const raw = parseSigningString(encodeSigningStringBytes(groups, input.timestampMs, input.windowMs));
        const encoded = parseSigningString(
          encodeSigningStringBytes(groups, input.timestampMs, input.windowMs, { percentEncode: true }),
        );
        expect(raw).toEqual(encoded);
      }),
      { numRuns: 500 },
    );
  });

  it('parsing never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const parsed = parseSigningString(bytes);
        expect(typeof parsed.ok).toBe('boolean');
      }),
      { numRuns: 2_000 },
    );
  });
});
