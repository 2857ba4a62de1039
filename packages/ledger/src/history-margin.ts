/**
 * The borrow/lend history (docs/log-format.md, "History records"; the API's
 * /wapi/v1/history/{borrowLend,interest,borrowLend/positions}).
 *
 * Stored: one record per `lendingMovement` event, written in the entry's batch
 * like every history record, so it is a function of that entry alone and a
 * replay rewrites it byte for byte. It holds the movement, where it came from
 * (the other events of the entry say: a liquidation, a borrowLendExecute, or an
 * order's margin flags), the account's scaled position after it and the pool's
 * indexes at that moment.
 *
 * Derived when read: positions, interest and quantities. Interest accrues
 * through the pools' cumulative indexes with no per-account event, so it is
 * counted at each change of a position: the position as it stood after the
 * previous change, valued at this change's index minus at the previous one's
 * (debts rounded up, claims down, as the engine values them). Interest accrued
 * since a position's last change shows at its next change. A socialised loss
 * lowers the supply index, so it shows as negative lend interest.
 */
import { isCanonicalAccountId, type EngineEvent, type ExchangeState, type LendingMovementView } from '@vex/engine';
import type { BatchOperation, LedgerDatabase } from './database.js';
import { keyspaces, prefixRange, writeUint64 } from './storage-format.js';

/** Where a movement came from: Backpack's borrow/lend `source` names, and SocialisedLoss for a written-off debt. */
export type LendingSource = 'Manual' | 'SpotMargin' | 'AutoBorrowRepay' | 'AutoLend' | 'Liquidation' | 'SocialisedLoss';

/** A stored movement: the event, its source and time, and its place in the log (sequence, ordinal within the entry). */
export interface LendingMovementRecord {
  readonly sequence: number;
  readonly ordinal: number;
  readonly asset: string;
  readonly movement: LendingMovementView['movement'];
  readonly source: LendingSource;
  /** The order whose margin flags made the movement. */
  readonly orderId?: number;
  readonly units: bigint;
  readonly lendScaled: bigint;
  readonly borrowScaled: bigint;
  readonly borrowIndex: bigint;
  readonly supplyIndex: bigint;
  readonly timeMs: number;
}

/** A borrow, repayment, lend or redemption. */
export interface BorrowLendRecord {
  readonly eventType: 'Borrow' | 'BorrowRepay' | 'Lend' | 'LendRedeem';
  readonly positionId: string;
  /** The position after it: positive lent, negative borrowed. */
  readonly positionQuantityUnits: bigint;
  readonly quantityUnits: bigint;
  readonly source: LendingSource;
  readonly asset: string;
  readonly timeMs: number;
  readonly orderId?: number;
}

/** Interest counted at a change of a position: paid on a borrow, earned on a lend, since the previous change. */
export interface InterestRecord {
  readonly paymentType: 'Borrow' | 'Lend';
  readonly positionId: string;
  readonly quantityUnits: bigint;
  /** The yearly rate it amounts to over the interval, wad (10^-18); zero for an empty interval. */
  readonly interestRate: bigint;
  readonly intervalMs: number;
  readonly asset: string;
  readonly timeMs: number;
}

/** A lend or borrow position from its opening to its closing. */
export interface LendingPositionRecord {
  readonly positionId: string;
  readonly asset: string;
  readonly side: 'Borrow' | 'Lend';
  readonly state: 'Open' | 'Closed';
  /** As of its last change (zero once closed). */
  readonly quantityUnits: bigint;
  /** The source of the movement that opened it. */
  readonly source: LendingSource;
  readonly cumulativeInterestUnits: bigint;
  /** Interest ÷ (quantity × time), per year, wad; zero before any interest. */
  readonly averageInterestRate: bigint;
  readonly openedAtMs: number;
  readonly updatedAtMs: number;
  readonly closedAtMs?: number;
}

/** Filters and paging of a margin history query; newest first unless `ascending`. */
export interface LendingQuery {
  readonly asset?: string;
  readonly positionId?: string;
  readonly limit?: number;
  readonly offset?: number;
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly ascending?: boolean;
}

export interface BorrowLendQuery extends LendingQuery {
  readonly eventType?: BorrowLendRecord['eventType'];
  /** Any of these sources. */
  readonly sources?: readonly string[];
}

export interface LendingPositionQuery extends LendingQuery {
  readonly side?: 'Borrow' | 'Lend';
  readonly state?: 'Open' | 'Closed';
}

const accountIdLength = 44;
const wad = 10n ** 18n;
const yearMs = 365n * 24n * 3_600_000n;
/** Position ids are sequence × 10,000 + ordinal: an entry reports far fewer movements (50 orders × 4). */
const ordinalsPerEntry = 10_000;

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

function movementPrefix(accountId: string, asset: string | undefined, extra: number): Buffer {
  const assetLength = asset === undefined ? 0 : Buffer.byteLength(asset, 'utf8');
  if (assetLength > 255) throw new RangeError('an asset symbol is longer than 255 bytes');
  const key = Buffer.allocUnsafe(1 + accountIdLength + (asset === undefined ? 0 : 1 + assetLength + extra));
  key[0] = keyspaces.lendingMovementByAccount;
  key.write(accountId, 1, accountIdLength, 'latin1');
  if (asset !== undefined) {
    key[1 + accountIdLength] = assetLength;
    key.write(asset, 2 + accountIdLength, assetLength, 'utf8');
  }
  return key;
}

function movementKey(accountId: string, asset: string, sequence: number, ordinal: number): Buffer {
  const key = movementPrefix(accountId, asset, 12);
  writeUint64(key, key.length - 12, sequence);
  key.writeUInt32BE(ordinal, key.length - 4);
  return key;
}

/** The order each order-driven movement belongs to, and the entry's kind. */
function sourcesOf(events: readonly EngineEvent[]): Array<{ source: LendingSource; orderId?: number }> {
  const liquidation = events.some((event) => event.type === 'liquidation');
  const manual = !liquidation && events.some((event) => event.type === 'borrowLend');
  const sources: Array<{ source: LendingSource; orderId?: number }> = [];
  // A margin order redeems and borrows before its orderAccepted event and repays and lends after its trades.
  const lastOrder = new Map<string, number>();
  const pending: Array<{ account: string; index: number }> = [];
  for (const event of events) {
    if (event.type === 'orderAccepted') {
      lastOrder.set(event.order.account, event.order.orderId);
      for (let index = pending.length - 1; index >= 0; index -= 1) {
        const waiting = pending[index]!;
        if (waiting.account !== event.order.account) continue;
        sources[waiting.index] = { source: 'SpotMargin', orderId: event.order.orderId };
        pending.splice(index, 1);
      }
    }
    if (event.type !== 'lendingMovement') continue;
    const { movement, account } = event.movement;
    if (movement === 'WriteOff') sources.push({ source: 'SocialisedLoss' });
    else if (liquidation) sources.push({ source: 'Liquidation' });
    else if (manual) sources.push({ source: 'Manual' });
    else if (movement === 'Borrow' || movement === 'LendRedeem') {
      pending.push({ account, index: sources.length });
      sources.push({ source: 'SpotMargin' });
    } else {
      const orderId = lastOrder.get(account);
      const source = movement === 'Lend' ? 'AutoLend' : 'AutoBorrowRepay';
      sources.push(orderId === undefined ? { source } : { source, orderId });
    }
  }
  return sources;
}

/**
 * Appends the borrow/lend records of one accepted entry (called by
 * historyOperations when the entry has lendingMovement events). `state` is the
 * state right after the entry: its log time is the entry's.
 */
export function lendingHistoryOperations(
  state: ExchangeState,
  sequence: number,
  events: readonly EngineEvent[],
  operations: BatchOperation[],
): void {
  const sources = sourcesOf(events);
  let ordinal = 0;
  for (const event of events) {
    if (event.type !== 'lendingMovement') continue;
    if (ordinal >= ordinalsPerEntry)
      throw new RangeError(`entry ${sequence} reports over ${ordinalsPerEntry} movements`);
    const view = event.movement;
    const { source, orderId } = sources[ordinal]!;
    const json =
      `{"sequence":${sequence},"ordinal":${ordinal},"asset":"${view.asset}","movement":"${view.movement}",` +
      `"source":"${source}",${orderId === undefined ? '' : `"orderId":${orderId},`}"units":"${view.units}",` +
      `"lendScaled":"${view.lendScaled}","borrowScaled":"${view.borrowScaled}","borrowIndex":"${view.borrowIndex}",` +
      `"supplyIndex":"${view.supplyIndex}","timeMs":${state.logTimeMs}}`;
    const value = Buffer.allocUnsafe(8 + json.length);
    writeUint64(value, 0, sequence);
    value.write(json, 8, json.length, 'latin1');
    operations.push({ type: 'put', key: movementKey(view.account, view.asset, sequence, ordinal), value });
    ordinal += 1;
  }
}

const bigintFields = ['units', 'lendScaled', 'borrowScaled', 'borrowIndex', 'supplyIndex'] as const;

export function decodeLendingMovement(value: Uint8Array): LendingMovementRecord {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8', 8);
  const json = JSON.parse(text) as Record<string, unknown>;
  for (const field of bigintFields) json[field] = BigInt(json[field] as string);
  return json as unknown as LendingMovementRecord;
}

// ---------------------------------------------------------------------------
// Reading and deriving
// ---------------------------------------------------------------------------

/** The account's movements (of one asset, or all), in log order. */
export async function readLendingMovements(
  db: LedgerDatabase,
  accountId: string,
  asset: string | undefined,
): Promise<LendingMovementRecord[]> {
  if (!isCanonicalAccountId(accountId)) return [];
  if (asset !== undefined && Buffer.byteLength(asset, 'utf8') > 255) return [];
  const records: LendingMovementRecord[] = [];
  for await (const value of db.values(prefixRange(movementPrefix(accountId, asset, 0))))
    records.push(decodeLendingMovement(value));
  // Keys group by asset; a query over all assets merges them back into log order.
  if (asset === undefined) records.sort((a, b) => a.sequence - b.sequence || a.ordinal - b.ordinal);
  return records;
}

const claimUnits = (scaled: bigint, index: bigint): bigint => (scaled * index) / wad;
const debtUnits = (scaled: bigint, index: bigint): bigint => (scaled * index + wad - 1n) / wad;

function netUnits(record: LendingMovementRecord): bigint {
  return claimUnits(record.lendScaled, record.supplyIndex) - debtUnits(record.borrowScaled, record.borrowIndex);
}

function yearlyRate(interestUnits: bigint, unitMilliseconds: bigint): bigint {
  return unitMilliseconds <= 0n ? 0n : (interestUnits * yearMs * wad) / unitMilliseconds;
}

interface OpenPosition {
  positionId: string;
  side: 'Borrow' | 'Lend';
  source: LendingSource;
  openedAtMs: number;
  quantityUnits: bigint;
  cumulativeInterestUnits: bigint;
  /** Σ quantity × elapsed time between changes, for the average rate. */
  unitMilliseconds: bigint;
}

export interface LendingHistory {
  readonly borrowLend: BorrowLendRecord[];
  readonly interest: InterestRecord[];
  readonly positions: LendingPositionRecord[];
}

function positionRecord(position: OpenPosition, asset: string, timeMs: number, closed: boolean): LendingPositionRecord {
  return {
    positionId: position.positionId,
    asset,
    side: position.side,
    state: closed ? 'Closed' : 'Open',
    quantityUnits: closed ? 0n : position.quantityUnits,
    source: position.source,
    cumulativeInterestUnits: position.cumulativeInterestUnits,
    averageInterestRate: yearlyRate(position.cumulativeInterestUnits, position.unitMilliseconds),
    openedAtMs: position.openedAtMs,
    updatedAtMs: timeMs,
    ...(closed ? { closedAtMs: timeMs } : {}),
  };
}

/** The interest on `position` between the previous change and `record`, if any accrued. */
function interestSince(
  position: OpenPosition,
  previous: LendingMovementRecord,
  record: LendingMovementRecord,
): InterestRecord | undefined {
  const borrow = position.side === 'Borrow';
  const scaled = borrow ? previous.borrowScaled : previous.lendScaled;
  const value = borrow ? debtUnits : claimUnits;
  const before = value(scaled, borrow ? previous.borrowIndex : previous.supplyIndex);
  const now = value(scaled, borrow ? record.borrowIndex : record.supplyIndex);
  const elapsed = BigInt(record.timeMs - previous.timeMs);
  position.unitMilliseconds += before * elapsed;
  const interest = now - before;
  if (interest === 0n) return undefined;
  position.cumulativeInterestUnits += interest;
  return {
    paymentType: position.side,
    positionId: position.positionId,
    quantityUnits: interest,
    interestRate: yearlyRate(interest, before * elapsed),
    intervalMs: record.timeMs - previous.timeMs,
    asset: record.asset,
    timeMs: record.timeMs,
  };
}

interface AssetWalk {
  position: OpenPosition | undefined;
  previous: LendingMovementRecord | undefined;
}

/** A written-off debt reads as repaid, a written-off lend (of an earlier supply epoch, margin.md 5.2a) as redeemed. */
const writtenOff = (position: OpenPosition): 'BorrowRepay' | 'LendRedeem' =>
  position.side === 'Borrow' ? 'BorrowRepay' : 'LendRedeem';

/** One movement of an asset's walk: interest since the previous change, then the movement, opening or closing. */
function walkMovement(walk: AssetWalk, record: LendingMovementRecord, history: LendingHistory): void {
  let position = walk.position;
  if (position !== undefined && walk.previous !== undefined) {
    const interest = interestSince(position, walk.previous, record);
    if (interest !== undefined) history.interest.push(interest);
  }
  if (position === undefined) {
    position = {
      positionId: String(BigInt(record.sequence) * BigInt(ordinalsPerEntry) + BigInt(record.ordinal)),
      side: record.borrowScaled > 0n ? 'Borrow' : 'Lend',
      source: record.source,
      openedAtMs: record.timeMs,
      quantityUnits: 0n,
      cumulativeInterestUnits: 0n,
      unitMilliseconds: 0n,
    };
  }
  const net = netUnits(record);
  history.borrowLend.push({
    eventType: record.movement === 'WriteOff' ? writtenOff(position) : record.movement,
    positionId: position.positionId,
    positionQuantityUnits: net,
    quantityUnits: record.units,
    source: record.source,
    asset: record.asset,
    timeMs: record.timeMs,
    ...(record.orderId === undefined ? {} : { orderId: record.orderId }),
  });
  position.quantityUnits = net < 0n ? -net : net;
  const closed = position.side === 'Borrow' ? record.borrowScaled === 0n : record.lendScaled === 0n;
  if (closed) history.positions.push(positionRecord(position, record.asset, record.timeMs, true));
  walk.position = closed ? undefined : position;
  walk.previous = record;
}

/**
 * Every borrow/lend record, interest record and position of the movements
 * given (in log order): the first two lists in log order, positions by opening.
 */
export function deriveLendingHistory(records: readonly LendingMovementRecord[]): LendingHistory {
  const history: LendingHistory = { borrowLend: [], interest: [], positions: [] };
  const walks = new Map<string, AssetWalk>();
  for (const record of records) {
    let walk = walks.get(record.asset);
    if (walk === undefined) walks.set(record.asset, (walk = { position: undefined, previous: undefined }));
    walkMovement(walk, record, history);
  }
  for (const { position, previous } of walks.values())
    if (position !== undefined && previous !== undefined)
      history.positions.push(positionRecord(position, previous.asset, previous.timeMs, false));
  // Position ids grow with the log position of the opening movement.
  history.positions.sort((a, b) => (BigInt(a.positionId) < BigInt(b.positionId) ? -1 : 1));
  return history;
}

/**
 * One page of a derived list (in log order): the records of the query's
 * position that `matches` keeps, whose time lies in [fromMs, toMs], newest
 * first unless ascending, after `offset`, at most `limit` (default 100, at
 * most 1,000).
 */
export function lendingPage<T extends { readonly positionId: string }>(
  records: readonly T[],
  query: LendingQuery,
  timeOf: (record: T) => number,
  matches: (record: T) => boolean = () => true,
): T[] {
  const limit = Math.min(1_000, Math.max(0, Math.floor(query.limit ?? 100)));
  const offset = Math.max(0, Math.floor(query.offset ?? 0));
  const kept = records.filter((record) => {
    const time = timeOf(record);
    return (
      (query.positionId === undefined || record.positionId === query.positionId) &&
      (query.fromMs === undefined || time >= query.fromMs) &&
      (query.toMs === undefined || time <= query.toMs) &&
      matches(record)
    );
  });
  if (query.ascending !== true) kept.reverse();
  return kept.slice(offset, offset + limit);
}
