/**
 * The perpetuals' public history (docs/log-format.md, "History records"; the
 * API's /api/v1/fundingRates and the Mark and Index klines).
 *
 * Stored: one record per `perpFunding` event (a settled funding interval of a
 * market) and one per `perpMarkPrice` event (the mark or the index moved),
 * written in the entry's batch like every history record, so each is a
 * function of its entry alone and a replay rewrites it byte for byte. Both
 * are keyed by market and time, so a market's intervals or prices in a time
 * range are one key range.
 */
import type { EngineEvent } from '@vex/engine';
import type { BatchOperation, LedgerDatabase } from './database.js';
import { asciiRecordValue, keyspaces, prefixRange, writeUint64 } from './storage-format.js';

type FundingEvent = Extract<EngineEvent, { type: 'perpFunding' }>;
type MarkPriceEvent = Extract<EngineEvent, { type: 'perpMarkPrice' }>;

/**
 * One settled funding interval of a market: the `perpFunding` event's figures
 * (the interval's end, its rate, average premium, the cumulative index, mark
 * and index after it) and the entry that settled it.
 */
export type FundingIntervalRecord = Omit<FundingEvent, 'type' | 'marketSymbol'> & {
  readonly sequence: number;
  readonly market: string;
};

/** A mark or index move of a market: the `perpMarkPrice` event and its entry. */
export interface MarkPriceRecord {
  readonly sequence: number;
  /** The event's ordinal among the entry's `perpMarkPrice` events. */
  readonly ordinal: number;
  readonly market: string;
  /** The entry's log time. */
  readonly atMs: number;
  readonly markPrice: bigint;
  readonly indexPrice: bigint;
  readonly premiumEstimate: bigint;
}

/** A range of mark records, oldest first; `complete` is false when more than the maximum lay in it. */
export interface MarkPriceRange {
  readonly records: MarkPriceRecord[];
  readonly complete: boolean;
}

function marketPrefix(space: number, market: string, extra: number): Buffer {
  const length = Buffer.byteLength(market, 'utf8');
  if (length > 255) throw new RangeError('a market symbol is longer than 255 bytes');
  const key = Buffer.allocUnsafe(2 + length + extra);
  key[0] = space;
  key[1] = length;
  key.write(market, 2, length, 'utf8');
  return key;
}

function fundingKey(market: string, intervalEndMs: number): Buffer {
  const key = marketPrefix(keyspaces.perpFundingByMarket, market, 8);
  writeUint64(key, key.length - 8, intervalEndMs);
  return key;
}

function markPriceKey(market: string, atMs: number, sequence: number, ordinal: number): Buffer {
  const key = marketPrefix(keyspaces.perpMarkPriceByMarket, market, 20);
  writeUint64(key, key.length - 20, atMs);
  writeUint64(key, key.length - 12, sequence);
  key.writeUInt32BE(ordinal, key.length - 4);
  return key;
}

/** Symbols are checked printable ASCII by the listing, so JSON.stringify of one is its ASCII JSON string. */
function fundingJson(sequence: number, event: FundingEvent): string {
  return (
    `{"sequence":${sequence},"market":${JSON.stringify(event.marketSymbol)},` +
    `"intervalEndMs":${event.intervalEndMs},"fundingRate":"${event.fundingRate}",` +
    `"averagePremium":"${event.averagePremium}","cumulativeFundingIndex":"${event.cumulativeFundingIndex}",` +
    `"markPrice":"${event.markPrice}","indexPrice":"${event.indexPrice}"}`
  );
}

function markPriceJson(sequence: number, ordinal: number, event: MarkPriceEvent): string {
  return (
    `{"sequence":${sequence},"ordinal":${ordinal},"market":${JSON.stringify(event.marketSymbol)},` +
    `"atMs":${event.atMs},"markPrice":"${event.markPrice}","indexPrice":"${event.indexPrice}",` +
    `"premiumEstimate":"${event.premiumEstimate}"}`
  );
}

/** Appends the perpetual records of one accepted entry (called by historyOperations for every entry). */
export function perpHistoryOperations(
  sequence: number,
  events: readonly EngineEvent[],
  operations: BatchOperation[],
): void {
  let markOrdinal = 0;
  for (const event of events) {
    if (event.type === 'perpFunding') {
      const key = fundingKey(event.marketSymbol, event.intervalEndMs);
      operations.push({ type: 'put', key, value: asciiRecordValue(sequence, fundingJson(sequence, event)) });
    } else if (event.type === 'perpMarkPrice') {
      const key = markPriceKey(event.marketSymbol, event.atMs, sequence, markOrdinal);
      operations.push({
        type: 'put',
        key,
        value: asciiRecordValue(sequence, markPriceJson(sequence, markOrdinal, event)),
      });
      markOrdinal += 1;
    }
  }
}

function decodeJson(value: Uint8Array, bigintFields: readonly string[]): Record<string, unknown> {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8', 8);
  const json = JSON.parse(text) as Record<string, unknown>;
  for (const field of bigintFields) json[field] = BigInt(json[field] as string);
  return json;
}

const fundingBigints = ['fundingRate', 'averagePremium', 'cumulativeFundingIndex', 'markPrice', 'indexPrice'];
const markBigints = ['markPrice', 'indexPrice', 'premiumEstimate'];

export function decodeFundingInterval(value: Uint8Array): FundingIntervalRecord {
  return decodeJson(value, fundingBigints) as unknown as FundingIntervalRecord;
}

export function decodeMarkPrice(value: Uint8Array): MarkPriceRecord {
  return decodeJson(value, markBigints) as unknown as MarkPriceRecord;
}

/** Paging of a market's funding intervals: newest first, after `offset`, at most `limit`. */
export interface FundingIntervalQuery {
  readonly limit: number;
  readonly offset?: number;
  readonly fromMs?: number;
  readonly toMs?: number;
}

/** The market's settled funding intervals, newest first (by interval end). */
export async function readFundingIntervals(
  db: LedgerDatabase,
  market: string,
  query: FundingIntervalQuery,
): Promise<FundingIntervalRecord[]> {
  if (Buffer.byteLength(market, 'utf8') > 255 || query.limit < 1) return [];
  const prefix = marketPrefix(keyspaces.perpFundingByMarket, market, 0);
  const range = prefixRange(prefix);
  const bounds = {
    gte: query.fromMs === undefined ? range.gte : fundingKey(market, Math.max(0, query.fromMs)),
    // The last key at or before toMs: anything below the key of toMs + 1.
    lt: query.toMs === undefined ? range.lt : fundingKey(market, Math.max(0, query.toMs + 1)),
  };
  const records: FundingIntervalRecord[] = [];
  let toSkip = query.offset ?? 0;
  for await (const value of db.values({ ...bounds, reverse: true })) {
    if (toSkip > 0) {
      toSkip -= 1;
      continue;
    }
    records.push(decodeFundingInterval(value));
    if (records.length >= query.limit) break;
  }
  return records;
}

/** The market's mark records with fromMs ≤ atMs < toMs, oldest first (log order), at most `maximum`. */
export async function readMarkPricesBetween(
  db: LedgerDatabase,
  market: string,
  fromMs: number,
  toMs: number,
  maximum: number,
): Promise<MarkPriceRange> {
  const records: MarkPriceRecord[] = [];
  if (Buffer.byteLength(market, 'utf8') > 255 || !(fromMs < toMs) || maximum < 1) return { records, complete: true };
  const bounds = { gte: markPriceKey(market, Math.max(0, fromMs), 0, 0), lt: markPriceKey(market, toMs, 0, 0) };
  for await (const value of db.values(bounds)) {
    if (records.length === maximum) return { records, complete: false };
    records.push(decodeMarkPrice(value));
  }
  return { records, complete: true };
}
