// Plain-JavaScript entry of every worker thread the replayer starts (see
// typescript-worker.ts). It loads the TypeScript module named in workerData.
//
// Under `tsx` or `node --import tsx` a worker inherits process.execArgv, and
// a dynamic import of a .ts file from this .mjs entry goes through tsx's
// hooks. Elsewhere (vitest runs test files in its own module runner, which
// worker threads do not share; plain `node`) Node cannot load .ts by itself,
// so the module is imported through tsx's scoped loader, which needs no flags
// and affects only this import.
import { workerData } from 'node:worker_threads';

const moduleUrl = workerData?.typescriptModuleUrl;
if (typeof moduleUrl !== 'string') throw new Error('typescript-worker-entry.mjs needs workerData.typescriptModuleUrl');
try {
  await import(moduleUrl);
} catch (error) {
  if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  const { tsImport } = await import('tsx/esm/api');
  await tsImport(moduleUrl, import.meta.url);
}
