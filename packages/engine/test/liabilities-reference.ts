/**
 * The liabilities tree by the specification (docs/attestation.md), written
 * as plainly as possible and hashed with noble (inclusion-proof.ts): each
 * leaf's claims and debts (lent funds in the claims, borrows in the debts, at
 * the pool indexes brought to the state's log time; an underwriter's share of
 * the coverage pool's holdings in its claim), levels of { hash, sums }
 * objects, the empty node for an unpaired last node. The fast tree must agree.
 */
import { expect } from 'vitest';
import { bytesToLowerHex } from '../src/attestation.js';
import type { LiabilitiesRoot } from '../src/liabilities-tree.js';
import { accountCommitment, encodeSums, leafHash, nodeHash, type ClaimAndDebt } from '../src/inclusion-proof.js';
import { indexesAt } from '../src/lending-pool.js';
import { divideDown, divideUp, wad } from '../src/margin-fixed-point.js';
import type { Account, ExchangeState } from '../src/state.js';

/** One account's leaf amounts, each asset at the pool indexes brought to the state's log time. */
export function referenceSums(state: ExchangeState, account: Account): ClaimAndDebt[] {
  return state.assets.map((asset) => {
    const balance = account.balances[asset.index];
    const perp = referencePendingPerp(state, account, asset.index);
    if (balance === undefined) return perp > 0n ? { claim: perp, debt: 0n } : { claim: 0n, debt: -perp };
    const indexes = asset.margin === undefined ? undefined : indexesAt(asset.margin, state.logTimeMs);
    const lent = balance.lendScaled === 0n ? 0n : divideDown(balance.lendScaled * indexes!.supplyIndex, wad);
    const borrowed = balance.borrowScaled === 0n ? 0n : divideUp(balance.borrowScaled * indexes!.borrowIndex, wad);
    const pool = asset.margin?.coveragePool;
    const shares = pool?.shares.get(account) ?? 0n;
    const underwritten = shares === 0n ? 0n : divideDown(shares * pool!.holdingsUnits, pool!.totalShares);
    const claim = balance.available + balance.locked + balance.pendingWithdrawal + lent + underwritten;
    return perp > 0n ? { claim: claim + perp, debt: borrowed } : { claim, debt: borrowed - perp };
  });
}

/**
 * What realising the account's perpetual positions settled in asset `assetIndex` would move into its balance,
 * from docs/attestation.md ("Perpetual positions in the leaves"): per position, with s = wad × 10^baseDecimals and
 * u = 10^quoteDecimals, ⌊q × mark × u / s⌋ − cost (nothing while the mark is zero) − ⌈q × (index − index at
 * settlement) × u / s⌉.
 */
function floorDivision(numerator: bigint, denominator: bigint): bigint {
  return numerator >= 0n ? numerator / denominator : -((-numerator + denominator - 1n) / denominator);
}

function referencePendingPerp(state: ExchangeState, account: Account, assetIndex: number): bigint {
  let pending = 0n;
  for (const [marketIndex, position] of account.positions) {
    const market = state.markets[marketIndex]!;
    if (market.quote.index !== assetIndex) continue;
    const scale = wad * 10n ** BigInt(market.base.decimals);
    const units = 10n ** BigInt(market.quote.decimals);
    const { markPrice, cumulativeFundingIndex } = market.perp!.funding;
    const funding = position.quantityUnits * (cumulativeFundingIndex - position.fundingIndexAtSettlement) * units;
    pending += floorDivision(-funding, scale);
    if (markPrice === 0n) continue;
    pending += floorDivision(position.quantityUnits * markPrice * units, scale) - position.costBasisUnits;
  }
  return pending;
}

/** Each asset's claims and debts added up over every account: what the root's sums must be. */
export function referenceTotals(state: ExchangeState): ClaimAndDebt[] {
  return state.assets.map((_, asset) =>
    state.accountList.reduce(
      (sum, account) => {
        const pair = referenceSums(state, account)[asset]!;
        return { claim: sum.claim + pair.claim, debt: sum.debt + pair.debt };
      },
      { claim: 0n, debt: 0n },
    ),
  );
}

export function referenceRoot(state: ExchangeState): { hash: Uint8Array; sums: ClaimAndDebt[] } {
  const zeroSums = state.assets.map(() => ({ claim: 0n, debt: 0n }));
  let level = state.accountList.map((account) => {
    const sums = referenceSums(state, account);
    const commitment = accountCommitment(Buffer.from(account.id, 'base64'), account.salt);
    return { hash: leafHash(commitment, encodeSums(sums)), sums };
  });
  while (level.length > 1) {
    const parents: typeof level = [];
    for (let index = 0; index < level.length; index += 2) {
      const left = level[index]!;
      const right = level[index + 1] ?? { hash: new Uint8Array(32), sums: zeroSums };
      parents.push({
        hash: nodeHash(left.hash, encodeSums(left.sums), right.hash, encodeSums(right.sums)),
        sums: left.sums.map((pair, asset) => ({
          claim: pair.claim + right.sums[asset]!.claim,
          debt: pair.debt + right.sums[asset]!.debt,
        })),
      });
    }
    level = parents;
  }
  return level[0]!;
}

/** The tree's root equals the reference tree's: hash and per-asset sums (the tests' check of a LiabilitiesTree). */
export function expectReferenceRoot(root: LiabilitiesRoot, state: ExchangeState): void {
  const reference = referenceRoot(state);
  expect(bytesToLowerHex(root.hash)).toBe(bytesToLowerHex(reference.hash));
  expect(root.assets.map(({ claims, debts }) => ({ claim: claims, debt: debts }))).toEqual(reference.sums);
}
