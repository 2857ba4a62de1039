/**
 * The first `pnpm start` on a fresh data directory must succeed however busy
 * the machine is (issue: the genesis listings were signed with a 5-second
 * window and failed with INVALID_TIMESTAMP when the signature workers took
 * longer to start). The real entry point runs as a child process on port 0
 * while busy-loop processes keep every core saturated; the node must come up
 * and list the configured markets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

describe('start-up under CPU load', { timeout: 240_000 }, () => {
  const busy: ChildProcess[] = [];
  let node: ChildProcess | undefined;
  let dataDirectory: string | undefined;

  afterAll(async () => {
    for (const child of busy) child.kill('SIGKILL');
    await Promise.all(busy.map(exited));
    if (node !== undefined) {
      node.kill('SIGKILL');
      await exited(node);
    }
    if (dataDirectory !== undefined) await rm(dataDirectory, { recursive: true, force: true });
  });

  it('comes up on a fresh data directory and lists its markets while every core is busy', async () => {
    // One busy loop per core, plus one, so the node competes for every core.
    for (let index = 0; index <= availableParallelism(); index += 1) {
      busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    }
    dataDirectory = await mkdtemp(join(tmpdir(), 'vex-start-load-'));
    node = spawn(process.execPath, ['--import', 'tsx', 'packages/api/src/main.ts'], {
      cwd: repositoryRoot,
      env: { ...process.env, PORT: '0', DATA_DIR: dataDirectory, LOG_LEVEL: 'silent', CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    node.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    node.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const url = await new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const match = /exchange listening on (http:\/\/\S+)/.exec(stdout);
        if (match !== null) resolve(match[1]!);
      };
      node!.stdout!.on('data', check);
      node!.once('exit', (code) => reject(new Error(`pnpm start exited with ${code}: ${stderr}`)));
    });
    const response = await fetch(`${url}/api/v1/markets`);
    expect(response.status).toBe(200);
    const markets = (await response.json()) as Array<{ symbol: string }>;
    expect(markets.map((market) => market.symbol)).toEqual(['SOL_USDC', 'BTC_USDC', 'SOL_USDC_PERP', 'BTC_USDC_PERP']);
    expect(stderr).toBe('');

    node.kill('SIGTERM');
    await exited(node);
    expect(node.exitCode).toBe(0);
  });
});
