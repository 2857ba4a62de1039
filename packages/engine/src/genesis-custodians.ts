/**
 * The genesis' optional custodians member (deposit tokens, docs/log-format.md
 * "Genesis and genesis hash"): its canonical form and its shape check.
 */
import type { Genesis } from './state.js';

/** The custodians member, symbols in sorted order; absent when there are none (earlier geneses are unchanged). */
export function canonicalCustodians(custodians: Genesis['custodians']): Record<string, string> | undefined {
  if (custodians === undefined) return undefined;
  // determinism-reviewed: the keys are sorted (by code unit) before use, so their iteration order never shows.
  const symbols = Object.keys(custodians).sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  if (symbols.length === 0) return undefined;
  return Object.fromEntries(symbols.map((symbol) => [symbol, custodians[symbol]!]));
}

/** An object whose every value is a string (the parsed custodians member). */
export function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  // determinism-reviewed: every value is checked, so the answer does not depend on the order.
  return Object.values(value).every((item) => typeof item === 'string');
}
