import { describe, expect, it } from 'vitest';
import { accountIdOf } from './account-id.js';
import { signerAccountId } from './signer-account-ids.js';

/** A key whose first four bytes are `prefix` (little-endian) and whose last byte is `tail`. */
function keyOf(prefix: number, tail: number): Uint8Array {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, prefix, true);
  key[31] = tail;
  return key;
}

describe('signerAccountId', () => {
  it('is accountIdOf for every key, however often and in whatever order keys come', () => {
    // Keys sharing their first four bytes share a set of two: three of them, in turn, keep evicting each other.
    const keys: Uint8Array[] = [];
    for (let index = 0; index < 6000; index += 1) keys.push(keyOf(index % 3000, index % 3 === 0 ? 7 : index % 5));
    for (let round = 0; round < 3; round += 1) {
      for (let index = 0; index < keys.length; index += 1) {
        const key = keys[(index * 7919 + round) % keys.length]!;
        expect(signerAccountId(key)).toBe(accountIdOf(key));
      }
    }
  });

  it('keeps its own copy of a key: a caller reusing its buffer never gets the old id', () => {
    const buffer = new Uint8Array(96);
    const view = buffer.subarray(32, 64);
    view.set(keyOf(0x01020304, 1));
    const first = signerAccountId(view);
    expect(first).toBe(accountIdOf(keyOf(0x01020304, 1)));
    view[31] = 2;
    expect(signerAccountId(view)).toBe(accountIdOf(keyOf(0x01020304, 2)));
    view[31] = 1;
    expect(signerAccountId(view)).toBe(first);
  });

  it('encodes a key of another length directly', () => {
    const short = new Uint8Array([1, 2, 3]);
    expect(signerAccountId(short)).toBe(accountIdOf(short));
  });
});
