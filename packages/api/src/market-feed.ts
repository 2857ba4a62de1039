/**
 * Committed log entries → WebSocket stream messages.
 *
 * The node calls back once per entry, after it is durable and in sequence
 * order; nothing uncommitted is ever streamed. Each entry becomes:
 *   - at most one `depth.<market>` delta per market whose book it changed,
 *     carrying the final totals of the levels it touched (zero = gone), with
 *     the market's next depth update id as both U and u. The REST depth
 *     snapshot reports the current id as lastUpdateId, so ids line up with
 *     ccxt's U/u/lastUpdateId synchronisation;
 *   - one `trade.<market>` message per trade;
 *   - `account.orderUpdate` messages (orderAccepted, orderFill,
 *     orderCancelled, orderExpired) for the owners of the orders it touched;
 *   - `bookTicker.<market>`: the best bid and ask after the entry, for each
 *     market whose book it changed (from a mirror of
 *     the book kept from depth events, so it never shows an uncommitted
 *     book);
 *   - `kline.<interval>.<market>`: the current candle of each interval the
 *     entry's trades changed (and the previous one, closed, X: true, when a
 *     trade opened a new bucket);
 *   - `ticker.<market>`: 24-hour statistics, at most once a second per
 *     market, a second after the first trade since the last one was sent;
 *   - the perpetuals' streams (perp-feed.ts).
 * Stream messages nobody subscribed to are not built (isWatched).
 */
import {
  candleIntervals,
  depthOf,
  formatDecimal,
  formatPrice,
  formatQuantity,
  type CandleInterval,
  type EngineEvent,
  type ExchangeState,
  type Market,
  type OrderView,
} from '@vex/engine';
import type { FastifyBaseLogger } from 'fastify';
import { LiveCandles, wireCandleEvent } from './klines.js';
import { emitPerpStreams } from './perp-feed.js';
import type { CommittedEntry, ExchangeNodePort } from './node-port.js';
import { computeTicker } from './ticker.js';
import { marketOf } from './wire-format.js';

export interface StreamMessage {
  /** `depth.<market>`, `trade.<market>`, or `account.orderUpdate` for private messages. */
  readonly stream: string;
  readonly market: string;
  /** Set on private messages: the account that may see it. */
  readonly account?: string;
  readonly data: Record<string, unknown>;
}

type TradeEvent = Extract<EngineEvent, { type: 'trade' }>;

/** A market's public stream names. */
interface MarketStreams {
  readonly depth: string;
  readonly trade: string;
  readonly bookTicker: string;
  readonly ticker: string;
  readonly klines: ReadonlyMap<CandleInterval, string>;
}

/** One side of a market's book as the committed depth events left it: price ticks → quantity steps. */
type BookMirror = { readonly bids: Map<bigint, bigint>; readonly asks: Map<bigint, bigint> };

/** A ticker stream message per market at most this often. */
export const tickerStreamIntervalMs = 1000;

function bestOf(levels: ReadonlyMap<bigint, bigint>, highest: boolean): [bigint, bigint] | undefined {
  let best: [bigint, bigint] | undefined;
  for (const [priceTicks, quantitySteps] of levels) {
    if (best === undefined || (highest ? priceTicks > best[0] : priceTicks < best[0]))
      best = [priceTicks, quantitySteps];
  }
  return best;
}

export class MarketFeed {
  private readonly depthIds = new Map<string, number>();
  private readonly listeners = new Set<(message: StreamMessage) => void>();
  private unsubscribe: (() => void) | undefined;
  /**
   * Update ids start at the head sequence when the API starts, so they only
   * grow across restarts; within a run they are consecutive per market.
   */
  private readonly firstId: number;

  private readonly books = new Map<string, BookMirror>();
  private readonly candles = new LiveCandles();
  private readonly streamNames = new Map<string, MarketStreams>();
  private readonly tickerTimers = new Map<string, NodeJS.Timeout>();
  private readonly tickerSentAtMs = new Map<string, number>();
  private readonly listedAtMs = new Map<string, number>();
  private listingsLoaded: Promise<void> | undefined;
  /** Whether anyone subscribed to a stream; the WebSocket hub sets it. Streams nobody watches are not built. */
  isWatched: (stream: string) => boolean = () => true;
  /** Whether anyone subscribed to the account's private streams; the WebSocket hub sets it. */
  isAccountWatched: (account: string) => boolean = () => true;
  /** Whether anyone subscribed to any account's private streams; the WebSocket hub sets it. */
  isAnyAccountWatched: () => boolean = () => true;

  constructor(
    private readonly node: ExchangeNodePort,
    private readonly log: FastifyBaseLogger,
    private readonly clock: () => number = Date.now,
  ) {
    this.firstId = node.head().sequence;
  }

  /**
   * Starts streaming. The node must be idle (nothing submitted and not yet
   * committed), as it is when the server is built: the book mirrors start
   * from its state, and every later change reaches them as committed events.
   */
  start(): void {
    if (this.unsubscribe !== undefined) return;
    for (const market of this.node.state.markets) this.books.set(market.symbol, this.mirrorOf(market));
    this.unsubscribe = this.node.subscribe((entry) => {
      try {
        this.onEntry(entry);
      } catch (error) {
        this.log.error({ err: error, sequence: entry.sequence }, 'could not stream a committed entry');
      }
    });
    this.candles.seed(this.node.history, this.node.state.markets, this.clock()).catch((error: unknown) => {
      this.log.error({ err: error }, 'could not read the current candles; kline streams start with the next trades');
    });
    this.listingsLoaded = this.node.history.marketListings().then(
      (listings) => {
        for (const [market, timeMs] of listings) if (!this.listedAtMs.has(market)) this.listedAtMs.set(market, timeMs);
      },
      (error: unknown) => this.log.error({ err: error }, 'could not read the market listing times'),
    );
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.listeners.clear();
    for (const timer of this.tickerTimers.values()) clearTimeout(timer);
    this.tickerTimers.clear();
  }

  /** The log time of the market's listing entry (Backpack's createdAt); undefined for ledgers older than that record. */
  async marketListedAtMs(market: string): Promise<number | undefined> {
    await this.listingsLoaded;
    return this.listedAtMs.get(market);
  }

  private mirrorOf(market: Market): BookMirror {
    const { bids, asks } = depthOf(market, Number.MAX_SAFE_INTEGER);
    return {
      bids: new Map(bids.map((level) => [level.priceTicks, level.quantitySteps])),
      asks: new Map(asks.map((level) => [level.priceTicks, level.quantitySteps])),
    };
  }

  /** The id of the last depth delta of the market: REST depth's lastUpdateId. */
  depthUpdateId(market: string): number {
    return this.depthIds.get(market) ?? this.firstId;
  }

  onMessage(listener: (message: StreamMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(message: StreamMessage): void {
    for (const listener of this.listeners) listener(message);
  }

  private onEntry(entry: CommittedEntry): void {
    const state = this.node.state;
    const events = entry.outcome.events;
    const micros = entry.logTimeMs * 1000;
    // Depth deltas are formatted only for markets whose depth stream someone watches (the ids advance regardless).
    const depth = new Map<string, { a: Array<[string, string]>; b: Array<[string, string]>; watched: boolean }>();
    for (const event of events) {
      if (event.type === 'marketListed') {
        this.listedAtMs.set(event.market, entry.logTimeMs);
        this.books.set(event.market, { bids: new Map(), asks: new Map() });
      }
      if (event.type !== 'depth') continue;
      const book = this.books.get(event.market);
      if (book !== undefined) {
        const levels = event.side === 'Bid' ? book.bids : book.asks;
        if (event.quantitySteps === 0n) levels.delete(event.priceTicks);
        else levels.set(event.priceTicks, event.quantitySteps);
      }
      let delta = depth.get(event.market);
      if (delta === undefined) {
        delta = { a: [], b: [], watched: this.isWatched(this.streamsOf(event.market).depth) };
        depth.set(event.market, delta);
      }
      if (!delta.watched) continue;
      const market = marketOf(state, event.market);
      (event.side === 'Ask' ? delta.a : delta.b).push([
        formatPrice(market, event.priceTicks),
        formatQuantity(market, event.quantitySteps),
      ]);
    }
    // Depth first: a client that sees a trade can already see the book it left.
    for (const [symbol, delta] of depth) {
      const id = this.depthUpdateId(symbol) + 1;
      this.depthIds.set(symbol, id);
      if (delta.watched)
        this.emit({
          stream: this.streamsOf(symbol).depth,
          market: symbol,
          data: { e: 'depth', E: micros, s: symbol, a: delta.a, b: delta.b, U: id, u: id, T: micros },
        });
      this.emitBookTicker(symbol, id, micros);
    }
    for (const event of events) {
      if (event.type !== 'trade' || !this.isWatched(this.streamsOf(event.market).trade)) continue;
      const market = marketOf(state, event.market);
      const takerBuys = event.takerSide === 'Bid';
      this.emit({
        stream: this.streamsOf(event.market).trade,
        market: event.market,
        data: {
          e: 'trade',
          E: micros,
          s: event.market,
          p: formatPrice(market, event.priceTicks),
          q: formatQuantity(market, event.quantitySteps),
          b: String(takerBuys ? event.takerOrderId : event.makerOrderId),
          a: String(takerBuys ? event.makerOrderId : event.takerOrderId),
          t: event.tradeId,
          T: micros,
          m: !takerBuys,
        },
      });
    }
    this.emitOrderUpdates(state, events, micros);
    this.emitCandlesAndTickers(state, events, micros);
    emitPerpStreams(this.perpSink, state, events, micros);
  }

  private readonly perpSink = {
    emit: (message: StreamMessage) => this.emit(message),
    isWatched: (stream: string) => this.isWatched(stream),
  };

  /** Backpack's bookTicker: best ask (a, A) and bid (b, B), with the depth update id (u) of the same entry. */
  private emitBookTicker(symbol: string, updateId: number, micros: number): void {
    const stream = this.streamsOf(symbol).bookTicker;
    const book = this.books.get(symbol);
    if (book === undefined || !this.isWatched(stream)) return;
    const market = marketOf(this.node.state, symbol);
    const ask = bestOf(book.asks, false);
    const bid = bestOf(book.bids, true);
    this.emit({
      stream,
      market: symbol,
      data: {
        e: 'bookTicker',
        E: micros,
        s: symbol,
        ...(ask !== undefined ? { a: formatPrice(market, ask[0]), A: formatQuantity(market, ask[1]) } : {}),
        ...(bid !== undefined ? { b: formatPrice(market, bid[0]), B: formatQuantity(market, bid[1]) } : {}),
        u: updateId,
        T: micros,
      },
    });
  }

  private emitCandlesAndTickers(state: ExchangeState, events: readonly EngineEvent[], micros: number): void {
    // The entry's trades by market, in event order (insertion order: the markets' first trades).
    let tradesByMarket: Map<string, TradeEvent[]> | undefined;
    for (const event of events) {
      if (event.type !== 'trade') continue;
      tradesByMarket ??= new Map();
      const trades = tradesByMarket.get(event.market);
      if (trades === undefined) tradesByMarket.set(event.market, [event]);
      else trades.push(event);
    }
    if (tradesByMarket === undefined) return;
    let klinesWatched = false;
    for (const symbol of tradesByMarket.keys()) if (this.isAnyKlineWatched(symbol)) klinesWatched = true;
    if (!klinesWatched) {
      // Nothing to stream: each market's candles take the entry's trades at once (LiveCandles.addEntry).
      for (const [symbol, trades] of tradesByMarket) this.candles.addEntry(symbol, trades);
    } else {
      for (const event of events) {
        if (event.type !== 'trade') continue;
        const changes = this.candles.add(event.market, event);
        if (changes.length === 0) continue;
        const market = marketOf(state, event.market);
        const streams = this.streamsOf(event.market).klines;
        for (const { interval, closed, current } of changes) {
          const stream = streams.get(interval)!;
          if (!this.isWatched(stream)) continue;
          if (closed !== undefined)
            this.emit({ stream, market: event.market, data: wireCandleEvent(market, closed, true, micros) });
          this.emit({ stream, market: event.market, data: wireCandleEvent(market, current, false, micros) });
        }
      }
    }
    for (const symbol of tradesByMarket.keys()) this.scheduleTicker(symbol);
  }

  /** The market's stream names, built once per market instead of once per event (and per interval for klines). */
  private streamsOf(symbol: string): MarketStreams {
    let streams = this.streamNames.get(symbol);
    if (streams === undefined) {
      streams = {
        depth: `depth.${symbol}`,
        trade: `trade.${symbol}`,
        bookTicker: `bookTicker.${symbol}`,
        ticker: `ticker.${symbol}`,
        klines: new Map(candleIntervals.map((interval) => [interval, `kline.${interval}.${symbol}`])),
      };
      this.streamNames.set(symbol, streams);
    }
    return streams;
  }

  private isAnyKlineWatched(symbol: string): boolean {
    for (const stream of this.streamsOf(symbol).klines.values()) if (this.isWatched(stream)) return true;
    return false;
  }

  /** A ticker message a second after the first trade since the last one, computed then from the stored trades. */
  private scheduleTicker(symbol: string): void {
    if (this.tickerTimers.has(symbol) || !this.isWatched(this.streamsOf(symbol).ticker)) return;
    const now = this.clock();
    const delayMs = Math.max(0, (this.tickerSentAtMs.get(symbol) ?? -Infinity) + tickerStreamIntervalMs - now);
    const timer = setTimeout(() => {
      this.tickerSentAtMs.set(symbol, this.clock());
      const market = marketOf(this.node.state, symbol);
      computeTicker(this.node.history, market, this.clock()).then(
        (ticker) => {
          this.tickerTimers.delete(symbol);
          if (this.unsubscribe === undefined) return;
          this.emit({
            stream: `ticker.${symbol}`,
            market: symbol,
            data: {
              e: 'ticker',
              E: this.clock() * 1000,
              s: symbol,
              o: ticker.firstPrice,
              c: ticker.lastPrice,
              h: ticker.high,
              l: ticker.low,
              v: ticker.volume,
              V: ticker.quoteVolume,
              n: Number(ticker.trades),
            },
          });
        },
        (error: unknown) => {
          this.tickerTimers.delete(symbol);
          this.log.error({ err: error, market: symbol }, 'could not compute a ticker');
        },
      );
    }, delayMs);
    timer.unref();
    this.tickerTimers.set(symbol, timer);
  }

  /**
   * Order updates in Backpack's shape (ccxt pro's handleOrder reads i, c, E,
   * X, s, o, f, S, p, q, Z, l, N). Fills carry the cumulative executed
   * quantity (z, Z) after that fill; the engine reports each order's state
   * after the entry, so the running totals are rebuilt backwards from it.
   */
  private emitOrderUpdates(state: ExchangeState, events: readonly EngineEvent[], micros: number): void {
    // Nothing below outlives the entry, and every message it builds is for a watched account: with none watched
    // there is nothing to do (four maps and a pass over the events per entry, on the sequencing thread).
    if (!this.isAnyAccountWatched()) return;
    const finalView = new Map<number, OrderView>();
    const fillsLeft = new Map<number, number>();
    const filledInEntry = new Map<number, { steps: bigint; quote: bigint }>();
    for (const event of events) {
      if (event.type === 'orderAccepted' || event.type === 'orderUpdated')
        finalView.set(event.order.orderId, event.order);
      else if (event.type === 'trade') {
        for (const orderId of [event.makerOrderId, event.takerOrderId]) {
          fillsLeft.set(orderId, (fillsLeft.get(orderId) ?? 0) + 1);
          const total = filledInEntry.get(orderId) ?? { steps: 0n, quote: 0n };
          filledInEntry.set(orderId, {
            steps: total.steps + event.quantitySteps,
            quote: total.quote + event.quoteUnits,
          });
        }
      }
    }
    const running = new Map<number, { steps: bigint; quote: bigint }>();
    for (const [orderId, view] of finalView) {
      const filled = filledInEntry.get(orderId) ?? { steps: 0n, quote: 0n };
      running.set(orderId, { steps: view.executedSteps - filled.steps, quote: view.executedQuoteUnits - filled.quote });
    }

    const send = (
      view: OrderView,
      type: string,
      status: string,
      executed: { steps: bigint; quote: bigint },
      fill?: Record<string, unknown>,
    ): void => {
      if (!this.isAccountWatched(view.account)) return;
      const data = orderUpdateData(marketOf(state, view.market), view, type, status, executed, micros, fill);
      this.emit({ stream: 'account.orderUpdate', market: view.market, account: view.account, data });
    };

    for (const event of events) {
      if (event.type === 'orderAccepted') {
        // Trigger orders are placed pending (Backpack's triggerPlaced); see docs/matching.md, section 8.
        if (event.order.status === 'TriggerPending')
          send(event.order, 'triggerPlaced', 'TriggerPending', { steps: 0n, quote: 0n });
        else send(event.order, 'orderAccepted', 'New', { steps: 0n, quote: 0n });
      } else if (event.type === 'orderUpdated') {
        if (event.order.status === 'Cancelled')
          send(event.order, 'orderCancelled', 'Cancelled', running.get(event.order.orderId)!);
        else if (event.order.status === 'Expired')
          send(event.order, 'orderExpired', 'Expired', running.get(event.order.orderId)!);
        else if (event.order.status === 'TriggerFailed')
          send(event.order, 'triggerFailed', 'TriggerFailed', { steps: 0n, quote: 0n });
      } else if (event.type === 'trade') {
        this.sendFill(state, event, true, finalView, fillsLeft, running, send);
        this.sendFill(state, event, false, finalView, fillsLeft, running, send);
      }
    }
  }

  private sendFill(
    state: ExchangeState,
    trade: TradeEvent,
    maker: boolean,
    finalView: ReadonlyMap<number, OrderView>,
    fillsLeft: Map<number, number>,
    running: Map<number, { steps: bigint; quote: bigint }>,
    send: (
      view: OrderView,
      type: string,
      status: string,
      executed: { steps: bigint; quote: bigint },
      fill?: Record<string, unknown>,
    ) => void,
  ): void {
    const orderId = maker ? trade.makerOrderId : trade.takerOrderId;
    const view = finalView.get(orderId);
    if (view === undefined) return;
    const market = marketOf(state, trade.market);
    const before = running.get(orderId)!;
    const executed = { steps: before.steps + trade.quantitySteps, quote: before.quote + trade.quoteUnits };
    running.set(orderId, executed);
    const left = fillsLeft.get(orderId)! - 1;
    fillsLeft.set(orderId, left);
    if (!this.isAccountWatched(view.account)) return;
    let status: string;
    if (left === 0 && (view.status === 'Filled' || view.status === 'PartiallyFilled')) status = view.status;
    else
      status =
        view.quoteQuantityUnits === undefined && executed.steps === view.quantitySteps ? 'Filled' : 'PartiallyFilled';
    // Fees are charged in what each side receives: base for the buyer, quote for the seller.
    const buyer = (trade.takerSide === 'Bid') !== maker;
    const feeAsset = buyer ? market.base : market.quote;
    const feeUnits = maker ? trade.makerFeeUnits : trade.takerFeeUnits;
    send(view, 'orderFill', status, executed, {
      t: trade.tradeId,
      l: formatQuantity(market, trade.quantitySteps),
      L: formatPrice(market, trade.priceTicks),
      m: maker,
      n: formatDecimal(feeUnits, feeAsset.decimals),
      N: feeAsset.symbol,
    });
  }
}

/** One account.orderUpdate message's data, in Backpack's shape (see MarketFeed.emitOrderUpdates). */
function orderUpdateData(
  market: ReturnType<typeof marketOf>,
  view: OrderView,
  type: string,
  status: string,
  executed: { steps: bigint; quote: bigint },
  micros: number,
  fill: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return {
    e: type,
    E: micros,
    s: view.market,
    ...(view.clientId !== undefined ? { c: view.clientId } : {}),
    S: view.side,
    o: view.orderType,
    f: view.timeInForce,
    ...(view.orderType === 'Limit' || view.quoteQuantityUnits === undefined
      ? { q: formatQuantity(market, view.quantitySteps) }
      : {}),
    ...(view.quoteQuantityUnits !== undefined
      ? { Q: formatDecimal(view.quoteQuantityUnits, market.quote.decimals) }
      : {}),
    ...(view.orderType === 'Limit' ? { p: formatPrice(market, view.priceTicks) } : {}),
    X: status,
    i: String(view.orderId),
    z: formatQuantity(market, executed.steps),
    Z: formatDecimal(executed.quote, market.quote.decimals),
    V: view.selfTradePrevention,
    T: micros,
    O: 'USER',
    ...fill,
  };
}
