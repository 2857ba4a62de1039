/**
 * Perpetual positions in the liabilities leaves (docs/attestation.md,
 * "Perpetual positions in the leaves"). A position's PnL and funding are
 * pending until it is realised (docs/perps.md, section 5b); the leaf counts
 * them at the state's marks and funding indexes, exactly as realising every
 * position of the account at that moment would move its USDC:
 *
 *   pending = Σ over its positions (p − f), with p the unrealised PnL at the
 *   market's mark (unrealisedPnlUnits: the mark value rounded toward −∞;
 *   zero while the mark is zero, as realiseAtMark) and f the funding payment
 *   pending since the position's last settlement (pendingFundingUnits:
 *   rounded toward +∞, positive when the account pays),
 *
 * summed per settlement asset. A positive pending amount adds to the leaf's
 * claim in that asset, a negative one's magnitude to its debt, so claim −
 * debt is what the account would hold after realising. Each term rounds
 * against the account, so the leaves never claim more than the exact amount.
 *
 * Cost: a leaf costs O(its positions) more. A leaf changes when the account's
 * position changes (the hooks mark it stale) and when its market's mark or
 * funding index moves; the tree then refreshes the leaves of that market's
 * holders (MarkMemory), O(holders of the markets whose mark moved) per
 * update: bounded by what moved, never by the accounts.
 */
import type { Account, ExchangeState, Market } from './state.js';
import type { PerpMarketState } from './perps/perp-market.js';
import { marketPositionsOf } from './perps/position-queue.js';
import { pendingFundingUnits, type Position, unrealisedPnlUnits } from './perps/position.js';

/** Tells the liabilities tree that `account`'s leaf changed though perhaps no balance moved (a position did). */
export function markLeafStale(state: ExchangeState, account: Account): void {
  if (account.leafStale) return;
  account.leafStale = true;
  state.changedAccounts.push(account);
}

/**
 * The account's pending perpetual amount per asset index (signed, positive:
 * owed to the account), or undefined when it holds no position. Positions in
 * any order: the terms are integers summed exactly.
 */
export function pendingPerpUnitsByAsset(state: ExchangeState, account: Account): bigint[] | undefined {
  if (account.positions.size === 0) return undefined;
  const pending: bigint[] = [];
  for (const [marketIndex, position] of account.positions) {
    const market = state.markets[marketIndex]!;
    pending[market.quote.index] = (pending[market.quote.index] ?? 0n) + pendingPositionUnits(market, position);
  }
  return pending;
}

/** What realising `position` now would move into its account's USDC: PnL at the mark less pending funding. */
export function pendingPositionUnits(market: Market, position: Position): bigint {
  const funding = (market.perp as PerpMarketState).funding;
  const baseDecimals = market.base.decimals;
  const quoteDecimals = market.quote.decimals;
  const amount = -pendingFundingUnits(position, funding.cumulativeFundingIndex, baseDecimals, quoteDecimals);
  if (funding.markPrice === 0n) return amount;
  return amount + unrealisedPnlUnits(position, funding.markPrice, baseDecimals, quoteDecimals);
}

/** A leaf's claim and debt in one asset with the pending perpetual amount folded in. */
export function withPendingPerp(claim: bigint, debt: bigint, pending: bigint | undefined): [bigint, bigint] {
  if (pending === undefined || pending === 0n) return [claim, debt];
  return pending > 0n ? [claim + pending, debt] : [claim, debt - pending];
}

/**
 * What the tree remembers of each perpetual between updates: its mark price
 * and cumulative funding index. A market whose either moved has a new
 * pending amount in every holder's leaf.
 */
export class MarkMemory {
  private marks: bigint[] = [];
  private fundingIndexes: bigint[] = [];

  /** Remembers the marks and indexes of `state` (after a full build). */
  remember(state: ExchangeState): void {
    this.marks = [];
    this.fundingIndexes = [];
    for (const market of state.markets) {
      if (market.perp === undefined) continue;
      this.marks[market.index] = market.perp.funding.markPrice;
      this.fundingIndexes[market.index] = market.perp.funding.cumulativeFundingIndex;
    }
  }

  /**
   * The ordinals of the holders of every perpetual whose mark or funding
   * index differs from the remembered one (unsorted), then remembers the
   * new ones.
   */
  movedHolderOrdinals(state: ExchangeState): number[] {
    const ordinals: number[] = [];
    for (const market of state.markets) {
      const perp = market.perp;
      if (perp === undefined) continue;
      const { markPrice, cumulativeFundingIndex } = perp.funding;
      if (this.marks[market.index] === markPrice && this.fundingIndexes[market.index] === cumulativeFundingIndex)
        continue;
      this.marks[market.index] = markPrice;
      this.fundingIndexes[market.index] = cumulativeFundingIndex;
      if (perp.openInterestUnits === 0n) continue;
      for (const ordinal of marketPositionsOf(state, market).holders.keys()) ordinals.push(ordinal);
    }
    return ordinals;
  }
}
