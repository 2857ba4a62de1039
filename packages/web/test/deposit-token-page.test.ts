/**
 * A deposit token on the proof-of-reserves page (docs/web.md): a real node
 * whose genesis names a custodian key for USD (fiat held at a bank). The
 * custodian signs a custodianReservesStatement and submits it like any
 * transaction; the operator's own statement for USD is refused. Debian's
 * Chromium loads the page: USD's reserves are the custodian's figure, marked
 * custodian-attested with its key, equal to GET /api/v1/reserves; the other
 * assets stay the operator's statements. Screenshot in packages/web/test-artifacts/.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { encodeSigningString } from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../api/src/config.js';
import {
  deposit,
  freshTimestamp,
  operatorTransaction,
  startTestExchange,
  TestKey,
  type TestExchange,
} from '../../api/src/test-support.js';
import { buildPageIfStale } from '../scripts/build-page.mjs';
import { ensureChromium, launchChromium, type Browser } from './browser.js';
import { figure, getJson } from './page-figures.js';

const artefacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const unavailable = ensureChromium();
const custodian = TestKey.random();

/** The custodian signs its statement with its own key and submits it through POST /api/v1/transactions. */
async function custodianStatement(exchange: TestExchange, quantity: string): Promise<number> {
  const params = { quantity, symbol: 'USD' };
  const message = encodeSigningString(
    [{ instruction: 'custodianReservesStatement', params: Object.entries(params) }],
    freshTimestamp(),
    5000,
  );
  const response = await fetch(`${exchange.baseUrl}/api/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message, publicKey: custodian.apiKey, signature: custodian.sign(message) }),
  });
  return response.status;
}

const title = `a deposit token on the page in Chromium${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`;

describe.skipIf(unavailable !== undefined)(title, { timeout: 240_000 }, () => {
  let exchange: TestExchange;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await buildPageIfStale();
    await mkdir(artefacts, { recursive: true });
    const demo = demoConfig();
    exchange = await startTestExchange({
      attestEveryEntries: 1,
      attestEveryMs: 3_600_000,
      config: {
        ...demo,
        genesis: { ...demo.genesis, custodians: { USD: custodian.apiKey } },
        assets: [...demo.assets, { symbol: 'USD', decimals: 2, displayName: 'US dollar (bank deposits)' }],
      },
    });
    await deposit(exchange, TestKey.random().apiKey, 'USD', '1500.25');
    // The operator may not state a deposit token's reserves (UNAUTHORIZED).
    expect((await operatorTransaction(exchange, 'reservesStatement', { symbol: 'USD', quantity: '9999' })).status).toBe(
      401,
    );
    expect(await custodianStatement(exchange, '1600.75')).toBe(200);
    expect((await operatorTransaction(exchange, 'reservesStatement', { symbol: 'USDC', quantity: '10' })).status).toBe(
      200,
    );
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.goto(`${exchange.baseUrl}/`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await exchange?.close();
  });

  it('shows the custodian’s signed figure as custodian-attested, and the others as the operator’s', async () => {
    const reserves = await getJson(exchange, '/api/v1/reserves');
    const usd = reserves.assets.find((asset: { symbol: string }) => asset.symbol === 'USD');
    expect(usd).toMatchObject({
      reserves: '1600.75',
      reservesAttestedBy: 'custodian',
      custodianKey: custodian.apiKey,
      liabilities: '1500.25',
      short: false,
    });
    const genesis = await getJson(exchange, '/api/v1/genesis');
    expect(genesis.custodians).toEqual({ USD: custodian.apiKey });
    await page.getByTestId('reserves-table').waitFor();
    expect(await figure(page, 'USD', 'reserves')).toBe(usd.reserves);
    expect(await figure(page, 'USD', 'source')).toBe(`custodian-attested (key ${custodian.apiKey})`);
    expect(await figure(page, 'USD', 'covered')).toBe('yes');
    expect(await figure(page, 'USDC', 'reserves')).toBe('10');
    expect(await figure(page, 'USDC', 'source')).toBe('operator’s statement');
    await page.screenshot({ path: `${artefacts}deposit-token.png`, fullPage: true });
  });
});
