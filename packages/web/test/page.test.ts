/**
 * The proof-of-reserves page end to end: a real node (LevelDB in a temporary
 * directory, the real server on 127.0.0.1, port 0) with deposits, a trade,
 * reserve statements and an attestation after every entry; Debian's Chromium
 * loads the page the node serves at `/`. The page's figures must equal the
 * API's, a real proof (fetched with a key that signs in the browser, and from a
 * file) must pass, tampered or foreign proofs must fail, and the secret key
 * must never leave the browser. Screenshots go to packages/web/test-artifacts/.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deposit,
  operatorTransaction,
  signedRequest,
  startTestExchange,
  TestKey,
  type TestExchange,
} from '../../api/src/test-support.js';
import { buildPageIfStale } from '../scripts/build-page.mjs';
import { ensureChromium, launchChromium, type Browser } from './browser.js';
import { figure, getJson } from './page-figures.js';

const artefacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const unavailable = ensureChromium();

async function verdictAfter(page: Page, action: () => Promise<void>): Promise<{ verdict: string; text: string }> {
  await page.evaluate("document.getElementById('verify-result').replaceChildren()");
  await action();
  const verdict = page.getByTestId('verify-verdict');
  await verdict.waitFor({ timeout: 30_000 });
  return { verdict: (await verdict.textContent())!, text: (await page.locator('#verify-result').textContent())! };
}

const title = `the proof-of-reserves page in Chromium${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`;

describe.skipIf(unavailable !== undefined)(title, { timeout: 240_000 }, () => {
  let exchange: TestExchange;
  let browser: Browser;
  let page: Page;
  let scratch: string;
  const alice = TestKey.random();
  const bob = TestKey.random();
  const requestsSeen: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await buildPageIfStale();
    await mkdir(artefacts, { recursive: true });
    scratch = await mkdtemp(path.join(tmpdir(), 'vex-web-'));
    exchange = await startTestExchange({ attestEveryEntries: 1, attestEveryMs: 3_600_000 });
    await deposit(exchange, alice.apiKey, 'SOL', '20');
    await deposit(exchange, alice.apiKey, 'USDC', '5000');
    await deposit(exchange, bob.apiKey, 'USDC', '5000.25');
    const ask = await signedRequest(exchange, alice, 'POST', '/api/v1/order', 'orderExecute', {
      body: { symbol: 'SOL_USDC', side: 'Ask', orderType: 'Limit', price: '100', quantity: '2' },
    });
    expect(ask.status).toBe(200);
    const bid = await signedRequest(exchange, bob, 'POST', '/api/v1/order', 'orderExecute', {
      body: { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '100', quantity: '0.5' },
    });
    expect(bid.status).toBe(200);
    // USDC covered with a little to spare, SOL short: both states show.
    expect(
      (await operatorTransaction(exchange, 'reservesStatement', { symbol: 'USDC', quantity: '10000.5' })).status,
    ).toBe(200);
    expect((await operatorTransaction(exchange, 'reservesStatement', { symbol: 'SOL', quantity: '19' })).status).toBe(
      200,
    );
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('request', (request) =>
      requestsSeen.push(`${request.url()} ${JSON.stringify(request.headers())} ${request.postData() ?? ''}`),
    );
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${exchange.baseUrl}/`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await exchange?.close();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  it('shows the API’s figures per asset, and that the reserves are the operator’s statement', async () => {
    const reserves = await getJson(exchange, '/api/v1/reserves');
    expect(reserves.assets.map((asset: { symbol: string }) => asset.symbol)).toEqual(['SOL', 'BTC', 'USDC']);
    for (const asset of reserves.assets) {
      for (const column of ['reserves', 'claims', 'debts', 'liabilities', 'difference']) {
        expect(await figure(page, asset.symbol, column), `${asset.symbol} ${column}`).toBe(asset[column]);
      }
      expect(await figure(page, asset.symbol, 'hole')).toBe('0');
      expect(await figure(page, asset.symbol, 'covered')).toBe(asset.short ? 'SHORT' : 'yes');
    }
    expect(await figure(page, 'USDC', 'difference')).toBe('0.25');
    expect(await figure(page, 'SOL', 'covered')).toBe('SHORT');
    expect(await page.getByTestId('custody-statement').textContent()).toBe(
      "No custody contract configured; reserves are the operator's statement.",
    );
    await page.screenshot({ path: path.join(artefacts, 'overview.png'), fullPage: true });
  });

  it('shows the attestation’s freshness, its signature checked in the browser, and a chart per asset', async () => {
    const [latest] = await getJson(exchange, '/api/v1/attestations');
    const status = await getJson(exchange, '/api/v1/status');
    const freshness = (await page.getByTestId('freshness').textContent())!;
    expect(freshness).toContain(`Latest attestation: sequence ${latest.sequence}`);
    expect(freshness).toContain(`the log head is at ${status.sequence}`);
    expect(await page.getByTestId('attestation-signature').getAttribute('class')).toBe('pass');
    expect(await page.getByTestId('attestation-signature').textContent()).toContain(latest.operatorKey);
    const history = await getJson(exchange, '/api/v1/attestations?from=1&limit=1000');
    expect(await page.locator('#charts > p').textContent()).toBe(`${history.length} recent attestations.`);
    for (const symbol of ['SOL', 'BTC', 'USDC'])
      expect(await page.locator(`[data-chart="${symbol}"] path.line`).count()).toBe(3);
    expect(await page.getByTestId('committee').textContent()).toContain('No committee');
    expect(await page.getByTestId('stress').textContent()).toContain('not in the attestation');
    expect(await page.getByTestId('coverage').textContent()).toContain('not in the attestation');
  });

  it('fetches the proof with a request signed in the browser: it passes, the key stays there', async () => {
    const { verdict, text } = await verdictAfter(page, async () => {
      await page.fill('#secret', alice.secret);
      await page.click('#fetch-proof');
    });
    expect(verdict).toBe('PASS');
    const proof = (await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'proofQuery')).body;
    expect(text).toContain(
      `Account ${alice.apiKey}, leaf ${proof.leafIndex} of the attestation at sequence ${proof.attestation.sequence}.`,
    );
    // Alice sold 0.5 SOL at 100 USDC as the maker.
    expect(text).toContain('SOL: claim 19.5, debt 0');
    expect(text).toMatch(/USDC: claim 50[0-9.]+, debt 0/);
    expect(text).toContain(proof.attestation.liabilitiesRoot);
    await page.screenshot({ path: path.join(artefacts, 'verify-pass.png'), fullPage: true });
    expect(requestsSeen.some((request) => request.includes('/wapi/v1/proof'))).toBe(true);
    expect(requestsSeen.filter((request) => request.includes(alice.secret))).toEqual([]);
  });

  it('passes a proof from a file and fails a tampered one, a forged root and a key with no leaf', async () => {
    const proof = (await signedRequest(exchange, bob, 'GET', '/wapi/v1/proof', 'proofQuery')).body;
    const realFile = path.join(scratch, 'proof.json');
    await writeFile(realFile, JSON.stringify(proof));
    expect((await verdictAfter(page, () => page.setInputFiles('#proof-file', realFile))).verdict).toBe('PASS');

    const tampered = structuredClone(proof);
    const usdc = tampered.balances.find((balance: { symbol: string }) => balance.symbol === 'USDC');
    usdc.claim = (BigInt(usdc.claim) + 1_000_000n).toString();
    const tamperedFile = path.join(scratch, 'tampered.json');
    await writeFile(tamperedFile, JSON.stringify(tampered));
    const failed = await verdictAfter(page, () => page.setInputFiles('#proof-file', tamperedFile));
    expect(failed.verdict).toBe('FAIL');
    expect(failed.text).toContain('The computed root hash is not the attested liabilitiesRoot.');
    await page.screenshot({ path: path.join(artefacts, 'verify-tampered.png'), fullPage: true });

    const forged = { ...proof, attestation: { ...proof.attestation, liabilitiesRoot: '0'.repeat(64) } };
    const forgedFile = path.join(scratch, 'forged.json');
    await writeFile(forgedFile, JSON.stringify(forged));
    const forgedCheck = await verdictAfter(page, () => page.setInputFiles('#proof-file', forgedFile));
    expect(forgedCheck.verdict).toBe('FAIL');
    expect(forgedCheck.text).toContain('The attestation signature does not verify under its operator key.');

    const stranger = TestKey.random();
    const noLeaf = await verdictAfter(page, async () => {
      await page.fill('#secret', stranger.secret);
      await page.click('#fetch-proof');
    });
    expect(noLeaf.verdict).toBe('FAIL');
    expect(noLeaf.text).toMatch(/no leaf|not found/i);
    expect(pageErrors).toEqual([]);
  });

  it('links the log, the attestations and the replayer instructions', async () => {
    expect(await page.locator('a[href="/api/v1/log"]').count()).toBe(1);
    expect(await page.locator('a[href="/api/v1/attestations/export"]').count()).toBe(1);
    expect(await page.locator('#replayer-instructions').textContent()).toContain(`pnpm replay ${exchange.baseUrl}`);
    const log = await page.evaluate(async () => (await fetch('/api/v1/log')).status);
    expect(log).toBe(200);
  });
});

describe.skipIf(unavailable !== undefined)(`${title}, on a node with no deposits`, { timeout: 120_000 }, () => {
  it('loads and shows zero liabilities, every asset covered', async () => {
    await buildPageIfStale();
    const exchange = await startTestExchange({ attestEveryEntries: 10_000, attestEveryMs: 3_600_000 });
    const browser = await launchChromium();
    try {
      const reserves = await getJson(exchange, '/api/v1/reserves');
      const page = await browser.context.newPage();
      await page.goto(`${exchange.baseUrl}/`);
      await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
      for (const asset of reserves.assets) {
        expect(await figure(page, asset.symbol, 'liabilities')).toBe('0');
        expect(await figure(page, asset.symbol, 'covered')).toBe('yes');
      }
      expect(await page.getByTestId('attestation-signature').getAttribute('class')).toBe('pass');
      expect(await page.getByTestId('custody-statement').count()).toBe(1);
    } finally {
      await browser.close();
      await exchange.close();
    }
  });
});
