// Runs a package's compiled entry module: `node --conditions=vex-compiled
// scripts/launch.mjs <package>/<module>.js [arguments…]`, e.g. client/cli.js
// for packages/client/dist/cli.js. If any source is newer than the build (an
// edit since `pnpm install` or `pnpm build`), it rebuilds first, so the tools
// never run stale code. See scripts/build.mjs.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, isBuildStale } from './build.mjs';

const [target, ...rest] = process.argv.slice(2);
const match = /^([a-z-]+)\/([a-z-/]+\.js)$/.exec(target ?? '');
if (match === null) {
  process.stderr.write('usage: node --conditions=vex-compiled scripts/launch.mjs <package>/<module>.js [arguments…]\n');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const entry = path.join(root, 'packages', match[1], 'dist', match[2]);
if (isBuildStale()) {
  const { files, ms } = await build();
  process.stderr.write(`(sources changed: rebuilt ${files} modules in ${Math.round(ms)} ms)\n`);
}
// The entry module runs its main() when it is process.argv[1].
process.argv = [process.argv[0], entry, ...rest];
await import(pathToFileURL(entry).href);
