/**
 * Authenticating a Backpack-signed HTTP request.
 *
 * The client signed `instruction=…&<sorted params>&timestamp=…&window=…`
 * (shared/backpack-api.md). The engine's request-signing module rebuilds
 * every form a client may have signed (raw values, or percent-encoded as ccxt
 * does); the first candidate the signature verifies over under the engine's
 * signature rule is the message, and those exact bytes are what a
 * state-changing request submits to the node.
 */
import type { FastifyRequest } from 'fastify';
import {
  isCanonicalAccountId,
  isWithinWindow,
  maximumWindowMs,
  parseSigningString,
  RequestSigningError,
  signingStringCandidateTexts,
  signingStringCandidates,
  verifySignature,
  type SignedTransaction,
} from '@vex/engine';
import { ApiError } from './errors.js';

export interface SignatureHeaders {
  readonly apiKey: string;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
  /** X-Timestamp exactly as sent. */
  readonly timestamp: string;
  /** X-Window exactly as sent, or undefined when absent (5000 is then what was signed). */
  readonly window: string | undefined;
}

export interface AuthenticatedRequest {
  /** The signer's account id: the base64 public key. */
  readonly account: string;
  /** The bytes that verified (or, for a transaction left to the node, the one candidate). */
  readonly transaction: SignedTransaction;
}

const digits = /^[0-9]{1,16}$/;

function singleHeader(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ApiError('INVALID_CLIENT_REQUEST', `The ${name} header must appear once.`);
  return value;
}

/**
 * The canonical base64 of 64 bytes: 85 characters, one holding the last 2 bits (its other 4 bits zero: A, Q, g or
 * w), then `==`. Buffer's decoder skips junk, so only text of this form is decoded; the pattern replaces decoding,
 * re-encoding and comparing, as isCanonicalAccountId does for the 32-byte keys.
 */
const canonicalSignaturePattern = /^[A-Za-z0-9+/]{85}[AQgw]==$/;

function decodeSignature(text: string): Uint8Array | undefined {
  if (!canonicalSignaturePattern.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads and checks the four signature headers (X-API-Key, X-Signature, X-Timestamp, X-Window). */
export function readSignatureHeaders(request: FastifyRequest): SignatureHeaders {
  const apiKey = singleHeader(request, 'x-api-key');
  const signatureText = singleHeader(request, 'x-signature');
  const timestamp = singleHeader(request, 'x-timestamp');
  const window = singleHeader(request, 'x-window');
  if (apiKey === undefined || signatureText === undefined || timestamp === undefined) {
    throw new ApiError('UNAUTHORIZED', 'This endpoint is signed: X-API-Key, X-Signature and X-Timestamp are required.');
  }
  if (!isCanonicalAccountId(apiKey)) {
    throw new ApiError('UNAUTHORIZED', 'X-API-Key must be the base64 of a 32-byte ed25519 public key.');
  }
  const signature = decodeSignature(signatureText);
  if (signature === undefined)
    throw new ApiError('INVALID_SIGNATURE', 'X-Signature must be the base64 of a 64-byte ed25519 signature.');
  if (!digits.test(timestamp))
    throw new ApiError('INVALID_TIMESTAMP', 'X-Timestamp must be a whole number of milliseconds.');
  if (window !== undefined) {
    if (!digits.test(window)) throw new ApiError('INVALID_WINDOW', 'X-Window must be a whole number of milliseconds.');
    const windowMs = Number(window);
    if (windowMs < 1 || windowMs > maximumWindowMs) {
      throw new ApiError('INVALID_WINDOW', `X-Window must be from 1 to ${maximumWindowMs} milliseconds.`);
    }
  }
  const publicKey = new Uint8Array(Buffer.from(apiKey, 'base64'));
  return { apiKey, publicKey, signature, timestamp, window };
}

/** The query string of the raw URL, as the client wrote it. */
export function rawQuery(request: FastifyRequest): URLSearchParams {
  const url = request.raw.url ?? request.url;
  const mark = url.indexOf('?');
  return new URLSearchParams(mark < 0 ? '' : url.slice(mark + 1));
}

const noQuery: Readonly<Record<string, string>> = Object.freeze({});

/**
 * rawQuery, or an empty record when the URL has no `?` (every POST and DELETE a client sends): the same parameters
 * (none) without building a URLSearchParams per request on the sequencing thread.
 */
function signedQueryParameters(request: FastifyRequest): URLSearchParams | Readonly<Record<string, string>> {
  return (request.raw.url ?? request.url).includes('?') ? rawQuery(request) : noQuery;
}

export interface AuthenticateOptions {
  /** The route the signature covers; defaults to the matched route path. */
  readonly signedPath?: string;
  /**
   * Queries are judged here completely (signature and timestamp against the
   * server clock). Transactions leave the timestamp to the node, which judges
   * it against the log time, and, when only one signing string is possible,
   * leave the signature to the node's verifier threads as well.
   */
  readonly kind: 'query' | 'transaction';
  readonly clock: () => number;
  /**
   * For a native signed GET route the engine's route table does not list
   * (GET /wapi/v1/proof, instruction proofQuery): the instruction it signs.
   * Such a route signs its query exactly as every Backpack GET route does.
   */
  readonly instruction?: string;
}

const utf8 = new TextEncoder();
/** A Backpack GET route that signs its query parameters and nothing else, to render native GET routes' signing strings. */
const queryRouteModel = { path: '/api/v1/capital', prefix: 'instruction=balanceQuery' } as const;

/**
 * The signing-string candidates of a GET request for `instruction`: those of
 * the model route with the instruction renamed, so every encoding rule stays
 * the engine's.
 */
function nativeQueryCandidates(instruction: string, request: FastifyRequest, headers: SignatureHeaders): Uint8Array[] {
  const texts = signingStringCandidateTexts(
    'GET',
    queryRouteModel.path,
    rawQuery(request),
    undefined,
    headers.timestamp,
    headers.window,
  );
  return texts.map((text) => {
    if (!text.startsWith(queryRouteModel.prefix)) throw new Error(`the model route signs ${text.slice(0, 40)}`);
    return utf8.encode(`instruction=${instruction}${text.slice(queryRouteModel.prefix.length)}`);
  });
}

export function authenticate(request: FastifyRequest, options: AuthenticateOptions): AuthenticatedRequest {
  const headers = readSignatureHeaders(request);
  const path = options.signedPath ?? request.routeOptions.url ?? request.url.split('?', 1)[0]!;
  // HEAD is GET without a body (fastify serves it for every GET route).
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  let candidates: Uint8Array[];
  try {
    if (options.instruction !== undefined) {
      if (method !== 'GET') throw new ApiError('INVALID_CLIENT_REQUEST', `${method} ${path} is not a signed route.`);
      candidates = nativeQueryCandidates(options.instruction, request, headers);
    } else {
      candidates = signingStringCandidates(
        method,
        path,
        signedQueryParameters(request),
        method === 'GET' ? undefined : request.body,
        headers.timestamp,
        headers.window,
      );
    }
  } catch (error) {
    if (error instanceof RequestSigningError) throw new ApiError(error.code, error.message);
    throw error;
  }
  let message: Uint8Array | undefined;
  if (options.kind === 'transaction' && candidates.length === 1) {
    message = candidates[0];
  } else {
    message = candidates.find(
      (candidate) => verifySignature(headers.publicKey, candidate, headers.signature) === 'valid',
    );
    if (message === undefined)
      throw new ApiError('INVALID_SIGNATURE', 'The signature does not verify over the request.');
  }
  // A transaction's signing string is parsed, and its window checked against
  // the log time, by the engine's apply(); only queries are checked here.
  if (options.kind === 'query') {
    const parsed = parseSigningString(message!);
    if (!parsed.ok) throw new ApiError(parsed.code, parsed.message);
    const { timestampMs, windowMs } = parsed.value;
    const now = options.clock();
    if (!isWithinWindow(now, timestampMs, windowMs)) {
      throw new ApiError(
        'INVALID_TIMESTAMP',
        `Timestamp ${timestampMs} is not within ${windowMs} ms of the server time ${now}.`,
      );
    }
  }
  return {
    // X-API-Key passed isCanonicalAccountId, so it is already accountIdOf(publicKey), character for character.
    account: headers.apiKey,
    transaction: { message: message!, publicKey: headers.publicKey, signature: headers.signature },
  };
}
