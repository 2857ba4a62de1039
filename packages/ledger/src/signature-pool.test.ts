import { afterEach, describe, expect, test } from 'vitest';
import type { SignedTransaction } from '@vex/engine';
import { fixture } from '../test/helpers.js';
import { SignaturePool } from './signature-pool.js';

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
  const pool = new SignaturePool(1, inlineMaximum);
  pools.push(pool);
  return pool;
}

describe('SignaturePool: small flushes on the calling thread, larger ones in the workers', () => {
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
