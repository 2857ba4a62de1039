import { readdirSync, readFileSync } from 'node:fs';
import {
  apply,
  createState,
  decodeSnapshot,
  encodeEntry,
  encodeState,
  messageDigest,
  sha256,
  stateHashHex,
  type StoredEntry,
} from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { collect, fixture, replayWithEngine, submitInWaves } from '../test/helpers.js';
import { createDatabase } from './database.js';
import { checkNodeOptions } from './node-opening.js';
import { SnapshotTaker } from './snapshot-taker.js';
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

  test('a worker sent an entry out of order, or a malformed one, fails and says which', async () => {
    const encodingOf = (index: number, sequence: number): Uint8Array =>
      encodeEntry({ sequence, ...entries[index]!, previousHash: new Uint8Array(32) });
    const digestOf = (index: number): string =>
      messageDigest(entries[index]!.transaction.publicKey, entries[index]!.transaction.message);
    // Entry 2 is checked only once entry 1 is applied: entry 1 is one the genesis state accepts.
    const accepted = entries.findIndex((entry) => apply(createState(genesis), entry).accepted);
    const first = encodingOf(accepted, 1);
    const wrongVersion = first.slice();
    wrongVersion[0] = 2;
    const cases: Array<[Uint8Array[], RegExp]> = [
      [[encodingOf(0, 2)], /was sent entry 2 after entry 0/],
      [[first, encodingOf(1, 3)], /was sent entry 3 after entry 1/],
      [[first.subarray(0, first.length - 1)], /was sent a malformed entry after entry 0/],
      [[first.subarray(0, 100)], /was sent a malformed entry after entry 0/],
      [[wrongVersion], /was sent a malformed entry after entry 0/],
    ];
    for (const [encodings, expected] of cases) {
      let failure: Error | undefined;
      const taker = new SnapshotTaker(
        createState(genesis),
        0,
        100,
        { write: async () => {}, failed: (error) => (failure = error) },
        0,
        0,
      );
      taker.follow(
        encodings,
        encodings.map((_, index) => digestOf(index === 0 ? accepted : index)),
      );
      // A failure settles the flush too (the taker stops).
      await taker.flush();
      await taker.close();
      expect(failure?.message).toMatch(expected);
    }
  });

  const onLinux = process.platform === 'linux';
  test.runIf(onLinux)('the worker names its thread, so that its CPU can be told apart', async () => {
    const taker = new SnapshotTaker(createState(genesis), 0, 100, { write: async () => {}, failed: () => {} }, 0, 0);
    await taker.flush();
    const names = readdirSync('/proc/self/task').map((threadId) =>
      readFileSync(`/proc/self/task/${threadId}/comm`, 'utf8').trim(),
    );
    await taker.close();
    expect(names).toContain('vex-snapshots');
  });
});
