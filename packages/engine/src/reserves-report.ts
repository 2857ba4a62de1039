/**
 * The reserves report of an attestation (docs/attestation.md, "Reserves
 * report"): per asset the signed reserves, claims and debts, claims − debts,
 * and the borrow/lend hole with the collateral that covers it. Served by
 * GET /api/v1/reserves and printed by the replayer; derived, not signed.
 *
 * The hole of an asset is what its borrowers owe beyond what they still hold
 * of it: Σ max(0, debt − claim) over accounts, the borrowed funds that left
 * the asset's wallets (withdrawn, or spent in trades whose counterparties now
 * claim them). Those claims cannot be paid in that asset until the debts are
 * repaid; the borrowers' collateral in other assets covers them. A
 * borrower's claim is its leaf's, coverage pool share included (borrowed
 * funds deposited into the pool have not left the wallets). Only
 * borrowers can have a debt, so the cost is O(borrowers × their assets).
 */
import type { AttestationFields } from './attestation.js';
import { accountHealth } from './health.js';
import { leafClaim, leafDebt, poolIndexesAt, underwriterClaim, underwrittenPools } from './liabilities-leaf.js';
import { custodianKeyOf, type ExchangeState } from './state.js';

export interface AssetReserves {
  readonly symbol: string;
  /** The reserves the attestation states. */
  readonly reserves: bigint;
  /** Who stated them: the operator, or (a deposit token) the custodian the genesis names, with its key. */
  readonly reservesAttestedBy: 'operator' | 'custodian';
  readonly custodianKey?: string;
  /** The attested claims and debts (the liabilities root's sums). */
  readonly claims: bigint;
  readonly debts: bigint;
  /** claims − debts: what the exchange owes on balance. */
  readonly liabilities: bigint;
  /** Σ max(0, debt − claim) over accounts, in the asset's units (debts rounded up, claims down). */
  readonly borrowLendHole: bigint;
  /** The weighted collateral of the accounts in the hole, in settlement units at index prices, rounded down. */
  readonly holeCollateralValue: bigint;
}

/** Per asset index: the borrow/lend hole and its covering collateral, at `state`'s log time. */
export function borrowLendHoles(state: ExchangeState): {
  readonly holes: readonly bigint[];
  readonly collateral: readonly bigint[];
} {
  const indexes = poolIndexesAt(state, state.logTimeMs);
  const pools = underwrittenPools(state);
  const holes = state.assets.map(() => 0n);
  const collateral = state.assets.map(() => 0n);
  const borrowers = [...state.borrowers].sort((left, right) => left.ordinal - right.ordinal);
  for (const account of borrowers) {
    let value: bigint | undefined;
    for (const balance of account.balances) {
      if (balance === undefined || balance.borrowScaled === 0n) continue;
      const index = balance.asset.index;
      // The claim as the leaf holds it: an underwriter's pool share is funds still in the asset's wallets.
      const claim = leafClaim(balance, indexes[index], underwriterClaim(pools[index], account));
      const uncovered = leafDebt(balance, indexes[index]) - claim;
      if (uncovered <= 0n) continue;
      holes[index]! += uncovered;
      value ??= accountHealth(state, account, state.logTimeMs).collateralValue;
      collateral[index]! += value;
    }
  }
  return { holes, collateral };
}

/**
 * Who states an asset's reserves: the custodian key the genesis names for a
 * deposit token (fiat held at a bank: its custodianReservesStatement, not the
 * chain nor the operator), the operator for every other asset.
 */
export function reservesAttestation(
  state: ExchangeState,
  symbol: string,
): { readonly reservesAttestedBy: 'operator' | 'custodian'; readonly custodianKey?: string } {
  const custodianKey = custodianKeyOf(state, symbol);
  return custodianKey === undefined
    ? { reservesAttestedBy: 'operator' }
    : { reservesAttestedBy: 'custodian', custodianKey };
}

/**
 * The report for `fields`, the attestation of `state` (same log time):
 * leaves' amounts at the state's log time, as the tree takes them.
 */
export function reservesReport(state: ExchangeState, fields: AttestationFields): AssetReserves[] {
  if (fields.logTimeMs !== state.logTimeMs || fields.assets.length !== state.assets.length)
    throw new Error('the attestation is not of this state');
  const { holes, collateral } = borrowLendHoles(state);
  return fields.assets.map((asset, index) => {
    const claims = BigInt(asset.claims);
    const debts = BigInt(asset.debts);
    return {
      symbol: asset.symbol,
      reserves: BigInt(asset.reserves),
      ...reservesAttestation(state, asset.symbol),
      claims,
      debts,
      liabilities: claims - debts,
      borrowLendHole: holes[index]!,
      holeCollateralValue: collateral[index]!,
    };
  });
}
