/**
 * The entry's records (storage format 7, docs/log-format.md "History records"): the fill and order records an entry
 * writes are stored back to back in ONE value keyed by the entry's sequence (0x1d), and each is found from its
 * account through a 16-byte index record (0x10 for a fill, 0x11 for an order) naming where it is in that value.
 *
 * Why: keys that only grow (the log's 0x01, the order pointers' 0x12, the trades' 0x15, and now 0x1d) reach LevelDB's
 * lower levels by moving whole files, while records keyed by account land all over the key space, so every memtable
 * written out overlaps every file below it and compactions rewrite those files again and again. Format 6 stored the
 * fill and order records themselves under the account keys (about 150 bytes of value each, most of the history's
 * bytes); format 7 keeps only the index there.
 */
import type { BatchOperation, LedgerDatabase } from './database.js';
import { keyspaces, readUint64, writeUint64 } from './storage-format.js';

/** An index record's value: u64 writerSequence ‖ u32 offset ‖ u32 length of the record in the entry's 0x1d value. */
export const recordIndexValueBytes = 16;

/** The 0x1d key of an entry's records. */
export function entryRecordsKey(sequence: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = keyspaces.entryRecords;
  writeUint64(key, 1, sequence);
  return key;
}

/**
 * Gathers one entry's fill and order records (ASCII JSON arrays) and hands out, for each, the index value that
 * names it; `finish` appends the entry's 0x1d value. Offsets count from the start of that value, whose first 8 bytes
 * are the writer sequence, so the first record is at offset 8.
 */
export class EntryRecordsBuilder {
  private readonly records: string[] = [];
  private bytes = 8;

  constructor(private readonly sequence: number) {}

  /** Adds an ASCII record and returns its index value. */
  add(json: string): Buffer {
    const value = Buffer.allocUnsafe(recordIndexValueBytes);
    writeUint64(value, 0, this.sequence);
    value.writeUInt32BE(this.bytes, 8);
    value.writeUInt32BE(json.length, 12);
    this.records.push(json);
    this.bytes += json.length;
    return value;
  }

  /** Appends the 0x1d put of the records added, if any. */
  finish(operations: BatchOperation[]): void {
    if (this.records.length === 0) return;
    const value = Buffer.allocUnsafe(this.bytes);
    writeUint64(value, 0, this.sequence);
    let offset = 8;
    for (const json of this.records) offset += value.write(json, offset, json.length, 'latin1');
    operations.push({ type: 'put', key: entryRecordsKey(this.sequence), value });
  }
}

/** Where an index record's record is: the entry's sequence and the record's bytes [start, end) in its 0x1d value. */
export interface RecordLocation {
  readonly sequence: number;
  readonly start: number;
  readonly end: number;
}

export function recordLocationOf(indexValue: Uint8Array): RecordLocation {
  if (indexValue.length !== recordIndexValueBytes)
    throw new Error(`not a history index record (${indexValue.length} bytes)`);
  const view = Buffer.from(indexValue.buffer, indexValue.byteOffset, indexValue.byteLength);
  const start = view.readUInt32BE(8);
  return { sequence: readUint64(indexValue, 0), start, end: start + view.readUInt32BE(12) };
}

/**
 * Reads entries' 0x1d values for a query, keeping the last one read: an account's records of one page often come
 * from the same entry (a batch's orders and fills), and a value is read whole.
 */
export class EntryRecordsReader {
  private lastSequence = -1;
  private lastValue: Uint8Array | undefined;

  constructor(private readonly db: LedgerDatabase) {}

  /** The record's bytes as [value, start, end], for the decoders' (value, start, end). */
  async locate(indexValue: Uint8Array): Promise<[Uint8Array, number, number]> {
    const { sequence, start, end } = recordLocationOf(indexValue);
    if (sequence !== this.lastSequence) {
      this.lastValue = await this.db.get(entryRecordsKey(sequence));
      this.lastSequence = sequence;
    }
    const value = this.lastValue;
    // Written in the same batch as its index records, and deleted only with them (a torn tail's repair).
    if (value === undefined || end > value.length) throw new Error(`entry ${sequence}'s history records are missing`);
    return [value, start, end];
  }
}
