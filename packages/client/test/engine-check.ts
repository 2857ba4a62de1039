/**
 * The server's side of the signature check, built from the engine's own
 * code: reconstruct the candidate signing strings from a recorded HTTP
 * request exactly as the API does (request-signing.ts) and verify the
 * signature under the exchange's signature rule (signature.ts).
 *
 * Test-only: the SDK never imports the engine (it uses node:crypto).
 */
import { decodeBase64 } from '../src/base64.js';
import { signingStringCandidateTexts, verifySignature } from '@vex/engine';
import type { RecordedRequest } from './http-recorder.js';

const utf8 = new TextEncoder();

function header(request: RecordedRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value !== 'string') throw new Error(`missing header ${name}`);
  return value;
}

/**
 * The candidate that verified, or undefined when none did. `signedPath` is the
 * route whose instruction the request signs, when it is not its own path (the
 * API's operator listing signs as GET /wapi/v1/capital/withdrawals).
 */
export function verifiedSigningString(request: RecordedRequest, signedPath: string = request.path): string | undefined {
  const body: unknown = request.body.length === 0 ? undefined : JSON.parse(request.body);
  const candidates = signingStringCandidateTexts(
    request.method,
    signedPath,
    request.query,
    body,
    header(request, 'x-timestamp'),
    request.headers['x-window'] as string | undefined,
  );
  const publicKey = decodeBase64(header(request, 'x-api-key'));
  const signature = decodeBase64(header(request, 'x-signature'));
  return candidates.find((text) => verifySignature(publicKey, utf8.encode(text), signature) === 'valid');
}

/** Whether the request's signature headers verify over exactly `text` (native routes, which the engine's route table does not list). */
export function signatureVerifiesOver(request: RecordedRequest, text: string): boolean {
  const publicKey = decodeBase64(header(request, 'x-api-key'));
  const signature = decodeBase64(header(request, 'x-signature'));
  return verifySignature(publicKey, utf8.encode(text), signature) === 'valid';
}
