/**
 * Positions in the cross-margin health (docs/perps.md, "Health"): what an
 * account's open positions add to accountHealth (health.ts). At the
 * market's mark price each position adds its unrealised PnL (a gain to the
 * collateral value, a loss to the liability value, both in USDC units with
 * unrealisedPnlUnits' rounding) and its initial and maintenance requirements
 * (position-health.ts, rounded up); funding not yet settled into a position
 * counts with its PnL. A position on a market with no mark yet
 * requires its whole |cost basis| under both and adds no PnL.
 */
import type { Account, ExchangeState, Market } from '../state.js';
import { positionRequirementUnits } from './position-health.js';
import { notionalOfQuotient, pendingFundingUnits, type Position, settlementUnitsQuotient } from './position.js';

export interface PositionsHealth {
  readonly gainUnits: bigint;
  readonly lossUnits: bigint;
  readonly initialRequirement: bigint;
  readonly maintenanceRequirement: bigint;
}

const noPositions: PositionsHealth = {
  gainUnits: 0n,
  lossUnits: 0n,
  initialRequirement: 0n,
  maintenanceRequirement: 0n,
};

/**
 * The sums over the account's positions, but for the one on the market `excludedMarketIndex` (−1: none), the
 * maintenance requirement left at 0 unless `withMaintenance`; each term is independent of the others, so any order
 * gives the same sums. Valid until the next call (read at once).
 */
export function positionsHealth(
  state: ExchangeState,
  account: Account,
  excludedMarketIndex = -1,
  withMaintenance = true,
): PositionsHealth {
  const holdings = account.perpHoldings;
  if (holdings.length === 0) return noPositions;
  const sums = passSums;
  sums.gainUnits = 0n;
  sums.lossUnits = 0n;
  sums.initialRequirement = 0n;
  sums.maintenanceRequirement = 0n;
  // Through the holdings (an array, which a margin check has just read) rather than the map of positions (another
  // cold object, its iterator and a lookup per position): a holding that is open is the position the map holds at
  // its market's index, and the map holds no other (perp-holding.ts; checkMarketPositions fails a state where not).
  for (let marketIndex = 0; marketIndex < holdings.length; marketIndex += 1) {
    const holding = holdings[marketIndex];
    if (holding !== undefined && holding.open && marketIndex !== excludedMarketIndex)
      addPositionTerms(sums, state.markets[marketIndex]!, holding, withMaintenance);
  }
  return sums;
}

/**
 * positionsHealth's sums: one object, overwritten by every call (its one caller, health.ts's pass, adds them to
 * its own sums at once), rather than one allocated per health pass.
 */
const passSums: PositionsHealthSums = {
  gainUnits: 0n,
  lossUnits: 0n,
  initialRequirement: 0n,
  maintenanceRequirement: 0n,
};

/** PositionsHealth being summed. */
export interface PositionsHealthSums {
  gainUnits: bigint;
  lossUnits: bigint;
  initialRequirement: bigint;
  maintenanceRequirement: bigint;
}

export function emptySums(): PositionsHealthSums {
  return { gainUnits: 0n, lossUnits: 0n, initialRequirement: 0n, maintenanceRequirement: 0n };
}

/**
 * Adds one position's terms to `sums`: what it adds to accountHealth's four
 * sums. positionsHealth is the sum of these over the account's positions, so
 * a caller may replace one position's terms by another's (perp-orders.ts:
 * the order's worst cases) and get exactly the sums with that position.
 */
export function addPositionTerms(
  sums: PositionsHealthSums,
  market: Market,
  position: Position,
  // False for an initial margin check only (perp-orders.ts): the maintenance requirement is not computed.
  withMaintenance = true,
): void {
  const funding = market.perp!.funding;
  // Funding not yet settled into the position counts as if it were (docs/perps.md, "Funding"); without a mark
  // the terms take the cost basis only.
  const fundingUnits =
    funding.markPrice === 0n
      ? 0n
      : pendingFundingUnits(position, funding.cumulativeFundingIndex, market.base.decimals, market.quote.decimals);
  addQuantityTerms(sums, market, position.quantityUnits, position.costBasisUnits, fundingUnits, withMaintenance);
}

/**
 * addPositionTerms of a position given by its quantity, its cost basis and its funding not yet settled (USDC
 * units, positive: the account pays), for a position that exists only as values (the margin check's worst
 * cases, perp-orders.ts): the same terms as a position with those fields.
 */
export function addQuantityTerms(
  sums: PositionsHealthSums,
  market: Market,
  quantityUnits: bigint,
  costBasisUnits: bigint,
  fundingUnits: bigint,
  withMaintenance: boolean,
): void {
  const perp = market.perp!;
  const decimals = market.quote.decimals;
  if (perp.funding.markPrice === 0n) {
    const cost = costBasisUnits < 0n ? -costBasisUnits : costBasisUnits;
    sums.initialRequirement += cost;
    if (withMaintenance) sums.maintenanceRequirement += cost;
    return;
  }
  // One product for both: the notional is |q| × mark rounded up, and the mark value (unrealisedPnlUnits') is
  // q × mark rounded toward −∞, which is that notional negated for a short, and it rounded down for a long.
  const quantity = quantityUnits;
  const quotient = settlementUnitsQuotient(quantity < 0n ? -quantity : quantity, perp.funding.markPrice, market);
  const notional = notionalOfQuotient(quotient);
  const value = quantity > 0n ? quotient : -notional;
  // Funding moves at funding boundaries only: almost always zero, and then not subtracted.
  const pnl = fundingUnits === 0n ? value - costBasisUnits : value - costBasisUnits - fundingUnits;
  if (pnl > 0n) sums.gainUnits += pnl;
  else sums.lossUnits -= pnl;
  sums.initialRequirement += positionRequirementUnits(perp.parameters.imf, notional, decimals);
  if (withMaintenance) sums.maintenanceRequirement += positionRequirementUnits(perp.parameters.mmf, notional, decimals);
}
