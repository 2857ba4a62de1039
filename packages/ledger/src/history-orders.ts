/**
 * The order history's two records (docs/log-format.md, "History records"):
 * the order record under its account (0x11), a JSON array of the order's
 * fields, rewritten at every change of the order; and the order pointer
 * under its id (0x12), written once, naming the account.
 */
import type { OrderView } from '@vex/engine';
import { writeUint64 } from './storage-format.js';

const accountIdLength = 44;

/**
 * An order-by-id value: writer sequence ‖ the order's account id (44 ASCII
 * bytes), which names the order's record by account. The order is stored
 * once, under its account: a second copy of its JSON at every change was
 * 29 % of the bytes the node appended (docs/benchmarks.md, nodelog6). An
 * order's account never changes, so this is written once, by the entry that
 * accepted the order.
 */
export function orderPointerValue(sequence: number, account: string): Buffer {
  const value = Buffer.allocUnsafe(8 + accountIdLength);
  writeUint64(value, 0, sequence);
  value.write(account, 8, accountIdLength, 'latin1');
  return value;
}

/** The account id an order-by-id value names. */
export function accountOfOrderPointer(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset + 8, accountIdLength).toString('latin1');
}

/*
 * An order record is a JSON array: the OrderView's fields by position (docs/log-format.md, "History records"). It is
 * written at every change of every order, the largest share of the bytes the node appends, and the field names
 * were more than half of its bytes. Absent optional fields are null; reduceOnly is true or false.
 */
export function orderJson(order: OrderView): string {
  return (
    `[${order.orderId},"${order.account}","${order.market}","${order.side}","${order.orderType}",` +
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
  account: string,
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
const orderRecordLength = 18;

/**
 * The OrderView an order record holds: its keys in the order of the JSON objects of storage formats 1 to 4, and an
 * absent optional field absent (not undefined), as those decoded.
 */
export function decodeOrder(value: Uint8Array): OrderView {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1', 8);
  const fields = JSON.parse(text) as OrderRecordFields;
  if (!Array.isArray(fields) || fields.length !== orderRecordLength) throw new Error(`not an order record: ${text}`);
  // The indices are OrderRecordFields' positions.
  const order: Record<string, unknown> = {
    orderId: fields[0],
    account: fields[1],
    market: fields[2],
    side: fields[3],
    orderType: fields[4],
    priceTicks: BigInt(fields[5]),
    quantitySteps: BigInt(fields[6]),
  };
  if (fields[7] !== null) order.quoteQuantityUnits = BigInt(fields[7]);
  order.executedSteps = BigInt(fields[8]);
  order.executedQuoteUnits = BigInt(fields[9]);
  order.timeInForce = fields[10];
  order.postOnly = fields[11];
  order.selfTradePrevention = fields[12];
  if (fields[13]) order.reduceOnly = true;
  if (fields[14] !== null) order.clientId = fields[14];
  if (fields[15] !== null) order.triggerPriceTicks = BigInt(fields[15]);
  order.status = fields[16];
  order.createdAtMs = fields[17];
  return order as unknown as OrderView;
}
