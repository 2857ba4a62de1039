/**
 * Ed25519 through @noble/ed25519, configured for synchronous use.
 *
 * noble v3 ships without a hash function; its synchronous API (sign,
 * getPublicKey) needs `hashes.sha512`, which @noble/hashes provides. Both are
 * pure JavaScript, so this works in browsers, Node, Deno and workers. Ed25519
 * signing is deterministic: the same seed and message give the same signature
 * as any other RFC 8032 implementation (the exchange verifies with OpenSSL).
 */
import * as ed25519 from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed25519.hashes.sha512 = sha512;

export const seedLengthBytes = 32;
export const publicKeyLengthBytes = 32;
export const signatureLengthBytes = 64;

/** The 32-byte public key of a 32-byte secret seed. */
export function publicKeyOfSeed(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

/** The 64-byte signature R || S of `message` under a 32-byte secret seed. */
export function signBytes(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}
