/**
 * The signature worker's task: verifies a packed batch of signed transactions
 * with the engine's one signature rule and returns one verdict per
 * transaction, in order. Runs in a worker thread of SignaturePool, never on
 * the sequencing thread: each message is one packed task (the packing is
 * defined in signature-pool.ts), each reply its verdicts, in the order the
 * tasks came.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { verifySignature, type SignatureVerdict } from '@vex/engine';

/** The workerData key SignaturePool sets, so that the module serves tasks only in the threads it started. */
export const signatureWorkerMarker = 'vexSignatureWorker';

/** A worker's reply to one task: its verdicts, or why it could not give them. */
export type SignatureWorkerReply = SignatureVerdict[] | { readonly failed: string };

export default function verifyPackedTransactions(packed: Uint8Array): SignatureVerdict[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const count = view.getUint32(0);
  const verdicts: SignatureVerdict[] = new Array(count);
  let offset = 4;
  for (let index = 0; index < count; index += 1) {
    const publicKeyLength = view.getUint32(offset);
    const signatureLength = view.getUint32(offset + 4);
    const messageLength = view.getUint32(offset + 8);
    offset += 12;
    const publicKey = packed.subarray(offset, offset + publicKeyLength);
    offset += publicKeyLength;
    const signature = packed.subarray(offset, offset + signatureLength);
    offset += signatureLength;
    const message = packed.subarray(offset, offset + messageLength);
    offset += messageLength;
    verdicts[index] = verifySignature(publicKey, message, signature);
  }
  return verdicts;
}

// In a thread SignaturePool started (not merely any worker thread that imports this module, such as a test
// runner's): answer each task in turn.
const port = parentPort;
if (port !== null && (workerData as Record<string, unknown> | null)?.[signatureWorkerMarker] === true) {
  port.on('message', (packed: Uint8Array) => {
    let reply: SignatureWorkerReply;
    try {
      reply = verifyPackedTransactions(packed);
    } catch (error) {
      reply = { failed: error instanceof Error ? error.message : String(error) };
    }
    port.postMessage(reply);
  });
}
