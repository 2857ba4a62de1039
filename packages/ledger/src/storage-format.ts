/**
 * The LevelDB layout: one database in <dataDirectory>/ledger, keys and values
 * are raw bytes, and the first key byte names the keyspace. Sequence numbers
 * and ids in keys are 8-byte big-endian, so byte order is numeric order.
 * docs/log-format.md, "Storage", lists every keyspace.
 */
import { LogFormatError, hashLengthBytes, putUint64 } from '@vex/engine';

export const keyspaces = {
  meta: 0x00,
  entry: 0x01,
  snapshot: 0x02,
  fillByAccount: 0x10,
  orderByAccount: 0x11,
  orderById: 0x12,
  depositByAccount: 0x13,
  withdrawalByAccount: 0x14,
  tradeByMarket: 0x15,
} as const;

/** Every history keyspace, for scans that must visit all derived records. */
export const historyKeyspaces: readonly number[] = [
  keyspaces.fillByAccount,
  keyspaces.orderByAccount,
  keyspaces.orderById,
  keyspaces.depositByAccount,
  keyspaces.withdrawalByAccount,
  keyspaces.tradeByMarket,
];

/** The version of this layout, stored under the format meta key. */
export const storageFormatVersion = 1;

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
function metaKey(name: string): Uint8Array {
  const bytes = new Uint8Array(1 + name.length);
  bytes[0] = keyspaces.meta;
  bytes.set(ascii(name), 1);
  return bytes;
}
/** Value: the canonical genesis JSON (UTF-8). */
export const genesisMetaKey = metaKey('genesis');
/** Value: one byte, storageFormatVersion. */
export const formatMetaKey = metaKey('format');

/** Writes a safe integer as 8 big-endian bytes. */
export const writeUint64 = putUint64;

/** Reads 8 big-endian bytes; values above 2^53 − 1 are refused. */
export function readUint64(bytes: Uint8Array, offset: number): number {
  const high = ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
  const low = ((bytes[offset + 4]! << 24) | (bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!) >>> 0;
  if (high > 0x1f_ffff) throw new LogFormatError('a 64-bit number exceeds 2^53 − 1');
  return high * 0x1_0000_0000 + low;
}

function numberedKey(space: number, value: number): Uint8Array {
  const key = new Uint8Array(9);
  key[0] = space;
  writeUint64(key, 1, value);
  return key;
}

export function entryKey(sequence: number): Uint8Array {
  return numberedKey(keyspaces.entry, sequence);
}

export function snapshotKey(sequence: number): Uint8Array {
  return numberedKey(keyspaces.snapshot, sequence);
}

/** The sequence in an entry or snapshot key; undefined if the key is not 9 bytes. */
export function sequenceOfKey(key: Uint8Array): number | undefined {
  return key.length === 9 ? readUint64(key, 1) : undefined;
}

/** Bounds covering every key that starts with `prefix`. */
export function prefixRange(prefix: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  const upper = new Uint8Array(prefix); // a copy (Buffer.prototype.slice would be a view)
  for (let index = upper.length - 1; index >= 0; index -= 1) {
    if (upper[index]! < 0xff) {
      upper[index]! += 1;
      return { gte: prefix, lt: upper.subarray(0, index + 1) };
    }
  }
  throw new RangeError('a prefix of only 0xff bytes has no upper bound');
}

export const entryRange = prefixRange(Uint8Array.of(keyspaces.entry));
export const snapshotRange = prefixRange(Uint8Array.of(keyspaces.snapshot));

// ---------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------

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
  writeUint64(bytes, 1, record.sequence);
  bytes.set(record.entryHash, 9);
  bytes.set(record.stateHash, 9 + hashLengthBytes);
  bytes.set(record.stateEncoding, 9 + 2 * hashLengthBytes);
  return bytes;
}

export function decodeSnapshot(input: Uint8Array): SnapshotRecord {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const headerLength = 9 + 2 * hashLengthBytes;
  if (bytes.length < headerLength) throw new LogFormatError(`a snapshot record is at least ${headerLength} bytes, got ${bytes.length}`);
  if (bytes[0] !== snapshotRecordVersion) throw new LogFormatError(`unsupported snapshot record version ${bytes[0]}`);
  return {
    sequence: readUint64(bytes, 1),
    entryHash: bytes.slice(9, 9 + hashLengthBytes),
    stateHash: bytes.slice(9 + hashLengthBytes, headerLength),
    stateEncoding: bytes.subarray(headerLength),
  };
}
