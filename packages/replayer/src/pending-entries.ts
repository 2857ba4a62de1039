/**
 * The entries of one signature batch while its verdicts are out, kept as
 * numbers and buffer references instead of the reader's entry objects.
 *
 * The replay keeps several batches out (thousands of entries) so that every
 * worker always has work queued. Held as objects (an entry, its transaction,
 * three views, a hash string each), all of them survived each young-generation
 * garbage collection of the main thread and were copied, then promoted: that
 * copying was a large part of the main thread's cost per entry. Here an entry
 * is a few slots of typed arrays, and its object is made again, short-lived,
 * when the entry is applied. The bytes are not copied: the views are made
 * again over the same buffers the reader read into.
 */
import type { LogExportEntry } from '@vex/engine';

/** Slots per entry in `views`: byte offset and length of the public key, the signature and the message. */
const viewSlots = 6;

export class PendingEntries {
  private readonly sequences: Float64Array;
  private readonly logTimesMs: Float64Array;
  private readonly views: Int32Array;
  /** The buffer under each of an entry's three views (the reader gives the same one to all three). */
  private readonly buffers: ArrayBufferLike[] = [];
  /** Lower-case hex, as the reader gives them. */
  private readonly entryHashes: string[] = [];
  private entryCount = 0;

  constructor(readonly capacity: number) {
    this.sequences = new Float64Array(capacity);
    this.logTimesMs = new Float64Array(capacity);
    this.views = new Int32Array(capacity * viewSlots);
  }

  get count(): number {
    return this.entryCount;
  }

  add(entry: LogExportEntry): void {
    const index = this.entryCount;
    if (index === this.capacity) throw new RangeError('the pending entries are full');
    const { publicKey, signature, message } = entry.transaction;
    this.sequences[index] = entry.sequence;
    this.logTimesMs[index] = entry.logTimeMs;
    const slot = index * viewSlots;
    const views = this.views;
    views[slot] = publicKey.byteOffset;
    views[slot + 1] = publicKey.byteLength;
    views[slot + 2] = signature.byteOffset;
    views[slot + 3] = signature.byteLength;
    views[slot + 4] = message.byteOffset;
    views[slot + 5] = message.byteLength;
    this.buffers.push(publicKey.buffer, signature.buffer, message.buffer);
    this.entryHashes.push(entry.entryHash);
    this.entryCount = index + 1;
  }

  /** Entry `index` as the reader gave it: the same fields, views over the same bytes. */
  entry(index: number): LogExportEntry {
    if (!(index >= 0 && index < this.entryCount)) throw new RangeError(`no pending entry ${index}`);
    const slot = index * viewSlots;
    const views = this.views;
    const buffers = this.buffers;
    return {
      sequence: this.sequences[index]!,
      logTimeMs: this.logTimesMs[index]!,
      transaction: {
        publicKey: new Uint8Array(buffers[3 * index]!, views[slot]!, views[slot + 1]!),
        signature: new Uint8Array(buffers[3 * index + 1]!, views[slot + 2]!, views[slot + 3]!),
        message: new Uint8Array(buffers[3 * index + 2]!, views[slot + 4]!, views[slot + 5]!),
      },
      entryHash: this.entryHashes[index]!,
    };
  }
}
