/**
 * The replicated log's keys in etcd, all under one prefix (one exchange per
 * prefix). docs/cluster.md, "Keys", is the table of them.
 */
import { putUint64 } from '@vex/engine';
import type { LogPosition } from './log-store.js';

/** Sequences in chunk keys are 16 decimal digits (2^53 − 1 has 16), so key order is sequence order. */
const sequenceDigits = 16;
const headFormatVersion = 1;
const headLengthBytes = 1 + 8 + 32;

export class EtcdLogKeys {
  readonly genesis: Buffer;
  readonly head: Buffer;
  readonly leader: Buffer;
  readonly chunkPrefix: Buffer;
  readonly chunkRangeEnd: Buffer;
  readonly progressPrefix: Buffer;
  readonly progressRangeEnd: Buffer;
  readonly all: Buffer;
  readonly allRangeEnd: Buffer;

  constructor(readonly prefix: string) {
    if (!/^[A-Za-z0-9._/-]+\/$/.test(prefix))
      throw new RangeError(`the etcd key prefix ${JSON.stringify(prefix)} must be path-like text ending in "/"`);
    this.genesis = Buffer.from(`${prefix}genesis`);
    this.head = Buffer.from(`${prefix}head`);
    this.leader = Buffer.from(`${prefix}leader`);
    this.chunkPrefix = Buffer.from(`${prefix}log/`);
    this.chunkRangeEnd = rangeEndOf(this.chunkPrefix);
    this.progressPrefix = Buffer.from(`${prefix}progress/`);
    this.progressRangeEnd = rangeEndOf(this.progressPrefix);
    this.all = Buffer.from(prefix);
    this.allRangeEnd = rangeEndOf(this.all);
  }

  /** The key of the chunk whose first entry is `firstSequence`. */
  chunk(firstSequence: number): Buffer {
    if (!Number.isSafeInteger(firstSequence) || firstSequence < 1)
      throw new RangeError(`a chunk starts at a positive safe sequence, not ${firstSequence}`);
    return Buffer.concat([this.chunkPrefix, Buffer.from(String(firstSequence).padStart(sequenceDigits, '0'))]);
  }

  /** The first sequence named by a chunk key, or undefined if `key` is not one. */
  firstSequenceOfChunk(key: Uint8Array): number | undefined {
    const buffer = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    if (
      buffer.length !== this.chunkPrefix.length + sequenceDigits ||
      !buffer.subarray(0, this.chunkPrefix.length).equals(this.chunkPrefix)
    )
      return undefined;
    const digits = buffer.subarray(this.chunkPrefix.length).toString('latin1');
    if (!/^[0-9]{16}$/.test(digits)) return undefined;
    const sequence = Number(digits);
    return Number.isSafeInteger(sequence) && sequence >= 1 ? sequence : undefined;
  }

  progress(replicaId: string): Buffer {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(replicaId))
      throw new RangeError(
        `a replica id is 1 to 64 letters, digits, ".", "_" or "-", not ${JSON.stringify(replicaId)}`,
      );
    return Buffer.concat([this.progressPrefix, Buffer.from(replicaId)]);
  }

  isHead(key: Uint8Array): boolean {
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength).equals(this.head);
  }
}

/** The smallest key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function rangeEndOf(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let index = end.length - 1; index >= 0; index -= 1) {
    if (end[index]! < 0xff) {
      end[index]! += 1;
      return end.subarray(0, index + 1);
    }
  }
  return Buffer.from([0]);
}

/** The head record: u8 version (1) ‖ u64 sequence ‖ 32-byte entry hash. Compared byte for byte in every append's guard. */
export function encodeHead(position: LogPosition): Buffer {
  if (position.entryHash.length !== 32) throw new RangeError('an entry hash is 32 bytes');
  const bytes = Buffer.alloc(headLengthBytes);
  bytes[0] = headFormatVersion;
  putUint64(bytes, 1, position.sequence);
  bytes.set(position.entryHash, 9);
  return bytes;
}

export function decodeHead(bytes: Uint8Array): LogPosition {
  if (bytes.length !== headLengthBytes || bytes[0] !== headFormatVersion)
    throw new Error(`the stored head record is malformed (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = view.getUint32(1);
  if (high > 0x1f_ffff) throw new Error('the stored head sequence exceeds 2^53 − 1');
  return { sequence: high * 0x1_0000_0000 + view.getUint32(5), entryHash: new Uint8Array(bytes.subarray(9)) };
}
