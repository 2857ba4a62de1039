/**
 * `pnpm start`'s numeric settings (SNAPSHOT_EVERY, ATTEST_EVERY_ENTRIES,
 * ATTEST_EVERY_MS, MAXIMUM_PENDING) and SIGNATURE_HANDOFF: a bad value stops start-up with a clear message before
 * the data directory is touched. (The attestation cadence they set is
 * exercised end to end by packages/client/test/attestations.test.ts.)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

function startMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/api/src/main.ts'],
      {
        cwd: repositoryRoot,
        env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent', CONFIG: '', ...env },
        timeout: 60_000,
      },
      (error, _stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
    );
  });
}

describe.concurrent('numeric settings', { timeout: 120_000 }, () => {
  const directories: string[] = [];
  afterAll(async () => {
    for (const directory of directories) await rm(directory, { recursive: true, force: true });
  });

  it.each([
    ['ATTEST_EVERY_ENTRIES', '0', /ATTEST_EVERY_ENTRIES must be a positive whole number of entries, not 0\./],
    ['ATTEST_EVERY_ENTRIES', '1e3', /ATTEST_EVERY_ENTRIES must be a positive whole number of entries, not 1e3\./],
    ['ATTEST_EVERY_MS', '-5', /ATTEST_EVERY_MS must be a positive whole number of milliseconds, not -5\./],
    ['ATTEST_EVERY_MS', '1.5', /ATTEST_EVERY_MS must be a positive whole number of milliseconds, not 1\.5\./],
    ['SNAPSHOT_EVERY', 'often', /SNAPSHOT_EVERY must be a positive whole number of entries, not often\./],
    ['MAXIMUM_PENDING', '0', /MAXIMUM_PENDING must be a positive whole number of transactions, not 0\./],
    ['MAXIMUM_PENDING', '4k', /MAXIMUM_PENDING must be a positive whole number of transactions, not 4k\./],
    ['SIGNATURE_HANDOFF', 'shm', /SIGNATURE_HANDOFF must be ring or messages, not shm\./],
  ])('%s=%s is refused', async (name, value, message) => {
    const parent = await mkdtemp(join(tmpdir(), 'vex-main-settings-'));
    directories.push(parent);
    const dataDirectory = join(parent, 'data');
    const result = await startMain({ DATA_DIR: dataDirectory, [name]: value });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(existsSync(dataDirectory)).toBe(false);
  });
});
