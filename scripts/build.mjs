// Compiles every package's src/ (tests excluded) to plain JavaScript in
// packages/<name>/dist/, one .js file per .ts file, with esbuild: no type
// checking (that is `pnpm typecheck`), no bundling, imports left as they are.
// The command-line tools and the node run the compiled code (scripts/launch.mjs)
// with the Node condition `vex-compiled`, under which each package's exports
// name its dist/ files, so nothing is compiled at start-up.
//
//   node scripts/build.mjs          build (root postinstall, `pnpm build`)
//   import { isBuildStale } from …  whether any source is newer than the build
import { readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPageIfStale, isPageStale } from '../packages/web/scripts/build-page.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const packagesDirectory = path.join(root, 'packages');
/** Written last by a successful build; its mtime is the build's time. */
export const stampFile = path.join(packagesDirectory, '.dist-stamp');

function sourceFiles(directory) {
  const files = [];
  for (const item of readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, item.name);
    if (item.isDirectory()) files.push(...sourceFiles(full));
    else if (item.name.endsWith('.ts') && !item.name.endsWith('.test.ts') && !item.name.endsWith('.d.ts'))
      files.push(full);
  }
  return files;
}

function packageNames() {
  return readdirSync(packagesDirectory, { withFileTypes: true })
    .filter((item) => item.isDirectory() && existsSync(path.join(packagesDirectory, item.name, 'src')))
    .map((item) => item.name);
}

/** True when there is no build, or a source file or package.json is newer than it (a few hundred stat calls), or the page's. */
export function isBuildStale() {
  if (isPageStale()) return true;
  let built;
  try {
    built = statSync(stampFile).mtimeMs;
  } catch {
    return true;
  }
  for (const name of packageNames()) {
    const directory = path.join(packagesDirectory, name);
    if (statSync(path.join(directory, 'package.json')).mtimeMs > built) return true;
    for (const file of sourceFiles(path.join(directory, 'src'))) if (statSync(file).mtimeMs > built) return true;
  }
  return false;
}

export async function build() {
  const { build: esbuild } = await import('esbuild');
  const started = performance.now();
  let count = 0;
  for (const name of packageNames()) {
    const directory = path.join(packagesDirectory, name);
    const entryPoints = sourceFiles(path.join(directory, 'src'));
    count += entryPoints.length;
    // Files are overwritten in place (a concurrent launch may be reading them); a removed source leaves a harmless stale .js.
    await esbuild({
      entryPoints,
      outdir: path.join(directory, 'dist'),
      outbase: path.join(directory, 'src'),
      format: 'esm',
      platform: 'node',
      target: 'node20',
      bundle: false,
      sourcemap: 'linked',
      logLevel: 'warning',
    });
  }
  writeFileSync(stampFile, `${new Date().toISOString()}\n`);
  // The proof-of-reserves page (packages/web) is a browser bundle, built with Vite when its sources changed.
  await buildPageIfStale();
  return { files: count, ms: performance.now() - started };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, ms } = await build();
  process.stdout.write(`built ${files} modules to packages/*/dist in ${Math.round(ms)} ms\n`);
}
