import { describe, expect, test } from 'vitest';
import { RecordReader, asciiSize, writeAscii } from './history-codec.js';

/** A record of `fields` as the writers lay them out: eight bytes of writer sequence, then each after its length. */
function record(fields: readonly string[]): Uint8Array {
  const bytes = new Uint8Array(8 + fields.reduce((size, field) => size + asciiSize(field), 0));
  let offset = 8;
  for (const field of fields) offset = writeAscii(bytes, offset, field);
  return bytes;
}

describe('history records: strings and decimals after a length byte', () => {
  test('decimals read back as BigInt of their text: small, past 2^53, signed, and of any size', () => {
    const values = [0n, 7n, 999_999_999_999_999n, 1_000_000_000_000_000n, 2n ** 53n + 1n, -42n, 10n ** 70n + 3n];
    const reader = new RecordReader(record(values.map((value) => value.toString())), 8, 'test');
    expect(values.map(() => reader.bigint())).toEqual(values);
    reader.end();
  });

  test('strings read back as written, the same length and different bytes included, in any order', () => {
    const fields = ['Bid', 'Ask', 'Bid', 'GTC', 'IOC', 'FOK', 'IOC', 'SOL_USDC', 'BTC_USDC', 'SOL_USDC', ''];
    for (let round = 0; round < 3; round += 1) {
      const reader = new RecordReader(record(fields), 8, 'test');
      expect(fields.map(() => reader.ascii())).toEqual(fields);
      expect(reader.atEnd()).toBe(true);
    }
  });

  test('a damaged record is refused: an empty or non-decimal amount, a field past the end, bytes left over', () => {
    expect(() => new RecordReader(record(['']), 8, 'test').bigint()).toThrow('a malformed decimal in a test record');
    expect(() => new RecordReader(record(['12a']), 8, 'test').bigint()).toThrow('a malformed decimal in a test record');
    expect(() => new RecordReader(record(['+1']), 8, 'test').bigint()).toThrow('a malformed decimal in a test record');
    expect(new RecordReader(record(['-1234567890123456789012']), 8, 'test').bigint()).toBe(-1234567890123456789012n);
    const truncated = record(['SOL_USDC']).subarray(0, 12);
    expect(() => new RecordReader(truncated, 8, 'test').ascii()).toThrow('a truncated test record');
    const reader = new RecordReader(record(['A', 'B']), 8, 'test');
    reader.ascii();
    expect(() => reader.end()).toThrow('a test record with bytes after its end');
  });

  test('a string longer than 255 characters or not ASCII is refused by the writer', () => {
    expect(() => writeAscii(new Uint8Array(300), 0, 'x'.repeat(256))).toThrow('longer than 255');
    expect(() => writeAscii(new Uint8Array(8), 0, 'é')).toThrow('not ASCII');
  });
});
