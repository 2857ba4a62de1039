/** Keys (node:crypto Ed25519), a seeded PRNG, and requests signed exactly as the Rust client signs them. */
import { createPrivateKey, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { encodeSigningString } from '@vex/engine';

// ---------------------------------------------------------------------------
// Deterministic randomness.

/** SplitMix32: a tiny seeded PRNG; the same seed gives the same workload. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }
  /** An integer in [0, bound). */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.below(256));
  }
}

// ---------------------------------------------------------------------------
// Keys and signing (node:crypto).

const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');

export class Ed25519Key {
  readonly publicKey: Uint8Array;
  /** The base64 public key: X-API-Key and the account id. */
  readonly apiKey: string;
  private readonly privateKey: KeyObject;

  constructor(readonly seed: Uint8Array) {
    if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
    this.privateKey = createPrivateKey({
      key: Buffer.concat([pkcs8Ed25519Prefix, seed]),
      format: 'der',
      type: 'pkcs8',
    });
    const spki = createPublicKey(this.privateKey).export({ format: 'der', type: 'spki' });
    this.publicKey = new Uint8Array(spki.subarray(spki.length - 32));
    this.apiKey = Buffer.from(this.publicKey).toString('base64');
  }

  /** From the base64 seed of operator-key.json's "secret". */
  static fromSecret(secret: string): Ed25519Key {
    return new Ed25519Key(new Uint8Array(Buffer.from(secret, 'base64')));
  }

  get secret(): string {
    return Buffer.from(this.seed).toString('base64');
  }

  sign(message: string | Uint8Array): Buffer {
    return cryptoSign(null, typeof message === 'string' ? Buffer.from(message, 'utf8') : message, this.privateKey);
  }
}

// ---------------------------------------------------------------------------
// Signed requests.

export type RequestKind = 'order' | 'cancel' | 'transaction' | 'batch';
export type BodyValue = string | number | boolean;

export interface SignedRequest {
  readonly kind: RequestKind;
  readonly method: 'POST' | 'DELETE';
  readonly path: string;
  /** The JSON body as sent. */
  readonly body: string;
  /** The signing string: exactly the bytes (UTF-8) the signature covers and the log must hold. */
  readonly message: string;
  /** Base64 of the 64-byte signature. */
  readonly signature: string;
  /** Base64 of the signer's public key. */
  readonly publicKey: string;
  /** Backpack signature headers; empty for POST /api/v1/transactions. */
  readonly headers: Readonly<Record<string, string>>;
  /** Which trader signed it (-1 for the operator). */
  readonly trader: number;
  /** The clientId the request carries (orders) or targets (cancels). */
  readonly clientId?: number;
  /** Orders in a batch (POST /api/v1/orders); absent for a single request. */
  readonly elements?: number;
}

function checkPlainValue(key: string, text: string): void {
  // The server rebuilds raw, encodeURIComponent and qs forms; keeping values to
  // characters all three leave alone gives exactly one candidate.
  if (!/^[A-Za-z0-9._~-]*$/.test(text)) throw new Error(`value of ${key} (${text}) would need percent-encoding`);
}

/** A Backpack-signed request (Rust-client style: raw values, sorted keys). */
export function signedBackpackRequest(
  key: Ed25519Key,
  kind: RequestKind,
  method: 'POST' | 'DELETE',
  path: string,
  instruction: string,
  body: Readonly<Record<string, BodyValue>>,
  timestampMs: number,
  windowMs: number,
  trader: number,
): SignedRequest {
  const message = encodeSigningString([{ instruction, params: plainParams(body) }], timestampMs, windowMs);
  const clientId = typeof body.clientId === 'number' ? body.clientId : undefined;
  return {
    kind,
    method,
    path,
    body: JSON.stringify(body),
    ...signedParts(key, message, timestampMs, windowMs),
    trader,
    ...(clientId !== undefined ? { clientId } : {}),
  };
}

/** A body's values as the signing string's text (raw: every value must need no percent-encoding). */
function plainParams(body: Readonly<Record<string, BodyValue>>): Array<[string, string]> {
  return Object.entries(body).map(([name, value]) => {
    const text = typeof value === 'boolean' ? (value ? 'true' : 'false') : String(value);
    checkPlainValue(name, text);
    return [name, text];
  });
}

/** The signature of `message` and the Backpack headers that carry it. */
function signedParts(
  key: Ed25519Key,
  message: string,
  timestampMs: number,
  windowMs: number,
): Pick<SignedRequest, 'message' | 'signature' | 'publicKey' | 'headers'> {
  const signature = key.sign(message).toString('base64');
  return {
    message,
    signature,
    publicKey: key.apiKey,
    headers: {
      'X-API-Key': key.apiKey,
      'X-Signature': signature,
      'X-Timestamp': String(timestampMs),
      'X-Window': String(windowMs),
    },
  };
}

/**
 * A batch of orders for POST /api/v1/orders, signed as Backpack's clients
 * sign one: one orderExecute group per element, in the body's order.
 */
export function signedBatchRequest(
  key: Ed25519Key,
  orders: ReadonlyArray<Readonly<Record<string, BodyValue>>>,
  timestampMs: number,
  windowMs: number,
  trader: number,
): SignedRequest {
  const groups = orders.map((order) => ({ instruction: 'orderExecute', params: plainParams(order) }));
  const message = encodeSigningString(groups, timestampMs, windowMs);
  return {
    kind: 'batch',
    method: 'POST',
    path: '/api/v1/orders',
    body: JSON.stringify(orders),
    ...signedParts(key, message, timestampMs, windowMs),
    trader,
    elements: orders.length,
  };
}

/** An operator (or any) instruction for POST /api/v1/transactions, signed over raw values. */
export function signedTransactionRequest(
  key: Ed25519Key,
  instruction: string,
  params: Readonly<Record<string, string>>,
  timestampMs: number,
  windowMs = 60_000,
): SignedRequest {
  const message = encodeSigningString([{ instruction, params: Object.entries(params) }], timestampMs, windowMs);
  const signature = key.sign(message).toString('base64');
  return {
    kind: 'transaction',
    method: 'POST',
    path: '/api/v1/transactions',
    body: JSON.stringify({ message, publicKey: key.apiKey, signature }),
    message,
    signature,
    publicKey: key.apiKey,
    headers: {},
    trader: -1,
  };
}
