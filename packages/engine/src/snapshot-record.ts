/**
 * The snapshot record: the engine state right after one log entry, with that
 * entry's hash. The ledger stores these (docs/log-format.md, "Snapshots") and
 * exports them as snapshot files; the replayer checks one against a full
 * replay. Pure code, no I/O.
 */
import { LogFormatError, hashLengthBytes, putUint64 } from './log-format.js';

function readUint64(bytes: Uint8Array, offset: number): number {
  const value = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new LogFormatError('a 64-bit number exceeds 2^53 − 1');
  return Number(value);
}

export const snapshotRecordVersion = 1;

export interface SnapshotRecord {
  readonly sequence: number;
  /** The hash of entry `sequence`: the snapshot is the state right after it. */
  readonly entryHash: Uint8Array;
  /** SHA-256 of `stateEncoding` (the engine's stateHash). */
  readonly stateHash: Uint8Array;
  /** The engine's encodeState output. */
  readonly stateEncoding: Uint8Array;
}

/** version u8 ‖ sequence u64 ‖ entryHash[32] ‖ stateHash[32] ‖ state encoding. */
export function encodeSnapshot(record: SnapshotRecord): Uint8Array {
  const bytes = new Uint8Array(1 + 8 + 2 * hashLengthBytes + record.stateEncoding.length);
  bytes[0] = snapshotRecordVersion;
  putUint64(bytes, 1, record.sequence);
  bytes.set(record.entryHash, 9);
  bytes.set(record.stateHash, 9 + hashLengthBytes);
  bytes.set(record.stateEncoding, 9 + 2 * hashLengthBytes);
  return bytes;
}

export function decodeSnapshot(input: Uint8Array): SnapshotRecord {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const headerLength = 9 + 2 * hashLengthBytes;
  if (bytes.length < headerLength)
    throw new LogFormatError(`a snapshot record is at least ${headerLength} bytes, got ${bytes.length}`);
  if (bytes[0] !== snapshotRecordVersion) throw new LogFormatError(`unsupported snapshot record version ${bytes[0]}`);
  return {
    sequence: readUint64(bytes, 1),
    entryHash: bytes.slice(9, 9 + hashLengthBytes),
    stateHash: bytes.slice(9 + hashLengthBytes, headerLength),
    stateEncoding: bytes.subarray(headerLength),
  };
}
