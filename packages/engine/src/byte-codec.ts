/**
 * Minimal canonical binary primitives: unsigned LEB128 varints (shortest form
 * only), length-prefixed UTF-8 strings and fixed-length byte strings. Decoding
 * rejects every non-canonical form, so each value has exactly one encoding.
 */
const textEncoder = new TextEncoder();

/** A safe integer (below 2^53) takes at most 8 varint bytes of 7 bits. */
const maxSafeVarintBytes = 8;

function checkSafeUnsigned(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`unsigned value ${value} is not a safe non-negative integer`);
}

/**
 * Writes a safe non-negative integer at `offset` as a shortest-form varint, exactly as the BigInt loop of
 * ByteWriter.unsigned does (the state encoding's counters, ids and millisecond times take this path); the caller has
 * made room for 8 bytes. Returns the offset after it. Below 2^32 it needs no BigInt. From 2^32 up (a log time in
 * milliseconds), the low 28 bits go first as four bytes with the continuation bit (the remainder by 2^28 is exact),
 * then the rest (below 2^25), which one BigInt shift gives: the engine does no division on numbers.
 */
function writeSafeVarint(buffer: Uint8Array, offset: number, value: number): number {
  let at = offset;
  let rest = value;
  if (rest > 0xffff_ffff) {
    let low = rest % 0x1000_0000;
    rest = Number(BigInt(rest) >> 28n);
    for (let group = 0; group < 4; group += 1) {
      buffer[at++] = (low & 0x7f) | 0x80;
      low >>>= 7;
    }
  }
  while (rest > 0x7f) {
    buffer[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  buffer[at++] = rest;
  return at;
}

export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  /** `capacityBytes`: the buffer's first size, grown by doubling; a good guess saves the copies of growing. */
  constructor(capacityBytes = 1024) {
    this.buffer = new Uint8Array(capacityBytes > 16 ? capacityBytes : 16);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value & 0xff;
  }

  bytes(value: Uint8Array): void {
    // TypedArray.set, even for a 32-byte key or digest: measured (branch snap20) at about a third of a byte loop's time.
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /**
   * An unsigned integer of any size, as a shortest-form LEB128 varint. The
   * state encoding writes tens of millions of these for a large state, so
   * numbers (counters, ids, millisecond times) take writeSafeVarint's path
   * (at most one BigInt shift), and larger bigints shed 28 bits (four groups
   * of seven) per BigInt shift instead of seven.
   */
  unsigned(value: bigint | number): void {
    if (typeof value === 'number') {
      checkSafeUnsigned(value);
      this.reserve(maxSafeVarintBytes);
      this.length = writeSafeVarint(this.buffer, this.length, value);
      return;
    }
    if (value < 0n) throw new RangeError('unsigned value is negative');
    let remaining = value;
    while (remaining > 0xffff_ffffn) {
      let chunk = Number(remaining & 0xfff_ffffn);
      remaining >>= 28n;
      // More follows (remaining is at least 2^4), so all four bytes carry the continuation bit.
      this.reserve(4);
      for (let group = 0; group < 4; group += 1) {
        this.buffer[this.length++] = (chunk & 0x7f) | 0x80;
        chunk >>>= 7;
      }
    }
    this.reserve(maxSafeVarintBytes);
    this.length = writeSafeVarint(this.buffer, this.length, Number(remaining));
  }

  /**
   * `value`'s bytes, then `integer` (a safe non-negative integer) as unsigned() writes it, with one check of the
   * room: a remembered message (a 32-byte digest and its acceptance time), tens of thousands per state encoding.
   */
  bytesThenUnsigned(value: Uint8Array, integer: number): void {
    checkSafeUnsigned(integer);
    this.reserve(value.length + maxSafeVarintBytes);
    this.buffer.set(value, this.length);
    this.length = writeSafeVarint(this.buffer, this.length + value.length, integer);
  }

  /** Each character's low byte, as Buffer.from(value, 'latin1') would give them, without allocating. */
  latin1(value: string): void {
    this.reserve(value.length);
    for (let index = 0; index < value.length; index += 1) this.buffer[this.length++] = value.charCodeAt(index) & 0xff;
  }

  /**
   * A string as its UTF-8 length and bytes. An ASCII string (credited deposits' chain and transaction ids, symbols)
   * is its own UTF-8, one byte per character, so it is copied without TextEncoder's intermediate array; the first
   * character above 0x7f sends the whole string to TextEncoder instead.
   */
  string(value: string): void {
    const count = value.length;
    if (count < 0x80) {
      // A one-byte length, then the characters while they are ASCII.
      this.reserve(1 + count);
      const start = this.length;
      const buffer = this.buffer;
      buffer[start] = count;
      let index = 0;
      for (; index < count; index += 1) {
        const code = value.charCodeAt(index);
        if (code > 0x7f) break;
        buffer[start + 1 + index] = code;
      }
      if (index === count) {
        this.length = start + 1 + count;
        return;
      }
    }
    const encoded = textEncoder.encode(value);
    this.unsigned(encoded.length);
    this.bytes(encoded);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  /** The bytes written so far, without a copy: valid until the next write or clear(). */
  written(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  /** Starts over, keeping the buffer, so one writer serves many small encodings. */
  clear(): void {
    this.length = 0;
  }
}

export class ByteDecodeError extends Error {
  override readonly name = 'ByteDecodeError';
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class ByteReader {
  private offset = 0;
  constructor(private readonly buffer: Uint8Array) {}

  private fail(message: string): never {
    throw new ByteDecodeError(`${message} at byte ${this.offset}`);
  }

  byte(): number {
    if (this.offset >= this.buffer.length) this.fail('unexpected end of data');
    return this.buffer[this.offset++] as number;
  }

  bytes(length: number): Uint8Array {
    if (this.offset + length > this.buffer.length) this.fail('unexpected end of data');
    const value = this.buffer.slice(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  unsigned(): bigint {
    let value = 0n;
    let shift = 0n;
    for (let count = 0; ; count += 1) {
      if (count > 32) this.fail('varint too long');
      const byte = this.byte();
      value |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        // A final zero byte after the first means a longer-than-needed encoding.
        if (byte === 0 && count > 0) this.fail('non-canonical varint');
        return value;
      }
    }
  }

  /** A varint that must fit a safe integer. */
  safeInteger(): number {
    const value = this.unsigned();
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('integer out of range');
    return Number(value);
  }

  string(): string {
    const length = this.safeInteger();
    try {
      return utf8.decode(this.bytes(length));
    } catch (error) {
      if (error instanceof ByteDecodeError) throw error;
      return this.fail('invalid UTF-8');
    }
  }

  atEnd(): boolean {
    return this.offset === this.buffer.length;
  }

  expectEnd(): void {
    if (this.offset !== this.buffer.length) this.fail('trailing bytes');
  }
}

/**
 * One integer field of a record and how it is read back: a bigint field as
 * any unsigned varint, a number field as one that must be a safe integer.
 */
export type IntegerField<Target> = {
  [Key in keyof Target]-?: Target[Key] extends bigint
    ? readonly [Key, 'unsigned']
    : Target[Key] extends number
      ? readonly [Key, 'safeInteger']
      : never;
}[keyof Target];

/**
 * A run of a record's integer fields, written and read from one list, so
 * that the encoder and the decoder cannot disagree on their order. Each is
 * one varint, exactly as `writer.unsigned(target.field)` writes it.
 */
export class IntegerFields<Target> {
  constructor(readonly fields: readonly IntegerField<Target>[]) {}

  write(writer: ByteWriter, target: Target): void {
    for (const field of this.fields) writer.unsigned(target[field[0]] as bigint | number);
  }

  read(reader: ByteReader, target: Target): void {
    const record = target as Record<keyof Target, bigint | number>;
    for (const [key, kind] of this.fields) record[key] = kind === 'unsigned' ? reader.unsigned() : reader.safeInteger();
  }
}
