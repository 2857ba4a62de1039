/**
 * For tests: `pnpm start`'s main.ts as a child process on a fresh data
 * directory (or a given one, kept) and a free port (or PORT), resolved once it
 * prints its URL; `stop()` sends SIGTERM, waits for the exit and removes the
 * directory it made. `nodeProcessFailure` runs one that must fail to start.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface NodeProcess {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/** main.ts with `args` in `dataDirectory`; `environment` is added to this process's (undefined removes a name). */
function spawnNode(
  args: readonly string[],
  environment: Readonly<Record<string, string | undefined>>,
  dataDirectory: string,
) {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'silent',
    CONFIG: '',
    DATA_DIR: dataDirectory,
    ...environment,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return spawn(process.execPath, ['--import', 'tsx', 'packages/api/src/main.ts', ...args], {
    cwd: repositoryRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts main.ts with `args`; with `dataDirectory`, the node keeps its ledger there (a restart resumes it). */
export async function startNodeProcess(
  args: readonly string[],
  environment: Readonly<Record<string, string | undefined>>,
  dataDirectory?: string,
): Promise<NodeProcess> {
  const directory = dataDirectory ?? (await mkdtemp(join(tmpdir(), 'vex-node-process-')));
  const child = spawnNode(args, environment, directory);
  child.stderr.pipe(process.stderr);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
    if (dataDirectory === undefined) await rm(directory, { recursive: true, force: true });
  };
  try {
    const baseUrl = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const match = /exchange listening on (http:\/\/\S+)/.exec(output);
        if (match !== null) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`the node exited with ${code}`)));
    });
    return { baseUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs main.ts with `args` on a fresh data directory until it exits; its exit code and standard error. */
export async function nodeProcessFailure(
  args: readonly string[],
  environment: Readonly<Record<string, string | undefined>>,
): Promise<{ readonly code: number | null; readonly stderr: string }> {
  const directory = await mkdtemp(join(tmpdir(), 'vex-node-process-'));
  try {
    const child = spawnNode(args, environment, directory);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, stderr };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
