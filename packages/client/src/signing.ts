/**
 * The Backpack signing string, and signing it.
 *
 *   instruction=<name>&<k1>=<v1>&…&<kn>=<vn>[&instruction=<name>&…]&timestamp=<ms>&window=<ms>
 *
 * - The parameters are the query parameters of a GET, or the top-level keys of
 *   the JSON body of a POST or DELETE, sorted by key (plain string order).
 * - A batch of orders (POST /api/v1/orders) repeats `instruction=orderExecute&…`
 *   once per order; `timestamp` and `window` close the string once.
 * - Values are stringified as Backpack clients do: strings as they are,
 *   booleans as `true`/`false`, numbers with String().
 * - Values are written raw, as the official Rust client does, unless
 *   `encoding: 'percent'` is asked for (encodeURIComponent, which the server
 *   also accepts). A value holding `%` or `&` cannot be written raw without
 *   ambiguity, and the server does not try the raw form then, so such a
 *   string is always percent-encoded.
 *
 * This must stay byte-identical to the engine's `encodeSigningString`
 * (packages/engine/src/signing-string.ts); test/signing.test.ts checks it,
 * together with the server-side reconstruction in request-signing.ts.
 */
import { encodeBase64 } from './base64.js';
import { signBytes } from './ed25519.js';
import { ClientInputError } from './errors.js';
import { decodeSecret, keyPairFromSeed } from './keys.js';

export type ParameterValue = string | number | boolean;
/** Parameters of one instruction; `undefined` entries are left out, as JSON.stringify leaves them out. */
export type InstructionParameters = Readonly<Record<string, ParameterValue | undefined>>;

export interface InstructionGroup {
  readonly instruction: string;
  readonly params: InstructionParameters;
}

export type ValueEncoding = 'raw' | 'percent';

/** Backpack's default X-Window, signed even when the header is absent. */
export const defaultWindowMs = 5_000;
/** Backpack's largest X-Window. */
export const maximumWindowMs = 60_000;

const instructionPattern = /^[a-z][A-Za-z0-9]{0,63}$/;
const keyPattern = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const reservedKeys: ReadonlySet<string> = new Set(['instruction', 'timestamp', 'window']);
const unpairedSurrogatePattern = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8 = new TextEncoder();

/** The text a value is signed (and, for numbers and booleans, understood) as. */
export function stringifyValue(key: string, value: ParameterValue): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean') text = value ? 'true' : 'false';
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ClientInputError(`"${key}" is not a finite number.`);
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw new ClientInputError(`"${key}" is an integer beyond 2^53 - 1; pass it as a string.`);
    }
    text = String(value);
    if (/[eE]/.test(text))
      throw new ClientInputError(`"${key}" (${text}) has no plain decimal form; pass it as a string.`);
  } else {
    throw new ClientInputError(`"${key}" must be a string, a number or a boolean.`);
  }
  if (text.length === 0) throw new ClientInputError(`"${key}" is empty; leave it out instead.`);
  if (unpairedSurrogatePattern.test(text))
    throw new ClientInputError(`"${key}" holds an unpaired surrogate and has no UTF-8 form.`);
  return text;
}

/** The defined parameters as [key, text] pairs, sorted by key, with keys checked. */
export function sortedParameters(params: InstructionParameters): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!keyPattern.test(key))
      throw new ClientInputError(
        `Parameter name "${key.slice(0, 40)}" must be a letter followed by letters and digits.`,
      );
    if (reservedKeys.has(key)) throw new ClientInputError(`Parameter name "${key}" is reserved.`);
    entries.push([key, stringifyValue(key, value)]);
  }
  return entries.sort((left, right) => (left[0] < right[0] ? -1 : left[0] > right[0] ? 1 : 0));
}

/** Whether the raw form would be ambiguous, so the string must be percent-encoded. */
export function requiresPercentEncoding(groups: readonly InstructionGroup[]): boolean {
  return groups.some((group) =>
    sortedParameters(group.params).some(([, value]) => value.includes('%') || value.includes('&')),
  );
}

function checkMilliseconds(value: number, what: string, minimum: number, maximum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum || value > maximum) {
    throw new ClientInputError(`${what} must be a whole number of milliseconds from ${minimum} to ${maximum}.`);
  }
}

export interface SigningStringOptions {
  /** 'raw' (default) or 'percent'; raw falls back to percent when a value holds `%` or `&`. */
  readonly encoding?: ValueEncoding;
}

/** The encoding actually used for these groups. */
export function effectiveEncoding(groups: readonly InstructionGroup[], encoding: ValueEncoding = 'raw'): ValueEncoding {
  return encoding === 'percent' || requiresPercentEncoding(groups) ? 'percent' : 'raw';
}

/** Builds the signing string (as text; sign its UTF-8 bytes). */
export function buildSigningString(
  groups: readonly InstructionGroup[],
  timestampMs: number,
  windowMs: number,
  options: SigningStringOptions = {},
): string {
  if (groups.length === 0) throw new ClientInputError('A signing string needs at least one instruction.');
  checkMilliseconds(timestampMs, 'The timestamp', 0, Number.MAX_SAFE_INTEGER);
  checkMilliseconds(windowMs, 'The window', 1, maximumWindowMs);
  const percent = effectiveEncoding(groups, options.encoding) === 'percent';
  const pieces: string[] = [];
  for (const group of groups) {
    if (!instructionPattern.test(group.instruction))
      throw new ClientInputError(`Malformed instruction name "${group.instruction.slice(0, 40)}".`);
    pieces.push(`instruction=${group.instruction}`);
    for (const [key, value] of sortedParameters(group.params))
      pieces.push(`${key}=${percent ? encodeURIComponent(value) : value}`);
  }
  pieces.push(`timestamp=${timestampMs}`, `window=${windowMs}`);
  return pieces.join('&');
}

/** A signed message: what goes into the four headers, or into POST /api/v1/transactions. */
export interface SignedMessage {
  /** The signing string, exactly as signed (its UTF-8 bytes). */
  readonly message: string;
  /** Base64 public key of the signer (X-API-Key). */
  readonly publicKey: string;
  /** Base64 of the 64-byte signature (X-Signature). */
  readonly signature: string;
  readonly timestampMs: number;
  readonly windowMs: number;
}

export interface SignOptions extends SigningStringOptions {
  /** X-Timestamp, Unix ms. */
  readonly timestampMs: number;
  /** X-Window in ms; default 5000. */
  readonly windowMs?: number;
}

/** Signs instruction groups with one key; the secret is decoded and the public key derived once. */
export class Signer {
  readonly publicKey: string;
  readonly #seed: Uint8Array;

  constructor(secret: string) {
    this.#seed = decodeSecret(secret);
    this.publicKey = keyPairFromSeed(this.#seed).publicKey;
  }

  /** Signs arbitrary bytes and returns the base64 signature. */
  signBytes(message: Uint8Array): string {
    return encodeBase64(signBytes(this.#seed, message));
  }

  sign(groups: readonly InstructionGroup[], options: SignOptions): SignedMessage {
    const windowMs = options.windowMs ?? defaultWindowMs;
    const message = buildSigningString(groups, options.timestampMs, windowMs, options);
    return {
      message,
      publicKey: this.publicKey,
      signature: this.signBytes(utf8.encode(message)),
      timestampMs: options.timestampMs,
      windowMs,
    };
  }
}

/** One-shot form of Signer#sign. */
export function signInstructions(
  secret: string,
  groups: readonly InstructionGroup[],
  options: SignOptions,
): SignedMessage {
  return new Signer(secret).sign(groups, options);
}

export interface SignedHeaders {
  readonly 'X-API-Key': string;
  readonly 'X-Signature': string;
  readonly 'X-Timestamp': string;
  readonly 'X-Window': string;
}

/** The four Backpack headers of a signed request. */
export function signedHeaders(signed: SignedMessage): SignedHeaders {
  return {
    'X-API-Key': signed.publicKey,
    'X-Signature': signed.signature,
    'X-Timestamp': String(signed.timestampMs),
    'X-Window': String(signed.windowMs),
  };
}
