/**
 * The margin model test's commands: abstract commands
 * (model-margin-arbitraries.ts) turned into instructions and applied through
 * the margin harness (model-margin-harness.ts), which compares the engine
 * with the margin reference model after every step.
 */
import type { Instruction, OrderRequest } from '../src/index.js';
import type { MarketConfig } from './model-arbitraries.js';
import {
  borrowableAssets,
  type MarginCommand,
  marginAssets,
  marginMarkets,
  type MarginScenario,
} from './model-margin-arbitraries.js';
import { OPERATOR, STRANGER, traderKey } from './model-compare.js';
import { MarginHarness } from './model-margin-harness.js';
import { unitsToDecimal } from './reference-model.js';

const decimals: Record<string, number> = { USDC: 6, SOL: 9, BTC: 8, ETH: 4 };
/** One lot of each asset: 100 USDC, 1 SOL, 0.01 BTC, 1 ETH. */
const lotUnits: Record<string, bigint> = { USDC: 100_000_000n, SOL: 1_000_000_000n, BTC: 1_000_000n, ETH: 10_000n };

/** Parameter profiles: plain; haircut and size-dependent margin; tight pools with steep rates. */
const profiles: readonly Record<string, string>[] = [
  {
    collateralWeight: '0.8',
    haircutPenalty: '0',
    imfBase: '0.3',
    imfFactor: '0',
    mmfBase: '0.15',
    mmfFactor: '0',
    minimumBorrowRate: '0.02',
    optimalUtilization: '0.5',
    optimalBorrowRate: '0.2',
    maximumBorrowRate: '2',
    maxUtilization: '0.95',
    lendFee: '0.2',
  },
  {
    collateralWeight: '0.9',
    haircutPenalty: '0.0003',
    imfBase: '0.2',
    imfFactor: '0.0008',
    mmfBase: '0.1',
    mmfFactor: '0.0004',
    minimumBorrowRate: '0',
    optimalUtilization: '0.8',
    optimalBorrowRate: '0.1',
    maximumBorrowRate: '1',
    maxUtilization: '0.9',
    lendFee: '0.1',
  },
  {
    collateralWeight: '1',
    haircutPenalty: '0.001',
    imfBase: '0.5',
    imfFactor: '0.002',
    mmfBase: '0.25',
    mmfFactor: '0.001',
    minimumBorrowRate: '0.05',
    optimalUtilization: '0.3',
    optimalBorrowRate: '0.5',
    maximumBorrowRate: '5',
    maxUtilization: '1',
    lendFee: '0.5',
  },
];
const leverageChoices = ['1', '2', '3.5', '10', '50', '0.5', '51', '5'];

class MarginScenarioRunner {
  readonly harness: MarginHarness;
  readonly traders: string[];
  /** The index price of SOL and BTC, in ticks of their markets. */
  private readonly priceTicks: bigint[];
  private readonly publishedAtMs = [0, 0];
  /** The ticks of the last price update built, kept when it is accepted. */
  private proposedTicks = 0n;

  constructor(readonly scenario: MarginScenario) {
    this.traders = Array.from({ length: scenario.traderCount }, (_, index) => traderKey(index));
    this.harness = new MarginHarness({
      feeAccount: OPERATOR,
      traders: this.traders,
      markets: marginMarkets,
      fees: scenario.fees,
    });
    this.priceTicks = [marginMarkets[0]!.midTicks, marginMarkets[1]!.midTicks];
  }

  private actor(index: number): string {
    return index === 7 ? STRANGER : this.traders[index % this.traders.length]!;
  }

  private expect(signer: string, instruction: Instruction): void {
    const outcome = this.harness.step(signer, instruction);
    if (!outcome.accepted) throw new Error(`margin setup refused ${instruction.kind}: ${outcome.rejection.code}`);
  }

  private deposit(account: string, asset: string, units: bigint, transaction: string): Instruction {
    const quantity = unitsToDecimal(units, decimals[asset]!);
    return {
      kind: 'depositCredit',
      account,
      symbol: asset,
      quantity,
      blockchain: 'solana',
      chainTransactionId: transaction,
    };
  }

  /** Listings, first prices, the operator's liquidity (lent, and orders around the price), the traders' funds. */
  setUp(): void {
    borrowableAssets.forEach((symbol, index) => {
      const profile = profiles[this.scenario.profiles[index]! % profiles.length]!;
      this.expect(OPERATOR, {
        kind: 'borrowLendMarketList',
        symbol,
        ...profile,
        maxPriceMove: '0.25',
        liquidationFee: '0.01',
        liquidationBand: '0.1',
        stressShock: '0.3',
        coveragePoolWithdrawalDelayMs: 60_000,
      } as Instruction);
    });
    for (const index of [0, 1]) {
      this.expect(OPERATOR, this.priceUpdate(index, 0, false));
      this.publishedAtMs[index] = this.harness.timeMs;
    }
    for (const asset of marginAssets)
      this.expect(OPERATOR, this.deposit(OPERATOR, asset, lotUnits[asset]! * 400n, `operator-${asset}`));
    for (const asset of borrowableAssets) {
      const quantity = unitsToDecimal(lotUnits[asset]! * 100n, decimals[asset]!);
      this.expect(OPERATOR, { kind: 'borrowLendExecute', symbol: asset, side: 'Lend', quantity });
    }
    marginMarkets.forEach((market, index) => {
      for (const [side, offset] of [
        ['Bid', -20],
        ['Ask', 20],
      ] as const)
        this.expect(OPERATOR, { kind: 'orderExecute', orders: [this.limit(market, index, side, offset, 40n, 'GTC')] });
    });
    this.traders.forEach((trader, traderIndex) => {
      marginAssets.forEach((asset, assetIndex) => {
        const lots = BigInt(this.scenario.funding[(traderIndex * 4 + assetIndex) % this.scenario.funding.length]!);
        if (lots > 0n)
          this.expect(OPERATOR, this.deposit(trader, asset, lots * lotUnits[asset]!, `fund-${traderIndex}-${asset}`));
      });
    });
  }

  private currentTicks(index: number): bigint {
    return index < 2 ? this.priceTicks[index]! : marginMarkets[index]!.midTicks;
  }

  private limit(
    market: MarketConfig,
    index: number,
    side: 'Bid' | 'Ask',
    perMille: number,
    steps: bigint,
    timeInForce: 'GTC' | 'IOC',
  ): OrderRequest {
    const current = this.currentTicks(index);
    const lowest = market.midTicks - market.priceBandTicks;
    const highest = market.midTicks + market.priceBandTicks;
    let ticks = current + (current * BigInt(perMille)) / 1000n;
    ticks = ticks < lowest ? lowest : ticks > highest ? highest : ticks;
    return {
      symbol: market.symbol,
      side,
      orderType: 'Limit',
      price: unitsToDecimal(ticks * market.tickUnits, market.priceScale),
      quantity: unitsToDecimal(steps * market.stepUnits, market.baseDecimals),
      timeInForce,
      postOnly: false,
      selfTradePrevention: 'RejectTaker',
    };
  }

  private priceUpdate(index: number, movePerMille: number, stale: boolean): Instruction {
    const market = marginMarkets[index]!;
    const current = this.priceTicks[index]!;
    let ticks = current + (current * BigInt(movePerMille)) / 1000n;
    const lowest = market.midTicks - market.priceBandTicks + 1n;
    const highest = market.midTicks + market.priceBandTicks - 1n;
    ticks = ticks < lowest ? lowest : ticks > highest ? highest : ticks;
    const publishedAtMs = stale ? this.publishedAtMs[index]! : this.harness.timeMs;
    this.proposedTicks = ticks;
    return {
      kind: 'indexPriceUpdate',
      symbol: market.base,
      price: unitsToDecimal(ticks * market.tickUnits, market.priceScale),
      publishedAtMs,
    };
  }

  private order(command: Extract<MarginCommand, { type: 'order' }>): Instruction {
    const market = marginMarkets[command.market]!;
    const side = command.bid ? 'Bid' : 'Ask';
    const steps = BigInt(command.steps) + market.minQuantitySteps - 1n;
    const flags = {
      ...(command.flags & 1 ? { autoBorrow: true } : {}),
      ...(command.flags & 2 ? { autoBorrowRepay: true } : {}),
      ...(command.flags & 4 ? { autoLend: true } : {}),
      ...(command.flags & 8 ? { autoLendRedeem: true } : {}),
    };
    if (command.marketOrder) {
      const quantity = unitsToDecimal(steps * market.stepUnits, market.baseDecimals);
      const request: OrderRequest = {
        symbol: market.symbol,
        side,
        orderType: 'Market',
        quantity,
        timeInForce: 'IOC',
        postOnly: false,
        selfTradePrevention: 'RejectTaker',
        ...flags,
      };
      return { kind: 'orderExecute', orders: [request] };
    }
    const tif = command.ioc ? 'IOC' : 'GTC';
    return {
      kind: 'orderExecute',
      orders: [{ ...this.limit(market, command.market, side, command.offsetPerMille, steps, tif), ...flags }],
    };
  }

  private amount(asset: string, lots: number, extraUnits: number): string {
    return unitsToDecimal(BigInt(lots) * lotUnits[asset]! + BigInt(extraUnits), decimals[asset]!);
  }

  private coverage(command: Extract<MarginCommand, { type: 'coverage' }>, signer: string): Instruction {
    const asset = marginAssets[command.asset]!;
    if (command.action === 0)
      return {
        kind: 'coveragePoolDeposit',
        symbol: asset,
        quantity: this.amount(asset, command.lots, 0).replace(/^0$/, '0.5'),
      };
    if (command.action === 1) {
      const owned = this.harness.marginModel.sharesOf(signer).find((entry) => entry.asset === asset)?.shares ?? 0n;
      const shares =
        command.lots === 0 ? BigInt(command.lots + 1) : owned / BigInt(command.lots) + BigInt(command.lots % 2);
      return { kind: 'coveragePoolWithdrawRequest', symbol: asset, shares: String(shares === 0n ? 1n : shares) };
    }
    return { kind: 'coveragePoolWithdraw', symbol: asset };
  }

  private instruction(command: MarginCommand, signer: string): Instruction {
    switch (command.type) {
      case 'price':
        return this.priceUpdate(command.asset, command.movePerMille, command.stale);
      case 'borrowLend': {
        const asset = marginAssets[command.asset]!;
        let quantity = this.amount(asset, command.lots, command.extraUnits);
        if (command.borrow && command.lots >= 60 && asset !== 'ETH') {
          // Near the limit: 60 to 80 eightieths of the largest borrow the margin allows.
          const largest = this.harness.marginModel.largestBorrow(signer, asset, this.harness.timeMs);
          quantity = unitsToDecimal(
            (largest * BigInt(command.lots)) / 80n + BigInt(command.extraUnits % 2),
            decimals[asset]!,
          );
        }
        return { kind: 'borrowLendExecute', symbol: asset, side: command.borrow ? 'Borrow' : 'Lend', quantity };
      }
      case 'order':
        return this.order(command);
      case 'withdraw': {
        const asset = marginAssets[command.asset]!;
        const quantity = this.amount(asset, command.lots, command.extraUnits);
        return { kind: 'withdraw', symbol: asset, quantity, address: 'addr-1', blockchain: 'solana' };
      }
      case 'deposit': {
        const asset = marginAssets[command.asset]!;
        return this.deposit(
          signer,
          asset,
          BigInt(command.lots + 1) * lotUnits[asset]!,
          `more-${this.harness.trace.length}`,
        );
      }
      case 'liquidate': {
        // Mostly a keeper's choice (an account the model finds liquidatable), else the command's target.
        const timeMs = this.harness.timeMs;
        const due = this.traders.filter((trader) => this.harness.marginModel.healthOf(trader, timeMs).liquidatable);
        const target = due.length > 0 && command.target % 4 !== 0 ? due[command.target % due.length]! : undefined;
        return { kind: 'liquidate', account: target ?? this.actor(command.target) };
      }
      case 'leverage':
        return { kind: 'accountUpdate', leverageLimit: leverageChoices[command.choice % leverageChoices.length]! };
      case 'coverage':
        return this.coverage(command, signer);
      case 'cancelAll':
        return { kind: 'orderCancelAll', symbol: marginMarkets[command.market]!.symbol };
      case 'wait':
      case 'squeeze':
        throw new Error(`${command.type} has no single instruction`);
    }
  }

  /**
   * A squeeze: the signer borrows lots/80 of the largest borrow its margin allows, the price moves up by the
   * command's per mille a millisecond later, and a keeper sends `steps` liquidation steps at that time, so that
   * the model meets accounts that need several steps (and the refusals after one restored them).
   */
  private squeeze(command: Extract<MarginCommand, { type: 'squeeze' }>): void {
    const signer = this.actor(command.signer);
    const asset = borrowableAssets[command.asset + 1]!;
    const largest = this.harness.marginModel.largestBorrow(signer, asset, this.harness.timeMs);
    const quantity = unitsToDecimal((largest * BigInt(command.lots)) / 80n, decimals[asset]!);
    const borrowed = this.harness.step(signer, { kind: 'borrowLendExecute', symbol: asset, side: 'Borrow', quantity });
    const market = marginMarkets[command.asset]!;
    const soldSteps = ((largest * BigInt(command.lots)) / 80n / market.stepUnits) % (market.maxQuantitySteps + 1n);
    // On odd lots the borrowed units are sold, so that the steps must buy the debt back through the book.
    if (borrowed.accepted && command.lots % 2 === 1 && soldSteps > 0n) {
      const sold = unitsToDecimal(soldSteps * market.stepUnits, decimals[asset]!);
      this.harness.step(signer, {
        kind: 'orderExecute',
        orders: [
          {
            ...{ symbol: market.symbol, side: 'Ask', orderType: 'Market', quantity: sold, timeInForce: 'IOC' },
            ...{ postOnly: false, selfTradePrevention: 'RejectTaker' },
          },
        ],
      });
    }
    this.run({ type: 'price', asset: command.asset, movePerMille: command.movePerMille, stale: false, dt: 1 });
    for (let step = 0; step < command.steps; step += 1)
      this.harness.step(this.actor(command.keeper), { kind: 'liquidate', account: signer });
  }

  run(command: MarginCommand): void {
    if (command.type === 'squeeze') {
      this.squeeze(command);
      return;
    }
    if (command.type === 'wait') {
      this.harness.timeMs += command.dt;
      return;
    }
    this.harness.timeMs += command.dt;
    let signer: string;
    if (command.type === 'price') signer = OPERATOR;
    else if (command.type === 'deposit') signer = this.actor(command.target);
    else if (command.type === 'liquidate') signer = this.actor(command.keeper);
    else signer = this.actor(command.signer);
    const instruction = this.instruction(command, signer);
    const outcome = this.harness.step(command.type === 'deposit' ? OPERATOR : signer, instruction);
    if (command.type === 'price' && outcome.accepted) {
      this.priceTicks[command.asset] = this.proposedTicks;
      this.publishedAtMs[command.asset] = (instruction as { publishedAtMs: number }).publishedAtMs;
    }
  }
}

export function runMarginScenario(scenario: MarginScenario): void {
  const runner = new MarginScenarioRunner(scenario);
  runner.setUp();
  for (const command of scenario.commands) runner.run(command);
}
