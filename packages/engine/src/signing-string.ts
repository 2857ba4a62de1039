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

const keyPattern = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const instructionPattern = /^[a-z][A-Za-z0-9]{0,63}$/;
const digitsPattern = /^(0|[1-9][0-9]{0,15})$/;
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

function parseMilliseconds(raw: string): number | undefined {
  if (!digitsPattern.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
}

export function parseSigningString(bytes: Uint8Array): SigningStringParse {
  if (bytes.length > maximumSigningStringBytes) return failure('The signed message is too long.');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return failure('The signed message is not valid UTF-8.');
  }
  const parts = text.split('&');
  if (parts.length < 3) return failure('The signed message must hold an instruction, a timestamp and a window.');
  const windowPart = parts.pop() as string;
  const timestampPart = parts.pop() as string;
  if (!timestampPart.startsWith('timestamp=')) return failure('The signed message must end with timestamp=…&window=….');
  if (!windowPart.startsWith('window=')) return failure('The signed message must end with timestamp=…&window=….');
  const timestampMs = parseMilliseconds(timestampPart.slice('timestamp='.length));
  if (timestampMs === undefined) return failure('The timestamp must be a whole number of milliseconds.');
  const windowMs = parseMilliseconds(windowPart.slice('window='.length));
  if (windowMs === undefined || windowMs < 1 || windowMs > maximumWindowMs) {
    return failure(`The window must be a whole number of milliseconds from 1 to ${maximumWindowMs}.`, 'INVALID_WINDOW');
  }

  const groups: SignedGroup[] = [];
  let current: { instruction: string; params: Map<string, string> } | undefined;
  let previousKey = '';
  for (const part of parts) {
    const separator = part.indexOf('=');
    if (separator <= 0) return failure(`Malformed parameter "${part.slice(0, 40)}".`);
    const key = part.slice(0, separator);
    const rawValue = part.slice(separator + 1);
    if (key === 'instruction') {
      if (!instructionPattern.test(rawValue)) return failure('Malformed instruction name.');
      if (groups.length >= maximumBatchSize) return failure(`A batch holds at most ${maximumBatchSize} instructions.`);
      current = { instruction: rawValue, params: new Map() };
      groups.push(current);
      previousKey = '';
      continue;
    }
    if (current === undefined) return failure('The signed message must start with instruction=.');
    if (!keyPattern.test(key)) return failure(`Malformed parameter name "${key.slice(0, 40)}".`);
    if (key === 'timestamp' || key === 'window' || key === 'instruction')
      return failure(`Parameter "${key}" is reserved.`);
    // Backpack sorts keys by plain string order; strictly ascending also rules out duplicates.
    if (!(key > previousKey))
      return failure(`Parameters must be sorted and unique; "${key}" is out of order or repeated.`);
    previousKey = key;
    const value = decodeValue(rawValue);
    if (value === undefined) return failure(`The value of "${key}" is empty or badly percent-encoded.`);
    current.params.set(key, value);
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
