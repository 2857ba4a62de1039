/**
 * A local chain for tests and the embedded default (`pnpm start`): anvil from
 * npm @foundry-rs/anvil, whose binary arrives in its platform package. The
 * binary is started directly (not through the package's wrapper script) so
 * that the process id we hold is anvil's own and stopping it by pid stops the
 * chain. It listens on 127.0.0.1 with --port 0 and reports its port on
 * standard output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface Anvil {
  readonly rpcUrl: string;
  readonly port: number;
  readonly pid: number;
  readonly chainId: number;
  /** Stops the chain (SIGTERM to its pid) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface AnvilOptions {
  /** Default 31337, anvil's own. */
  readonly chainId?: number;
  /** Seconds between blocks; default: a block per transaction. */
  readonly blockTimeSeconds?: number;
  /** Milliseconds to wait for the port; default 30,000. */
  readonly startTimeoutMs?: number;
}

/** The anvil binary of this platform, resolved through @foundry-rs/anvil's optional dependency. */
export function anvilBinaryPath(): string {
  const require = createRequire(import.meta.url);
  const wrapper = path.dirname(require.resolve('@foundry-rs/anvil/package.json'));
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const resolved = createRequire(path.join(wrapper, 'package.json')).resolve(`${platformPackage}/package.json`);
  return path.join(path.dirname(resolved), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
}

/** Starts anvil on a free port of 127.0.0.1. */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const chainId = options.chainId ?? 31337;
  const parameters = ['--host', '127.0.0.1', '--port', '0', '--chain-id', String(chainId)];
  if (options.blockTimeSeconds !== undefined) parameters.push('--block-time', String(options.blockTimeSeconds));
  const child = spawn(anvilBinaryPath(), parameters, { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await listeningPort(child, options.startTimeoutMs ?? 30_000);
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    port,
    pid,
    chainId,
    async stop() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      await exited;
    },
  };
}

function listeningPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`anvil did not report its port within ${timeoutMs} ms: ${output.slice(-500)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      // Keep draining its output so that anvil never blocks on a full pipe.
      child.stdout!.resume();
      resolve(Number(match[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`anvil exited with ${code} before listening: ${output.slice(-500)}`));
    });
  });
}
