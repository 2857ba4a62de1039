/**
 * The signature worker's task: verifies a packed batch of signed transactions
 * with the engine's one signature rule and returns one verdict per
 * transaction, in order. Runs in a piscina worker thread, never on the
 * sequencing thread. The packing is defined in signature-pool.ts.
 */
import { verifySignature, type SignatureVerdict } from '@vex/engine';

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
