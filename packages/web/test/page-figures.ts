/** Reading the node's API and the page's figures in the page's end-to-end tests. */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { TestExchange } from '../../api/src/test-support.js';

export async function getJson(exchange: TestExchange, route: string): Promise<any> {
  const response = await fetch(`${exchange.baseUrl}${route}`);
  expect(response.status, route).toBe(200);
  return response.json();
}

/** The text of the reserves table's cell for `symbol` and `column` (its data-figure). */
export async function figure(page: Page, symbol: string, column: string): Promise<string> {
  return (await page.locator(`[data-figure="${symbol}:${column}"]`).textContent())!.trim();
}
