/**
 * The operator's signatures on the sequencer's thread (attestations), made
 * with node:crypto (OpenSSL) rather than @noble/ed25519: about a fiftieth of
 * the CPU time, which an attestation at a million accounts notices
 * (docs/benchmarks.md, "Attestations"). Ed25519 signing is deterministic
 * (RFC 8032), so the signature and the public key are byte for byte those
 * of signMessage and publicKeyFromSeed (signature.ts); a test holds them equal.
 *
 * The node signs with one seed for its whole life, so the last seed's key
 * objects are kept (a copy of the seed is compared, never the caller's array).
 */
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';

/** PKCS #8 DER of an Ed25519 private key up to its 32-byte seed (RFC 8410). */
const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
/** SPKI DER of an Ed25519 public key is this many bytes before the 32-byte key (RFC 8410). */
const spkiEd25519PrefixLength = 12;
const seedLengthBytes = 32;

interface SeedKeys {
  readonly seed: Uint8Array;
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
}
let lastKeys: SeedKeys | undefined;

function keysOf(seed: Uint8Array): SeedKeys {
  if (lastKeys !== undefined && Buffer.compare(lastKeys.seed, seed) === 0) return lastKeys;
  if (seed.length !== seedLengthBytes) throw new RangeError(`an Ed25519 seed is 32 bytes, not ${seed.length}`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([pkcs8Ed25519Prefix, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spkiEd25519PrefixLength));
  lastKeys = { seed: Uint8Array.from(seed), privateKey, publicKey };
  return lastKeys;
}

/** signMessage(seed, message) (signature.ts), computed by node:crypto: the 64-byte signature R ‖ S. */
export function signWithOperatorSeed(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, keysOf(seed).privateKey));
}

/** publicKeyFromSeed(seed) (signature.ts), computed by node:crypto: the 32-byte public key (a copy). */
export function publicKeyOfOperatorSeed(seed: Uint8Array): Uint8Array {
  return keysOf(seed).publicKey.slice();
}
