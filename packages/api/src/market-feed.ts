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
 *     orderCancelled, orderExpired) for the owners of the orders it touched.
 */
import { formatDecimal, formatPrice, formatQuantity, type EngineEvent, type ExchangeState, type OrderView } from '@vex/engine';
import type { FastifyBaseLogger } from 'fastify';
import type { CommittedEntry, ExchangeNodePort } from './node-port.js';
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

export class MarketFeed {
  private readonly depthIds = new Map<string, number>();
  private readonly listeners = new Set<(message: StreamMessage) => void>();
  private unsubscribe: (() => void) | undefined;
  /**
   * Update ids start at the head sequence when the API starts, so they only
   * grow across restarts; within a run they are consecutive per market.
   */
  private readonly firstId: number;

  constructor(
    private readonly node: ExchangeNodePort,
    private readonly log: FastifyBaseLogger,
  ) {
    this.firstId = node.head().sequence;
  }

  start(): void {
    if (this.unsubscribe !== undefined) return;
    this.unsubscribe = this.node.subscribe((entry) => {
      try {
        this.onEntry(entry);
      } catch (error) {
        this.log.error({ err: error, sequence: entry.sequence }, 'could not stream a committed entry');
      }
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.listeners.clear();
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
    const depth = new Map<string, { a: Array<[string, string]>; b: Array<[string, string]> }>();
    for (const event of events) {
      if (event.type !== 'depth') continue;
      let delta = depth.get(event.market);
      if (delta === undefined) {
        delta = { a: [], b: [] };
        depth.set(event.market, delta);
      }
      const market = marketOf(state, event.market);
      (event.side === 'Ask' ? delta.a : delta.b).push([formatPrice(market, event.priceTicks), formatQuantity(market, event.quantitySteps)]);
    }
    // Depth first: a client that sees a trade can already see the book it left.
    for (const [symbol, delta] of depth) {
      const id = this.depthUpdateId(symbol) + 1;
      this.depthIds.set(symbol, id);
      this.emit({
        stream: `depth.${symbol}`,
        market: symbol,
        data: { e: 'depth', E: micros, s: symbol, a: delta.a, b: delta.b, U: id, u: id, T: micros },
      });
    }
    for (const event of events) {
      if (event.type !== 'trade') continue;
      const market = marketOf(state, event.market);
      const takerBuys = event.takerSide === 'Bid';
      this.emit({
        stream: `trade.${event.market}`,
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
  }

  /**
   * Order updates in Backpack's shape (ccxt pro's handleOrder reads i, c, E,
   * X, s, o, f, S, p, q, Z, l, N). Fills carry the cumulative executed
   * quantity (z, Z) after that fill; the engine reports each order's state
   * after the entry, so the running totals are rebuilt backwards from it.
   */
  private emitOrderUpdates(state: ExchangeState, events: readonly EngineEvent[], micros: number): void {
    const finalView = new Map<number, OrderView>();
    const fillsLeft = new Map<number, number>();
    const filledInEntry = new Map<number, { steps: bigint; quote: bigint }>();
    for (const event of events) {
      if (event.type === 'orderAccepted' || event.type === 'orderUpdated') finalView.set(event.order.orderId, event.order);
      else if (event.type === 'trade') {
        for (const orderId of [event.makerOrderId, event.takerOrderId]) {
          fillsLeft.set(orderId, (fillsLeft.get(orderId) ?? 0) + 1);
          const total = filledInEntry.get(orderId) ?? { steps: 0n, quote: 0n };
          filledInEntry.set(orderId, { steps: total.steps + event.quantitySteps, quote: total.quote + event.quoteUnits });
        }
      }
    }
    const running = new Map<number, { steps: bigint; quote: bigint }>();
    for (const [orderId, view] of finalView) {
      const filled = filledInEntry.get(orderId) ?? { steps: 0n, quote: 0n };
      running.set(orderId, { steps: view.executedSteps - filled.steps, quote: view.executedQuoteUnits - filled.quote });
    }

    const send = (view: OrderView, type: string, status: string, executed: { steps: bigint; quote: bigint }, fill?: Record<string, unknown>): void => {
      const market = marketOf(state, view.market);
      const data: Record<string, unknown> = {
        e: type,
        E: micros,
        s: view.market,
        ...(view.clientId !== undefined ? { c: view.clientId } : {}),
        S: view.side,
        o: view.orderType,
        f: view.timeInForce,
        ...(view.orderType === 'Limit' || view.quoteQuantityUnits === undefined ? { q: formatQuantity(market, view.quantitySteps) } : {}),
        ...(view.quoteQuantityUnits !== undefined ? { Q: formatDecimal(view.quoteQuantityUnits, market.quote.decimals) } : {}),
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
      this.emit({ stream: 'account.orderUpdate', market: view.market, account: view.account, data });
    };

    for (const event of events) {
      if (event.type === 'orderAccepted') {
        // Trigger orders are placed pending (Backpack's triggerPlaced); see docs/matching.md, section 8.
        if (event.order.status === 'TriggerPending') send(event.order, 'triggerPlaced', 'TriggerPending', { steps: 0n, quote: 0n });
        else send(event.order, 'orderAccepted', 'New', { steps: 0n, quote: 0n });
      } else if (event.type === 'orderUpdated') {
        if (event.order.status === 'Cancelled') send(event.order, 'orderCancelled', 'Cancelled', running.get(event.order.orderId)!);
        else if (event.order.status === 'Expired') send(event.order, 'orderExpired', 'Expired', running.get(event.order.orderId)!);
        else if (event.order.status === 'TriggerFailed') send(event.order, 'triggerFailed', 'TriggerFailed', { steps: 0n, quote: 0n });
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
    send: (view: OrderView, type: string, status: string, executed: { steps: bigint; quote: bigint }, fill?: Record<string, unknown>) => void,
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
    let status: string;
    if (left === 0 && (view.status === 'Filled' || view.status === 'PartiallyFilled')) status = view.status;
    else status = view.quoteQuantityUnits === undefined && executed.steps === view.quantitySteps ? 'Filled' : 'PartiallyFilled';
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
