import { decodeSnapshot, encodeState, sha256, stateHashHex, type StoredEntry } from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { collect, fixture, replayWithEngine, submitInWaves } from '../test/helpers.js';
import { createDatabase } from './database.js';
import { checkNodeOptions } from './node-opening.js';
import type { LedgerLogWriter, LogCommitItem } from './level-log-store.js';
import { snapshotRange, sequenceOfKey } from './storage-format.js';
import { nodeTestSetup } from './test-support.js';

// About 1,000 accepted entries.
const { entries, genesis } = fixture(23, 1_400);
const { newDirectory, openNode } = nodeTestSetup(genesis, entries[0]!.logTimeMs);

/** What each synced batch held: its entries' sequences and the snapshots it put. */
interface WrittenBatch {
  readonly entries: number[];
  readonly snapshots: number[];
}

function recordingWriter(batches: WrittenBatch[]): (store: LedgerLogWriter) => LedgerLogWriter {
  return (store) => ({
    commit(items: readonly LogCommitItem[]) {
      const batch: WrittenBatch = { entries: [], snapshots: [] };
      for (const item of items) {
        if (item.entry !== undefined) batch.entries.push(item.entry.sequence);
        for (const record of item.records) {
          if (record.type === 'put' && record.key[0] === snapshotRange.gte[0])
            batch.snapshots.push(sequenceOfKey(record.key)!);
        }
      }
      batches.push(batch);
      return store.commit(items);
    },
  });
}

async function storedSnapshots(directory: string): Promise<Map<number, Uint8Array>> {
  const db = createDatabase(`${directory}/ledger`);
  await db.open();
  try {
    const snapshots = new Map<number, Uint8Array>();
    for await (const [key, value] of db.iterator(snapshotRange)) snapshots.set(sequenceOfKey(key)!, value);
    return snapshots;
  } finally {
    await db.close();
  }
}

describe('snapshots taken by the snapshot worker', () => {
  test('are the state at their entry byte for byte, written only after their entry, and recovered from', async () => {
    const directory = await newDirectory();
    const batches: WrittenBatch[] = [];
    const { node, clock, close } = await openNode(directory, {
      snapshotEveryEntries: 100,
      logWriter: recordingWriter(batches),
    });
    await submitInWaves(node, clock.set, entries);
    const stored: StoredEntry[] = await collect(node.readEntries(1));
    const latest = Math.floor(stored.length / 100) * 100;
    expect(latest).toBeGreaterThanOrEqual(900);
    // readLatestSnapshot waits for the snapshots due at durable entries.
    expect((await node.readLatestSnapshot())?.sequence).toBe(latest);
    const stateHash = stateHashHex(node.state);
    await close();

    // A snapshot never exists without its entry: its batch comes after the one that wrote the entry.
    const writtenIn = new Map<number, number>();
    batches.forEach((batch, index) => {
      for (const sequence of batch.entries) writtenIn.set(sequence, index);
    });
    const snapshotBatches = batches.flatMap((batch, index) => batch.snapshots.map((sequence) => ({ sequence, index })));
    expect(snapshotBatches.map(({ sequence }) => sequence)).toEqual(
      Array.from({ length: latest / 100 }, (_, index) => (index + 1) * 100),
    );
    for (const { sequence, index } of snapshotBatches) expect(index).toBeGreaterThan(writtenIn.get(sequence)!);

    // Byte for byte the state the log gives at each kept snapshot's entry, and the two latest are kept.
    const snapshots = await storedSnapshots(directory);
    expect([...snapshots.keys()]).toEqual([latest - 100, latest]);
    for (const [sequence, bytes] of snapshots) {
      const record = decodeSnapshot(bytes);
      const expected = encodeState(replayWithEngine(genesis, stored.slice(0, sequence)));
      expect(Buffer.from(record.stateEncoding).equals(Buffer.from(expected))).toBe(true);
      expect(Buffer.from(record.stateHash).equals(Buffer.from(sha256(expected)))).toBe(true);
      expect(Buffer.from(record.entryHash).equals(Buffer.from(stored[sequence - 1]!.entryHash))).toBe(true);
    }

    // Recovery loads the worker's latest snapshot and replays the rest to the same state.
    const reopened = await openNode(directory, { snapshotEveryEntries: 100 });
    expect(stateHashHex(reopened.node.state)).toBe(stateHash);
    const line = reopened.lines.find((candidate) => String(candidate.msg).startsWith('ledger recovered'));
    expect(line).toMatchObject({ snapshot: latest, replayed: stored.length - latest });
  });

  test('the interval at which durable entries are sent to the worker is a non-negative integer', () => {
    for (const snapshotFollowIntervalMs of [-1, 1.5, Number.NaN])
      expect(() => checkNodeOptions({ dataDirectory: '/unused', genesis, snapshotFollowIntervalMs })).toThrow(
        RangeError,
      );
    for (const snapshotFollowIntervalMs of [0, 50])
      expect(() => checkNodeOptions({ dataDirectory: '/unused', genesis, snapshotFollowIntervalMs })).not.toThrow();
  });

  test('the sequencer writes the same snapshot records in their entries batches when asked to', async () => {
    const worker = await newDirectory();
    const sequencer = await newDirectory();
    for (const [directory, snapshotsOnSequencer] of [
      [worker, false],
      [sequencer, true],
    ] as const) {
      const { node, clock, close } = await openNode(directory, { snapshotEveryEntries: 100, snapshotsOnSequencer });
      await submitInWaves(node, clock.set, entries);
      await close();
    }
    const fromWorker = await storedSnapshots(worker);
    const fromSequencer = await storedSnapshots(sequencer);
    expect(fromWorker.size).toBe(2);
    expect([...fromWorker.keys()]).toEqual([...fromSequencer.keys()]);
    for (const [sequence, bytes] of fromWorker)
      expect(Buffer.from(bytes).equals(Buffer.from(fromSequencer.get(sequence)!))).toBe(true);
  });
});
