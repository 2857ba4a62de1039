/**
 * The model test's commands: abstract generated commands (model-arbitraries.ts)
 * turned into signed instructions, deliberately malformed where the command
 * says so, and applied through the harness.
 */
import type { Instruction, OrderRequest } from '../src/index.js';
import {
  type AmountSpec,
  assetDecimals,
  type Command,
  type DecimalDefect,
  type MarketConfig,
  type OrderSpec,
  type Scenario,
} from './model-arbitraries.js';
import { OPERATOR, SEPARATE_FEE, STRANGER, traderKey } from './model-compare.js';
import { Harness } from './model-harness.js';
import { unitsToDecimal } from './reference-model.js';

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
    const feeAccount =
      scenario.feeAccount === 'operator' ? OPERATOR : scenario.feeAccount === 'separate' ? SEPARATE_FEE : traders[0]!;
    this.harness = new Harness({
      feeAccount,
      traders,
      markets: scenario.markets,
      fees: scenario.fees,
      limits: scenario.limits,
    });
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

  /** The quantity text of a limit or market order, defective as the spec says. */
  private quantityText(spec: OrderSpec, config: MarketConfig, salt: number): string {
    const steps = BigInt(spec.steps);
    switch (spec.quantityDefect) {
      case 'zero':
        return '0';
      case 'outOfRange':
        return unitsToDecimal((config.maxQuantitySteps + steps) * config.stepUnits, config.baseDecimals);
      case 'offStep':
        return config.stepUnits > 1n
          ? unitsToDecimal(steps * config.stepUnits + 1n, config.baseDecimals)
          : unitsToDecimal(steps * config.stepUnits * 10n + 5n, config.baseDecimals + 1);
      default:
        return formatAmount(steps * config.stepUnits, config.baseDecimals, spec.quantityDefect, salt);
    }
  }

  /** The price text of a limit order, defective as the spec says. */
  private priceText(spec: OrderSpec, config: MarketConfig, salt: number): string {
    const ticks = config.midTicks + BigInt(spec.priceOffsetTicks);
    switch (spec.priceDefect) {
      case 'outOfRange': {
        const beyond = config.priceBandTicks + 1n + BigInt(Math.abs(spec.priceOffsetTicks));
        return spec.priceOffsetTicks === 0
          ? '0'
          : unitsToDecimal(
              (config.midTicks + (spec.priceOffsetTicks > 0 ? beyond : -beyond)) * config.tickUnits,
              config.priceScale,
            );
      }
      case 'tooPrecise':
        return unitsToDecimal(ticks * config.tickUnits * 10n + 3n, config.priceScale + 1);
      default:
        return formatAmount(ticks * config.tickUnits, config.priceScale, spec.priceDefect, salt);
    }
  }

  /** Section 8: trigger orders (sized by triggerQuantity) and attached take-profit / stop-loss. */
  private withTriggers(spec: OrderSpec, config: MarketConfig, request: OrderRequest): OrderRequest {
    const tickText = (offset: number) =>
      unitsToDecimal((config.midTicks + BigInt(offset)) * config.tickUnits, config.priceScale);
    const isTrigger = spec.trigger === 'trigger' && !(spec.orderType === 'Market' && spec.byQuote);
    const attachedSpec =
      spec.trigger !== 'none' && spec.trigger !== 'trigger' && !(spec.orderType === 'Market' && spec.byQuote);
    if (isTrigger) {
      const { quantity: triggerQuantity, ...rest } = request;
      return {
        ...rest,
        triggerPrice: tickText(spec.triggerOffsetTicks),
        ...(triggerQuantity !== undefined ? { triggerQuantity } : {}),
      };
    }
    if (!attachedSpec) return request;
    const takeProfit =
      spec.trigger !== 'stopLoss'
        ? {
            takeProfitTriggerPrice: tickText(spec.triggerOffsetTicks),
            ...(spec.attachedLimit ? { takeProfitLimitPrice: tickText(spec.triggerOffsetTicks) } : {}),
          }
        : {};
    const stopLoss =
      spec.trigger !== 'takeProfit'
        ? {
            stopLossTriggerPrice: tickText(spec.stopLossOffsetTicks),
            ...(spec.attachedLimit ? { stopLossLimitPrice: tickText(spec.stopLossOffsetTicks) } : {}),
          }
        : {};
    return { ...request, ...takeProfit, ...stopLoss };
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
    const quantity = this.quantityText(spec, config, salt);
    if (spec.orderType === 'Market') {
      if (spec.byQuote) {
        const units =
          BigInt(spec.quoteSteps) * config.midTicks * config.quoteUnitsPerStepTick + BigInt(spec.quoteExtraUnits);
        const defect =
          spec.quantityDefect === 'offStep' || spec.quantityDefect === 'outOfRange' ? 'none' : spec.quantityDefect;
        return {
          ...common,
          orderType: 'Market',
          quoteQuantity: formatAmount(units, config.quoteDecimals, defect, salt),
        };
      }
      return this.withTriggers(spec, config, { ...common, orderType: 'Market', quantity });
    }
    const price = this.priceText(spec, config, salt);
    return this.withTriggers(spec, config, { ...common, orderType: 'Limit', price, quantity });
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

  /** The cancel a cancel command makes: which market, and which order by id or client id. */
  private cancelInstruction(command: Extract<Command, { type: 'cancel' }>, signer: string): Instruction {
    const model = this.harness.model;
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
    return { kind: 'orderCancel', symbol, ...target };
  }

  /** The deposit a deposit command makes (an unknown asset for one combination). */
  private depositInstruction(command: Extract<Command, { type: 'deposit' }>): Instruction {
    const assets = this.assetSymbols();
    const unknown = command.asset === 7 && command.chain === 1;
    const asset = unknown ? 'DOGE' : assets[command.asset % assets.length]!;
    return {
      kind: 'depositCredit',
      account: this.actor(command.target),
      symbol: asset,
      quantity: this.amountText(asset, command.amount),
      blockchain: command.chain === 0 ? 'solana' : 'ethereum',
      chainTransactionId: `tx-${command.transaction}`,
    };
  }

  run(command: Command): void {
    const { harness } = this;
    switch (command.type) {
      case 'deposit': {
        const signer = command.signedByOperator ? OPERATOR : this.actor(command.signer);
        harness.step(signer, this.depositInstruction(command), command.dt);
        break;
      }
      case 'orders':
        harness.step(
          this.actor(command.signer),
          { kind: 'orderExecute', orders: command.orders.map((spec) => this.orderRequest(spec)) },
          command.dt,
        );
        break;
      case 'cancel': {
        const signer = this.actor(command.signer);
        harness.step(signer, this.cancelInstruction(command, signer), command.dt);
        break;
      }
      case 'cancelAll': {
        const config = this.market(command.market);
        const symbol = config?.symbol ?? 'DOGE_USDC';
        harness.step(this.actor(command.signer), { kind: 'orderCancelAll', symbol }, command.dt);
        break;
      }
      case 'withdraw': {
        const assets = this.assetSymbols();
        const asset = command.asset < 0 ? 'DOGE' : assets[command.asset % assets.length]!;
        const quantity = this.amountText(asset, command.amount);
        const instruction: Instruction = {
          kind: 'withdraw',
          symbol: asset,
          quantity,
          address: 'addr-1',
          blockchain: 'solana',
        };
        harness.step(this.actor(command.signer), instruction, command.dt);
        break;
      }
      case 'settle': {
        const pending = harness.model.pendingWithdrawals();
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

export function runScenario(scenario: Scenario): void {
  const runner = new ScenarioRunner(scenario);
  runner.fund();
  for (const command of scenario.commands) runner.run(command);
}
