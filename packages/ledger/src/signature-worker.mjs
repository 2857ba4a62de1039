// Plain-JavaScript entry of the signature worker thread (see signature-pool.ts).
//
// Worker threads inherit process.execArgv, so under `tsx` or `node --import tsx`
// a .ts module loads directly. Elsewhere (vitest runs test files in its own
// module runner, which worker threads do not share; plain `node`) Node cannot
// load .ts by itself, so the module is imported through tsx's scoped ESM loader,
// which affects only this import and needs no flags.
let task;
try {
  task = (await import('./signature-worker.ts')).default;
} catch (error) {
  if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  const { tsImport } = await import('tsx/esm/api');
  task = (await tsImport('./signature-worker.ts', import.meta.url)).default;
}
export default task;
