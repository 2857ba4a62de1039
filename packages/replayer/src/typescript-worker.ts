/**
 * Starts a worker thread on a TypeScript module, under tsx, vitest or plain
 * node alike. The worker's entry is a plain .mjs file that imports the module
 * (typescript-worker-entry.mjs says how), because on Node 20 a worker whose
 * entry is itself a .ts file fails with ERR_UNKNOWN_FILE_EXTENSION even when
 * the parent runs under tsx.
 */
import { Worker } from 'node:worker_threads';

const entryUrl = new URL('./typescript-worker-entry.mjs', import.meta.url);

/** Starts a worker running `moduleUrl` (a .ts or .js module); `workerData` is passed through as workerData.data. */
export function startTypeScriptWorker(moduleUrl: URL, data?: unknown): Worker {
  const workerData = { typescriptModuleUrl: moduleUrl.href, data };
  // Compiled JavaScript (scripts/build.mjs) needs no loader: the module is the worker's entry.
  if (moduleUrl.pathname.endsWith('.js')) return new Worker(moduleUrl, { workerData });
  return new Worker(entryUrl, { workerData });
}
