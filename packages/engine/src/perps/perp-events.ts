/**
 * The per-account events of perpetual positions (docs/perps.md, section 7):
 * each settlement of funding into a position (`perpFundingPayment`), each
 * USDC movement of the perpetual settlement by its Backpack source
 * (`perpSettlement`), and each change of a position by a fill
 * (`perpPositionChanged`). They are data for the history only: nothing in
 * the state records them, so they change neither the state nor its encoding.
 */
import type { EntryRecorder } from '../entry-recorder.js';
import type { Account, Market } from '../state.js';
import type { PerpMarketState } from './perp-market.js';
import { type Position, settleFunding } from './position.js';

/** Backpack's settlement sources the engine produces. */
export type PerpSettlementSource = 'RealizePnl' | 'FundingPayment' | 'TradingFees';

export type PerpAccountEvent =
  | {
      readonly type: 'perpFundingPayment';
      readonly account: string;
      readonly market: string;
      /** The position's net quantity over the settled span, base units, signed. */
      readonly quantityUnits: bigint;
      /** USDC units, signed: positive when the account pays. */
      readonly paymentUnits: bigint;
      /** The market's cumulative funding index at the position's previous settlement and now. */
      readonly fromIndex: bigint;
      readonly toIndex: bigint;
      readonly timeMs: number;
    }
  | {
      readonly type: 'perpSettlement';
      readonly account: string;
      readonly market: string;
      readonly source: PerpSettlementSource;
      /** USDC units, signed: positive when the account gains. */
      readonly quantityUnits: bigint;
      readonly timeMs: number;
    }
  | {
      readonly type: 'perpPositionChanged';
      readonly account: string;
      readonly market: string;
      /** The position after the change (zero: closed), with its cost basis, realised PnL and funding. */
      readonly quantityUnits: bigint;
      readonly costBasisUnits: bigint;
      readonly realisedPnlUnits: bigint;
      readonly cumulativeFundingUnits: bigint;
      /** The fee of this change, USDC units. */
      readonly feeUnits: bigint;
      readonly timeMs: number;
    }
  | PerpLiquidationTradeEvent;

/**
 * A position closed off the book by a liquidation (perp-liquidation.ts): taken over by the coverage pool's
 * account at the bankruptcy price (`LiquidatePositionOnBackstop`) or closed against an opposite position of
 * another account (`LiquidatePositionOnAdl`). It has a trade id from the trades' sequence but is no public
 * trade: it moves neither the last price, the candles nor the trade stream; the history lists it as a fill
 * of both accounts.
 */
export interface PerpLiquidationTradeEvent {
  readonly type: 'perpLiquidationTrade';
  readonly tradeId: number;
  readonly market: string;
  readonly systemOrderType: 'LiquidatePositionOnBackstop' | 'LiquidatePositionOnAdl';
  /** The bankruptcy price, on the tick grid. */
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteUnits: bigint;
  /** The liquidated account and its side (Ask: its long was closed). */
  readonly account: string;
  readonly side: 'Bid' | 'Ask';
  /** The coverage pool's account (backstop) or the deleveraged account (ADL). */
  readonly counterparty: string;
  readonly timeMs: number;
}

/**
 * Settles the position's funding up to the market's cumulative index into
 * the market's funding balance (position.ts, settleFunding) and reports it
 * to `recorder` (none: unreported) as a `perpFundingPayment` when the index moved over a non-flat position.
 * Returns the payment (positive: the account pays). `pendingUnits`: the payment, if the caller computed it.
 */
export function settleFundingReported(
  account: Account,
  market: Market,
  position: Position,
  recorder: EntryRecorder | undefined,
  pendingUnits?: bigint,
): bigint {
  const perp = market.perp as PerpMarketState;
  const fromIndex = position.fundingIndexAtSettlement;
  const toIndex = perp.funding.cumulativeFundingIndex;
  // Settled at this index already (almost every call: it moves at funding boundaries only): nothing to pay or report.
  if (fromIndex === toIndex) return 0n;
  const paymentUnits = settleFunding(position, toIndex, market.base.decimals, market.quote.decimals, pendingUnits);
  if (paymentUnits !== 0n) perp.fundingBalanceUnits += paymentUnits;
  if (recorder !== undefined && position.quantityUnits !== 0n) {
    recorder.events.push({
      type: 'perpFundingPayment',
      account: account.id,
      market: market.symbol,
      quantityUnits: position.quantityUnits,
      paymentUnits,
      fromIndex,
      toIndex,
      timeMs: recorder.timeMs,
    });
  }
  return paymentUnits;
}

/**
 * Reports each non-zero USDC part of one settlement: realised PnL, funding (paid: negative) and fee (negative).
 * `feeChangeUnits` is the fee's USDC change, already negated (zero or negative): the fill side negates its fee
 * once for its USDC change and this report.
 */
export function reportSettlements(
  recorder: EntryRecorder,
  account: Account,
  market: Market,
  realisedUnits: bigint,
  fundingUnits: bigint,
  feeChangeUnits: bigint,
): void {
  // No closure and no object per call: this runs for each side of every fill and each realisation.
  if (fundingUnits !== 0n) reportSettlement(recorder, account, market, 'FundingPayment', -fundingUnits);
  if (realisedUnits !== 0n) reportSettlement(recorder, account, market, 'RealizePnl', realisedUnits);
  if (feeChangeUnits !== 0n) reportSettlement(recorder, account, market, 'TradingFees', feeChangeUnits);
}

function reportSettlement(
  recorder: EntryRecorder,
  account: Account,
  market: Market,
  source: PerpSettlementSource,
  quantityUnits: bigint,
): void {
  recorder.events.push({
    type: 'perpSettlement',
    account: account.id,
    market: market.symbol,
    source,
    quantityUnits,
    timeMs: recorder.timeMs,
  });
}

/** Reports the position after a fill moved it (quantity zero: the position closed). */
export function reportPositionChanged(
  recorder: EntryRecorder,
  account: Account,
  market: Market,
  position: Position,
  feeUnits: bigint,
): void {
  recorder.events.push({
    type: 'perpPositionChanged',
    account: account.id,
    market: market.symbol,
    quantityUnits: position.quantityUnits,
    costBasisUnits: position.costBasisUnits,
    realisedPnlUnits: position.realisedPnlUnits,
    cumulativeFundingUnits: position.cumulativeFundingUnits,
    feeUnits,
    timeMs: recorder.timeMs,
  });
}
