/**
 * The margin model test's harness: the spot harness (model-harness.ts) with
 * the margin reference model (reference-margin-model.ts) in place of the
 * spot one, comparing after every step, besides everything the spot harness
 * compares: each result (borrowLend, settings, price, coverage pool,
 * liquidation), the socialised losses, every pool (price, indexes, accrual
 * time, scaled totals, cash, coverage holdings and shares), every account's
 * positions (scaled and in units with interest to the log time), coverage
 * shares and health (collateral, liabilities, net equity, requirements,
 * liquidatable).
 */
import { accountHealth, isLiquidatable } from '../src/health.js';
import { type ApplyOutcome, execute, type InstructionResult, type Instruction } from '../src/index.js';
import { borrowedUnits, lentUnits } from '../src/lending-pool.js';
import { LiabilitiesTree } from '../src/liabilities-tree.js';
import { canon, engineResult, engineTrades, pickFields, pickResult, same, tradeFields } from './model-compare.js';
import { count, Harness, type Setup } from './model-harness.js';
import { type MarginModelResult, MarginReferenceModel } from './reference-margin-model.js';
import type { ModelResult } from './reference-model.js';

const marginKinds = new Set(['borrowLend', 'accountUpdated', 'price', 'liquidation', 'coveragePool']);

function engineMarginResult(result: InstructionResult): unknown {
  if (!result.ok || !marginKinds.has(result.value.kind)) return pickResult(engineResult(result));
  const value = result.value as unknown as Record<string, unknown>;
  const inner = Object.values(value).find((item) => typeof item === 'object');
  return { ok: true, kind: result.value.kind, ...(inner as object) };
}

function modelMarginResult(result: MarginModelResult): unknown {
  if (!result.ok || !marginKinds.has(result.kind)) return pickResult(result as ModelResult);
  return result;
}

/** Coverage counters (MODEL_STATS): outcomes per instruction, and what liquidations did. */
function recordMarginCoverage(instruction: Instruction, outcome: ApplyOutcome, repeated: boolean): void {
  const flagged = instruction.kind === 'orderExecute' && instruction.orders.some((order) => order.autoBorrow === true);
  count(`${instruction.kind}${flagged ? ' autoBorrow' : ''} ${outcome.accepted ? 'accepted' : outcome.rejection.code}`);
  if (!outcome.accepted) return;
  for (const event of outcome.events) {
    if (event.type === 'socialisedLoss') count('  socialised loss');
    // A loss that leaves the supply index at exactly 1 is a wipe: a new supply epoch (docs/margin.md 5.2a).
    if (event.type === 'socialisedLoss' && event.supplyIndex === 10n ** 18n) count('  socialised loss wiped the pool');
    if (event.type === 'lendingMovement') count(`  lending movement ${event.movement.movement}`);
    if (event.type !== 'liquidation') continue;
    const liquidation = event.liquidation;
    if (liquidation.bookTrades.length > 0) count('  liquidation traded on the book');
    if (liquidation.backstopped) count('  liquidation backstop');
    if (liquidation.backstop.some((takeover) => takeover.shares > 0n)) count('  liquidation burnt coverage shares');
    if (liquidation.feeUnits > 0n) count('  liquidation fee');
    if (liquidation.budgetValue === 0n) count('  liquidation step restored by netting');
    if (liquidation.budgetValue > 0n && !liquidation.backstopped) {
      const restored = liquidation.netEquityAfter >= liquidation.initialRequirementAfter;
      count(`  liquidation step ${restored ? 'restored' : 'left the account short of initial margin'}`);
      if (liquidation.netEquityAfter < liquidation.maintenanceRequirementAfter)
        count('  liquidation step left it liquidatable');
    }
    if (repeated) count('  liquidation repeated step (the account was stepped before)');
  }
}

export class MarginHarness extends Harness {
  constructor(setup: Setup) {
    super(setup, (genesis) => new MarginReferenceModel(genesis));
  }

  /** Accounts a liquidation step was accepted for in this scenario (to count repeated steps). */
  private readonly stepped = new Set<string>();

  get marginModel(): MarginReferenceModel {
    return this.model as MarginReferenceModel;
  }

  override step(signer: string, instruction: Instruction, dt = 0): ApplyOutcome {
    this.timeMs += dt;
    this.trace.push(`#${this.trace.length} t=${this.timeMs} ${this.nameOf(signer)}: ${canon(instruction)}`);
    const engineOutcome = execute(this.state, signer, instruction, this.timeMs);
    const modelOutcome = this.marginModel.executeEntry(signer, instruction, this.timeMs);
    const stepped = instruction.kind === 'liquidate' && engineOutcome.accepted;
    recordMarginCoverage(instruction, engineOutcome, stepped && this.stepped.has(instruction.account));
    if (stepped) this.stepped.add(instruction.account);
    const losses = engineOutcome.accepted
      ? engineOutcome.events.flatMap((event) =>
          event.type === 'socialisedLoss'
            ? [{ asset: event.asset, units: event.units, supplyIndex: event.supplyIndex }]
            : [],
        )
      : [];
    const engineView = {
      accepted: engineOutcome.accepted,
      rejectionCode: engineOutcome.accepted ? undefined : engineOutcome.rejection.code,
      results: engineOutcome.results.map(engineMarginResult),
      trades: engineTrades(engineOutcome).map((trade) => pickFields(trade, tradeFields)),
      socialisedLosses: losses,
    };
    const modelView = {
      accepted: modelOutcome.accepted,
      rejectionCode: modelOutcome.rejectionCode,
      results: modelOutcome.results.map(modelMarginResult),
      trades: modelOutcome.trades.map((trade) => pickFields(trade, tradeFields)),
      socialisedLosses: modelOutcome.socialisedLosses,
    };
    this.compareStep(engineView, modelView, engineOutcome);
    return engineOutcome;
  }

  /** The liabilities tree kept up to date step by step, as the node keeps it between attestations. */
  private tree: LiabilitiesTree | undefined;

  override compareState(): void {
    super.compareState();
    // The incrementally updated tree must have the root a fresh build gives (every changed leaf refreshed).
    if (this.tree === undefined) this.tree = LiabilitiesTree.build(this.state);
    else if (this.trace.length % 7 === 0) {
      const updated = this.tree.update(this.state);
      const built = LiabilitiesTree.build(this.state).root();
      if (!same(updated, built))
        this.fail(`liabilities tree updated step by step ${canon(updated)} differs from a fresh build ${canon(built)}`);
    }
    const model = this.marginModel;
    const compare = (what: string, engine: unknown, modelView: unknown): void =>
      this.compareViews(what, engine, modelView);
    compare('pools', this.enginePools(), model.poolViews());
    for (const account of this.accounts) {
      const name = this.nameOf(account);
      compare(`positions of ${name}`, this.enginePositions(account), model.positionsOf(account, this.timeMs));
      compare(`coverage shares of ${name}`, this.engineShares(account), model.sharesOf(account));
      compare(`health of ${name}`, this.engineHealth(account), model.healthOf(account, this.timeMs));
    }
  }

  private borrowableAssets() {
    return this.state.assets.filter((asset) => asset.margin !== undefined);
  }

  private enginePools() {
    return this.borrowableAssets().map((asset) => {
      const margin = asset.margin!;
      const pool = margin.lendingPool;
      return {
        asset: asset.symbol,
        indexPrice: asset.symbol === 'USDC' ? 10n ** 18n : margin.indexPrice,
        ...pickFields(pool, [
          'borrowIndex',
          'supplyIndex',
          'accruedAtMs',
          'totalBorrowScaled',
          'totalSupplyScaled',
          'cashUnits',
          'supplyEpoch',
        ] as const),
        coverageHoldingsUnits: margin.coveragePool.holdingsUnits,
        coverageTotalShares: margin.coveragePool.totalShares,
      };
    });
  }

  private enginePositions(accountId: string) {
    const account = this.state.accounts.get(accountId);
    return this.borrowableAssets().map((asset) => {
      const balance = account?.balances[asset.index];
      return {
        asset: asset.symbol,
        lendScaled: balance?.lendScaled ?? 0n,
        lendEpoch: balance?.lendEpoch ?? 0,
        borrowScaled: balance?.borrowScaled ?? 0n,
        lentUnits: balance === undefined ? 0n : lentUnits(balance, this.timeMs),
        borrowedUnits: balance === undefined ? 0n : borrowedUnits(balance, this.timeMs),
      };
    });
  }

  private engineShares(accountId: string) {
    const account = this.state.accounts.get(accountId);
    return this.borrowableAssets().map((asset) => ({
      asset: asset.symbol,
      shares: account === undefined ? 0n : (asset.margin!.coveragePool.shares.get(account) ?? 0n),
    }));
  }

  private engineHealth(accountId: string) {
    const account = this.state.accounts.get(accountId);
    if (account === undefined) {
      const zero = { collateralValue: 0n, liabilityValue: 0n, netEquity: 0n };
      return { ...zero, initialRequirement: 0n, maintenanceRequirement: 0n, liquidatable: false };
    }
    const health = accountHealth(this.state, account, this.timeMs);
    return { ...health, liquidatable: isLiquidatable(this.state, account, this.timeMs) };
  }
}
