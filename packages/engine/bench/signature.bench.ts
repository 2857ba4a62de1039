/**
 * Throughput of the signature rule against node:crypto's own Ed25519 verification.
 *
 * Run with: npx tsx packages/engine/bench/signature.bench.ts
 *
 * All runs use one core (a plain synchronous loop). The workloads are:
 *   - raw node:crypto with KeyObjects built in advance: the ceiling, OpenSSL's speed;
 *   - verifySignature over a few recurring keys: the common case, where the KeyObject
 *     cache hits and only the strict-encoding checks are added;
 *   - verifySignature over more distinct keys than the cache holds: every call imports
 *     its key, the worst case for honest traffic;
 *   - raw node:crypto importing each key from SPKI DER: what a naive caller would pay;
 *   - verifySignature on signatures that fail the equation: the rejection path, which
 *     additionally decodes the key to tell 'invalid' from 'invalid-key'.
 */
import { createPublicKey, verify as verifyWithNodeCrypto, type KeyObject } from 'node:crypto';
import { sha512 } from '@noble/hashes/sha2.js';
import { publicKeyFromSeed, signMessage, verifySignature } from '../src/signature.js';

interface SignedRequest {
  publicKey: Uint8Array;
  keyObject: KeyObject;
  message: Uint8Array;
  signature: Uint8Array;
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const MEASUREMENT_DURATION_MILLISECONDS = 2000;

function makeRequests(keyCount: number, requestCount: number): SignedRequest[] {
  const seeds = Array.from({ length: keyCount }, (_, index) =>
    sha512(Buffer.from(`bench seed ${index}`)).subarray(0, 32),
  );
  const publicKeys = seeds.map((seed) => publicKeyFromSeed(seed));
  const keyObjects = publicKeys.map((publicKey) =>
    createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' }),
  );
  return Array.from({ length: requestCount }, (_, index) => {
    const keyIndex = index % keyCount;
    const message = Buffer.from(
      `instruction=placeOrder&symbol=BTC-USD&quantity=${index}&timestamp=1795250315693&window=5000`,
    );
    return {
      publicKey: publicKeys[keyIndex]!,
      keyObject: keyObjects[keyIndex]!,
      message,
      signature: signMessage(seeds[keyIndex]!, message),
    };
  });
}

/** Runs `verifyOne` over the requests round-robin for a fixed wall-clock time; returns verifications per second. */
function measure(label: string, requests: SignedRequest[], verifyOne: (request: SignedRequest) => boolean): number {
  // Warm-up: lets the JIT compile the loop and fills caches the way steady state would.
  for (const request of requests) if (!verifyOne(request)) throw new Error(`${label}: unexpected outcome`);
  let verifications = 0;
  const start = performance.now();
  let elapsedMilliseconds = 0;
  while (elapsedMilliseconds < MEASUREMENT_DURATION_MILLISECONDS) {
    for (const request of requests) {
      if (!verifyOne(request)) throw new Error(`${label}: unexpected outcome`);
    }
    verifications += requests.length;
    elapsedMilliseconds = performance.now() - start;
  }
  const ratePerSecond = (verifications * 1000) / elapsedMilliseconds;
  console.log(`${label.padEnd(62)} ${Math.round(ratePerSecond).toString().padStart(7)} verifications/s`);
  return ratePerSecond;
}

const recurringKeys = makeRequests(16, 512);
const distinctKeys = makeRequests(5000, 5000);

const rawRate = measure('raw crypto.verify, KeyObjects built in advance', recurringKeys, (request) =>
  verifyWithNodeCrypto(null, request.message, request.keyObject, request.signature),
);
const ruleRate = measure(
  'verifySignature, 16 recurring keys (cache hits)',
  recurringKeys,
  (request) => verifySignature(request.publicKey, request.message, request.signature) === 'valid',
);
const coldRate = measure(
  'verifySignature, 5000 distinct keys (cache misses)',
  distinctKeys,
  (request) => verifySignature(request.publicKey, request.message, request.signature) === 'valid',
);
const naiveRate = measure('raw crypto.verify, key imported from SPKI DER on every call', recurringKeys, (request) =>
  verifyWithNodeCrypto(
    null,
    request.message,
    { key: Buffer.concat([SPKI_ED25519_PREFIX, request.publicKey]), format: 'der', type: 'spki' },
    request.signature,
  ),
);
const tamperedRequests = recurringKeys.map((request) => ({
  ...request,
  message: Buffer.concat([request.message, Buffer.from('!')]),
}));
const rejectionRate = measure(
  'verifySignature, wrong message (rejection path)',
  tamperedRequests,
  (request) => verifySignature(request.publicKey, request.message, request.signature) === 'invalid',
);

console.log('');
console.log(`verifySignature (cache hits) / raw crypto.verify:   ${(ruleRate / rawRate).toFixed(3)}`);
console.log(`verifySignature (cache misses) / raw crypto.verify: ${(coldRate / rawRate).toFixed(3)}`);
console.log(`raw crypto.verify with DER import / raw:           ${(naiveRate / rawRate).toFixed(3)}`);
console.log(`verifySignature (rejection path) / raw:            ${(rejectionRate / rawRate).toFixed(3)}`);
