/**
 * Paging the history's per-account records newest first (history.ts): the records of a key range read backwards,
 * one record per value or several (format 7's fills records), filtered, offset and limited record by record.
 */
import type { LedgerDatabase } from './database.js';
import type { Page } from './history.js';
import { prefixRange } from './storage-format.js';

export const defaultPageLimit = 100;
export const maximumPageLimit = 1_000;

export interface PageFilter<T> {
  readonly timeOf: (record: T) => number;
  readonly marketOf?: (record: T) => string;
  /** Records it rejects are skipped before paging. */
  readonly keep?: (record: T) => boolean;
}

function pageLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return defaultPageLimit;
  return Math.min(maximumPageLimit, Math.max(0, Math.floor(limit)));
}

/** The records under `prefix` newest first, one per value. */
export async function* valuesNewestFirst<T>(
  db: LedgerDatabase,
  prefix: Uint8Array,
  decode: (value: Uint8Array) => T,
): AsyncGenerator<T> {
  for await (const value of db.values({ ...prefixRange(prefix), reverse: true })) yield decode(value);
}

/**
 * The records of the values under `prefix` newest first, where each value holds several, oldest first (an account's
 * fills of one entry): one seek, then the values in reverse key order, each read once.
 */
export async function* groupsNewestFirst<T>(
  db: LedgerDatabase,
  prefix: Uint8Array,
  decodeGroup: (value: Uint8Array) => readonly T[],
): AsyncGenerator<T> {
  for await (const value of db.values({ ...prefixRange(prefix), reverse: true })) {
    const group = decodeGroup(value);
    for (let index = group.length - 1; index >= 0; index -= 1) yield group[index]!;
  }
}

/**
 * A page of `records` (newest first): filtered, offset, limited. Times fall as the records go, so it stops at the
 * first record older than fromMs, and reads no further than the page needs.
 */
export async function pageNewestFirst<T>(records: AsyncIterable<T>, page: Page, filter: PageFilter<T>): Promise<T[]> {
  const limit = pageLimit(page.limit);
  let toSkip = Math.max(0, Math.floor(page.offset ?? 0) || 0);
  const results: T[] = [];
  if (limit === 0) return results;
  const market = filter.marketOf === undefined ? undefined : page.market;
  for await (const record of records) {
    if (market !== undefined && filter.marketOf!(record) !== market) continue;
    if (filter.keep !== undefined && !filter.keep(record)) continue;
    const time = filter.timeOf(record);
    if (page.toMs !== undefined && time > page.toMs) continue;
    if (page.fromMs !== undefined && time < page.fromMs) break;
    if (toSkip > 0) {
      toSkip -= 1;
      continue;
    }
    results.push(record);
    if (results.length >= limit) break;
  }
  return results;
}
