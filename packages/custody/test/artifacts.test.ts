import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { artifactsFile, artifactsSource, compileContracts } from '../src/compile.js';

// On failure: `pnpm --filter @vex/custody compile` rewrites src/artifacts.ts.
it('the checked-in artefacts are exactly what the pinned compiler makes of contracts/', () => {
  expect(readFileSync(artifactsFile, 'utf8')).toBe(artifactsSource(compileContracts()));
});
