import { readdir } from 'node:fs/promises';
import { Level } from 'level';
import { afterEach, describe, expect, test } from 'vitest';
import { temporaryDirectory } from '../test/helpers.js';
import { createDatabase, type LedgerDatabase, writeBufferBytes } from './database.js';

const removals: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const remove of removals.splice(0)) await remove();
});

/** Writes `megabytes` MiB of 1 KiB values under distinct keys, 1 MiB a batch, closes, and counts LevelDB's tables. */
async function tablesAfterWriting(open: (location: string) => LedgerDatabase, megabytes: number): Promise<number> {
  const directory = await temporaryDirectory();
  removals.push(directory.remove);
  const db = open(`${directory.path}/ledger`);
  await db.open();
  const value = new Uint8Array(1024).fill(7);
  for (let batch = 0; batch < megabytes; batch += 1) {
    const operations = Array.from({ length: 1024 }, (_, index) => ({
      type: 'put' as const,
      key: new Uint8Array([batch >> 8, batch & 0xff, index >> 8, index & 0xff]),
      value,
    }));
    await db.batch(operations);
  }
  // Closing waits for LevelDB's background work: a memtable that filled up has been written out as a table by then.
  await db.close();
  return (await readdir(`${directory.path}/ledger`)).filter((name) => name.endsWith('.ldb')).length;
}

describe("the ledger's LevelDB", () => {
  test('keeps 8 MiB of writes in its write buffer, where LevelDB with its default buffer writes a table', async () => {
    expect(writeBufferBytes).toBe(64 * 1024 * 1024);
    expect(await tablesAfterWriting(createDatabase, 8)).toBe(0);
    // The control: the same writes with LevelDB's default buffer do reach a table (so the count above can fail).
    const withDefaults = (location: string) =>
      new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
    expect(await tablesAfterWriting(withDefaults, 8)).toBeGreaterThan(0);
  });
});
