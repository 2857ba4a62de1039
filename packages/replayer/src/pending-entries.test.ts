import type { LogExportEntry } from '@vex/engine';
import { describe, expect, it } from 'vitest';
import { PendingEntries } from './pending-entries.js';

function entryOver(bytes: Uint8Array, start: number, sequence: number): LogExportEntry {
  return {
    sequence,
    logTimeMs: 1_700_000_000_000 + sequence,
    transaction: {
      publicKey: bytes.subarray(start, start + 32),
      signature: bytes.subarray(start + 32, start + 96),
      message: bytes.subarray(start + 96, start + 96 + sequence),
    },
    entryHash: sequence.toString(16).padStart(64, '0'),
  };
}

describe('PendingEntries', () => {
  it('gives back each entry with the same fields, as views over the same bytes', () => {
    const chunk = new Uint8Array(4096).map((_, index) => (index * 7) & 0xff);
    const entries = [entryOver(chunk, 0, 1), entryOver(chunk, 200, 2 ** 40), entryOver(chunk.subarray(1000), 5, 9)];
    entries[1] = { ...entries[1]!, transaction: { ...entries[1]!.transaction, message: chunk.subarray(400, 700) } };
    const pending = new PendingEntries(3);
    for (const entry of entries) pending.add(entry);
    expect(pending.count).toBe(3);
    entries.forEach((entry, index) => {
      const again = pending.entry(index);
      expect(again).toEqual(entry);
      expect(again.transaction.message.buffer).toBe(chunk.buffer);
      expect(again.transaction.message.byteOffset).toBe(entry.transaction.message.byteOffset);
    });
    expect(() => pending.add(entries[0]!)).toThrow(RangeError);
    expect(() => pending.entry(3)).toThrow(RangeError);
  });
});
