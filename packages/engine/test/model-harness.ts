/**
 * The model test's harness: one engine and one reference model driven with
 * the same instructions, everything compared after every step; and the
 * coverage counters printed when MODEL_STATS is set.
 */
import {
  type ApplyOutcome,
  balancesOf,
  checkInvariants,
  createState,
  depthOf,
  type ExchangeState,
  execute,
  type Instruction,
  openOrdersOf,
} from '../src/index.js';
import {
  canon,
  checkPriceTimeOrder,
  engineTrades,
  firstDifference,
  Mismatch,
  normaliseEngine,
  normaliseModel,
  OPERATOR,
  pickOrder,
  SEPARATE_FEE,
  STRANGER,
  same,
} from './model-compare.js';
import { assetDecimals, type FeeConfig, type LimitConfig, type MarketConfig } from './model-arbitraries.js';
import { type ModelGenesis, ReferenceModel, unitsToDecimal } from './reference-model.js';

// ---------------------------------------------------------------------------
// Coverage counters, printed when MODEL_STATS is set, to tune the generators.
// ---------------------------------------------------------------------------

const coverage: Map<string, number> | undefined = process.env.MODEL_STATS ? new Map() : undefined;

export function count(label: string): void {
  coverage?.set(label, (coverage.get(label) ?? 0) + 1);
}

function recordCoverage(instruction: Instruction, outcome: ApplyOutcome): void {
  count(`${instruction.kind} ${outcome.accepted ? 'accepted' : `rejected ${outcome.rejection.code}`}`);
  if (instruction.kind === 'orderExecute') {
    instruction.orders.forEach((request, index) => {
      const result = outcome.results[index];
      const sizing = request.quoteQuantity !== undefined ? '/quote' : '';
      const shape = `${request.orderType}${sizing} ${request.timeInForce}${request.postOnly ? ' postOnly' : ''}`;
      if (result === undefined || !result.ok)
        count(`  order rejected ${result?.ok === false ? result.rejection.code : '?'}`);
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
      if (event.type === 'orderUpdated' && event.order.status === 'Cancelled')
        count(`orderUpdated Cancelled (${event.reason ?? '-'})`);
      if (event.type === 'orderAccepted' && event.order.status === 'TriggerPending') count('trigger order pending');
      if (event.type === 'orderUpdated' && event.reason?.startsWith('Triggered') === true) {
        const failed = event.order.status === 'TriggerFailed';
        count(`trigger fired → ${failed ? `TriggerFailed ${event.reason.split(' ')[6] ?? ''}` : event.order.status}`);
      }
    }
  }
}

export function printCoverage(title: string): void {
  if (coverage === undefined) return;
  const lines = [...coverage]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([label, value]) => `${String(value).padStart(9)}  ${label}`);
  console.log(`${title}\n${lines.join('\n')}`);
  coverage.clear();
}

// ---------------------------------------------------------------------------
// The harness: one engine, one model, the same instructions.
// ---------------------------------------------------------------------------

export interface Setup {
  readonly feeAccount: string;
  readonly traders: readonly string[];
  readonly markets: readonly MarketConfig[];
  readonly fees: readonly FeeConfig[];
  readonly limits?: readonly LimitConfig[];
}

export class Harness {
  readonly state: ExchangeState;
  readonly model: ReferenceModel;
  readonly accounts: string[];
  readonly trace: string[] = [];
  timeMs = 1_000;

  constructor(
    readonly setup: Setup,
    /** The reference model to compare with: the spot one by default, the margin one for the margin test. */
    modelOf: (genesis: ModelGenesis) => ReferenceModel = (genesis) => new ReferenceModel(genesis),
  ) {
    const genesis = { exchangeName: 'model-test', operatorKeys: [OPERATOR], feeAccount: setup.feeAccount };
    this.state = createState(genesis);
    this.model = modelOf(genesis);
    this.accounts = [...new Set([OPERATOR, setup.feeAccount, STRANGER, SEPARATE_FEE, ...setup.traders])];
    const assets: string[] = [];
    for (const market of setup.markets)
      for (const asset of [market.base, market.quote]) if (!assets.includes(asset)) assets.push(asset);
    for (const symbol of assets)
      this.expectAccepted(this.step(OPERATOR, { kind: 'assetList', symbol, decimals: assetDecimals[symbol]! }));
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
                  BigInt(limits.minOrderValueSteps) * market.midTicks * market.quoteUnitsPerStepTick +
                    BigInt(limits.minOrderValueExtraUnits),
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

  protected expectAccepted(outcome: ApplyOutcome): void {
    if (!outcome.accepted)
      throw new Error(`setup step rejected: ${outcome.rejection.code} ${outcome.rejection.message}`);
  }

  protected fail(message: string): never {
    const recent = this.trace.slice(-40);
    throw new Mismatch(
      `${message}\n--- last ${recent.length} steps (of ${this.trace.length}) ---\n${recent.join('\n')}`,
    );
  }

  /** Applies one instruction to both, compares everything, returns the engine's outcome. */
  step(signer: string, instruction: Instruction, dt = 0): ApplyOutcome {
    this.timeMs += dt;
    const signerName = this.nameOf(signer);
    this.trace.push(`#${this.trace.length} t=${this.timeMs} ${signerName}: ${canon(instruction)}`);
    const engineOutcome = execute(this.state, signer, instruction, this.timeMs);
    if (coverage !== undefined) recordCoverage(instruction, engineOutcome);
    const modelOutcome = this.model.execute(signer, instruction, this.timeMs);
    this.compareStep(normaliseEngine(engineOutcome), normaliseModel(modelOutcome), engineOutcome);
    return engineOutcome;
  }

  /** After a step: the two outcomes' views, the price-time order of the engine's trades, then the whole state. */
  protected compareStep(engineView: unknown, modelView: unknown, engineOutcome: ApplyOutcome): void {
    if (!same(engineView, modelView)) {
      const views = `engine: ${canon(engineView)}\n model:  ${canon(modelView)}`;
      this.fail(`outcome differs at ${firstDifference(engineView, modelView)}\n ${views}`);
    }
    const order = checkPriceTimeOrder(engineTrades(engineOutcome));
    if (order !== undefined) this.fail(order);
    this.compareState();
  }

  /** Fails when the engine's and the model's views of `what` differ, showing both. */
  protected compareViews(what: string, engine: unknown, model: unknown): void {
    if (!same(engine, model))
      this.fail(
        `${what} differ at ${firstDifference(engine, model)}\n engine: ${canon(engine)}\n model:  ${canon(model)}`,
      );
  }

  nameOf(account: string): string {
    if (account === OPERATOR) return 'operator';
    if (account === STRANGER) return 'stranger';
    if (account === SEPARATE_FEE) return 'fee';
    const trader = this.setup.traders.indexOf(account);
    return trader >= 0 ? `trader${trader}` : account;
  }

  compareState(): void {
    const compare = (what: string, engine: unknown, model: unknown): void => this.compareViews(what, engine, model);
    for (const account of this.accounts) {
      compare(`balances of ${this.nameOf(account)}`, balancesOf(this.state, account), this.model.balancesOf(account));
      compare(
        `open orders of ${this.nameOf(account)}`,
        openOrdersOf(this.state, account).map(pickOrder),
        this.model.openOrdersOf(account).map(pickOrder),
      );
    }
    for (const market of this.state.markets)
      compare(`depth of ${market.symbol}`, depthOf(market, 1_000), this.model.depthOf(market.symbol));
    try {
      checkInvariants(this.state);
    } catch (error) {
      this.fail(`engine invariant: ${(error as Error).message}`);
    }
    const modelProblem = this.model.selfCheck();
    if (modelProblem !== undefined) this.fail(modelProblem);
  }
}
