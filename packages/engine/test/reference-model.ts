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
 *
 * Its parts, one concern a file: reference-decimal.ts (exact decimals),
 * reference-state.ts (what it stores and shows), reference-listing.ts (assets
 * and markets), reference-funds.ts (deposits and withdrawals),
 * reference-book.ts (the book, cancels and the matching walk),
 * reference-orders.ts (placement checks 1 to 7, attached orders) and
 * reference-triggers.ts (trigger firing). This file holds the state and the
 * one entry point.
 */
import type { Instruction } from '../src/instruction.js';
import { cancel, cancelAll, type DepthLevel, depthOf } from './reference-book.js';
import { deposit, settleWithdrawal, withdraw } from './reference-funds.js';
import { listAsset, listMarket } from './reference-listing.js';
import { placeOrder } from './reference-orders.js';
import {
  findMarket,
  isOpen,
  isResting,
  type ModelAsset,
  type ModelBalanceView,
  type ModelData,
  type ModelGenesis,
  type ModelMarket,
  type ModelOrderView,
  type ModelOutcome,
  type ModelResult,
  type ModelTrade,
  type ModelWithdrawal,
  remainingOf,
  reservationOf,
  viewOf,
} from './reference-state.js';
import { fireTriggers } from './reference-triggers.js';

export { readDecimal, unitsToDecimal } from './reference-decimal.js';
export type {
  ModelAsset,
  ModelBalance,
  ModelBalanceView,
  ModelGenesis,
  ModelMarket,
  ModelOrder,
  ModelOrderView,
  ModelOutcome,
  ModelResult,
  ModelStatus,
  ModelTrade,
  ModelWithdrawal,
} from './reference-state.js';

const operatorKinds = new Set(['depositCredit', 'withdrawalComplete', 'withdrawalFail', 'assetList', 'marketList']);

/** The model's own conservation check: every asset's balances sum to deposited − withdrawn, none negative. */
function conservationProblem(data: ModelData): string | undefined {
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
  return undefined;
}

/** The model's own check that locked = the open orders' reservations and pending = the pending withdrawals. */
function reservationProblem(data: ModelData): string | undefined {
  const expectedLocked = new Map<string, bigint>();
  const expectedPending = new Map<string, bigint>();
  for (const order of data.orders) {
    if (!isResting(order)) continue;
    const market = findMarket(data, order.market)!;
    const asset = order.side === 'Bid' ? market.quote : market.base;
    const key = `${order.account}/${asset}`;
    expectedLocked.set(key, (expectedLocked.get(key) ?? 0n) + reservationOf(market, order, remainingOf(order)));
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
  return undefined;
}

/** Applies each part of one instruction; each part's result, in order. */
function executeParts(
  data: ModelData,
  signer: string,
  instruction: Instruction,
  logTimeMs: number,
  trades: ModelTrade[],
): ModelResult[] {
  const results: ModelResult[] = [];
  switch (instruction.kind) {
    case 'orderExecute':
      for (const request of instruction.orders) results.push(placeOrder(data, signer, request, logTimeMs, trades));
      break;
    case 'orderCancel':
      results.push(cancel(data, signer, instruction.symbol, instruction.orderId, instruction.clientId));
      break;
    case 'orderCancelAll':
      results.push(cancelAll(data, signer, instruction.symbol));
      break;
    case 'withdraw':
      results.push(withdraw(data, signer, instruction.symbol, instruction.quantity));
      break;
    case 'depositCredit':
      results.push(deposit(data, instruction));
      break;
    case 'withdrawalComplete':
    case 'withdrawalFail':
      results.push(settleWithdrawal(data, instruction.withdrawalId, instruction.kind === 'withdrawalComplete'));
      break;
    case 'assetList':
      results.push(listAsset(data, instruction.symbol, instruction.decimals));
      break;
    case 'marketList':
      results.push(listMarket(data, instruction));
      break;
  }
  return results;
}

export class ReferenceModel {
  protected readonly data: ModelData;

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
    return findMarket(this.data, symbol);
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
  depthOf(symbol: string): { bids: DepthLevel[]; asks: DepthLevel[] } {
    return depthOf(this.data, symbol);
  }

  /**
   * The model's own consistency checks, independent of the engine's:
   * conservation of every asset, no negative balance, locked = the open
   * orders' reservations, pending = the pending withdrawals, book not crossed.
   * Returns a description of the first problem, or undefined.
   */
  selfCheck(): string | undefined {
    const problem = this.conservationProblem() ?? reservationProblem(this.data);
    if (problem !== undefined) return problem;
    for (const market of this.data.markets) {
      const depth = this.depthOf(market.symbol);
      const bid = depth.bids[0];
      const ask = depth.asks[0];
      if (bid !== undefined && ask !== undefined && bid.priceTicks >= ask.priceTicks)
        return `model: ${market.symbol} crossed`;
    }
    return undefined;
  }

  /** Conservation of every asset; the margin model (reference-margin-model.ts) adds the pools' holdings. */
  protected conservationProblem(): string | undefined {
    return conservationProblem(this.data);
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
    const results = executeParts(this.data, signer, instruction, logTimeMs, trades);
    if (!results.some((result) => result.ok)) {
      const first = results[0];
      return rejectedEntry(first !== undefined && !first.ok ? first.code : 'INVALID_INSTRUCTION', results);
    }
    fireTriggers(this.data, trades);
    this.data.logTimeMs = logTimeMs;
    return { accepted: true, rejectionCode: undefined, results, trades };
  }
}
