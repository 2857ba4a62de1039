/**
 * The perpetual invariants the model-based test checks after every step
 * (docs/perps.md, "Invariants"), stated over the whole state with the
 * pending PnL and funding counted:
 *
 * - in each perpetual the positions' quantities sum to zero;
 * - USDC conservation with pending PnL and funding. With D the USDC
 *   deposited less withdrawn, N_a = available + locked + pending withdrawal
 *   + lent − borrowed of account a, C the USDC coverage pool, and for each
 *   open position (q, cost, index at settlement) on a market with mark m and
 *   cumulative funding index I, its exact unrealised PnL
 *   u = q × m / (wad × 10^baseDecimals / 10^usdcDecimals) − cost and its exact
 *   pending funding f = q × (I − index at settlement) × 10^usdcDecimals /
 *   (wad × 10^baseDecimals) (positive: owed):
 *
 *       D − C − (Σ N_a + Σ u − Σ f) = dust,  0 ≤ dust < (funding settlements so far) units
 *
 *   and dust is exactly the markets' funding balances F plus the exact
 *   pending funding (Σ f, signed): what rounding payments up and receipts
 *   down has left in the markets. Unrealised PnL sums to minus the cost
 *   bases (the quantities sum to zero), so the identity holds whatever the
 *   marks are. Computed in rationals scaled by wad × 10^18.
 */
import { expect } from 'vitest';
import { borrowedUnits, lentUnits } from '../src/lending-pool.js';
import { wad } from '../src/margin-fixed-point.js';
import type { ExchangeState } from '../src/state.js';
import type { PerpReferenceModel } from './reference-perps.js';

export interface PerpLedger {
  /** USDC units credited by deposits less those withdrawn. */
  depositedUnits: bigint;
}

const scale = wad * 10n ** 18n;

export function expectPositionsSumToZero(state: ExchangeState, line: string): void {
  const sums = state.markets.map(() => 0n);
  for (const account of state.accountList)
    for (const [marketIndex, position] of account.positions) sums[marketIndex]! += position.quantityUnits;
  for (const market of state.markets)
    if (market.perp !== undefined) expect(sums[market.index], `${line}: ${market.symbol} positions sum`).toBe(0n);
}

export function expectPerpConservation(
  state: ExchangeState,
  ledger: PerpLedger,
  model: PerpReferenceModel,
  timeMs: number,
  line: string,
): void {
  const usdc = state.assetsBySymbol.get('USDC')!;
  let equityScaled = 0n;
  for (const account of state.accountList) {
    const balance = account.balance(usdc);
    const held = balance.available + balance.locked + balance.pendingWithdrawal;
    equityScaled += (held + lentUnits(balance, timeMs) - borrowedUnits(balance, timeMs)) * scale;
    for (const [marketIndex, position] of account.positions) {
      const market = state.markets[marketIndex]!;
      const perp = market.perp!;
      // Per unit of scale: wad × 10^baseDecimals of the position's own fractions, times 10^(18 − baseDecimals).
      const factor = 10n ** BigInt(18 - market.base.decimals);
      const usdcScale = 10n ** BigInt(market.quote.decimals);
      const unrealised =
        position.quantityUnits * perp.funding.markPrice * usdcScale - (position.costBasisUnits * scale) / factor;
      const pending =
        position.quantityUnits * (perp.funding.cumulativeFundingIndex - position.fundingIndexAtSettlement) * usdcScale;
      equityScaled += (unrealised - pending) * factor;
    }
  }
  const coverage = usdc.margin?.coveragePool.holdingsUnits ?? 0n;
  const dust = (ledger.depositedUnits - coverage) * scale - equityScaled;
  let modelDust = 0n;
  for (const market of state.markets) {
    if (market.perp === undefined) continue;
    expect(market.perp.fundingBalanceUnits, `${line}: ${market.symbol} funding balance`).toBe(
      model.fundingBalanceOf(market.symbol),
    );
    modelDust += model.fundingDustScaled(market.symbol) * 10n ** BigInt(18 - market.base.decimals);
  }
  expect(dust, `${line}: USDC conservation with pending PnL and funding`).toBe(modelDust);
  expect(dust >= 0n && dust <= scale * BigInt(model.settlementCount), `${line}: funding dust ${dust}`).toBe(true);
}
