/**
 * Committed entries → the perpetuals' WebSocket streams (docs/api.md,
 * "WebSocket"), in Backpack's shapes; called by MarketFeed once per entry,
 * after its other streams, with the state after the entry:
 *   - `markPrice.<market>`: one message per `perpMarkPrice` event;
 *   - `openInterest.<market>`: after an entry whose trades changed the
 *     market's open interest;
 *   - `account.positionUpdate` (private): for each account whose position
 *     on a perpetual the entry's trades moved, its position after the entry
 *     (`positionOpened`, `positionAdjusted` or `positionClosed`);
 *   - `liquidation` (public): each trade of an entry that liquidated one of
 *     its sides, with that side's quantity, price and side, and each position
 *     such an entry closed off the book (`perpLiquidationTrade`: backstop or
 *     ADL, at the bankruptcy price).
 * Messages nobody watches are not built (the private one is built only for
 * accounts with a subscriber, which the hub checks when it dispatches).
 */
import {
  estimatedFundingRate,
  formatDecimal,
  formatPrice,
  type EngineEvent,
  type ExchangeState,
  type Market,
} from '@vex/engine';
import type { StreamMessage } from './market-feed.js';
import { positionFigures, wirePositionUpdate } from './perp-wire.js';
import { marketOf } from './wire-format.js';

type TradeEvent = Extract<EngineEvent, { type: 'trade' }>;

export interface PerpStreamSink {
  readonly emit: (message: StreamMessage) => void;
  readonly isWatched: (stream: string) => boolean;
}

const fraction = (value: bigint): string => formatDecimal(value, 18);

/** Emits the perpetual stream messages of one committed entry. */
export function emitPerpStreams(
  sink: PerpStreamSink,
  state: ExchangeState,
  events: readonly EngineEvent[],
  micros: number,
): void {
  const trades: TradeEvent[] = [];
  for (const event of events) {
    if (event.type === 'perpMarkPrice') emitMarkPrice(sink, state, event.marketSymbol, micros);
    else if (event.type === 'trade' && marketOf(state, event.market).perp !== undefined) trades.push(event);
    else if (event.type === 'perpLiquidationTrade') trades.push(asTrade(event));
  }
  if (trades.length === 0) return;
  emitOpenInterest(sink, state, trades, micros);
  emitPositionUpdates(sink, state, trades, micros);
  emitLiquidations(sink, state, events, trades, micros);
}

/**
 * A position closed off the book by a liquidation (backstop or ADL) moves positions and open interest as a
 * trade does: the liquidated account as the taker, its counterparty as the maker, no orders, no fees.
 */
function asTrade(event: Extract<EngineEvent, { type: 'perpLiquidationTrade' }>): TradeEvent {
  return {
    type: 'trade',
    tradeId: event.tradeId,
    market: event.market,
    priceTicks: event.priceTicks,
    quantitySteps: event.quantitySteps,
    quoteUnits: event.quoteUnits,
    takerSide: event.side,
    makerOrderId: 0,
    takerOrderId: 0,
    makerAccount: event.counterparty,
    takerAccount: event.account,
    makerFeeUnits: 0n,
    takerFeeUnits: 0n,
    timeMs: event.timeMs,
  };
}

function emitMarkPrice(sink: PerpStreamSink, state: ExchangeState, symbol: string, micros: number): void {
  const stream = `markPrice.${symbol}`;
  if (!sink.isWatched(stream)) return;
  const perp = marketOf(state, symbol).perp!;
  sink.emit({
    stream,
    market: symbol,
    data: {
      e: 'markPrice',
      E: micros,
      s: symbol,
      p: fraction(perp.funding.markPrice),
      f: fraction(estimatedFundingRate(perp.funding, perp.fundingParameters)),
      i: fraction(perp.funding.markIndexPrice),
      n: perp.funding.nextFundingAtMs,
      T: micros,
    },
  });
}

function emitOpenInterest(
  sink: PerpStreamSink,
  state: ExchangeState,
  trades: readonly TradeEvent[],
  micros: number,
): void {
  for (const symbol of new Set(trades.map((trade) => trade.market))) {
    const stream = `openInterest.${symbol}`;
    if (!sink.isWatched(stream)) continue;
    const market = marketOf(state, symbol);
    const open = formatDecimal(market.perp!.openInterestUnits, market.base.decimals);
    sink.emit({ stream, market: symbol, data: { e: 'openInterest', E: micros, s: symbol, o: open } });
  }
}

/** The signed base units each side's position moved by in `trade`: the taker's, then the maker's. */
function positionMoves(market: Market, trade: TradeEvent): Array<[string, bigint]> {
  const units = trade.quantitySteps * market.stepUnits;
  const takerUnits = trade.takerSide === 'Bid' ? units : -units;
  return [
    [trade.takerAccount, takerUnits],
    [trade.makerAccount, -takerUnits],
  ];
}

function emitPositionUpdates(
  sink: PerpStreamSink,
  state: ExchangeState,
  trades: readonly TradeEvent[],
  micros: number,
): void {
  // Per account and market: how far the entry moved the position.
  const moves = new Map<string, Map<string, bigint>>();
  for (const trade of trades) {
    const market = marketOf(state, trade.market);
    for (const [account, units] of positionMoves(market, trade)) {
      let perMarket = moves.get(account);
      if (perMarket === undefined) moves.set(account, (perMarket = new Map()));
      perMarket.set(trade.market, (perMarket.get(trade.market) ?? 0n) + units);
    }
  }
  for (const [accountId, perMarket] of moves) {
    const account = state.accounts.get(accountId);
    const figures = positionFigures(state, account);
    for (const [symbol, movedUnits] of perMarket) {
      const market = marketOf(state, symbol);
      const position = figures.find((each) => each.market === market);
      const after = position?.position.quantityUnits ?? 0n;
      const event = after === 0n ? 'positionClosed' : after === movedUnits ? 'positionOpened' : 'positionAdjusted';
      const data =
        position === undefined
          ? { s: symbol, q: '0', Q: '0', i: symbol, M: fraction(market.perp!.funding.markPrice) }
          : wirePositionUpdate(position);
      sink.emit({
        stream: 'account.positionUpdate',
        market: symbol,
        account: accountId,
        data: { e: event, E: micros, ...data, T: micros },
      });
    }
  }
}

function emitLiquidations(
  sink: PerpStreamSink,
  state: ExchangeState,
  events: readonly EngineEvent[],
  trades: readonly TradeEvent[],
  micros: number,
): void {
  if (!sink.isWatched('liquidation')) return;
  const liquidated = new Set<string>();
  for (const event of events) if (event.type === 'liquidation') liquidated.add(event.liquidation.account);
  if (liquidated.size === 0) return;
  for (const trade of trades) {
    const market = marketOf(state, trade.market);
    for (const [account, units] of positionMoves(market, trade)) {
      if (!liquidated.has(account)) continue;
      sink.emit({
        stream: 'liquidation',
        market: trade.market,
        data: {
          e: 'liquidation',
          E: micros,
          q: formatDecimal(units < 0n ? -units : units, market.base.decimals),
          p: formatPrice(market, trade.priceTicks),
          S: units > 0n ? 'Bid' : 'Ask',
          s: trade.market,
          T: micros,
        },
      });
    }
  }
}
