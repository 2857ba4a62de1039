/**
 * The model test's comparison: the keys it signs with, structural equality
 * with a readable first difference, and the normalising of the engine's and
 * the reference model's outputs to one shape (model.test.ts compares them
 * after every step).
 */
import type { ApplyOutcome, InstructionResult, OrderView } from '../src/index.js';
import type { ModelOrderView, ModelOutcome, ModelResult, ModelTrade } from './reference-model.js';

// ---------------------------------------------------------------------------
// Keys and canonical comparison.
// ---------------------------------------------------------------------------

const keyOf = (byte: number): string => Buffer.alloc(32, byte).toString('base64');
export const OPERATOR = keyOf(1);
export const SEPARATE_FEE = keyOf(2);
export const STRANGER = keyOf(3);
export const traderKey = (index: number): string => keyOf(16 + index);

export const canon = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint' ? `${item}n` : item === undefined ? null : item,
  );

/** Structural equality of plain data (objects, arrays, primitives, bigints); undefined fields count as absent. */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let index = 0; index < a.length; index += 1) if (!same(a[index], b[index])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const key in left) if (!same(left[key], right[key])) return false;
  for (const key in right) if (!(key in left) && right[key] !== undefined) return false;
  return true;
}

/** Where two values first differ, as a readable path. */
export function firstDifference(a: unknown, b: unknown, path = ''): string {
  if (same(a, b)) return '';
  if (
    typeof a === 'object' &&
    typeof b === 'object' &&
    a !== null &&
    b !== null &&
    Array.isArray(a) === Array.isArray(b)
  ) {
    if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) {
      return `${path || 'value'}: engine has ${a.length} items, model has ${b.length}`;
    }
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      const found = firstDifference(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`,
      );
      if (found !== '') return found;
    }
  }
  return `${path || 'value'}: engine ${canon(a)}, model ${canon(b)}`;
}

export class Mismatch extends Error {
  override readonly name = 'ModelMismatch';
}

// ---------------------------------------------------------------------------
// Normalising engine and model outputs to one shape.
// ---------------------------------------------------------------------------

/** The named fields of a value, in the order named (a compared view, built from one list rather than by hand). */
export function pickFields<T, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const key of keys) picked[key] = value[key];
  return picked;
}

type OrderLike = OrderView | ModelOrderView;

const orderFields = [
  'orderId',
  'account',
  'market',
  'side',
  'orderType',
  'priceTicks',
  'quantitySteps',
  'quoteQuantityUnits',
  'executedSteps',
  'executedQuoteUnits',
  'timeInForce',
  'postOnly',
  'selfTradePrevention',
  'clientId',
  'status',
  'createdAtMs',
  'triggerPriceTicks',
] as const satisfies readonly (keyof OrderLike)[];

export function pickOrder(order: OrderLike) {
  const remainingSteps = order.quoteQuantityUnits === undefined ? order.quantitySteps - order.executedSteps : undefined;
  return { ...pickFields(order, orderFields), remainingSteps };
}

export const tradeFields = [
  'tradeId',
  'market',
  'priceTicks',
  'quantitySteps',
  'quoteUnits',
  'takerSide',
  'makerOrderId',
  'takerOrderId',
  'makerAccount',
  'takerAccount',
  'makerFeeUnits',
  'takerFeeUnits',
] as const satisfies readonly (keyof ModelTrade)[];

const withdrawalFields = ['withdrawalId', 'account', 'asset', 'quantityUnits', 'status'] as const;
const depositFields = ['account', 'asset', 'quantityUnits', 'blockchain', 'chainTransactionId'] as const;

export function engineResult(result: InstructionResult): ModelResult {
  if (!result.ok) return { ok: false, code: result.rejection.code };
  const value = result.value;
  switch (value.kind) {
    case 'order':
      if (value.attached === undefined) return { ok: true, kind: 'order', order: value.order };
      return {
        ok: true,
        kind: 'order',
        order: value.order,
        attached: [value.attached.takeProfit, value.attached.stopLoss].filter((view) => view !== undefined),
      };
    case 'orders':
      return { ok: true, kind: 'orders', orders: value.orders };
    case 'withdrawal':
      return { ok: true, kind: 'withdrawal', ...pickFields(value.withdrawal, withdrawalFields) };
    case 'deposit':
      return { ok: true, kind: 'deposit', ...pickFields(value.deposit, depositFields) };
    case 'listed':
      return { ok: true, kind: 'listed', symbol: value.symbol };
    case 'reserves':
      // The model generates no reserves statements; the liabilities tree tests cover them.
      throw new Error('unexpected reserves result in the model test');
    case 'attestationRecorded':
      // Attestation records are the node's; apply.test.ts and the replayer tests cover them.
      throw new Error('unexpected attestation record in the model test');
    default:
      // The spot model generates no margin instructions; the margin scenarios cover them.
      throw new Error(`unexpected ${value.kind} result in the model test`);
  }
}

export function pickResult(result: ModelResult) {
  if (!result.ok) return { ok: false, code: result.code };
  switch (result.kind) {
    case 'order':
      return { ok: true, kind: 'order', order: pickOrder(result.order), attached: result.attached?.map(pickOrder) };
    case 'orders':
      return { ok: true, kind: 'orders', orders: result.orders.map(pickOrder) };
    case 'withdrawal':
      return { ok: true, kind: 'withdrawal', ...pickFields(result, withdrawalFields) };
    case 'deposit':
      return { ok: true, kind: 'deposit', ...pickFields(result, depositFields) };
    case 'listed':
      return { ok: true, kind: 'listed', symbol: result.symbol };
  }
}

export function engineTrades(outcome: ApplyOutcome): ModelTrade[] {
  if (!outcome.accepted) return [];
  const trades: ModelTrade[] = [];
  for (const event of outcome.events) if (event.type === 'trade') trades.push(event);
  return trades;
}

export function normaliseEngine(outcome: ApplyOutcome) {
  return {
    accepted: outcome.accepted,
    rejectionCode: outcome.accepted ? undefined : outcome.rejection.code,
    results: outcome.results.map((result) => pickResult(engineResult(result))),
    trades: engineTrades(outcome).map((trade) => pickFields(trade, tradeFields)),
  };
}

export function normaliseModel(outcome: ModelOutcome) {
  return {
    accepted: outcome.accepted,
    rejectionCode: outcome.rejectionCode,
    results: outcome.results.map(pickResult),
    trades: outcome.trades.map((trade) => pickFields(trade, tradeFields)),
  };
}

/** Each taker's fills must walk the book in price-time order. */
export function checkPriceTimeOrder(trades: readonly ModelTrade[]): string | undefined {
  for (let index = 1; index < trades.length; index += 1) {
    const previous = trades[index - 1]!;
    const trade = trades[index]!;
    if (trade.tradeId !== previous.tradeId + 1)
      return `trade ids not consecutive: ${previous.tradeId} then ${trade.tradeId}`;
    if (trade.takerOrderId !== previous.takerOrderId) continue;
    const worse =
      trade.takerSide === 'Bid' ? trade.priceTicks < previous.priceTicks : trade.priceTicks > previous.priceTicks;
    if (worse) return `taker ${trade.takerOrderId} filled at a better price after a worse one`;
    if (trade.priceTicks === previous.priceTicks && trade.makerOrderId <= previous.makerOrderId) {
      return `taker ${trade.takerOrderId} skipped time priority at ${trade.priceTicks}`;
    }
  }
  return undefined;
}
