/**
 * The envelope fuzzer's mutations: a generated case (envelope-arbitraries.ts)
 * turned into a hostile log entry, and the verdict the oracle
 * (envelope-oracle.ts) says the protocol requires for it.
 */
import type { LogEntry, SignedTransaction } from '../src/apply.js';
import { signMessage } from '../src/signature.js';
import {
  maximumSigningStringBytes,
  maximumDecimalCharacters,
  readMilliseconds,
  referenceSigningString,
  referenceInstruction,
  type Expectation,
} from './envelope-oracle.js';
import {
  hex,
  digestOf,
  tripleKey,
  operator,
  traders,
  signersByKey,
  originals,
  originalSignatures,
  appliedDigests,
  baseLogTimeMs,
} from './envelope-base.js';
import type {
  NumberForm,
  PercentVariant,
  specialKeys,
  Mutation,
  LogTimeChoice,
  FuzzCase,
} from './envelope-arbitraries.js';

export const utf8Encoder = new TextEncoder();
export const textOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** The indices of the parts that satisfy `accept`, or all when none does. */
export function pick(parts: readonly string[], chooser: number, accept: (part: string) => boolean): number | undefined {
  const candidates = parts.flatMap((part, index) => (accept(part) ? [index] : []));
  if (candidates.length === 0) return undefined;
  return candidates[chooser % candidates.length];
}

export function withValue(part: string, value: string): string {
  const separator = part.indexOf('=');
  return separator < 0 ? `${part}=${value}` : `${part.slice(0, separator + 1)}${value}`;
}

export const valueOf = (part: string): string => (part.includes('=') ? part.slice(part.indexOf('=') + 1) : '');

export function reencodeNumber(value: string, form: NumberForm): string {
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

export function percentVariant(value: string, variant: PercentVariant): string {
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

export const isParameter = (part: string): boolean => part.includes('=') && !part.startsWith('instruction=');

/** A mutation of one parameter (or two, or the timestamp and window) of the message. */
function mutateParameter(text: string, mutation: Mutation, logTimeMs: number): string {
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
    default:
      return text;
  }
}

/** The first instruction group repeated `count` more times, before the rest and the timestamp and window. */
function repeatFirstGroup(parts: readonly string[], count: number): string {
  const closing = parts.slice(-2);
  const body = parts.slice(0, -2);
  const nextGroup = body.findIndex((part, index) => index > 0 && part.startsWith('instruction='));
  const firstGroup = body.slice(0, nextGroup < 0 ? body.length : nextGroup);
  const repeated: string[] = [];
  for (let copy = 0; copy <= count; copy += 1) repeated.push(...firstGroup);
  return [...repeated, ...body.slice(firstGroup.length), ...closing].join('&');
}

/**
 * A query parses with any parameters, so its verdict tells the byte-length rule apart
 * from instruction syntax: up to 16384 bytes it is INVALID_INSTRUCTION, beyond it malformed.
 */
function oversizeQuery(parts: readonly string[], mutation: Extract<Mutation, { kind: 'oversizeQuery' }>): string {
  const closing = parts.slice(-2).join('&');
  const head = 'instruction=balanceQuery&padding=';
  const fill = maximumSigningStringBytes + mutation.bytesFromLimit - utf8Encoder.encode(`${head}&${closing}`).length;
  const padding = mutation.twoByteCharacters
    ? `${'é'.repeat(Math.floor(fill / 2))}${fill % 2 === 1 ? 'a' : ''}`
    : 'a'.repeat(Math.max(0, fill));
  return `${head}${padding}&${closing}`;
}

/** A textual mutation of the message; the logTime lets timestamps be placed around the window. */
export function mutateText(text: string, mutation: Mutation, logTimeMs: number): string {
  switch (mutation.kind) {
    case 'repeatGroup':
      return repeatFirstGroup(text.split('&'), mutation.count);
    case 'insertText': {
      const at = mutation.position % (text.length + 1);
      return text.slice(0, at) + mutation.text + text.slice(at);
    }
    case 'oversizeQuery':
      return oversizeQuery(text.split('&'), mutation);
    default:
      return mutateParameter(text, mutation, logTimeMs);
  }
}

export function mutateBytes(bytes: Uint8Array, mutation: Mutation): Uint8Array {
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
export const attestationTag = utf8Encoder.encode('vex/attestation/v1\0\n');
export function attestationMessage(
  body: 'binary' | 'signingString',
  bytes: Uint8Array,
  original: Uint8Array,
): Uint8Array {
  const rest = body === 'signingString' ? original : bytes;
  const message = new Uint8Array(attestationTag.length + rest.length);
  message.set(attestationTag);
  message.set(rest, attestationTag.length);
  return message;
}

export const groupOrderLittleEndian = (() => {
  let order = 2n ** 252n + 27742317777372353535851937790883648493n;
  const bytes = new Uint8Array(32);
  for (let index = 0; index < 32; index += 1) {
    bytes[index] = Number(order & 0xffn);
    order >>= 8n;
  }
  return bytes;
})();

/** S + L: the same signature with a non-canonical S, which the rule must refuse. */
export function malleate(signature: Uint8Array): Uint8Array {
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

export function specialKey(which: (typeof specialKeys)[number], signedBy: Uint8Array): Uint8Array {
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

export interface BuiltCase {
  readonly entry: LogEntry;
  /** The triple this case signed itself, if it re-signed. */
  readonly signed: SignedTransaction | undefined;
}

export function logTimeFor(origin: LogEntry, choice: LogTimeChoice): number {
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

export const messageMutationKinds = new Set<Mutation['kind']>([
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

export function buildCase(fuzzCase: FuzzCase): BuiltCase {
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

export const sameBytes = (left: Uint8Array, right: Uint8Array): boolean => Buffer.from(left).equals(Buffer.from(right));

/** What the protocol says must happen to this entry, decided without the engine. */
export function expectationFor(built: BuiltCase): Expectation {
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
