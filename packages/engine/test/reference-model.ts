/**
 * A deliberately naive reference model of the exchange, written from the
 * specification in docs/matching.md and NOT from the engine's source.
 *
 * It exists to be compared with the engine step by step (model.test.ts), so
 * it favours obviousness over speed:
 *
 * - orders live in one plain array; the next maker is found by filtering the
 *   open orders of the opposite side and sorting them (best price first,
 *   then smallest id) every single time;
 * - balances live in a Map keyed by `${account}/${asset}`;
 * - there are no price levels, no linked lists and no incremental totals:
 *   depth and reservations are recomputed from the orders when asked for;
 * - decimal strings are parsed by its own exact rational code;
 * - the "planned walk" that funds checks and fill-or-kill need is obtained by
 *   running the real matching walk on a deep copy of the whole model and
 *   reading off what it did.
 *
 * It imports only types from the engine, never behaviour.
 */
import type {
  Instruction,
  OrderRequest,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from '../src/instruction.js';

// ---------------------------------------------------------------------------
// Exact decimals: value = digits / 10^exponent.
// ---------------------------------------------------------------------------

interface Dec {
  readonly digits: bigint;
  readonly exponent: number;
}

function isDigit(character: string): boolean {
  return character >= '0' && character <= '9';
}

/**
 * Reads a plain decimal: one or more digits, optionally a point followed by
 * one or more digits; no sign, no exponent, no leading zero before another
 * digit in the whole part. Anything else is not a decimal.
 */
export function readDecimal(text: string): Dec | undefined {
  if (text.length === 0 || text.length > 48) return undefined;
  const parts = text.split('.');
  if (parts.length > 2) return undefined;
  const whole = parts[0]!;
  const fraction = parts.length === 2 ? parts[1]! : '';
  if (whole.length === 0) return undefined;
  if (parts.length === 2 && fraction.length === 0) return undefined;
  for (const character of whole + fraction) if (!isDigit(character)) return undefined;
  if (whole.length > 1 && whole[0] === '0') return undefined;
  return { digits: BigInt(whole + fraction), exponent: fraction.length };
}

function pow10(exponent: number): bigint {
  let result = 1n;
  for (let index = 0; index < exponent; index += 1) result *= 10n;
  return result;
}

/** `a / b` when it is a whole number, else undefined. */
function exactQuotient(a: Dec, b: Dec): bigint | undefined {
  // (a.d / 10^a.e) / (b.d / 10^b.e) = a.d · 10^b.e / (b.d · 10^a.e)
  const numerator = a.digits * pow10(b.exponent);
  const denominator = b.digits * pow10(a.exponent);
  if (denominator === 0n) return undefined;
  if (numerator % denominator !== 0n) return undefined;
  return numerator / denominator;
}

/** The decimal as a whole count of 10^-decimals units, or undefined when finer than that. */
function unitsAt(value: Dec, decimals: number): bigint | undefined {
  return exactQuotient(value, { digits: 1n, exponent: decimals });
}

/** Formats a count of 10^-scale units as a plain decimal (used by arbitraries and examples). */
export function unitsToDecimal(units: bigint, scale: number): string {
  if (units < 0n) throw new Error('negative');
  const text = units.toString();
  if (scale === 0) return text;
  const padded = text.length <= scale ? '0'.repeat(scale - text.length + 1) + text : text;
  const whole = padded.slice(0, padded.length - scale);
  const fraction = padded.slice(padded.length - scale).replace(/0+$/, '');
  return fraction.length === 0 ? whole : `${whole}.${fraction}`;
}

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

// ---------------------------------------------------------------------------
// Model state.
// ---------------------------------------------------------------------------

export type ModelStatus =
  | 'New'
  | 'PartiallyFilled'
  | 'Filled'
  | 'Cancelled'
  | 'Expired'
  | 'TriggerPending'
  | 'TriggerFailed';

export interface ModelAsset {
  readonly symbol: string;
  readonly decimals: number;
  deposited: bigint;
  withdrawn: bigint;
}

export interface ModelMarket {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
  readonly tick: Dec;
  readonly step: Dec;
  readonly stepUnits: bigint;
  readonly quoteUnitsPerStepTick: bigint;
  readonly minQuantitySteps: bigint;
  readonly maxQuantitySteps: bigint;
  readonly minPriceTicks: bigint;
  readonly maxPriceTicks: bigint;
  readonly makerBps: bigint;
  readonly takerBps: bigint;
  readonly maxOpenOrders: number;
  readonly maxMakersPerOrder: number;
  readonly minOrderValueUnits: bigint;
}

export interface ModelOrder {
  readonly orderId: number;
  readonly account: string;
  readonly market: string;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteQuantityUnits: bigint | undefined;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientId: number | undefined;
  readonly createdAtMs: number;
  executedSteps: bigint;
  executedQuoteUnits: bigint;
  status: ModelStatus;
  /** Trigger orders (section 8): trigger price, direction, and the id of a pending partner (take-profit / stop-loss). */
  readonly triggerPriceTicks: bigint | undefined;
  readonly triggerRising: boolean;
  linkedOrderId: number | undefined;
}

export interface ModelBalance {
  available: bigint;
  locked: bigint;
  pendingWithdrawal: bigint;
}

export interface ModelWithdrawal {
  readonly withdrawalId: number;
  readonly account: string;
  readonly asset: string;
  readonly quantityUnits: bigint;
}

export interface ModelTrade {
  readonly tradeId: number;
  readonly market: string;
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteUnits: bigint;
  readonly takerSide: Side;
  readonly makerOrderId: number;
  readonly takerOrderId: number;
  readonly makerAccount: string;
  readonly takerAccount: string;
  readonly makerFeeUnits: bigint;
  readonly takerFeeUnits: bigint;
}

export interface ModelOrderView {
  readonly orderId: number;
  readonly account: string;
  readonly market: string;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteQuantityUnits: bigint | undefined;
  readonly executedSteps: bigint;
  readonly executedQuoteUnits: bigint;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientId: number | undefined;
  readonly status: ModelStatus;
  readonly createdAtMs: number;
  readonly triggerPriceTicks: bigint | undefined;
}

export type ModelResult =
  | { readonly ok: false; readonly code: string }
  | {
      readonly ok: true;
      readonly kind: 'order';
      readonly order: ModelOrderView;
      readonly attached?: readonly ModelOrderView[];
    }
  | { readonly ok: true; readonly kind: 'orders'; readonly orders: readonly ModelOrderView[] }
  | {
      readonly ok: true;
      readonly kind: 'withdrawal';
      readonly withdrawalId: number;
      readonly account: string;
      readonly asset: string;
      readonly quantityUnits: bigint;
      readonly status: 'Pending' | 'Confirmed' | 'Failed';
    }
  | {
      readonly ok: true;
      readonly kind: 'deposit';
      readonly account: string;
      readonly asset: string;
      readonly quantityUnits: bigint;
      readonly blockchain: string;
      readonly chainTransactionId: string;
    }
  | { readonly ok: true; readonly kind: 'listed'; readonly symbol: string };

export interface ModelOutcome {
  readonly accepted: boolean;
  /** Present when not accepted. */
  readonly rejectionCode: string | undefined;
  readonly results: readonly ModelResult[];
  readonly trades: readonly ModelTrade[];
}

export interface ModelBalanceView {
  readonly asset: string;
  readonly available: bigint;
  readonly locked: bigint;
  readonly pendingWithdrawal: bigint;
}

export interface ModelGenesis {
  readonly operatorKeys: readonly string[];
  readonly feeAccount: string;
}

const operatorKinds = new Set(['depositCredit', 'withdrawalComplete', 'withdrawalFail', 'assetList', 'marketList']);

type Rejected = { readonly ok: false; readonly code: string };
const fail = (code: string): Rejected => ({ ok: false, code });

/** Why a taker's walk ended. */
type StopReason = 'done' | 'noMaker' | 'selfTrade' | 'budget' | 'makerLimit';

interface ModelData {
  operators: Set<string>;
  feeAccount: string;
  logTimeMs: number;
  assets: ModelAsset[];
  markets: ModelMarket[];
  accounts: Set<string>;
  balances: Map<string, ModelBalance>;
  /** Every order ever accepted, by acceptance; open ones have status New or PartiallyFilled. */
  orders: ModelOrder[];
  withdrawals: ModelWithdrawal[];
  creditedDeposits: Set<string>;
  nextOrderId: number;
  nextTradeId: number;
  nextWithdrawalId: number;
  /** Each market's last trade price in ticks, once it has traded. */
  lastPrices: Map<string, bigint>;
}

function copyData(data: ModelData): ModelData {
  return {
    operators: new Set(data.operators),
    feeAccount: data.feeAccount,
    logTimeMs: data.logTimeMs,
    assets: data.assets.map((asset) => ({ ...asset })),
    markets: data.markets.slice(),
    accounts: new Set(data.accounts),
    balances: new Map([...data.balances].map(([key, balance]) => [key, { ...balance }])),
    orders: data.orders.map((order) => ({ ...order })),
    withdrawals: data.withdrawals.slice(),
    creditedDeposits: new Set(data.creditedDeposits),
    nextOrderId: data.nextOrderId,
    nextTradeId: data.nextTradeId,
    nextWithdrawalId: data.nextWithdrawalId,
    lastPrices: new Map(data.lastPrices),
  };
}

/** Open: resting in the book, or a pending trigger order. */
function isOpen(order: ModelOrder): boolean {
  return order.status === 'New' || order.status === 'PartiallyFilled' || order.status === 'TriggerPending';
}

function isResting(order: ModelOrder): boolean {
  return order.status === 'New' || order.status === 'PartiallyFilled';
}

function remainingOf(order: ModelOrder): bigint {
  return order.quantitySteps - order.executedSteps;
}

function viewOf(order: ModelOrder): ModelOrderView {
  return {
    orderId: order.orderId,
    account: order.account,
    market: order.market,
    side: order.side,
    orderType: order.orderType,
    priceTicks: order.priceTicks,
    quantitySteps: order.quantitySteps,
    quoteQuantityUnits: order.quoteQuantityUnits,
    executedSteps: order.executedSteps,
    executedQuoteUnits: order.executedQuoteUnits,
    timeInForce: order.timeInForce,
    postOnly: order.postOnly,
    selfTradePrevention: order.selfTradePrevention,
    clientId: order.clientId,
    status: order.status,
    createdAtMs: order.createdAtMs,
    triggerPriceTicks: order.triggerPriceTicks,
  };
}

export class ReferenceModel {
  private data: ModelData;

  constructor(genesis: ModelGenesis) {
    this.data = {
      operators: new Set(genesis.operatorKeys),
      feeAccount: genesis.feeAccount,
      logTimeMs: 0,
      assets: [],
      markets: [],
      accounts: new Set([genesis.feeAccount]),
      balances: new Map(),
      orders: [],
      withdrawals: [],
      creditedDeposits: new Set(),
      nextOrderId: 1,
      nextTradeId: 1,
      nextWithdrawalId: 1,
      lastPrices: new Map(),
    };
  }

  // ----- reads --------------------------------------------------------------

  market(symbol: string): ModelMarket | undefined {
    return this.data.markets.find((market) => market.symbol === symbol);
  }

  get markets(): readonly ModelMarket[] {
    return this.data.markets;
  }

  get assets(): readonly ModelAsset[] {
    return this.data.assets;
  }

  balancesOf(account: string): ModelBalanceView[] {
    return this.data.assets.map((asset) => {
      const balance = this.data.balances.get(`${account}/${asset.symbol}`);
      return {
        asset: asset.symbol,
        available: balance?.available ?? 0n,
        locked: balance?.locked ?? 0n,
        pendingWithdrawal: balance?.pendingWithdrawal ?? 0n,
      };
    });
  }

  /** The account's open orders on all markets, oldest first. */
  openOrdersOf(account: string): ModelOrderView[] {
    return this.data.orders
      .filter((order) => order.account === account && isOpen(order))
      .sort((a, b) => a.orderId - b.orderId)
      .map(viewOf);
  }

  allOpenOrders(): ModelOrderView[] {
    return this.data.orders.filter(isOpen).map(viewOf);
  }

  pendingWithdrawals(): readonly ModelWithdrawal[] {
    return this.data.withdrawals;
  }

  /** Price levels of each side, best first, summed from the open orders. */
  depthOf(symbol: string): {
    bids: { priceTicks: bigint; quantitySteps: bigint }[];
    asks: { priceTicks: bigint; quantitySteps: bigint }[];
  } {
    const side = (which: Side) => {
      const totals = new Map<bigint, bigint>();
      for (const order of this.data.orders) {
        if (order.market !== symbol || order.side !== which || !isResting(order)) continue;
        totals.set(order.priceTicks, (totals.get(order.priceTicks) ?? 0n) + remainingOf(order));
      }
      const levels = [...totals].map(([priceTicks, quantitySteps]) => ({ priceTicks, quantitySteps }));
      levels.sort((a, b) => {
        const better = which === 'Bid' ? a.priceTicks > b.priceTicks : a.priceTicks < b.priceTicks;
        return a.priceTicks === b.priceTicks ? 0 : better ? -1 : 1;
      });
      return levels;
    };
    return { bids: side('Bid'), asks: side('Ask') };
  }

  /**
   * The model's own consistency checks, independent of the engine's:
   * conservation of every asset, no negative balance, locked = the open
   * orders' reservations, pending = the pending withdrawals, book not crossed.
   * Returns a description of the first problem, or undefined.
   */
  selfCheck(): string | undefined {
    const data = this.data;
    for (const asset of data.assets) {
      let total = 0n;
      for (const [key, balance] of data.balances) {
        if (!key.endsWith(`/${asset.symbol}`)) continue;
        if (balance.available < 0n || balance.locked < 0n || balance.pendingWithdrawal < 0n) {
          return `model: negative balance ${key}`;
        }
        total += balance.available + balance.locked + balance.pendingWithdrawal;
      }
      if (total !== asset.deposited - asset.withdrawn) {
        return `model: ${asset.symbol} not conserved (${total} ≠ ${asset.deposited} − ${asset.withdrawn})`;
      }
    }
    const expectedLocked = new Map<string, bigint>();
    const expectedPending = new Map<string, bigint>();
    for (const order of data.orders) {
      if (!isResting(order)) continue;
      const market = this.market(order.market)!;
      const asset = order.side === 'Bid' ? market.quote : market.base;
      const key = `${order.account}/${asset}`;
      expectedLocked.set(key, (expectedLocked.get(key) ?? 0n) + this.reservation(market, order, remainingOf(order)));
    }
    for (const withdrawal of data.withdrawals) {
      const key = `${withdrawal.account}/${withdrawal.asset}`;
      expectedPending.set(key, (expectedPending.get(key) ?? 0n) + withdrawal.quantityUnits);
    }
    for (const [key, balance] of data.balances) {
      if (balance.locked !== (expectedLocked.get(key) ?? 0n))
        return `model: locked ${key} ${balance.locked} ≠ reservations`;
      if (balance.pendingWithdrawal !== (expectedPending.get(key) ?? 0n)) return `model: pending ${key} ≠ withdrawals`;
    }
    for (const key of expectedLocked.keys())
      if (!data.balances.has(key)) return `model: reservation without balance ${key}`;
    for (const market of data.markets) {
      const depth = this.depthOf(market.symbol);
      const bid = depth.bids[0];
      const ask = depth.asks[0];
      if (bid !== undefined && ask !== undefined && bid.priceTicks >= ask.priceTicks)
        return `model: ${market.symbol} crossed`;
    }
    return undefined;
  }

  // ----- the one entry point ---------------------------------------------------

  execute(signer: string, instruction: Instruction, logTimeMs: number): ModelOutcome {
    const rejectedEntry = (code: string, results: ModelResult[] = []): ModelOutcome => ({
      accepted: false,
      rejectionCode: code,
      results,
      trades: [],
    });
    if (logTimeMs < this.data.logTimeMs) return rejectedEntry('INVALID_LOG_TIME');
    if (instruction.kind === 'query') return rejectedEntry('INVALID_INSTRUCTION');
    if (operatorKinds.has(instruction.kind) && !this.data.operators.has(signer)) return rejectedEntry('UNAUTHORIZED');

    const trades: ModelTrade[] = [];
    const results: ModelResult[] = [];
    switch (instruction.kind) {
      case 'orderExecute':
        for (const request of instruction.orders) results.push(this.placeOrder(signer, request, logTimeMs, trades));
        break;
      case 'orderCancel':
        results.push(this.cancel(signer, instruction.symbol, instruction.orderId, instruction.clientId));
        break;
      case 'orderCancelAll':
        results.push(this.cancelAll(signer, instruction.symbol));
        break;
      case 'withdraw':
        results.push(this.withdraw(signer, instruction.symbol, instruction.quantity));
        break;
      case 'depositCredit':
        results.push(this.deposit(instruction));
        break;
      case 'withdrawalComplete':
      case 'withdrawalFail':
        results.push(this.settleWithdrawal(instruction.withdrawalId, instruction.kind === 'withdrawalComplete'));
        break;
      case 'assetList':
        results.push(this.listAsset(instruction.symbol, instruction.decimals));
        break;
      case 'marketList':
        results.push(this.listMarket(instruction));
        break;
    }
    if (!results.some((result) => result.ok)) {
      const first = results[0];
      return rejectedEntry(first !== undefined && !first.ok ? first.code : 'INVALID_INSTRUCTION', results);
    }
    this.fireTriggers(trades);
    this.data.logTimeMs = logTimeMs;
    return { accepted: true, rejectionCode: undefined, results, trades };
  }

  // ----- balances -------------------------------------------------------------

  private balance(account: string, asset: string): ModelBalance {
    const key = `${account}/${asset}`;
    let balance = this.data.balances.get(key);
    if (balance === undefined) {
      balance = { available: 0n, locked: 0n, pendingWithdrawal: 0n };
      this.data.balances.set(key, balance);
    }
    return balance;
  }

  private available(account: string, asset: string): bigint {
    return this.data.balances.get(`${account}/${asset}`)?.available ?? 0n;
  }

  /** What an order holds locked for `steps` of its remaining quantity. */
  private reservation(market: ModelMarket, order: ModelOrder, steps: bigint): bigint {
    if (order.orderType !== 'Limit') return 0n;
    return order.side === 'Bid' ? steps * order.priceTicks * market.quoteUnitsPerStepTick : steps * market.stepUnits;
  }

  // ----- listings -------------------------------------------------------------

  private listAsset(symbol: string, decimals: number): ModelResult {
    if (this.data.assets.some((asset) => asset.symbol === symbol)) return fail('ALREADY_EXISTS');
    if (decimals > 18) return fail('INVALID_INSTRUCTION');
    this.data.assets.push({ symbol, decimals, deposited: 0n, withdrawn: 0n });
    return { ok: true, kind: 'listed', symbol };
  }

  private listMarket(listing: Extract<Instruction, { kind: 'marketList' }>): ModelResult {
    if (this.market(listing.symbol) !== undefined) return fail('ALREADY_EXISTS');
    const base = this.data.assets.find((asset) => asset.symbol === listing.baseSymbol);
    const quote = this.data.assets.find((asset) => asset.symbol === listing.quoteSymbol);
    if (base === undefined || quote === undefined) return fail('INVALID_ASSET');
    if (base === quote || listing.symbol !== `${base.symbol}_${quote.symbol}`) return fail('INVALID_INSTRUCTION');
    const tick = readDecimal(listing.tickSize);
    const step = readDecimal(listing.stepSize);
    if (tick === undefined || step === undefined || tick.digits === 0n || step.digits === 0n)
      return fail('INVALID_INSTRUCTION');
    const stepUnits = unitsAt(step, base.decimals);
    if (stepUnits === undefined) return fail('INVALID_INSTRUCTION');
    // stepSize × tickSize × 10^quoteDecimals must be a whole number.
    const qpst = exactQuotient(
      { digits: step.digits * tick.digits * pow10(quote.decimals), exponent: step.exponent + tick.exponent },
      { digits: 1n, exponent: 0 },
    );
    if (qpst === undefined || qpst <= 0n) return fail('INVALID_INSTRUCTION');
    const count = (text: string, increment: Dec): bigint | undefined => {
      const value = readDecimal(text);
      if (value === undefined) return undefined;
      const result = exactQuotient(value, increment);
      return result === undefined || result <= 0n ? undefined : result;
    };
    const minQuantitySteps = count(listing.minQuantity, step);
    const maxQuantitySteps = count(listing.maxQuantity, step);
    const minPriceTicks = count(listing.minPrice, tick);
    const maxPriceTicks = count(listing.maxPrice, tick);
    if (
      minQuantitySteps === undefined ||
      maxQuantitySteps === undefined ||
      minPriceTicks === undefined ||
      maxPriceTicks === undefined
    ) {
      return fail('INVALID_INSTRUCTION');
    }
    if (minQuantitySteps > maxQuantitySteps || minPriceTicks > maxPriceTicks) return fail('INVALID_INSTRUCTION');
    if (listing.makerFeeBps > 1000 || listing.takerFeeBps > 1000) return fail('INVALID_INSTRUCTION');
    // Section 4.6: optional limits with their defaults and bounds.
    const maxOpenOrders = listing.maxOpenOrders ?? 500;
    const maxMakersPerOrder = listing.maxMakersPerOrder ?? 100;
    if (maxOpenOrders < 1 || maxOpenOrders > 1000 || maxMakersPerOrder < 1 || maxMakersPerOrder > 100)
      return fail('INVALID_INSTRUCTION');
    let minOrderValueUnits = 0n;
    if (listing.minOrderValue !== undefined) {
      const value = readDecimal(listing.minOrderValue);
      const units = value === undefined ? undefined : unitsAt(value, quote.decimals);
      if (units === undefined) return fail('INVALID_INSTRUCTION');
      minOrderValueUnits = units;
    }
    this.data.markets.push({
      symbol: listing.symbol,
      base: base.symbol,
      quote: quote.symbol,
      baseDecimals: base.decimals,
      quoteDecimals: quote.decimals,
      tick,
      step,
      stepUnits,
      quoteUnitsPerStepTick: qpst,
      minQuantitySteps,
      maxQuantitySteps,
      minPriceTicks,
      maxPriceTicks,
      makerBps: BigInt(listing.makerFeeBps),
      takerBps: BigInt(listing.takerFeeBps),
      maxOpenOrders,
      maxMakersPerOrder,
      minOrderValueUnits,
    });
    return { ok: true, kind: 'listed', symbol: listing.symbol };
  }

  // ----- deposits and withdrawals ---------------------------------------------

  /** A positive amount at the asset's decimals. */
  private amount(decimals: number, text: string): bigint | Rejected {
    const value = readDecimal(text);
    if (value === undefined) return fail('INVALID_QUANTITY');
    const units = unitsAt(value, decimals);
    if (units === undefined || units <= 0n) return fail('INVALID_QUANTITY');
    return units;
  }

  private deposit(credit: Extract<Instruction, { kind: 'depositCredit' }>): ModelResult {
    const asset = this.data.assets.find((candidate) => candidate.symbol === credit.symbol);
    if (asset === undefined) return fail('INVALID_ASSET');
    const units = this.amount(asset.decimals, credit.quantity);
    if (typeof units !== 'bigint') return units;
    const key = `${credit.blockchain}:${credit.chainTransactionId}`;
    if (this.data.creditedDeposits.has(key)) return fail('DUPLICATE_DEPOSIT');
    this.data.creditedDeposits.add(key);
    this.data.accounts.add(credit.account);
    this.balance(credit.account, asset.symbol).available += units;
    asset.deposited += units;
    return {
      ok: true,
      kind: 'deposit',
      account: credit.account,
      asset: asset.symbol,
      quantityUnits: units,
      blockchain: credit.blockchain,
      chainTransactionId: credit.chainTransactionId,
    };
  }

  private withdraw(account: string, symbol: string, quantity: string): ModelResult {
    const asset = this.data.assets.find((candidate) => candidate.symbol === symbol);
    if (asset === undefined) return fail('INVALID_ASSET');
    const units = this.amount(asset.decimals, quantity);
    if (typeof units !== 'bigint') return units;
    if (!this.data.accounts.has(account) || this.available(account, symbol) < units) return fail('INSUFFICIENT_FUNDS');
    const balance = this.balance(account, symbol);
    balance.available -= units;
    balance.pendingWithdrawal += units;
    const withdrawal: ModelWithdrawal = {
      withdrawalId: this.data.nextWithdrawalId,
      account,
      asset: symbol,
      quantityUnits: units,
    };
    this.data.nextWithdrawalId += 1;
    this.data.withdrawals.push(withdrawal);
    return { ok: true, kind: 'withdrawal', ...withdrawal, status: 'Pending' };
  }

  private settleWithdrawal(withdrawalId: number, completed: boolean): ModelResult {
    const withdrawal = this.data.withdrawals.find((candidate) => candidate.withdrawalId === withdrawalId);
    if (withdrawal === undefined) return fail('RESOURCE_NOT_FOUND');
    this.data.withdrawals = this.data.withdrawals.filter((candidate) => candidate !== withdrawal);
    const balance = this.balance(withdrawal.account, withdrawal.asset);
    balance.pendingWithdrawal -= withdrawal.quantityUnits;
    if (completed)
      this.data.assets.find((asset) => asset.symbol === withdrawal.asset)!.withdrawn += withdrawal.quantityUnits;
    else balance.available += withdrawal.quantityUnits;
    return { ok: true, kind: 'withdrawal', ...withdrawal, status: completed ? 'Confirmed' : 'Failed' };
  }

  // ----- cancels --------------------------------------------------------------

  private cancelOne(order: ModelOrder): void {
    if (order.status === 'TriggerPending') {
      this.unlink(order);
      order.status = 'Cancelled';
      return;
    }
    const market = this.market(order.market)!;
    const asset = order.side === 'Bid' ? market.quote : market.base;
    const amount = this.reservation(market, order, remainingOf(order));
    const balance = this.balance(order.account, asset);
    balance.locked -= amount;
    balance.available += amount;
    order.status = 'Cancelled';
  }

  private cancel(
    account: string,
    symbol: string,
    orderId: number | undefined,
    clientId: number | undefined,
  ): ModelResult {
    if (this.market(symbol) === undefined) return fail('INVALID_MARKET');
    const order = this.data.orders.find(
      (candidate) =>
        isOpen(candidate) &&
        candidate.account === account &&
        candidate.market === symbol &&
        (orderId !== undefined
          ? candidate.orderId === orderId
          : clientId !== undefined && candidate.clientId === clientId),
    );
    if (order === undefined) return fail('RESOURCE_NOT_FOUND');
    this.cancelOne(order);
    return { ok: true, kind: 'order', order: viewOf(order) };
  }

  private cancelAll(account: string, symbol: string): ModelResult {
    if (this.market(symbol) === undefined) return fail('INVALID_MARKET');
    const mine = this.data.orders
      .filter((order) => isOpen(order) && order.account === account && order.market === symbol)
      .sort((a, b) => a.orderId - b.orderId);
    for (const order of mine) this.cancelOne(order);
    return { ok: true, kind: 'orders', orders: mine.map(viewOf) };
  }

  // ----- orders ---------------------------------------------------------------

  private parsePrice(market: ModelMarket, text: string): bigint | undefined {
    const value = readDecimal(text);
    const ticks = value === undefined ? undefined : exactQuotient(value, market.tick);
    if (ticks === undefined || ticks < market.minPriceTicks || ticks > market.maxPriceTicks) return undefined;
    return ticks;
  }

  private openCountOn(account: string, symbol: string): number {
    return this.data.orders.filter((order) => isOpen(order) && order.account === account && order.market === symbol)
      .length;
  }

  private placeOrder(account: string, request: OrderRequest, logTimeMs: number, trades: ModelTrade[]): ModelResult {
    // (1) market, price, quantity (or trigger quantity), quote quantity, then the trigger prices.
    const market = this.market(request.symbol);
    if (market === undefined) return fail('INVALID_MARKET');
    let priceTicks = 0n;
    if (request.price !== undefined) {
      const ticks = this.parsePrice(market, request.price);
      if (ticks === undefined) return fail('INVALID_PRICE');
      priceTicks = ticks;
    }
    let quantitySteps = 0n;
    const quantityText = request.quantity ?? request.triggerQuantity;
    if (quantityText !== undefined) {
      const value = readDecimal(quantityText);
      const steps = value === undefined ? undefined : exactQuotient(value, market.step);
      if (steps === undefined || steps < market.minQuantitySteps || steps > market.maxQuantitySteps)
        return fail('INVALID_QUANTITY');
      quantitySteps = steps;
    }
    let quoteQuantityUnits: bigint | undefined;
    if (request.quoteQuantity !== undefined) {
      const units = this.amount(market.quoteDecimals, request.quoteQuantity);
      if (typeof units !== 'bigint') return units;
      quoteQuantityUnits = units;
      if (request.timeInForce === 'FOK') return fail('INVALID_ORDER');
    }
    const prices: (bigint | undefined)[] = [];
    for (const text of [
      request.triggerPrice,
      request.takeProfitTriggerPrice,
      request.takeProfitLimitPrice,
      request.stopLossTriggerPrice,
      request.stopLossLimitPrice,
    ]) {
      if (text === undefined) {
        prices.push(undefined);
        continue;
      }
      const ticks = this.parsePrice(market, text);
      if (ticks === undefined) return fail('INVALID_PRICE');
      prices.push(ticks);
    }
    const [triggerPriceTicks, takeProfitTicks, takeProfitLimitTicks, stopLossTicks, stopLossLimitTicks] = prices;

    // (2) a client id names at most one open order of an account.
    if (!this.data.accounts.has(account)) return fail('INSUFFICIENT_FUNDS');
    if (
      request.clientId !== undefined &&
      this.data.orders.some(
        (order) => isOpen(order) && order.account === account && order.clientId === request.clientId,
      )
    ) {
      return fail('INVALID_ORDER');
    }

    const newOrder = (fields: Partial<ModelOrder>): ModelOrder => ({
      orderId: this.data.nextOrderId,
      account,
      market: market.symbol,
      side: request.side,
      orderType: request.orderType,
      priceTicks,
      quantitySteps,
      quoteQuantityUnits,
      timeInForce: request.timeInForce,
      postOnly: request.postOnly,
      selfTradePrevention: request.selfTradePrevention,
      clientId: request.clientId,
      createdAtMs: logTimeMs,
      executedSteps: 0n,
      executedQuoteUnits: 0n,
      status: 'New',
      triggerPriceTicks: undefined,
      triggerRising: false,
      linkedOrderId: undefined,
      ...fields,
    });

    // Section 8.1: a trigger order waits, reserving nothing.
    if (triggerPriceTicks !== undefined) {
      if (this.openCountOn(account, market.symbol) >= market.maxOpenOrders) return fail('ORDER_LIMIT');
      const last = this.data.lastPrices.get(market.symbol);
      if (last === undefined || last === triggerPriceTicks) return fail('INVALID_ORDER');
      const valuePrice = request.orderType === 'Limit' ? priceTicks : triggerPriceTicks;
      if (quantitySteps * valuePrice * market.quoteUnitsPerStepTick < market.minOrderValueUnits)
        return fail('ORDER_VALUE_TOO_SMALL');
      const order = newOrder({ status: 'TriggerPending', triggerPriceTicks, triggerRising: triggerPriceTicks > last });
      this.data.nextOrderId += 1;
      this.data.orders.push(order);
      return { ok: true, kind: 'order', order: viewOf(order) };
    }

    // (3) room under the open-order limit for the order (if it may rest) and its take-profit and stop-loss.
    const mayRest = request.orderType === 'Limit' && request.timeInForce === 'GTC';
    const slots = (mayRest ? 1 : 0) + (takeProfitTicks !== undefined ? 1 : 0) + (stopLossTicks !== undefined ? 1 : 0);
    if (slots > 0 && this.openCountOn(account, market.symbol) + slots > market.maxOpenOrders)
      return fail('ORDER_LIMIT');

    const taker = newOrder({});
    // (4) to (7).
    const refusal = this.admissionRefusal(market, taker);
    if (refusal !== undefined) return fail(refusal);

    // From here on the order is accepted and has consumed an id.
    this.data.nextOrderId += 1;
    this.data.orders.push(taker);
    this.walk(market, taker, trades);

    // Section 8.2: the attached take-profit, then the stop-loss.
    const attached: ModelOrder[] = [];
    for (const [trigger, limit, takeProfit] of [
      [takeProfitTicks, takeProfitLimitTicks, true],
      [stopLossTicks, stopLossLimitTicks, false],
    ] as const) {
      if (trigger === undefined) continue;
      const order = newOrder({
        side: request.side === 'Bid' ? 'Ask' : 'Bid',
        orderType: limit === undefined ? 'Market' : 'Limit',
        priceTicks: limit ?? 0n,
        quoteQuantityUnits: undefined,
        timeInForce: limit === undefined ? 'IOC' : 'GTC',
        postOnly: false,
        clientId: undefined,
        status: 'TriggerPending',
        triggerPriceTicks: trigger,
        triggerRising: takeProfit === (request.side === 'Bid'),
      });
      this.data.nextOrderId += 1;
      this.data.orders.push(order);
      attached.push(order);
    }
    if (attached.length === 2) {
      attached[0]!.linkedOrderId = attached[1]!.orderId;
      attached[1]!.linkedOrderId = attached[0]!.orderId;
    }
    const view = viewOf(taker);
    return attached.length === 0
      ? { ok: true, kind: 'order', order: view }
      : { ok: true, kind: 'order', order: view, attached: attached.map(viewOf) };
  }

  /** Checks 4 to 7 for an order about to execute (new, or a trigger firing); the refusal code, or undefined. */
  private admissionRefusal(market: ModelMarket, taker: ModelOrder): string | undefined {
    const account = taker.account;
    const mayRest = taker.orderType === 'Limit' && taker.timeInForce === 'GTC';
    const quantitySteps = taker.quantitySteps;
    const priceTicks = taker.priceTicks;
    const quoteQuantityUnits = taker.quoteQuantityUnits;
    // The planned walk: the same walk, run on a throwaway copy of everything.
    let planned: ModelTrade[] | undefined;
    const plan = (): ModelTrade[] => {
      if (planned === undefined) {
        const copy = new ReferenceModel({ operatorKeys: [], feeAccount: this.data.feeAccount });
        copy.data = copyData(this.data);
        const plannedTrades: ModelTrade[] = [];
        copy.walk(market, { ...taker, status: 'New' }, plannedTrades);
        planned = plannedTrades;
      }
      return planned;
    };

    // (4) funds.
    let needed: bigint;
    let needAsset: string;
    if (taker.side === 'Bid') {
      needAsset = market.quote;
      if (taker.orderType === 'Limit') needed = quantitySteps * priceTicks * market.quoteUnitsPerStepTick;
      else if (quoteQuantityUnits !== undefined) needed = quoteQuantityUnits;
      else needed = plan().reduce((sum, trade) => sum + trade.quoteUnits, 0n);
    } else {
      needAsset = market.base;
      if (taker.orderType === 'Limit' || quoteQuantityUnits === undefined) needed = quantitySteps * market.stepUnits;
      else needed = plan().reduce((sum, trade) => sum + trade.quantitySteps, 0n) * market.stepUnits;
    }
    if (this.available(account, needAsset) < needed) return 'INSUFFICIENT_FUNDS';

    // (5) post-only must not cross.
    if (taker.postOnly) {
      const depth = this.depthOf(market.symbol);
      if (taker.side === 'Bid') {
        const bestAsk = depth.asks[0];
        if (bestAsk !== undefined && priceTicks >= bestAsk.priceTicks) return 'INVALID_ORDER';
      } else {
        const bestBid = depth.bids[0];
        if (bestBid !== undefined && priceTicks <= bestBid.priceTicks) return 'INVALID_ORDER';
      }
    }

    // (6) an order that cannot rest must execute something; fill-or-kill all of it.
    if (!mayRest) {
      const plannedSteps = plan().reduce((sum, trade) => sum + trade.quantitySteps, 0n);
      if (plannedSteps === 0n) return 'ORDER_WOULD_NOT_FILL';
      if (taker.timeInForce === 'FOK' && plannedSteps < quantitySteps) return 'ORDER_WOULD_NOT_FILL';
    }

    // (7) the minimum order value.
    let value: bigint;
    if (taker.orderType === 'Limit') value = quantitySteps * priceTicks * market.quoteUnitsPerStepTick;
    else if (quoteQuantityUnits !== undefined) value = quoteQuantityUnits;
    else value = plan().reduce((sum, trade) => sum + trade.quoteUnits, 0n);
    if (value < market.minOrderValueUnits) return 'ORDER_VALUE_TOO_SMALL';
    return undefined;
  }

  /** Forgets a pending trigger's partner link, on both sides. */
  private unlink(order: ModelOrder): void {
    if (order.linkedOrderId === undefined) return;
    const partner = this.data.orders.find((candidate) => candidate.orderId === order.linkedOrderId);
    if (partner !== undefined) partner.linkedOrderId = undefined;
    order.linkedOrderId = undefined;
  }

  /** Section 8.3: after an accepted entry, fire what the last prices reached, at most 10. */
  private fireTriggers(trades: ModelTrade[]): void {
    for (let fired = 0; fired < 10; fired += 1) {
      let chosen: ModelOrder | undefined;
      for (const market of this.data.markets) {
        const last = this.data.lastPrices.get(market.symbol);
        if (last === undefined) continue;
        const pending = this.data.orders.filter(
          (order) => order.status === 'TriggerPending' && order.market === market.symbol,
        );
        const byId = (a: ModelOrder, b: ModelOrder) => a.orderId - b.orderId;
        const rising = pending
          .filter((order) => order.triggerRising && order.triggerPriceTicks! <= last)
          .sort((a, b) =>
            a.triggerPriceTicks! === b.triggerPriceTicks!
              ? byId(a, b)
              : a.triggerPriceTicks! < b.triggerPriceTicks!
                ? -1
                : 1,
          );
        const falling = pending
          .filter((order) => !order.triggerRising && order.triggerPriceTicks! >= last)
          .sort((a, b) =>
            a.triggerPriceTicks! === b.triggerPriceTicks!
              ? byId(a, b)
              : a.triggerPriceTicks! > b.triggerPriceTicks!
                ? -1
                : 1,
          );
        chosen = rising[0] ?? falling[0];
        if (chosen !== undefined) break;
      }
      if (chosen === undefined) return;
      const market = this.market(chosen.market)!;
      const partner = this.data.orders.find(
        (order) => order.orderId === chosen.linkedOrderId && order.status === 'TriggerPending',
      );
      this.unlink(chosen);
      if (partner !== undefined) partner.status = 'Cancelled';
      chosen.status = 'New';
      if (this.admissionRefusal(market, chosen) !== undefined) {
        chosen.status = 'TriggerFailed';
        continue;
      }
      this.walk(market, chosen, trades);
    }
  }

  /** The maker the taker would meet next, found the slow way. */
  private nextMaker(market: ModelMarket, taker: ModelOrder): ModelOrder | undefined {
    const opposite: Side = taker.side === 'Bid' ? 'Ask' : 'Bid';
    const candidates = this.data.orders.filter((order) => {
      if (!isResting(order) || order.market !== market.symbol || order.side !== opposite || order === taker)
        return false;
      if (taker.orderType === 'Market') return true;
      return taker.side === 'Bid' ? order.priceTicks <= taker.priceTicks : order.priceTicks >= taker.priceTicks;
    });
    candidates.sort((a, b) => {
      if (a.priceTicks !== b.priceTicks) {
        const aBetter = opposite === 'Ask' ? a.priceTicks < b.priceTicks : a.priceTicks > b.priceTicks;
        return aBetter ? -1 : 1;
      }
      return a.orderId - b.orderId;
    });
    return candidates[0];
  }

  /**
   * Locks a limit taker's reservation, matches it against the book, and
   * settles its final status. The taker is already in `orders`
   * (or is a throwaway copy when planning).
   */
  private walk(market: ModelMarket, taker: ModelOrder, trades: ModelTrade[]): void {
    const qpst = market.quoteUnitsPerStepTick;
    const lockedAsset = taker.side === 'Bid' ? market.quote : market.base;
    if (taker.orderType === 'Limit') {
      const amount = this.reservation(market, taker, taker.quantitySteps);
      const balance = this.balance(taker.account, lockedAsset);
      balance.available -= amount;
      balance.locked += amount;
    }
    const quoteSized = taker.quoteQuantityUnits !== undefined;
    let stop: StopReason;
    let makersMet = 0;
    for (;;) {
      if (!quoteSized && remainingOf(taker) === 0n) {
        stop = 'done';
        break;
      }
      if (quoteSized && taker.quoteQuantityUnits! === taker.executedQuoteUnits) {
        stop = 'budget';
        break;
      }
      const maker = this.nextMaker(market, taker);
      if (maker === undefined) {
        stop = 'noMaker';
        break;
      }
      if (makersMet === market.maxMakersPerOrder) {
        stop = 'makerLimit';
        break;
      }
      makersMet += 1;
      if (maker.account === taker.account && taker.selfTradePrevention !== 'Allow') {
        if (taker.selfTradePrevention === 'RejectTaker') {
          stop = 'selfTrade';
          break;
        }
        this.cancelOne(maker);
        if (taker.selfTradePrevention === 'RejectBoth') {
          stop = 'selfTrade';
          break;
        }
        continue;
      }
      const price = maker.priceTicks;
      let steps: bigint;
      if (quoteSized) {
        const budgetLeft = taker.quoteQuantityUnits! - taker.executedQuoteUnits;
        const affordable = budgetLeft / (price * qpst);
        steps = affordable < remainingOf(maker) ? affordable : remainingOf(maker);
        if (steps === 0n) {
          stop = 'budget';
          break;
        }
      } else {
        steps = remainingOf(taker) < remainingOf(maker) ? remainingOf(taker) : remainingOf(maker);
      }
      trades.push(this.fill(market, taker, maker, steps, price));
    }

    // Final status.
    if (stop === 'selfTrade') taker.status = 'Cancelled';
    else if (quoteSized) taker.status = stop === 'budget' && taker.executedSteps > 0n ? 'Filled' : 'Expired';
    else if (remainingOf(taker) === 0n) taker.status = 'Filled';
    else if (taker.orderType === 'Limit' && taker.timeInForce === 'GTC' && stop !== 'makerLimit') {
      taker.status = taker.executedSteps === 0n ? 'New' : 'PartiallyFilled';
    } else taker.status = 'Expired';

    if (!isOpen(taker) && taker.orderType === 'Limit') {
      const amount = this.reservation(market, taker, remainingOf(taker));
      const balance = this.balance(taker.account, lockedAsset);
      balance.locked -= amount;
      balance.available += amount;
    }
  }

  /** One fill of `steps` at the maker's price `price`, with its money movements. */
  private fill(market: ModelMarket, taker: ModelOrder, maker: ModelOrder, steps: bigint, price: bigint): ModelTrade {
    const qpst = market.quoteUnitsPerStepTick;
    const baseUnits = steps * market.stepUnits;
    const quoteUnits = steps * price * qpst;
    const fee = this.balance.bind(this, this.data.feeAccount);
    let takerFee: bigint;
    let makerFee: bigint;
    if (taker.side === 'Bid') {
      // The taker buys: pays quote, receives base; the maker sells.
      takerFee = ceilDiv(baseUnits * market.takerBps, 10_000n);
      makerFee = ceilDiv(quoteUnits * market.makerBps, 10_000n);
      const takerQuote = this.balance(taker.account, market.quote);
      if (taker.orderType === 'Limit') {
        takerQuote.locked -= steps * taker.priceTicks * qpst;
        takerQuote.available += steps * (taker.priceTicks - price) * qpst;
      } else {
        takerQuote.available -= quoteUnits;
      }
      this.balance(taker.account, market.base).available += baseUnits - takerFee;
      this.balance(maker.account, market.base).locked -= baseUnits;
      this.balance(maker.account, market.quote).available += quoteUnits - makerFee;
      fee(market.base).available += takerFee;
      fee(market.quote).available += makerFee;
    } else {
      // The taker sells: gives base, receives quote; the maker buys.
      takerFee = ceilDiv(quoteUnits * market.takerBps, 10_000n);
      makerFee = ceilDiv(baseUnits * market.makerBps, 10_000n);
      const takerBase = this.balance(taker.account, market.base);
      if (taker.orderType === 'Limit') takerBase.locked -= baseUnits;
      else takerBase.available -= baseUnits;
      this.balance(taker.account, market.quote).available += quoteUnits - takerFee;
      this.balance(maker.account, market.quote).locked -= quoteUnits;
      this.balance(maker.account, market.base).available += baseUnits - makerFee;
      fee(market.quote).available += takerFee;
      fee(market.base).available += makerFee;
    }
    taker.executedSteps += steps;
    taker.executedQuoteUnits += quoteUnits;
    maker.executedSteps += steps;
    maker.executedQuoteUnits += quoteUnits;
    maker.status = remainingOf(maker) === 0n ? 'Filled' : 'PartiallyFilled';
    this.data.lastPrices.set(market.symbol, price);
    const trade: ModelTrade = {
      tradeId: this.data.nextTradeId,
      market: market.symbol,
      priceTicks: price,
      quantitySteps: steps,
      quoteUnits,
      takerSide: taker.side,
      makerOrderId: maker.orderId,
      takerOrderId: taker.orderId,
      makerAccount: maker.account,
      takerAccount: taker.account,
      makerFeeUnits: makerFee,
      takerFeeUnits: takerFee,
    };
    this.data.nextTradeId += 1;
    return trade;
  }
}
