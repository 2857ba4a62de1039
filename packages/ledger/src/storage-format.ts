/**
 * The LevelDB layout: one database in <dataDirectory>/ledger, keys and values
 * are raw bytes, and the first key byte names the keyspace. Sequence numbers
 * and ids in keys are 8-byte big-endian, so byte order is numeric order.
 * docs/log-format.md, "Storage", lists every keyspace.
 */
import { LogFormatError } from '@vex/engine';

export const keyspaces = {
  meta: 0x00,
  entry: 0x01,
  snapshot: 0x02,
  attestation: 0x03,
  fillByAccount: 0x10,
  orderByAccount: 0x11,
  orderById: 0x12,
  depositByAccount: 0x13,
  withdrawalByAccount: 0x14,
  tradeByMarket: 0x15,
  marketListing: 0x16,
  lendingMovementByAccount: 0x17,
  perpFundingByMarket: 0x18,
  perpMarkPriceByMarket: 0x19,
  perpFundingPaymentByAccount: 0x1a,
  perpSettlementByAccount: 0x1b,
  perpClosedPositionByAccount: 0x1c,
  orderStatusById: 0x1d,
} as const;

/** Every history keyspace, for scans that must visit all derived records. */
export const historyKeyspaces: readonly number[] = [
  keyspaces.fillByAccount,
  keyspaces.orderByAccount,
  keyspaces.orderById,
  keyspaces.depositByAccount,
  keyspaces.withdrawalByAccount,
  keyspaces.tradeByMarket,
  keyspaces.marketListing,
  keyspaces.lendingMovementByAccount,
  keyspaces.perpFundingByMarket,
  keyspaces.perpMarkPriceByMarket,
  keyspaces.perpFundingPaymentByAccount,
  keyspaces.perpSettlementByAccount,
  keyspaces.perpClosedPositionByAccount,
  keyspaces.orderStatusById,
];

/**
 * The version of this layout, stored under the format meta key. Version 2
 * added the borrow/lend history (keyspace 0x17) and stores version-2
 * attestations from then on; version 3 added the perpetuals' funding and mark
 * price history (keyspaces 0x18, 0x19); version 4 added the perpetuals'
 * per-account funding payments, settlements and closed positions (keyspaces
 * 0x1a–0x1c); version 5 stores each order once: the order-by-id record
 * (0x12) holds the order's account id, naming its record by account, instead
 * of a second copy of the order; version 6 stores the fill (0x10) and
 * public trade (0x15) records as JSON arrays, as version 5 did the order
 * records; version 7 writes one record per account and entry under the
 * account keys: an account's fills of the entry in one 0x10 record, the ids
 * of the orders the entry accepted for it in one 0x11 record, and each
 * order's latest status under its id (0x1d) instead of under its account;
 * version 8 stores those status records (0x1d), the fills (0x10) and the
 * public trades (0x15) as binary records instead of JSON arrays, and the
 * order pointers (0x12) in runs of one account instead of one account id
 * per order.
 * An older ledger is upgraded in place when it is opened (storage-upgrade.ts,
 * docs/log-format.md "Storage format versions").
 */
export const storageFormatVersion = 8;

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

/**
 * Writes a non-negative safe integer as 8 big-endian bytes: the same bytes as
 * the engine's putUint64, without the DataView and the BigInt that it
 * allocates, because the sequencing thread writes several of these for every
 * history record (keys and values), and that garbage feeds the scavenges.
 * Throws RangeError for anything else, as putUint64 does for a non-integer.
 */
export function writeUint64(bytes: Uint8Array, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a u64 as a safe integer: ${value}`);
  if (offset < 0 || offset + 8 > bytes.length) throw new RangeError('a u64 past the end of its buffer');
  const high = Math.floor(value / 0x1_0000_0000);
  const low = value - high * 0x1_0000_0000;
  bytes[offset] = high >>> 24;
  bytes[offset + 1] = (high >>> 16) & 0xff;
  bytes[offset + 2] = (high >>> 8) & 0xff;
  bytes[offset + 3] = high & 0xff;
  bytes[offset + 4] = low >>> 24;
  bytes[offset + 5] = (low >>> 16) & 0xff;
  bytes[offset + 6] = (low >>> 8) & 0xff;
  bytes[offset + 7] = low & 0xff;
}

/**
 * A history record's value, `u64 writerSequence ‖ JSON`, for JSON known to be
 * ASCII (the template records), which skips the UTF-8 length scan.
 */
export function asciiRecordValue(sequence: number, json: string): Buffer {
  const value = Buffer.allocUnsafe(8 + json.length);
  writeUint64(value, 0, sequence);
  value.write(json, 8, json.length, 'latin1');
  return value;
}

/** Reads 8 big-endian bytes; values above 2^53 − 1 are refused. */
export function readUint64(bytes: Uint8Array, offset: number): number {
  const high =
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
  const low =
    ((bytes[offset + 4]! << 24) | (bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!) >>> 0;
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

/** Value: the attestation's canonical JSON (UTF-8), docs/attestation.md. */
export function attestationKey(sequence: number): Uint8Array {
  return numberedKey(keyspaces.attestation, sequence);
}

/** The sequence in an entry, snapshot or attestation key; undefined if the key is not 9 bytes. */
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
export const attestationRange = prefixRange(Uint8Array.of(keyspaces.attestation));

// The snapshot record codec is pure and lives in the engine (snapshot-record.ts), so the replayer can read snapshot files.
export { decodeSnapshot, encodeSnapshot, snapshotRecordVersion, type SnapshotRecord } from '@vex/engine';
