/**
 * Minimal canonical binary primitives: unsigned LEB128 varints (shortest form
 * only), length-prefixed UTF-8 strings and fixed-length byte strings. Decoding
 * rejects every non-canonical form, so each value has exactly one encoding.
 */
const textEncoder = new TextEncoder();

export class ByteWriter {
  private buffer = new Uint8Array(1024);
  private length = 0;

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
    this.reserve(value.length);
    if (value.length > 64) this.buffer.set(value, this.length);
    // Keys, salts and addresses: a plain loop is cheaper than TypedArray.set's generic call.
    else for (let index = 0; index < value.length; index += 1) this.buffer[this.length + index] = value[index]!;
    this.length += value.length;
  }

  /**
   * An unsigned integer of any size, as a shortest-form LEB128 varint. The
   * state encoding writes tens of millions of these for a large state, so
   * values below 2^32 take a path without BigInt arithmetic, and larger ones
   * shed 28 bits (four groups of seven) per BigInt shift instead of seven.
   */
  unsigned(value: bigint | number): void {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value) || value < 0)
        throw new RangeError(`unsigned value ${value} is not a safe non-negative integer`);
      if (value <= 0xffff_ffff) {
        this.small(value);
        return;
      }
    } else if (value < 0n) {
      throw new RangeError('unsigned value is negative');
    }
    let remaining = BigInt(value);
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
    this.small(Number(remaining));
  }

  /** A value in [0, 2^32) as a shortest-form varint. */
  private small(value: number): void {
    this.reserve(5);
    let rest = value;
    while (rest > 0x7f) {
      this.buffer[this.length++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buffer[this.length++] = rest;
  }

  /** Each character's low byte, as Buffer.from(value, 'latin1') would give them, without allocating. */
  latin1(value: string): void {
    this.reserve(value.length);
    for (let index = 0; index < value.length; index += 1) this.buffer[this.length++] = value.charCodeAt(index) & 0xff;
  }

  string(value: string): void {
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
