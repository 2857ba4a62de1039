/**
 * Model-based tests: the engine and a naive, independently written reference
 * model (reference-model.ts, from docs/matching.md) are driven with the same
 * random instruction sequences and compared after every step: outcome,
 * rejection code, every result, every trade, every balance, every open order,
 * the depth of every book, the engine's own invariants and the model's own
 * conservation checks.
 *
 * Environment:
 *   MODEL_RUNS        runs of the main property (default 10000)
 *   MODEL_LONG_RUNS   runs of the long-sequence property (default 1000)
 *   MODEL_SEED        seed to reproduce a run (printed on failure)
 *   MODEL_PATH        counterexample path to replay (printed on failure)
 *   MODEL_SHRINK_MS   time bound on shrinking a failure (default 60000)
 *   MODEL_NO_SHRINK   set to 1 to report the first failure unshrunk
 *   MODEL_STATS       set to print how often each outcome occurred
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  balancesOf,
  checkInvariants,
  openOrder,
  createState,
  depthOf,
  execute,
  openOrdersOf,
  type ApplyOutcome,
  type ExchangeState,
  type Instruction,
  type InstructionResult,
  type OrderRequest,
  type OrderView,
} from '../src/index.js';
import {
  assetDecimals,
  marketPool,
  scenarioArbitrary,
  type AmountSpec,
  type Command,
  type DecimalDefect,
  type FeeConfig,
  type LimitConfig,
  type MarketConfig,
  type OrderSpec,
  type Scenario,
} from './model-arbitraries.js';
import { ReferenceModel, unitsToDecimal, type ModelOrderView, type ModelOutcome, type ModelResult, type ModelTrade } from './reference-model.js';

// ---------------------------------------------------------------------------
// Keys and canonical comparison.
// ---------------------------------------------------------------------------

const keyOf = (byte: number): string => Buffer.alloc(32, byte).toString('base64');
const OPERATOR = keyOf(1);
const SEPARATE_FEE = keyOf(2);
const STRANGER = keyOf(3);
const traderKey = (index: number): string => keyOf(16 + index);

const canon = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `${item}n` : item === undefined ? null : item));

/** Structural equality of plain data (objects, arrays, primitives, bigints); undefined fields count as absent. */
function same(a: unknown, b: unknown): boolean {
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
function firstDifference(a: unknown, b: unknown, path = ''): string {
  if (same(a, b)) return '';
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) {
      return `${path || 'value'}: engine has ${a.length} items, model has ${b.length}`;
    }
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`);
      if (found !== '') return found;
    }
  }
  return `${path || 'value'}: engine ${canon(a)}, model ${canon(b)}`;
}

class Mismatch extends Error {
  override readonly name = 'ModelMismatch';
}

// ---------------------------------------------------------------------------
// Normalising engine and model outputs to one shape.
// ---------------------------------------------------------------------------

type OrderLike = OrderView | ModelOrderView;

function pickOrder(order: OrderLike) {
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
    remainingSteps: order.quoteQuantityUnits === undefined ? order.quantitySteps - order.executedSteps : undefined,
    timeInForce: order.timeInForce,
    postOnly: order.postOnly,
    selfTradePrevention: order.selfTradePrevention,
    clientId: order.clientId,
    status: order.status,
    createdAtMs: order.createdAtMs,
    triggerPriceTicks: order.triggerPriceTicks,
  };
}

function pickTrade(trade: ModelTrade) {
  return {
    tradeId: trade.tradeId,
    market: trade.market,
    priceTicks: trade.priceTicks,
    quantitySteps: trade.quantitySteps,
    quoteUnits: trade.quoteUnits,
    takerSide: trade.takerSide,
    makerOrderId: trade.makerOrderId,
    takerOrderId: trade.takerOrderId,
    makerAccount: trade.makerAccount,
    takerAccount: trade.takerAccount,
    makerFeeUnits: trade.makerFeeUnits,
    takerFeeUnits: trade.takerFeeUnits,
  };
}

function engineResult(result: InstructionResult): ModelResult {
  if (!result.ok) return { ok: false, code: result.rejection.code };
  const value = result.value;
  switch (value.kind) {
    case 'order':
      if (value.attached === undefined) return { ok: true, kind: 'order', order: value.order };
      return { ok: true, kind: 'order', order: value.order, attached: [value.attached.takeProfit, value.attached.stopLoss].filter((view) => view !== undefined) };
    case 'orders':
      return { ok: true, kind: 'orders', orders: value.orders };
    case 'withdrawal': {
      const w = value.withdrawal;
      return { ok: true, kind: 'withdrawal', withdrawalId: w.withdrawalId, account: w.account, asset: w.asset, quantityUnits: w.quantityUnits, status: w.status };
    }
    case 'deposit': {
      const d = value.deposit;
      return { ok: true, kind: 'deposit', account: d.account, asset: d.asset, quantityUnits: d.quantityUnits, blockchain: d.blockchain, chainTransactionId: d.chainTransactionId };
    }
    case 'listed':
      return { ok: true, kind: 'listed', symbol: value.symbol };
    case 'reserves':
      // The model generates no reserves statements; the liabilities tree tests cover them.
      throw new Error('unexpected reserves result in the model test');
    case 'attestationRecorded':
      // Attestation records are the node's; apply.test.ts and the replayer tests cover them.
      throw new Error('unexpected attestation record in the model test');
    case 'exitAddressLinked':
      // The model generates no exit-address links; exit-address.test.ts covers them.
      throw new Error('unexpected exit-address link in the model test');
  }
}

function pickResult(result: ModelResult) {
  if (!result.ok) return { ok: false, code: result.code };
  switch (result.kind) {
    case 'order':
      return { ok: true, kind: 'order', order: pickOrder(result.order), attached: result.attached?.map(pickOrder) };
    case 'orders':
      return { ok: true, kind: 'orders', orders: result.orders.map(pickOrder) };
    case 'withdrawal':
      return { ok: true, kind: 'withdrawal', withdrawalId: result.withdrawalId, account: result.account, asset: result.asset, quantityUnits: result.quantityUnits, status: result.status };
    case 'deposit':
      return { ok: true, kind: 'deposit', account: result.account, asset: result.asset, quantityUnits: result.quantityUnits, blockchain: result.blockchain, chainTransactionId: result.chainTransactionId };
    case 'listed':
      return { ok: true, kind: 'listed', symbol: result.symbol };
  }
}

function engineTrades(outcome: ApplyOutcome): ModelTrade[] {
  if (!outcome.accepted) return [];
  const trades: ModelTrade[] = [];
  for (const event of outcome.events) if (event.type === 'trade') trades.push(event);
  return trades;
}

function normaliseEngine(outcome: ApplyOutcome) {
  return {
    accepted: outcome.accepted,
    rejectionCode: outcome.accepted ? undefined : outcome.rejection.code,
    results: outcome.results.map((result) => pickResult(engineResult(result))),
    trades: engineTrades(outcome).map(pickTrade),
  };
}

function normaliseModel(outcome: ModelOutcome) {
  return {
    accepted: outcome.accepted,
    rejectionCode: outcome.rejectionCode,
    results: outcome.results.map(pickResult),
    trades: outcome.trades.map(pickTrade),
  };
}

/** Each taker's fills must walk the book in price-time order. */
function checkPriceTimeOrder(trades: readonly ModelTrade[]): string | undefined {
  for (let index = 1; index < trades.length; index += 1) {
    const previous = trades[index - 1]!;
    const trade = trades[index]!;
    if (trade.tradeId !== previous.tradeId + 1) return `trade ids not consecutive: ${previous.tradeId} then ${trade.tradeId}`;
    if (trade.takerOrderId !== previous.takerOrderId) continue;
    const worse = trade.takerSide === 'Bid' ? trade.priceTicks < previous.priceTicks : trade.priceTicks > previous.priceTicks;
    if (worse) return `taker ${trade.takerOrderId} filled at a better price after a worse one`;
    if (trade.priceTicks === previous.priceTicks && trade.makerOrderId <= previous.makerOrderId) {
      return `taker ${trade.takerOrderId} skipped time priority at ${trade.priceTicks}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Coverage counters, printed when MODEL_STATS is set, to tune the generators.
// ---------------------------------------------------------------------------

const coverage: Map<string, number> | undefined = process.env.MODEL_STATS ? new Map() : undefined;

function count(label: string): void {
  coverage?.set(label, (coverage.get(label) ?? 0) + 1);
}

function recordCoverage(instruction: Instruction, outcome: ApplyOutcome): void {
  count(`${instruction.kind} ${outcome.accepted ? 'accepted' : `rejected ${outcome.rejection.code}`}`);
  if (instruction.kind === 'orderExecute') {
    instruction.orders.forEach((request, index) => {
      const result = outcome.results[index];
      const shape = `${request.orderType}${request.quoteQuantity !== undefined ? '/quote' : ''} ${request.timeInForce}${request.postOnly ? ' postOnly' : ''}`;
      if (result === undefined || !result.ok) count(`  order rejected ${result?.ok === false ? result.rejection.code : '?'}`);
      else if (result.value.kind === 'order') {
        const order = result.value.order;
        count(`  order ${shape} → ${order.status}${order.executedSteps > 0n ? ' (traded)' : ''}`);
        if (order.status === 'Cancelled') count(`  stp ${request.selfTradePrevention} cancelled the taker`);
      }
    });
  }
  if (outcome.accepted) {
    for (const event of outcome.events) {
      if (event.type === 'trade') {
        count('trade');
        if (event.makerAccount === event.takerAccount) count('self trade');
        if (event.makerFeeUnits > 0n || event.takerFeeUnits > 0n) count('trade with fee');
      }
      if (event.type === 'orderUpdated' && event.order.status === 'Cancelled') count(`orderUpdated Cancelled (${event.reason ?? '-'})`);
      if (event.type === 'orderAccepted' && event.order.status === 'TriggerPending') count('trigger order pending');
      if (event.type === 'orderUpdated' && event.reason?.startsWith('Triggered') === true) {
        count(`trigger fired → ${event.order.status === 'TriggerFailed' ? `TriggerFailed ${event.reason.split(' ')[6] ?? ''}` : event.order.status}`);
      }
    }
  }
}

function printCoverage(title: string): void {
  if (coverage === undefined) return;
  const lines = [...coverage].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([label, value]) => `${String(value).padStart(9)}  ${label}`);
  console.log(`${title}\n${lines.join('\n')}`);
  coverage.clear();
}

// ---------------------------------------------------------------------------
// The harness: one engine, one model, the same instructions.
// ---------------------------------------------------------------------------

interface Setup {
  readonly feeAccount: string;
  readonly traders: readonly string[];
  readonly markets: readonly MarketConfig[];
  readonly fees: readonly FeeConfig[];
  readonly limits?: readonly LimitConfig[];
}

class Harness {
  readonly state: ExchangeState;
  readonly model: ReferenceModel;
  readonly accounts: string[];
  readonly trace: string[] = [];
  timeMs = 1_000;

  constructor(readonly setup: Setup) {
    const genesis = { exchangeName: 'model-test', operatorKeys: [OPERATOR], feeAccount: setup.feeAccount };
    this.state = createState(genesis);
    this.model = new ReferenceModel(genesis);
    this.accounts = [...new Set([OPERATOR, setup.feeAccount, STRANGER, SEPARATE_FEE, ...setup.traders])];
    const assets: string[] = [];
    for (const market of setup.markets) for (const asset of [market.base, market.quote]) if (!assets.includes(asset)) assets.push(asset);
    for (const symbol of assets) this.expectAccepted(this.step(OPERATOR, { kind: 'assetList', symbol, decimals: assetDecimals[symbol]! }));
    setup.markets.forEach((market, index) => {
      const fee = setup.fees[index] ?? { makerFeeBps: 0, takerFeeBps: 0 };
      const limits = setup.limits?.[index];
      const price = (ticks: bigint) => unitsToDecimal(ticks * market.tickUnits, market.priceScale);
      const quantity = (steps: bigint) => unitsToDecimal(steps * market.stepUnits, market.baseDecimals);
      this.expectAccepted(
        this.step(OPERATOR, {
          kind: 'marketList',
          symbol: market.symbol,
          baseSymbol: market.base,
          quoteSymbol: market.quote,
          tickSize: market.tickSize,
          stepSize: market.stepSize,
          minQuantity: quantity(market.minQuantitySteps),
          maxQuantity: quantity(market.maxQuantitySteps),
          minPrice: price(market.midTicks - market.priceBandTicks),
          maxPrice: price(market.midTicks + market.priceBandTicks),
          makerFeeBps: fee.makerFeeBps,
          takerFeeBps: fee.takerFeeBps,
          ...(limits?.maxOpenOrders !== undefined ? { maxOpenOrders: limits.maxOpenOrders } : {}),
          ...(limits?.maxMakersPerOrder !== undefined ? { maxMakersPerOrder: limits.maxMakersPerOrder } : {}),
          ...(limits?.minOrderValueSteps !== undefined
            ? {
                minOrderValue: unitsToDecimal(
                  BigInt(limits.minOrderValueSteps) * market.midTicks * market.quoteUnitsPerStepTick + BigInt(limits.minOrderValueExtraUnits),
                  market.quoteDecimals,
                ),
              }
            : {}),
        }),
      );
      const listed = this.model.market(market.symbol)!;
      if (listed.quoteUnitsPerStepTick !== market.quoteUnitsPerStepTick || listed.stepUnits !== market.stepUnits) {
        throw new Error(`market config ${market.symbol} disagrees with its listing`);
      }
    });
  }

  private expectAccepted(outcome: ApplyOutcome): void {
    if (!outcome.accepted) throw new Error(`setup step rejected: ${outcome.rejection.code} ${outcome.rejection.message}`);
  }

  private fail(message: string): never {
    const recent = this.trace.slice(-40);
    throw new Mismatch(`${message}\n--- last ${recent.length} steps (of ${this.trace.length}) ---\n${recent.join('\n')}`);
  }

  /** Applies one instruction to both, compares everything, returns the engine's outcome. */
  step(signer: string, instruction: Instruction, dt = 0): ApplyOutcome {
    this.timeMs += dt;
    const signerName = this.nameOf(signer);
    this.trace.push(`#${this.trace.length} t=${this.timeMs} ${signerName}: ${canon(instruction)}`);
    const engineOutcome = execute(this.state, signer, instruction, this.timeMs);
    if (coverage !== undefined) recordCoverage(instruction, engineOutcome);
    const modelOutcome = this.model.execute(signer, instruction, this.timeMs);
    const engineView = normaliseEngine(engineOutcome);
    const modelView = normaliseModel(modelOutcome);
    if (!same(engineView, modelView)) {
      this.fail(`outcome differs at ${firstDifference(engineView, modelView)}\n engine: ${canon(engineView)}\n model:  ${canon(modelView)}`);
    }
    const order = checkPriceTimeOrder(engineTrades(engineOutcome));
    if (order !== undefined) this.fail(order);
    this.compareState();
    return engineOutcome;
  }

  nameOf(account: string): string {
    if (account === OPERATOR) return 'operator';
    if (account === STRANGER) return 'stranger';
    if (account === SEPARATE_FEE) return 'fee';
    const trader = this.setup.traders.indexOf(account);
    return trader >= 0 ? `trader${trader}` : account;
  }

  compareState(): void {
    const compare = (what: string, engine: unknown, model: unknown): void => {
      if (!same(engine, model)) this.fail(`${what} differ at ${firstDifference(engine, model)}\n engine: ${canon(engine)}\n model:  ${canon(model)}`);
    };
    for (const account of this.accounts) {
      compare(`balances of ${this.nameOf(account)}`, balancesOf(this.state, account), this.model.balancesOf(account));
      compare(`open orders of ${this.nameOf(account)}`, openOrdersOf(this.state, account).map(pickOrder), this.model.openOrdersOf(account).map(pickOrder));
    }
    for (const market of this.state.markets) compare(`depth of ${market.symbol}`, depthOf(market, 1_000), this.model.depthOf(market.symbol));
    try {
      checkInvariants(this.state);
    } catch (error) {
      this.fail(`engine invariant: ${(error as Error).message}`);
    }
    const modelProblem = this.model.selfCheck();
    if (modelProblem !== undefined) this.fail(modelProblem);
  }
}

// ---------------------------------------------------------------------------
// Turning abstract commands into instructions.
// ---------------------------------------------------------------------------

const malformedDecimals = ['', '1e2', '-1', '.5', '01', '1.', '1,5', ' 1', 'NaN', '0x10', '1.2.3', '+1'];

function withTrailingZeros(text: string, count: number): string {
  return (text.includes('.') ? text : `${text}.`) + '0'.repeat(count);
}

function formatAmount(units: bigint, decimals: number, defect: DecimalDefect, salt: number): string {
  switch (defect) {
    case 'trailingZeros':
      return withTrailingZeros(unitsToDecimal(units, decimals), 1 + (salt % 2));
    case 'tooPrecise':
      return unitsToDecimal(units * 10n + 3n, decimals + 1);
    case 'zero':
      return salt % 2 === 0 ? '0' : '0.00';
    case 'malformed':
      return malformedDecimals[salt % malformedDecimals.length]!;
    default:
      return unitsToDecimal(units, decimals);
  }
}

class ScenarioRunner {
  readonly harness: Harness;
  private readonly operatorLike: string[];

  constructor(readonly scenario: Scenario) {
    const traders = Array.from({ length: scenario.traderCount }, (_, index) => traderKey(index));
    const feeAccount = scenario.feeAccount === 'operator' ? OPERATOR : scenario.feeAccount === 'separate' ? SEPARATE_FEE : traders[0]!;
    this.harness = new Harness({ feeAccount, traders, markets: scenario.markets, fees: scenario.fees, limits: scenario.limits });
    this.operatorLike = [OPERATOR, OPERATOR, STRANGER, SEPARATE_FEE];
  }

  /** Actor 0..11 → a trader, 12..13 → the operator, 14 → a stranger, 15 → the separate fee key. */
  private actor(index: number): string {
    if (index < 12) return this.harness.setup.traders[index % this.harness.setup.traders.length]!;
    return this.operatorLike[index - 12]!;
  }

  private market(index: number): MarketConfig | undefined {
    if (index < 0) return undefined;
    const markets = this.scenario.markets;
    return markets[index % markets.length];
  }

  private assetSymbols(): string[] {
    return this.harness.model.assets.map((asset) => asset.symbol);
  }

  /** A typical amount of an asset: two steps of base, or two steps' worth of quote at the mid price. */
  private lotUnits(asset: string): bigint {
    for (const market of this.scenario.markets) {
      if (market.base === asset) return market.stepUnits * 2n;
      if (market.quote === asset) return market.midTicks * market.quoteUnitsPerStepTick * 2n;
    }
    return 1n;
  }

  private amountText(asset: string, spec: AmountSpec): string {
    const units = BigInt(spec.lots) * this.lotUnits(asset) + BigInt(spec.extraUnits);
    return formatAmount(units, assetDecimals[asset] ?? 6, spec.defect, spec.lots + spec.extraUnits);
  }

  private orderRequest(spec: OrderSpec): OrderRequest {
    const config = this.market(spec.market) ?? this.scenario.markets[0]!;
    const symbol = spec.market < 0 ? 'DOGE_USDC' : config.symbol;
    const salt = spec.steps + spec.priceOffsetTicks + 20;
    const common = {
      symbol,
      side: spec.side,
      timeInForce: spec.timeInForce,
      postOnly: spec.postOnly,
      selfTradePrevention: spec.selfTradePrevention,
      ...(spec.clientId !== undefined ? { clientId: spec.clientId } : {}),
    };

    const steps = BigInt(spec.steps);
    let quantity: string;
    switch (spec.quantityDefect) {
      case 'zero':
        quantity = '0';
        break;
      case 'outOfRange':
        quantity = unitsToDecimal((config.maxQuantitySteps + steps) * config.stepUnits, config.baseDecimals);
        break;
      case 'offStep':
        quantity = config.stepUnits > 1n
          ? unitsToDecimal(steps * config.stepUnits + 1n, config.baseDecimals)
          : unitsToDecimal(steps * config.stepUnits * 10n + 5n, config.baseDecimals + 1);
        break;
      default:
        quantity = formatAmount(steps * config.stepUnits, config.baseDecimals, spec.quantityDefect, salt);
    }

    // Section 8: trigger orders (sized by triggerQuantity) and attached take-profit / stop-loss.
    const tickText = (offset: number) => unitsToDecimal((config.midTicks + BigInt(offset)) * config.tickUnits, config.priceScale);
    const isTrigger = spec.trigger === 'trigger' && !(spec.orderType === 'Market' && spec.byQuote);
    const attachedSpec = spec.trigger !== 'none' && spec.trigger !== 'trigger' && !(spec.orderType === 'Market' && spec.byQuote);
    const withTriggers = <T extends OrderRequest>(request: T): OrderRequest => {
      if (isTrigger) {
        const { quantity: triggerQuantity, ...rest } = request;
        return { ...rest, triggerPrice: tickText(spec.triggerOffsetTicks), ...(triggerQuantity !== undefined ? { triggerQuantity } : {}) };
      }
      if (!attachedSpec) return request;
      const takeProfit = spec.trigger !== 'stopLoss'
        ? { takeProfitTriggerPrice: tickText(spec.triggerOffsetTicks), ...(spec.attachedLimit ? { takeProfitLimitPrice: tickText(spec.triggerOffsetTicks) } : {}) }
        : {};
      const stopLoss = spec.trigger !== 'takeProfit'
        ? { stopLossTriggerPrice: tickText(spec.stopLossOffsetTicks), ...(spec.attachedLimit ? { stopLossLimitPrice: tickText(spec.stopLossOffsetTicks) } : {}) }
        : {};
      return { ...request, ...takeProfit, ...stopLoss };
    };

    if (spec.orderType === 'Market') {
      if (spec.byQuote) {
        const units = BigInt(spec.quoteSteps) * config.midTicks * config.quoteUnitsPerStepTick + BigInt(spec.quoteExtraUnits);
        const defect = spec.quantityDefect === 'offStep' || spec.quantityDefect === 'outOfRange' ? 'none' : spec.quantityDefect;
        return { ...common, orderType: 'Market', quoteQuantity: formatAmount(units, config.quoteDecimals, defect, salt) };
      }
      return withTriggers({ ...common, orderType: 'Market', quantity });
    }

    const ticks = config.midTicks + BigInt(spec.priceOffsetTicks);
    let price: string;
    switch (spec.priceDefect) {
      case 'outOfRange': {
        const beyond = config.priceBandTicks + 1n + BigInt(Math.abs(spec.priceOffsetTicks));
        price = spec.priceOffsetTicks === 0 ? '0' : unitsToDecimal((config.midTicks + (spec.priceOffsetTicks > 0 ? beyond : -beyond)) * config.tickUnits, config.priceScale);
        break;
      }
      case 'tooPrecise':
        price = unitsToDecimal(ticks * config.tickUnits * 10n + 3n, config.priceScale + 1);
        break;
      default:
        price = formatAmount(ticks * config.tickUnits, config.priceScale, spec.priceDefect, salt);
    }
    return withTriggers({ ...common, orderType: 'Limit', price, quantity });
  }

  /** Opening deposits for the traders and the operator, so orders have funds to work with. */
  fund(): void {
    const accounts = [...this.harness.setup.traders, OPERATOR];
    const assets = this.assetSymbols();
    let index = 0;
    for (const account of accounts) {
      for (const asset of assets) {
        const funding = this.scenario.funding[index % this.scenario.funding.length]!;
        index += 1;
        if (funding.skip || funding.lots === 0) continue;
        const units = BigInt(funding.lots) * this.lotUnits(asset) + BigInt(funding.extraUnits);
        this.harness.step(OPERATOR, {
          kind: 'depositCredit',
          account,
          symbol: asset,
          quantity: unitsToDecimal(units, assetDecimals[asset]!),
          blockchain: 'solana',
          chainTransactionId: `fund-${index}`,
        });
      }
    }
  }

  run(command: Command): void {
    const { harness } = this;
    const model = harness.model;
    switch (command.type) {
      case 'deposit': {
        const assets = this.assetSymbols();
        const unknown = command.asset === 7 && command.chain === 1;
        const asset = unknown ? 'DOGE' : assets[command.asset % assets.length]!;
        harness.step(
          command.signedByOperator ? OPERATOR : this.actor(command.signer),
          {
            kind: 'depositCredit',
            account: this.actor(command.target),
            symbol: asset,
            quantity: this.amountText(asset, command.amount),
            blockchain: command.chain === 0 ? 'solana' : 'ethereum',
            chainTransactionId: `tx-${command.transaction}`,
          },
          command.dt,
        );
        break;
      }
      case 'orders':
        harness.step(this.actor(command.signer), { kind: 'orderExecute', orders: command.orders.map((spec) => this.orderRequest(spec)) }, command.dt);
        break;
      case 'cancel': {
        const signer = this.actor(command.signer);
        const config = this.market(command.market);
        let symbol = config === undefined ? 'DOGE_USDC' : config.symbol;
        let target: { orderId: number } | { clientId: number };
        if (command.by === 'ownOpen') {
          const own = model.openOrdersOf(signer);
          const order = own[command.pick % Math.max(own.length, 1)];
          // Mostly on the order's own market; sometimes on the command's, which may be the wrong one.
          if (order !== undefined && command.market >= 0 && command.pick % 4 !== 0) symbol = order.market;
          target = { orderId: order?.orderId ?? command.pick + 1 };
        } else if (command.by === 'anyOpen') {
          const all = model.allOpenOrders();
          target = { orderId: all[command.pick % Math.max(all.length, 1)]?.orderId ?? command.pick + 1 };
        } else if (command.by === 'clientId') {
          const own = model.openOrdersOf(signer).filter((order) => order.clientId !== undefined);
          const order = own[command.pick % Math.max(own.length, 1)];
          if (order !== undefined && command.pick % 3 !== 0) {
            if (command.market >= 0 && command.pick % 4 !== 1) symbol = order.market;
            target = { clientId: order.clientId! };
          } else target = { clientId: command.pick % 7 };
        } else target = { orderId: command.pick };
        harness.step(signer, { kind: 'orderCancel', symbol, ...target }, command.dt);
        break;
      }
      case 'cancelAll': {
        const config = this.market(command.market);
        harness.step(this.actor(command.signer), { kind: 'orderCancelAll', symbol: config?.symbol ?? 'DOGE_USDC' }, command.dt);
        break;
      }
      case 'withdraw': {
        const assets = this.assetSymbols();
        const asset = command.asset < 0 ? 'DOGE' : assets[command.asset % assets.length]!;
        harness.step(
          this.actor(command.signer),
          { kind: 'withdraw', symbol: asset, quantity: this.amountText(asset, command.amount), address: 'addr-1', blockchain: 'solana' },
          command.dt,
        );
        break;
      }
      case 'settle': {
        const pending = model.pendingWithdrawals();
        const chosen = command.pending ? pending[command.pick % Math.max(pending.length, 1)] : undefined;
        const withdrawalId = chosen?.withdrawalId ?? command.pick;
        const signer = command.signedByOperator ? OPERATOR : this.actor(command.signer);
        harness.step(
          signer,
          command.complete
            ? { kind: 'withdrawalComplete', withdrawalId, chainTransactionId: `out-${withdrawalId}` }
            : { kind: 'withdrawalFail', withdrawalId, reason: 'chain rejected' },
          command.dt,
        );
        break;
      }
    }
  }
}

function runScenario(scenario: Scenario): void {
  const runner = new ScenarioRunner(scenario);
  runner.fund();
  for (const command of scenario.commands) runner.run(command);
}

// ---------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------

function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer`);
  return value;
}

const seedFromEnv = process.env.MODEL_SEED !== undefined && process.env.MODEL_SEED !== '' ? envInteger('MODEL_SEED', 0) : undefined;
const pathFromEnv = process.env.MODEL_PATH !== undefined && process.env.MODEL_PATH !== '' ? process.env.MODEL_PATH : undefined;

/**
 * Runs the property in two phases so a failure is always reported in bounded
 * time: first the runs without shrinking (stop at the first failure), then
 * shrinking from that failure for at most MODEL_SHRINK_MS (default 60 s; long
 * scenarios shrink slowly). With MODEL_PATH set, replays that path (and
 * shrinks further within the same bound). MODEL_NO_SHRINK=1 skips shrinking.
 */
function assertModel(testName: string, property: fc.IProperty<[Scenario]>, numRuns: number): void {
  const shrinkMs = envInteger('MODEL_SHRINK_MS', 60_000);
  const shrink = process.env.MODEL_NO_SHRINK !== '1';
  const seed = seedFromEnv !== undefined ? { seed: seedFromEnv } : {};
  let details: fc.RunDetails<[Scenario]>;
  if (pathFromEnv !== undefined) {
    details = fc.check(property, { ...seed, path: pathFromEnv, endOnFailure: !shrink, interruptAfterTimeLimit: shrinkMs });
  } else {
    const found = fc.check(property, { ...seed, numRuns, endOnFailure: true });
    details = found;
    if (found.failed && shrink && found.counterexamplePath !== null) {
      const shrunk = fc.check(property, { seed: found.seed, path: found.counterexamplePath, interruptAfterTimeLimit: shrinkMs });
      if (shrunk.failed) details = shrunk;
    }
  }
  if (details.failed) {
    const rerun =
      `Re-run exactly this failure with:\n  MODEL_SEED=${details.seed} MODEL_PATH="${details.counterexamplePath ?? ''}" ` +
      `npx vitest run packages/engine/test/model.test.ts -t "${testName}"`;
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `${rerun}\n\nThe ${details.interrupted ? 'partly ' : ''}shrunk counterexample fails with:\n${cause}\n\n` +
        `${fc.defaultReportMessage(details) ?? ''}\n\n${rerun}`,
    );
  }
}

describe('engine agrees with the reference model', () => {
  const mainName = 'random sequences of 1 to 60 steps';
  it(mainName, () => {
    assertModel(mainName, fc.property(scenarioArbitrary(1, 60), runScenario), envInteger('MODEL_RUNS', 10_000));
    printCoverage(mainName);
  });

  const longName = 'long random sequences of 100 to 400 steps';
  it(longName, () => {
    assertModel(longName, fc.property(scenarioArbitrary(100, 400), runScenario), envInteger('MODEL_LONG_RUNS', 1_000));
    printCoverage(longName);
  });
});

// ---------------------------------------------------------------------------
// Hand-written scenarios: each runs through the same harness (so the model is
// checked too) and asserts the values the specification gives.
// ---------------------------------------------------------------------------

// The pool's SOL_USDC with a larger maximum quantity (10 SOL), so examples can use whole coins.
const SOL_USDC: MarketConfig = { ...marketPool.find((market) => market.symbol === 'SOL_USDC')!, maxQuantitySteps: 1_000n };
const ETH_USDC = marketPool.find((market) => market.symbol === 'ETH_USDC')!;
const ALICE = traderKey(0);
const BOB = traderKey(1);

function exampleHarness(
  market: MarketConfig = SOL_USDC,
  fee: FeeConfig = { makerFeeBps: 0, takerFeeBps: 0 },
  limits?: Partial<LimitConfig>,
): Harness {
  const limitConfig: LimitConfig = { maxOpenOrders: undefined, maxMakersPerOrder: undefined, minOrderValueSteps: undefined, minOrderValueExtraUnits: 0, ...limits };
  const harness = new Harness({ feeAccount: SEPARATE_FEE, traders: [ALICE, BOB], markets: [market], fees: [fee], limits: [limitConfig] });
  let transaction = 0;
  for (const account of [ALICE, BOB]) {
    for (const [symbol, quantity] of [[market.base, '1000'], [market.quote, '10000000']] as const) {
      transaction += 1;
      harness.step(OPERATOR, { kind: 'depositCredit', account, symbol, quantity, blockchain: 'solana', chainTransactionId: `seed-${transaction}` });
    }
  }
  return harness;
}

function codes(outcome: ApplyOutcome): string {
  return outcome.accepted ? 'accepted' : outcome.rejection.code;
}

function limit(side: 'Bid' | 'Ask', price: string, quantity: string, extra: Partial<OrderRequest> = {}): Instruction {
  return {
    kind: 'orderExecute',
    orders: [{ symbol: 'SOL_USDC', side, orderType: 'Limit', price, quantity, timeInForce: 'GTC', postOnly: false, selfTradePrevention: 'RejectTaker', ...extra }],
  };
}

function orderOf(outcome: ApplyOutcome, index = 0): OrderView {
  const result = outcome.results[index];
  if (result === undefined || !result.ok || result.value.kind !== 'order') throw new Error(`result ${index} is not an order: ${canon(result)}`);
  return result.value.order;
}

function balance(harness: Harness, account: string, asset: string) {
  const found = balancesOf(harness.state, account).find((item) => item.asset === asset);
  if (found === undefined) throw new Error(`no ${asset}`);
  return found;
}

describe('hand-written scenarios', () => {
  it('self-trade prevention RejectTaker cancels the taker and leaves the maker', () => {
    const h = exampleHarness();
    const maker = orderOf(h.step(ALICE, limit('Ask', '100', '1')));
    const outcome = h.step(ALICE, limit('Bid', '100', '2', { selfTradePrevention: 'RejectTaker' }));
    const taker = orderOf(outcome);
    expect(taker.status).toBe('Cancelled');
    expect(taker.executedSteps).toBe(0n);
    expect(engineTrades(outcome)).toEqual([]);
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).toEqual([maker.orderId]);
    expect(balance(h, ALICE, 'USDC').locked).toBe(0n);
  });

  it('self-trade prevention RejectMaker cancels own makers and keeps matching', () => {
    const h = exampleHarness();
    const own = orderOf(h.step(ALICE, limit('Ask', '100', '1')));
    const other = orderOf(h.step(BOB, limit('Ask', '100', '1')));
    const outcome = h.step(ALICE, limit('Bid', '100', '2', { selfTradePrevention: 'RejectMaker' }));
    const taker = orderOf(outcome);
    const trades = engineTrades(outcome);
    expect(trades.map((trade) => trade.makerOrderId)).toEqual([other.orderId]);
    expect(taker.status).toBe('PartiallyFilled');
    expect(taker.executedSteps).toBe(100n);
    // Alice's own ask is gone and its SOL unlocked; her bid rests for the remaining 1 SOL at 100.
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).toEqual([taker.orderId]);
    expect(balance(h, ALICE, 'SOL')).toMatchObject({ available: 1001_000_000_000n, locked: 0n });
    expect(balance(h, ALICE, 'USDC').locked).toBe(100_000_000n);
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).not.toContain(own.orderId);
  });

  it('self-trade prevention RejectBoth cancels the maker and the taker', () => {
    const h = exampleHarness();
    h.step(ALICE, limit('Ask', '100', '1'));
    const outcome = h.step(ALICE, limit('Bid', '100.1', '2', { selfTradePrevention: 'RejectBoth' }));
    expect(orderOf(outcome).status).toBe('Cancelled');
    expect(engineTrades(outcome)).toEqual([]);
    expect(openOrdersOf(h.state, ALICE)).toEqual([]);
    expect(balance(h, ALICE, 'SOL')).toMatchObject({ available: 1000_000_000_000n, locked: 0n });
    expect(balance(h, ALICE, 'USDC')).toMatchObject({ available: 10_000_000_000_000n, locked: 0n });
  });

  it('self-trade prevention Allow trades with oneself and still charges fees', () => {
    const h = exampleHarness(SOL_USDC, { makerFeeBps: 10, takerFeeBps: 20 });
    h.step(ALICE, limit('Ask', '100', '1'));
    const outcome = h.step(ALICE, limit('Bid', '100', '1', { selfTradePrevention: 'Allow' }));
    const [trade] = engineTrades(outcome);
    expect(orderOf(outcome).status).toBe('Filled');
    // Buyer (taker) pays 20 bps of 1 SOL in SOL; seller (maker) 10 bps of 100 USDC in USDC.
    expect(trade).toMatchObject({ takerFeeUnits: 2_000_000n, makerFeeUnits: 100_000n, quoteUnits: 100_000_000n });
    expect(balance(h, SEPARATE_FEE, 'SOL').available).toBe(2_000_000n);
    expect(balance(h, SEPARATE_FEE, 'USDC').available).toBe(100_000n);
  });

  it('fill-or-kill that cannot fill in full is refused without side effects or an id', () => {
    const h = exampleHarness();
    h.step(BOB, limit('Ask', '100', '1'));
    h.step(BOB, limit('Ask', '100.1', '0.5'));
    const before = canon([balancesOf(h.state, ALICE), balancesOf(h.state, BOB), depthOf(h.state.markets[0]!, 10)]);
    const outcome = h.step(ALICE, limit('Bid', '100.1', '2', { timeInForce: 'FOK' }));
    expect(codes(outcome)).toBe('ORDER_WOULD_NOT_FILL');
    expect(canon([balancesOf(h.state, ALICE), balancesOf(h.state, BOB), depthOf(h.state.markets[0]!, 10)])).toBe(before);
    // No id was consumed.
    expect(orderOf(h.step(BOB, limit('Ask', '100.2', '1'))).orderId).toBe(3);
  });

  it('fill-or-kill fills across levels when the book is deep enough', () => {
    const h = exampleHarness();
    const first = orderOf(h.step(BOB, limit('Ask', '100', '1')));
    const second = orderOf(h.step(BOB, limit('Ask', '100.1', '0.5')));
    const outcome = h.step(ALICE, limit('Bid', '100.2', '1.5', { timeInForce: 'FOK' }));
    expect(orderOf(outcome)).toMatchObject({ status: 'Filled', executedSteps: 150n, executedQuoteUnits: 150_050_000n });
    expect(engineTrades(outcome).map((trade) => [trade.makerOrderId, trade.priceTicks, trade.quantitySteps])).toEqual([
      [first.orderId, 10_000n, 100n],
      [second.orderId, 10_010n, 50n],
    ]);
    // Bought below the limit: the difference went back to available, nothing stays locked.
    expect(balance(h, ALICE, 'USDC')).toMatchObject({ available: 10_000_000_000_000n - 150_050_000n, locked: 0n });
  });

  it('market buy by quote quantity spends at most its budget, walking the book', () => {
    const h = exampleHarness();
    h.step(BOB, limit('Ask', '100', '0.5'));
    h.step(BOB, limit('Ask', '100.2', '2'));
    const outcome = h.step(ALICE, {
      kind: 'orderExecute',
      orders: [{ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Market', quoteQuantity: '100.5', timeInForce: 'GTC', postOnly: false, selfTradePrevention: 'RejectTaker' }],
    });
    // 0.5 SOL at 100 = 50 USDC, then floor(50.5 / 1.002) = 50 steps at 100.2 = 50.1 USDC; 0.4 USDC unspent.
    expect(orderOf(outcome)).toMatchObject({ status: 'Filled', executedSteps: 100n, executedQuoteUnits: 100_100_000n });
    expect(engineTrades(outcome).map((trade) => trade.quantitySteps)).toEqual([50n, 50n]);
    expect(balance(h, ALICE, 'USDC').available).toBe(10_000_000_000_000n - 100_100_000n);
    expect(balance(h, ALICE, 'SOL').available).toBe(1001_000_000_000n);
  });

  it('market buy by quote quantity on an empty book is refused', () => {
    const h = exampleHarness();
    const outcome = h.step(ALICE, {
      kind: 'orderExecute',
      orders: [{ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Market', quoteQuantity: '10', timeInForce: 'IOC', postOnly: false, selfTradePrevention: 'RejectTaker' }],
    });
    expect(codes(outcome)).toBe('ORDER_WOULD_NOT_FILL');
  });

  // The next three pin the specification's literal order of a quote-sized walk: find the next
  // maker, apply self-trade prevention, then size the fill (a zero size stops it for budget).
  const marketByQuote = (side: 'Bid' | 'Ask', quoteQuantity: string, selfTradePrevention: OrderRequest['selfTradePrevention']): Instruction => ({
    kind: 'orderExecute',
    orders: [{ symbol: 'SOL_USDC', side, orderType: 'Market', quoteQuantity, timeInForce: 'IOC', postOnly: false, selfTradePrevention }],
  });

  it('a quote-sized order that spends its whole budget is Filled, even as the book runs out', () => {
    const h = exampleHarness();
    h.step(BOB, limit('Ask', '100', '1'));
    expect(orderOf(h.step(ALICE, marketByQuote('Bid', '100', 'RejectTaker')))).toMatchObject({ status: 'Filled', executedSteps: 100n });
    const h2 = exampleHarness();
    h2.step(BOB, limit('Ask', '100', '1'));
    h2.step(BOB, limit('Ask', '100.1', '1'));
    expect(orderOf(h2.step(ALICE, marketByQuote('Bid', '100', 'RejectTaker')))).toMatchObject({ status: 'Filled', executedSteps: 100n });
  });

  it('a quote-sized order with its budget spent leaves an own maker alone under RejectMaker', () => {
    const h = exampleHarness();
    h.step(BOB, limit('Ask', '100', '1'));
    const own = orderOf(h.step(ALICE, limit('Ask', '100.1', '1')));
    h.step(BOB, limit('Ask', '100.2', '1'));
    const outcome = h.step(ALICE, marketByQuote('Bid', '100', 'RejectMaker'));
    expect(orderOf(outcome)).toMatchObject({ status: 'Filled', executedSteps: 100n });
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).toContain(own.orderId);
  });

  it('an order that cannot rest and would execute nothing is refused, whatever stops it', () => {
    const h = exampleHarness();
    const own = orderOf(h.step(ALICE, limit('Ask', '100', '1')));
    // Self-trade prevention stops it at once (and RejectBoth cancels nothing, since nothing is accepted).
    expect(codes(h.step(ALICE, marketByQuote('Bid', '50', 'RejectTaker')))).toBe('ORDER_WOULD_NOT_FILL');
    expect(codes(h.step(ALICE, limit('Bid', '100', '1', { timeInForce: 'IOC', selfTradePrevention: 'RejectBoth' })))).toBe('ORDER_WOULD_NOT_FILL');
    expect(openOrdersOf(h.state, ALICE).map((order) => order.orderId)).toEqual([own.orderId]);
    // A budget too small for one step, and an IOC limit that does not cross.
    h.step(BOB, limit('Ask', '100', '1'));
    expect(codes(h.step(BOB, marketByQuote('Bid', '0.5', 'RejectMaker')))).toBe('ORDER_WOULD_NOT_FILL');
    expect(codes(h.step(BOB, limit('Bid', '99.99', '1', { timeInForce: 'IOC' })))).toBe('ORDER_WOULD_NOT_FILL');
    // A GTC limit order may still rest, and under RejectTaker it is Cancelled as before.
    expect(orderOf(h.step(ALICE, limit('Bid', '100', '1'))).status).toBe('Cancelled');
  });

  it('a market sell by quote quantity needs only the base its walk will sell', () => {
    // BTC_USDC: a step is 0.001 BTC (100000 units); qpst = 500, so a step at 60000.5 costs 60.0005 USDC.
    const BTC_USDC: MarketConfig = { ...marketPool.find((market) => market.symbol === 'BTC_USDC')!, minQuantitySteps: 1n };
    const h = new Harness({ feeAccount: SEPARATE_FEE, traders: [ALICE, BOB], markets: [BTC_USDC], fees: [{ makerFeeBps: 0, takerFeeBps: 0 }] });
    h.step(OPERATOR, { kind: 'depositCredit', account: BOB, symbol: 'USDC', quantity: '1000', blockchain: 'b', chainTransactionId: '1' });
    h.step(OPERATOR, { kind: 'depositCredit', account: ALICE, symbol: 'BTC', quantity: '0.00105', blockchain: 'b', chainTransactionId: '2' });
    const bid = (price: string): Instruction => ({
      kind: 'orderExecute',
      orders: [{ symbol: 'BTC_USDC', side: 'Bid', orderType: 'Limit', price, quantity: '0.002', timeInForce: 'GTC', postOnly: false, selfTradePrevention: 'RejectTaker' }],
    });
    h.step(BOB, bid('60000.5'));
    h.step(BOB, bid('59999.5'));
    // Budget 120 USDC: one step at 60000.5 (60.0005), then 59.9995 left buys nothing more at that
    // maker, so the walk stops for budget having sold 0.001 BTC. Alice holds 0.00105 BTC: enough.
    const outcome = h.step(ALICE, {
      kind: 'orderExecute',
      orders: [{ symbol: 'BTC_USDC', side: 'Ask', orderType: 'Market', quoteQuantity: '120', timeInForce: 'IOC', postOnly: false, selfTradePrevention: 'RejectTaker' }],
    });
    expect(orderOf(outcome)).toMatchObject({ status: 'Filled', executedSteps: 1n, executedQuoteUnits: 60_000_500n });
  });

  it('fees round up to the next unit on each side', () => {
    // ETH_USDC: a step is 1 ETH unit and a step at a tick is 1 USDC unit.
    const h = exampleHarness(ETH_USDC, { makerFeeBps: 7, takerFeeBps: 30 });
    h.step(BOB, { kind: 'orderExecute', orders: [{ symbol: 'ETH_USDC', side: 'Bid', orderType: 'Limit', price: '3000.01', quantity: '0.0003', timeInForce: 'GTC', postOnly: false, selfTradePrevention: 'RejectTaker' }] });
    const outcome = h.step(ALICE, { kind: 'orderExecute', orders: [{ symbol: 'ETH_USDC', side: 'Ask', orderType: 'Limit', price: '3000', quantity: '0.0003', timeInForce: 'IOC', postOnly: false, selfTradePrevention: 'RejectTaker' }] });
    const [trade] = engineTrades(outcome);
    // Notional 3 steps × 300001 ticks × 1 = 900003 quote units. The taker sells: ceil(900003 × 30 / 10000) = 2701.
    // The maker buys 3 base units: ceil(3 × 7 / 10000) = 1.
    expect(trade).toMatchObject({ priceTicks: 300_001n, quantitySteps: 3n, quoteUnits: 900_003n, takerFeeUnits: 2_701n, makerFeeUnits: 1n });
    expect(balance(h, SEPARATE_FEE, 'USDC').available).toBe(2_701n);
    expect(balance(h, SEPARATE_FEE, 'ETH').available).toBe(1n);
  });

  it('rejects over-precise and out-of-range values without consuming an order id', () => {
    const h = exampleHarness();
    const codes = (outcome: ApplyOutcome) => (outcome.accepted ? 'accepted' : outcome.rejection.code);
    expect(codes(h.step(ALICE, limit('Bid', '100.001', '1')))).toBe('INVALID_PRICE');
    expect(codes(h.step(ALICE, limit('Bid', '200', '1')))).toBe('INVALID_PRICE');
    expect(codes(h.step(ALICE, limit('Bid', '100', '0.001')))).toBe('INVALID_QUANTITY');
    expect(codes(h.step(ALICE, limit('Bid', '100', '10.01')))).toBe('INVALID_QUANTITY');
    expect(codes(h.step(STRANGER, limit('Bid', '100', '1')))).toBe('INSUFFICIENT_FUNDS');
    expect(orderOf(h.step(ALICE, limit('Bid', '100.00', '1.0'))).orderId).toBe(1);
  });

  // Section 4.6: order limits. SOL_USDC's mid is 100 USDC, so a step (0.01 SOL) there is worth 1 USDC.
  it('refuses a resting order beyond the open-order limit, but not orders that cannot rest', () => {
    const h = exampleHarness(SOL_USDC, undefined, { maxOpenOrders: 2 });
    h.step(ALICE, limit('Bid', '99.9', '1'));
    h.step(ALICE, limit('Bid', '99.91', '1'));
    expect(codes(h.step(ALICE, limit('Bid', '99.92', '1')))).toBe('ORDER_LIMIT');
    // Bob's account has room; Alice's IOC is not counted against her limit.
    h.step(BOB, limit('Ask', '100', '1'));
    expect(orderOf(h.step(ALICE, limit('Bid', '100', '0.5', { timeInForce: 'IOC' }))).status).toBe('Filled');
    // A cancel makes room again.
    h.step(ALICE, { kind: 'orderCancel', symbol: 'SOL_USDC', orderId: 1 });
    expect(orderOf(h.step(ALICE, limit('Bid', '99.92', '1'))).status).toBe('New');
  });

  it('refuses orders whose value is below the minimum order value', () => {
    const h = exampleHarness(SOL_USDC, undefined, { minOrderValueSteps: 5 });
    // 0.04 SOL at 100 is 4 USDC; 0.05 SOL is exactly the 5 USDC minimum.
    expect(codes(h.step(ALICE, limit('Bid', '100', '0.04')))).toBe('ORDER_VALUE_TOO_SMALL');
    expect(orderOf(h.step(BOB, limit('Ask', '100', '0.05'))).status).toBe('New');
    // A market order sized by quantity is valued by what its walk would trade: 0.04 SOL at 100.
    expect(codes(h.step(ALICE, { kind: 'orderExecute', orders: [{ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Market', quantity: '0.04', timeInForce: 'IOC', postOnly: false, selfTradePrevention: 'RejectTaker' }] }))).toBe(
      'ORDER_VALUE_TOO_SMALL',
    );
    // Sized by quote quantity, by its budget.
    expect(codes(h.step(ALICE, marketByQuote('Bid', '4.99', 'RejectTaker')))).toBe('ORDER_VALUE_TOO_SMALL');
    expect(orderOf(h.step(ALICE, marketByQuote('Bid', '5', 'RejectTaker'))).status).toBe('Filled');
  });

  it('stops a taker after the maker limit; a GTC remainder expires rather than rest crossed', () => {
    const h = exampleHarness(SOL_USDC, undefined, { maxMakersPerOrder: 2 });
    for (const price of ['100', '100', '100.01']) h.step(BOB, limit('Ask', price, '0.1'));
    const outcome = h.step(ALICE, limit('Bid', '100.01', '1'));
    expect(orderOf(outcome)).toMatchObject({ status: 'Expired', executedSteps: 20n });
    expect(engineTrades(outcome).map((trade) => trade.makerOrderId)).toEqual([1, 2]);
    expect(balancesOf(h.state, ALICE).find((balance) => balance.asset === 'USDC')!.locked).toBe(0n);
    // The third maker is still there; a fill-or-kill that would need it is refused.
    expect(depthOf(h.state.markets[0]!, 10).asks).toEqual([{ priceTicks: 10_001n, quantitySteps: 10n }]);
    h.step(BOB, limit('Ask', '100.01', '0.1'));
    expect(codes(h.step(ALICE, limit('Bid', '100.01', '0.3', { timeInForce: 'FOK' })))).toBe('ORDER_WOULD_NOT_FILL');
    expect(orderOf(h.step(ALICE, limit('Bid', '100.01', '0.2', { timeInForce: 'FOK' }))).status).toBe('Filled');
  });

  it('counts makers cancelled by self-trade prevention against the maker limit', () => {
    const h = exampleHarness(SOL_USDC, undefined, { maxMakersPerOrder: 2 });
    h.step(ALICE, limit('Ask', '100', '0.1'));
    h.step(ALICE, limit('Ask', '100', '0.1'));
    h.step(BOB, limit('Ask', '100', '0.1'));
    // Two own makers come first: RejectMaker cancels both, and with 2 makers met the walk stops before Bob's.
    const outcome = h.step(ALICE, limit('Bid', '100', '0.1', { selfTradePrevention: 'RejectMaker' }));
    expect(orderOf(outcome)).toMatchObject({ status: 'Expired', executedSteps: 0n });
    expect(openOrdersOf(h.state, ALICE)).toEqual([]);
    expect(depthOf(h.state.markets[0]!, 10).asks).toEqual([{ priceTicks: 10_000n, quantitySteps: 10n }]);
  });

  // Section 8: trigger orders. Prices on this market lie within 99.80 to 100.20.
  const stop = (side: 'Bid' | 'Ask', triggerPrice: string, quantity: string, extra: Partial<OrderRequest> = {}): Instruction => ({
    kind: 'orderExecute',
    orders: [{ symbol: 'SOL_USDC', side, orderType: 'Market', triggerPrice, triggerQuantity: quantity, timeInForce: 'IOC', postOnly: false, selfTradePrevention: 'RejectTaker', ...extra }],
  });
  const trade = (h: Harness, price: string): void => {
    h.step(BOB, limit('Ask', price, '0.01'));
    h.step(ALICE, limit('Bid', price, '0.01'));
  };

  it('a trigger order needs a last price to give it a direction, and not the same price', () => {
    const h = exampleHarness();
    expect(codes(h.step(ALICE, stop('Ask', '99.9', '1')))).toBe('INVALID_ORDER');
    trade(h, '100');
    expect(codes(h.step(ALICE, stop('Ask', '100', '1')))).toBe('INVALID_ORDER');
    expect(orderOf(h.step(ALICE, stop('Ask', '99.9', '1')))).toMatchObject({ status: 'TriggerPending', triggerPriceTicks: 9_990n });
  });

  it('a stop-market sell waits, reserving nothing, and fires when a trade reaches its trigger price', () => {
    const h = exampleHarness();
    trade(h, '100');
    const pending = orderOf(h.step(ALICE, stop('Ask', '99.9', '0.5')));
    expect(openOrdersOf(h.state, ALICE).map((order) => order.status)).toEqual(['TriggerPending']);
    expect(balancesOf(h.state, ALICE).every((balance) => balance.locked === 0n)).toBe(true);
    h.step(BOB, limit('Bid', '99.85', '2'));
    // A trade at 99.95 is above 99.9: nothing fires. A trade at 99.9 fires the stop at the end of that entry.
    trade(h, '99.95');
    expect(openOrder(h.state, pending.orderId)?.status).toBe('TriggerPending');
    h.step(BOB, limit('Ask', '99.9', '0.01'));
    const outcome = h.step(ALICE, limit('Bid', '99.9', '0.01'));
    const fired = outcome.accepted ? outcome.events.filter((event) => event.type === 'trade' && event.takerOrderId === pending.orderId) : [];
    // It sells 0.5 into Bob's bid at 99.85, as a market order.
    expect(fired).toMatchObject([{ priceTicks: 9_985n, quantitySteps: 50n }]);
    expect(openOrdersOf(h.state, ALICE).some((order) => order.orderId === pending.orderId)).toBe(false);
  });

  it('a trigger that cannot execute when it fires ends TriggerFailed', () => {
    const h = exampleHarness();
    trade(h, '100');
    // A stop-market buy of 0.5 at 100.1: when it fires, no ask is left to buy from.
    const pending = orderOf(h.step(ALICE, stop('Bid', '100.1', '0.5')));
    h.step(BOB, limit('Ask', '100.1', '0.01'));
    const outcome = h.step(ALICE, limit('Bid', '100.1', '0.01'));
    const update = outcome.accepted ? outcome.events.find((event) => event.type === 'orderUpdated' && event.order.orderId === pending.orderId) : undefined;
    expect(update).toMatchObject({ order: { status: 'TriggerFailed' } });
    expect(update?.type === 'orderUpdated' && update.reason).toMatch(/ORDER_WOULD_NOT_FILL/);
  });

  it('take-profit and stop-loss are placed with the order and cancel each other', () => {
    const h = exampleHarness();
    trade(h, '100');
    h.step(BOB, limit('Ask', '100', '1'));
    const outcome = h.step(ALICE, limit('Bid', '100', '1', { takeProfitTriggerPrice: '100.1', stopLossTriggerPrice: '99.9', stopLossLimitPrice: '99.85' }));
    const result = outcome.results[0];
    const views = result?.ok === true && result.value.kind === 'order' ? result.value.attached : undefined;
    const attached = [views?.takeProfit, views?.stopLoss];
    expect(attached).toMatchObject([
      { side: 'Ask', orderType: 'Market', status: 'TriggerPending', triggerPriceTicks: 10_010n, quantitySteps: 100n },
      { side: 'Ask', orderType: 'Limit', priceTicks: 9_985n, status: 'TriggerPending', triggerPriceTicks: 9_990n },
    ]);
    h.step(BOB, limit('Bid', '99.95', '5'));
    trade(h, '100.1');
    // The take-profit fired (selling 1 SOL into Bob's bid) and cancelled the stop-loss.
    expect(openOrdersOf(h.state, ALICE)).toEqual([]);
    expect(depthOf(h.state.markets[0]!, 10).bids).toEqual([{ priceTicks: 9_995n, quantitySteps: 400n }]);
  });

  it('fires at most 10 trigger orders per entry, in trigger-price order; the rest at the entries that follow', () => {
    const h = exampleHarness();
    trade(h, '100');
    h.step(BOB, limit('Bid', '99.8', '10'));
    const ids: number[] = [];
    for (let index = 0; index < 12; index += 1) ids.push(orderOf(h.step(ALICE, stop('Ask', index % 2 === 0 ? '99.95' : '99.9', '0.01'))).orderId);
    h.step(BOB, limit('Ask', '99.85', '0.01'));
    const outcome = h.step(ALICE, limit('Bid', '99.85', '0.01'));
    const firedOrder = outcome.accepted ? outcome.events.filter((event) => event.type === 'trade').map((event) => event.takerOrderId).slice(1) : [];
    // Falling triggers fire highest trigger price first (99.95 before 99.9), then by id.
    const expected = [...ids.filter((_, index) => index % 2 === 0), ...ids.filter((_, index) => index % 2 === 1)];
    expect(firedOrder).toEqual(expected.slice(0, 10));
    // Any accepted entry fires the rest.
    h.step(BOB, { kind: 'orderCancelAll', symbol: 'SOL_USDC' });
    expect(openOrdersOf(h.state, ALICE)).toEqual([]);
  });

  it('pending trigger orders count against the open-order limit and are cancelled like any open order', () => {
    const h = exampleHarness(SOL_USDC, undefined, { maxOpenOrders: 2 });
    trade(h, '100');
    const first = orderOf(h.step(ALICE, stop('Ask', '99.9', '1', { clientId: 5 })));
    h.step(ALICE, stop('Bid', '100.1', '1'));
    expect(codes(h.step(ALICE, limit('Bid', '99.9', '1')))).toBe('ORDER_LIMIT');
    expect(orderOf(h.step(ALICE, { kind: 'orderCancel', symbol: 'SOL_USDC', clientId: 5 }))).toMatchObject({ orderId: first.orderId, status: 'Cancelled' });
    const all = h.step(ALICE, { kind: 'orderCancelAll', symbol: 'SOL_USDC' });
    expect(all.accepted && all.results[0]?.ok === true && all.results[0].value.kind === 'orders' ? all.results[0].value.orders.map((order) => order.status) : []).toEqual(['Cancelled']);
  });

  it('a fired limit order keeps its id and its time priority from when it was placed', () => {
    const h = exampleHarness();
    trade(h, '100');
    // Alice's stop-limit buy: fires at 100.1, then rests at 100.05 (no ask that low).
    const stopLimit = orderOf(h.step(ALICE, { kind: 'orderExecute', orders: [{ symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '100.05', triggerPrice: '100.1', triggerQuantity: '0.5', timeInForce: 'GTC', postOnly: false, selfTradePrevention: 'RejectTaker' }] }));
    const later = orderOf(h.step(BOB, limit('Bid', '100.05', '0.5')));
    h.step(BOB, limit('Ask', '100.1', '0.01'));
    h.step(ALICE, limit('Bid', '100.1', '0.01'));
    expect(openOrder(h.state, stopLimit.orderId)?.status).toBe('New');
    // An ask at 100.05 meets Alice's fired order first: it was placed before Bob's.
    const outcome = h.step(BOB, limit('Ask', '100.05', '0.5', { selfTradePrevention: 'Allow' }));
    expect(engineTrades(outcome).map((trade) => trade.makerOrderId)).toEqual([stopLimit.orderId]);
    expect(later.orderId).toBeGreaterThan(stopLimit.orderId);
  });
});
