/**
 * A batch of signed messages packed into four flat buffers, so that
 * thousands of signatures cross to a worker thread as four transferable
 * ArrayBuffers instead of thousands of small objects, and the verdicts come
 * back as one byte per signature.
 *
 * Log entries always carry a 32-byte key and a 64-byte signature (the entry
 * encoding has fixed fields for them), so the batch has fixed-width slots for
 * both; only messages vary in length.
 */
import {
  messageDigest,
  signatureVerdicts,
  verifySignature,
  verifySignatureWithNodeCrypto,
  type SignatureVerdict,
} from '@vex/engine';

/** Verdict codes: the byte a worker returns for a signature is the index of its verdict here. */
export const verdictNames: readonly SignatureVerdict[] = signatureVerdicts;
export const validVerdictCode = 0;
const verdictCodes = new Map<SignatureVerdict, number>(verdictNames.map((name, index) => [name, index]));

export function verdictName(code: number): SignatureVerdict {
  const name = verdictNames[code];
  if (name === undefined) throw new RangeError(`unknown verdict code ${code}`);
  return name;
}

const publicKeyBytes = 32;
const signatureBytes = 64;

export interface SignatureBatch {
  readonly count: number;
  /** count × 32 bytes. */
  readonly publicKeys: Uint8Array;
  /** count × 64 bytes. */
  readonly signatures: Uint8Array;
  /** Item i's message is messageBytes[messageOffsets[i] … messageOffsets[i + 1]). */
  readonly messageBytes: Uint8Array;
  /** count + 1 offsets. */
  readonly messageOffsets: Uint32Array;
}

/** The buffers to list as transferable when a batch is posted to another thread. */
export function signatureBatchBuffers(batch: SignatureBatch): ArrayBuffer[] {
  // messageOffsets always holds count + 1 entries, so an empty buffer means it was
  // transferred already. Posting a detached buffer again makes no error: the message is
  // simply never delivered, and the caller would wait forever for its verdicts.
  if (batch.messageOffsets.buffer.byteLength === 0) {
    throw new RangeError(
      'this batch was already sent to a worker, which now owns its buffers; a batch can be sent once',
    );
  }
  return [batch.publicKeys, batch.signatures, batch.messageBytes, batch.messageOffsets].map(
    (array) => array.buffer as ArrayBuffer,
  );
}

/**
 * Collects signed messages into fresh buffers, one builder per batch: the
 * finished batch owns its buffers, so they can be transferred without a copy.
 */
export class SignatureBatchBuilder {
  private readonly publicKeys: Uint8Array;
  private readonly signatures: Uint8Array;
  private readonly messageOffsets: Uint32Array;
  private messageBytes: Uint8Array;
  private messageLength = 0;
  private itemCount = 0;

  constructor(
    readonly capacity: number,
    expectedMessageBytes = 256,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`a batch holds at least one item, got ${capacity}`);
    this.publicKeys = new Uint8Array(capacity * publicKeyBytes);
    this.signatures = new Uint8Array(capacity * signatureBytes);
    this.messageOffsets = new Uint32Array(capacity + 1);
    this.messageBytes = new Uint8Array(capacity * expectedMessageBytes);
  }

  get count(): number {
    return this.itemCount;
  }

  get isFull(): boolean {
    return this.itemCount === this.capacity;
  }

  add(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): void {
    if (this.itemCount === this.capacity) throw new RangeError('the batch is full');
    if (publicKey.length !== publicKeyBytes)
      throw new RangeError(`a public key is ${publicKeyBytes} bytes, got ${publicKey.length}`);
    if (signature.length !== signatureBytes)
      throw new RangeError(`a signature is ${signatureBytes} bytes, got ${signature.length}`);
    const index = this.itemCount;
    this.publicKeys.set(publicKey, index * publicKeyBytes);
    this.signatures.set(signature, index * signatureBytes);
    const end = this.messageLength + message.length;
    if (end > this.messageBytes.length) {
      const grown = new Uint8Array(Math.max(end, this.messageBytes.length * 2));
      grown.set(this.messageBytes.subarray(0, this.messageLength));
      this.messageBytes = grown;
    }
    this.messageBytes.set(message, this.messageLength);
    this.messageLength = end;
    this.itemCount = index + 1;
    this.messageOffsets[index + 1] = end;
  }

  /**
   * The batch. Buffers are trimmed only when the batch is not full (the last
   * batch of a log), so the common case copies nothing; message bytes are
   * trimmed when more than a quarter of them would be sent for nothing.
   */
  finish(): SignatureBatch {
    const count = this.itemCount;
    const full = count === this.capacity;
    const messageBytes =
      this.messageLength * 4 < this.messageBytes.length * 3
        ? this.messageBytes.slice(0, this.messageLength)
        : this.messageBytes;
    return {
      count,
      publicKeys: full ? this.publicKeys : this.publicKeys.slice(0, count * publicKeyBytes),
      signatures: full ? this.signatures : this.signatures.slice(0, count * signatureBytes),
      messageBytes,
      messageOffsets: full ? this.messageOffsets : this.messageOffsets.slice(0, count + 1),
    };
  }
}

/**
 * Which library evaluates the rule's equation: `fastest` is the engine's choice
 * (libsodium where it loads), `node:crypto` forces OpenSSL. Both give the same
 * verdict on every input (docs/signature.md); the choice exists so that a
 * benchmark can measure one against the other, and a cautious verifier can
 * re-check a log with the other library.
 */
export type SignatureEquation = 'fastest' | 'node:crypto';

/**
 * Each item's replay-protection digest (the engine's messageDigest: SHA-256 of
 * public key ‖ message, one latin1 character per byte), concatenated: item i's
 * is characters 32i … 32i + 31. The signature workers compute them beside the
 * verdicts, so the replay's main thread does not hash each entry again.
 */
export function batchMessageDigests(batch: SignatureBatch): string {
  const { count, publicKeys, messageBytes, messageOffsets } = batch;
  const digests: string[] = new Array(count);
  for (let index = 0; index < count; index += 1) {
    digests[index] = messageDigest(
      publicKeys.subarray(index * publicKeyBytes, (index + 1) * publicKeyBytes),
      messageBytes.subarray(messageOffsets[index]!, messageOffsets[index + 1]!),
    );
  }
  return digests.join('');
}

/** Verifies every item of a batch on the calling thread under the engine's rule; one verdict code per item. */
export function verifySignatureBatch(batch: SignatureBatch, equation: SignatureEquation = 'fastest'): Uint8Array {
  const verify = equation === 'node:crypto' ? verifySignatureWithNodeCrypto : verifySignature;
  const { count, publicKeys, signatures, messageBytes, messageOffsets } = batch;
  if (
    publicKeys.length !== count * publicKeyBytes ||
    signatures.length !== count * signatureBytes ||
    messageOffsets.length !== count + 1
  ) {
    throw new RangeError('the batch buffers do not match its count');
  }
  const verdicts = new Uint8Array(count);
  for (let index = 0; index < count; index += 1) {
    const verdict = verify(
      publicKeys.subarray(index * publicKeyBytes, (index + 1) * publicKeyBytes),
      messageBytes.subarray(messageOffsets[index]!, messageOffsets[index + 1]!),
      signatures.subarray(index * signatureBytes, (index + 1) * signatureBytes),
    );
    verdicts[index] = verdictCodes.get(verdict)!;
  }
  return verdicts;
}
