/**
 * Envelope fuzzing: hostile signed entries against apply(state, entry).
 *
 * Each case starts from one entry of a realistic signed log (random-log.ts):
 * either an entry already applied to the base state (so an unchanged copy is a
 * replay) or one not yet applied. It mutates the message (bit flips,
 * truncation, extension, duplicated `&key=value`, swapped instruction names,
 * re-encoded numbers, hostile keys and values, percent-encoding variants,
 * unicode, timestamps and windows out of range, batches, attestation-style
 * messages), then either keeps the original signature or re-signs the mutated
 * bytes (with the original signer, the operator or another trader), then may
 * mutate the public key or the signature as well (bit flips, truncation,
 * another entry's signature, another signer's key, S + L, small-order and
 * non-canonical keys), and applies it at a chosen log time (sometimes an
 * invalid one).
 *
 * The oracle is an independent reading of docs/protocol.md, written here
 * without the engine's parser:
 *   - the signature is valid exactly when the (key, message, signature) triple
 *     is one this test or the log generator signed; any other triple must be
 *     INVALID_SIGNATURE (so a signature made for one instruction, or for an
 *     attestation, is never accepted for another message);
 *   - an authentic message that breaks the signing-string grammar must be
 *     INVALID_CLIENT_REQUEST or INVALID_WINDOW; outside its window,
 *     INVALID_TIMESTAMP; a digest already applied, DUPLICATE_REQUEST; a
 *     malformed instruction, INVALID_CLIENT_REQUEST; a query,
 *     INVALID_INSTRUCTION; an operator instruction by a trader, UNAUTHORIZED;
 *   - only what passes all of that may be accepted (or refused by execution:
 *     market, asset, price, quantity, funds, …), and an accepted entry's
 *     decimals must match the decimal grammar. So an entry is accepted only if
 *     it is byte-identical to an original not yet applied, or re-signed by the
 *     test as a well-formed request;
 *   - a rejected entry leaves stateHashHex(state) unchanged, apply never
 *     throws, and an accepted entry applied again is DUPLICATE_REQUEST.
 * Every case starts from the same base state (it is restored after an
 * acceptance), so cases are independent and fast-check can shrink.
 *
 * Env: FUZZ_RUNS (default 2,000; `pnpm fuzz` runs 100,000), FUZZ_SEED and
 * FUZZ_PATH (printed on failure) to re-run one failure exactly.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apply, type LogEntry, type SignedTransaction } from '../src/apply.js';
import { resultCodes, type ResultCode } from '../src/result-codes.js';
import { signMessage } from '../src/signature.js';
import { encodeSigningString } from '../src/signing-string.js';
import { decodeState, encodeState, stateHashHex } from '../src/state-codec.js';
import { createState, type ExchangeState } from '../src/state.js';
import { randomSignedLog, type Signer } from './random-log.js';

// ---------------------------------------------------------------------------
// Run parameters.
// ---------------------------------------------------------------------------

function environmentInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not ${text}`);
  return value;
}

const fuzzRuns = environmentInteger('FUZZ_RUNS', 2_000);
const fuzzSeed =
  process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== ''
    ? environmentInteger('FUZZ_SEED', 0)
    : Date.now() % 2 ** 31;
const fuzzPath =
  process.env.FUZZ_PATH !== undefined && process.env.FUZZ_PATH !== '' ? process.env.FUZZ_PATH : undefined;
/** The random log the cases start from; fixed, so a seed and path always mean the same case. */
const logSeed = 20_250_801;
const randomEntriesInLog = 120;
/** Entries of the random part already applied to the base state; the rest are "fresh" originals. */
const appliedRandomEntries = 80;

// ---------------------------------------------------------------------------
// The reference reading of docs/protocol.md (sections 2, 4, 5, 7).
// ---------------------------------------------------------------------------

const maximumSigningStringBytes = 16_384;
const maximumGroups = 50;
const maximumWindowMs = 60_000;
const millisecondsPattern = /^(0|[1-9][0-9]{0,15})$/;
const instructionNamePattern = /^[a-z][A-Za-z0-9]{0,63}$/;
const keyPattern = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const decimalPattern = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const maximumDecimalCharacters = 48;

/** The bytes as text if they are valid UTF-8 (no overlong forms, no surrogates), else undefined. */
function strictUtf8(bytes: Uint8Array): string | undefined {
  const text = Buffer.from(bytes).toString('utf8');
  // Buffer's decoder replaces what is not UTF-8 with U+FFFD, so a lossless round trip means valid.
  return Buffer.from(text, 'utf8').equals(Buffer.from(bytes)) ? text : undefined;
}

/** Section 2.4: every `%` starts a `%XX` escape; the bytes must then be UTF-8. */
function decodeReferenceValue(raw: string): string | undefined {
  if (raw.length === 0) return undefined;
  const bytes: number[] = [];
  let index = 0;
  while (index < raw.length) {
    if (raw[index] === '%') {
      const hex = raw.slice(index + 1, index + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      index += 3;
    } else {
      const codePoint = raw.codePointAt(index)!;
      bytes.push(...Buffer.from(String.fromCodePoint(codePoint), 'utf8'));
      index += codePoint > 0xffff ? 2 : 1;
    }
  }
  return strictUtf8(Uint8Array.from(bytes));
}

interface ReferenceGroup {
  readonly instruction: string;
  readonly params: Map<string, string>;
}

type ReferenceMessage =
  | {
      readonly wellFormed: true;
      readonly groups: readonly ReferenceGroup[];
      readonly timestampMs: number;
      readonly windowMs: number;
    }
  | { readonly wellFormed: false; readonly why: string };

function readMilliseconds(text: string): number | undefined {
  if (!millisecondsPattern.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function referenceSigningString(bytes: Uint8Array): ReferenceMessage {
  const malformed = (why: string): ReferenceMessage => ({ wellFormed: false, why });
  if (bytes.length > maximumSigningStringBytes) return malformed('longer than 16384 bytes');
  const text = strictUtf8(bytes);
  if (text === undefined) return malformed('not UTF-8');
  const parts = text.split('&');
  if (parts.length < 3) return malformed('fewer than three parts');
  const windowPart = parts[parts.length - 1]!;
  const timestampPart = parts[parts.length - 2]!;
  if (!timestampPart.startsWith('timestamp=') || !windowPart.startsWith('window='))
    return malformed('does not end with timestamp and window');
  const timestampMs = readMilliseconds(timestampPart.slice('timestamp='.length));
  if (timestampMs === undefined) return malformed('timestamp is not millis');
  const windowMs = readMilliseconds(windowPart.slice('window='.length));
  if (windowMs === undefined || windowMs < 1 || windowMs > maximumWindowMs) return malformed('window out of range');
  const groups: ReferenceGroup[] = [];
  let previousKey = '';
  for (const part of parts.slice(0, -2)) {
    const separator = part.indexOf('=');
    if (separator <= 0) return malformed(`part without key: ${part.slice(0, 20)}`);
    const key = part.slice(0, separator);
    const value = part.slice(separator + 1);
    if (key === 'instruction') {
      if (!instructionNamePattern.test(value)) return malformed('bad instruction name');
      groups.push({ instruction: value, params: new Map() });
      if (groups.length > maximumGroups) return malformed('more than 50 groups');
      previousKey = '';
      continue;
    }
    const group = groups[groups.length - 1];
    if (group === undefined) return malformed('does not start with instruction=');
    if (!keyPattern.test(key) || key === 'timestamp' || key === 'window')
      return malformed(`bad key ${key.slice(0, 20)}`);
    if (!(key > previousKey)) return malformed(`key ${key} out of order`);
    previousKey = key;
    const decoded = decodeReferenceValue(value);
    if (decoded === undefined) return malformed(`value of ${key} does not decode`);
    group.params.set(key, decoded);
  }
  if (groups.length === 0) return malformed('no group');
  return { wellFormed: true, groups, timestampMs, windowMs };
}

type FieldCheck = (value: string) => boolean;
interface FieldRule {
  readonly required: boolean;
  readonly check: FieldCheck;
  /** Decimal amounts: any text here, checked against a scale when applied (section 5). */
  readonly decimal?: boolean;
}

const unsignedInteger =
  (maximum: number): FieldCheck =>
  (value) =>
    millisecondsPattern.test(value) && Number(value) <= maximum;
const anyText: FieldCheck = (value) =>
  value.length >= 1 && value.length <= 256 && /^[\x20-\x7e]+$/.test(value) && !/[%&=]/.test(value);
const symbol: FieldCheck = (value) => /^[A-Z0-9]{1,16}(_[A-Z0-9]{1,16})?$/.test(value);
const assetSymbolWithoutUnderscore: FieldCheck = (value) => /^[A-Z0-9]{1,16}$/.test(value);
const blockchainName: FieldCheck = (value) => /^[A-Za-z][A-Za-z0-9]{0,31}$/.test(value);
const accountId: FieldCheck = (value) => /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(value);
const oneOf =
  (...allowed: string[]): FieldCheck =>
  (value) =>
    allowed.includes(value);
const required = (check: FieldCheck): FieldRule => ({ required: true, check });
const optional = (check: FieldCheck): FieldRule => ({ required: false, check });
const requiredDecimal: FieldRule = { required: true, check: () => true, decimal: true };
const optionalDecimal: FieldRule = { required: false, check: () => true, decimal: true };

const orderRules: Record<string, FieldRule> = {
  symbol: required(symbol),
  side: required(oneOf('Bid', 'Ask')),
  orderType: required(oneOf('Limit', 'Market')),
  price: optionalDecimal,
  quantity: optionalDecimal,
  quoteQuantity: optionalDecimal,
  timeInForce: optional(oneOf('GTC', 'IOC', 'FOK')),
  postOnly: optional(oneOf('true', 'false')),
  // Spot markets have no positions: only the explicit default is accepted.
  reduceOnly: optional(oneOf('false')),
  selfTradePrevention: optional(oneOf('RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow')),
  clientId: optional(unsignedInteger(4_294_967_295)),
};

const instructionRules: Record<
  string,
  {
    readonly rules: Record<string, FieldRule>;
    readonly operator: boolean;
    readonly extra?: (params: Map<string, string>) => boolean;
  }
> = {
  orderExecute: { rules: orderRules, operator: false, extra: orderCombinationIsValid },
  orderCancel: {
    rules: {
      symbol: required(symbol),
      orderId: optional(unsignedInteger(Number.MAX_SAFE_INTEGER)),
      clientId: optional(unsignedInteger(4_294_967_295)),
    },
    operator: false,
    extra: (params) => params.has('orderId') !== params.has('clientId'),
  },
  orderCancelAll: { rules: { symbol: required(symbol) }, operator: false },
  withdraw: {
    rules: {
      symbol: required(symbol),
      quantity: requiredDecimal,
      address: required(anyText),
      blockchain: required(blockchainName),
    },
    operator: false,
  },
  depositCredit: {
    rules: {
      account: required(accountId),
      symbol: required(symbol),
      quantity: requiredDecimal,
      blockchain: required(blockchainName),
      chainTransactionId: required(anyText),
    },
    operator: true,
  },
  withdrawalComplete: {
    rules: { withdrawalId: required(unsignedInteger(Number.MAX_SAFE_INTEGER)), chainTransactionId: required(anyText) },
    operator: true,
  },
  withdrawalFail: {
    rules: { withdrawalId: required(unsignedInteger(Number.MAX_SAFE_INTEGER)), reason: required(anyText) },
    operator: true,
  },
  assetList: {
    rules: { symbol: required(assetSymbolWithoutUnderscore), decimals: required(unsignedInteger(18)) },
    operator: true,
  },
  marketList: {
    rules: {
      symbol: required(symbol),
      baseSymbol: required(symbol),
      quoteSymbol: required(symbol),
      tickSize: requiredDecimal,
      stepSize: requiredDecimal,
      minQuantity: requiredDecimal,
      maxQuantity: requiredDecimal,
      minPrice: requiredDecimal,
      maxPrice: requiredDecimal,
      makerFeeBps: required(unsignedInteger(10_000)),
      takerFeeBps: required(unsignedInteger(10_000)),
    },
    operator: true,
  },
  reservesStatement: { rules: { symbol: required(symbol), quantity: requiredDecimal }, operator: true },
};

const queryNames = [
  'balanceQuery',
  'orderQuery',
  'orderQueryAll',
  'fillHistoryQueryAll',
  'orderHistoryQueryAll',
  'depositQueryAll',
  'withdrawalQueryAll',
  'depositAddressQuery',
  'accountQuery',
  'positionQuery',
  'subscribe',
  'proofQuery',
];

function orderCombinationIsValid(params: Map<string, string>): boolean {
  const postOnly = params.get('postOnly') === 'true';
  if (postOnly && (params.get('timeInForce') ?? 'GTC') !== 'GTC') return false;
  if (params.get('orderType') === 'Limit')
    return params.has('price') && params.has('quantity') && !params.has('quoteQuantity');
  return !params.has('price') && params.has('quantity') !== params.has('quoteQuantity') && !postOnly;
}

type ReferenceInstruction =
  | { readonly kind: 'malformed' }
  | { readonly kind: 'query' }
  /** `decimals` holds, per group (per order of a batch), its decimal amounts. */
  | { readonly kind: 'transaction'; readonly operator: boolean; readonly decimals: ReadonlyArray<readonly string[]> };

function groupIsValid(group: ReferenceGroup, decimals: string[]): boolean {
  const definition = instructionRules[group.instruction];
  if (definition === undefined || !Object.hasOwn(instructionRules, group.instruction)) return false;
  for (const key of group.params.keys()) if (!Object.hasOwn(definition.rules, key)) return false;
  for (const [key, rule] of Object.entries(definition.rules)) {
    const value = group.params.get(key);
    if (value === undefined) {
      if (rule.required) return false;
      continue;
    }
    if (!rule.check(value)) return false;
    if (rule.decimal === true) decimals.push(value);
  }
  return definition.extra === undefined || definition.extra(group.params);
}

/** Section 4: one group is any instruction; several groups are a batch of orderExecute only. */
function referenceInstruction(groups: readonly ReferenceGroup[]): ReferenceInstruction {
  const decimals = groups.map((): string[] => []);
  if (groups.length === 1) {
    const only = groups[0]!;
    if (queryNames.includes(only.instruction)) return { kind: 'query' };
    if (!groupIsValid(only, decimals[0]!)) return { kind: 'malformed' };
    return { kind: 'transaction', operator: instructionRules[only.instruction]!.operator, decimals };
  }
  for (const [index, group] of groups.entries()) {
    if (group.instruction !== 'orderExecute' || !groupIsValid(group, decimals[index]!)) return { kind: 'malformed' };
  }
  return { kind: 'transaction', operator: false, decimals };
}

/** Codes the execution step may give a syntactically valid, authorized instruction (section 9, step 8). */
const executionCodes: ReadonlySet<ResultCode> = new Set<ResultCode>([
  'INVALID_MARKET',
  'INVALID_ASSET',
  'INVALID_ORDER',
  'INVALID_QUANTITY',
  'INVALID_PRICE',
  'INSUFFICIENT_FUNDS',
  'ORDER_LIMIT',
  'ORDER_VALUE_TOO_SMALL',
  'ORDER_WOULD_NOT_FILL',
  'RESOURCE_NOT_FOUND',
  'DUPLICATE_DEPOSIT',
  'ALREADY_EXISTS',
  'INVALID_INSTRUCTION',
]);
const httpOnlyCodes: ReadonlySet<string> = new Set([
  'TOO_MANY_REQUESTS',
  'REQUEST_TOO_LARGE',
  'NOT_FOUND',
  'SERVICE_UNAVAILABLE',
  'SERVER_ERROR',
]);

type Expectation =
  | { readonly verdict: 'rejected'; readonly codes: readonly ResultCode[]; readonly why: string }
  | { readonly verdict: 'accepted or refused by execution'; readonly decimals: ReadonlyArray<readonly string[]> };

// ---------------------------------------------------------------------------
// The log the cases start from.
// ---------------------------------------------------------------------------

const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const digestOf = (publicKey: Uint8Array, message: Uint8Array): string =>
  createHash('sha256').update(publicKey).update(message).digest('hex');
const tripleKey = (publicKey: Uint8Array, message: Uint8Array): string => `${hex(publicKey)}:${hex(message)}`;

const generated = randomSignedLog(logSeed, randomEntriesInLog);
const operator = generated.operator;
const traders = generated.traders;
const signersByKey = new Map<string, Signer>([operator, ...traders].map((signer) => [hex(signer.publicKey), signer]));
const genesis = { exchangeName: 'envelope-fuzz', operatorKeys: [operator.accountId], feeAccount: operator.accountId };
const setupEntries = generated.entries.length - randomEntriesInLog;
const appliedCount = setupEntries + appliedRandomEntries;
const originals: readonly LogEntry[] = generated.entries;
/** Signature hex of every original, by public key and message: the authentic triples of the log. */
const originalSignatures = new Map<string, string>(
  originals.map((entry) => [
    tripleKey(entry.transaction.publicKey, entry.transaction.message),
    hex(entry.transaction.signature),
  ]),
);

let state: ExchangeState = createState(genesis);
/** Digests of the originals the base state accepted: a byte-identical copy of one is a replay. */
const appliedDigests = new Set<string>();
for (const entry of originals.slice(0, appliedCount)) {
  if (apply(state, entry).accepted)
    appliedDigests.add(digestOf(entry.transaction.publicKey, entry.transaction.message));
}
const baseLogTimeMs = state.logTimeMs;
const baseEncoding = encodeState(state);
const baseStateHash = stateHashHex(state);

function restoreBaseState(): void {
  state = decodeState(baseEncoding);
}

// ---------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------

type Field = 'message' | 'publicKey' | 'signature';
const numberForms = [
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
type NumberForm = (typeof numberForms)[number];
const percentVariants = [
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
type PercentVariant = (typeof percentVariants)[number];
const instructionNames = [
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
const hostileKeys = [
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
const hostileValues = [
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
const insertedTexts = [
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
const specialKeys = ['allZero', 'identity', 'orderTwo', 'nonCanonical', 'allOnes', 'operator', 'trader'] as const;

type Mutation =
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

type Signing = 'keep' | 'resign' | 'operator' | 'otherTrader';
type LogTimeChoice =
  | { readonly kind: 'near'; readonly offsetMs: number }
  | { readonly kind: 'far'; readonly offsetMs: number }
  | {
      readonly kind: 'invalid';
      readonly which: 'beforeState' | 'negative' | 'notANumber' | 'fraction' | 'unsafe' | 'infinity';
    };

interface FuzzCase {
  readonly origin: number;
  readonly mutations: readonly Mutation[];
  readonly signing: Signing;
  readonly logTime: LogTimeChoice;
}

const fieldArbitrary = fc.constantFrom<Field>('message', 'message', 'publicKey', 'signature');
const position = fc.nat(100_000);
const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
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

const caseArbitrary: fc.Arbitrary<FuzzCase> = fc.record({
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

const utf8Encoder = new TextEncoder();
const textOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** The indices of the parts that satisfy `accept`, or all when none does. */
function pick(parts: readonly string[], chooser: number, accept: (part: string) => boolean): number | undefined {
  const candidates = parts.flatMap((part, index) => (accept(part) ? [index] : []));
  if (candidates.length === 0) return undefined;
  return candidates[chooser % candidates.length];
}

function withValue(part: string, value: string): string {
  const separator = part.indexOf('=');
  return separator < 0 ? `${part}=${value}` : `${part.slice(0, separator + 1)}${value}`;
}

const valueOf = (part: string): string => (part.includes('=') ? part.slice(part.indexOf('=') + 1) : '');

function reencodeNumber(value: string, form: NumberForm): string {
  const point = value.includes('.');
  switch (form) {
    case 'leadingZero':
      return `0${value}`;
    case 'twoLeadingZeros':
      return `00${value}`;
    case 'plusSign':
      return `+${value}`;
    case 'minusSign':
      return `-${value}`;
    case 'exponent':
      return `${value}e0`;
    case 'upperExponent':
      return `${value.replace('.', '')}E-${point ? value.length - value.indexOf('.') - 1 : 0}`;
    case 'trailingPoint':
      return `${value}.`;
    case 'leadingPoint':
      return `.${value}`;
    case 'trailingFractionZeros':
      return `${value}${point ? '000' : '.000'}`;
    case 'overPrecise':
      return `${value}${point ? '' : '.'}0000000001`;
    case 'beyondSafeInteger':
      return '9007199254740993';
    case 'twoToThe64':
      return '18446744073709551616';
    case 'giantDecimal':
      return '9'.repeat(maximumDecimalCharacters);
    case 'tooLongDecimal':
      return '9'.repeat(maximumDecimalCharacters + 1);
    case 'tinyFraction':
      return `0.${'0'.repeat(40)}1`;
    case 'hexadecimal':
      return `0x${value.replace('.', '')}`;
    case 'leadingSpace':
      return ` ${value}`;
    case 'trailingSpace':
      return `${value} `;
    case 'fullwidthDigits':
      return value.replace(/[0-9]/g, (digit) => String.fromCharCode(0xff10 + Number(digit)));
    case 'thousandsSeparator':
      return `1,${value}`;
    case 'negativeZero':
      return '-0';
    case 'notANumber':
      return 'NaN';
    case 'infinity':
      return 'Infinity';
    case 'zero':
      return '0';
    case 'underscoreSeparator':
      return `1_${value}`;
    case 'maximumSafeInteger':
      return '9007199254740991';
  }
}

function percentVariant(value: string, variant: PercentVariant): string {
  const encodeEvery = (text: string): string =>
    [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  switch (variant) {
    case 'encodeEveryCharacter':
      return encodeEvery(value);
    case 'lowerCaseEscapes':
      return encodeEvery(value).toLowerCase();
    case 'doubleEncoded':
      return encodeEvery(value).replaceAll('%', '%25');
    case 'strayPercent':
      return `${value}%`;
    case 'shortEscape':
      return `${value}%4`;
    case 'badHexEscape':
      return `${value}%ZZ`;
    case 'percentPercent':
      return `${value}%%41`;
    case 'encodedAmpersand':
      return `${value}%26`;
    case 'encodedEquals':
      return `${value}%3D`;
    case 'overlongSlash':
      return `${value}%C0%AF`;
    case 'encodedSurrogate':
      return `${value}%ED%A0%80`;
    case 'encodedNul':
      return `${value}%00`;
    case 'invalidByte':
      return `${value}%FF`;
    case 'encodedNonAscii':
      return `${value}%C3%A9`;
    case 'rawNonAscii':
      return `${value}é`;
    case 'encodedSpace':
      return `${value}%20`;
    case 'rawPlus':
      return `${value}+`;
    case 'encodedPlus':
      return `${value}%2B`;
  }
}

const isParameter = (part: string): boolean => part.includes('=') && !part.startsWith('instruction=');

/** A textual mutation of the message; the logTime lets timestamps be placed around the window. */
function mutateText(text: string, mutation: Mutation, logTimeMs: number): string {
  const parts = text.split('&');
  switch (mutation.kind) {
    case 'duplicateParameter': {
      const index = mutation.position % parts.length;
      const part = parts[index]!;
      parts.splice(index + 1, 0, mutation.value === null ? part : withValue(part, mutation.value));
      return parts.join('&');
    }
    case 'swapInstruction': {
      const index = pick(parts, mutation.position, (part) => part.startsWith('instruction='));
      if (index === undefined) return text;
      parts[index] = `instruction=${mutation.name}`;
      return parts.join('&');
    }
    case 'reencodeNumber': {
      const index = pick(parts, mutation.position, (part) => /^[0-9]+(\.[0-9]+)?$/.test(valueOf(part)));
      if (index === undefined) return text;
      parts[index] = withValue(parts[index]!, reencodeNumber(valueOf(parts[index]!), mutation.form));
      return parts.join('&');
    }
    case 'replaceValue': {
      const index = pick(parts, mutation.position, (part) => part.includes('='));
      if (index === undefined) return text;
      parts[index] = withValue(parts[index]!, mutation.value);
      return parts.join('&');
    }
    case 'renameKey': {
      const index = pick(parts, mutation.position, (part) => part.includes('='));
      if (index === undefined) return text;
      parts[index] = `${mutation.key}=${valueOf(parts[index]!)}`;
      return parts.join('&');
    }
    case 'swapParameters': {
      if (parts.length < 2) return text;
      const index = mutation.position % (parts.length - 1);
      [parts[index], parts[index + 1]] = [parts[index + 1]!, parts[index]!];
      return parts.join('&');
    }
    case 'removePart': {
      parts.splice(mutation.position % parts.length, 1);
      return parts.join('&');
    }
    case 'percentVariant': {
      const index = pick(parts, mutation.position, isParameter);
      if (index === undefined) return text;
      parts[index] = withValue(parts[index]!, percentVariant(valueOf(parts[index]!), mutation.variant));
      return parts.join('&');
    }
    case 'timestampAroundWindow': {
      const windowMs = readMilliseconds(valueOf(parts[parts.length - 1] ?? '')) ?? 5_000;
      const timestampMs = Math.max(0, logTimeMs + mutation.direction * (windowMs + mutation.excessMs));
      const index = pick(parts, 0, (part) => part.startsWith('timestamp='));
      if (index === undefined) return text;
      parts[index] = `timestamp=${timestampMs}`;
      return parts.join('&');
    }
    case 'setWindow': {
      const index = pick(parts, 0, (part) => part.startsWith('window='));
      if (index === undefined) return text;
      parts[index] = `window=${mutation.value}`;
      return parts.join('&');
    }
    case 'repeatGroup': {
      const closing = parts.slice(-2);
      const body = parts.slice(0, -2);
      const nextGroup = body.findIndex((part, index) => index > 0 && part.startsWith('instruction='));
      const firstGroup = body.slice(0, nextGroup < 0 ? body.length : nextGroup);
      const repeated: string[] = [];
      for (let copy = 0; copy <= mutation.count; copy += 1) repeated.push(...firstGroup);
      return [...repeated, ...body.slice(firstGroup.length), ...closing].join('&');
    }
    case 'insertText': {
      const at = mutation.position % (text.length + 1);
      return text.slice(0, at) + mutation.text + text.slice(at);
    }
    case 'oversizeQuery': {
      // A query parses with any parameters, so its verdict tells the byte-length rule apart
      // from instruction syntax: up to 16384 bytes it is INVALID_INSTRUCTION, beyond it malformed.
      const closing = parts.slice(-2).join('&');
      const head = 'instruction=balanceQuery&padding=';
      const fill =
        maximumSigningStringBytes + mutation.bytesFromLimit - utf8Encoder.encode(`${head}&${closing}`).length;
      const padding = mutation.twoByteCharacters
        ? `${'é'.repeat(Math.floor(fill / 2))}${fill % 2 === 1 ? 'a' : ''}`
        : 'a'.repeat(Math.max(0, fill));
      return `${head}${padding}&${closing}`;
    }
    default:
      return text;
  }
}

function mutateBytes(bytes: Uint8Array, mutation: Mutation): Uint8Array {
  switch (mutation.kind) {
    case 'flipBit': {
      if (bytes.length === 0) return bytes;
      const copy = new Uint8Array(bytes);
      copy[mutation.position % copy.length]! ^= 1 << mutation.bit;
      return copy;
    }
    case 'truncate':
      return bytes.length === 0 ? bytes : bytes.slice(0, mutation.keep % bytes.length);
    case 'extend': {
      const copy = new Uint8Array(bytes.length + mutation.bytes.length);
      copy.set(bytes);
      copy.set(mutation.bytes, bytes.length);
      return copy;
    }
    case 'setByte': {
      if (bytes.length === 0) return bytes;
      const copy = new Uint8Array(bytes);
      copy[mutation.position % copy.length] = mutation.value;
      return copy;
    }
    default:
      return bytes;
  }
}

/** docs/attestation.md: the 20-byte tag, then binary fields no signing string can start with. */
const attestationTag = utf8Encoder.encode('vex/attestation/v1\0\n');
function attestationMessage(body: 'binary' | 'signingString', bytes: Uint8Array, original: Uint8Array): Uint8Array {
  const rest = body === 'signingString' ? original : bytes;
  const message = new Uint8Array(attestationTag.length + rest.length);
  message.set(attestationTag);
  message.set(rest, attestationTag.length);
  return message;
}

const groupOrderLittleEndian = (() => {
  let order = 2n ** 252n + 27742317777372353535851937790883648493n;
  const bytes = new Uint8Array(32);
  for (let index = 0; index < 32; index += 1) {
    bytes[index] = Number(order & 0xffn);
    order >>= 8n;
  }
  return bytes;
})();

/** S + L: the same signature with a non-canonical S, which the rule must refuse. */
function malleate(signature: Uint8Array): Uint8Array {
  if (signature.length !== 64) return signature;
  const copy = new Uint8Array(signature);
  let carry = 0;
  for (let index = 0; index < 32; index += 1) {
    const sum = copy[32 + index]! + groupOrderLittleEndian[index]! + carry;
    copy[32 + index] = sum & 0xff;
    carry = sum >> 8;
  }
  return copy;
}

function specialKey(which: (typeof specialKeys)[number], signedBy: Uint8Array): Uint8Array {
  switch (which) {
    case 'allZero':
      return new Uint8Array(32);
    case 'identity':
      return Uint8Array.from(Buffer.from('01'.padEnd(64, '0'), 'hex'));
    case 'orderTwo':
      return Uint8Array.from(Buffer.from('ec'.padEnd(62, 'f') + '7f', 'hex'));
    // y = p: a non-canonical encoding.
    case 'nonCanonical':
      return Uint8Array.from(Buffer.from('ed'.padEnd(62, 'f') + '7f', 'hex'));
    case 'allOnes':
      return new Uint8Array(32).fill(0xff);
    case 'operator':
      return hex(signedBy) === hex(operator.publicKey) ? traders[0]!.publicKey : operator.publicKey;
    case 'trader':
      return hex(signedBy) === hex(traders[1]!.publicKey) ? traders[2]!.publicKey : traders[1]!.publicKey;
  }
}

interface BuiltCase {
  readonly entry: LogEntry;
  /** The triple this case signed itself, if it re-signed. */
  readonly signed: SignedTransaction | undefined;
}

function logTimeFor(origin: LogEntry, choice: LogTimeChoice): number {
  const start = Math.max(baseLogTimeMs, origin.logTimeMs);
  switch (choice.kind) {
    case 'near':
      return start + choice.offsetMs;
    case 'far':
      return start + choice.offsetMs;
    case 'invalid':
      switch (choice.which) {
        case 'beforeState':
          return baseLogTimeMs - 1;
        case 'negative':
          return -1;
        case 'notANumber':
          return Number.NaN;
        case 'fraction':
          return start + 0.5;
        case 'unsafe':
          return 2 ** 53;
        case 'infinity':
          return Number.POSITIVE_INFINITY;
      }
  }
}

const messageMutationKinds = new Set<Mutation['kind']>([
  'duplicateParameter',
  'swapInstruction',
  'reencodeNumber',
  'replaceValue',
  'renameKey',
  'swapParameters',
  'removePart',
  'percentVariant',
  'timestampAroundWindow',
  'setWindow',
  'repeatGroup',
  'insertText',
  'oversizeQuery',
  'attestation',
]);

function buildCase(fuzzCase: FuzzCase): BuiltCase {
  const origin = originals[fuzzCase.origin % originals.length]!;
  const logTimeMs = logTimeFor(origin, fuzzCase.logTime);
  let { message, publicKey, signature } = origin.transaction;
  // The message first: everything that changes what is signed.
  for (const mutation of fuzzCase.mutations) {
    if (mutation.kind === 'attestation') message = attestationMessage(mutation.body, mutation.bytes, message);
    else if (messageMutationKinds.has(mutation.kind))
      message = utf8Encoder.encode(mutateText(textOf(message), mutation, logTimeMs));
    else if ('field' in mutation && mutation.field === 'message') message = mutateBytes(message, mutation);
  }
  // Then the signature over it: kept as it was, or made again by a real key.
  let signed: SignedTransaction | undefined;
  if (fuzzCase.signing !== 'keep') {
    const originalSigner = signersByKey.get(hex(origin.transaction.publicKey))!;
    const signer =
      fuzzCase.signing === 'resign'
        ? originalSigner
        : fuzzCase.signing === 'operator'
          ? operator
          : traders[(traders.indexOf(originalSigner) + 1 + (fuzzCase.origin % (traders.length - 1))) % traders.length]!;
    publicKey = signer.publicKey;
    signature = signMessage(signer.seed, message);
    signed = { message, publicKey, signature };
  }
  // Last, the envelope around it: keys and signatures that no longer belong together.
  for (const mutation of fuzzCase.mutations) {
    if ('field' in mutation && mutation.field === 'publicKey') publicKey = mutateBytes(publicKey, mutation);
    if ('field' in mutation && mutation.field === 'signature') signature = mutateBytes(signature, mutation);
    if (mutation.kind === 'foreignSignature')
      signature = originals[mutation.other % originals.length]!.transaction.signature;
    if (mutation.kind === 'foreignKey') publicKey = originals[mutation.other % originals.length]!.transaction.publicKey;
    if (mutation.kind === 'malleateS') signature = malleate(signature);
    if (mutation.kind === 'specialKey') publicKey = specialKey(mutation.which, publicKey);
  }
  return { entry: { logTimeMs, transaction: { message, publicKey, signature } }, signed };
}

const sameBytes = (left: Uint8Array, right: Uint8Array): boolean => Buffer.from(left).equals(Buffer.from(right));

/** What the protocol says must happen to this entry, decided without the engine. */
function expectationFor(built: BuiltCase): Expectation {
  const { logTimeMs, transaction } = built.entry;
  const { message, publicKey, signature } = transaction;
  if (!Number.isSafeInteger(logTimeMs) || logTimeMs < baseLogTimeMs)
    return { verdict: 'rejected', codes: ['INVALID_LOG_TIME'], why: 'log time' };
  const signedHere =
    built.signed !== undefined &&
    sameBytes(built.signed.message, message) &&
    sameBytes(built.signed.publicKey, publicKey) &&
    sameBytes(built.signed.signature, signature);
  const authentic = signedHere || originalSignatures.get(tripleKey(publicKey, message)) === hex(signature);
  if (!authentic) return { verdict: 'rejected', codes: ['INVALID_SIGNATURE'], why: 'not a triple anyone signed' };
  const parsed = referenceSigningString(message);
  if (!parsed.wellFormed)
    return { verdict: 'rejected', codes: ['INVALID_CLIENT_REQUEST', 'INVALID_WINDOW'], why: parsed.why };
  if (Math.abs(logTimeMs - parsed.timestampMs) > parsed.windowMs)
    return { verdict: 'rejected', codes: ['INVALID_TIMESTAMP'], why: 'outside the window' };
  if (appliedDigests.has(digestOf(publicKey, message)))
    return { verdict: 'rejected', codes: ['DUPLICATE_REQUEST'], why: 'already applied' };
  const instruction = referenceInstruction(parsed.groups);
  if (instruction.kind === 'malformed')
    return { verdict: 'rejected', codes: ['INVALID_CLIENT_REQUEST'], why: 'instruction syntax' };
  if (instruction.kind === 'query') return { verdict: 'rejected', codes: ['INVALID_INSTRUCTION'], why: 'a query' };
  if (instruction.operator && hex(publicKey) !== hex(operator.publicKey))
    return { verdict: 'rejected', codes: ['UNAUTHORIZED'], why: 'operator instruction' };
  return { verdict: 'accepted or refused by execution', decimals: instruction.decimals };
}

// ---------------------------------------------------------------------------
// The property.
// ---------------------------------------------------------------------------

interface Tally {
  cases: number;
  accepted: number;
  acceptedOriginals: number;
  acceptedResigned: number;
  rejectedByCode: Record<string, number>;
  replaysRefused: number;
}
const tally: Tally = {
  cases: 0,
  accepted: 0,
  acceptedOriginals: 0,
  acceptedResigned: 0,
  rejectedByCode: {},
  replaysRefused: 0,
};

function describeEntry(entry: LogEntry): string {
  const { message, publicKey, signature } = entry.transaction;
  return JSON.stringify({
    logTimeMs: entry.logTimeMs,
    message: textOf(message).slice(0, 600),
    messageBytes: message.length,
    publicKey: hex(publicKey),
    signature: hex(signature),
  });
}

function runCase(fuzzCase: FuzzCase): void {
  const built = buildCase(fuzzCase);
  const expectation = expectationFor(built);
  const { entry } = built;
  tally.cases += 1;
  let outcome;
  try {
    outcome = apply(state, entry);
  } catch (error) {
    restoreBaseState();
    throw new Error(`apply threw ${error instanceof Error ? error.stack : String(error)} for ${describeEntry(entry)}`);
  }
  if (!outcome.accepted) {
    const code = outcome.rejection.code;
    tally.rejectedByCode[code] = (tally.rejectedByCode[code] ?? 0) + 1;
    const after = stateHashHex(state);
    if (after !== baseStateHash) {
      restoreBaseState();
      throw new Error(`rejected with ${code} but the state changed, for ${describeEntry(entry)}`);
    }
    if (!Object.hasOwn(resultCodes, code) || httpOnlyCodes.has(code))
      throw new Error(`rejection code ${code} is not an engine code`);
    if (expectation.verdict === 'rejected' && !expectation.codes.includes(code)) {
      throw new Error(
        `expected ${expectation.codes.join(' or ')} (${expectation.why}), got ${code}: ${outcome.rejection.message}, for ${describeEntry(entry)}`,
      );
    }
    if (expectation.verdict !== 'rejected' && !executionCodes.has(code)) {
      throw new Error(
        `a well-formed, authorized entry was refused with ${code} (${outcome.rejection.message}), for ${describeEntry(entry)}`,
      );
    }
    return;
  }
  try {
    if (expectation.verdict === 'rejected') {
      throw new Error(
        `ACCEPTED an entry that must be ${expectation.codes.join(' or ')} (${expectation.why}): ${describeEntry(entry)}`,
      );
    }
    // A batch is accepted when one order is; each order that succeeded must have well-formed decimals.
    if (outcome.results.length !== expectation.decimals.length)
      throw new Error(
        `${outcome.results.length} results for ${expectation.decimals.length} instructions: ${describeEntry(entry)}`,
      );
    for (const [index, result] of outcome.results.entries()) {
      if (!result.ok) continue;
      for (const decimal of expectation.decimals[index]!) {
        if (!decimalPattern.test(decimal) || decimal.length > maximumDecimalCharacters) {
          throw new Error(
            `ACCEPTED an instruction with the malformed decimal ${JSON.stringify(decimal)}: ${describeEntry(entry)}`,
          );
        }
      }
    }
    if (!outcome.results.some((result) => result.ok))
      throw new Error(`accepted with every instruction refused: ${describeEntry(entry)}`);
    tally.accepted += 1;
    if (built.signed === undefined) tally.acceptedOriginals += 1;
    else tally.acceptedResigned += 1;
    // The same bytes again, at the same log time: a replay.
    const acceptedHash = stateHashHex(state);
    const replay = apply(state, entry);
    if (replay.accepted || replay.rejection.code !== 'DUPLICATE_REQUEST') {
      throw new Error(
        `a replay of an accepted entry was ${replay.accepted ? 'ACCEPTED' : replay.rejection.code}: ${describeEntry(entry)}`,
      );
    }
    if (stateHashHex(state) !== acceptedHash)
      throw new Error(`a refused replay changed the state: ${describeEntry(entry)}`);
    tally.replaysRefused += 1;
  } finally {
    restoreBaseState();
  }
}

/** Runs the property; on failure the message says how to re-run exactly that case. */
function assertFuzz(name: string, property: fc.IProperty<[FuzzCase]>): void {
  let details =
    fuzzPath !== undefined
      ? fc.check(property, { seed: fuzzSeed, path: fuzzPath, endOnFailure: true })
      : fc.check(property, { seed: fuzzSeed, numRuns: fuzzRuns, endOnFailure: true });
  if (details.failed && fuzzPath === undefined && details.counterexamplePath !== null) {
    // Shrink from the failure, for a bounded time, so the report shows a small case.
    const shrunk = fc.check(property, {
      seed: details.seed,
      path: details.counterexamplePath,
      interruptAfterTimeLimit: 30_000,
    });
    if (shrunk.failed) details = shrunk;
  }
  if (details.failed) {
    const rerun = `Re-run exactly this case with:\n  FUZZ_SEED=${details.seed} FUZZ_PATH="${details.counterexamplePath ?? ''}" npx vitest run packages/engine/test/envelope-fuzz.test.ts -t "${name}"`;
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${rerun}\n\n${cause}\n\n${fc.defaultReportMessage(details) ?? ''}`);
  }
}

describe('envelope fuzzing of apply()', () => {
  it('the base log is what the oracle assumes', () => {
    // The replay rule forgets digests after 120 s of log time: the whole applied log lies within it.
    expect(baseLogTimeMs - originals[0]!.logTimeMs).toBeLessThan(120_000);
    expect(appliedDigests.size).toBeGreaterThan(setupEntries);
    // The reference reading agrees with the log generator on every original.
    for (const original of originals) {
      const parsed = referenceSigningString(original.transaction.message);
      expect(parsed.wellFormed, textOf(original.transaction.message)).toBe(true);
      if (parsed.wellFormed) expect(referenceInstruction(parsed.groups).kind).toBe('transaction');
    }
  });

  const name =
    'mutated entries are accepted only when they are an unapplied original or re-signed well-formed requests';
  it(name, { timeout: 3_600_000 }, () => {
    const started = performance.now();
    console.log(
      `envelope fuzz: FUZZ_SEED=${fuzzSeed} FUZZ_RUNS=${fuzzRuns}${fuzzPath !== undefined ? ` FUZZ_PATH=${fuzzPath}` : ''}`,
    );
    assertFuzz(
      name,
      fc.property(caseArbitrary, (fuzzCase) => runCase(fuzzCase)),
    );
    console.log(
      JSON.stringify({ fuzz: 'envelope', seed: fuzzSeed, ...tally, wallMs: Math.round(performance.now() - started) }),
    );
    // A fuzzer whose cases never reach a verdict tests nothing: every stage must have been hit.
    if (fuzzPath === undefined && fuzzRuns >= 1_000) {
      expect(tally.acceptedOriginals).toBeGreaterThan(0);
      expect(tally.acceptedResigned).toBeGreaterThan(0);
      for (const code of [
        'INVALID_LOG_TIME',
        'INVALID_SIGNATURE',
        'INVALID_CLIENT_REQUEST',
        'INVALID_WINDOW',
        'INVALID_TIMESTAMP',
        'DUPLICATE_REQUEST',
        'INVALID_INSTRUCTION',
        'UNAUTHORIZED',
      ]) {
        expect(tally.rejectedByCode[code] ?? 0, code).toBeGreaterThan(0);
      }
    }
  });
});

// ---------------------------------------------------------------------------
// Cross-type signatures.
// ---------------------------------------------------------------------------

describe('a signature made for one message is never accepted for another', () => {
  const trader = traders[0]!;
  const timestampMs = baseLogTimeMs + 1;
  const trade = (instruction: string, params: Record<string, string>, percentEncode = false): string =>
    encodeSigningString([{ instruction, params: Object.entries(params) }], timestampMs, 5_000, { percentEncode });
  const messages: Array<{ name: string; signer: Signer; text: string }> = [
    {
      name: 'orderExecute',
      signer: trader,
      text: trade('orderExecute', { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '99', quantity: '1' }),
    },
    {
      name: 'orderExecute, other price',
      signer: trader,
      text: trade('orderExecute', { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '98', quantity: '1' }),
    },
    {
      name: 'orderExecute batch',
      signer: trader,
      text: encodeSigningString(
        [
          {
            instruction: 'orderExecute',
            params: Object.entries({ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '99', quantity: '1' }),
          },
          {
            instruction: 'orderExecute',
            params: Object.entries({ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '97', quantity: '1' }),
          },
        ],
        timestampMs,
        5_000,
      ),
    },
    { name: 'orderCancel', signer: trader, text: trade('orderCancel', { symbol: 'SOL_USDC', orderId: '1' }) },
    { name: 'orderCancelAll', signer: trader, text: trade('orderCancelAll', { symbol: 'SOL_USDC' }) },
    {
      name: 'withdraw, raw',
      signer: trader,
      text: trade('withdraw', { symbol: 'USDC', quantity: '1', address: 'a b:c/d+e', blockchain: 'Solana' }),
    },
    {
      name: 'withdraw, percent-encoded',
      signer: trader,
      text: trade('withdraw', { symbol: 'USDC', quantity: '1', address: 'a b:c/d+e', blockchain: 'Solana' }, true),
    },
    { name: 'balanceQuery', signer: trader, text: trade('balanceQuery', {}) },
    {
      name: 'depositCredit',
      signer: operator,
      text: trade('depositCredit', {
        account: trader.accountId,
        symbol: 'USDC',
        quantity: '5',
        blockchain: 'Solana',
        chainTransactionId: 'cross-type',
      }),
    },
    {
      name: 'withdrawalFail',
      signer: operator,
      text: trade('withdrawalFail', { withdrawalId: '1', reason: 'cross-type' }),
    },
    {
      name: 'reservesStatement',
      signer: operator,
      text: trade('reservesStatement', { symbol: 'USDC', quantity: '1' }),
    },
    { name: 'assetList', signer: operator, text: trade('assetList', { symbol: 'ETH', decimals: '18' }) },
  ];
  const signedMessages = messages.map(({ name, signer, text }) => {
    const message = utf8Encoder.encode(text);
    return { name, signer, message, signature: signMessage(signer.seed, message) };
  });

  function applyToBase(transaction: SignedTransaction): { code: string | undefined; stateHash: string } {
    restoreBaseState();
    const outcome = apply(state, { logTimeMs: timestampMs, transaction });
    const result = { code: outcome.accepted ? undefined : outcome.rejection.code, stateHash: stateHashHex(state) };
    restoreBaseState();
    return result;
  }

  it("instruction A's signature on instruction B's message (same signer) is INVALID_SIGNATURE", () => {
    let pairs = 0;
    for (const owner of signedMessages) {
      // The matching pair is not refused for its signature, so this test can tell the difference.
      expect(
        applyToBase({ message: owner.message, publicKey: owner.signer.publicKey, signature: owner.signature }).code,
        owner.name,
      ).not.toBe('INVALID_SIGNATURE');
      for (const other of signedMessages) {
        if (other === owner) continue;
        const result = applyToBase({
          message: other.message,
          publicKey: owner.signer.publicKey,
          signature: owner.signature,
        });
        expect(result.code, `${owner.name}'s signature on ${other.name}`).toBe('INVALID_SIGNATURE');
        expect(result.stateHash).toBe(baseStateHash);
        pairs += 1;
      }
    }
    expect(pairs).toBe(signedMessages.length * (signedMessages.length - 1));
  });

  it('an attestation signed by the operator key is never a transaction', () => {
    // The attestation message of docs/attestation.md, field by field, for the base state.
    const u64 = (value: number): Uint8Array => {
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64BE(BigInt(value));
      return bytes;
    };
    const u128 = (value: bigint): Uint8Array => Buffer.from(value.toString(16).padStart(32, '0'), 'hex');
    const assets = ['SOL', 'BTC', 'USDC'].map((asset) =>
      Buffer.concat([Buffer.from([asset.length]), Buffer.from(asset), u128(10n ** 12n), u128(0n), u128(10n ** 12n)]),
    );
    const digest = (label: string): Uint8Array => createHash('sha256').update(label).digest();
    const attestation = Buffer.concat([
      attestationTag,
      u64(appliedCount),
      u64(baseLogTimeMs),
      digest('genesis'),
      digest('head'),
      Buffer.from(baseStateHash, 'hex'),
      digest('liabilities'),
      u64(7),
      Buffer.from([0, 0, 0, 3]),
      ...assets,
    ]);
    expect(attestation.subarray(0, 20).toString('latin1')).toBe('vex/attestation/v1\0\n');
    const attestationSignature = signMessage(operator.seed, attestation);
    const asTransaction = applyToBase({
      message: attestation,
      publicKey: operator.publicKey,
      signature: attestationSignature,
    });
    expect(asTransaction.code).toBe('INVALID_CLIENT_REQUEST');
    expect(asTransaction.stateHash).toBe(baseStateHash);
    // Nor is the tag in front of a real operator signing string, signed as a whole.
    const deposit = signedMessages.find((signedMessage) => signedMessage.name === 'depositCredit')!;
    const tagged = Buffer.concat([attestationTag, deposit.message]);
    expect(
      applyToBase({ message: tagged, publicKey: operator.publicKey, signature: signMessage(operator.seed, tagged) })
        .code,
    ).toBe('INVALID_CLIENT_REQUEST');
    // And the attestation's signature is not a transaction's: on the deposit message it is refused.
    expect(
      applyToBase({ message: deposit.message, publicKey: operator.publicKey, signature: attestationSignature }).code,
    ).toBe('INVALID_SIGNATURE');
    // The deposit itself, with its own signature, is accepted: the refusals above are about the bytes.
    expect(
      applyToBase({ message: deposit.message, publicKey: operator.publicKey, signature: deposit.signature }).code,
    ).toBeUndefined();
  });
});
