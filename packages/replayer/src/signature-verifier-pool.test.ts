import { messageDigest, publicKeyFromSeed, signMessage, verifySignature } from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignatureBatchBuilder, verdictName, verifySignatureBatch } from './signature-batch.js';
import { SignatureVerifierPool } from './signature-verifier-pool.js';

const seed = new Uint8Array(32).fill(9);
const publicKey = publicKeyFromSeed(seed);

function signedItems(count: number): Array<{ message: Uint8Array; signature: Uint8Array }> {
  return Array.from({ length: count }, (_, index) => {
    const message = new TextEncoder().encode(
      `instruction=balanceQuery&timestamp=${1_750_000_000_000 + index}&window=5000`,
    );
    return { message, signature: signMessage(seed, message) };
  });
}

/** Items 3, 17 and 40 are spoiled in three different ways, so their verdicts must differ from 'valid' and from each other. */
function batchWithBadItems(count: number): { builder: SignatureBatchBuilder; expected: string[] } {
  const builder = new SignatureBatchBuilder(count, 8);
  const expected: string[] = [];
  signedItems(count).forEach(({ message, signature }, index) => {
    const spoiled = signature.slice();
    if (index === 3) spoiled[0]! ^= 1;
    if (index === 17) spoiled.fill(0xff, 32);
    const spoiledMessage = index === 40 ? message.subarray(1) : message;
    builder.add(publicKey, spoiled, spoiledMessage);
    expected.push(verifySignature(publicKey, spoiledMessage, spoiled));
  });
  return { builder, expected };
}

describe('SignatureBatchBuilder and verifySignatureBatch', () => {
  it('gives each item the verdict verifySignature gives it, in order, growing the message buffer as needed', () => {
    const { builder, expected } = batchWithBadItems(50);
    const verdicts = [...verifySignatureBatch(builder.finish())].map(verdictName);
    expect(verdicts).toEqual(expected);
    expect(verdicts.filter((verdict) => verdict !== 'valid')).toEqual(['invalid', 'non-canonical-s', 'invalid']);
  });

  it('refuses keys and signatures of the wrong length and items beyond its capacity', () => {
    const builder = new SignatureBatchBuilder(1);
    expect(() => builder.add(publicKey.subarray(1), new Uint8Array(64), new Uint8Array(0))).toThrow(/32 bytes/);
    expect(() => builder.add(publicKey, new Uint8Array(63), new Uint8Array(0))).toThrow(/64 bytes/);
    builder.add(publicKey, new Uint8Array(64), new Uint8Array(0));
    expect(() => builder.add(publicKey, new Uint8Array(64), new Uint8Array(0))).toThrow(/full/);
  });
});

describe('SignatureVerifierPool', () => {
  let pool: SignatureVerifierPool;
  beforeAll(async () => {
    pool = await SignatureVerifierPool.start(2);
  });
  afterAll(async () => {
    await pool.close();
  });

  it('returns the verdicts of many batches in flight at once, each in its batch order', async () => {
    const batches = Array.from({ length: 6 }, () => batchWithBadItems(60));
    const results = await Promise.all(batches.map(({ builder }) => pool.verify(builder.finish())));
    results.forEach((result, index) => expect([...result.verdicts].map(verdictName)).toEqual(batches[index]!.expected));
  });

  it("answers verify with each item's message digest, exactly the engine's messageDigest, in batch order", async () => {
    const items = signedItems(70);
    const builder = new SignatureBatchBuilder(70, 8);
    // Two keys, so that a digest of the wrong key or of a neighbour's message cannot pass.
    const keys = [publicKey, publicKeyFromSeed(new Uint8Array(32).fill(4))];
    items.forEach(({ message, signature }, index) => builder.add(keys[index % 2]!, signature, message));
    const { digests } = await pool.verify(builder.finish());
    const expected = items.map(({ message }, index) => messageDigest(keys[index % 2]!, message)).join('');
    expect(digests).toBe(expected);
    expect(new Set(items.map((_, index) => digests!.substring(index * 32, index * 32 + 32))).size).toBe(70);
  });

  it('refuses to send a batch a second time instead of waiting forever for its verdicts', async () => {
    const batch = batchWithBadItems(5).builder.finish();
    await pool.verify(batch);
    await expect(pool.verify(batch)).rejects.toThrow(/already sent/);
    // The pool still serves other batches afterwards.
    const { builder, expected } = batchWithBadItems(45);
    expect([...(await pool.verify(builder.finish())).verdicts].map(verdictName)).toEqual(expected);
  });

  it('verifies preloaded batches on request', async () => {
    const { builder, expected } = batchWithBadItems(45);
    const preloaded = await pool.preload(builder.finish(), 1);
    const result = await pool.verifyPreloaded(preloaded);
    pool.drop(preloaded);
    expect([...result.verdicts].map(verdictName)).toEqual(expected);
    // The verification limit's runs time verification alone: no digests.
    expect(result.digests).toBeUndefined();
  });
});

describe('SignatureVerifierPool with the equation forced to node:crypto', () => {
  it('gives the same verdicts as the default (libsodium) pool', async () => {
    const nodeCryptoPool = await SignatureVerifierPool.start(1, 'node:crypto');
    const fastestPool = await SignatureVerifierPool.start(1);
    try {
      // A batch's buffers move into the worker that verifies it, so each pool gets its own copy.
      const { builder, expected } = batchWithBadItems(40);
      expect([...verifySignatureBatch(builder.finish(), 'node:crypto')].map(verdictName)).toEqual(expected);
      const viaNodeCrypto = await nodeCryptoPool.verify(batchWithBadItems(40).builder.finish());
      const viaFastest = await fastestPool.verify(batchWithBadItems(40).builder.finish());
      expect([...viaNodeCrypto.verdicts].map(verdictName)).toEqual(expected);
      expect([...viaFastest.verdicts].map(verdictName)).toEqual(expected);
    } finally {
      await Promise.all([nodeCryptoPool.close(), fastestPool.close()]);
    }
  });
});
