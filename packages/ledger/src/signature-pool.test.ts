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

describe('SignaturePool: its worker threads', () => {
  /** The pool's threads, to stop one from outside as a crash would. */
  function threadsOf(pool: SignaturePool): Array<{ readonly worker: { terminate(): Promise<number> } }> {
    return (pool as unknown as { workers: Array<{ readonly worker: { terminate(): Promise<number> } }> }).workers;
  }

  test('a thread that exits is replaced, and the next flush is verified by the new one', async () => {
    const pool = poolOf(0);
    expect(await pool.verify(transactions[9]!)).toBe('valid');
    const before = threadsOf(pool)[0]!;
    await before.worker.terminate();
    // The exit event replaces the thread; wait for it rather than for a fixed time.
    while (threadsOf(pool)[0] === before) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await pool.verify(forged(transactions[10]!))).toBe('invalid');
    expect(await pool.verify(transactions[10]!)).toBe('valid');
  });

  test('tasks in flight when a thread exits are rejected, not left waiting', async () => {
    const pool = poolOf(0);
    expect(await pool.verify(transactions[0]!)).toBe('valid');
    // Enough signatures (two tasks, tens of ms) that the thread is still busy when it is stopped.
    const answers = pool.verifyAll(
      Array.from({ length: 600 }, (_, index) => transactions[index % transactions.length]!),
    );
    // The flush runs on the next turn of the event loop; stop the thread right after it was sent its tasks.
    await new Promise((resolve) => setImmediate(resolve));
    await threadsOf(pool)[0]!.worker.terminate();
    await expect(answers).rejects.toThrow(/signature worker exited/);
  });

  test('close() answers every check already asked for, then stops the threads', async () => {
    const pool = new SignaturePool(2, 0);
    const answers = pool.verifyAll(transactions.slice(0, 12));
    await pool.close();
    expect(await answers).toEqual(transactions.slice(0, 12).map(() => 'valid'));
    await expect(pool.verify(transactions[0]!)).rejects.toThrow(/closed/);
    expect(pool.usage().utilization).toBeGreaterThan(0);
  });
});
