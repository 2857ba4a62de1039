/**
 * The signature thread of a SignatureRing (signature-ring.ts): verifies each published task with the engine's
 * one signature rule, in order, writing a verdict byte per transaction into its slot. Blocks in Atomics.wait
 * while nothing is published; returns (and the thread exits) when `stop` is set.
 */
import { workerData } from 'node:worker_threads';
import { signatureVerdicts } from '@vex/engine';
import { verifyPackedTransactions } from './signature-packing.js';
import { busyMsOffset, maximumSlotTransactions, ringControl, slotOffset, type RingLayout } from './signature-ring.js';

const verdictIndex = new Map<string, number>(signatureVerdicts.map((verdict, index) => [verdict, index]));

export function serveRing(layout: RingLayout): void {
  const control = new Int32Array(layout.shared, 0, 4);
  const bytes = new Uint8Array(layout.shared);
  const view = new DataView(layout.shared);
  const busyMs = new Float64Array(layout.shared, busyMsOffset, 1);
  // Wrapping int32 task numbers, compared for equality only (signature-ring.ts); the first is the ring's.
  let done = Atomics.load(control, ringControl.completed);
  let slot = 0;
  for (;;) {
    const published = Atomics.load(control, ringControl.published);
    if (published === done) {
      if (Atomics.load(control, ringControl.stop) !== 0) return;
      Atomics.wait(control, ringControl.published, done);
      continue;
    }
    const busyFromMs = performance.now();
    while (done !== published) {
      const start = slotOffset(layout, slot);
      const count = view.getUint32(start);
      // Copies: the engine's rule reads plain byte arrays, never the shared memory the other thread writes.
      verifyPackedTransactions(view, bytes, start + 4 + maximumSlotTransactions, count, true, (index, verdict) => {
        bytes[start + 4 + index] = verdictIndex.get(verdict)!;
      });
      done = (done + 1) | 0;
      slot = (slot + 1) % layout.slotCount;
      Atomics.store(control, ringControl.completed, done);
      Atomics.notify(control, ringControl.completed);
    }
    busyMs[0] = busyMs[0]! + (performance.now() - busyFromMs);
  }
}

serveRing(workerData as RingLayout);
