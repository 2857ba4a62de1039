/**
 * The packed form of signed transactions that both signature hand-offs use (a ring's slot, signature-ring.ts, and
 * piscina's transferable task, signature-pool.ts): per transaction publicKeyLength u32, signatureLength u32,
 * messageLength u32, publicKey, signature, message, all big-endian. One writer and one reader, so that the two
 * hand-offs cannot drift apart.
 */
import { type SignatureVerdict, type SignedTransaction, verifySignature } from '@vex/engine';

/** The bytes writeTransactions takes for these transactions. */
export function packedTransactionBytes(requests: readonly { readonly transaction: SignedTransaction }[]): number {
  let length = 0;
  for (const { transaction } of requests)
    length += 12 + transaction.publicKey.length + transaction.signature.length + transaction.message.length;
  return length;
}

/**
 * Writes each transaction as publicKeyLength u32, signatureLength u32, messageLength u32, publicKey, signature,
 * message (big-endian) from `offset` of `view`'s buffer (`bytes` is the same buffer); returns the end offset. The
 * packing of both hand-offs: a ring's slot, and piscina's transferable task (signature-pool.ts).
 */
export function writeTransactions(
  view: DataView,
  bytes: Uint8Array,
  offset: number,
  requests: readonly { readonly transaction: SignedTransaction }[],
): number {
  let at = offset;
  for (const { transaction } of requests) {
    const { publicKey, signature, message } = transaction;
    view.setUint32(at, publicKey.length);
    view.setUint32(at + 4, signature.length);
    view.setUint32(at + 8, message.length);
    at += 12;
    bytes.set(publicKey, at);
    at += publicKey.length;
    bytes.set(signature, at);
    at += signature.length;
    bytes.set(message, at);
    at += message.length;
  }
  return at;
}

/**
 * Verifies `count` transactions written by writeTransactions from `offset` with the engine's one rule, in order,
 * handing each verdict to `record`. `copy`: each part is copied out first (shared memory that another thread
 * writes: the rule reads plain byte arrays only), else read in place (a buffer this thread owns).
 */
export function verifyPackedTransactions(
  view: DataView,
  bytes: Uint8Array,
  offset: number,
  count: number,
  copy: boolean,
  record: (index: number, verdict: SignatureVerdict) => void,
): void {
  let at = offset;
  for (let index = 0; index < count; index += 1) {
    const publicKeyLength = view.getUint32(at);
    const signatureLength = view.getUint32(at + 4);
    const messageLength = view.getUint32(at + 8);
    at += 12;
    const publicKeyEnd = at + publicKeyLength;
    const signatureEnd = publicKeyEnd + signatureLength;
    const messageEnd = signatureEnd + messageLength;
    const publicKey = copy ? bytes.slice(at, publicKeyEnd) : bytes.subarray(at, publicKeyEnd);
    const signature = copy ? bytes.slice(publicKeyEnd, signatureEnd) : bytes.subarray(publicKeyEnd, signatureEnd);
    const message = copy ? bytes.slice(signatureEnd, messageEnd) : bytes.subarray(signatureEnd, messageEnd);
    at = messageEnd;
    record(index, verifySignature(publicKey, message, signature));
  }
}
