/**
 * The benchmark's workload (bench/node.bench.ts): market makers and takers on
 * one market, driven by a model of the book so that almost every request is
 * one the exchange accepts.
 *
 * OrderFlow (order-flow.ts) draws orders blindly: its traders pile resting
 * orders up to the market's open-order limit, its cancels find orders that a
 * crossing order already filled, and its IOC orders find nothing to take. The
 * refused requests cost the node CPU that the acknowledged ones are charged
 * with. BookFlow keeps each trader's open orders bounded and sends a taking
 * order only for liquidity the book holds:
 *
 * - Quotes rest in two bands around the mid: the touch (1 to `touchTicks`
 *   ticks away), where takers fill them, and the depth (further out, up to
 *   `depthTicks`), which no taker ever reaches, so a quote there is open until
 *   its trader cancels it.
 * - A trader holding `quotesPerTrader` quotes in the depth (or, at random, with
 *   probability `cancelShare`) cancels its oldest one there, once it is at least
 *   `cancelLag` requests old (so it has been placed even though up to that many
 *   requests are in flight): a cancel never meets a missing order.
 * - Batches (POST /api/v1/orders) cannot cancel: the batch phase's flow is
 *   built with `depthShare` 0 and a larger `takeShare`, so that its quotes rest
 *   in the touch, where its takers fill them, and the book stays small.
 * - A taker (probability `takeShare`) sends an IOC limit order against the
 *   model's touch on the other side, in price-time order, sized to what rests
 *   there before its own first quote (the engine's default self-trade rule
 *   stops the taker at its own quote), priced at the last level it reaches.
 *   When the touch is empty it quotes instead.
 *
 * The model is the book as the flow sent it; the node may sequence up to a
 * window of in-flight requests in another order, so a taker can occasionally
 * meet a quote that is not there yet or already taken (the few refusals left).
 * Deterministic for a seed and a sequence of timestamps.
 */
import { type Ed25519Key, Prng, type SignedRequest, signedBackpackRequest, signedBatchRequest } from './signing.js';
import { decimal2 } from './order-flow.js';

export interface BookFlowOptions {
  readonly seed: number;
  readonly traders: readonly Ed25519Key[];
  readonly symbol?: string;
  /** Mid price in ticks of 0.01 (default 10_000 = 100.00). */
  readonly midTicks?: number;
  /** Quotes in the touch are 1 to this many ticks from the mid (default 10). */
  readonly touchTicks?: number;
  /** Quotes in the depth are from touchTicks + 1 to this many ticks from the mid (default 50). */
  readonly depthTicks?: number;
  /** Depth quotes a trader holds before it cancels its oldest one (default 8). */
  readonly quotesPerTrader?: number;
  /** Share of requests that cancel an old enough depth quote even below the bound (default 0.2). */
  readonly cancelShare?: number;
  /** Share of requests that take liquidity (default 0.3). */
  readonly takeShare?: number;
  /** Share of quotes placed in the depth rather than the touch (default 0.5). */
  readonly depthShare?: number;
  /** A cancel only targets a quote at least this many requests older (default 400). */
  readonly cancelLag?: number;
  readonly windowMs?: number;
}

interface Quote {
  readonly trader: number;
  readonly clientId: number;
  readonly priceTicks: number;
  readonly issued: number;
  remainingSteps: number;
}

type Side = 'Bid' | 'Ask';

/** Quotes a taker meets at most (below the demo market's maxMakersPerOrder, 100). */
const makersPerTaker = 50;
type Body = Readonly<Record<string, string | number>>;

const bookFlowDefaults = {
  symbol: 'SOL_USDC',
  midTicks: 10_000,
  touchTicks: 10,
  depthTicks: 50,
  quotesPerTrader: 8,
  cancelShare: 0.2,
  takeShare: 0.3,
  depthShare: 0.5,
  cancelLag: 400,
  windowMs: 60_000,
};

export class BookFlow {
  private readonly random: Prng;
  private readonly settings: typeof bookFlowDefaults;
  private readonly nextClientId: number[];
  /** Each trader's depth quotes, oldest first. */
  private readonly depth: Quote[][];
  /** The touch of each side in price-time order: best first. */
  private readonly touch: Record<Side, Quote[]> = { Bid: [], Ask: [] };
  private issued = 0;
  private batchesIssued = 0;
  readonly counts = { quotes: 0, takers: 0, cancels: 0 };

  constructor(private readonly options: BookFlowOptions) {
    this.random = new Prng(options.seed);
    const { seed: _seed, traders, ...given } = options;
    this.settings = { ...bookFlowDefaults, ...given };
    this.nextClientId = traders.map(() => 1);
    this.depth = traders.map(() => []);
  }

  get traders(): readonly Ed25519Key[] {
    return this.options.traders;
  }

  /** The next single request (an order or a cancel) of a trader drawn at random. */
  next(timestampMs: number): SignedRequest {
    const trader = this.random.below(this.options.traders.length);
    const quotes = this.depth[trader]!;
    const oldest = quotes[0];
    const due = quotes.length >= this.settings.quotesPerTrader || this.random.next() < this.settings.cancelShare;
    this.issued += 1;
    if (due && oldest !== undefined && oldest.issued <= this.issued - this.settings.cancelLag) {
      quotes.shift();
      this.counts.cancels += 1;
      const body = { symbol: this.settings.symbol, clientId: oldest.clientId };
      return this.signed(trader, timestampMs, 'cancel', body);
    }
    const body = this.order(trader);
    return this.signed(trader, timestampMs, 'order', body);
  }

  /** A single order (POST) or cancel (DELETE) on /api/v1/order, signed by `trader`. */
  private signed(trader: number, timestampMs: number, kind: 'order' | 'cancel', body: Body): SignedRequest {
    const [method, instruction] =
      kind === 'order' ? (['POST', 'orderExecute'] as const) : (['DELETE', 'orderCancel'] as const);
    const { windowMs } = this.settings;
    const key = this.options.traders[trader]!;
    return signedBackpackRequest(key, kind, method, '/api/v1/order', instruction, body, timestampMs, windowMs, trader);
  }

  /** `count` single requests signed now. */
  batch(count: number, timestampMs: number): SignedRequest[] {
    const requests: SignedRequest[] = new Array(count);
    for (let index = 0; index < count; index += 1) requests[index] = this.next(timestampMs);
    return requests;
  }

  /**
   * A batch of `size` orders of one trader (POST /api/v1/orders, as market
   * makers send them), drawn like single orders; the traders take turns. A
   * batch has no cancels, so a trader's depth quotes grow by its batches'.
   */
  nextBatch(timestampMs: number, size: number): SignedRequest {
    const trader = this.batchesIssued % this.options.traders.length;
    this.batchesIssued += 1;
    const orders: Body[] = [];
    for (let index = 0; index < size; index += 1) {
      this.issued += 1;
      orders.push(this.order(trader));
    }
    return signedBatchRequest(this.options.traders[trader]!, orders, timestampMs, this.settings.windowMs, trader);
  }

  /** `count` batches of `size` orders, signed now. */
  batches(count: number, size: number, timestampMs: number): SignedRequest[] {
    return Array.from({ length: count }, () => this.nextBatch(timestampMs, size));
  }

  /** A taking order when the touch on the other side holds something for this trader, else a quote. */
  private order(trader: number): Body {
    const random = this.random;
    const side: Side = random.below(2) === 0 ? 'Bid' : 'Ask';
    const clientId = this.nextClientId[trader]!;
    this.nextClientId[trader] = clientId + 1;
    // An even number of steps (0.02 to 5.00): every share a taker takes is even too, so never 0.01, whose value
    // at a price below 100.00 is under the market's minimum order value (1 USDC).
    const wantedSteps = 2 * (1 + random.below(250));
    if (random.next() < this.settings.takeShare) {
      const taken = this.take(trader, side, wantedSteps);
      if (taken !== undefined) {
        this.counts.takers += 1;
        const price = decimal2(taken.priceTicks);
        const quantity = decimal2(taken.steps);
        const selfTradePrevention = 'RejectMaker';
        return {
          symbol: this.settings.symbol,
          side,
          orderType: 'Limit',
          price,
          quantity,
          timeInForce: 'IOC',
          selfTradePrevention,
          clientId,
        };
      }
    }
    this.counts.quotes += 1;
    const inTouch = random.next() >= this.settings.depthShare;
    const away = inTouch
      ? 1 + random.below(this.settings.touchTicks)
      : this.settings.touchTicks + 1 + random.below(this.settings.depthTicks - this.settings.touchTicks);
    const priceTicks = side === 'Bid' ? this.settings.midTicks - away : this.settings.midTicks + away;
    const quote: Quote = { trader, clientId, priceTicks, issued: this.issued, remainingSteps: wantedSteps };
    if (inTouch) this.rest(side, quote);
    else this.depth[trader]!.push(quote);
    const price = decimal2(priceTicks);
    const quantity = decimal2(wantedSteps);
    return { symbol: this.settings.symbol, side, orderType: 'Limit', price, quantity, timeInForce: 'GTC', clientId };
  }

  /** Inserts a touch quote after every quote at a better or equal price (price-time order). */
  private rest(side: Side, quote: Quote): void {
    const level = this.touch[side];
    const better =
      side === 'Bid' ? (price: number) => price >= quote.priceTicks : (price: number) => price <= quote.priceTicks;
    let index = level.length;
    while (index > 0 && !better(level[index - 1]!.priceTicks)) index -= 1;
    level.splice(index, 0, quote);
  }

  /**
   * Takes up to `wantedSteps` from the other side's touch in price-time
   * order, meeting at most `makersPerTaker` quotes; the trader's own quotes
   * met on the way are cancelled (the takers send selfTradePrevention
   * RejectMaker, as a market maker crossing its own stale quote would).
   */
  private take(trader: number, side: Side, wantedSteps: number): { priceTicks: number; steps: number } | undefined {
    const makers = this.touch[side === 'Bid' ? 'Ask' : 'Bid'];
    let steps = 0;
    let priceTicks = 0;
    let met = 0;
    let lastFill = -1;
    while (met < makers.length && met < makersPerTaker && steps < wantedSteps) {
      const maker = makers[met]!;
      met += 1;
      if (maker.trader === trader) continue;
      const share = Math.min(maker.remainingSteps, wantedSteps - steps);
      steps += share;
      priceTicks = maker.priceTicks;
      maker.remainingSteps -= share;
      lastFill = met - 1;
    }
    // Gone after the walk: the quotes filled, and the trader's own met before the last fill (the engine's walk
    // stops once the taker, sized to what the walk found, is filled, so it never meets the own quotes after it).
    let kept = 0;
    for (let index = 0; index <= lastFill; index += 1) {
      const maker = makers[index]!;
      if (maker.trader !== trader && maker.remainingSteps > 0) makers[kept++] = maker;
    }
    makers.splice(kept, lastFill + 1 - kept);
    return steps === 0 ? undefined : { priceTicks, steps };
  }
}
