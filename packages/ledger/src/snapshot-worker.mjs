// Plain-JavaScript entry of the snapshot worker thread (see snapshot-taker.ts),
// for the same reason as signature-worker.mjs: under `tsx` the .ts module loads
// directly; elsewhere (vitest, plain `node`) through tsx's scoped ESM loader.
try {
  await import('./snapshot-worker.ts');
} catch (error) {
  if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  const { tsImport } = await import('tsx/esm/api');
  await tsImport('./snapshot-worker.ts', import.meta.url);
}
