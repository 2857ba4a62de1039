import { putUint64 } from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { readUint64, writeUint64 } from './storage-format.js';

describe('writeUint64', () => {
  test('writes the bytes of the engine’s putUint64 and reads back', () => {
    const values = [0, 1, 0xff, 0x100, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0001, 2 ** 40 + 12_345, 2 ** 53 - 1];
    let seed = 7;
    for (let index = 0; index < 200; index += 1) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      values.push(Math.floor((seed / 2 ** 31) * 2 ** (index % 54)));
    }
    for (const value of values) {
      const ours = new Uint8Array(11).fill(0xaa);
      const engines = new Uint8Array(11).fill(0xaa);
      writeUint64(ours, 2, value);
      putUint64(engines, 2, value);
      expect(ours).toEqual(engines);
      expect(readUint64(ours, 2)).toBe(value);
    }
  });

  test('refuses what is not a non-negative safe integer, or does not fit', () => {
    for (const value of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => writeUint64(new Uint8Array(8), 0, value)).toThrow(RangeError);
    expect(() => writeUint64(new Uint8Array(8), 1, 1)).toThrow(RangeError);
  });
});
