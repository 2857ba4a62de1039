/**
 * The fill (0x10) and public trade (0x15) records (docs/log-format.md, "History records"): from storage format 6,
 * JSON arrays of the record's fields by position. A trade of the benchmark's batches writes three of them (two fills
 * and the public trade), about half of the records the node appends, and the field names were about 40 % of their
 * bytes (in bench:node's batches a fill is 271 bytes with its key, 157 as an array; a public trade 173, 89). From
 * format 7 an account's fills of one entry are one record, an array of these arrays (history.ts, putFills).
 */
import type { EngineEvent } from '@vex/engine';
import type { FillRecord, PublicTrade } from './history.js';

type TradeEvent = Extract<EngineEvent, { type: 'trade' }>;
type LiquidationTradeEvent = Extract<EngineEvent, { type: 'perpLiquidationTrade' }>;

/*
 * Written with templates on the sequencing thread: every string in them is a market or asset symbol ([A-Z0-9_]), an
 * enum value or a Backpack system order type, none of which JSON escapes, so the records are ASCII
 * (asciiRecordValue).
 */

/** One side's fill of a `trade` event; `systemOrderType` only on the taker's fill (a liquidation's order). */
export function fillJson(event: TradeEvent, isMaker: boolean, side: 'Bid' | 'Ask', feeAsset: string): string {
  const systemOrderType = isMaker || event.systemOrderType === undefined ? 'null' : `"${event.systemOrderType}"`;
  return (
    `[${event.tradeId},${isMaker ? event.makerOrderId : event.takerOrderId},"${event.market}","${side}",` +
    `"${event.priceTicks}","${event.quantitySteps}","${event.quoteUnits}",` +
    `"${isMaker ? event.makerFeeUnits : event.takerFeeUnits}","${feeAsset}",${isMaker},${systemOrderType},` +
    `${event.timeMs}]`
  );
}

/** One side's fill of a position closed off the book by a liquidation: order id 0, no fee. */
export function liquidationFillJson(event: LiquidationTradeEvent, isCounterparty: boolean, feeAsset: string): string {
  const side = isCounterparty === (event.side === 'Ask') ? 'Bid' : 'Ask';
  return (
    `[${event.tradeId},0,"${event.market}","${side}","${event.priceTicks}","${event.quantitySteps}",` +
    `"${event.quoteUnits}","0","${feeAsset}",${isCounterparty},"${event.systemOrderType}",${event.timeMs}]`
  );
}

/** A fill record's array, in fillJson's order. */
type FillRecordFields = [
  tradeId: number,
  orderId: number,
  market: string,
  side: FillRecord['side'],
  priceTicks: string,
  quantitySteps: string,
  quoteUnits: string,
  feeUnits: string,
  feeAsset: string,
  isMaker: boolean,
  systemOrderType: string | null,
  timeMs: number,
];
const fillRecordLength = 12;

function recordFields<T extends unknown[]>(value: Uint8Array, length: number, what: string): T {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1', 8);
  const fields = JSON.parse(text) as T;
  if (!Array.isArray(fields) || fields.length !== length) throw new Error(`not a ${what} record: ${text}`);
  return fields;
}

/**
 * The fills of an account's fill record of storage format 7 (0x10 ‖ account ‖ u64 sequence): writer sequence ‖ a
 * JSON array of fill arrays, oldest first.
 */
export function decodeFills(value: Uint8Array): FillRecord[] {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1', 8);
  const list = JSON.parse(text) as FillRecordFields[];
  if (!Array.isArray(list) || list.length === 0) throw new Error(`not a fills record: ${text}`);
  return list.map((fields) => {
    if (!Array.isArray(fields) || fields.length !== fillRecordLength) throw new Error(`not a fills record: ${text}`);
    return fillOfFields(fields);
  });
}

/** The FillRecord of one fill's array: its keys in the order of the JSON objects of formats 1 to 5. */
function fillOfFields(fields: FillRecordFields): FillRecord {
  // The indices are FillRecordFields' positions.
  const fill: Record<string, unknown> = {
    tradeId: fields[0],
    orderId: fields[1],
    market: fields[2],
    side: fields[3],
    priceTicks: BigInt(fields[4]),
    quantitySteps: BigInt(fields[5]),
    quoteUnits: BigInt(fields[6]),
    feeUnits: BigInt(fields[7]),
    feeAsset: fields[8],
    isMaker: fields[9],
  };
  // Absent on a user's fill, not undefined, as formats 1 to 5 read it.
  if (fields[10] !== null) fill.systemOrderType = fields[10];
  fill.timeMs = fields[11];
  return fill as unknown as FillRecord;
}

export function tradeJson(event: TradeEvent): string {
  return (
    `[${event.tradeId},"${event.market}","${event.priceTicks}","${event.quantitySteps}","${event.quoteUnits}",` +
    `${event.takerSide === 'Ask'},${event.timeMs}]`
  );
}

/** A public trade record's array, in tradeJson's order. */
type TradeRecordFields = [
  tradeId: number,
  market: string,
  priceTicks: string,
  quantitySteps: string,
  quoteUnits: string,
  isBuyerMaker: boolean,
  timeMs: number,
];
const tradeRecordLength = 7;

export function decodeTrade(value: Uint8Array): PublicTrade {
  const fields = recordFields<TradeRecordFields>(value, tradeRecordLength, 'public trade');
  return {
    tradeId: fields[0],
    market: fields[1],
    priceTicks: BigInt(fields[2]),
    quantitySteps: BigInt(fields[3]),
    quoteUnits: BigInt(fields[4]),
    isBuyerMaker: fields[5],
    timeMs: fields[6],
  };
}
