/**
 * Server-side reconstruction of the Backpack signing string from an HTTP
 * request: the one function the HTTP API and the tests use to turn
 * (method, path, query, JSON body, X-Timestamp, X-Window) back into the exact
 * bytes a client signed.
 *
 * Clients disagree on one thing only: how values are written into the signing
 * string. The official Rust client and the npm `bpx-api-client` sign raw
 * values; ccxt percent-encodes them with `qs` (RFC 3986 style: everything but
 * A–Z a–z 0–9 - . _ ~ is escaped); code that uses `encodeURIComponent` leaves
 * ! ' ( ) * unescaped. `signingStringCandidates` therefore returns every
 * distinct form, raw first, and the caller accepts the request if the
 * signature verifies over any one of them. Every candidate parses (through
 * parseSigningString) to exactly the request's parameters, so which candidate
 * verified never changes what the instruction means.
 *
 * Values are stringified exactly as clients do: strings as they are, booleans
 * as `true`/`false`, numbers with String(). Anything a client could not have
 * stringified the same way is refused with a RequestSigningError: numbers that
 * are not finite, integers beyond 2^53 − 1 (JSON.parse has already changed
 * them), numbers whose String() form uses an exponent, null, nested objects
 * and arrays, and strings holding unpaired UTF-16 surrogates (they have no
 * UTF-8 encoding). See docs/protocol.md, "From HTTP request to signed message".
 */
import { catalogueSignedRoutes } from './instruction-catalogue.js';
import { defaultWindowMs } from './limits.js';
import type { ResultCode } from './result-codes.js';

/** A request that cannot be turned into a signing string; the API answers with `code`. */
export class RequestSigningError extends Error {
  override readonly name = 'RequestSigningError';
  constructor(
    readonly code: ResultCode,
    message: string,
  ) {
    super(message);
  }
}

/** The signed routes of the Backpack REST API and their instructions, from the instruction catalogue. */
export const signedRoutes: ReadonlyArray<{ method: string; path: string; instruction: string }> = catalogueSignedRoutes;

/** The batch route: its body is a JSON array and each element is one orderExecute group. */
export const batchOrderRoute = { method: 'POST', path: '/api/v1/orders' } as const;

const routeTable: ReadonlyMap<string, string> = new Map(
  signedRoutes.map((route) => [`${route.method} ${route.path}`, route.instruction]),
);

const batchRouteKey = `${batchOrderRoute.method} ${batchOrderRoute.path}`;

function normalizeRoute(method: string, path: string): string {
  const queryMark = path.indexOf('?');
  const withoutQuery = queryMark < 0 ? path : path.slice(0, queryMark);
  const withSlash = withoutQuery.startsWith('/') ? withoutQuery : `/${withoutQuery}`;
  return `${method.toUpperCase()} ${withSlash}`;
}

/** The instruction a signed route carries, or undefined for a route that is not signed. */
export function instructionForRoute(method: string, path: string): string | undefined {
  return routeTable.get(normalizeRoute(method, path));
}

/** One instruction group with its values as text, keys in ascending order. */
export interface RequestGroup {
  readonly instruction: string;
  readonly params: ReadonlyArray<readonly [string, string]>;
}

export type QueryInput = URLSearchParams | Readonly<Record<string, string>>;

const plainKeyPattern = /^[A-Za-z0-9]+$/;
const digitsPattern = /^[0-9]{1,16}$/;
const unpairedSurrogatePattern = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function invalid(message: string): RequestSigningError {
  return new RequestSigningError('INVALID_CLIENT_REQUEST', message);
}

function checkKey(key: string): void {
  // Anything beyond letters and digits could change how the raw form splits
  // (`&`, `=`) or decodes (`%`); the engine would reject such keys anyway.
  if (!plainKeyPattern.test(key))
    throw invalid(`Parameter name "${key.slice(0, 40)}" must be letters and digits only.`);
}

/** Stringifies one JSON value the way Backpack clients do before signing. */
export function stringifyParameterValue(key: string, value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean') text = value ? 'true' : 'false';
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`"${key}" is not a finite number.`);
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw invalid(`"${key}" is an integer beyond 2^53 - 1; send it as a string.`);
    }
    text = String(value);
    if (/[eE]/.test(text)) throw invalid(`"${key}" has no plain decimal form; send it as a string.`);
  } else {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw invalid(`"${key}" must be a string, a number or a boolean, not ${kind}.`);
  }
  if (unpairedSurrogatePattern.test(text)) throw invalid(`"${key}" holds an unpaired surrogate and has no UTF-8 form.`);
  return text;
}

function compareKeys(left: readonly [string, string], right: readonly [string, string]): number {
  return left[0] < right[0] ? -1 : left[0] > right[0] ? 1 : 0;
}

/** RFC 3986's unreserved characters: none of the three forms below escapes them. */
const unreservedValuePattern = /^[A-Za-z0-9._~-]*$/;

/** What building the groups learnt on the way: whether every value is known to be unreserved. */
interface GroupsFacts {
  unreserved: boolean;
}

function objectParams(value: unknown, what: string, facts: GroupsFacts): Array<readonly [string, string]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${what} must be a JSON object.`);
  const params: Array<readonly [string, string]> = [];
  // Object.keys sees own properties only, including a JSON "__proto__" key (which checkKey refuses before its
  // value is read), and nothing here writes into an object keyed by client input.
  // determinism-reviewed: the parameters are sorted before they are returned.
  for (const key of Object.keys(value)) {
    checkKey(key);
    const entry: unknown = (value as Record<string, unknown>)[key];
    // A string of unreserved characters is its own text and holds no surrogate: one pattern test instead of two
    // (stringifyParameterValue's surrogate test, then allValuesUnreserved's), for most values of most requests.
    if (typeof entry === 'string' && unreservedValuePattern.test(entry)) params.push([key, entry]);
    else {
      const text = stringifyParameterValue(key, entry);
      if (facts.unreserved && !unreservedValuePattern.test(text)) facts.unreserved = false;
      params.push([key, text]);
    }
  }
  return params.sort(compareKeys);
}

function queryParams(query: QueryInput): Array<readonly [string, string]> {
  const entries: Array<readonly [string, string]> =
    // determinism-reviewed: the parameters are sorted before they are returned.
    query instanceof URLSearchParams ? [...query] : Object.entries(query);
  const seen = new Set<string>();
  const params: Array<readonly [string, string]> = [];
  for (const [key, value] of entries) {
    checkKey(key);
    if (seen.has(key)) throw invalid(`Query parameter "${key}" is repeated.`);
    seen.add(key);
    params.push([key, stringifyParameterValue(key, value)]);
  }
  return params.sort(compareKeys);
}

function isEmptyQuery(query: QueryInput): boolean {
  // determinism-reviewed: only the count of keys is read, never their order.
  return query instanceof URLSearchParams ? [...query.keys()].length === 0 : Object.keys(query).length === 0;
}

/**
 * The instruction groups a request signs: GET signs its query parameters,
 * POST and DELETE the top-level keys of their JSON body, and the batch route
 * one orderExecute group per array element.
 */
export function requestGroups(method: string, path: string, query: QueryInput, body: unknown): RequestGroup[] {
  return groupsOf(method, path, query, body, { unreserved: false });
}

/** requestGroups; `facts.unreserved` ends true only if every value was seen to be unreserved. */
function groupsOf(method: string, path: string, query: QueryInput, body: unknown, facts: GroupsFacts): RequestGroup[] {
  // Normalised once: it runs for every signed request on the sequencing thread.
  const route = normalizeRoute(method, path);
  const instruction = routeTable.get(route);
  if (instruction === undefined) {
    throw new RequestSigningError(
      'INVALID_INSTRUCTION',
      `${method.toUpperCase()} ${path.slice(0, 80)} is not a signed route.`,
    );
  }
  if (method.toUpperCase() === 'GET') {
    if (body !== undefined && body !== null) throw invalid('A GET request signs its query string and carries no body.');
    facts.unreserved = false; // not looked at: allValuesUnreserved decides
    return [{ instruction, params: queryParams(query) }];
  }
  facts.unreserved = true;
  if (!isEmptyQuery(query))
    throw invalid(`${method.toUpperCase()} requests sign their JSON body; the query string must be empty.`);
  if (route === batchRouteKey) {
    if (!Array.isArray(body) || body.length === 0) throw invalid('A batch of orders must be a non-empty JSON array.');
    return body.map((element: unknown, index) => ({
      instruction,
      params: objectParams(element, `Order ${index} of the batch`, facts),
    }));
  }
  if (body === undefined || body === null) return [{ instruction, params: [] }];
  return [{ instruction, params: objectParams(body, 'The request body', facts) }];
}

/** RFC 3986 unreserved characters stay, everything else is escaped: the `qs` form ccxt signs. */
function strictPercentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function headerMilliseconds(value: string | number | undefined, fallback: number, what: string): string {
  if (value === undefined) return String(fallback);
  const text = typeof value === 'number' ? String(value) : value;
  // Only the shape is checked here; the engine decides (leading zeros, range).
  if (!digitsPattern.test(text)) throw invalid(`${what} must be a whole number of milliseconds.`);
  return text;
}

function render(
  groups: readonly RequestGroup[],
  encode: ((value: string) => string) | undefined,
  timestamp: string,
  window: string,
): string {
  // One string built by appending: every request renders at least once, and an array joined at the end cost
  // about twice as much on the node's main thread.
  let text = '';
  for (const group of groups) {
    text += `instruction=${group.instruction}&`;
    for (const [key, value] of group.params) text += `${key}=${encode === undefined ? value : encode(value)}&`;
  }
  return `${text}timestamp=${timestamp}&window=${window}`;
}

function allValuesUnreserved(groups: readonly RequestGroup[]): boolean {
  for (const group of groups)
    for (const [, value] of group.params) if (!unreservedValuePattern.test(value)) return false;
  return true;
}

/**
 * The signing strings a client may have signed for this request, as text:
 * the raw form (left out when a value holds `%` or `&`, which the raw form
 * cannot carry unambiguously), the encodeURIComponent form and the strict
 * RFC 3986 (`qs`, ccxt) form, without repeats. `window` is the X-Window
 * header; when absent, 5000 is what clients sign.
 */
export function signingStringCandidateTexts(
  method: string,
  path: string,
  query: QueryInput,
  body: unknown,
  timestamp: string | number,
  window: string | number | undefined,
): string[] {
  const facts: GroupsFacts = { unreserved: false };
  const groups = groupsOf(method, path, query, body, facts);
  const timestampText = headerMilliseconds(timestamp, 0, 'X-Timestamp');
  const windowText = headerMilliseconds(window, defaultWindowMs, 'X-Window');
  // The common case (the load generator's, and every client's for plain symbols, decimals and ids): every value
  // is unreserved, so the raw, encodeURIComponent and strict forms are the same text and there is one candidate,
  // rendered once instead of three times and compared.
  if (facts.unreserved || allValuesUnreserved(groups)) return [render(groups, undefined, timestampText, windowText)];
  const candidates: string[] = [];
  const add = (text: string): void => {
    if (!candidates.includes(text)) candidates.push(text);
  };
  const rawIsUnambiguous = groups.every((group) =>
    group.params.every(([, value]) => !value.includes('%') && !value.includes('&')),
  );
  if (rawIsUnambiguous) add(render(groups, undefined, timestampText, windowText));
  add(render(groups, encodeURIComponent, timestampText, windowText));
  add(render(groups, strictPercentEncode, timestampText, windowText));
  return candidates;
}

const utf8Encoder = new TextEncoder();

/** signingStringCandidateTexts as UTF-8 bytes, ready for verifySignature. */
export function signingStringCandidates(
  method: string,
  path: string,
  query: QueryInput,
  body: unknown,
  timestamp: string | number,
  window: string | number | undefined,
): Uint8Array[] {
  return signingStringCandidateTexts(method, path, query, body, timestamp, window).map((text) =>
    utf8Encoder.encode(text),
  );
}
