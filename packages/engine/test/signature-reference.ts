/**
 * An independent reference implementation of the signature rule (docs/signature.md),
 * written as directly from the definitions as possible: bigint and the point arithmetic
 * of @noble/ed25519, no node:crypto, no libsodium, none of the byte tricks of
 * src/signature.ts. It is "noble with the rule": the vector script checks every
 * hand-written verdict against it, and the agreement tests compare it with the
 * production verifier on both of its equation back ends (libsodium and node:crypto).
 *
 * Also here: the curve helpers the vector script and the agreement tests build
 * adversarial inputs with (torsion points, mixed-order keys, chosen R encodings).
 */
import * as ed25519 from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed25519.hashes.sha512 = sha512;

export type Verdict =
  | 'valid'
  | 'bad-length'
  | 'non-canonical-s'
  | 'non-canonical-key'
  | 'invalid-key'
  | 'small-order-key'
  | 'non-canonical-r'
  | 'invalid';

export const { Point } = ed25519;
export type CurvePoint = InstanceType<typeof Point>;

export const FIELD_PRIME = 2n ** 255n - 19n;
export const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
export const SIGN_BIT = 2n ** 255n;

// ---------------------------------------------------------------------------------
// Small helpers over bytes and integers.
// ---------------------------------------------------------------------------------

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function bytesOfHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function bytesOfText(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function littleEndianInteger(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let index = bytes.length - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[index]!);
  return value;
}

export function littleEndianBytes(value: bigint, lengthBytes = 32): Uint8Array {
  const bytes = new Uint8Array(lengthBytes);
  let remaining = value;
  for (let index = 0; index < lengthBytes; index++) {
    bytes[index] = Number(remaining & 0xffn);
    remaining >>= 8n;
  }
  if (remaining !== 0n) throw new Error('value does not fit');
  return bytes;
}

export function concatenate(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

export function positiveModulo(value: bigint, modulus: bigint): bigint {
  const remainder = value % modulus;
  return remainder < 0n ? remainder + modulus : remainder;
}

/** k = SHA-512(R || A || M) mod L, over the exact bytes given. */
export function challenge(rBytes: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return positiveModulo(littleEndianInteger(sha512(concatenate(rBytes, publicKey, message))), GROUP_ORDER);
}

/**
 * Multiplies a point by any non-negative integer. noble's multiply insists on scalars
 * below L, which is right for prime-order points but not for points with a torsion
 * component, where reducing the scalar modulo L changes the result.
 */
export function multiplyByAnyScalar(point: CurvePoint, scalar: bigint): CurvePoint {
  let result = Point.ZERO;
  let addend = point;
  for (let remaining = scalar; remaining > 0n; remaining >>= 1n) {
    if ((remaining & 1n) === 1n) result = result.add(addend);
    addend = addend.double();
  }
  return result;
}

/** [S]B for any S (including 0 and S >= L; B has order L, so reduction is exact). */
export function baseTimes(scalar: bigint): CurvePoint {
  const reduced = positiveModulo(scalar, GROUP_ORDER);
  return reduced === 0n ? Point.ZERO : Point.BASE.multiply(reduced, false);
}

/** Decodes without any canonicality requirement (ZIP-215 decoding), or returns undefined. */
export function decodeLeniently(bytes: Uint8Array): CurvePoint | undefined {
  try {
    return Point.fromBytes(bytes, true);
  } catch {
    return undefined;
  }
}

/** The encoding of a point with y replaced by y + p, which is < 2^255 only for y < 19. */
export function nonReducedEncoding(point: CurvePoint): Uint8Array {
  const { x, y } = point.toAffine();
  if (y + FIELD_PRIME >= SIGN_BIT) throw new Error('no non-reduced encoding exists');
  return littleEndianBytes(y + FIELD_PRIME + ((x & 1n) === 1n ? SIGN_BIT : 0n));
}

/** The encoding of a point with x = 0 but the sign bit set ("negative zero"). */
export function negativeZeroEncoding(point: CurvePoint): Uint8Array {
  const { x, y } = point.toAffine();
  if (x !== 0n) throw new Error('negative zero needs x = 0');
  return littleEndianBytes(y + SIGN_BIT);
}

// ---------------------------------------------------------------------------------
// The reference implementation of the rule (docs/signature.md), written as directly
// from the definitions as possible, with no attention to speed.
// ---------------------------------------------------------------------------------

export function isCanonicalEncoding(bytes: Uint8Array): boolean {
  const encoded = littleEndianInteger(bytes);
  const y = encoded % SIGN_BIT;
  const signBitIsSet = encoded >= SIGN_BIT;
  if (y >= FIELD_PRIME) return false;
  const point = decodeLeniently(bytes);
  // An encoding that does not decode has no x, so it cannot be a negative zero.
  if (point !== undefined && signBitIsSet && point.toAffine().x === 0n) return false;
  return true;
}

export function referenceVerdict(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Verdict {
  if (publicKey.length !== 32 || signature.length !== 64) return 'bad-length';
  const rBytes = signature.subarray(0, 32);
  const scalar = littleEndianInteger(signature.subarray(32, 64));
  if (scalar >= GROUP_ORDER) return 'non-canonical-s';
  if (!isCanonicalEncoding(publicKey)) return 'non-canonical-key';
  const keyPoint = decodeLeniently(publicKey);
  if (keyPoint === undefined) return 'invalid-key';
  if (multiplyByAnyScalar(keyPoint, 8n).is0()) return 'small-order-key';
  if (!isCanonicalEncoding(rBytes)) return 'non-canonical-r';
  const rPoint = decodeLeniently(rBytes);
  // A canonical R that is not a curve point can never equal [S]B - [k]A.
  if (rPoint === undefined) return 'invalid';
  const k = challenge(rBytes, publicKey, message);
  return baseTimes(scalar).equals(rPoint.add(multiplyByAnyScalar(keyPoint, k))) ? 'valid' : 'invalid';
}

// ---------------------------------------------------------------------------------
// Fixed material the vectors are built from.
// ---------------------------------------------------------------------------------

/** A deterministic 32-byte seed: SHA-512 of a label, first 32 bytes. */
export function seedFromLabel(label: string): Uint8Array {
  return sha512(bytesOfText(`signature-vectors/${label}`)).subarray(0, 32);
}

export interface KeyMaterial {
  secretScalar: bigint;
  nonceScalar: bigint;
  publicKey: Uint8Array;
  point: CurvePoint;
}

export function keyMaterialFromLabel(label: string): KeyMaterial {
  const seed = seedFromLabel(label);
  const extended = ed25519.utils.getExtendedPublicKey(seed);
  const nonceScalar = positiveModulo(littleEndianInteger(sha512(bytesOfText(`nonce/${label}`))), GROUP_ORDER);
  return { secretScalar: extended.scalar, nonceScalar, publicKey: extended.pointBytes, point: extended.point };
}

/**
 * The torsion subgroup, derived from first principles: [L]P for a curve point P kills
 * the prime-order component and leaves the torsion component; the first such component
 * of order 8 generates all eight small-order points.
 */
export function findOrderEightPoint(): CurvePoint {
  for (let y = 2n; y < 1000n; y++) {
    const candidate = decodeLeniently(littleEndianBytes(y));
    if (candidate === undefined) continue;
    const torsionComponent = multiplyByAnyScalar(candidate, GROUP_ORDER);
    if (!multiplyByAnyScalar(torsionComponent, 4n).is0()) return torsionComponent;
  }
  throw new Error('no point of order 8 found');
}

export const ORDER_EIGHT_POINT = findOrderEightPoint();
export const TORSION_POINTS: CurvePoint[] = Array.from({ length: 8 }, (_, index) =>
  multiplyByAnyScalar(ORDER_EIGHT_POINT, BigInt(index)),
);

export function pointOrder(point: CurvePoint): number {
  for (const order of [1, 2, 4, 8]) if (multiplyByAnyScalar(point, BigInt(order)).is0()) return order;
  return 0;
}

export const IDENTITY = Point.ZERO;
export const ORDER_TWO_POINT = TORSION_POINTS.find((point) => pointOrder(point) === 2)!;
export const ORDER_FOUR_POINT = TORSION_POINTS.find(
  (point) => pointOrder(point) === 4 && (point.toAffine().x & 1n) === 0n,
)!;

/**
 * Searches, over message counters, for a message M and a torsion point T such that with
 * R = [r]B + T the cofactorless equation [r + k a]B = R + [k]A holds, where A = [a]B + U
 * for a torsion point U. That requires T + [k]U = identity, which holds for about one
 * candidate in (order of U); since k depends on R and M, this is a search, not a formula.
 */
export function findCofactorlessSignature(
  label: string,
  publicKey: Uint8Array,
  secretScalar: bigint,
  keyTorsion: CurvePoint,
  nonceScalar: bigint,
): { message: Uint8Array; signature: Uint8Array } {
  for (let counter = 0; counter < 10_000; counter++) {
    const message = bytesOfText(`${label} #${counter}`);
    for (const torsion of TORSION_POINTS) {
      const rPoint = baseTimes(nonceScalar).add(torsion);
      const rBytes = rPoint.toBytes();
      const k = challenge(rBytes, publicKey, message);
      if (!torsion.add(multiplyByAnyScalar(keyTorsion, k)).is0()) continue;
      const scalar = positiveModulo(nonceScalar + k * secretScalar, GROUP_ORDER);
      return { message, signature: concatenate(rBytes, littleEndianBytes(scalar)) };
    }
  }
  throw new Error(`no cofactorless signature found for ${label}`);
}

/**
 * Signs with a chosen R encoding whose point is a torsion point T and S = k a mod L,
 * where k is computed over the exact R bytes given. The equation [S]B = R + [k]A then
 * reads [k a]B = T + [k a]B, which holds exactly when T is the identity.
 */
export function signWithTorsionR(key: KeyMaterial, rBytes: Uint8Array, message: Uint8Array): Uint8Array {
  const k = challenge(rBytes, key.publicKey, message);
  return concatenate(rBytes, littleEndianBytes(positiveModulo(k * key.secretScalar, GROUP_ORDER)));
}
