/**
 * The SDK's signing string and signatures against the engine's: byte-identical
 * strings (engine encodeSigningString and golden vectors), signatures that
 * verify under the engine's verifySignature, strings that parse back to the
 * same instruction, and the signature ccxt recorded for balanceQuery.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../src/base64.js';
import { ClientInputError } from '../src/errors.js';
import { decodeSecret, generateKeyPair, isPublicKeyText, keyPairFromSecret, keyPairFromSeed } from '../src/keys.js';
import {
  Signer,
  buildSigningString,
  effectiveEncoding,
  signInstructions,
  signedHeaders,
  stringifyValue,
  type InstructionGroup,
  type InstructionParameters,
  type ParameterValue,
} from '../src/signing.js';
import {
  isCanonicalAccountId,
  parseInstruction,
  publicKeyFromSeed,
  signMessage,
  verifySignature,
  encodeSigningString,
  parseSigningString,
} from '@vex/engine';
import vectors from '../../engine/src/signing-string-vectors.json' with { type: 'json' };

const utf8 = new TextEncoder();
const ccxtSeed = new Uint8Array(32).fill(7);
const ccxtSecret = encodeBase64(ccxtSeed);

interface RecordedCcxtRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}
const ccxtRequests: RecordedCcxtRequest[] = readFileSync(
  new URL('../../engine/test/fixtures/ccxt-requests.jsonl', import.meta.url),
  'utf8',
)
  .split('\n')
  .filter((line) => line.trim().length > 0)
  .map((line) => JSON.parse(line) as RecordedCcxtRequest);

/** What the engine's encoder takes: values already stringified. */
function engineGroups(
  groups: readonly InstructionGroup[],
): Array<{ instruction: string; params: Array<[string, string]> }> {
  return groups.map((group) => ({
    instruction: group.instruction,
    params: Object.entries(group.params)
      .filter((entry): entry is [string, ParameterValue] => entry[1] !== undefined)
      .map(([key, value]) => [key, stringifyValue(key, value)]),
  }));
}

// ---- generators ------------------------------------------------------------

const decimalText = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.option(fc.stringMatching(/^[0-9]{1,8}$/), { nil: undefined }))
  .map(([whole, fraction]) => (fraction === undefined ? whole.toString() : `${whole}.${fraction}`));
const decimalValue: fc.Arbitrary<string | number> = fc.oneof(
  decimalText,
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.constantFrom(0.5, 1.25, 99.99, 0.001),
);
const symbolText = fc.constantFrom('SOL_USDC', 'BTC_USDC', 'ETH_USDC', 'USDC', 'SOL', 'A1_B2');
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  minLength: 1,
  maxLength: 40,
});
const anyText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 });

const orderArbitrary: fc.Arbitrary<InstructionParameters> = fc.oneof(
  fc.record(
    {
      symbol: symbolText.filter((text) => text.includes('_')),
      side: fc.constantFrom('Bid', 'Ask'),
      orderType: fc.constant('Limit'),
      price: decimalValue,
      quantity: decimalValue,
      timeInForce: fc.constantFrom('GTC', 'IOC', 'FOK', undefined),
      selfTradePrevention: fc.constantFrom('RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow', undefined),
      clientId: fc.option(fc.integer({ min: 0, max: 4_294_967_295 }), { nil: undefined }),
      reduceOnly: fc.constantFrom(false, undefined),
    },
    { requiredKeys: ['symbol', 'side', 'orderType', 'price', 'quantity'] },
  ),
  fc
    .record({
      symbol: symbolText.filter((text) => text.includes('_')),
      side: fc.constantFrom('Bid', 'Ask'),
      orderType: fc.constant('Market'),
      amount: fc.oneof(fc.record({ quantity: decimalValue }), fc.record({ quoteQuantity: decimalValue })),
      clientId: fc.option(fc.integer({ min: 0, max: 4_294_967_295 }), { nil: undefined }),
    })
    .map(({ amount, ...rest }) => ({ ...rest, ...amount })),
  fc.record({
    symbol: symbolText.filter((text) => text.includes('_')),
    side: fc.constantFrom('Bid', 'Ask'),
    orderType: fc.constant('Limit'),
    price: decimalValue,
    quantity: decimalValue,
    postOnly: fc.constant(true),
    timeInForce: fc.constantFrom('GTC', undefined),
  }),
);

const withdrawalArbitrary: fc.Arbitrary<InstructionParameters> = fc.record({
  symbol: symbolText.filter((text) => !text.includes('_')),
  quantity: decimalValue,
  // Printable ASCII, including the characters that force percent-encoding.
  address: printable,
  blockchain: fc.constantFrom('Solana', 'Ethereum', 'Bitcoin'),
});

const parameterKey = fc
  .stringMatching(/^[A-Za-z][A-Za-z0-9]{0,11}$/)
  .filter((key) => !['instruction', 'timestamp', 'window'].includes(key));
const parameterValue: fc.Arbitrary<ParameterValue> = fc.oneof(
  anyText,
  printable,
  fc.boolean(),
  fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((value) => !/e/i.test(String(value))),
);
const freeGroup: fc.Arbitrary<InstructionGroup> = fc.record({
  instruction: fc.constantFrom(
    'orderExecute',
    'orderQueryAll',
    'withdraw',
    'fillHistoryQueryAll',
    'balanceQuery',
    'depositCredit',
  ),
  params: fc.dictionary(parameterKey, parameterValue, { maxKeys: 8 }),
});
const timestamp = fc.oneof(
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
);
const windowMs = fc.integer({ min: 1, max: 60_000 });
const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });

// ---- tests -----------------------------------------------------------------

describe('signing string: byte-identical to the engine', () => {
  interface ValidVector {
    readonly name: string;
    readonly groups: ReadonlyArray<{ readonly instruction: string; readonly params: Record<string, string> }>;
    readonly timestampMs: number;
    readonly windowMs: number;
    readonly raw: string;
    readonly percentEncoded: string;
  }

  it.each((vectors.valid as readonly ValidVector[]).map((vector) => [vector.name, vector] as const))(
    'golden vector %s',
    (_name, vector) => {
      expect(buildSigningString(vector.groups, vector.timestampMs, vector.windowMs, { encoding: 'percent' })).toBe(
        vector.percentEncoded,
      );
      const expectedDefault = effectiveEncoding(vector.groups) === 'percent' ? vector.percentEncoded : vector.raw;
      expect(buildSigningString(vector.groups, vector.timestampMs, vector.windowMs)).toBe(expectedDefault);
    },
  );

  it('matches encodeSigningString for random groups, raw and percent-encoded', () => {
    fc.assert(
      fc.property(
        fc.array(freeGroup, { minLength: 1, maxLength: 4 }),
        timestamp,
        windowMs,
        (groups, timestampMs, window) => {
          const percent = effectiveEncoding(groups) === 'percent';
          expect(buildSigningString(groups, timestampMs, window)).toBe(
            encodeSigningString(engineGroups(groups), timestampMs, window, { percentEncode: percent }),
          );
          expect(buildSigningString(groups, timestampMs, window, { encoding: 'percent' })).toBe(
            encodeSigningString(engineGroups(groups), timestampMs, window, { percentEncode: true }),
          );
          // Raw is used whenever it is unambiguous.
          const ambiguous = engineGroups(groups).some((group) =>
            group.params.some(([, value]) => value.includes('%') || value.includes('&')),
          );
          expect(percent).toBe(ambiguous);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('parses back, through the engine, to exactly the parameters given', () => {
    fc.assert(
      fc.property(
        fc.array(freeGroup, { minLength: 1, maxLength: 4 }),
        timestamp,
        windowMs,
        fc.constantFrom('raw', 'percent' as const),
        (groups, timestampMs, window, encoding) => {
          const text = buildSigningString(groups, timestampMs, window, { encoding });
          const parsed = parseSigningString(utf8.encode(text));
          if (!parsed.ok) throw new Error(`${parsed.message}: ${text}`);
          expect(parsed.value.timestampMs).toBe(timestampMs);
          expect(parsed.value.windowMs).toBe(window);
          expect(
            parsed.value.groups.map((group) => ({
              instruction: group.instruction,
              params: Object.fromEntries(group.params),
            })),
          ).toEqual(
            engineGroups(groups).map((group) => ({
              instruction: group.instruction,
              params: Object.fromEntries(group.params),
            })),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('signatures verify under the engine rule', () => {
  it('random orders and order batches: same string as the engine, valid signature, parses to the same orders', () => {
    fc.assert(
      fc.property(
        seed,
        fc.array(orderArbitrary, { minLength: 1, maxLength: 5 }),
        timestamp,
        windowMs,
        (seedBytes, orders, timestampMs, window) => {
          const { secret } = keyPairFromSeed(seedBytes);
          const groups = orders.map((params) => ({ instruction: 'orderExecute', params }));
          const signed = signInstructions(secret, groups, { timestampMs, windowMs: window });
          expect(signed.message).toBe(encodeSigningString(engineGroups(groups), timestampMs, window));
          const message = utf8.encode(signed.message);
          expect(verifySignature(decodeBase64(signed.publicKey), message, decodeBase64(signed.signature))).toBe(
            'valid',
          );
          const parsed = parseSigningString(message);
          if (!parsed.ok) throw new Error(parsed.message);
          const instruction = parseInstruction(parsed.value.groups);
          if (!instruction.ok) throw new Error(`${instruction.message}: ${signed.message}`);
          if (instruction.instruction.kind !== 'orderExecute') throw new Error('not an order');
          expect(
            instruction.instruction.orders.map((order) => [
              order.symbol,
              order.side,
              order.orderType,
              order.price,
              order.quantity,
              order.quoteQuantity,
              order.clientId,
            ]),
          ).toEqual(
            orders.map((order) => [
              order.symbol,
              order.side,
              order.orderType,
              order.price === undefined ? undefined : String(order.price),
              order.quantity === undefined ? undefined : String(order.quantity),
              order.quoteQuantity === undefined ? undefined : String(order.quoteQuantity),
              order.clientId,
            ]),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('random withdrawals (addresses with %, &, =, + and spaces): valid signature over the engine string', () => {
    fc.assert(
      fc.property(seed, withdrawalArbitrary, timestamp, windowMs, (seedBytes, params, timestampMs, window) => {
        const signer = new Signer(keyPairFromSeed(seedBytes).secret);
        const groups = [{ instruction: 'withdraw', params }];
        const signed = signer.sign(groups, { timestampMs, windowMs: window });
        const percent = effectiveEncoding(groups) === 'percent';
        expect(signed.message).toBe(
          encodeSigningString(engineGroups(groups), timestampMs, window, { percentEncode: percent }),
        );
        expect(
          verifySignature(decodeBase64(signer.publicKey), utf8.encode(signed.message), decodeBase64(signed.signature)),
        ).toBe('valid');
        const parsed = parseSigningString(utf8.encode(signed.message));
        if (!parsed.ok) throw new Error(parsed.message);
        expect(parsed.value.groups[0]?.params.get('address')).toBe(params.address);
      }),
      { numRuns: 200 },
    );
  });

  it('signatures are byte-identical to the engine signMessage (deterministic Ed25519)', () => {
    fc.assert(
      fc.property(seed, fc.uint8Array({ maxLength: 300 }), (seedBytes, message) => {
        const signer = new Signer(encodeBase64(seedBytes));
        expect(signer.signBytes(message)).toBe(encodeBase64(signMessage(seedBytes, message)));
        expect(signer.publicKey).toBe(encodeBase64(publicKeyFromSeed(seedBytes)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('the recorded ccxt requests', () => {
  const balanceQuery = ccxtRequests.find((request) => request.url === '/api/v1/capital');

  it('reproduces the balanceQuery signature exactly', () => {
    expect(balanceQuery).toBeDefined();
    const signer = new Signer(ccxtSecret);
    expect(signer.publicKey).toBe(balanceQuery?.headers['x-api-key']);
    const signed = signer.sign([{ instruction: 'balanceQuery', params: {} }], {
      timestampMs: 1795250315693,
      windowMs: 5000,
    });
    expect(signed.message).toBe('instruction=balanceQuery&timestamp=1795250315693&window=5000');
    expect(signed.signature).toBe(
      '8q+9kt0KfdLn9bIGDtHAMczUpZzWjwBttboDvW57FxapHFbBwztLMgW/zWude8gdpBUC0yw3jfKwjwCYeb9yAA==',
    );
    expect(signed.signature).toBe(balanceQuery?.headers['x-signature']);
    expect(signedHeaders(signed)).toEqual({
      'X-API-Key': '6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=',
      'X-Signature': balanceQuery?.headers['x-signature'],
      'X-Timestamp': '1795250315693',
      'X-Window': '5000',
    });
  });
});

describe('values and parameters the SDK refuses to sign', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an exponent', 1e21],
    ['a tiny exponent', 1e-7],
    ['an unsafe integer', 2 ** 53],
    ['an empty string', ''],
    ['a lone surrogate', 'a\uD800b'],
  ])('%s', (_name, value) => {
    expect(() => stringifyValue('price', value)).toThrow(ClientInputError);
  });

  it('stringifies like Backpack clients', () => {
    expect(stringifyValue('postOnly', true)).toBe('true');
    expect(stringifyValue('postOnly', false)).toBe('false');
    expect(stringifyValue('price', 0.1)).toBe('0.1');
    expect(stringifyValue('clientId', 4_294_967_295)).toBe('4294967295');
    expect(stringifyValue('price', '100.50')).toBe('100.50');
  });

  it('refuses malformed and reserved keys, bad windows and timestamps, empty groups', () => {
    expect(() => buildSigningString([{ instruction: 'x', params: { 'a-b': '1' } }], 1, 1)).toThrow(/letter/);
    expect(() => buildSigningString([{ instruction: 'x', params: { timestamp: '1' } }], 1, 1)).toThrow(/reserved/);
    expect(() => buildSigningString([{ instruction: 'Bad', params: {} }], 1, 1)).toThrow(/instruction/);
    expect(() => buildSigningString([{ instruction: 'x', params: {} }], 1, 0)).toThrow(/window/);
    expect(() => buildSigningString([{ instruction: 'x', params: {} }], 1, 60_001)).toThrow(/window/);
    expect(() => buildSigningString([{ instruction: 'x', params: {} }], -1, 5000)).toThrow(/timestamp/);
    expect(() => buildSigningString([{ instruction: 'x', params: {} }], 1.5, 5000)).toThrow(/timestamp/);
    expect(() => buildSigningString([], 1, 5000)).toThrow(/at least one/);
  });

  it('leaves out undefined parameters', () => {
    expect(buildSigningString([{ instruction: 'orderQueryAll', params: { symbol: undefined, limit: 5 } }], 1, 2)).toBe(
      'instruction=orderQueryAll&limit=5&timestamp=1&window=2',
    );
  });
});

describe('keys and base64', () => {
  it('base64 round-trips and matches Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(decodeBase64(text)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('base64 decoding is strict', () => {
    for (const bad of ['A', 'AB=', 'AB==AB==', 'A===', '====', 'AB!=', 'AB-_', 'AR==', 'AAB=', ' AA=']) {
      expect(() => decodeBase64(bad), bad).toThrow(SyntaxError);
    }
    expect(decodeBase64('')).toEqual(new Uint8Array());
  });

  it('generated keys are Backpack-format and canonical account ids', () => {
    for (let index = 0; index < 20; index++) {
      const pair = generateKeyPair();
      const seedBytes = decodeSecret(pair.secret);
      expect(seedBytes.length).toBe(32);
      expect(pair.publicKey).toBe(encodeBase64(publicKeyFromSeed(seedBytes)));
      expect(isCanonicalAccountId(pair.publicKey)).toBe(true);
      expect(isPublicKeyText(pair.publicKey)).toBe(true);
      expect(keyPairFromSecret(pair.secret)).toEqual(pair);
    }
    expect(new Set(Array.from({ length: 20 }, () => generateKeyPair().secret)).size).toBe(20);
  });

  it('the ccxt test key', () => {
    expect(keyPairFromSecret(ccxtSecret).publicKey).toBe('6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=');
  });

  it('rejects secrets that are not 32 bytes of base64', () => {
    expect(() => decodeSecret('not base64!')).toThrow(ClientInputError);
    expect(() => decodeSecret(encodeBase64(new Uint8Array(31)))).toThrow(/32 bytes/);
    expect(() => decodeSecret(encodeBase64(new Uint8Array(64)))).toThrow(/32 bytes/);
    expect(isPublicKeyText('6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw')).toBe(false);
  });
});
