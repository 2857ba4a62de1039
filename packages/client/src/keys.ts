/**
 * Keys in Backpack's text format.
 *
 *   secret    = base64 of the 32-byte ed25519 seed (what Backpack calls the API secret)
 *   publicKey = base64 of the 32-byte ed25519 public key (the API key, and the account id)
 *
 * Both are standard base64 with padding; the public key's text is exactly the
 * exchange's account id for that key.
 */
import { decodeBase64, encodeBase64 } from './base64.js';
import { publicKeyOfSeed, publicKeyLengthBytes, seedLengthBytes } from './ed25519.js';
import { ClientInputError } from './errors.js';

export interface KeyPair {
  /** Base64 of the 32-byte secret seed. Keep it secret. */
  readonly secret: string;
  /** Base64 of the 32-byte public key: the API key and the account id. */
  readonly publicKey: string;
}

/** A new random key pair, from the platform's cryptographic random source. */
export function generateKeyPair(): KeyPair {
  const seed = new Uint8Array(seedLengthBytes);
  globalThis.crypto.getRandomValues(seed);
  return keyPairFromSeed(seed);
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== seedLengthBytes)
    throw new ClientInputError(`A secret seed is ${seedLengthBytes} bytes, not ${seed.length}.`);
  return { secret: encodeBase64(seed), publicKey: encodeBase64(publicKeyOfSeed(seed)) };
}

/** The 32-byte seed of a base64 secret; throws ClientInputError when it is not one. */
export function decodeSecret(secret: string): Uint8Array {
  let seed: Uint8Array;
  try {
    seed = decodeBase64(secret);
  } catch {
    throw new ClientInputError('The secret is not valid base64.');
  }
  if (seed.length !== seedLengthBytes)
    throw new ClientInputError(`The secret must be base64 of ${seedLengthBytes} bytes, not ${seed.length}.`);
  return seed;
}

/** The key pair of a base64 secret. */
export function keyPairFromSecret(secret: string): KeyPair {
  return keyPairFromSeed(decodeSecret(secret));
}

/** The base64 public key (API key) of a base64 secret. */
export function publicKeyFromSecret(secret: string): string {
  return keyPairFromSecret(secret).publicKey;
}

/** Whether `text` is the canonical base64 of a 32-byte public key, i.e. a well-formed account id. */
export function isPublicKeyText(text: string): boolean {
  try {
    return decodeBase64(text).length === publicKeyLengthBytes;
  } catch {
    return false;
  }
}
