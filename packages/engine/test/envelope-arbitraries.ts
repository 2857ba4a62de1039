/**
 * The envelope fuzzer's cases: what a case mutates (the message, the key, the
 * signature), how it signs, at which log time it applies, and the fast-check
 * arbitraries that generate them.
 */
import fc from 'fast-check';
import { instructionRules, queryNames } from './envelope-oracle.js';
import { originals } from './envelope-base.js';

export type Field = 'message' | 'publicKey' | 'signature';
export const numberForms = [
  'leadingZero',
  'twoLeadingZeros',
  'plusSign',
  'minusSign',
  'exponent',
  'upperExponent',
  'trailingPoint',
  'leadingPoint',
  'trailingFractionZeros',
  'overPrecise',
  'beyondSafeInteger',
  'twoToThe64',
  'giantDecimal',
  'tooLongDecimal',
  'tinyFraction',
  'hexadecimal',
  'leadingSpace',
  'trailingSpace',
  'fullwidthDigits',
  'thousandsSeparator',
  'negativeZero',
  'notANumber',
  'infinity',
  'zero',
  'underscoreSeparator',
  'maximumSafeInteger',
] as const;
export type NumberForm = (typeof numberForms)[number];
export const percentVariants = [
  'encodeEveryCharacter',
  'lowerCaseEscapes',
  'doubleEncoded',
  'strayPercent',
  'shortEscape',
  'badHexEscape',
  'percentPercent',
  'encodedAmpersand',
  'encodedEquals',
  'overlongSlash',
  'encodedSurrogate',
  'encodedNul',
  'invalidByte',
  'encodedNonAscii',
  'rawNonAscii',
  'encodedSpace',
  'rawPlus',
  'encodedPlus',
] as const;
export type PercentVariant = (typeof percentVariants)[number];
export const instructionNames = [
  ...Object.keys(instructionRules),
  ...queryNames,
  'OrderExecute',
  'orderexecute',
  'order_execute',
  'orderExecute ',
  'x',
  'a'.repeat(65),
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  'attestation',
  '',
];
export const hostileKeys = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isAdmin',
  'Symbol',
  'SYMBOL',
  'symb%6Fl',
  'timestamp',
  'window',
  'instruction',
  'a'.repeat(65),
  '1abc',
  'sym bol',
  'é',
  'clientId',
  'orderId',
  'price',
  'quantity',
  'zzz',
  'A',
];
export const hostileValues = [
  '__proto__',
  'constructor',
  '{"a":1}',
  'null',
  'undefined',
  'true',
  'false',
  '',
  ' ',
  'é',
  '😀',
  '\u202e',
  '\u0000',
  '\uFEFF',
  'a'.repeat(257),
  'a'.repeat(256),
  'SOL_USDC',
  'BTC_USDC',
  'DOGE_USDC',
  'SOL',
  'USDC',
  'Bid',
  'Ask',
  'Market',
  'Limit',
  'IOC',
  'FOK',
  '0',
  '1',
  '4294967295',
  '4294967296',
  '9007199254740991',
  '9007199254740992',
  '0.01',
  '100',
  'Solana',
  'addr 1/x+y',
];
export const insertedTexts = [
  '&',
  '=',
  '%',
  '&&',
  'é',
  '😀',
  '\uFEFF',
  '\u0000',
  ' ',
  '+',
  '\u202e',
  'instruction=orderExecute&',
  '&timestamp=1',
  '\r\n',
];
export const specialKeys = [
  'allZero',
  'identity',
  'orderTwo',
  'nonCanonical',
  'allOnes',
  'operator',
  'trader',
] as const;

export type Mutation =
  | { readonly kind: 'flipBit'; readonly field: Field; readonly position: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly field: Field; readonly keep: number }
  | { readonly kind: 'extend'; readonly field: Field; readonly bytes: Uint8Array }
  | { readonly kind: 'setByte'; readonly field: Field; readonly position: number; readonly value: number }
  | { readonly kind: 'duplicateParameter'; readonly position: number; readonly value: string | null }
  | { readonly kind: 'swapInstruction'; readonly position: number; readonly name: string }
  | { readonly kind: 'reencodeNumber'; readonly position: number; readonly form: NumberForm }
  | { readonly kind: 'replaceValue'; readonly position: number; readonly value: string }
  | { readonly kind: 'renameKey'; readonly position: number; readonly key: string }
  | { readonly kind: 'swapParameters'; readonly position: number }
  | { readonly kind: 'removePart'; readonly position: number }
  | { readonly kind: 'percentVariant'; readonly position: number; readonly variant: PercentVariant }
  | { readonly kind: 'timestampAroundWindow'; readonly direction: -1 | 1; readonly excessMs: number }
  | { readonly kind: 'setWindow'; readonly value: string }
  | { readonly kind: 'repeatGroup'; readonly count: number }
  | { readonly kind: 'insertText'; readonly position: number; readonly text: string }
  | { readonly kind: 'oversizeQuery'; readonly bytesFromLimit: number; readonly twoByteCharacters: boolean }
  | { readonly kind: 'attestation'; readonly body: 'binary' | 'signingString'; readonly bytes: Uint8Array }
  | { readonly kind: 'foreignSignature'; readonly other: number }
  | { readonly kind: 'foreignKey'; readonly other: number }
  | { readonly kind: 'malleateS' }
  | { readonly kind: 'specialKey'; readonly which: (typeof specialKeys)[number] };

export type Signing = 'keep' | 'resign' | 'operator' | 'otherTrader';
export type LogTimeChoice =
  | { readonly kind: 'near'; readonly offsetMs: number }
  | { readonly kind: 'far'; readonly offsetMs: number }
  | {
      readonly kind: 'invalid';
      readonly which: 'beforeState' | 'negative' | 'notANumber' | 'fraction' | 'unsafe' | 'infinity';
    };

export interface FuzzCase {
  readonly origin: number;
  readonly mutations: readonly Mutation[];
  readonly signing: Signing;
  readonly logTime: LogTimeChoice;
}

export const fieldArbitrary = fc.constantFrom<Field>('message', 'message', 'publicKey', 'signature');
export const position = fc.nat(100_000);
export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('flipBit' as const), field: fieldArbitrary, position, bit: fc.nat(7) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('truncate' as const), field: fieldArbitrary, keep: position }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('extend' as const),
      field: fieldArbitrary,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('setByte' as const),
      field: fieldArbitrary,
      position,
      value: fc.nat(255),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('duplicateParameter' as const),
      position,
      value: fc.option(fc.constantFrom(...hostileValues), { nil: null }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('swapInstruction' as const),
      position,
      name: fc.constantFrom(...instructionNames),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reencodeNumber' as const),
      position,
      form: fc.constantFrom(...numberForms),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('replaceValue' as const),
      position,
      value: fc.oneof(fc.constantFrom(...hostileValues), fc.string({ maxLength: 6, unit: 'binary' })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('renameKey' as const), position, key: fc.constantFrom(...hostileKeys) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('swapParameters' as const), position }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('removePart' as const), position }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('percentVariant' as const),
      position,
      variant: fc.constantFrom(...percentVariants),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('timestampAroundWindow' as const),
      direction: fc.constantFrom<-1 | 1>(-1, 1),
      excessMs: fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -5_000, max: 200_000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('setWindow' as const),
      value: fc.constantFrom(
        '0',
        '1',
        '60000',
        '60001',
        '99999999',
        '-1',
        '05000',
        '5000.0',
        '5e3',
        '9007199254740993',
        '',
        ' 5000',
        '６０',
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('repeatGroup' as const),
      count: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 48, max: 52 })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('insertText' as const),
      position,
      text: fc.constantFrom(...insertedTexts),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('oversizeQuery' as const),
      bytesFromLimit: fc.integer({ min: -3, max: 3 }),
      twoByteCharacters: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('attestation' as const),
      body: fc.constantFrom<'binary' | 'signingString'>('binary', 'signingString'),
      bytes: fc.uint8Array({ minLength: 0, maxLength: 300 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('foreignSignature' as const), other: position }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('foreignKey' as const), other: position }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'malleateS' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('specialKey' as const), which: fc.constantFrom(...specialKeys) }),
  },
);

export const caseArbitrary: fc.Arbitrary<FuzzCase> = fc.record({
  origin: fc.nat(originals.length - 1),
  mutations: fc.array(mutationArbitrary, { minLength: 0, maxLength: 3 }),
  signing: fc.constantFrom<Signing>(
    'keep',
    'keep',
    'keep',
    'resign',
    'resign',
    'resign',
    'resign',
    'operator',
    'otherTrader',
  ),
  logTime: fc.oneof(
    { weight: 12, arbitrary: fc.record({ kind: fc.constant('near' as const), offsetMs: fc.nat(10) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('far' as const), offsetMs: fc.nat(250_000) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('invalid' as const),
        which: fc.constantFrom('beforeState', 'negative', 'notANumber', 'fraction', 'unsafe', 'infinity'),
      }),
    },
  ),
});
