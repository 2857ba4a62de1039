// Builds the proof-of-reserves page (index.html and app/) with Vite into
// packages/web/dist/, which the node serves at `/` (packages/api/src/web-page.ts).
// Run by the root build (scripts/build.mjs: `pnpm install`, `pnpm build`) when
// the page's sources are newer than its build, and by the page's end-to-end test.
//
//   node packages/web/scripts/build-page.mjs     build now
//   import { buildPageIfStale } from '@vex/web/build'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const webRoot = fileURLToPath(new URL('..', import.meta.url));
export const pageDirectory = path.join(webRoot, 'dist');
const builtPage = path.join(pageDirectory, 'index.html');

function newestSourceMs(directory) {
  let newest = 0;
  for (const item of readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, item.name);
    newest = Math.max(newest, item.isDirectory() ? newestSourceMs(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** True when the page was never built, or a source (app/, index.html, package.json, this script) is newer. */
export function isPageStale() {
  if (!existsSync(builtPage)) return true;
  const built = statSync(builtPage).mtimeMs;
  const sources = ['index.html', 'package.json', 'scripts/build-page.mjs'].map(
    (name) => statSync(path.join(webRoot, name)).mtimeMs,
  );
  return Math.max(newestSourceMs(path.join(webRoot, 'app')), ...sources) > built;
}

export async function buildPage() {
  const { build } = await import('vite');
  const started = performance.now();
  await build({
    root: webRoot,
    configFile: false,
    logLevel: 'warn',
    base: '/',
    build: {
      outDir: pageDirectory,
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      chunkSizeWarningLimit: 1024,
    },
  });
  return { ms: performance.now() - started };
}

const lockDirectory = path.join(webRoot, '.build-lock');
const lockStaleMs = 120_000;

/** Test files run in parallel and each may build: one builds (holding a lock directory), the others wait for it. */
async function withBuildLock(work) {
  for (;;) {
    try {
      mkdirSync(lockDirectory);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      // A lock left by a killed build is taken over once it is old.
      const heldSinceMs = statSync(lockDirectory, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - heldSinceMs > lockStaleMs) rmSync(lockDirectory, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lockDirectory, { recursive: true, force: true });
  }
}

export async function buildPageIfStale() {
  if (!isPageStale()) return undefined;
  return withBuildLock(async () => (isPageStale() ? buildPage() : undefined));
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { ms } = await buildPage();
  process.stdout.write(`built the proof-of-reserves page to packages/web/dist in ${Math.round(ms)} ms\n`);
}
