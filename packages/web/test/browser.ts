/**
 * Debian's Chromium for the page's end-to-end tests, driven by playwright-core
 * (which downloads no browser). scripts/install-chromium.sh installs it when
 * /usr/bin/chromium is missing; if that fails the tests are skipped with the
 * reason, except in CI (CI=true), where it is an error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';
const installScript = fileURLToPath(new URL('../scripts/install-chromium.sh', import.meta.url));

/** Undefined when Chromium is there (installed now if need be); else why not. Throws in CI. */
export function ensureChromium(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  const install = spawnSync('bash', [installScript], { encoding: 'utf8', timeout: 15 * 60 * 1000 });
  if (install.status === 0 && existsSync(chromiumPath)) return undefined;
  const output = (install.stderr ?? '').trim().slice(-500);
  const reason = `Chromium is missing and ${installScript} could not install it (exit ${install.status}): ${output}`;
  if (process.env.CI === 'true') throw new Error(reason);
  return reason;
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile directory, removed on close. */
export async function launchChromium(): Promise<Browser> {
  const userDataDirectory = await mkdtemp(path.join(tmpdir(), 'vex-chromium-'));
  // launchPersistentContext is playwright's way to give Chromium its --user-data-dir.
  const context = await chromium.launchPersistentContext(userDataDirectory, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1200, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDirectory, { recursive: true, force: true });
    },
  };
}
