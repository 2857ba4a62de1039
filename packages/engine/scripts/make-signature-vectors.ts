/**
 * Writes packages/engine/src/signature-vectors.json, the pinned edge-case vectors of the
 * signature rule (see docs/signature.md).
 *
 * Run with: npx tsx packages/engine/scripts/make-signature-vectors.ts
 *
 * The script is deterministic: every key comes from a fixed seed, every search below
 * walks a fixed counter, and nothing depends on time or randomness, so running it twice
 * produces byte-identical output.
 *
 * Each vector carries an `expected` verdict written by hand from the rule. The script
 * also evaluates the rule with an independent reference implementation (bigint and the
 * point arithmetic of @noble/ed25519, no node:crypto, none of the byte tricks of
 * src/signature.ts) and refuses to write the file if the two disagree. The test suite
 * then checks the production implementation against the pinned verdicts.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ed25519 from '@noble/ed25519';
import {
  baseTimes,
  bytesOfHex,
  bytesOfText,
  challenge,
  concatenate,
  decodeLeniently,
  FIELD_PRIME,
  findCofactorlessSignature,
  GROUP_ORDER,
  hexOf,
  IDENTITY,
  keyMaterialFromLabel,
  littleEndianBytes,
  littleEndianInteger,
  multiplyByAnyScalar,
  negativeZeroEncoding,
  nonReducedEncoding,
  ORDER_EIGHT_POINT,
  ORDER_FOUR_POINT,
  ORDER_TWO_POINT,
  pointOrder,
  positiveModulo,
  referenceVerdict,
  signWithTorsionR,
  TORSION_POINTS,
  type Verdict,
} from '../test/signature-reference.js';

interface SignatureVector {
  name: string;
  description: string;
  publicKey: string;
  message: string;
  signature: string;
  expected: Verdict;
}

// ---------------------------------------------------------------------------------
// The vectors.
// ---------------------------------------------------------------------------------

const vectors: SignatureVector[] = [];

function add(vector: {
  name: string;
  description: string;
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  expected: Verdict;
}): void {
  const computed = referenceVerdict(vector.publicKey, vector.message, vector.signature);
  if (computed !== vector.expected) {
    throw new Error(`${vector.name}: hand-written verdict ${vector.expected}, reference rule says ${computed}`);
  }
  if (vectors.some((existing) => existing.name === vector.name)) throw new Error(`duplicate ${vector.name}`);
  vectors.push({
    name: vector.name,
    description: vector.description,
    publicKey: hexOf(vector.publicKey),
    message: hexOf(vector.message),
    signature: hexOf(vector.signature),
    expected: vector.expected,
  });
}

// The twelve cases of "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, SSR
// 2020), verbatim from cases.txt of github.com/novifinancial/ed25519-speccheck.
const SPECCHECK_CASES: {
  message: string;
  publicKey: string;
  signature: string;
  expected: Verdict;
  description: string;
}[] = [
  {
    message: '8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6',
    publicKey: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    signature:
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000',
    expected: 'small-order-key',
    description:
      'Speccheck case 0: S = 0, A and R of small order (order 8). The cofactorless equation holds (R = -[k]A), so only the small-order key check rejects it.',
  },
  {
    message: '9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79',
    publicKey: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    signature:
      'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04',
    expected: 'small-order-key',
    description:
      'Speccheck case 1: 0 < S < L, A of small order, R of mixed order. Both equations hold; rejected because A has small order.',
  },
  {
    message: 'aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab',
    publicKey: 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43',
    signature:
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e',
    expected: 'valid',
    description:
      'Speccheck case 2: 0 < S < L, A of mixed order, R of small order. Both equations hold. The rule rejects only small-order keys, not mixed-order keys, so this is valid.',
  },
  {
    message: '9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79',
    publicKey: 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d',
    signature:
      '9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009',
    expected: 'valid',
    description:
      'Speccheck case 3: 0 < S < L, A and R of mixed order; both the cofactored and the cofactorless equations hold. Valid.',
  },
  {
    message: 'e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c',
    publicKey: 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d',
    signature:
      '160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09',
    expected: 'invalid',
    description:
      'Speccheck case 4: 0 < S < L, A and R of mixed order; the cofactored equation holds but the cofactorless one does not. This is the vector that separates cofactored from cofactorless verifiers; the rule is cofactorless, so invalid.',
  },
  {
    message: 'e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c',
    publicKey: 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d',
    signature:
      '21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405',
    expected: 'invalid',
    description:
      'Speccheck case 5: 0 < S < L, A of mixed order, R of prime order. The cofactored equation holds, the cofactorless one fails; a cofactored verifier that "pre-reduces" 8k modulo L before multiplying A also fails it, because A has a torsion component. Invalid.',
  },
  {
    message: '85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40',
    publicKey: '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623',
    signature:
      'e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514',
    expected: 'non-canonical-s',
    description:
      'Speccheck case 6: S > L (top byte 0x14), prepared so that both equations hold when S is reduced modulo L. Rejected by the S < L check (malleability).',
  },
  {
    message: '85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40',
    publicKey: '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623',
    signature:
      '8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22',
    expected: 'non-canonical-s',
    description:
      'Speccheck case 7: S much larger than L (top byte 0x22), equations hold for S reduced modulo L. Rejected by the S < L check.',
  },
  {
    message: '9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41',
    publicKey: 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43',
    signature:
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f',
    expected: 'non-canonical-r',
    description:
      'Speccheck case 8: R = ecff..ff, the order-2 point (0, -1) encoded with the sign bit set ("negative zero"), a non-canonical encoding; A is a canonical mixed-order key. The equation holds only if k is hashed over the re-encoded (canonical) R. Rejected by the canonical-R check.',
  },
  {
    message: '9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41',
    publicKey: 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43',
    signature:
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908',
    expected: 'non-canonical-r',
    description:
      'Speccheck case 9: as case 8 with a different S; here the equation holds when k is hashed over the R bytes as given. Rejected by the canonical-R check.',
  },
  {
    message: 'e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b',
    publicKey: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    signature:
      'a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04',
    expected: 'non-canonical-key',
    description:
      'Speccheck case 10: A = ecff..ff, the negative-zero (non-canonical) encoding of the order-2 point; R has mixed order. The equation holds only if k is hashed over the re-encoded (canonical) A. Rejected by the canonical-key check, which comes before the small-order check.',
  },
  {
    message: '39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f',
    publicKey: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    signature:
      'a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04',
    expected: 'non-canonical-key',
    description:
      'Speccheck case 11: same non-canonical A as case 10, another message; here the equation holds when k is hashed over the A bytes as given. Rejected by the canonical-key check.',
  },
];

SPECCHECK_CASES.forEach((speccheckCase, index) => {
  add({
    name: `speccheck-${index}`,
    description: speccheckCase.description,
    publicKey: bytesOfHex(speccheckCase.publicKey),
    message: bytesOfHex(speccheckCase.message),
    signature: bytesOfHex(speccheckCase.signature),
    expected: speccheckCase.expected,
  });
});

// RFC 8032 section 7.1, TEST 1 to TEST 3. The script re-signs each one with noble from
// the RFC's secret key and checks that it reproduces the RFC's public key and signature.
const RFC8032_TESTS = [
  {
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

RFC8032_TESTS.forEach((test, index) => {
  const secretKey = bytesOfHex(test.secretKey);
  if (hexOf(ed25519.getPublicKey(secretKey)) !== test.publicKey) throw new Error(`RFC 8032 TEST ${index + 1}: key`);
  if (hexOf(ed25519.sign(bytesOfHex(test.message), secretKey)) !== test.signature) {
    throw new Error(`RFC 8032 TEST ${index + 1}: signature`);
  }
  add({
    name: `rfc8032-test-${index + 1}`,
    description: `RFC 8032 section 7.1 TEST ${index + 1} (message of ${test.message.length / 2} bytes). Valid.`,
    publicKey: bytesOfHex(test.publicKey),
    message: bytesOfHex(test.message),
    signature: bytesOfHex(test.signature),
    expected: 'valid',
  });
});

const RFC_KEY = bytesOfHex(RFC8032_TESTS[0]!.publicKey);
const RFC_MESSAGE = bytesOfHex(RFC8032_TESTS[0]!.message);
const RFC_SIGNATURE = bytesOfHex(RFC8032_TESTS[0]!.signature);
const RFC_R = RFC_SIGNATURE.subarray(0, 32);
const RFC_S = littleEndianInteger(RFC_SIGNATURE.subarray(32, 64));

function withBitFlipped(bytes: Uint8Array, byteIndex: number, bitIndex: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[byteIndex] = copy[byteIndex]! ^ (1 << bitIndex);
  return copy;
}

function withScalar(rBytes: Uint8Array, scalar: bigint): Uint8Array {
  return concatenate(rBytes, littleEndianBytes(scalar));
}

// Honest signatures that were tampered with.
add({
  name: 'wrong-message',
  description: 'RFC 8032 TEST 1 key and signature over the one-byte message 0x72 instead of the empty message.',
  publicKey: RFC_KEY,
  message: bytesOfHex('72'),
  signature: RFC_SIGNATURE,
  expected: 'invalid',
});
add({
  name: 'wrong-key',
  description: 'RFC 8032 TEST 1 message and signature checked against the public key of TEST 2.',
  publicKey: bytesOfHex(RFC8032_TESTS[1]!.publicKey),
  message: RFC_MESSAGE,
  signature: RFC_SIGNATURE,
  expected: 'invalid',
});
add({
  name: 'flipped-signature-bit-in-r',
  description: 'RFC 8032 TEST 1 with bit 0 of signature byte 0 flipped: R stays canonical but the equation fails.',
  publicKey: RFC_KEY,
  message: RFC_MESSAGE,
  signature: withBitFlipped(RFC_SIGNATURE, 0, 0),
  expected: 'invalid',
});
add({
  name: 'flipped-signature-bit-in-s',
  description: 'RFC 8032 TEST 1 with bit 0 of signature byte 32 flipped: S stays below L but the equation fails.',
  publicKey: RFC_KEY,
  message: RFC_MESSAGE,
  signature: withBitFlipped(RFC_SIGNATURE, 32, 0),
  expected: 'invalid',
});
add({
  name: 'flipped-public-key-bit',
  description:
    'RFC 8032 TEST 1 with bit 0 of public-key byte 0 flipped. The resulting y is canonical but x^2 = (y^2 - 1)/(d y^2 + 1) has no solution, so the key is not a curve point.',
  publicKey: withBitFlipped(RFC_KEY, 0, 0),
  message: RFC_MESSAGE,
  signature: RFC_SIGNATURE,
  expected: 'invalid-key',
});
add({
  name: 'flipped-public-key-bit-on-curve',
  description:
    'RFC 8032 TEST 1 with bit 1 of public-key byte 0 flipped. The resulting y is canonical and a curve point, of prime order, but a different key; the equation fails.',
  publicKey: withBitFlipped(RFC_KEY, 0, 1),
  message: RFC_MESSAGE,
  signature: RFC_SIGNATURE,
  expected: 'invalid',
});
add({
  name: 'flipped-public-key-sign-bit',
  description:
    'RFC 8032 TEST 1 with the sign bit of the public key flipped, which encodes -A, a valid curve point of prime order. The equation fails.',
  publicKey: withBitFlipped(RFC_KEY, 31, 7),
  message: RFC_MESSAGE,
  signature: RFC_SIGNATURE,
  expected: 'invalid',
});

// The scalar S.
add({
  name: 's-equal-to-group-order',
  description: 'RFC 8032 TEST 1 R with S = L exactly. S must be strictly below L.',
  publicKey: RFC_KEY,
  message: RFC_MESSAGE,
  signature: withScalar(RFC_R, GROUP_ORDER),
  expected: 'non-canonical-s',
});
add({
  name: 's-plus-group-order',
  description:
    'RFC 8032 TEST 1 with S replaced by S + L. The equation holds for S reduced modulo L, so a verifier without the S < L check would accept this second signature for the same message (malleability).',
  publicKey: RFC_KEY,
  message: RFC_MESSAGE,
  signature: withScalar(RFC_R, RFC_S + GROUP_ORDER),
  expected: 'non-canonical-s',
});
add({
  name: 's-group-order-minus-one',
  description: 'RFC 8032 TEST 1 R with S = L - 1, the largest canonical S. Passes the S check, fails the equation.',
  publicKey: RFC_KEY,
  message: RFC_MESSAGE,
  signature: withScalar(RFC_R, GROUP_ORDER - 1n),
  expected: 'invalid',
});
add({
  name: 's-all-ones',
  description: 'RFC 8032 TEST 1 R with S = 2^256 - 1 (all bits set).',
  publicKey: RFC_KEY,
  message: RFC_MESSAGE,
  signature: withScalar(RFC_R, 2n ** 256n - 1n),
  expected: 'non-canonical-s',
});

// Lengths.
add({
  name: 'public-key-31-bytes',
  description: 'RFC 8032 TEST 1 with the last byte of the public key removed.',
  publicKey: RFC_KEY.subarray(0, 31),
  message: RFC_MESSAGE,
  signature: RFC_SIGNATURE,
  expected: 'bad-length',
});
add({
  name: 'public-key-33-bytes',
  description: 'RFC 8032 TEST 1 with a zero byte appended to the public key.',
  publicKey: concatenate(RFC_KEY, new Uint8Array(1)),
  message: RFC_MESSAGE,
  signature: RFC_SIGNATURE,
  expected: 'bad-length',
});
add({
  name: 'signature-63-bytes',
  description: 'RFC 8032 TEST 1 with the last byte of the signature removed.',
  publicKey: RFC_KEY,
  message: RFC_MESSAGE,
  signature: RFC_SIGNATURE.subarray(0, 63),
  expected: 'bad-length',
});
add({
  name: 'signature-65-bytes',
  description: 'RFC 8032 TEST 1 with a zero byte appended to the signature.',
  publicKey: RFC_KEY,
  message: RFC_MESSAGE,
  signature: concatenate(RFC_SIGNATURE, new Uint8Array(1)),
  expected: 'bad-length',
});
add({
  name: 'empty-signature',
  description: 'RFC 8032 TEST 1 key and message with an empty signature.',
  publicKey: RFC_KEY,
  message: RFC_MESSAGE,
  signature: new Uint8Array(0),
  expected: 'bad-length',
});

// All eight small-order public keys, each with a signature that satisfies the
// cofactorless equation, so that only the small-order check stands between the key
// and acceptance.
TORSION_POINTS.forEach((torsion, index) => {
  const publicKey = torsion.toBytes();
  const label = `small-order-key-${index}`;
  const found = findCofactorlessSignature(label, publicKey, 0n, torsion, keyMaterialFromLabel(label).nonceScalar);
  add({
    name: label,
    description: `A = [${index}]T where T is a point of order 8 (A has order ${pointOrder(torsion)}), canonical encoding. R = [r]B + T' and S = r were found by a deterministic search over messages so that [S]B = R + [k]A holds cofactorless. Rejected only because A has small order.`,
    publicKey,
    message: found.message,
    signature: found.signature,
    expected: 'small-order-key',
  });
});

// Non-canonical public keys.
{
  const label = 'non-canonical-key-identity-y-plus-p';
  const publicKey = nonReducedEncoding(IDENTITY);
  const nonce = keyMaterialFromLabel(label).nonceScalar;
  const message = bytesOfText(label);
  add({
    name: label,
    description:
      'A encodes the identity with y = p + 1 (not reduced). R = [r]B, S = r, so the equation holds for the decoded point and any message. Rejected by the canonical-key check.',
    publicKey,
    message,
    signature: withScalar(baseTimes(nonce).toBytes(), nonce),
    expected: 'non-canonical-key',
  });
}
{
  const label = 'non-canonical-key-identity-negative-zero';
  const publicKey = negativeZeroEncoding(IDENTITY);
  const nonce = keyMaterialFromLabel(label).nonceScalar;
  add({
    name: label,
    description:
      'A encodes the identity (x = 0, y = 1) with the sign bit set. R = [r]B, S = r, so the equation holds for the decoded point. Rejected by the canonical-key check.',
    publicKey,
    message: bytesOfText(label),
    signature: withScalar(baseTimes(nonce).toBytes(), nonce),
    expected: 'non-canonical-key',
  });
}
{
  const label = 'non-canonical-key-order-four-y-plus-p';
  const publicKey = nonReducedEncoding(ORDER_FOUR_POINT);
  const found = findCofactorlessSignature(
    label,
    publicKey,
    0n,
    ORDER_FOUR_POINT,
    keyMaterialFromLabel(label).nonceScalar,
  );
  add({
    name: label,
    description:
      'A encodes a point of order 4 (y = 0) as y = p. R and S were found by a deterministic search so that the equation holds for the decoded point, with k hashed over the non-canonical bytes. Rejected by the canonical-key check.',
    publicKey,
    message: found.message,
    signature: found.signature,
    expected: 'non-canonical-key',
  });
}
{
  // y = 3 is a curve point (checked below), so y = p + 3 decodes leniently to it.
  const publicKey = littleEndianBytes(FIELD_PRIME + 3n);
  if (decodeLeniently(littleEndianBytes(3n)) === undefined) throw new Error('y = 3 should be on the curve');
  add({
    name: 'non-canonical-key-y-plus-p-on-curve',
    description:
      'A has y = p + 3, which a lenient decoder reduces to the curve point with y = 3 (a point whose discrete logarithm nobody knows, so no valid signature can be built). Rejected by the canonical-key check before any decoding.',
    publicKey,
    message: RFC_MESSAGE,
    signature: RFC_SIGNATURE,
    expected: 'non-canonical-key',
  });
}
{
  const publicKey = littleEndianBytes(FIELD_PRIME + 2n);
  if (decodeLeniently(littleEndianBytes(2n)) !== undefined) throw new Error('y = 2 should not be on the curve');
  add({
    name: 'non-canonical-key-y-plus-p-off-curve',
    description:
      'A has y = p + 2, which is not canonical, and y = 2 is not on the curve either. The canonical-key check comes first, so the verdict is non-canonical-key, not invalid-key.',
    publicKey,
    message: RFC_MESSAGE,
    signature: RFC_SIGNATURE,
    expected: 'non-canonical-key',
  });
}
{
  add({
    name: 'non-canonical-key-all-ones',
    description: 'A = ff..ff: y = 2^255 - 1 >= p with the sign bit set.',
    publicKey: bytesOfHex('ff'.repeat(32)),
    message: RFC_MESSAGE,
    signature: RFC_SIGNATURE,
    expected: 'non-canonical-key',
  });
}

// A canonical key that is not a curve point.
{
  add({
    name: 'invalid-key-off-curve',
    description: 'A = 02 00..00 (y = 2, canonical), which is not on the curve.',
    publicKey: littleEndianBytes(2n),
    message: RFC_MESSAGE,
    signature: RFC_SIGNATURE,
    expected: 'invalid-key',
  });
}

// Small-order R with an honest, prime-order key.
const HONEST_KEY = keyMaterialFromLabel('honest-key');
{
  const message = bytesOfText('small-order-r-identity');
  add({
    name: 'small-order-r-identity',
    description:
      'A is an honest key [a]B; R is the identity (01 00..00, canonical) and S = k a mod L. Then [S]B = [k]A = R + [k]A, so the cofactorless equation holds: valid. (A nonce of r = 0 mod L produces exactly this signature.)',
    publicKey: HONEST_KEY.publicKey,
    message,
    signature: signWithTorsionR(HONEST_KEY, IDENTITY.toBytes(), message),
    expected: 'valid',
  });
}
{
  const message = bytesOfText('small-order-r-order-two');
  add({
    name: 'small-order-r-order-two',
    description:
      'A is an honest key; R is the order-2 point (0, -1) and S = k a mod L. [S]B = R + [k]A would need R to be the identity, so the cofactorless equation fails; the cofactored equation ([8]R is the identity) holds. Invalid under this rule.',
    publicKey: HONEST_KEY.publicKey,
    message,
    signature: signWithTorsionR(HONEST_KEY, ORDER_TWO_POINT.toBytes(), message),
    expected: 'invalid',
  });
}
{
  const message = bytesOfText('small-order-r-order-eight');
  add({
    name: 'small-order-r-order-eight',
    description:
      'A is an honest key; R is a point of order 8 and S = k a mod L. The cofactored equation holds, the cofactorless one does not. Invalid under this rule.',
    publicKey: HONEST_KEY.publicKey,
    message,
    signature: signWithTorsionR(HONEST_KEY, ORDER_EIGHT_POINT.toBytes(), message),
    expected: 'invalid',
  });
}

// Non-canonical R with an honest key, built so the equation holds for the decoded R.
{
  const message = bytesOfText('non-canonical-r-identity-y-plus-p');
  add({
    name: 'non-canonical-r-identity-y-plus-p',
    description:
      'A is an honest key; R encodes the identity as y = p + 1 and S = k a mod L with k hashed over those bytes. The equation holds for the decoded R. Rejected by the canonical-R check.',
    publicKey: HONEST_KEY.publicKey,
    message,
    signature: signWithTorsionR(HONEST_KEY, nonReducedEncoding(IDENTITY), message),
    expected: 'non-canonical-r',
  });
}
{
  const message = bytesOfText('non-canonical-r-identity-negative-zero');
  add({
    name: 'non-canonical-r-identity-negative-zero',
    description:
      'A is an honest key; R encodes the identity with the sign bit set (01 00..00 80) and S = k a mod L. The equation holds for the decoded R. Rejected by the canonical-R check.',
    publicKey: HONEST_KEY.publicKey,
    message,
    signature: signWithTorsionR(HONEST_KEY, negativeZeroEncoding(IDENTITY), message),
    expected: 'non-canonical-r',
  });
}
{
  const message = bytesOfText('r-off-curve');
  add({
    name: 'r-off-curve',
    description:
      'A is an honest key; R = 02 00..00 (canonical, but y = 2 is not on the curve), S = 1. The rule does not decode R separately: no curve point has this encoding, so the equation cannot hold. Invalid.',
    publicKey: HONEST_KEY.publicKey,
    message,
    signature: withScalar(littleEndianBytes(2n), 1n),
    expected: 'invalid',
  });
}

// Mixed-order keys A = [a]B + T with T of order 8 and a known.
{
  const label = 'mixed-order-key-cofactorless-valid';
  const key = keyMaterialFromLabel(label);
  const publicKey = key.point.add(ORDER_EIGHT_POINT).toBytes();
  const found = findCofactorlessSignature(label, publicKey, key.secretScalar, ORDER_EIGHT_POINT, key.nonceScalar);
  add({
    name: label,
    description:
      'A = [a]B + T8 (mixed order). R = [r]B + T and S = r + k a mod L, with the message found by a deterministic search so that T + [k]T8 is the identity; the cofactorless equation then holds. Valid: mixed-order keys are not rejected, matching speccheck case 2.',
    publicKey,
    message: found.message,
    signature: found.signature,
    expected: 'valid',
  });
}
{
  const label = 'mixed-order-key-cofactored-only';
  const key = keyMaterialFromLabel(label);
  const publicKey = key.point.add(ORDER_EIGHT_POINT).toBytes();
  const rBytes = baseTimes(key.nonceScalar).toBytes();
  let chosen: { message: Uint8Array; signature: Uint8Array } | undefined;
  for (let counter = 0; chosen === undefined; counter++) {
    const message = bytesOfText(`${label} #${counter}`);
    const k = challenge(rBytes, publicKey, message);
    // [k]T8 is the identity only when k is a multiple of 8; skip those to get a vector
    // on which the two equations disagree.
    if (k % 8n === 0n) continue;
    chosen = {
      message,
      signature: withScalar(rBytes, positiveModulo(key.nonceScalar + k * key.secretScalar, GROUP_ORDER)),
    };
  }
  add({
    name: label,
    description:
      'A = [a]B + T8 (mixed order), R = [r]B and S = r + k a mod L with k not a multiple of 8, as an ordinary signer that ignores the torsion component would produce. R + [k]A - [S]B = [k]T8 is not the identity, so the cofactorless equation fails; the cofactored one holds. Invalid.',
    publicKey,
    message: chosen.message,
    signature: chosen.signature,
    expected: 'invalid',
  });
}

// The order of the checks, pinned with inputs that fail more than one of them.
{
  add({
    name: 'order-s-checked-before-key',
    description: 'S = L (non-canonical) together with the small-order identity key: the S check comes first.',
    publicKey: IDENTITY.toBytes(),
    message: RFC_MESSAGE,
    signature: withScalar(RFC_R, GROUP_ORDER),
    expected: 'non-canonical-s',
  });
  add({
    name: 'order-canonical-key-checked-before-r',
    description: 'Non-canonical A (y = p + 1) together with a non-canonical R (y = p + 1): the key is checked first.',
    publicKey: nonReducedEncoding(IDENTITY),
    message: RFC_MESSAGE,
    signature: withScalar(nonReducedEncoding(IDENTITY), 1n),
    expected: 'non-canonical-key',
  });
  add({
    name: 'order-key-decoding-checked-before-r',
    description: 'A off the curve (y = 2) together with a non-canonical R: decoding the key comes before the R check.',
    publicKey: littleEndianBytes(2n),
    message: RFC_MESSAGE,
    signature: withScalar(nonReducedEncoding(IDENTITY), 1n),
    expected: 'invalid-key',
  });
  add({
    name: 'order-small-order-key-checked-before-r',
    description:
      'Small-order A (order 8) together with a non-canonical R: the small-order check comes before the R check.',
    publicKey: ORDER_EIGHT_POINT.toBytes(),
    message: RFC_MESSAGE,
    signature: withScalar(nonReducedEncoding(IDENTITY), 1n),
    expected: 'small-order-key',
  });
}

// Signatures of this project.
{
  const seed = new Uint8Array(32).fill(0x07);
  const message = bytesOfText('instruction=balanceQuery&timestamp=1795250315693&window=5000');
  const signature = Uint8Array.from(
    Buffer.from('8q+9kt0KfdLn9bIGDtHAMczUpZzWjwBttboDvW57FxapHFbBwztLMgW/zWude8gdpBUC0yw3jfKwjwCYeb9yAA==', 'base64'),
  );
  const publicKey = ed25519.getPublicKey(seed);
  if (Buffer.from(publicKey).toString('base64') !== '6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=') {
    throw new Error('project test key mismatch');
  }
  add({
    name: 'project-test-key-ccxt-balance-query',
    description:
      'The project test key (seed = 32 bytes of 0x07) and a balance-query request recorded from ccxt. Valid; noble re-signing the message from the seed reproduces the signature byte for byte.',
    publicKey,
    message,
    signature,
    expected: 'valid',
  });
}

/**
 * For review only: whether each vector's equation holds when R and A are decoded
 * leniently (non-canonical encodings accepted) and k is hashed over the bytes as given,
 * cofactorless and cofactored. It is printed, not stored, so that the descriptions above
 * can be checked against arithmetic rather than taken on trust.
 */
function equationsForReview(vector: SignatureVector): string {
  const publicKey = bytesOfHex(vector.publicKey);
  const signature = bytesOfHex(vector.signature);
  if (publicKey.length !== 32 || signature.length !== 64) return 'n/a';
  const keyPoint = decodeLeniently(publicKey);
  const rPoint = decodeLeniently(signature.subarray(0, 32));
  if (keyPoint === undefined || rPoint === undefined) return 'A or R does not decode';
  const k = challenge(signature.subarray(0, 32), publicKey, bytesOfHex(vector.message));
  const difference = baseTimes(littleEndianInteger(signature.subarray(32, 64))).subtract(
    rPoint.add(multiplyByAnyScalar(keyPoint, k)),
  );
  const cofactorless = difference.is0();
  const cofactored = multiplyByAnyScalar(difference, 8n).is0();
  return `cofactorless ${cofactorless ? 'holds' : 'fails'}, cofactored ${cofactored ? 'holds' : 'fails'}`;
}

for (const vector of vectors) {
  console.log(`${vector.name.padEnd(44)} ${vector.expected.padEnd(18)} ${equationsForReview(vector)}`);
}

const outputPath = fileURLToPath(new URL('../src/signature-vectors.json', import.meta.url));
writeFileSync(outputPath, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${vectors.length} vectors to ${outputPath}`);
