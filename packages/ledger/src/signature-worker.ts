/**
 * The signature worker's task: verifies a packed batch of signed transactions
 * with the engine's one signature rule and returns one verdict per
 * transaction, in order. Runs in a piscina worker thread, never on the
 * sequencing thread. The packing is defined in signature-pool.ts.
 */
import type { SignatureVerdict } from '@vex/engine';
import { verifyPackedTransactions as verifyEach } from './signature-packing.js';

export default function verifyPackedTransactions(packed: Uint8Array): SignatureVerdict[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const count = view.getUint32(0);
  const verdicts: SignatureVerdict[] = new Array(count);
  // The task's buffer was transferred to this thread: its parts are read in place.
  verifyEach(view, packed, 4, count, false, (index, verdict) => {
    verdicts[index] = verdict;
  });
  return verdicts;
}
