import { describe, expect, it } from 'vitest';
import { EntryMaker, testGenesisHash } from '../test/entries.js';
import { checkContinuation, decodeChunk, encodeChunk } from './log-chunk.js';
import { EtcdLogKeys, decodeHead, encodeHead } from './etcd-keys.js';
import { LogContinuityError } from './log-store.js';

const genesis = { sequence: 0, entryHash: testGenesisHash };

function problemOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof LogContinuityError) return error.problem;
    throw error;
  }
  return undefined;
}

describe('chunks', () => {
  it('round-trip entries exactly and continue the chain', () => {
    const maker = new EntryMaker();
    const encodings = maker.next(5, 50);
    const chunk = decodeChunk(encodeChunk(1, encodings), 'test');
    expect(chunk.firstSequence).toBe(1);
    expect(chunk.encodings.map((bytes) => Buffer.from(bytes))).toEqual(encodings.map((bytes) => Buffer.from(bytes)));
    const entries = checkContinuation(genesis, chunk.encodings);
    expect(entries.map((entry) => entry.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(Buffer.from(entries[4]!.entryHash)).toEqual(Buffer.from(maker.position.entryHash));
  });

  it('refuse malformed chunks', () => {
    const bytes = encodeChunk(1, new EntryMaker().next(2, 10));
    expect(problemOf(() => decodeChunk(bytes.subarray(0, bytes.length - 1), 'cut'))).toBe('malformed');
    expect(problemOf(() => decodeChunk(Uint8Array.of(...bytes, 0), 'extra byte'))).toBe('malformed');
    const otherVersion = Uint8Array.from(bytes);
    otherVersion[0] = 2;
    expect(problemOf(() => decodeChunk(otherVersion, 'version'))).toBe('malformed');
  });

  it('find a gap, an overlap, a broken chain and a bad entry', () => {
    const maker = new EntryMaker();
    const encodings = maker.next(4, 20);
    expect(problemOf(() => checkContinuation(genesis, [encodings[0]!, encodings[2]!]))).toBe('gap');
    expect(problemOf(() => checkContinuation(genesis, [encodings[0]!, encodings[0]!]))).toBe('overlap');
    const forged = new EntryMaker({ sequence: 1, entryHash: new Uint8Array(32) }).next(1, 20)[0]!;
    expect(problemOf(() => checkContinuation(genesis, [encodings[0]!, forged]))).toBe('chain');
    expect(problemOf(() => checkContinuation(genesis, [encodings[0]!.subarray(0, 100)]))).toBe('malformed');
    expect(problemOf(() => checkContinuation(genesis, encodings))).toBeUndefined();
  });
});

describe('etcd keys', () => {
  it('sort chunk keys in sequence order and read them back', () => {
    const keys = new EtcdLogKeys('exchange/');
    const sequences = [1, 9, 10, 99, 100, 2 ** 53 - 1];
    const sorted = sequences.map((sequence) => keys.chunk(sequence)).sort(Buffer.compare);
    expect(sorted.map((key) => keys.firstSequenceOfChunk(key))).toEqual(sequences);
    expect(keys.firstSequenceOfChunk(keys.head)).toBeUndefined();
    expect(() => new EtcdLogKeys('no-slash')).toThrow(RangeError);
    expect(() => keys.progress('bad id!')).toThrow(RangeError);
  });

  it('encode the head exactly', () => {
    const head = { sequence: 123_456, entryHash: testGenesisHash };
    expect(decodeHead(encodeHead(head))).toEqual(head);
    expect(() => decodeHead(encodeHead(head).subarray(1))).toThrow();
  });
});
