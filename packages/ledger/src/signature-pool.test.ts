import { afterEach, describe, expect, test } from 'vitest';
import { verifySignature, type SignedTransaction } from '@vex/engine';
import { fixture } from '../test/helpers.js';
import { defaultSignatureHandoff, SignaturePool } from './signature-pool.js';

const { entries } = fixture(7, 12);
const transactions = entries.map((entry) => entry.transaction);

/** The transaction with its signature's last byte flipped: the rule refuses it. */
function forged(transaction: SignedTransaction): SignedTransaction {
  const signature = Uint8Array.from(transaction.signature);
  signature[signature.length - 1]! ^= 1;
  return { ...transaction, signature };
}

const pools: SignaturePool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

function poolOf(inlineMaximum: number): SignaturePool {
  const pool = new SignaturePool(1, inlineMaximum, 'messages');
  pools.push(pool);
  return pool;
}

describe('SignaturePool (piscina): small flushes on the calling thread, larger ones in the workers', () => {
  test('a flush of at most the inline maximum is verified here, with the same verdicts', async () => {
    const pool = poolOf(2);
    expect(await pool.verify(transactions[0]!)).toBe('valid');
    expect(await pool.verifyAll([transactions[1]!, forged(transactions[2]!)])).toEqual(['valid', 'invalid']);
    expect(pool.verifiedInline).toEqual({ inline: 3, inWorkers: 0 });
  });

  test('a larger flush goes to the workers, verdicts in request order', async () => {
    const pool = poolOf(2);
    const batch = [transactions[3]!, forged(transactions[4]!), transactions[5]!, forged(transactions[6]!)];
    expect(await pool.verifyAll(batch)).toEqual(['valid', 'invalid', 'valid', 'invalid']);
    expect(pool.verifiedInline).toEqual({ inline: 0, inWorkers: 4 });
  });

  test('an inline maximum of 0 sends every signature to the workers', async () => {
    const pool = poolOf(0);
    expect(await pool.verify(forged(transactions[7]!))).toBe('invalid');
    expect(await pool.verify(transactions[8]!)).toBe('valid');
    expect(pool.verifiedInline).toEqual({ inline: 0, inWorkers: 2 });
  });

  test('a negative or fractional inline maximum is refused', () => {
    expect(() => new SignaturePool(1, -1)).toThrow(RangeError);
    expect(() => new SignaturePool(1, 1.5)).toThrow(RangeError);
  });
});

describe("SignaturePool with the shared-memory hand-off ('ring')", () => {
  function ringPool(threads = 1): SignaturePool {
    const pool = new SignaturePool(threads, 0, 'ring');
    pools.push(pool);
    return pool;
  }

  test('gives the same verdicts as the engine, in request order', async () => {
    const pool = ringPool();
    const batch = transactions.map((transaction, index) => (index % 3 === 1 ? forged(transaction) : transaction));
    const expected = batch.map((transaction) =>
      verifySignature(transaction.publicKey, transaction.message, transaction.signature),
    );
    expect(expected).toContain('invalid');
    expect(await pool.verifyAll(batch)).toEqual(expected);
    expect(pool.verifiedInline).toEqual({ inline: 0, inWorkers: batch.length });
  });

  test('more tasks than slots wait for free slots; a task too large for a slot is split', async () => {
    const pool = ringPool(2);
    // 40 flushes in one turn each become tasks: more than the 8 slots of each thread.
    const many = await Promise.all(
      Array.from({ length: 40 }, (_, index) => pool.verifyAll(transactions.slice(index % 6, (index % 6) + 6))),
    );
    for (const [index, verdicts] of many.entries())
      expect(verdicts).toEqual(transactions.slice(index % 6, (index % 6) + 6).map(() => 'valid'));
    // 64 messages of 16 KiB (about 1 MiB) do not fit a 256 KiB slot; their signatures do not cover them.
    const long = transactions
      .slice(0, 4)
      .flatMap((transaction) =>
        Array.from({ length: 16 }, () => ({ ...transaction, message: new Uint8Array(16_384).fill(7) })),
      );
    expect(await pool.verifyAll(long)).toEqual(long.map(() => 'invalid'));
    expect(await pool.verify(transactions[0]!)).toBe('valid');
  });

  test('a lone transaction too large for a slot is verified here; one not made of bytes is refused', async () => {
    const pool = ringPool();
    const huge = { ...transactions[2]!, message: new Uint8Array(300_000).fill(1) };
    expect(await pool.verifyAll([huge])).toEqual([verifySignature(huge.publicKey, huge.message, huge.signature)]);
    const broken = { ...transactions[3]!, publicKey: undefined } as unknown as SignedTransaction;
    await expect(pool.verifyAll([broken, transactions[4]!])).rejects.toThrow(TypeError);
    expect(await pool.verify(transactions[5]!)).toBe('valid');
  });

  test('a closed pool refuses new requests', async () => {
    const pool = ringPool();
    expect(await pool.verify(transactions[1]!)).toBe('valid');
    await pool.close();
    await expect(pool.verify(transactions[1]!)).rejects.toThrow('closed');
  });
});

test('SIGNATURE_HANDOFF: ring by default, messages when asked, anything else refused', () => {
  const saved = process.env.SIGNATURE_HANDOFF;
  try {
    delete process.env.SIGNATURE_HANDOFF;
    expect(defaultSignatureHandoff()).toBe('ring');
    process.env.SIGNATURE_HANDOFF = 'messages';
    expect(defaultSignatureHandoff()).toBe('messages');
    process.env.SIGNATURE_HANDOFF = 'Messages';
    expect(() => defaultSignatureHandoff()).toThrow('SIGNATURE_HANDOFF must be ring or messages, not Messages');
  } finally {
    if (saved === undefined) delete process.env.SIGNATURE_HANDOFF;
    else process.env.SIGNATURE_HANDOFF = saved;
  }
});
