/**
 * The order history's three records (docs/log-format.md, "History records"):
 * the order record under its id (0x1d, from storage format 7), a JSON array
 * of the order's fields, rewritten at every change of the order; the order
 * pointers (0x12), written once per entry that accepted orders, naming their
 * accounts; and an account's order ids (0x11), written once per entry and
 * account, listing the orders the entry accepted for that account.
 */
import type { OrderView } from '@vex/engine';
import { readUint64, writeUint64 } from './storage-format.js';

const accountIdLength = 44;

/**
 * The order pointers of one entry (0x12, from storage format 6): writer sequence ‖ for each order the entry accepted,
 * in order of id, `u64 orderId ‖ the order's account id` (44 ASCII bytes), which the order's record (0x1d, under its
 * id) leaves out. An order's account never changes, so its pointer is written once, by the entry that accepted it.
 * One record per entry instead of one per order (format 5): a batch of 20 orders wrote 20 pointers, a fifth of its
 * history records. The record's key is its least order id: ids are handed out in
 * sequence (ExchangeState.nextOrderId), so every id an entry accepts is above the ids of the orders earlier entries
 * accepted and below those of later ones, and the order with id X is in the record with the greatest key ≤ X.
 */
export function orderPointersValue(sequence: number, orders: readonly OrderView[]): Buffer {
  const value = Buffer.allocUnsafe(8 + orders.length * orderPointerLength);
  writeUint64(value, 0, sequence);
  let offset = 8;
  for (const order of orders) {
    writeUint64(value, offset, order.orderId);
    value.write(order.account, offset + 8, accountIdLength, 'latin1');
    offset += orderPointerLength;
  }
  return value;
}

const orderPointerLength = 8 + accountIdLength;

/** The account id an entry's order pointers name for `orderId`, or undefined when it has none for that order. */
export function accountOfOrderPointer(value: Uint8Array, orderId: number): string | undefined {
  if (value.length < 8 || (value.length - 8) % orderPointerLength !== 0)
    throw new Error(`not an order pointer record (${value.length} bytes)`);
  for (let offset = 8; offset < value.length; offset += orderPointerLength) {
    if (readUint64(value, offset) === orderId)
      return Buffer.from(value.buffer, value.byteOffset + offset + 8, accountIdLength).toString('latin1');
  }
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
 * An order record is a JSON array: the OrderView's fields by position (docs/log-format.md, "History records"). It is
 * written at every change of every order, the largest share of the bytes the node appends, and the field names
 * were more than half of its bytes. Absent optional fields are null; reduceOnly is true or false. From storage
 * format 6 it leaves out the account id (47 of its 176 bytes): every reader has it, from the order's pointer (0x12)
 * or from the account's order-ids record it scans.
 */
export function orderJson(order: OrderView): string {
  return (
    `[${order.orderId},"${order.market}","${order.side}","${order.orderType}",` +
    `"${order.priceTicks}","${order.quantitySteps}",` +
    (order.quoteQuantityUnits === undefined ? 'null,' : `"${order.quoteQuantityUnits}",`) +
    `"${order.executedSteps}","${order.executedQuoteUnits}","${order.timeInForce}",${order.postOnly},` +
    `"${order.selfTradePrevention}",${order.reduceOnly === true},` +
    (order.clientId === undefined ? 'null,' : `${order.clientId},`) +
    (order.triggerPriceTicks === undefined ? 'null,' : `"${order.triggerPriceTicks}",`) +
    `"${order.status}",${order.createdAtMs}]`
  );
}

/** An order record's array, in orderJson's order. */
type OrderRecordFields = [
  orderId: number,
  market: string,
  side: OrderView['side'],
  orderType: OrderView['orderType'],
  priceTicks: string,
  quantitySteps: string,
  quoteQuantityUnits: string | null,
  executedSteps: string,
  executedQuoteUnits: string,
  timeInForce: OrderView['timeInForce'],
  postOnly: boolean,
  selfTradePrevention: OrderView['selfTradePrevention'],
  reduceOnly: boolean,
  clientId: number | null,
  triggerPriceTicks: string | null,
  status: OrderView['status'],
  createdAtMs: number,
];
const orderRecordLength = 17;

/**
 * The OrderView an order record holds: its keys in the order of the JSON objects of storage formats 1 to 4, and an
 * absent optional field absent (not undefined), as those decoded.
 */
export function decodeOrder(value: Uint8Array, account: string): OrderView {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1', 8);
  const fields = JSON.parse(text) as OrderRecordFields;
  if (!Array.isArray(fields) || fields.length !== orderRecordLength) throw new Error(`not an order record: ${text}`);
  // The indices are OrderRecordFields' positions.
  const order: Record<string, unknown> = {
    orderId: fields[0],
    account,
    market: fields[1],
    side: fields[2],
    orderType: fields[3],
    priceTicks: BigInt(fields[4]),
    quantitySteps: BigInt(fields[5]),
  };
  if (fields[6] !== null) order.quoteQuantityUnits = BigInt(fields[6]);
  order.executedSteps = BigInt(fields[7]);
  order.executedQuoteUnits = BigInt(fields[8]);
  order.timeInForce = fields[9];
  order.postOnly = fields[10];
  order.selfTradePrevention = fields[11];
  if (fields[12]) order.reduceOnly = true;
  if (fields[13] !== null) order.clientId = fields[13];
  if (fields[14] !== null) order.triggerPriceTicks = BigInt(fields[14]);
  order.status = fields[15];
  order.createdAtMs = fields[16];
  return order as unknown as OrderView;
}
