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

/*
 * The strings a history record holds are few and repeat (a market's symbol, an enum value, an asset): the reader
 * keeps the ones it has decoded, by a hash of their bytes, and gives back the same string when the bytes match,
 * instead of decoding a new one. Bounded: emptied when it holds too many.
 */
const interned = new Map<number, string>();
const maximumInterned = 4096;

function internedAscii(bytes: Uint8Array, start: number, length: number): string {
  let hash = length;
  for (let index = start; index < start + length; index += 1) hash = (Math.imul(hash, 31) + bytes[index]!) | 0;
  const known = interned.get(hash);
  if (known !== undefined && known.length === length) {
    let same = true;
    for (let index = 0; index < length; index += 1) {
      if (known.charCodeAt(index) !== bytes[start + index]) {
        same = false;
        break;
      }
    }
    if (same) return known;
  }
  const text = asciiText(bytes, start, length);
  if (interned.size >= maximumInterned) interned.clear();
  interned.set(hash, text);
  return text;
}

/** The bytes as one character each: for short strings cheaper than a Buffer's latin1 decoding, a call into C++. */
function asciiText(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode.apply(null, bytes.subarray(start, start + length) as unknown as number[]);
}

/** What bigint.toString() writes: an optional minus sign, then digits. */
const decimalIntegerPattern = /^-?[0-9]+$/;

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
    return internedAscii(this.bytes, start, length);
  }

  /**
   * A decimal integer, exactly as BigInt reads its text. The digits are not summed as a number first, though that
   * would be exact up to 15 of them: the project does no number arithmetic on amounts anywhere.
   */
  bigint(): bigint {
    const length = this.byte();
    this.need(length);
    const start = this.offset;
    this.offset += length;
    // Not interned: amounts seldom repeat, and would push out the strings that do.
    const text = asciiText(this.bytes, start, length);
    // Also refuses an empty field, which BigInt would read as 0n.
    if (!decimalIntegerPattern.test(text)) throw new Error(`a malformed decimal in a ${this.what} record`);
    return BigInt(text);
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
