/**
 * The pieces of the history's binary records (from storage format 8; docs/log-format.md, "History records"): short
 * ASCII strings (symbols, enum values) and decimal integers (bigint amounts), each after a length byte, and u64s.
 * Decimal digits instead of fixed-width binary keep every bigint exact whatever its size, with no number arithmetic
 * on amounts; the length byte replaces JSON's quotes and commas, and the record's layout replaces its brackets. The
 * writers are on the sequencing thread, for every order status record; they write byte by byte in JS because a
 * Buffer.write per short string is a call into C++ that costs more than the bytes.
 */
import { readUint64 } from './storage-format.js';

/** The bytes `writeAscii` takes for `text`. */
export function asciiSize(text: string): number {
  return 1 + text.length;
}

/** Writes `text` (ASCII, at most 255 characters) after its length byte; returns the offset after it. */
export function writeAscii(bytes: Uint8Array, offset: number, text: string): number {
  const length = text.length;
  if (length > 255) throw new RangeError(`a history string longer than 255 characters: ${text.slice(0, 40)}…`);
  bytes[offset] = length;
  for (let index = 0; index < length; index += 1) {
    const code = text.charCodeAt(index);
    // A symbol or enum value is ASCII (the engine's validation); anything else would not read back the same.
    if (code > 0x7f) throw new RangeError(`a history string that is not ASCII: ${text}`);
    bytes[offset + 1 + index] = code;
  }
  return offset + 1 + length;
}

/** Reads what the writers above wrote, front to back; every read checks the record's end. */
export class RecordReader {
  private offset: number;

  constructor(
    private readonly bytes: Uint8Array,
    offset: number,
    private readonly what: string,
  ) {
    this.offset = offset;
  }

  private need(length: number): void {
    if (this.offset + length > this.bytes.length) throw new Error(`a truncated ${this.what} record`);
  }

  byte(): number {
    this.need(1);
    const value = this.bytes[this.offset]!;
    this.offset += 1;
    return value;
  }

  ascii(): string {
    const length = this.byte();
    this.need(length);
    const start = this.offset;
    this.offset += length;
    // Short strings: fromCharCode over the bytes is cheaper than a Buffer's latin1 decoding, a call into C++.
    return String.fromCharCode.apply(null, this.bytes.subarray(start, start + length) as unknown as number[]);
  }

  bigint(): bigint {
    return BigInt(this.ascii());
  }

  uint64(): number {
    this.need(8);
    const value = readUint64(this.bytes, this.offset);
    this.offset += 8;
    return value;
  }

  atEnd(): boolean {
    return this.offset >= this.bytes.length;
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.offset !== this.bytes.length) throw new Error(`a ${this.what} record with bytes after its end`);
  }
}
