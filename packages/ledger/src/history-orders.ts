/**
 * The order history's three records (docs/log-format.md, "History records"):
 * the order record under its id (0x1d, from storage format 7), the order's
 * fields (binary from format 8), rewritten at every change of the order; the order
 * pointers (0x12), written once per entry that accepted orders, naming their
 * accounts; and an account's order ids (0x11), written once per entry and
 * account, listing the orders the entry accepted for that account.
 */
import type { OrderView } from '@vex/engine';
import { asciiSize, RecordReader, writeAscii } from './history-codec.js';
import { readUint64, writeUint64 } from './storage-format.js';

const accountIdLength = 44;

/**
 * The order pointers of one entry (0x12, from storage format 6): writer sequence ‖ the orders the entry accepted, in
 * order of id, naming each order's account, which the order's record (0x1d, under its id) leaves out. An order's
 * account never changes, so its pointer is written once, by the entry that accepted it. One record per entry instead
 * of one per order (format 5): a batch of 20 orders wrote 20 pointers, a fifth of its history records. The record's
 * key is its least order id: ids are handed out in sequence (ExchangeState.nextOrderId), so every id an entry accepts
 * is above the ids of the orders earlier entries accepted and below those of later ones, and the order with id X is
 * in the record with the greatest key ≤ X.
 *
 * From storage format 8 the orders come in runs of one account: per run `u8 count ‖ the account id (44 ASCII bytes)
 * ‖ count × u64 orderId` (formats 6 and 7: `u64 orderId ‖ account id` per order). A batch entry accepts its 20
 * orders for one account, and the account id 20 times was 880 of its record's 1,048 bytes; 214 now. A single order's
 * record is one byte longer.
 */
export function orderPointersValue(sequence: number, orders: readonly OrderView[]): Buffer {
  let size = 8;
  let runLength = 0;
  for (let index = 0; index < orders.length; index += 1) {
    if (startsRun(orders, index, runLength)) {
      size += 1 + accountIdLength;
      runLength = 0;
    }
    size += 8;
    runLength += 1;
  }
  const value = Buffer.allocUnsafe(size);
  writeUint64(value, 0, sequence);
  let offset = 8;
  let countOffset = 0;
  runLength = 0;
  for (let index = 0; index < orders.length; index += 1) {
    const order = orders[index]!;
    if (startsRun(orders, index, runLength)) {
      countOffset = offset;
      value.write(order.account, offset + 1, accountIdLength, 'latin1');
      offset += 1 + accountIdLength;
      runLength = 0;
    }
    writeUint64(value, offset, order.orderId);
    offset += 8;
    runLength += 1;
    value[countOffset] = runLength;
  }
  return value;
}

/** A run's count is one byte. */
const maximumRunLength = 255;

/** Whether order `index` begins a new run, after a run of `runLength` orders: the sizing and the writing agree. */
function startsRun(orders: readonly OrderView[], index: number, runLength: number): boolean {
  return runLength === 0 || runLength === maximumRunLength || orders[index]!.account !== orders[index - 1]!.account;
}

/** The account id an entry's order pointers name for `orderId`, or undefined when it has none for that order. */
export function accountOfOrderPointer(value: Uint8Array, orderId: number): string | undefined {
  let offset = 8;
  while (offset < value.length) {
    const count = value[offset]!;
    const ids = offset + 1 + accountIdLength;
    const end = ids + count * 8;
    if (count === 0 || end > value.length) throw new Error(`not an order pointer record (${value.length} bytes)`);
    for (let id = ids; id < end; id += 8) {
      if (readUint64(value, id) === orderId)
        return Buffer.from(value.buffer, value.byteOffset + offset + 1, accountIdLength).toString('latin1');
    }
    offset = end;
  }
  if (offset !== value.length || value.length === 8)
    throw new Error(`not an order pointer record (${value.length} bytes)`);
  return undefined;
}

/**
 * An account's order ids of one entry (0x11, from storage format 7): writer sequence ‖ each id as a u64, in the
 * order given (the order the entry accepted them in, ascending). Binary, as the pointers: it is read by position.
 */
export function orderIdsValue(sequence: number, orderIds: readonly number[]): Buffer {
  const value = Buffer.allocUnsafe(8 + orderIds.length * 8);
  writeUint64(value, 0, sequence);
  for (let index = 0; index < orderIds.length; index += 1) writeUint64(value, 8 + index * 8, orderIds[index]!);
  return value;
}

/** The order ids of an account's order-ids record, in the order they were written. */
export function orderIdsOf(value: Uint8Array): number[] {
  if (value.length < 16 || value.length % 8 !== 0) throw new Error(`not an order ids record (${value.length} bytes)`);
  const orderIds: number[] = [];
  for (let offset = 8; offset < value.length; offset += 8) orderIds.push(readUint64(value, offset));
  return orderIds;
}

/*
 * An order record (0x1d ‖ u64 order id) is binary from storage format 8 (docs/log-format.md, "History records"):
 * it is written at every change of every order, 28.7 of a batch entry's 50 history records in bench:node, and its
 * JSON array (formats 5 to 7) cost a template of 17 fields and a Buffer.write on the sequencing thread, and 4.2 KB of
 * a batch entry's 9.9 KB in LevelDB. Formats 6 and 7 already left out the account id (every reader has it, from the
 * order's pointer, 0x12, or the account's order-ids record it scans); format 8 also leaves out the order id, which
 * is the key's. Layout: u64 writer sequence ‖ flags ‖ market, order type, time in force, self-trade prevention and
 * status (ASCII, each after its length byte) ‖ price, quantity, [quote quantity], executed quantity, executed quote
 * (decimal, each after its length byte) ‖ [trigger price (decimal)] ‖ [u64 client id] ‖ u64 creation time, the
 * bracketed fields present when their flag is set.
 */
const askFlag = 0x01;
const postOnlyFlag = 0x02;
const reduceOnlyFlag = 0x04;
const quoteQuantityFlag = 0x08;
const clientIdFlag = 0x10;
const triggerPriceFlag = 0x20;
const knownFlags = 0x3f;

export function orderValue(sequence: number, order: OrderView): Buffer {
  const price = order.priceTicks.toString();
  const quantity = order.quantitySteps.toString();
  const quote = order.quoteQuantityUnits === undefined ? undefined : order.quoteQuantityUnits.toString();
  const executed = order.executedSteps.toString();
  const executedQuote = order.executedQuoteUnits.toString();
  const trigger = order.triggerPriceTicks === undefined ? undefined : order.triggerPriceTicks.toString();
  const size =
    8 +
    1 +
    asciiSize(order.market) +
    asciiSize(order.orderType) +
    asciiSize(order.timeInForce) +
    asciiSize(order.selfTradePrevention) +
    asciiSize(order.status) +
    asciiSize(price) +
    asciiSize(quantity) +
    (quote === undefined ? 0 : asciiSize(quote)) +
    asciiSize(executed) +
    asciiSize(executedQuote) +
    (trigger === undefined ? 0 : asciiSize(trigger)) +
    (order.clientId === undefined ? 0 : 8) +
    8;
  const value = Buffer.allocUnsafe(size);
  writeUint64(value, 0, sequence);
  value[8] =
    (order.side === 'Ask' ? askFlag : 0) |
    (order.postOnly ? postOnlyFlag : 0) |
    (order.reduceOnly === true ? reduceOnlyFlag : 0) |
    (quote === undefined ? 0 : quoteQuantityFlag) |
    (order.clientId === undefined ? 0 : clientIdFlag) |
    (trigger === undefined ? 0 : triggerPriceFlag);
  let offset = writeAscii(value, 9, order.market);
  offset = writeAscii(value, offset, order.orderType);
  offset = writeAscii(value, offset, order.timeInForce);
  offset = writeAscii(value, offset, order.selfTradePrevention);
  offset = writeAscii(value, offset, order.status);
  offset = writeAscii(value, offset, price);
  offset = writeAscii(value, offset, quantity);
  if (quote !== undefined) offset = writeAscii(value, offset, quote);
  offset = writeAscii(value, offset, executed);
  offset = writeAscii(value, offset, executedQuote);
  if (trigger !== undefined) offset = writeAscii(value, offset, trigger);
  if (order.clientId !== undefined) {
    writeUint64(value, offset, order.clientId);
    offset += 8;
  }
  writeUint64(value, offset, order.createdAtMs);
  return value;
}

/**
 * The OrderView an order record holds, with the order id of its key and the account its reader has: its keys in the
 * order of the JSON objects of storage formats 1 to 4, and an absent optional field absent (not undefined), as those
 * decoded.
 */
export function decodeOrder(value: Uint8Array, orderId: number, account: string): OrderView {
  const reader = new RecordReader(value, 8, 'order');
  const flags = reader.byte();
  if ((flags & ~knownFlags) !== 0) throw new Error(`an order record with unknown flags 0x${flags.toString(16)}`);
  const market = reader.ascii();
  const orderType = reader.ascii();
  const timeInForce = reader.ascii();
  const selfTradePrevention = reader.ascii();
  const status = reader.ascii();
  const order: Record<string, unknown> = {
    orderId,
    account,
    market,
    side: (flags & askFlag) === 0 ? 'Bid' : 'Ask',
    orderType,
    priceTicks: reader.bigint(),
    quantitySteps: reader.bigint(),
  };
  if ((flags & quoteQuantityFlag) !== 0) order.quoteQuantityUnits = reader.bigint();
  order.executedSteps = reader.bigint();
  order.executedQuoteUnits = reader.bigint();
  order.timeInForce = timeInForce;
  order.postOnly = (flags & postOnlyFlag) !== 0;
  order.selfTradePrevention = selfTradePrevention;
  if ((flags & reduceOnlyFlag) !== 0) order.reduceOnly = true;
  // Read in the record's order (trigger price, then client id), set in the view's.
  const triggerPriceTicks = (flags & triggerPriceFlag) === 0 ? undefined : reader.bigint();
  if ((flags & clientIdFlag) !== 0) order.clientId = reader.uint64();
  if (triggerPriceTicks !== undefined) order.triggerPriceTicks = triggerPriceTicks;
  order.status = status;
  order.createdAtMs = reader.uint64();
  reader.end();
  return order as unknown as OrderView;
}
