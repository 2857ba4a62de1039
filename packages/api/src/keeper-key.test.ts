/**
 * The built-in keeper's own key (docs/operator.md, "The keeper"): a file of
 * its own in the data directory, generated on first start, kept across
 * restarts, never the operator's key.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keeperKeyFileName, loadOrCreateOperatorKey } from './operator-key.js';

const directories: string[] = [];
afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function newDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'keeper-key-'));
  directories.push(directory);
  return directory;
}

describe('the keeper key', () => {
  it('is generated beside the operator key, distinct from it, mode 0600, and kept', async () => {
    const directory = await newDirectory();
    const operator = await loadOrCreateOperatorKey(directory);
    const keeper = await loadOrCreateOperatorKey(directory, keeperKeyFileName);
    expect(keeper.created).toBe(true);
    expect(keeper.file).toBe(join(directory, 'keeper-key.json'));
    expect(keeper.key.publicKey).not.toBe(operator.key.publicKey);
    expect((await stat(keeper.file)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateOperatorKey(directory, keeperKeyFileName);
    expect(again).toMatchObject({ created: false, file: keeper.file });
    expect(again.key.publicKey).toBe(keeper.key.publicKey);
  });

  it('may live elsewhere (KEEPER_KEY_FILE): an absolute path is used as is', async () => {
    const directory = await newDirectory();
    const elsewhere = join(await newDirectory(), 'my-keeper.json');
    const keeper = await loadOrCreateOperatorKey(directory, elsewhere);
    expect(keeper.file).toBe(elsewhere);
    expect((await loadOrCreateOperatorKey(directory, elsewhere)).key.publicKey).toBe(keeper.key.publicKey);
  });
});
