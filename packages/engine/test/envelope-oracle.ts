/**
 * The envelope fuzzer's oracle: an independent reading of docs/protocol.md
 * (sections 2, 4, 5, 7), written here without the engine's parser: the
 * signing-string grammar, the instruction field rules, and which result codes
 * execution may give. envelope-fuzz.test.ts decides each case's expected
 * verdict with it.
 */
import type { ResultCode } from '../src/result-codes.js';

export const maximumSigningStringBytes = 16_384;
export const maximumGroups = 50;
export const maximumWindowMs = 60_000;
export const millisecondsPattern = /^(0|[1-9][0-9]{0,15})$/;
export const instructionNamePattern = /^[a-z][A-Za-z0-9]{0,63}$/;
export const keyPattern = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
export const decimalPattern = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
export const maximumDecimalCharacters = 48;

/** The bytes as text if they are valid UTF-8 (no overlong forms, no surrogates), else undefined. */
export function strictUtf8(bytes: Uint8Array): string | undefined {
  const text = Buffer.from(bytes).toString('utf8');
  // Buffer's decoder replaces what is not UTF-8 with U+FFFD, so a lossless round trip means valid.
  return Buffer.from(text, 'utf8').equals(Buffer.from(bytes)) ? text : undefined;
}

/** Section 2.4: every `%` starts a `%XX` escape; the bytes must then be UTF-8. */
export function decodeReferenceValue(raw: string): string | undefined {
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

export interface ReferenceGroup {
  readonly instruction: string;
  readonly params: Map<string, string>;
}

export type ReferenceMessage =
  | {
      readonly wellFormed: true;
      readonly groups: readonly ReferenceGroup[];
      readonly timestampMs: number;
      readonly windowMs: number;
    }
  | { readonly wellFormed: false; readonly why: string };

export function readMilliseconds(text: string): number | undefined {
  if (!millisecondsPattern.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

export function referenceSigningString(bytes: Uint8Array): ReferenceMessage {
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

export type FieldCheck = (value: string) => boolean;
export interface FieldRule {
  readonly required: boolean;
  readonly check: FieldCheck;
  /** Decimal amounts: any text here, checked against a scale when applied (section 5). */
  readonly decimal?: boolean;
}

export const unsignedInteger =
  (maximum: number): FieldCheck =>
  (value) =>
    millisecondsPattern.test(value) && Number(value) <= maximum;
export const anyText: FieldCheck = (value) =>
  value.length >= 1 && value.length <= 256 && /^[\x20-\x7e]+$/.test(value) && !/[%&=]/.test(value);
export const symbol: FieldCheck = (value) => /^[A-Z0-9]{1,16}(_[A-Z0-9]{1,16})?$/.test(value);
export const assetSymbolWithoutUnderscore: FieldCheck = (value) => /^[A-Z0-9]{1,16}$/.test(value);
export const blockchainName: FieldCheck = (value) => /^[A-Za-z][A-Za-z0-9]{0,31}$/.test(value);
export const accountId: FieldCheck = (value) => /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(value);
export const oneOf =
  (...allowed: string[]): FieldCheck =>
  (value) =>
    allowed.includes(value);
export const required = (check: FieldCheck): FieldRule => ({ required: true, check });
export const optional = (check: FieldCheck): FieldRule => ({ required: false, check });
export const requiredDecimal: FieldRule = { required: true, check: () => true, decimal: true };
export const optionalDecimal: FieldRule = { required: false, check: () => true, decimal: true };

export const orderRules: Record<string, FieldRule> = {
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

export const instructionRules: Record<
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

export const queryNames = [
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

export function orderCombinationIsValid(params: Map<string, string>): boolean {
  const postOnly = params.get('postOnly') === 'true';
  if (postOnly && (params.get('timeInForce') ?? 'GTC') !== 'GTC') return false;
  if (params.get('orderType') === 'Limit')
    return params.has('price') && params.has('quantity') && !params.has('quoteQuantity');
  return !params.has('price') && params.has('quantity') !== params.has('quoteQuantity') && !postOnly;
}

export type ReferenceInstruction =
  | { readonly kind: 'malformed' }
  | { readonly kind: 'query' }
  /** `decimals` holds, per group (per order of a batch), its decimal amounts. */
  | { readonly kind: 'transaction'; readonly operator: boolean; readonly decimals: ReadonlyArray<readonly string[]> };

export function groupIsValid(group: ReferenceGroup, decimals: string[]): boolean {
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
export function referenceInstruction(groups: readonly ReferenceGroup[]): ReferenceInstruction {
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
export const executionCodes: ReadonlySet<ResultCode> = new Set<ResultCode>([
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
export const httpOnlyCodes: ReadonlySet<string> = new Set([
  'TOO_MANY_REQUESTS',
  'REQUEST_TOO_LARGE',
  'NOT_FOUND',
  'SERVICE_UNAVAILABLE',
  'SERVER_ERROR',
]);

export type Expectation =
  | { readonly verdict: 'rejected'; readonly codes: readonly ResultCode[]; readonly why: string }
  | { readonly verdict: 'accepted or refused by execution'; readonly decimals: ReadonlyArray<readonly string[]> };
