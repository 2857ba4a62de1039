/**
 * The page against a live custody chain, nothing stubbed: `pnpm start`'s
 * default (main.ts --demo margin with CUSTODY unset) runs anvil, deploys the
 * demo tokens and packages/custody's Vault and the custody service, and
 * serves GET /api/v1/custody, which the page reads itself. A trader deposits
 * on chain; once the node has credited it and a root counting it is final,
 * the page shows the vault's balances as the reserves and the committed root,
 * and "Verify my balance" passes against the root the vault committed.
 * (custody-page.test.ts keeps a stand-in vault for what an honest vault
 * cannot show: reserves short of liabilities, and a committed root that
 * differs from the attested one.)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair } from '@vex/client';
import { CustodyWallet, fetchCustody, type CustodyInfo } from '@vex/client/custody';
import type { Page } from 'playwright-core';
import { createPublicClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeProcess, type NodeProcess } from '../../api/src/node-process.js';
import { anvilAccount, chainClients, confirmed, demoTokenContract, vaultAbi } from '../../custody/src/index.js';
import { buildPageIfStale } from '../scripts/build-page.mjs';
import { ensureChromium, launchChromium, type Browser } from './browser.js';

const artefacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const unavailable = ensureChromium();
const skipped = unavailable === undefined ? '' : ` (skipped: ${unavailable})`;
const title = `the page against pnpm start's live custody chain${skipped}`;
// anvil's development key 1: a test key of every fresh anvil, never a real one.
const ethereumKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

async function until(condition: () => Promise<boolean>, what: string, attempts = 400): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(unavailable !== undefined)(title, { timeout: 240_000 }, () => {
  let node: NodeProcess;
  let custody: CustodyInfo;
  let browser: Browser;
  let page: Page;
  const trader = generateKeyPair();

  /** The latest attestation, once the vault's newest commitment is it and is final. */
  async function finalCommitmentOfLatest(): Promise<{ sequence: number; liabilitiesRoot: string }> {
    const chain = createPublicClient({ transport: http(custody.rpcUrl, { retryCount: 0 }) });
    const read = { address: custody.vault, abi: vaultAbi } as const;
    let latest = { sequence: 0, liabilitiesRoot: '' };
    await until(async () => {
      const served = await (await fetch(`${node.baseUrl}/api/v1/attestations`)).json();
      latest = (served as (typeof latest)[])[0] ?? latest;
      const count = await chain.readContract({ ...read, functionName: 'commitmentCount' });
      if (count === 0n || (await chain.readContract({ ...read, functionName: 'finalCount' })) !== count) return false;
      const committed = await chain.readContract({ ...read, functionName: 'commitments', args: [count] });
      return Number(committed.sequence) === latest.sequence && committed.root === `0x${latest.liabilitiesRoot}`;
    }, 'a final commitment of the latest attestation');
    return latest;
  }

  beforeAll(async () => {
    await buildPageIfStale();
    node = await startNodeProcess(['--demo', 'margin'], { CUSTODY: undefined, PRICE_FEED: 'off', KEEPER: 'off' });
    custody = (await fetchCustody(node.baseUrl))!;
    const wallet = new CustodyWallet(custody, ethereumKey);
    const minter = chainClients(custody.rpcUrl, custody.chainId, anvilAccount(1));
    const usdc = demoTokenContract(minter, custody.tokens.USDC!);
    await confirmed(minter, await usdc.write.mint([wallet.address, 2_500_000n]));
    await wallet.deposit('USDC', 2_500_000n, Buffer.from(trader.publicKey, 'base64'));
    browser = await launchChromium();
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
  });

  it('shows the default start’s vault balances and final root, and a proof passes', async () => {
    expect(Object.keys(custody.tokens)).toEqual(['SOL', 'BTC', 'USDC']);
    const latest = await finalCommitmentOfLatest();
    await page.goto(`${node.baseUrl}/`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
    const figure = async (symbol: string, column: string): Promise<string> =>
      (await page.locator(`[data-figure="${symbol}:${column}"]`).textContent())!.trim();
    expect(await figure('USDC', 'reserves')).toBe('2.5');
    expect(await figure('USDC', 'liabilities')).toBe('2.5');
    expect(await figure('USDC', 'covered')).toBe('yes');
    expect(await page.getByTestId('custody-vault').textContent()).toContain(custody.vault);
    expect(await page.getByTestId('committed-root').textContent()).toBe(
      `Latest committed root: sequence ${latest.sequence}, ${latest.liabilitiesRoot} (final).`,
    );
    await page.fill('#secret', trader.secret);
    await page.click('#fetch-proof');
    const verdict = page.getByTestId('verify-verdict');
    await verdict.waitFor({ timeout: 30_000 });
    expect(await verdict.textContent()).toBe('PASS');
    expect(await page.locator('#verify-result').textContent()).toContain(
      `The vault ${custody.vault} committed this root for sequence ${latest.sequence} (final).`,
    );
    await page.screenshot({ path: path.join(artefacts, 'custody-live.png'), fullPage: true });
  });
});
