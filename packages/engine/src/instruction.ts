/**
 * Typed instructions, parsed from the groups of a signing string.
 *
 * This layer checks syntax only: required and permitted keys, enums, integer
 * fields and text fields. Decimal amounts stay strings here because their
 * scale depends on the market or asset, which only the state knows; the
 * engine converts them exactly when it applies the instruction.
 */
import { enumValues, operatorOnlyNames } from './instruction-catalogue.js';
import { maximumClientId, maximumTextLength } from './limits.js';
import type { SignedGroup } from './signing-string.js';
import { parseMarginInstruction } from './margin-instruction-parser.js';
import { parseExitAddressLink, type ExitAddressLinkInstruction } from './exit-address.js';
import type { ForcedExitServeInstruction } from './forced-exit.js';
import { readFields, type Parsed } from './instruction-fields.js';

export type Side = (typeof enumValues.side)[number];
export type OrderType = (typeof enumValues.orderType)[number];
export type TimeInForce = (typeof enumValues.timeInForce)[number];
export type SelfTradePrevention = (typeof enumValues.selfTradePrevention)[number];
export type BorrowLendSide = (typeof enumValues.borrowLendSide)[number];

export interface OrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: OrderType;
  /** Limit price, a decimal string; required for Limit orders, absent for Market orders. */
  readonly price?: string;
  /** Quantity in base asset, a decimal string. */
  readonly quantity?: string;
  /** Market orders only: the quote amount to spend (Bid) or receive (Ask). */
  readonly quoteQuantity?: string;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientId?: number;
  /**
   * A trigger order: the last price at which it is placed (docs/matching.md,
   * section 8); it is then sized by triggerQuantity.
   */
  readonly triggerPrice?: string;
  readonly triggerQuantity?: string;
  /** Attached take-profit and stop-loss: trigger orders on the opposite side, placed with the order. */
  readonly takeProfitTriggerPrice?: string;
  readonly takeProfitLimitPrice?: string;
  readonly stopLossTriggerPrice?: string;
  readonly stopLossLimitPrice?: string;
  /** Spot margin flags (docs/margin.md, "Margin orders"); absent means false. */
  readonly autoBorrow?: boolean;
  readonly autoBorrowRepay?: boolean;
  readonly autoLend?: boolean;
  readonly autoLendRedeem?: boolean;
  /** Perpetuals only: the order may only reduce the account's position (docs/perps.md, "Orders"). */
  readonly reduceOnly?: boolean;
}

export type TraderInstruction =
  | ExitAddressLinkInstruction
  | { readonly kind: 'orderExecute'; readonly orders: readonly OrderRequest[] }
  | { readonly kind: 'orderCancel'; readonly symbol: string; readonly orderId?: number; readonly clientId?: number }
  | { readonly kind: 'orderCancelAll'; readonly symbol: string }
  | {
      readonly kind: 'withdraw';
      readonly symbol: string;
      readonly quantity: string;
      readonly address: string;
      readonly blockchain: string;
    }
  /** Backpack's POST /api/v1/borrowLend: a Lend repays a borrow first, a Borrow redeems a lend first. */
  | {
      readonly kind: 'borrowLendExecute';
      readonly symbol: string;
      readonly side: BorrowLendSide;
      readonly quantity: string;
    }
  /** Backpack's PATCH /api/v1/account: only the fields given change. */
  | {
      readonly kind: 'accountUpdate';
      readonly autoBorrowSettlements?: boolean;
      readonly autoLend?: boolean;
      readonly autoRepayBorrows?: boolean;
      /** A decimal from 1 to the maximum leverage (docs/margin.md). */
      readonly leverageLimit?: string;
    }
  /** Any key: liquidates `account`, accepted only when it is below maintenance margin. */
  | { readonly kind: 'liquidate'; readonly account: string }
  /**
   * The custodian named in the genesis for a deposit token states the reserves
   * it holds (docs/attestation.md, "Reserve statements"); only that key may sign it.
   */
  | { readonly kind: 'custodianReservesStatement'; readonly symbol: string; readonly quantity: string }
  | { readonly kind: 'coveragePoolDeposit'; readonly symbol: string; readonly quantity: string }
  /** `shares`: an unsigned integer count of the pool's shares. */
  | { readonly kind: 'coveragePoolWithdrawRequest'; readonly symbol: string; readonly shares: string }
  | { readonly kind: 'coveragePoolWithdraw'; readonly symbol: string };

/** The margin parameters of a borrowable asset (docs/margin.md, "Listing"); every value a decimal string. */
export interface BorrowLendMarketListing {
  readonly kind: 'borrowLendMarketList';
  readonly symbol: string;
  readonly collateralWeight: string;
  readonly haircutPenalty: string;
  readonly imfBase: string;
  readonly imfFactor: string;
  readonly mmfBase: string;
  readonly mmfFactor: string;
  readonly minimumBorrowRate: string;
  readonly optimalUtilization: string;
  readonly optimalBorrowRate: string;
  readonly maximumBorrowRate: string;
  readonly maxUtilization: string;
  readonly lendFee: string;
  readonly maxPriceMove: string;
  readonly liquidationFee: string;
  readonly liquidationBand: string;
  readonly stressShock: string;
  readonly coveragePoolWithdrawalDelayMs: number;
}

export type OperatorInstruction =
  | ForcedExitServeInstruction
  | BorrowLendMarketListing
  /** An asset's index price in the settlement asset (USDC) per whole unit, a decimal (docs/margin.md, "Prices"). */
  | {
      readonly kind: 'indexPriceUpdate';
      readonly symbol: string;
      readonly price: string;
      /** The feed's publication time; strictly increasing per asset and not after the entry's log time. */
      readonly publishedAtMs: number;
    }
  | {
      readonly kind: 'depositCredit';
      /** Base64 of the credited account's 32-byte public key. */
      readonly account: string;
      readonly symbol: string;
      readonly quantity: string;
      readonly blockchain: string;
      readonly chainTransactionId: string;
    }
  | { readonly kind: 'withdrawalComplete'; readonly withdrawalId: number; readonly chainTransactionId: string }
  | { readonly kind: 'withdrawalFail'; readonly withdrawalId: number; readonly reason: string }
  | { readonly kind: 'assetList'; readonly symbol: string; readonly decimals: number }
  /** The reserves the operator holds of an asset, an exact decimal in the asset's units (docs/attestation.md). */
  | { readonly kind: 'reservesStatement'; readonly symbol: string; readonly quantity: string }
  /**
   * Binds the attestation of entry `sequence` into the log: `digest` is the
   * lower-case hex SHA-256 of its signed message (docs/attestation.md,
   * "Attestation records").
   */
  | { readonly kind: 'attestationRecord'; readonly sequence: number; readonly digest: string }
  | {
      readonly kind: 'marketList';
      readonly symbol: string;
      readonly baseSymbol: string;
      readonly quoteSymbol: string;
      readonly tickSize: string;
      readonly stepSize: string;
      readonly minQuantity: string;
      readonly maxQuantity: string;
      readonly minPrice: string;
      readonly maxPrice: string;
      readonly makerFeeBps: number;
      readonly takerFeeBps: number;
      /** Optional limits (docs/matching.md, section 4.6); absent means the default. */
      readonly maxOpenOrders?: number;
      readonly maxMakersPerOrder?: number;
      /** The smallest order value, a decimal in the quote asset. */
      readonly minOrderValue?: string;
      /** SPOT (absent) or PERP; the fields below are a perpetual's only (docs/perps.md, "Listing"). */
      readonly marketType?: 'SPOT' | 'PERP';
      /** The sqrt margin functions: fraction = max(base, factor × √notional) (decimals). */
      readonly imfBase?: string;
      readonly imfFactor?: string;
      readonly mmfBase?: string;
      readonly mmfFactor?: string;
      /** Default 3,600,000 (hourly). */
      readonly fundingIntervalMs?: number;
      /** Funding rate bounds per interval in basis points, signed (Backpack: "100" and "-100"). */
      readonly fundingRateUpperBoundBps?: number;
      readonly fundingRateLowerBoundBps?: number;
      /** The largest open interest, a decimal in base units (absent: no limit). */
      readonly openInterestLimit?: string;
      /** The mark price band around the index price (Backpack's meanMarkPriceBand), e.g. "1.1" and "0.9". */
      readonly markBandMaxMultiplier?: string;
      readonly markBandMinMultiplier?: string;
    };

/** Signed reads: verified like transactions, answered from state, never logged. */
export const queryInstructions = [
  'balanceQuery',
  'orderQuery',
  'orderQueryAll',
  'fillHistoryQueryAll',
  'orderHistoryQueryAll',
  'depositQueryAll',
  'withdrawalQueryAll',
  'depositAddressQuery',
  'accountQuery',
  'positionQuery',
  'subscribe',
  'proofQuery',
  /**
   * The operator's listing of every account's pending withdrawals
   * (GET /api/v1/operator/withdrawals): not a trader's withdrawalQueryAll.
   */
  'operatorWithdrawalQueryAll',
] as const;
export type QueryName = (typeof queryInstructions)[number];
export interface QueryInstruction {
  readonly kind: 'query';
  readonly name: QueryName;
  readonly params: ReadonlyMap<string, string>;
}

export type Instruction = TraderInstruction | OperatorInstruction | QueryInstruction;
export type TransactionInstruction = TraderInstruction | OperatorInstruction;
export type TransactionKind = TransactionInstruction['kind'];

/** Derived from the instruction catalogue (instruction-catalogue.ts). */
export const operatorInstructionKinds: ReadonlySet<string> = new Set(operatorOnlyNames);

export type InstructionParse =
  | { readonly ok: true; readonly instruction: Instruction }
  | { readonly ok: false; readonly message: string };

export class ParseFailure {
  constructor(readonly message: string) {}
}

/*
 * The parameter readers' patterns, made once: a regular expression literal in a function body is a new RegExp
 * object each time it is evaluated, and these run for nearly every parameter of every log entry. None has the
 * g or y flag, so test() keeps no state between calls.
 */
const unsignedIntegerPattern = /^(0|[1-9][0-9]{0,15})$/;
const printableAsciiPattern = /^[\x20-\x7e]+$/;
const encodingCharacterPattern = /[%&=]/;
const blockchainNamePattern = /^[A-Za-z][A-Za-z0-9]{0,31}$/;
/** A perpetual's symbol carries the suffix _PERP (SOL_USDC_PERP). */
const symbolPattern = /^[A-Z0-9]{1,16}(_[A-Z0-9]{1,16}(_PERP)?)?$/;
const lowerHexDigestPattern = /^[0-9a-f]{64}$/;
/** The last value symbolPattern accepted (none yet: undefined): a memory of one answer, never changing a result. */
let lastValidSymbol: string | undefined;

/** Reads one group's parameters, tracking which keys were consumed so leftovers can be rejected. */
export class ParameterReader {
  /** The keys read, each once. A group has a handful of parameters, so a list is cheaper than a Set per group. */
  private readonly used: string[] = [];
  constructor(private readonly group: SignedGroup) {}

  has(key: string): boolean {
    return this.group.params.has(key);
  }

  optional(key: string): string | undefined {
    const value = this.group.params.get(key);
    if (value !== undefined && !this.used.includes(key)) this.used.push(key);
    return value;
  }

  required(key: string): string {
    const value = this.optional(key);
    if (value === undefined) throw new ParseFailure(`${this.group.instruction} requires "${key}".`);
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const value = fallback === undefined ? this.required(key) : this.optional(key);
    if (value === undefined) return fallback as T;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ParseFailure(`"${key}" must be one of ${allowed.join(', ')}.`);
    }
    return value as T;
  }

  boolean(key: string): boolean {
    const value = this.optional(key);
    if (value === undefined || value === 'false') return false;
    if (value === 'true') return true;
    throw new ParseFailure(`"${key}" must be true or false.`);
  }

  integer(key: string, maximum: number, optional: true): number | undefined;
  integer(key: string, maximum: number, optional?: false): number;
  integer(key: string, maximum: number, optional = false): number | undefined {
    const value = optional ? this.optional(key) : this.required(key);
    if (value === undefined) return undefined;
    if (!unsignedIntegerPattern.test(value)) throw new ParseFailure(`"${key}" must be an unsigned integer.`);
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed) || parsed > maximum) throw new ParseFailure(`"${key}" is out of range.`);
    return parsed;
  }

  text(key: string): string {
    const value = this.required(key);
    // Printable ASCII only: no control characters, nothing that could be
    // confused on display, and no `%`, `&` or `=` that would make the raw and
    // percent-encoded signing strings mean different things.
    if (
      value.length > maximumTextLength ||
      !printableAsciiPattern.test(value) ||
      encodingCharacterPattern.test(value)
    ) {
      throw new ParseFailure(
        `"${key}" must be 1 to ${maximumTextLength} printable ASCII characters without %, & or =.`,
      );
    }
    return value;
  }

  /** Blockchain names are plain identifiers ("Solana", "Ethereum"), so `blockchain:transaction` keys cannot collide. */
  blockchain(key: string): string {
    const value = this.required(key);
    if (!blockchainNamePattern.test(value))
      throw new ParseFailure(`"${key}" must be a blockchain name: a letter, then up to 31 letters or digits.`);
    return value;
  }

  symbol(key: string): string {
    const value = this.required(key);
    // Nearly every entry names the market the one before it named: a value equal to the last valid symbol is valid.
    if (value === lastValidSymbol) return value;
    if (!symbolPattern.test(value)) throw new ParseFailure(`"${key}" is not a valid symbol.`);
    lastValidSymbol = value;
    return value;
  }

  finish(): void {
    // Every key read is one of the group's, listed once: as many as the group holds means none is left over.
    if (this.used.length === this.group.params.size) return;
    for (const key of this.group.params.keys()) {
      if (!this.used.includes(key)) throw new ParseFailure(`${this.group.instruction} does not take "${key}".`);
    }
  }
}

const triggerByKeys = ['triggerBy', 'takeProfitTriggerBy', 'stopLossTriggerBy'] as const;

function parseOrder(reader: ParameterReader): OrderRequest {
  const symbol = reader.symbol('symbol');
  const side = reader.oneOf('side', enumValues.side);
  const orderType = reader.oneOf('orderType', enumValues.orderType);
  const price = reader.optional('price');
  const quantity = reader.optional('quantity');
  const quoteQuantity = reader.optional('quoteQuantity');
  const timeInForce = reader.oneOf('timeInForce', enumValues.timeInForce, 'GTC');
  const postOnly = reader.boolean('postOnly');
  const selfTradePrevention = reader.oneOf('selfTradePrevention', enumValues.selfTradePrevention, 'RejectTaker');
  const marginFlags = parseMarginFlags(reader);
  const clientId = reader.integer('clientId', maximumClientId, true);
  // Only a perpetual's orders may be reduce-only: resolveOrderRequest refuses it on a spot market.
  const reduceOnly = reader.boolean('reduceOnly') ? true : undefined;
  const triggerPrice = reader.optional('triggerPrice');
  const triggerQuantity = reader.optional('triggerQuantity');
  const takeProfitTriggerPrice = reader.optional('takeProfitTriggerPrice');
  const takeProfitLimitPrice = reader.optional('takeProfitLimitPrice');
  const stopLossTriggerPrice = reader.optional('stopLossTriggerPrice');
  const stopLossLimitPrice = reader.optional('stopLossLimitPrice');
  // Triggers follow the last trade price; mark and index prices do not exist yet.
  for (const key of triggerByKeys) reader.oneOf(key, enumValues.triggerBy, 'LastPrice');
  if ((triggerPrice === undefined) !== (triggerQuantity === undefined)) {
    throw new ParseFailure('A trigger order requires both "triggerPrice" and "triggerQuantity".');
  }
  const attached = takeProfitTriggerPrice !== undefined || stopLossTriggerPrice !== undefined;
  if (takeProfitLimitPrice !== undefined && takeProfitTriggerPrice === undefined)
    throw new ParseFailure('"takeProfitLimitPrice" requires "takeProfitTriggerPrice".');
  if (stopLossLimitPrice !== undefined && stopLossTriggerPrice === undefined)
    throw new ParseFailure('"stopLossLimitPrice" requires "stopLossTriggerPrice".');
  if (triggerPrice !== undefined) {
    if (quantity !== undefined || quoteQuantity !== undefined)
      throw new ParseFailure('A trigger order is sized by "triggerQuantity" only.');
    if (attached) throw new ParseFailure('A trigger order cannot carry a take-profit or stop-loss.');
  }
  if (attached && quantity === undefined)
    throw new ParseFailure('An order with a take-profit or stop-loss must be sized by "quantity".');
  const sized = quantity ?? triggerQuantity;
  checkOrderTypeFields(orderType, price, sized, quoteQuantity, postOnly, timeInForce);
  // An optional field not given is absent, not present as undefined. Built field by field: this runs for
  // every order of every entry, and a literal of twenty fields filtered by Object.keys (as before) cost about
  // as much as reading them. The assignments keep the fields' order, so the object's keys come out as before.
  // The required fields after price and the sizes are assigned below, in their place.
  const order = { symbol, side, orderType } as { -readonly [Key in keyof OrderRequest]: OrderRequest[Key] };
  if (price !== undefined) order.price = price;
  if (quantity !== undefined) order.quantity = quantity;
  if (quoteQuantity !== undefined) order.quoteQuantity = quoteQuantity;
  order.timeInForce = timeInForce;
  order.postOnly = postOnly;
  order.selfTradePrevention = selfTradePrevention;
  if (clientId !== undefined) order.clientId = clientId;
  if (triggerPrice !== undefined) order.triggerPrice = triggerPrice;
  if (triggerQuantity !== undefined) order.triggerQuantity = triggerQuantity;
  if (takeProfitTriggerPrice !== undefined) order.takeProfitTriggerPrice = takeProfitTriggerPrice;
  if (takeProfitLimitPrice !== undefined) order.takeProfitLimitPrice = takeProfitLimitPrice;
  if (stopLossTriggerPrice !== undefined) order.stopLossTriggerPrice = stopLossTriggerPrice;
  if (stopLossLimitPrice !== undefined) order.stopLossLimitPrice = stopLossLimitPrice;
  for (const name of marginFlagNames) if (marginFlags[name] === true) order[name] = true;
  if (reduceOnly !== undefined) order.reduceOnly = reduceOnly;
  return order;
}

/**
 * The fields each order type takes (Limit: price and a size; Market: exactly
 * one size, not postOnly), then postOnly's.
 */
function checkOrderTypeFields(
  orderType: OrderRequest['orderType'],
  price: string | undefined,
  sized: string | undefined,
  quoteQuantity: string | undefined,
  postOnly: boolean,
  timeInForce: OrderRequest['timeInForce'],
): void {
  if (orderType === 'Limit') {
    if (price === undefined) throw new ParseFailure('A Limit order requires "price".');
    if (sized === undefined) throw new ParseFailure('A Limit order requires "quantity".');
    if (quoteQuantity !== undefined) throw new ParseFailure('A Limit order does not take "quoteQuantity".');
  } else {
    if (price !== undefined) throw new ParseFailure('A Market order does not take "price".');
    if ((sized === undefined) === (quoteQuantity === undefined)) {
      throw new ParseFailure('A Market order requires exactly one of "quantity" and "quoteQuantity".');
    }
    if (postOnly) throw new ParseFailure('A Market order cannot be postOnly.');
  }
  if (postOnly && timeInForce !== 'GTC') throw new ParseFailure('postOnly requires timeInForce GTC.');
}

const marginFlagNames = ['autoBorrow', 'autoBorrowRepay', 'autoLend', 'autoLendRedeem'] as const;

/** The spot margin flags that are set; a flag given as false is the same as one left out. */
function parseMarginFlags(reader: ParameterReader): Partial<Record<(typeof marginFlagNames)[number], boolean>> {
  const flags: Partial<Record<(typeof marginFlagNames)[number], boolean>> = {};
  for (const name of marginFlagNames) if (reader.boolean(name)) flags[name] = true;
  return flags;
}

function parseOrderCancel(reader: ParameterReader): Parsed<'orderCancel'> {
  const symbol = reader.symbol('symbol');
  const orderId = reader.integer('orderId', Number.MAX_SAFE_INTEGER, true);
  const clientId = reader.integer('clientId', maximumClientId, true);
  if ((orderId === undefined) === (clientId === undefined)) {
    throw new ParseFailure('orderCancel requires exactly one of "orderId" and "clientId".');
  }
  return { kind: 'orderCancel', symbol, ...(orderId !== undefined ? { orderId } : { clientId: clientId as number }) };
}

function parseAttestationRecord(reader: ParameterReader): Parsed<'attestationRecord'> {
  const digest = reader.required('digest');
  if (!lowerHexDigestPattern.test(digest)) throw new ParseFailure('"digest" must be 64 lower-case hex digits.');
  const sequence = reader.integer('sequence', Number.MAX_SAFE_INTEGER);
  if (sequence < 1) throw new ParseFailure('"sequence" must be at least 1.');
  return { kind: 'attestationRecord', digest, sequence };
}

/**
 * The parser of each transaction but the margin ones (margin-instruction-parser.ts).
 * Fields are listed in the order they are read; that order decides which
 * message a request with several faults gets, so keep it.
 */
const transactionParsers: {
  readonly [Name in TransactionKind]?: (reader: ParameterReader) => Parsed<Name>;
} = {
  orderExecute: (reader) => ({ kind: 'orderExecute', orders: [parseOrder(reader)] }),
  orderCancel: parseOrderCancel,
  orderCancelAll: (reader) => readFields(reader, 'orderCancelAll', { symbol: 'symbol' }),
  exitAddressLink: (reader) => {
    const parsed = parseExitAddressLink(reader.optional('address'));
    if (typeof parsed === 'string') throw new ParseFailure(parsed);
    return parsed;
  },
  withdraw: (reader) =>
    readFields(reader, 'withdraw', {
      address: 'text',
      blockchain: 'blockchain',
      quantity: 'decimal',
      symbol: 'symbol',
    }),
  depositCredit: (reader) =>
    readFields(reader, 'depositCredit', {
      account: 'accountId',
      blockchain: 'blockchain',
      chainTransactionId: 'text',
      quantity: 'decimal',
      symbol: 'symbol',
    }),
  withdrawalComplete: (reader) =>
    readFields(reader, 'withdrawalComplete', { chainTransactionId: 'text', withdrawalId: 'identifier' }),
  withdrawalFail: (reader) => readFields(reader, 'withdrawalFail', { reason: 'text', withdrawalId: 'identifier' }),
  forcedExitServe: (reader) => readFields(reader, 'forcedExitServe', { account: 'accountId', request: 'identifier' }),
  reservesStatement: (reader) => readFields(reader, 'reservesStatement', { quantity: 'decimal', symbol: 'symbol' }),
  custodianReservesStatement: (reader) =>
    readFields(reader, 'custodianReservesStatement', { quantity: 'decimal', symbol: 'symbol' }),
  attestationRecord: parseAttestationRecord,
  assetList: (reader) => readFields(reader, 'assetList', { decimals: 'assetDecimals', symbol: 'assetSymbol' }),
  marketList: (reader) =>
    readFields(reader, 'marketList', {
      baseSymbol: 'symbol',
      makerFeeBps: 'basisPoints',
      maxPrice: 'decimal',
      maxQuantity: 'decimal',
      minPrice: 'decimal',
      minQuantity: 'decimal',
      quoteSymbol: 'symbol',
      stepSize: 'decimal',
      symbol: 'symbol',
      takerFeeBps: 'basisPoints',
      tickSize: 'decimal',
      maxOpenOrders: 'optionalCount',
      maxMakersPerOrder: 'optionalCount',
      minOrderValue: 'optionalDecimal',
      marketType: 'optionalMarketType',
      imfBase: 'optionalDecimal',
      imfFactor: 'optionalDecimal',
      mmfBase: 'optionalDecimal',
      mmfFactor: 'optionalDecimal',
      fundingIntervalMs: 'optionalCount',
      fundingRateUpperBoundBps: 'optionalSignedBasisPoints',
      fundingRateLowerBoundBps: 'optionalSignedBasisPoints',
      openInterestLimit: 'optionalDecimal',
      markBandMaxMultiplier: 'optionalDecimal',
      markBandMinMultiplier: 'optionalDecimal',
    }),
};

function parseSingle(group: SignedGroup): Instruction {
  const reader = new ParameterReader(group);
  const name = group.instruction;
  const parse = Object.hasOwn(transactionParsers, name)
    ? (transactionParsers[name as TransactionKind] as (reader: ParameterReader) => Instruction)
    : undefined;
  const instruction = parse !== undefined ? parse(reader) : parseMarginInstruction(name, reader);
  if (instruction !== undefined) {
    reader.finish();
    return instruction;
  }
  if ((queryInstructions as readonly string[]).includes(name)) {
    // Queries take free-form filters; the API validates them per route.
    return { kind: 'query', name: name as QueryName, params: group.params };
  }
  throw new ParseFailure(`Unknown instruction "${name}".`);
}

/** Turns the groups of a signing string into one instruction (a batch is one orderExecute). */
export function parseInstruction(groups: readonly SignedGroup[]): InstructionParse {
  try {
    if (groups.length === 0) throw new ParseFailure('A message must hold at least one instruction.');
    if (groups.length === 1) return { ok: true, instruction: parseSingle(groups[0] as SignedGroup) };
    const orders: OrderRequest[] = [];
    for (const group of groups) {
      if (group.instruction !== 'orderExecute') throw new ParseFailure('Only orderExecute may be batched.');
      const reader = new ParameterReader(group);
      orders.push(parseOrder(reader));
      reader.finish();
    }
    return { ok: true, instruction: { kind: 'orderExecute', orders } };
  } catch (error) {
    if (error instanceof ParseFailure) return { ok: false, message: error.message };
    throw error;
  }
}
