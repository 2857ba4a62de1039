/**
 * The SDK (everything in src/ but the CLI) must run in a browser: no Node
 * built-ins, no Buffer, no process, no fs; only relative imports and the two
 * pure-JavaScript @noble packages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const sourceDirectory = new URL('../src/', import.meta.url);
// The CLI (cli.ts and its command modules, cli-*.ts) is Node-only.
const sdkFiles = readdirSync(sourceDirectory).filter(
  (name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'cli.ts' && !name.startsWith('cli-'),
);
// @vex/engine/verify is the engine's browser-safe subpath (attestations and inclusion proofs),
// @vex/engine/catalogue its instruction catalogue (routes.ts derives the signed routes from it);
// custody.ts reaches the chain with viem and @vex/custody's browser-safe subpath.
const allowedPackages = new Set([
  '@noble/ed25519',
  '@noble/hashes/sha2.js',
  '@vex/engine/verify',
  '@vex/engine/catalogue',
  'viem',
  '@vex/custody/browser',
]);

function code(name: string): string {
  // Comments may mention Node freely; only code counts.
  return readFileSync(new URL(name, sourceDirectory), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1');
}

describe('the SDK is browser-safe', () => {
  it('has the expected modules', () => {
    expect(sdkFiles.sort()).toEqual([
      'base64.ts',
      'client.ts',
      'custody.ts',
      'ed25519.ts',
      'errors.ts',
      'escape.ts',
      'index.ts',
      'keys.ts',
      'routes.ts',
      'signing.ts',
      'types.ts',
    ]);
  });

  it.each(sdkFiles)('%s imports only relative modules, @noble and @vex/engine/verify', (name) => {
    const specifiers = [
      ...code(name).matchAll(/\b(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/g),
    ].map((match) => match[1] ?? match[2] ?? '');
    for (const specifier of specifiers) {
      expect(specifier.startsWith('./') || allowedPackages.has(specifier), `${name} imports ${specifier}`).toBe(true);
    }
    expect(specifiers).not.toContain('./cli.js');
  });

  it.each(sdkFiles)('%s uses no Node globals', (name) => {
    expect(code(name)).not.toMatch(/\b(Buffer|process|require|__dirname|__filename|setImmediate)\b/);
    expect(code(name)).not.toMatch(/['"]node:/);
  });
});
