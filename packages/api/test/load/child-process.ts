/** The child side of a generator process, and running a module only when it is the entry. */
import { pathToFileURL } from 'node:url';

/**
 * The child side of a generator process (this file's and
 * overload-generator.ts's): answers each parent message with `handle`,
 * reports anything thrown as {type: 'error'}, exits on {type: 'exit'} or when
 * the parent goes away, and after `lifetimeMs` at most, so a test that dies
 * never leaves a generator behind.
 */
export function serveParent<Parent extends { readonly type: string }, Child>(
  description: string,
  lifetimeMs: number,
  handle: (message: Parent, send: (message: Child | { type: 'error'; message: string }) => void) => Promise<void>,
): void {
  const parent = process.send?.bind(process);
  if (parent === undefined) throw new Error(`${description} runs as a child process with an IPC channel`);
  const send = (message: Child | { type: 'error'; message: string }): void => {
    parent(message);
  };
  setTimeout(() => process.exit(3), lifetimeMs).unref();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Parent) => {
    if (message.type === 'exit') process.exit(0);
    handle(message, send).catch((error: unknown) => {
      send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    });
  });
}

/** Runs `main` when `moduleUrl` is the process's entry module (node --import tsx <file>). */
export function runIfEntryModule(moduleUrl: string, description: string, main: () => void): void {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  try {
    main();
  } catch (error) {
    process.stderr.write(
      `${description}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  }
}
