/**
 * The perpetual invariants (docs/perps.md, "Invariants"), checked with the
 * others after every step in tests: in each perpetual market the positions
 * sum to zero and the long ones sum to the market's open interest; no flat
 * position is stored, and none on a spot market. Returns, per asset, what
 * the perpetual markets hold in the conservation sum: realised PnL paid out
 * in USDC equals the sum of the cost bases (each fill changes the two cost
 * bases by the two realised PnLs, whose quotes cancel), so the markets hold
 * minus the sum of the cost bases, plus the funding balance; that balance
 * covers the funding pending on the open positions (docs/perps.md, "Funding").
 * The resting orders on perpetuals agree with their per-account records, and
 * each reduce-only one stays within the position it reduces.
 */
import { wad } from '../margin-fixed-point.js';
import type { ExchangeState } from '../state.js';
import { checkMarketPositions } from './position-queue.js';
import { checkRestingPerpOrders } from './resting-perp-orders.js';

export function checkPerpInvariants(state: ExchangeState, fail: (message: string) => never): bigint[] {
  const held = state.assets.map(() => 0n);
  const netUnits = state.markets.map(() => 0n);
  const longUnits = state.markets.map(() => 0n);
  const pendingFunding = state.markets.map(() => 0n);
  for (const account of state.accountList) {
    for (const [marketIndex, position] of account.positions) {
      const market = state.markets[marketIndex];
      if (market?.perp === undefined) fail(`account ${account.id} holds a position on a market that is no perpetual`);
      if (position.quantityUnits === 0n) fail(`account ${account.id} keeps a flat position on ${market.symbol}`);
      netUnits[marketIndex]! += position.quantityUnits;
      if (position.quantityUnits > 0n) longUnits[marketIndex]! += position.quantityUnits;
      held[market.quote.index]! -= position.costBasisUnits;
      // Funding not yet settled, exactly: Σ q × (index − index at settlement), in wad × base units.
      pendingFunding[marketIndex]! +=
        position.quantityUnits * (market.perp.funding.cumulativeFundingIndex - position.fundingIndexAtSettlement);
    }
  }
  for (const market of state.markets) {
    if (market.perp === undefined) continue;
    held[market.quote.index]! += market.perp.fundingBalanceUnits;
    // Payments round up and receipts down, so the market holds at least what settling every position would pay out.
    const balanceScaled = market.perp.fundingBalanceUnits * wad * 10n ** BigInt(market.base.decimals);
    if (balanceScaled + pendingFunding[market.index]! * 10n ** BigInt(market.quote.decimals) < 0n)
      fail(`${market.symbol}: the funding balance ${market.perp.fundingBalanceUnits} cannot pay the pending funding`);
    checkMarketPositions(state, market, fail);
    if (netUnits[market.index] !== 0n) fail(`${market.symbol}: positions sum to ${netUnits[market.index]}, not zero`);
    if (longUnits[market.index] !== market.perp.openInterestUnits) {
      fail(
        `${market.symbol}: open interest ${market.perp.openInterestUnits} but longs sum to ${longUnits[market.index]}`,
      );
    }
  }
  checkRestingPerpOrders(state, fail);
  return held;
}
