/**
 * For tests: a watchtower as its own process, `pnpm replay --watch` (the
 * replayer's CLI under tsx), resolved with its signing URL once it listens.
 * Every child started is killed by killWatchtowers (call it in afterAll).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cliPath = fileURLToPath(new URL('../../replayer/src/cli.ts', import.meta.url));
const children: ChildProcess[] = [];

export interface WatchtowerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
}

export interface WatchtowerArguments {
  readonly nodeUrl: string;
  readonly vault: string;
  readonly rpcUrl: string;
  /** A file holding the committee member's secp256k1 key. */
  readonly keyFile: string;
  /** The signing port; default 0 (any). */
  readonly port?: number;
}

/** Starts `replay --watch`; resolves with its signing URL once it listens. */
export async function startWatchtower(options: WatchtowerArguments): Promise<WatchtowerProcess> {
  const { nodeUrl, vault, rpcUrl, keyFile, port } = options;
  const parameters = ['--watch', nodeUrl, '--vault', vault, '--chain', rpcUrl, '--committee-key', keyFile];
  if (port !== undefined) parameters.push('--port', String(port));
  const child = spawn(process.execPath, ['--import', 'tsx', cliPath, ...parameters], {
    cwd: repositoryRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VEX_COMMITTEE_KEY: undefined, INIT_CWD: undefined },
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // Starting a process that compiles the replayer with tsx takes seconds on a loaded machine: up to a minute.
  for (let waited = 0; waited < 60_000 && !/signing at /.test(output) && child.exitCode === null; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const match = /signing at (http:\/\/\S+)\/sign/.exec(output);
  if (match === null) throw new Error(`the watchtower did not start:\n${output}`);
  return { child, url: match[1]!, output: () => output };
}

/** Kills every watchtower still running (continuing a stopped one first). */
export function killWatchtowers(): void {
  for (const child of children) {
    if (child.exitCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
}
