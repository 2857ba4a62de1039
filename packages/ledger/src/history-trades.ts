/**
 * The fill (0x10) and public trade (0x15) records (docs/log-format.md, "History records"). Formats 6 and 7 stored
 * them as JSON arrays of the record's fields by position; from storage format 8 they are binary, as the order status
 * records (history-orders.ts, history-codec.ts): a trade of the benchmark's batches writes two fills and the public
 * trade, about half of the history's bytes, and the JSON templates were about a third of the history's building on
 * the sequencing thread. A trade's price, quantity and quote amount are turned into decimal once for its two fills
 * and its public trade. From format 7 an account's fills of one entry are one record (history.ts, putFills).
 */
import type { EngineEvent } from '@vex/engine';
import { asciiSize, RecordReader, writeAscii } from './history-codec.js';
import type { FillRecord, PublicTrade } from './history.js';
import { writeUint64 } from './storage-format.js';

type TradeEvent = Extract<EngineEvent, { type: 'trade' }>;
type LiquidationTradeEvent = Extract<EngineEvent, { type: 'perpLiquidationTrade' }>;

/** A trade's amounts as decimal text, shared by its fills and its public trade. */
export interface TradeAmounts {
  readonly price: string;
  readonly quantity: string;
  readonly quote: string;
}

export function tradeAmounts(event: TradeEvent | LiquidationTradeEvent): TradeAmounts {
  return {
    price: event.priceTicks.toString(),
    quantity: event.quantitySteps.toString(),
    quote: event.quoteUnits.toString(),
  };
}

/** One fill as its account's fills record stores it (fillsValue). */
export interface FillFields {
  readonly tradeId: number;
  readonly orderId: number;
  readonly market: string;
  readonly side: 'Bid' | 'Ask';
  readonly amounts: TradeAmounts;
  readonly fee: string;
  readonly feeAsset: string;
  readonly isMaker: boolean;
  readonly systemOrderType: string | undefined;
  readonly timeMs: number;
}

/** One side's fill of a `trade` event; `systemOrderType` only on the taker's fill (a liquidation's order). */
export function tradeFill(
  event: TradeEvent,
  amounts: TradeAmounts,
  isMaker: boolean,
  side: 'Bid' | 'Ask',
  feeAsset: string,
): FillFields {
  return {
    tradeId: event.tradeId,
    orderId: isMaker ? event.makerOrderId : event.takerOrderId,
    market: event.market,
    side,
    amounts,
    fee: (isMaker ? event.makerFeeUnits : event.takerFeeUnits).toString(),
    feeAsset,
    isMaker,
    systemOrderType: isMaker ? undefined : event.systemOrderType,
    timeMs: event.timeMs,
  };
}

/** One side's fill of a position closed off the book by a liquidation: order id 0, no fee. */
export function liquidationFill(
  event: LiquidationTradeEvent,
  amounts: TradeAmounts,
  isCounterparty: boolean,
  feeAsset: string,
): FillFields {
  return {
    tradeId: event.tradeId,
    orderId: 0,
    market: event.market,
    side: isCounterparty === (event.side === 'Ask') ? 'Bid' : 'Ask',
    amounts,
    fee: '0',
    feeAsset,
    isMaker: isCounterparty,
    systemOrderType: event.systemOrderType,
    timeMs: event.timeMs,
  };
}

const askFlag = 0x01;
const makerFlag = 0x02;
const systemOrderTypeFlag = 0x04;
const knownFillFlags = 0x07;

function fillSize(fill: FillFields): number {
  return (
    8 +
    8 +
    1 +
    asciiSize(fill.market) +
    asciiSize(fill.amounts.price) +
    asciiSize(fill.amounts.quantity) +
    asciiSize(fill.amounts.quote) +
    asciiSize(fill.fee) +
    asciiSize(fill.feeAsset) +
    (fill.systemOrderType === undefined ? 0 : asciiSize(fill.systemOrderType)) +
    8
  );
}

/**
 * An account's fills record of one entry (0x10 ‖ account ‖ u64 sequence, storage format 8): u64 writer sequence,
 * then per fill, oldest first: u64 trade id ‖ u64 order id ‖ flags (ask, maker, system order type present) ‖
 * market ‖ price ‖ quantity ‖ quote amount ‖ fee ‖ fee asset ‖ [system order type] ‖ u64 time, the text fields
 * ASCII after their length byte, the amounts in decimal.
 */
export function fillsValue(sequence: number, fills: readonly FillFields[]): Buffer {
  let size = 8;
  for (const fill of fills) size += fillSize(fill);
  const value = Buffer.allocUnsafe(size);
  writeUint64(value, 0, sequence);
  let offset = 8;
  for (const fill of fills) {
    writeUint64(value, offset, fill.tradeId);
    writeUint64(value, offset + 8, fill.orderId);
    value[offset + 16] =
      (fill.side === 'Ask' ? askFlag : 0) |
      (fill.isMaker ? makerFlag : 0) |
      (fill.systemOrderType === undefined ? 0 : systemOrderTypeFlag);
    offset = writeAscii(value, offset + 17, fill.market);
    offset = writeAscii(value, offset, fill.amounts.price);
    offset = writeAscii(value, offset, fill.amounts.quantity);
    offset = writeAscii(value, offset, fill.amounts.quote);
    offset = writeAscii(value, offset, fill.fee);
    offset = writeAscii(value, offset, fill.feeAsset);
    if (fill.systemOrderType !== undefined) offset = writeAscii(value, offset, fill.systemOrderType);
    writeUint64(value, offset, fill.timeMs);
    offset += 8;
  }
  return value;
}

/** The fills of an account's fills record, oldest first, their keys in the order of formats 1 to 5's objects. */
export function decodeFills(value: Uint8Array): FillRecord[] {
  const reader = new RecordReader(value, 8, 'fills');
  if (reader.atEnd()) throw new Error('a fills record without fills');
  const fills: FillRecord[] = [];
  while (!reader.atEnd()) {
    const tradeId = reader.uint64();
    const orderId = reader.uint64();
    const flags = reader.byte();
    if ((flags & ~knownFillFlags) !== 0) throw new Error(`a fill with unknown flags 0x${flags.toString(16)}`);
    const fill: Record<string, unknown> = {
      tradeId,
      orderId,
      market: reader.ascii(),
      side: (flags & askFlag) === 0 ? 'Bid' : 'Ask',
      priceTicks: reader.bigint(),
      quantitySteps: reader.bigint(),
      quoteUnits: reader.bigint(),
      feeUnits: reader.bigint(),
      feeAsset: reader.ascii(),
      isMaker: (flags & makerFlag) !== 0,
    };
    // Absent on a user's fill, not undefined, as formats 1 to 5 read it.
    if ((flags & systemOrderTypeFlag) !== 0) fill.systemOrderType = reader.ascii();
    fill.timeMs = reader.uint64();
    fills.push(fill as unknown as FillRecord);
  }
  return fills;
}

const buyerMakerFlag = 0x01;

/**
 * A public trade record (0x15 ‖ market ‖ u64 trade id, storage format 8): u64 writer sequence ‖ u64 trade id ‖
 * flags (the buyer was the maker) ‖ market ‖ price ‖ quantity ‖ quote amount ‖ u64 time.
 */
export function tradeValue(sequence: number, event: TradeEvent, amounts: TradeAmounts): Buffer {
  const value = Buffer.allocUnsafe(
    8 +
      8 +
      1 +
      asciiSize(event.market) +
      asciiSize(amounts.price) +
      asciiSize(amounts.quantity) +
      asciiSize(amounts.quote) +
      8,
  );
  writeUint64(value, 0, sequence);
  writeUint64(value, 8, event.tradeId);
  value[16] = event.takerSide === 'Ask' ? buyerMakerFlag : 0;
  let offset = writeAscii(value, 17, event.market);
  offset = writeAscii(value, offset, amounts.price);
  offset = writeAscii(value, offset, amounts.quantity);
  offset = writeAscii(value, offset, amounts.quote);
  writeUint64(value, offset, event.timeMs);
  return value;
}

export function decodeTrade(value: Uint8Array): PublicTrade {
  const reader = new RecordReader(value, 8, 'public trade');
  const tradeId = reader.uint64();
  const flags = reader.byte();
  if ((flags & ~buyerMakerFlag) !== 0) throw new Error(`a public trade with unknown flags 0x${flags.toString(16)}`);
  const trade: PublicTrade = {
    tradeId,
    market: reader.ascii(),
    priceTicks: reader.bigint(),
    quantitySteps: reader.bigint(),
    quoteUnits: reader.bigint(),
    isBuyerMaker: flags === buyerMakerFlag,
    timeMs: reader.uint64(),
  };
  reader.end();
  return trade;
}
