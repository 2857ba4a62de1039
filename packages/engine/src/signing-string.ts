/**
 * The Backpack signing string, parsed canonically and encoded exactly.
 *
 *   instruction=<name>&<k1>=<v1>&…&<kn>=<vn>[&instruction=<name>&…]&timestamp=<ms>&window=<ms>
 *
 * Within each instruction group the keys are strictly ascending (sorted and
 * unique); a batch repeats `instruction=` once per element; `timestamp` and
 * `window` close the string exactly once. Values may be raw or percent-encoded
 * (ccxt encodes, the official Rust client does not): a `%` always starts a
 * `%XX` escape, so both forms of the same value decode to the same text. A `+`
 * is a literal plus in both forms. See docs/protocol.md.
 */
import { maximumWindowMs } from './limits.js';

export interface SignedGroup {
  readonly instruction: string;
  /** Decoded parameter values by key, in ascending key order. */
  readonly params: ReadonlyMap<string, string>;
}

export interface SigningString {
  readonly groups: readonly SignedGroup[];
  readonly timestampMs: number;
  readonly windowMs: number;
}

export type SigningStringParse =
  | { readonly ok: true; readonly value: SigningString }
  | { readonly ok: false; readonly message: string; readonly code: 'INVALID_CLIENT_REQUEST' | 'INVALID_WINDOW' };

/** Longest signing string accepted; a full batch of orders fits comfortably. */
export const maximumSigningStringBytes = 16_384;
export const maximumBatchSize = 50;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

function failure(
  message: string,
  code: 'INVALID_CLIENT_REQUEST' | 'INVALID_WINDOW' = 'INVALID_CLIENT_REQUEST',
): SigningStringParse {
  return { ok: false, message, code };
}

function decodeValue(raw: string): string | undefined {
  if (raw.length === 0) return undefined;
  if (!raw.includes('%')) return raw;
  // Every `%` must begin a two-digit hex escape; decodeURIComponent also
  // rejects escapes that do not form valid UTF-8.
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * The whole number of milliseconds in text[start, end), as `^(0|[1-9][0-9]{0,15})$` then a safe integer;
 * undefined when it is not one. Read in place: no substring per entry.
 */
function parseMillisecondsAt(text: string, start: number, end: number): number | undefined {
  const length = end - start;
  if (length < 1 || length > 16) return undefined;
  if (text.charCodeAt(start) === 0x30 /* 0 */ && length > 1) return undefined;
  let value = 0;
  for (let index = start; index < end; index += 1) {
    const digit = text.charCodeAt(index) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    // Exact below 2^53; above it rounding keeps the value at 2^53 or more, which the check below refuses.
    value = value * 10 + digit;
  }
  return Number.isSafeInteger(value) ? value : undefined;
}

function isLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function isLetterOrDigit(code: number): boolean {
  return isLetter(code) || (code >= 0x30 && code <= 0x39);
}

/** text[start, end) is a parameter name, `^[A-Za-z][A-Za-z0-9]{0,63}$`. */
function isKeyAt(text: string, start: number, end: number): boolean {
  if (end - start < 1 || end - start > 64 || !isLetter(text.charCodeAt(start))) return false;
  for (let index = start + 1; index < end; index += 1) if (!isLetterOrDigit(text.charCodeAt(index))) return false;
  return true;
}

/** An instruction name, `^[a-z][A-Za-z0-9]{0,63}$`. */
function isInstructionName(name: string): boolean {
  const first = name.charCodeAt(0);
  if (name.length < 1 || name.length > 64 || !(first >= 0x61 && first <= 0x7a)) return false;
  for (let index = 1; index < name.length; index += 1) if (!isLetterOrDigit(name.charCodeAt(index))) return false;
  return true;
}

/*
 * The names every order and cancel carries, and the names of those instructions. A part whose key (or
 * instruction name) is one of them takes the constant instead of a new substring: no allocation, and the
 * Map stores and the parameter reader finds a string whose hash V8 has already computed (an instruction name
 * is looked up in the parsers' table too). The constants are valid names by construction (so a known key skips
 * isKeyAt) and the same text, so every check and result is as for the substring.
 */
const knownKeys = [
  'clientId',
  'orderId',
  'orderType',
  'postOnly',
  'price',
  'quantity',
  'quoteQuantity',
  'selfTradePrevention',
  'side',
  'symbol',
  'timeInForce',
];
const knownInstructionNames = ['orderCancel', 'orderCancelAll', 'orderExecute'];
/** By length: the known strings of that length. */
function byLength(names: readonly string[]): (readonly string[] | undefined)[] {
  const table: string[][] = [];
  for (const name of names) (table[name.length] ??= []).push(name);
  return table;
}
const knownKeysByLength = byLength(knownKeys);
const knownInstructionNamesByLength = byLength(knownInstructionNames);

/** The known string equal to text[start, end), or undefined. */
function knownAt(table: readonly (readonly string[] | undefined)[], text: string, start: number, end: number) {
  const candidates = table[end - start];
  if (candidates === undefined) return undefined;
  const first = text.charCodeAt(start);
  for (const candidate of candidates) {
    if (candidate.charCodeAt(0) === first && text.startsWith(candidate, start)) return candidate;
  }
  return undefined;
}

const instructionKey = 'instruction';
const timestampPrefix = 'timestamp=';
const windowPrefix = 'window=';

/**
 * Parses a signing string. It runs on every log entry (the sequencer, every
 * replay), so it walks the decoded text by index instead of splitting it and
 * testing each piece with a regular expression: the same checks in the same
 * order (so the same message for a string with several faults), at about
 * 30 % less CPU on the replay bench's messages. The parts are the text split
 * at every `&`.
 */
export function parseSigningString(bytes: Uint8Array): SigningStringParse {
  if (bytes.length > maximumSigningStringBytes) return failure('The signed message is too long.');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return failure('The signed message is not valid UTF-8.');
  }
  // The last part is the window, the one before it the timestamp; at least one part precedes them.
  const windowSeparator = text.lastIndexOf('&');
  // lastIndexOf with a negative start still looks at index 0, so a separator at 0 has none before it.
  const timestampSeparator = windowSeparator <= 0 ? -1 : text.lastIndexOf('&', windowSeparator - 1);
  if (timestampSeparator < 0) return failure('The signed message must hold an instruction, a timestamp and a window.');
  // Neither prefix holds a `&`, so a match cannot run past its part.
  if (!text.startsWith(timestampPrefix, timestampSeparator + 1))
    return failure('The signed message must end with timestamp=…&window=….');
  if (!text.startsWith(windowPrefix, windowSeparator + 1))
    return failure('The signed message must end with timestamp=…&window=….');
  const timestampMs = parseMillisecondsAt(text, timestampSeparator + 1 + timestampPrefix.length, windowSeparator);
  if (timestampMs === undefined) return failure('The timestamp must be a whole number of milliseconds.');
  const windowMs = parseMillisecondsAt(text, windowSeparator + 1 + windowPrefix.length, text.length);
  if (windowMs === undefined || windowMs < 1 || windowMs > maximumWindowMs) {
    return failure(`The window must be a whole number of milliseconds from 1 to ${maximumWindowMs}.`, 'INVALID_WINDOW');
  }

  const groups: SignedGroup[] = [];
  let current: { instruction: string; params: Map<string, string> } | undefined;
  let previousKey = '';
  // Each part is text[partStart, partEnd); the last one before the timestamp ends at its separator.
  let partStart = 0;
  for (;;) {
    const partEnd = text.indexOf('&', partStart);
    const separator = text.indexOf('=', partStart);
    if (separator <= partStart || separator > partEnd)
      return failure(`Malformed parameter "${text.slice(partStart, partEnd).slice(0, 40)}".`);
    const keyLength = separator - partStart;
    if (keyLength === instructionKey.length && text.startsWith(instructionKey, partStart)) {
      const rawValue =
        knownAt(knownInstructionNamesByLength, text, separator + 1, partEnd) ?? text.slice(separator + 1, partEnd);
      if (!isInstructionName(rawValue)) return failure('Malformed instruction name.');
      if (groups.length >= maximumBatchSize) return failure(`A batch holds at most ${maximumBatchSize} instructions.`);
      current = { instruction: rawValue, params: new Map() };
      groups.push(current);
      previousKey = '';
    } else {
      if (current === undefined) return failure('The signed message must start with instruction=.');
      const known = knownAt(knownKeysByLength, text, partStart, separator);
      const key = known ?? text.slice(partStart, separator);
      if (known === undefined && !isKeyAt(text, partStart, separator))
        return failure(`Malformed parameter name "${key.slice(0, 40)}".`);
      if (key === 'timestamp' || key === 'window') return failure(`Parameter "${key}" is reserved.`);
      // Backpack sorts keys by plain string order; strictly ascending also rules out duplicates.
      if (!(key > previousKey))
        return failure(`Parameters must be sorted and unique; "${key}" is out of order or repeated.`);
      previousKey = key;
      const value = decodeValue(text.slice(separator + 1, partEnd));
      if (value === undefined) return failure(`The value of "${key}" is empty or badly percent-encoded.`);
      current.params.set(key, value);
    }
    if (partEnd === timestampSeparator) break;
    partStart = partEnd + 1;
  }
  if (groups.length === 0) return failure('The signed message must start with instruction=.');
  return { ok: true, value: { groups, timestampMs, windowMs } };
}

export interface EncodeOptions {
  /** Percent-encode values as ccxt does; the default signs raw values as the Rust client does. */
  readonly percentEncode?: boolean;
}

/**
 * Builds the signing string for the given groups. Keys are sorted here, so
 * callers may pass parameters in any order.
 */
export function encodeSigningString(
  groups: ReadonlyArray<{ readonly instruction: string; readonly params: Iterable<readonly [string, string]> }>,
  timestampMs: number,
  windowMs: number,
  options: EncodeOptions = {},
): string {
  const pieces: string[] = [];
  for (const group of groups) {
    pieces.push(`instruction=${group.instruction}`);
    const entries = [...group.params].sort((left, right) => (left[0] < right[0] ? -1 : left[0] > right[0] ? 1 : 0));
    for (const [key, value] of entries) {
      pieces.push(`${key}=${options.percentEncode === true ? encodeURIComponent(value) : value}`);
    }
  }
  pieces.push(`timestamp=${timestampMs}`, `window=${windowMs}`);
  return pieces.join('&');
}

export function encodeSigningStringBytes(
  groups: Parameters<typeof encodeSigningString>[0],
  timestampMs: number,
  windowMs: number,
  options: EncodeOptions = {},
): Uint8Array {
  return utf8Encoder.encode(encodeSigningString(groups, timestampMs, windowMs, options));
}
