/**
 * Spot margin orders (docs/margin.md, "Margin orders"): orders with any of
 * the flags autoLendRedeem, autoBorrow, autoBorrowRepay, autoLend, and every
 * order of an account that borrows.
 *
 * Before the order: its spend (a limit order's reservation; a market order's
 * planned walk) beyond the available balance is covered by redeeming the
 * account's lend of that asset (autoLendRedeem), then by borrowing
 * (autoBorrow). The account must then meet its initial margin with the whole
 * spend gone and what the order receives (less the larger fee) counted at the
 * index price — or, when it borrows nothing, be no further below it than
 * before. After the order: what it received repays a borrow of that asset
 * (autoBorrowRepay), and the rest is lent (autoLend). If the order itself is
 * then refused, the redemption and the borrow are undone exactly.
 */
import { checkBorrow, checkRedeem, PoolSavepoint } from './borrow-lend.js';
import type { EntryRecorder } from './entry-recorder.js';
import type { OrderView } from './events.js';
import {
  accountHealthTerms,
  adjustedHealth,
  surplusCoversSpend,
  type AccountHealth,
  type HealthTerms,
} from './health.js';
import { borrowedUnits, borrowUnits, lendUnits, lentUnits, redeemUnits, repayUnits } from './lending-pool.js';
import { divideUp, minimum } from './margin-fixed-point.js';
import { placeOrder, plannedFill, type AttachedViews } from './matching.js';
import type { MarginFlags, ResolvedOrder } from './order-request.js';
import { isRejection, reject, type Rejection } from './result-codes.js';
import type { Account, Asset, Balance, ExchangeState, Market } from './state.js';

const noFlags: MarginFlags = { autoBorrow: false, autoBorrowRepay: false, autoLend: false, autoLendRedeem: false };

/**
 * What the order spends and receives at most, in units of the two assets: `received` before the fee, which
 * receiveAfterFee takes off only when a margin check values the receipt (most orders need no such check).
 */
function orderAmounts(params: ResolvedOrder, account: Account): { spend: bigint; received: bigint } {
  const market = params.market;
  let steps = params.quantitySteps;
  let quote = steps * params.priceTicks * market.quoteUnitsPerStepTick;
  if (params.orderType === 'Market') {
    const plan = plannedFill(params, account);
    steps = plan.steps;
    quote =
      params.side === 'Bid' && params.quoteQuantityUnits !== undefined ? params.quoteQuantityUnits : plan.quoteUnits;
  }
  const base = steps * market.stepUnits;
  return { spend: params.side === 'Bid' ? quote : base, received: params.side === 'Bid' ? base : quote };
}

/** The larger of the market's two fees, in basis points: the order's receipt is counted net of it. */
function largerFeeBasisPoints(market: Market): bigint {
  return market.takerFeeBasisPoints > market.makerFeeBasisPoints
    ? market.takerFeeBasisPoints
    : market.makerFeeBasisPoints;
}

/** What the order receives less the larger fee (rounded up, so the receipt rounds down). */
function receiveAfterFee(market: Market, received: bigint): bigint {
  return received - divideUp(received * largerFeeBasisPoints(market), 10_000n);
}

function surplus(health: AccountHealth): bigint {
  return health.netEquity - health.initialRequirement;
}

interface Snapshot {
  readonly balance: Balance;
  readonly available: bigint;
  readonly lendScaled: bigint;
  readonly lendEpoch: number;
  readonly borrowScaled: bigint;
  readonly cashUnits: bigint;
  readonly totalBorrowScaled: bigint;
  readonly totalSupplyScaled: bigint;
  readonly borrowCount: number;
  readonly lendCount: number;
}

function snapshot(balance: Balance): Snapshot {
  const pool = balance.asset.margin!.lendingPool;
  const { available, lendScaled, lendEpoch, borrowScaled } = balance;
  const { cashUnits, totalBorrowScaled, totalSupplyScaled } = pool;
  return {
    balance,
    available,
    lendScaled,
    lendEpoch,
    borrowScaled,
    cashUnits,
    totalBorrowScaled,
    totalSupplyScaled,
    borrowCount: balance.account.borrowCount,
    lendCount: balance.account.lendCount,
  };
}

function restoreSnapshot(state: ExchangeState, saved: Snapshot): void {
  const { balance } = saved;
  const pool = balance.asset.margin!.lendingPool;
  // Plain stores, not Object.assign with literals: a refused order after a borrow is common in a busy book.
  balance.available = saved.available;
  balance.lendScaled = saved.lendScaled;
  balance.lendEpoch = saved.lendEpoch;
  balance.borrowScaled = saved.borrowScaled;
  pool.cashUnits = saved.cashUnits;
  pool.totalBorrowScaled = saved.totalBorrowScaled;
  pool.totalSupplyScaled = saved.totalSupplyScaled;
  balance.account.borrowCount = saved.borrowCount;
  if (saved.borrowCount === 0) state.borrowers.delete(balance.account);
  else state.borrowers.add(balance.account);
  balance.account.lendCount = saved.lendCount;
  if (saved.lendCount === 0) state.lenders.delete(balance.account);
  else state.lenders.add(balance.account);
}

export function placeMarginOrder(
  state: ExchangeState,
  recorder: EntryRecorder,
  signer: string,
  params: ResolvedOrder,
  flags: MarginFlags = noFlags,
  attached: AttachedViews = {},
): OrderView | Rejection {
  const account = state.accounts.get(signer);
  if (account === undefined) return placeOrder(state, recorder, signer, params, attached);
  if (params.triggerPriceTicks !== undefined && params.margin !== undefined) {
    return reject('INVALID_ORDER', 'Trigger orders cannot carry margin flags.', 'marginTrigger');
  }
  const timeMs = recorder.timeMs;
  const market = params.market;
  const spendAsset = params.side === 'Bid' ? market.quote : market.base;
  const receiveAsset = params.side === 'Bid' ? market.base : market.quote;
  const savepoint = new PoolSavepoint();
  savepoint.accrueAccount(account, timeMs);
  // One pass gives the liquidation check (isLiquidatable's rule), the surplus a refused order is compared with, and
  // the terms both ends of the order adjust: nothing here changes the account's quantities or the prices before them.
  // An account with no debt and no perpetual position needs none (unless the order borrows): it is not liquidatable,
  // and without a debt or a position every term of its health is a collateral value, never negative, and every
  // requirement is zero, so an order that borrows nothing meets the initial margin at both ends.
  const needsHealth = account.borrowCount > 0 || account.positions.size > 0;
  let current = needsHealth ? accountHealthTerms(state, account, timeMs) : undefined;
  if (account.borrowCount > 0 && current!.health.netEquity < current!.health.maintenanceRequirement)
    return savepoint.restore(reject('ACCOUNT_LIQUIDATING', undefined, 'belowMaintenance'));
  const { spend, received } = orderAmounts(params, account);
  const spendBalance = account.balance(spendAsset);
  const shortfall = spend > spendBalance.available ? spend - spendBalance.available : 0n;
  const covered = coverShortfall(state, spendBalance, shortfall, flags, timeMs, savepoint);
  if (isRejection(covered)) return savepoint.restore(covered);
  if (current === undefined && covered.borrow > 0n) current = accountHealthTerms(state, account, timeMs);
  const amounts = { spend, received, borrow: covered.borrow, market };
  const refusal =
    current === undefined ? undefined : checkOrderMargin(state, account, spendAsset, receiveAsset, amounts, current);
  if (refusal !== undefined) return savepoint.restore(refusal);
  // Only a redemption or a borrow needs undoing: a refused placeOrder changes nothing by itself.
  const moves = covered.redeem > 0n || covered.borrow > 0n;
  const saved = spendAsset.margin === undefined || !moves ? undefined : snapshot(spendBalance);
  const eventCount = recorder.events.length;
  if (covered.redeem > 0n) redeemUnits(state, recorder, spendBalance, covered.redeem, timeMs);
  if (covered.borrow > 0n) borrowUnits(state, recorder, spendBalance, covered.borrow);
  const receiveBalance = account.balance(receiveAsset);
  const receivedBefore = receiveBalance.available;
  const order = placeOrder(state, recorder, signer, params, attached);
  if (isRejection(order)) {
    if (saved !== undefined) restoreSnapshot(state, saved);
    // The undone redemption and borrow must not be reported (an accepted batch keeps its other events).
    recorder.events.length = eventCount;
    return savepoint.restore(order);
  }
  settleProceeds(state, recorder, receiveBalance, receiveBalance.available - receivedBefore, flags, savepoint);
  return order;
}

/**
 * The order's margin check at both ends of its life: nothing filled (the
 * reservation still held, the borrow owed) and all filled (the spend gone,
 * the receipt held). Both must meet the initial margin, or, for an order
 * that borrows nothing, neither may lower the surplus over it.
 */
function checkOrderMargin(
  state: ExchangeState,
  account: Account,
  spendAsset: Asset,
  receiveAsset: Asset,
  { spend, received, borrow, market }: { spend: bigint; received: bigint; borrow: bigint; market: Market },
  current: HealthTerms,
): Rejection | undefined {
  // Unfilled without a borrow changes no quantity: it is the health before the order, already computed.
  const unfilled =
    borrow === 0n
      ? current.health
      : adjustedHealth(state, account, current, [{ asset: spendAsset, heldUnits: borrow, borrowedUnits: borrow }]);
  const refusal = marginRefusal(unfilled, current.health, borrow);
  if (refusal !== undefined) return refusal;
  // Without a borrow, a surplus that covers the spend asset's whole collateral term passes the filled end unvalued.
  // surplusCoversSpend is given the receipt before the fee: with a fee of at most 100 % the receipt after it is at
  // least 0, and positive only if the receipt before it is, so every condition it checks holds for the receipt too.
  if (
    borrow === 0n &&
    largerFeeBasisPoints(market) <= 10_000n &&
    surplusCoversSpend(current, spendAsset, receiveAsset, received)
  )
    return undefined;
  const receive = receiveAfterFee(market, received);
  const filled = adjustedHealth(state, account, current, [
    { asset: spendAsset, heldUnits: borrow - spend, borrowedUnits: borrow },
    { asset: receiveAsset, heldUnits: receive, borrowedUnits: 0n },
  ]);
  return marginRefusal(filled, current.health, borrow);
}

/** One end's check: it meets the initial margin, or borrows nothing and does not lower the surplus over it. */
function marginRefusal(after: AccountHealth, before: AccountHealth, borrow: bigint): Rejection | undefined {
  if (after.netEquity >= after.initialRequirement) return undefined;
  // The health before the order: accruing pools since it was computed does not change values at the same time.
  if (borrow === 0n && surplus(after) >= surplus(before)) return undefined;
  const message = `Net equity ${after.netEquity} would be below the initial requirement ${after.initialRequirement}.`;
  return reject('INSUFFICIENT_MARGIN', message, 'order');
}

/** The usual cover (none), shared: this runs for every margin order, and the caller only reads it. */
const nothingCovered: { readonly redeem: bigint; readonly borrow: bigint } = { redeem: 0n, borrow: 0n };

/**
 * How much of the shortfall a redemption and a borrow cover, checked; what
 * they cannot cover the order's funds check refuses.
 */
function coverShortfall(
  state: ExchangeState,
  balance: Balance,
  shortfall: bigint,
  flags: MarginFlags,
  timeMs: number,
  savepoint: PoolSavepoint,
): { redeem: bigint; borrow: bigint } | Rejection {
  if (shortfall === 0n || balance.asset.margin === undefined || !(flags.autoLendRedeem || flags.autoBorrow))
    return nothingCovered;
  savepoint.accrue(balance.asset.margin, timeMs);
  // Computed once: checkRedeem changes nothing, so the lend is the same for both uses below.
  const lent = lentUnits(balance, timeMs);
  const redeem = flags.autoLendRedeem ? minimum(shortfall, lent) : 0n;
  const refusal = redeem > 0n ? checkRedeem(balance, redeem) : undefined;
  if (refusal !== undefined) return refusal;
  // A borrow only once no lend of the asset is left: an account never both lends and borrows one asset.
  const borrow = flags.autoBorrow && redeem === lent ? shortfall - redeem : 0n;
  // The margin check is the order's own, with the borrow, the spend and the receipt together.
  const borrowRefusal = borrow > 0n ? checkBorrow(state, balance, borrow, timeMs, false, redeem) : undefined;
  return borrowRefusal ?? { redeem, borrow };
}

/** After the order: what it received repays a borrow (autoBorrowRepay), the rest is lent (autoLend). */
function settleProceeds(
  state: ExchangeState,
  recorder: EntryRecorder,
  balance: Balance,
  received: bigint,
  flags: MarginFlags,
  savepoint: PoolSavepoint,
): void {
  const asset: Asset = balance.asset;
  if (received <= 0n || asset.margin === undefined || !(flags.autoBorrowRepay || flags.autoLend)) return;
  const timeMs = recorder.timeMs;
  savepoint.accrue(asset.margin, timeMs);
  let left = received;
  if (flags.autoBorrowRepay && balance.borrowScaled > 0n) {
    const repaid = minimum(left, borrowedUnits(balance, timeMs));
    repayUnits(state, recorder, balance, repaid, timeMs);
    left -= repaid;
  }
  if (flags.autoLend && left > 0n && balance.borrowScaled === 0n)
    lendUnits(state, recorder, balance, minimum(left, balance.available));
}
