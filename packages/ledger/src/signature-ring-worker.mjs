// Plain-JavaScript entry of a SignatureRing's thread (see signature-ring.ts); it loads the TypeScript module
// the way signature-worker.mjs does.
try {
  await import('./signature-ring-worker.ts');
} catch (error) {
  if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  const { tsImport } = await import('tsx/esm/api');
  await tsImport('./signature-ring-worker.ts', import.meta.url);
}
