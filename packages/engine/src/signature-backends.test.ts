/**
 * One rule, three implementations: the production verifier with libsodium evaluating
 * the equation, the same verifier with node:crypto evaluating it, and the reference
 * implementation written from the definitions with noble's point arithmetic
 * (test/signature-reference.ts). They must give the same verdict on every pinned
 * vector and on a large seeded set of random and adversarial inputs, so that a
 * verifier running either back end, or a browser running noble with the rule, can
 * never accept what the sequencer refused, or the reverse (docs/signature.md).
 *
 * SIGNATURE_AGREEMENT_CASES sets the size of the random set (default 2,000; the
 * set is a pure function of its index, so any failing case reproduces by number).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  baseTimes,
  challenge,
  concatenate,
  GROUP_ORDER,
  keyMaterialFromLabel,
  littleEndianBytes,
  littleEndianInteger,
  positiveModulo,
  referenceVerdict,
  signWithTorsionR,
  TORSION_POINTS,
} from '../test/signature-reference.js';
import { signatureEquationBackend, verifySignature, verifySignatureWithNodeCrypto } from './signature.js';

interface Vector {
  readonly name: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
  readonly expected: string;
}
const vectors: Vector[] = JSON.parse(readFileSync(new URL('./signature-vectors.json', import.meta.url), 'utf8'));
const bytesOf = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
};

/** libsodium on its own, without the rule's byte checks in front of it. */
function rawLibsodiumAccepts(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  return sodium.crypto_sign_verify_detached(signature, message, publicKey);
}

/** Deterministic bytes for case `index`, stream `label`. */
function bytesFor(index: number, label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0, block = 0; offset < length; block++) {
    const chunk = sha512(new TextEncoder().encode(`agreement/${index}/${label}/${block}`));
    out.set(chunk.subarray(0, Math.min(64, length - offset)), offset);
    offset += 64;
  }
  return out;
}

interface AgreementCase {
  readonly kind: string;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** R = [r]B and S = r + k·a for any key point (a mixed-order key included). */
function signWithNonce(
  publicKey: Uint8Array,
  secretScalar: bigint,
  nonceScalar: bigint,
  message: Uint8Array,
): Uint8Array {
  const rBytes = baseTimes(nonceScalar).toBytes();
  const k = challenge(rBytes, publicKey, message);
  return concatenate(rBytes, littleEndianBytes(positiveModulo(nonceScalar + k * secretScalar, GROUP_ORDER)));
}

const caseKinds = [
  'honest',
  'flipped-signature-bit',
  'flipped-key-bit',
  'flipped-message-bit',
  's-plus-group-order',
  'random-s',
  'small-order-r',
  'random-r',
  'mixed-order-key',
  'random-key',
] as const;

/** Case `index` of the random and adversarial set: a pure function of the index. */
function agreementCase(index: number): AgreementCase {
  const kind = caseKinds[index % caseKinds.length]!;
  const key = keyMaterialFromLabel(`agreement-${index}`);
  const message = bytesFor(index, 'message', 1 + (bytesFor(index, 'length', 1)[0]! % 96));
  const honest = signWithNonce(key.publicKey, key.secretScalar, key.nonceScalar, message);
  const pick = bytesFor(index, 'pick', 4);
  const flip = (bytes: Uint8Array): Uint8Array => {
    const copy = Uint8Array.from(bytes);
    const bit = ((pick[0]! << 8) | pick[1]!) % (copy.length * 8);
    copy[bit >> 3]! ^= 1 << (bit & 7);
    return copy;
  };
  switch (kind) {
    case 'honest':
      return { kind, publicKey: key.publicKey, message, signature: honest };
    case 'flipped-signature-bit':
      return { kind, publicKey: key.publicKey, message, signature: flip(honest) };
    case 'flipped-key-bit':
      return { kind, publicKey: flip(key.publicKey), message, signature: honest };
    case 'flipped-message-bit':
      return { kind, publicKey: key.publicKey, message: flip(message), signature: honest };
    case 's-plus-group-order': {
      const scalar = littleEndianInteger(honest.subarray(32)) + GROUP_ORDER;
      if (scalar >= 2n ** 256n) return { kind, publicKey: key.publicKey, message, signature: honest };
      return {
        kind,
        publicKey: key.publicKey,
        message,
        signature: concatenate(honest.subarray(0, 32), littleEndianBytes(scalar)),
      };
    }
    case 'random-s':
      return {
        kind,
        publicKey: key.publicKey,
        message,
        signature: concatenate(honest.subarray(0, 32), bytesFor(index, 's', 32)),
      };
    case 'small-order-r': {
      // Every torsion point as R with S = k·a: valid under the rule exactly for the identity.
      const torsion = TORSION_POINTS[pick[2]! % 8]!;
      return { kind, publicKey: key.publicKey, message, signature: signWithTorsionR(key, torsion.toBytes(), message) };
    }
    case 'random-r':
      return {
        kind,
        publicKey: key.publicKey,
        message,
        signature: concatenate(bytesFor(index, 'r', 32), honest.subarray(32)),
      };
    case 'mixed-order-key': {
      // A = [a]B + T: valid under the cofactorless equation exactly when [k]T is the identity.
      const torsion = TORSION_POINTS[1 + (pick[2]! % 7)]!;
      const mixedKey = key.point.add(torsion).toBytes();
      const signature = signWithNonce(mixedKey, key.secretScalar, key.nonceScalar, message);
      return { kind, publicKey: mixedKey, message, signature };
    }
    case 'random-key':
      return { kind, publicKey: bytesFor(index, 'key', 32), message, signature: honest };
  }
}

const agreementCaseCount = Number(process.env.SIGNATURE_AGREEMENT_CASES ?? '2000');

describe('equation back ends', () => {
  it('libsodium loads here, so the hot paths use it', () => {
    expect(signatureEquationBackend).toBe('libsodium');
  });

  it('every pinned vector gets its verdict from libsodium-with-the-rule, node:crypto-with-the-rule and noble-with-the-rule', () => {
    for (const vector of vectors) {
      const [publicKey, message, signature] = [
        bytesOf(vector.publicKey),
        bytesOf(vector.message),
        bytesOf(vector.signature),
      ];
      expect([vector.name, verifySignature(publicKey, message, signature)]).toEqual([vector.name, vector.expected]);
      expect([vector.name, verifySignatureWithNodeCrypto(publicKey, message, signature)]).toEqual([
        vector.name,
        vector.expected,
      ]);
      expect([vector.name, referenceVerdict(publicKey, message, signature)]).toEqual([vector.name, vector.expected]);
    }
  });

  it('pins where raw libsodium differs from the rule: it refuses every small-order R', () => {
    const differing = vectors
      .filter((vector) => {
        const accepted = rawLibsodiumAccepts(
          bytesOf(vector.publicKey),
          bytesOf(vector.message),
          bytesOf(vector.signature),
        );
        return accepted !== (vector.expected === 'valid');
      })
      .map(
        (vector) =>
          `${vector.name}: rule ${vector.expected}, libsodium ${vector.expected === 'valid' ? 'refuses' : 'accepts'}`,
      );
    expect(differing).toEqual([
      'speccheck-2: rule valid, libsodium refuses',
      'small-order-r-identity: rule valid, libsodium refuses',
    ]);
  });

  it(`the three agree on ${agreementCaseCount} seeded random and adversarial cases`, () => {
    const verdictsByKind = new Map<string, Map<string, number>>();
    for (let index = 0; index < agreementCaseCount; index++) {
      const { kind, publicKey, message, signature } = agreementCase(index);
      const expected = referenceVerdict(publicKey, message, signature);
      const libsodiumVerdict = verifySignature(publicKey, message, signature);
      const nodeCryptoVerdict = verifySignatureWithNodeCrypto(publicKey, message, signature);
      if (libsodiumVerdict !== expected || nodeCryptoVerdict !== expected) {
        expect.fail(
          `case ${index} (${kind}): noble ${expected}, libsodium ${libsodiumVerdict}, node:crypto ${nodeCryptoVerdict}`,
        );
      }
      const counts = verdictsByKind.get(kind) ?? new Map<string, number>();
      counts.set(expected, (counts.get(expected) ?? 0) + 1);
      verdictsByKind.set(kind, counts);
    }
    // The set must exercise both outcomes where the rule is subtle, or it proves little.
    const count = (kind: string, verdict: string): number => verdictsByKind.get(kind)?.get(verdict) ?? 0;
    expect(count('honest', 'valid')).toBeGreaterThan(0);
    expect(count('small-order-r', 'valid')).toBeGreaterThan(0);
    expect(count('small-order-r', 'invalid')).toBeGreaterThan(0);
    expect(count('mixed-order-key', 'valid')).toBeGreaterThan(0);
    expect(count('mixed-order-key', 'invalid')).toBeGreaterThan(0);
    expect(count('s-plus-group-order', 'non-canonical-s')).toBeGreaterThan(0);
  });
});
