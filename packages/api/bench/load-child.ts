/** The benchmark's load generator process (packages/api/test/load-generator.ts), asked over IPC. */
import { type ChildProcess, fork } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { ChildMessage } from '../test/load-generator.js';

const repositoryRoot = resolve(import.meta.dirname, '../../..');

export class LoadChild {
  private readonly waiters: Array<(message: ChildMessage) => void> = [];
  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'error') {
        process.stderr.write(`load generator error: ${message.message}\n`);
      }
      this.waiters.shift()?.(message);
    });
  }

  static start(): LoadChild {
    const child = fork(join(repositoryRoot, 'packages/api/test/load-generator.ts'), [], {
      cwd: repositoryRoot,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new LoadChild(child);
  }

  async ask<T extends ChildMessage['type']>(
    message: object,
    expected: T,
    timeoutMs: number,
  ): Promise<Extract<ChildMessage, { type: T }>> {
    const answer = new Promise<ChildMessage>((resolve) => this.waiters.push(resolve));
    this.child.send(message);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the load generator did not answer ${expected} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const reply = await Promise.race([answer, timeout]);
      if (reply.type !== expected)
        throw new Error(
          `the load generator answered ${reply.type}` +
            `${reply.type === 'error' ? `: ${reply.message}` : ''} instead of ${expected}`,
        );
      return reply as Extract<ChildMessage, { type: T }>;
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    if (this.child.connected) this.child.send({ type: 'exit' });
    setTimeout(() => this.child.kill('SIGKILL'), 2_000).unref();
  }
}
