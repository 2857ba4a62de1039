/**
 * For tests: `pnpm start`'s main.ts as a child process on a fresh data
 * directory and a free port, resolved once it prints its URL; `stop()` sends
 * SIGTERM, waits for the exit and removes the directory.
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

/** Starts main.ts with `args`; `environment` is added to this process's (an undefined value removes a name). */
export async function startNodeProcess(
  args: readonly string[],
  environment: Readonly<Record<string, string | undefined>>,
): Promise<NodeProcess> {
  const dataDirectory = await mkdtemp(join(tmpdir(), 'vex-node-process-'));
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'silent',
    CONFIG: '',
    DATA_DIR: dataDirectory,
    ...environment,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/api/src/main.ts', ...args], {
    cwd: repositoryRoot,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
    await rm(dataDirectory, { recursive: true, force: true });
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
