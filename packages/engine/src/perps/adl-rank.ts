/**
 * The auto-deleveraging order (docs/perps.md, "Liquidation and ADL"). The
 * positions on one side of a market are ranked by PnL × leverage, highest
 * first, where for a position of an account:
 *
 *   PnL      = its realised PnL since it opened + its unrealised PnL at the
 *              mark (USDC units, signed; funding not counted),
 *   leverage = its notional at the mark / the account's net equity (at
 *              least one unit),
 *
 * compared exactly as fractions (PnL × notional × the other's equity, in
 * bigint); ties go to the account created first (lower ordinal). The
 * candidates are the market's position holders (position-holders.ts,
 * maintained when positions open and close), not all accounts: the key moves
 * with every mark, so no order kept between entries would stay true. A
 * ranking costs O(h) health passes and a sort of h, with h the holders of
 * that side of the market; it runs only when the coverage pool cannot take a
 * position over, and a step then closes against at most
 * adlCounterpartiesPerStep of them.
 */
import { accountHealth } from '../health.js';
import type { Account, ExchangeState, Market } from '../state.js';
import type { PerpMarketState } from './perp-market.js';
import { notionalUnitsUp } from './position-health.js';
import { positionHoldersOf } from './position-holders.js';
import { unrealisedPnlUnits } from './position.js';
import { isCoveragePoolAccount } from './pool-positions.js';

/** The most opposite positions one liquidation step closes by auto-deleveraging. */
export const adlCounterpartiesPerStep = 8;

export interface AdlScore {
  readonly account: Account;
  readonly pnlUnits: bigint;
  readonly notionalUnits: bigint;
  /** The account's net equity, at least 1. */
  readonly equityUnits: bigint;
}

function scoreOf(state: ExchangeState, account: Account, market: Market): AdlScore {
  const position = account.positions.get(market.index)!;
  const mark = (market.perp as PerpMarketState).funding.markPrice;
  const base = market.base.decimals;
  const decimals = market.quote.decimals;
  const unrealised = mark === 0n ? 0n : unrealisedPnlUnits(position, mark, base, decimals);
  const equity = accountHealth(state, account, state.logTimeMs).netEquity;
  return {
    account,
    pnlUnits: position.realisedPnlUnits + unrealised,
    notionalUnits: notionalUnitsUp(position.quantityUnits, mark, base, decimals),
    equityUnits: equity > 0n ? equity : 1n,
  };
}

/** Negative when `left` is deleveraged before `right`. */
export function compareAdlScores(left: AdlScore, right: AdlScore): number {
  const leftKey = left.pnlUnits * left.notionalUnits * right.equityUnits;
  const rightKey = right.pnlUnits * right.notionalUnits * left.equityUnits;
  if (leftKey !== rightKey) return leftKey > rightKey ? -1 : 1;
  return left.account.ordinal - right.account.ordinal;
}

/** The scores of the positions on one side of the market (long: `long` true), in ADL order. */
export function rankedSide(state: ExchangeState, market: Market, long: boolean): AdlScore[] {
  const scores: AdlScore[] = [];
  for (const account of positionHoldersOf(state, market.index)) {
    const quantity = account.positions.get(market.index)?.quantityUnits ?? 0n;
    if (quantity === 0n || quantity > 0n !== long || isCoveragePoolAccount(account)) continue;
    scores.push(scoreOf(state, account, market));
  }
  return scores.sort(compareAdlScores);
}

/**
 * The counterparties of an ADL against a position of `quantityUnits` (the
 * liquidated side): the first adlCounterpartiesPerStep opposite positions in
 * ADL order, the liquidated account and the coverage pool's account excepted.
 */
export function rankedCounterparties(
  state: ExchangeState,
  market: Market,
  quantityUnits: bigint,
  liquidated: Account,
): Account[] {
  return rankedSide(state, market, quantityUnits < 0n)
    .filter((score) => score.account !== liquidated)
    .slice(0, adlCounterpartiesPerStep)
    .map((score) => score.account);
}

/** The ADL rank of the account's position on the market (1: deleveraged first) and how many share its side. */
export function adlRankOf(
  state: ExchangeState,
  account: Account,
  market: Market,
): { readonly rank: number; readonly of: number; readonly score: AdlScore } | undefined {
  const quantity = account.positions.get(market.index)?.quantityUnits ?? 0n;
  if (quantity === 0n || market.perp === undefined) return undefined;
  const side = rankedSide(state, market, quantity > 0n);
  const index = side.findIndex((score) => score.account === account);
  if (index < 0) return undefined;
  return { rank: index + 1, of: side.length, score: side[index]! };
}
