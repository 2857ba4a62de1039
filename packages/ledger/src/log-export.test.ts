import { PassThrough } from 'node:stream';
import { canonicalGenesisBytes, genesisHash, readLogExport } from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { memoryDatabase, sequencedLog } from '../test/sequenced-log.js';
import { LevelLogStore } from './level-log-store.js';
import { exportLog, readLatestSnapshot } from './log-export.js';

const { genesis, sequenced } = sequencedLog(13, 80, 20);

async function storeWithLog() {
  const db = await memoryDatabase();
  const store = new LevelLogStore(db, { sequence: 0, entryHash: genesisHash(genesis) });
  await store.commit(
    sequenced.map((item) => ({
      entry: { sequence: item.committed.sequence, encoding: item.encoding },
      records: item.records,
    })),
  );
  const source = {
    store,
    genesisHash: genesisHash(genesis),
    canonicalGenesis: canonicalGenesisBytes(genesis),
    headSequence: sequenced.length,
  };
  return { db, store, source };
}

async function exported(run: (destination: PassThrough) => Promise<void>): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  await run(sink);
  return Buffer.concat(chunks);
}

describe('log export', () => {
  test('the whole log, or from a sequence, is an export file that readLogExport verifies', async () => {
    const { db, source } = await storeWithLog();
    const whole = await readLogExport(await exported((sink) => exportLog(source, sink, 1)));
    expect(whole.entries.map((entry) => entry.sequence)).toEqual(sequenced.map((item) => item.committed.sequence));
    expect(whole.lastHash).toEqual(sequenced[sequenced.length - 1]!.committed.entryHash);
    const partial = await readLogExport(await exported((sink) => exportLog(source, sink, 30)));
    expect(partial.firstSequence).toBe(30);
    expect(partial.anchorHash).toEqual(sequenced[28]!.committed.entryHash);
    const empty = await readLogExport(await exported((sink) => exportLog(source, sink, sequenced.length + 1)));
    expect(empty.entries).toEqual([]);
    await expect(exported((sink) => exportLog(source, sink, sequenced.length + 2))).rejects.toThrow(RangeError);
    await expect(exported((sink) => exportLog(source, sink, 0))).rejects.toThrow(RangeError);
    await db.close();
  });

  test('the latest snapshot is the newest at or before the head given', async () => {
    const { db } = await storeWithLog();
    const newest = Math.floor(sequenced.length / 20) * 20;
    expect(newest).toBeGreaterThanOrEqual(40);
    expect((await readLatestSnapshot(db, sequenced.length))?.sequence).toBe(newest);
    // Two snapshots are kept: the one before the newest is still there.
    expect((await readLatestSnapshot(db, newest - 1))?.sequence).toBe(newest - 20);
    expect(await readLatestSnapshot(db, 0)).toBeUndefined();
    await db.close();
  });
});
