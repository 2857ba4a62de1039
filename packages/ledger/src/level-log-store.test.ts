import { genesisHash } from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { collect } from '../test/helpers.js';
import { memoryDatabase, sequencedLog } from '../test/sequenced-log.js';
import { LevelLogStore } from './level-log-store.js';
import { LogContinuityError } from './log-store.js';
import { entryKey } from './storage-format.js';

const { genesis, sequenced } = sequencedLog(7, 90);
const genesisPosition = { sequence: 0, entryHash: genesisHash(genesis) };

describe('LevelLogStore', () => {
  test('commit writes each entry and its records in one batch; read gives them back checked, in order', async () => {
    const db = await memoryDatabase();
    const store = new LevelLogStore(db, genesisPosition);
    const record = { type: 'put', key: new Uint8Array([0x7f, 1]), value: new Uint8Array([9]) } as const;
    await store.commit(
      sequenced.slice(0, 10).map((item, index) => ({
        entry: { sequence: item.committed.sequence, encoding: item.encoding },
        records: index === 0 ? [record] : [],
      })),
    );
    expect(store.durableHead().sequence).toBe(10);
    expect(store.durableHead().entryHash).toEqual(sequenced[9]!.committed.entryHash);
    expect(Buffer.from((await db.get(record.key))!)).toEqual(Buffer.from(record.value));
    const batches = await collect(store.read(1));
    const read = batches.flat();
    expect(read.map((entry) => entry.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(read.map((entry) => Buffer.from(entry.encoding))).toEqual(
      sequenced.slice(0, 10).map((item) => Buffer.from(item.encoding)),
    );
    await expect(collect(store.read(3, 5, { sequence: 2, entryHash: new Uint8Array(32) }))).rejects.toThrow(
      LogContinuityError,
    );
    await db.close();
  });

  test('append takes only entries that continue the log, and writes nothing otherwise', async () => {
    const db = await memoryDatabase();
    const store = new LevelLogStore(db, genesisPosition);
    const head = await store.append(sequenced.slice(0, 3).map((item) => item.encoding));
    expect(head.sequence).toBe(3);
    await expect(store.append([sequenced[4]!.encoding])).rejects.toMatchObject({ problem: 'gap' });
    await expect(store.append([sequenced[1]!.encoding])).rejects.toMatchObject({ problem: 'overlap' });
    const forged = new Uint8Array(sequenced[3]!.encoding);
    forged[20]! ^= 1; // inside the previous-hash field
    await expect(store.append([forged])).rejects.toBeInstanceOf(LogContinuityError);
    expect(await db.get(entryKey(4))).toBeUndefined();
    expect((await store.head()).sequence).toBe(3);
    await db.close();
  });

  test('follow delivers what is committed later, chained to the position it starts from, until aborted', async () => {
    const db = await memoryDatabase();
    const store = new LevelLogStore(db, genesisPosition);
    await store.append(sequenced.slice(0, 5).map((item) => item.encoding));
    const controller = new AbortController();
    const seen: number[] = [];
    const following = (async () => {
      for await (const batch of store.follow(
        { sequence: 2, entryHash: sequenced[1]!.committed.entryHash },
        { signal: controller.signal },
      )) {
        seen.push(...batch.map((entry) => entry.sequence));
        if (seen.length === 8) controller.abort();
      }
    })();
    await store.append(sequenced.slice(5, 10).map((item) => item.encoding));
    await following;
    expect(seen).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    await db.close();
  });
});
