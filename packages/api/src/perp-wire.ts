/**
 * Perpetual positions in Backpack's shapes (docs/api.md, "Perpetuals"): the
 * figures of GET /api/v1/position and the account.positionUpdate stream, all
 * computed from the state at the node's log time with the engine's own
 * rounding (packages/engine/src/perps/position.ts).
 */
import {
  accountHealth,
  formatDecimal,
  marginFractionOf,
  notionalUnitsUp,
  settlementUnitsTowardPositive,
  unrealisedPnlUnits,
  wad,
  type Account,
  type ExchangeState,
  type Market,
  type Position,
} from '@vex/engine';
import { sqrtFunction } from './margin-wire.js';

const fraction = (value: bigint): string => formatDecimal(value, 18);

/** The figures of one position, as bigints (USDC units, or wad prices per whole base unit). */
export interface PositionFigures {
  readonly market: Market;
  readonly position: Position;
  /** Funding owed (positive) or due (negative) since the position last settled, not yet in cumulativeFundingUnits. */
  readonly pendingFundingUnits: bigint;
  readonly notionalUnits: bigint;
  readonly unrealisedPnlUnits: bigint;
  readonly entryPrice: bigint;
  readonly breakEvenPrice: bigint;
  readonly imf: bigint;
  readonly mmf: bigint;
  readonly estimatedLiquidationPrice: bigint;
}

/** A signed USDC amount per |quantity| base units as a wad price per whole base unit, truncated toward zero. */
function pricePerUnit(market: Market, settlementUnits: bigint, quantityUnits: bigint): bigint {
  if (quantityUnits === 0n) return 0n;
  return (
    (settlementUnits * 10n ** BigInt(market.base.decimals) * wad) /
    (10n ** BigInt(market.quote.decimals) * quantityUnits)
  );
}

/**
 * The mark at which the account's maintenance requirement would meet its net
 * equity if only this market's mark moved and the position's maintenance
 * fraction stayed as it is now: long mark − buffer ÷ (q × (1 − mmf)), short
 * mark + buffer ÷ (|q| × (1 + mmf)), with buffer = net equity − maintenance
 * requirement. Truncated toward the mark (the estimate errs early); zero when
 * it is not positive or the market has no mark (Backpack's "0").
 */
function estimatedLiquidationPrice(
  market: Market,
  quantityUnits: bigint,
  mark: bigint,
  mmf: bigint,
  bufferUnits: bigint,
): bigint {
  if (mark === 0n) return 0n;
  const long = quantityUnits > 0n;
  const size = long ? quantityUnits : -quantityUnits;
  const divisor = long ? wad - mmf : wad + mmf;
  if (divisor <= 0n) return 0n;
  const move = (pricePerUnit(market, bufferUnits, size) * wad) / divisor;
  const price = long ? mark - move : mark + move;
  return price > 0n ? price : 0n;
}

/** Every open position of the account, in market order, with its figures at the node's log time. */
export function positionFigures(state: ExchangeState, account: Account | undefined): PositionFigures[] {
  if (account === undefined || account.positions.size === 0) return [];
  const health = accountHealth(state, account, state.logTimeMs);
  const bufferUnits = health.netEquity - health.maintenanceRequirement;
  const figures: PositionFigures[] = [];
  for (const marketIndex of [...account.positions.keys()].sort((a, b) => a - b)) {
    const position = account.positions.get(marketIndex)!;
    const market = state.markets[marketIndex]!;
    const perp = market.perp!;
    const { base, quote } = market;
    const mark = perp.funding.markPrice;
    const pendingFundingUnits = settlementUnitsTowardPositive(
      position.quantityUnits,
      perp.funding.cumulativeFundingIndex - position.fundingIndexAtSettlement,
      base.decimals,
      quote.decimals,
    );
    const notionalUnits =
      mark === 0n ? 0n : notionalUnitsUp(position.quantityUnits, mark, base.decimals, quote.decimals);
    const mmf = marginFractionOf(perp.parameters.mmf, notionalUnits, quote.decimals);
    const funding = position.cumulativeFundingUnits + pendingFundingUnits;
    figures.push({
      market,
      position,
      pendingFundingUnits,
      notionalUnits,
      unrealisedPnlUnits: mark === 0n ? 0n : unrealisedPnlUnits(position, mark, base.decimals, quote.decimals),
      entryPrice: pricePerUnit(market, position.costBasisUnits, position.quantityUnits),
      breakEvenPrice: pricePerUnit(market, position.costBasisUnits + funding, position.quantityUnits),
      imf: marginFractionOf(perp.parameters.imf, notionalUnits, quote.decimals),
      mmf,
      estimatedLiquidationPrice: estimatedLiquidationPrice(market, position.quantityUnits, mark, mmf, bufferUnits),
    });
  }
  return figures;
}

/** A position in Backpack's FuturePositionWithMargin shape (GET /api/v1/position). */
export function wirePosition(figures: PositionFigures): Record<string, unknown> {
  const { market, position } = figures;
  const { base, quote } = market;
  const perp = market.perp!;
  const usdc = (units: bigint): string => formatDecimal(units, quote.decimals);
  const size = position.quantityUnits < 0n ? -position.quantityUnits : position.quantityUnits;
  return {
    breakEvenPrice: fraction(figures.breakEvenPrice),
    // Paid funding is negative, as Backpack reports it.
    cumulativeFundingPayment: usdc(-(position.cumulativeFundingUnits + figures.pendingFundingUnits)),
    entryPrice: fraction(figures.entryPrice),
    estLiquidationPrice: fraction(figures.estimatedLiquidationPrice),
    imf: fraction(figures.imf),
    imfFunction: sqrtFunction(perp.parameters.imf.base, perp.parameters.imf.factor),
    markPrice: fraction(perp.funding.markPrice),
    mmf: fraction(figures.mmf),
    mmfFunction: sqrtFunction(perp.parameters.mmf.base, perp.parameters.mmf.factor),
    netCost: usdc(position.costBasisUnits),
    netExposureNotional: usdc(figures.notionalUnits),
    netExposureQuantity: formatDecimal(size, base.decimals),
    netQuantity: formatDecimal(position.quantityUnits, base.decimals),
    pnlRealized: usdc(position.realisedPnlUnits),
    pnlUnrealized: usdc(figures.unrealisedPnlUnits),
    positionId: market.symbol,
    subaccountId: null,
    symbol: market.symbol,
  };
}

/** `to` named from `from`'s fields: { newName: 'fieldOfFrom', … }. */
export function renamedFields(
  from: Record<string, unknown>,
  names: Readonly<Record<string, string>>,
): Record<string, unknown> {
  return Object.fromEntries(Object.entries(names).map(([name, field]) => [name, from[field]]));
}

/** The account.positionUpdate stream's letters for wirePosition's fields. */
const positionUpdateFields = {
  s: 'symbol',
  b: 'breakEvenPrice',
  B: 'entryPrice',
  f: 'imf',
  M: 'markPrice',
  m: 'mmf',
  q: 'netQuantity',
  Q: 'netExposureQuantity',
  n: 'netExposureNotional',
  i: 'positionId',
  p: 'pnlRealized',
  P: 'pnlUnrealized',
  l: 'estLiquidationPrice',
} as const;

/** The account.positionUpdate stream's data (without `e`, `E`, `T`, which the stream adds). */
export function wirePositionUpdate(figures: PositionFigures): Record<string, unknown> {
  return renamedFields(wirePosition(figures), positionUpdateFields);
}
