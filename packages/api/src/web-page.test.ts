/**
 * The node serves the proof-of-reserves page: GET / is the built index.html
 * (with its content security policy), /assets/ its hashed files; anything else
 * under /assets/ is refused, and /ws is still the WebSocket endpoint.
 */
import { buildPageIfStale } from '@vex/web/build';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestExchange, type TestExchange } from './test-support.js';

describe('the proof-of-reserves page over HTTP', { timeout: 120_000 }, () => {
  let exchange: TestExchange;

  beforeAll(async () => {
    await buildPageIfStale();
    exchange = await startTestExchange();
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('GET / answers the page and its assets', async () => {
    const page = await fetch(`${exchange.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const scripts = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(scripts.some((asset) => asset.endsWith('.js'))).toBe(true);
    for (const asset of scripts) {
      const answer = await fetch(`${exchange.baseUrl}${asset}`);
      expect(answer.status, asset).toBe(200);
      expect(answer.headers.get('cache-control')).toContain('immutable');
      expect(answer.headers.get('content-type')).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
    }
  });

  it('refuses other paths under /assets/ and keeps /ws a WebSocket endpoint', async () => {
    const refusals = [
      ['/assets/missing.js', 404],
      ['/assets/..%2Fpackage.json', 400],
      ['/assets/x.txt', 404],
    ] as const;
    for (const [path, status] of refusals) {
      const answer = await fetch(`${exchange.baseUrl}${path}`);
      expect(answer.status, path).toBe(status);
    }
    expect((await fetch(`${exchange.baseUrl}/ws`)).status).toBe(426);
  });
});
