/** The exchange server as a child process, for the crash test and the benchmark. */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ServerProcessOptions {
  /** Arguments after the node executable, e.g. ['--import', 'tsx', 'packages/api/src/main.ts']. */
  readonly args: readonly string[];
  readonly cwd: string;
  /** Added to process.env (PORT, DATA_DIR, LOG_LEVEL, ...). */
  readonly env: Readonly<Record<string, string>>;
  /** stdout and stderr both go here (appended). */
  readonly logFile: string;
  readonly startTimeoutMs?: number;
}

export interface ServerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A server started as `node <args>`: resolves once it printed
 * `exchange listening on <url>`, rejects (with the end of its output) if it
 * exits first or does not come up in time.
 */
export class ServerProcess {
  private exitState: ServerExit | undefined;
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly operatorPublicKey: string | undefined,
    readonly logFile: string,
    readonly exited: Promise<ServerExit>,
  ) {
    void exited.then((state) => (this.exitState = state));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.exitState !== undefined;
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const output = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...options.args], {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', output, output],
      });
    } finally {
      closeSync(output);
    }
    let exitState: ServerExit | undefined;
    const exited = new Promise<ServerExit>((resolve) => {
      child.once('exit', (code, signal) => {
        exitState = { code, signal };
        resolve(exitState);
      });
    });
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    const startedAt = Date.now();
    const tail = (): string => readFileSync(options.logFile, 'utf8').split('\n').slice(-25).join('\n');
    for (;;) {
      const text = readFileSync(options.logFile, 'utf8');
      const listening = /exchange listening on (http:\/\/\S+)/.exec(text);
      if (listening !== null) {
        const operator = /operator public key (\S+)/.exec(text);
        return new ServerProcess(child, listening[1]!, operator?.[1], options.logFile, exited);
      }
      if (exitState !== undefined) {
        throw new Error(
          `the server exited (code ${exitState.code}, signal ${exitState.signal}) before listening; ` +
            `its output ends:\n${tail()}`,
        );
      }
      if (Date.now() - startedAt > timeoutMs) {
        child.kill('SIGKILL');
        throw new Error(`the server did not listen within ${timeoutMs} ms; its output ends:\n${tail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  /** Sends `signal` and waits (bounded) for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<ServerExit> {
    this.kill(signal);
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    const result = await Promise.race([this.exited, timer]);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      return this.exited;
    }
    return result;
  }

  logText(): string {
    return readFileSync(this.logFile, 'utf8');
  }
}
