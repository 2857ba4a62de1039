/** Byte-level helpers for keys and signatures: bit flips, S + L malleation, non-canonical keys. */
import type { SeededRandom } from './seeded-random.js';

const base64Of = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const bytesOf = (base64: string): Uint8Array => new Uint8Array(Buffer.from(base64, 'base64'));

export function flipBit(base64: string, random: SeededRandom): string {
  const bytes = bytesOf(base64);
  bytes[random.below(bytes.length)]! ^= 1 << random.below(8);
  return base64Of(bytes);
}

const groupOrder = 2n ** 252n + 27742317777372353535851937790883648493n;
/** S + L: the same signature with a non-canonical S. */
export function malleated(signatureBase64: string): string {
  const bytes = bytesOf(signatureBase64);
  let scalar = 0n;
  for (let index = 63; index >= 32; index -= 1) scalar = (scalar << 8n) | BigInt(bytes[index]!);
  scalar += groupOrder;
  for (let index = 32; index < 64; index += 1) {
    bytes[index] = Number(scalar & 0xffn);
    scalar >>= 8n;
  }
  return base64Of(bytes);
}

/** The same 32 bytes with non-zero padding bits in the last base64 character: not canonical. */
export function nonCanonicalKey(apiKey: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const last = apiKey[42]!;
  return `${apiKey.slice(0, 42)}${alphabet[alphabet.indexOf(last) + 1]}=`;
}

export const attestationTag = 'vex/attestation/v1\u0000\n';
