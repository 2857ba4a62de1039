/**
 * A chunk: a run of consecutive entries stored under one key of the
 * replicated log (docs/cluster.md, "Keys"). Pure code: encoding, decoding and
 * the continuity check that every reader runs on what it receives.
 *
 *   u8 version (1) ‖ u64 firstSequence ‖ u32 entryCount ‖ entryCount × (u32 length ‖ entry encoding)
 */
import { bytesToLowerHex, decodeEntry, hashEntryEncoding, putUint64 } from '@vex/engine';
import { LogContinuityError, type EncodedEntry, type LogPosition } from './log-store.js';

export const chunkFormatVersion = 1;
const chunkHeaderBytes = 1 + 8 + 4;

/** The bytes a chunk of these entries takes. */
export function chunkLengthBytes(encodings: readonly Uint8Array[]): number {
  let length = chunkHeaderBytes;
  for (const encoding of encodings) length += 4 + encoding.length;
  return length;
}

export function encodeChunk(firstSequence: number, encodings: readonly Uint8Array[]): Uint8Array {
  if (encodings.length === 0) throw new RangeError('a chunk holds at least one entry');
  const bytes = new Uint8Array(chunkLengthBytes(encodings));
  const view = new DataView(bytes.buffer);
  bytes[0] = chunkFormatVersion;
  putUint64(bytes, 1, firstSequence);
  view.setUint32(9, encodings.length);
  let offset = chunkHeaderBytes;
  for (const encoding of encodings) {
    view.setUint32(offset, encoding.length);
    bytes.set(encoding, offset + 4);
    offset += 4 + encoding.length;
  }
  return bytes;
}

export interface DecodedChunk {
  readonly firstSequence: number;
  /** Views into the chunk's bytes. */
  readonly encodings: readonly Uint8Array[];
}

/** Splits a chunk into its entry encodings; anything malformed is a LogContinuityError('malformed'). */
export function decodeChunk(bytes: Uint8Array, what: string): DecodedChunk {
  const fail = (detail: string): never => {
    throw new LogContinuityError('malformed', 0, `${what}: ${detail}`);
  };
  if (bytes.length < chunkHeaderBytes) fail(`a chunk is at least ${chunkHeaderBytes} bytes, got ${bytes.length}`);
  if (bytes[0] !== chunkFormatVersion) fail(`unsupported chunk version ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = view.getUint32(1);
  if (high > 0x1f_ffff) fail('the first sequence exceeds 2^53 − 1');
  const firstSequence = high * 0x1_0000_0000 + view.getUint32(5);
  const count = view.getUint32(9);
  if (firstSequence < 1 || count < 1) fail('a chunk starts at entry 1 or later and holds at least one entry');
  const encodings: Uint8Array[] = [];
  let offset = chunkHeaderBytes;
  for (let index = 0; index < count; index += 1) {
    if (offset + 4 > bytes.length) fail(`entry ${index + 1} of ${count} is cut off`);
    const length = view.getUint32(offset);
    if (offset + 4 + length > bytes.length) fail(`entry ${index + 1} of ${count} is cut off`);
    encodings.push(bytes.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (offset !== bytes.length) fail(`${bytes.length - offset} bytes follow the last entry`);
  return { firstSequence, encodings };
}

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  return Buffer.from(left.buffer, left.byteOffset, left.byteLength).equals(
    Buffer.from(right.buffer, right.byteOffset, right.byteLength),
  );
}

/**
 * Checks encoded entries that should continue the log after `after`: each
 * decodes, carries the next sequence and the previous entry's hash. Returns
 * them with their recomputed hashes. Entries at or before `after` are not
 * allowed here; callers skip whole duplicates before calling.
 */
export function checkContinuation(after: LogPosition, encodings: readonly Uint8Array[]): EncodedEntry[] {
  const entries: EncodedEntry[] = [];
  let previous = after;
  for (const encoding of encodings) {
    const expected = previous.sequence + 1;
    let record: ReturnType<typeof decodeEntry>;
    try {
      record = decodeEntry(encoding);
    } catch (error) {
      throw new LogContinuityError('malformed', expected, error instanceof Error ? error.message : String(error));
    }
    if (record.sequence > expected)
      throw new LogContinuityError('gap', expected, `expected entry ${expected}, got entry ${record.sequence}`);
    if (record.sequence < expected)
      throw new LogContinuityError(
        'overlap',
        expected,
        `expected entry ${expected}, got entry ${record.sequence} again`,
      );
    if (!equalBytes(record.previousHash, previous.entryHash)) {
      throw new LogContinuityError(
        'chain',
        expected,
        `its previous hash ${bytesToLowerHex(record.previousHash)} is not the hash ${bytesToLowerHex(previous.entryHash)} of entry ${previous.sequence}`,
      );
    }
    const entryHash = hashEntryEncoding(encoding);
    entries.push({ sequence: expected, encoding, entryHash });
    previous = { sequence: expected, entryHash };
  }
  return entries;
}

export function samePosition(left: LogPosition, right: LogPosition): boolean {
  return left.sequence === right.sequence && equalBytes(left.entryHash, right.entryHash);
}

export function describePosition(position: LogPosition): string {
  return `entry ${position.sequence} (${bytesToLowerHex(position.entryHash).slice(0, 16)}…)`;
}
