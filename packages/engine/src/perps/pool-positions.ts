/**
 * The coverage pool's positions (docs/perps.md, "Liquidation and ADL"): a
 * position the USDC coverage pool takes over in a backstop is held by one
 * system account, the coverage pool's account, so that positions still sum
 * to zero per market and open interest counts it like any other. Its id is
 * the base64 of SHA-256("vex coverage pool positions"): a hash, nobody's
 * public key, so no entry is ever signed by it. It is created (with the next
 * ordinal, salted by the creating entry's signature like any account) by the
 * first backstop of a position.
 *
 * Its cash is the USDC coverage pool: its USDC balance stays zero; what
 * its positions realise (PnL at the mark, funding) is paid into or out of
 * the pool's holdings (settlePoolSide), so USDC is conserved with the pool
 * in the sum. A takeover is allowed only when the pool's holdings cover what
 * the account realises by it (poolLossAtTakeover).
 */
import { addToCoveragePool, payFromCoveragePool } from '../coverage-pool.js';
import { invariant } from '../result-codes.js';
import { addAccount, type Account, type Asset, type ExchangeState, type Market } from '../state.js';
import type { PerpMarketState } from './perp-market.js';
import { copyPositionInto, detachedHolding, resetPositionOf } from './perp-holding.js';
import { applyFill, settleFunding, unrealisedPnlUnits } from './position.js';

/** base64(SHA-256("vex coverage pool positions")). */
export const coveragePoolAccountId = '50EmMlre09kMCW8f7sBOzzR2E3Ox7s+SqDL1C4HEel0=';

export function isCoveragePoolAccount(account: Account): boolean {
  return account.id === coveragePoolAccountId;
}

/** The coverage pool's account, created by the entry signed with `entrySignature` if it does not exist yet. */
export function coveragePoolAccount(state: ExchangeState, entrySignature: Uint8Array): Account {
  return state.accounts.get(coveragePoolAccountId) ?? addAccount(state, coveragePoolAccountId, entrySignature);
}

/**
 * What the coverage pool would pay if its account took `quantityUnits`
 * (signed, the side it takes) for `quoteUnits` on `market` now: minus its
 * account's USDC change by the takeover (funding settled, the fill applied,
 * the rest realised at the mark, exactly as movePosition does it), or zero
 * when that change is a gain.
 */
export function poolLossAtTakeover(pool: Account, market: Market, quantityUnits: bigint, quoteUnits: bigint): bigint {
  const perp = market.perp as PerpMarketState;
  const base = market.base.decimals;
  const decimals = market.quote.decimals;
  const current = pool.positions.get(market.index);
  // A copy in a holding of no account (perp-holding.ts): the position functions see the class of every position.
  const position =
    current === undefined
      ? resetPositionOf(detachedHolding(), perp.funding.cumulativeFundingIndex, 0)
      : copyPositionInto(detachedHolding(), current);
  const funding = settleFunding(position, perp.funding.cumulativeFundingIndex, base, decimals);
  let pnl = applyFill(position, quantityUnits, quoteUnits);
  if (position.quantityUnits !== 0n && perp.funding.markPrice !== 0n)
    pnl += unrealisedPnlUnits(position, perp.funding.markPrice, base, decimals);
  const net = pnl - funding;
  return net < 0n ? -net : 0n;
}

/** Moves the pool's account's USDC change `netUnits` (signed, positive: a gain) into or out of the coverage pool. */
export function settlePoolSide(usdc: Asset, netUnits: bigint): void {
  const pool = usdc.margin!.coveragePool;
  if (netUnits >= 0n) {
    addToCoveragePool(pool, netUnits);
    return;
  }
  const paid = payFromCoveragePool(pool, -netUnits);
  invariant(paid === -netUnits, `the coverage pool cannot pay its account's loss of ${-netUnits} units`);
}
