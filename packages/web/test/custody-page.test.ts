/**
 * The page with a custody contract: a real node and a real chain (anvil) with
 * the stand-in vault of test/chain/StandInVault.sol, whose views are
 * packages/custody's Vault's, kept for what an honest Vault cannot show: reserves
 * short of the liabilities and a committed root that differs from the attested
 * one (custody-page-live.test.ts runs the page against the real Vault and the
 * node's real GET /api/v1/custody). Here the test gives the browser the
 * /api/v1/custody answer for the stand-in; every figure the page shows still
 * comes from the node and the chain. The vault's balances are the reserves, the committed
 * root is checked in "Verify my balance", and a different committed root fails.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deposit, signedRequest, startTestExchange, TestKey, type TestExchange } from '../../api/src/test-support.js';
import { buildPageIfStale } from '../scripts/build-page.mjs';
import { ensureChromium, launchChromium, type Browser } from './browser.js';
import { compileStandIns, deploy, send, startLocalChain, type LocalChain } from './chain/local-chain.js';

const artefacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const unavailable = ensureChromium();
const title = `the page with a custody contract${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`;

async function checkBalance(page: Page, secret: string): Promise<{ verdict: string; text: string }> {
  await page.evaluate("document.getElementById('verify-result').replaceChildren()");
  await page.fill('#secret', secret);
  await page.click('#fetch-proof');
  const verdict = page.getByTestId('verify-verdict');
  await verdict.waitFor({ timeout: 30_000 });
  return { verdict: (await verdict.textContent())!, text: (await page.locator('#verify-result').textContent())! };
}

describe.skipIf(unavailable !== undefined)(title, { timeout: 240_000 }, () => {
  const contracts = compileStandIns();
  let chain: LocalChain;
  let exchange: TestExchange;
  let browser: Browser;
  let page: Page;
  let vault: Address;
  const alice = TestKey.random();
  const bob = TestKey.random();

  async function latestAttestation(): Promise<{ sequence: number; liabilitiesRoot: string }> {
    const served = (await (await fetch(`${exchange.baseUrl}/api/v1/attestations`)).json()) as {
      sequence: number;
      liabilitiesRoot: string;
    }[];
    return served[0]!;
  }

  beforeAll(async () => {
    await buildPageIfStale();
    chain = await startLocalChain();
    const members = ['0x1000000000000000000000000000000000000001', '0x1000000000000000000000000000000000000002'];
    vault = await deploy(chain, contracts.StandInVault, [
      [...members, '0x1000000000000000000000000000000000000003'],
      2n,
    ]);
    const sol = await deploy(chain, contracts.StandInToken, [9]);
    const usdc = await deploy(chain, contracts.StandInToken, [6]);
    await send(chain, sol, contracts.StandInToken, 'mint', [vault, 20_000_000_000n]);
    await send(chain, usdc, contracts.StandInToken, 'mint', [vault, 9_000_000_000n]);
    exchange = await startTestExchange({ attestEveryEntries: 1, attestEveryMs: 3_600_000 });
    await deposit(exchange, alice.apiKey, 'SOL', '20');
    // An earlier commitment, so the page searches among several.
    const early = await latestAttestation();
    await send(chain, vault, contracts.StandInVault, 'commit', [BigInt(early.sequence), `0x${early.liabilitiesRoot}`]);
    await deposit(exchange, alice.apiKey, 'USDC', '5000');
    await deposit(exchange, bob.apiKey, 'USDC', '5000');
    const latest = await latestAttestation();
    await send(chain, vault, contracts.StandInVault, 'commit', [
      BigInt(latest.sequence),
      `0x${latest.liabilitiesRoot}`,
    ]);
    await send(chain, vault, contracts.StandInVault, 'finalizeAll', []);
    const custody = {
      chainId: chain.chainId,
      rpcUrl: chain.rpcUrl,
      vault,
      tokens: { SOL: sol, USDC: usdc },
      committee: members,
      finalityDelaySeconds: 60,
      graceSeconds: 600,
    };
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.route('**/api/v1/custody', (route) => route.fulfill({ json: custody }));
    await page.goto(`${exchange.baseUrl}/`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await exchange?.close();
    await chain?.stop();
  });

  it('shows the vault’s balances read from the chain as the reserves, with its commitments and committee', async () => {
    const figure = async (symbol: string, column: string): Promise<string> =>
      (await page.locator(`[data-figure="${symbol}:${column}"]`).textContent())!.trim();
    expect(await figure('SOL', 'reserves')).toBe('20');
    expect(await figure('SOL', 'covered')).toBe('yes');
    expect(await figure('USDC', 'reserves')).toBe('9000');
    expect(await figure('USDC', 'liabilities')).toBe('10000');
    expect(await figure('USDC', 'difference')).toBe('-1000');
    expect(await figure('USDC', 'covered')).toBe('SHORT');
    expect(await figure('BTC', 'reserves')).toBe('no token');
    expect(await page.getByTestId('custody-vault').textContent()).toContain(vault);
    const latest = await latestAttestation();
    expect(await page.getByTestId('committed-root').textContent()).toBe(
      `Latest committed root: sequence ${latest.sequence}, ${latest.liabilitiesRoot} (final).`,
    );
    expect(await page.getByTestId('committee').textContent()).toContain('at least 2 of its 3 committee members');
    await page.screenshot({ path: path.join(artefacts, 'custody-overview.png'), fullPage: true });
  });

  it('passes a proof whose root the vault committed, and fails one whose committed root differs', async () => {
    const latest = await latestAttestation();
    const passed = await checkBalance(page, alice.secret);
    expect(passed.verdict).toBe('PASS');
    expect(passed.text).toContain(`The vault ${vault} committed this root for sequence ${latest.sequence} (final).`);

    // A new attestation, and the vault holding another root for it.
    await deposit(exchange, bob.apiKey, 'SOL', '1');
    const next = await latestAttestation();
    const proof = (await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'proofQuery')).body;
    expect(proof.attestation.sequence).toBe(next.sequence);
    await send(chain, vault, contracts.StandInVault, 'commit', [BigInt(next.sequence), `0x${'11'.repeat(32)}`]);
    const failed = await checkBalance(page, alice.secret);
    expect(failed.verdict).toBe('FAIL');
    expect(failed.text).toContain(
      `The vault committed a different root for sequence ${next.sequence}: ${'11'.repeat(32)}.`,
    );
    await page.screenshot({ path: path.join(artefacts, 'custody-verify-fail.png'), fullPage: true });
  });
});
