/**
 * The borrow/lend hole in GET /api/v1/reserves (docs/api.md): per borrowable
 * asset, what lenders put in the pool (`lent`), what borrowers took out of it
 * (`borrowed`), the part of it the borrowers no longer hold in that asset
 * (`borrowLendHole`: withdrawn, or spent in trades; engine reserves-report.ts)
 * with the weighted collateral of those borrowers that covers it
 * (`borrowLendHoleCollateralValue`), and the weighted collateral of every
 * borrower of the asset (`borrowCollateralValue`); USDC at index prices and
 * collateral weights, rounded down. Read from the live state at its log
 * time, beside the attestation's signed figures; not signed.
 */
import {
  accountHealth,
  borrowLendHoles,
  formatDecimal,
  settlementDecimals,
  totalBorrowedUnits,
  totalLentUnits,
  type ExchangeState,
} from '@vex/engine';

export const borrowLendHoleProperties = {
  lent: { type: 'string', description: 'Live state: units lent into the lending pool (with interest)' },
  borrowed: { type: 'string', description: 'Live state: units borrowed out of the pool (with interest)' },
  borrowLendHole: {
    type: 'string',
    description: 'Live state: units the borrowers owe beyond what they hold of the asset (withdrawn or spent)',
  },
  borrowLendHoleCollateralValue: {
    type: 'string',
    description: 'Live state: weighted collateral of the borrowers in the hole, in USDC',
  },
  borrowCollateralValue: {
    type: 'string',
    description: 'Live state: weighted collateral of the borrowers of this asset, in USDC',
  },
} as const;

export function borrowLendHole(state: ExchangeState, symbol: string): Record<string, string> {
  const asset = state.assetsBySymbol.get(symbol);
  if (asset?.margin === undefined) return {};
  const pool = asset.margin.lendingPool;
  let collateral = 0n;
  // Only borrowers (state.borrowers), never all accounts.
  for (const account of state.borrowers) {
    const balance = account.balances[asset.index];
    if (balance === undefined || balance.borrowScaled === 0n) continue;
    collateral += accountHealth(state, account, state.logTimeMs).collateralValue;
  }
  const hole = borrowLendHoles(state);
  return {
    lent: formatDecimal(totalLentUnits(pool), asset.decimals),
    borrowed: formatDecimal(totalBorrowedUnits(pool), asset.decimals),
    borrowLendHole: formatDecimal(hole.holes[asset.index]!, asset.decimals),
    borrowLendHoleCollateralValue: formatDecimal(hole.collateral[asset.index]!, settlementDecimals(state)),
    borrowCollateralValue: formatDecimal(collateral, settlementDecimals(state)),
  };
}
