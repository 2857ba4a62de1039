/**
 * The naive margin reference model: the spot reference model
 * (reference-model.ts) plus docs/margin.md, written from the document and
 * NOT from the engine. It keeps the margin state in plain maps
 * (reference-margin-state.ts) and recomputes everything when asked: interest
 * by its own fixed point (reference-margin-math.ts), pools, prices and health
 * (reference-margin.ts), borrowLendExecute, accountUpdate and the withdrawal
 * check (reference-margin-borrow-lend.ts), margin orders
 * (reference-margin-orders.ts), the coverage pools
 * (reference-margin-coverage.ts) and liquidation (reference-liquidation.ts).
 * A rejected entry puts back a copy of everything taken before it.
 */
import type { Instruction } from '../src/instruction.js';
import { withdraw } from './reference-funds.js';
import { liquidate, type ModelLiquidationResult, type ModelSocialisedLoss } from './reference-liquidation.js';
import {
  borrowedOf,
  healthOf,
  indexesAt,
  isLiquidatable,
  lentOf,
  countedLendScaled,
  listBorrowLend,
  meetsInitial,
  type ModelHealth,
  type ModelPriceResult,
  totalBorrowed,
  totalLent,
  updatePrice,
} from './reference-margin.js';
import {
  borrowLend,
  type ModelBorrowLendResult,
  type ModelSettingsResult,
  updateAccount,
  withdrawalKeepsMargin,
} from './reference-margin-borrow-lend.js';
import { coveragePoolInstruction, type ModelCoverageResult } from './reference-margin-coverage.js';
import { placeMarginOrder, takesMarginPath } from './reference-margin-orders.js';
import { copyMarginData, emptyMarginData, type MarginData } from './reference-margin-state.js';
import { placeOrder } from './reference-orders.js';
import { ReferenceModel } from './reference-model.js';
import { copyData, fail, type ModelData, type ModelResult, type ModelTrade } from './reference-state.js';
import { fireTriggers } from './reference-triggers.js';

export type MarginModelResult =
  | ModelResult
  | ModelBorrowLendResult
  | ModelSettingsResult
  | ModelPriceResult
  | ModelCoverageResult
  | ModelLiquidationResult
  | { readonly ok: true; readonly kind: 'listed'; readonly symbol: string };

export interface MarginModelOutcome {
  readonly accepted: boolean;
  readonly rejectionCode: string | undefined;
  readonly results: readonly MarginModelResult[];
  readonly trades: readonly ModelTrade[];
  readonly socialisedLosses: readonly ModelSocialisedLoss[];
}

/** A pool as compared with the engine's. */
export interface ModelPoolView {
  readonly asset: string;
  readonly indexPrice: bigint;
  readonly borrowIndex: bigint;
  readonly supplyIndex: bigint;
  readonly accruedAtMs: number;
  readonly totalBorrowScaled: bigint;
  readonly totalSupplyScaled: bigint;
  readonly cashUnits: bigint;
  readonly supplyEpoch: number;
  readonly coverageHoldingsUnits: bigint;
  readonly coverageTotalShares: bigint;
}

const marginKinds = new Set([
  'borrowLendMarketList',
  'indexPriceUpdate',
  'borrowLendExecute',
  'accountUpdate',
  'liquidate',
  'coveragePoolDeposit',
  'coveragePoolWithdrawRequest',
  'coveragePoolWithdraw',
  'orderExecute',
  'withdraw',
]);
const marginOperatorKinds = new Set(['borrowLendMarketList', 'indexPriceUpdate']);

export class MarginReferenceModel extends ReferenceModel {
  readonly margin: MarginData = emptyMarginData();

  // ----- reads ------------------------------------------------------------------

  /** The borrowable assets, in listing order of the assets. */
  private borrowable(): string[] {
    return this.data.assets.map((asset) => asset.symbol).filter((symbol) => this.margin.pools.has(symbol));
  }

  poolViews(): ModelPoolView[] {
    return this.borrowable().map((asset) => {
      const pool = this.margin.pools.get(asset)!;
      const coverage = this.margin.coverage.get(asset)!;
      const { indexPrice, borrowIndex, supplyIndex, accruedAtMs, totalBorrowScaled, totalSupplyScaled } = pool;
      return {
        asset,
        indexPrice,
        borrowIndex,
        supplyIndex,
        accruedAtMs,
        totalBorrowScaled,
        totalSupplyScaled,
        cashUnits: pool.cashUnits,
        supplyEpoch: pool.supplyEpoch,
        coverageHoldingsUnits: coverage.holdingsUnits,
        coverageTotalShares: coverage.totalShares,
      };
    });
  }

  /** Per borrowable asset: the scaled position and its units at `timeMs`. */
  positionsOf(account: string, timeMs: number) {
    return this.borrowable().map((asset) => {
      const position = this.margin.positions.get(`${account}/${asset}`);
      return {
        asset,
        lendScaled: position?.lendScaled ?? 0n,
        lendEpoch: position?.lendEpoch ?? 0,
        borrowScaled: position?.borrowScaled ?? 0n,
        lentUnits: lentOf(this.margin, account, asset, timeMs),
        borrowedUnits: borrowedOf(this.margin, account, asset, timeMs),
      };
    });
  }

  healthOf(account: string, timeMs: number): ModelHealth & { readonly liquidatable: boolean } {
    const liquidatable = isLiquidatable(this.data, this.margin, account, timeMs);
    return { ...healthOf(this.data, this.margin, account, timeMs), liquidatable };
  }

  /** The largest borrow of `asset` the account's initial margin allows now (for generators aiming near the limit). */
  largestBorrow(account: string, asset: string, timeMs: number): bigint {
    let low = 0n;
    let high = 1n;
    const fits = (units: bigint) =>
      meetsInitial(healthOf(this.data, this.margin, account, timeMs, new Map([[asset, { held: units, owed: units }]])));
    while (fits(high) && high < 10n ** 30n) high *= 2n;
    while (high - low > 1n) {
      const middle = (low + high) / 2n;
      if (fits(middle)) low = middle;
      else high = middle;
    }
    return low;
  }

  /** The coverage shares of an account per pool. */
  sharesOf(account: string): { asset: string; shares: bigint }[] {
    return this.borrowable().map((asset) => ({
      asset,
      shares: this.margin.coverage.get(asset)!.shares.get(account) ?? 0n,
    }));
  }

  // ----- the model's own checks ---------------------------------------------------

  /** docs/margin.md section 12: balances + pool cash + coverage holdings = deposited − withdrawn; pools solvent. */
  protected override conservationProblem(): string | undefined {
    for (const asset of this.data.assets) {
      let total = 0n;
      for (const [key, balance] of this.data.balances) {
        if (!key.endsWith(`/${asset.symbol}`)) continue;
        if (balance.available < 0n || balance.locked < 0n || balance.pendingWithdrawal < 0n)
          return `model: negative balance ${key}`;
        total += balance.available + balance.locked + balance.pendingWithdrawal;
      }
      const pool = this.margin.pools.get(asset.symbol);
      total += (pool?.cashUnits ?? 0n) + (this.margin.coverage.get(asset.symbol)?.holdingsUnits ?? 0n);
      if (total !== asset.deposited - asset.withdrawn)
        return `model: ${asset.symbol} not conserved (${total} ≠ ${asset.deposited} − ${asset.withdrawn})`;
      if (pool === undefined) continue;
      if (pool.cashUnits < 0n) return `model: ${asset.symbol} pool cash negative`;
      if (pool.cashUnits + totalBorrowed(pool) < totalLent(pool)) return `model: ${asset.symbol} pool insolvent`;
    }
    let lendScaled = new Map<string, bigint>();
    let borrowScaled = new Map<string, bigint>();
    for (const [key, position] of this.margin.positions) {
      if (position.lendScaled > 0n && position.borrowScaled > 0n) return `model: ${key} both lends and borrows`;
      const asset = key.slice(key.indexOf('/') + 1);
      const counted = countedLendScaled(this.margin.pools.get(asset)!, position);
      lendScaled = lendScaled.set(asset, (lendScaled.get(asset) ?? 0n) + counted);
      borrowScaled = borrowScaled.set(asset, (borrowScaled.get(asset) ?? 0n) + position.borrowScaled);
    }
    for (const [asset, pool] of this.margin.pools) {
      if ((lendScaled.get(asset) ?? 0n) !== pool.totalSupplyScaled) return `model: ${asset} supply totals differ`;
      if ((borrowScaled.get(asset) ?? 0n) !== pool.totalBorrowScaled) return `model: ${asset} borrow totals differ`;
    }
    return undefined;
  }

  // ----- the one entry point --------------------------------------------------------

  executeEntry(signer: string, instruction: Instruction, logTimeMs: number): MarginModelOutcome {
    if (!marginKinds.has(instruction.kind) || logTimeMs < this.data.logTimeMs) {
      return { ...super.execute(signer, instruction, logTimeMs), socialisedLosses: [] };
    }
    const rejected = (code: string, results: MarginModelResult[] = []): MarginModelOutcome => ({
      accepted: false,
      rejectionCode: code,
      results,
      trades: [],
      socialisedLosses: [],
    });
    if (marginOperatorKinds.has(instruction.kind) && !this.data.operators.has(signer)) return rejected('UNAUTHORIZED');
    const savedData = copyData(this.data);
    const savedMargin = copyMarginData(this.margin);
    const trades: ModelTrade[] = [];
    const losses: ModelSocialisedLoss[] = [];
    const results = this.parts(signer, instruction, logTimeMs, trades, losses);
    if (!results.some((result) => result.ok)) {
      Object.assign(this.data, savedData);
      Object.assign(this.margin, savedMargin);
      const first = results[0];
      return rejected(first !== undefined && !first.ok ? first.code : 'INVALID_INSTRUCTION', results);
    }
    fireTriggers(this.data, trades);
    this.data.logTimeMs = logTimeMs;
    return { accepted: true, rejectionCode: undefined, results, trades, socialisedLosses: losses };
  }

  private parts(
    signer: string,
    instruction: Instruction,
    timeMs: number,
    trades: ModelTrade[],
    losses: ModelSocialisedLoss[],
  ): MarginModelResult[] {
    const { data, margin } = this;
    switch (instruction.kind) {
      case 'orderExecute':
        return instruction.orders.map((request) =>
          takesMarginPath(margin, signer, request)
            ? placeMarginOrder(data, margin, signer, request, timeMs, trades)
            : placeOrder(data, signer, request, timeMs, trades),
        );
      case 'withdraw':
        return [this.withdraw(data, signer, instruction.symbol, instruction.quantity, timeMs)];
      case 'borrowLendMarketList':
        return [listBorrowLend(data, margin, instruction, timeMs)];
      case 'indexPriceUpdate':
        return [updatePrice(margin, instruction.symbol, instruction.price, instruction.publishedAtMs, timeMs)];
      case 'borrowLendExecute':
        return [borrowLend(data, margin, signer, instruction, timeMs)];
      case 'accountUpdate':
        return [updateAccount(data, margin, signer, instruction, timeMs)];
      case 'liquidate':
        return [liquidate(data, margin, signer, instruction.account, timeMs, trades, losses)];
      case 'coveragePoolDeposit':
      case 'coveragePoolWithdrawRequest':
      case 'coveragePoolWithdraw':
        return [coveragePoolInstruction(data, margin, signer, instruction, timeMs)];
      default:
        return [fail('INVALID_INSTRUCTION')];
    }
  }

  private withdraw(data: ModelData, account: string, symbol: string, quantity: string, timeMs: number) {
    const result = withdraw(data, account, symbol, quantity);
    if (result.ok && !withdrawalKeepsMargin(data, this.margin, account, timeMs)) return fail('INSUFFICIENT_MARGIN');
    return result;
  }

  /** The pool's indexes at `timeMs` (for comparing what a check would use). */
  indexesAt(asset: string, timeMs: number) {
    return indexesAt(this.margin.pools.get(asset)!, timeMs);
  }
}
