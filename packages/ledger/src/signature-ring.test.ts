import { afterEach, expect, test } from 'vitest';
import { type SignatureVerdict, type SignedTransaction, verifySignature } from '@vex/engine';
import { fixture } from '../test/helpers.js';
import { type RingRequest, SignatureRing } from './signature-ring.js';

const { entries } = fixture(5, 8);
const transactions = entries.map((entry) => entry.transaction);
const workerUrl = new URL('./signature-ring-worker.mjs', import.meta.url).href;

const rings: SignatureRing[] = [];
afterEach(async () => {
  for (const ring of rings.splice(0)) await ring.close();
});

/** Runs one task of `batch` on the ring; its verdicts in order. */
function runTask(ring: SignatureRing, batch: readonly SignedTransaction[]): Promise<SignatureVerdict[]> {
  const requests: RingRequest[] = [];
  const verdicts = batch.map(
    (transaction) =>
      new Promise<SignatureVerdict>((resolve, reject) => {
        requests.push({ transaction, resolve, reject });
      }),
  );
  ring.run(requests);
  return Promise.all(verdicts);
}

function forged(transaction: SignedTransaction): SignedTransaction {
  const signature = Uint8Array.from(transaction.signature);
  signature[0]! ^= 1;
  return { ...transaction, signature };
}

test('the task counters wrap past 2^31 with a slot count that does not divide 2^32', async () => {
  // Three tasks before the int32 counters wrap; 3 slots, so tasks also wait for free slots across the wrap.
  const ring = new SignatureRing(workerUrl, 3, 1 << 16, 2 ** 31 - 3);
  rings.push(ring);
  const batches = Array.from({ length: 12 }, (_, index) =>
    transactions
      .slice(index % 4, (index % 4) + 3)
      .map((transaction, position) => ((index + position) % 2 === 0 ? transaction : forged(transaction))),
  );
  // All in one turn (more than the slots: the backlog), then one after another (each alone in the ring).
  const together = await Promise.all(batches.map((batch) => runTask(ring, batch)));
  const oneByOne: SignatureVerdict[][] = [];
  for (const batch of batches) oneByOne.push(await runTask(ring, batch));
  const expected = batches.map((batch) =>
    batch.map((transaction) => verifySignature(transaction.publicKey, transaction.message, transaction.signature)),
  );
  expect(expected.flat()).toContain('invalid');
  expect(expected.flat()).toContain('valid');
  expect(together).toEqual(expected);
  expect(oneByOne).toEqual(expected);
  expect(ring.pendingTasks).toBe(0);
  // A counter compared with `<` across the wrap stalls the thread: the test then times out rather than passes.
}, 30_000);
