/**
 * The seeded workload of `pnpm bench:engine`: one market (SOL_USDC), a mixed
 * stream of limit orders, cancels and market orders from many accounts.
 *
 * The stream is a pure function of (seed, count): a splitmix32 generator picks
 * every choice, and nothing reads a clock or Math.random. It is held compactly
 * (one typed array per field) so that 1M operations cost a few tens of MB; each
 * driver turns it into its own input objects before its timed run.
 *
 * Mix, per operation:
 *   60 % limit orders (GTC). 90 % of them are passive: a bid at 0..29 ticks
 *        below the book's mid (never at or above the best ask), an ask at 1..30
 *        ticks above it (never at or below the best bid). 10 % are marketable:
 *        a bid at best ask + 0..4 ticks, an ask at best bid − 0..4 ticks, so
 *        they cross the spread and may sweep several levels.
 *   30 % cancels of an order that is open at that point of the stream.
 *   10 % market orders sized by quantity.
 *   Quantities are 1..100 steps (0.01..1 SOL); the account is uniform over
 *   `accounts` (default 1,000, so that no account comes near the market's
 *   open-order limit of 1,000); self-trade prevention is the default
 *   RejectTaker. A market order that would execute nothing is refused by the
 *   engine (ORDER_WOULD_NOT_FILL): the generator predicts each such refusal.
 *
 * Liveness is simulated exactly, not guessed: the generator runs a small
 * price-time book of its own (numbers, lazily deleted queue entries, an
 * open-order list with swap-remove for O(1) random choice) with the same
 * matching rule as the engine: price-time priority, fills at the maker's
 * price, and self-trade prevention that stops the taker (and keeps it off the
 * book) when the order at the head of the best level belongs to the taker's
 * account. So every cancel names an order that is still open, and the
 * generator knows the engine's order ids in advance (the engine numbers every
 * accepted order 1, 2, 3, …; with the large deposits no order is rejected).
 * The simulation also predicts the final number of open orders and of trades,
 * which the benchmark compares with both engines after their runs.
 */

export const OP_LIMIT = 0;
export const OP_CANCEL = 1;
export const OP_MARKET = 2;
export const SIDE_BID = 0;
export const SIDE_ASK = 1;

/** SOL_USDC as listed for the benchmark: tick 0.01 USDC, step 0.01 SOL. */
export const benchMarket = {
  symbol: 'SOL_USDC',
  base: { symbol: 'SOL', decimals: 9 },
  quote: { symbol: 'USDC', decimals: 6 },
  tickSize: '0.01',
  stepSize: '0.01',
  minQuantity: '0.01',
  maxQuantity: '1000000',
  minPrice: '0.01',
  maxPrice: '1000000',
  makerFeeBps: 2,
  takerFeeBps: 5,
  /** 150.00 USDC. */
  initialMidTicks: 15_000,
} as const;

export interface WorkloadOptions {
  readonly seed: number;
  readonly count: number;
  readonly accounts?: number;
}

export interface Workload {
  readonly seed: number;
  readonly count: number;
  readonly accountCount: number;
  /** OP_LIMIT, OP_CANCEL or OP_MARKET. */
  readonly kind: Uint8Array;
  /** SIDE_BID or SIDE_ASK (limit and market orders). */
  readonly side: Uint8Array;
  /** Index of the acting account, 0 … accountCount − 1. */
  readonly account: Uint16Array;
  /** Limit price in ticks (limit orders). */
  readonly priceTicks: Int32Array;
  /** Quantity in steps (limit and market orders). */
  readonly quantitySteps: Int32Array;
  /** Orders: the id the engine will assign. Cancels: the id of the open order to cancel. */
  readonly orderId: Int32Array;
  /** 1 for limit orders that cross the spread when placed. */
  readonly marketable: Uint8Array;
  readonly stats: WorkloadStats;
}

export interface WorkloadStats {
  limits: number;
  marketableLimits: number;
  cancels: number;
  markets: number;
  /** Cancels generated while the book was empty are turned into passive limit orders. */
  cancelsReplaced: number;
  /** Predicted by the simulation: trades executed and orders open after the whole stream. */
  expectedTrades: number;
  expectedOpenOrders: number;
  /** Market orders that would execute nothing, which the engine refuses (ORDER_WOULD_NOT_FILL). */
  refusedMarkets: number;
  /** Largest number of open orders at any point. */
  peakOpenOrders: number;
  /** Self-trade prevention stops. */
  selfTradeStops: number;
}

/** splitmix32: small, fast, well distributed; state is one 32-bit integer. */
export class SplitMix32 {
  private state: number;
  constructor(seed: number) {
    this.state = seed | 0;
  }
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform integer in [0, bound), bound ≤ 2^32. */
  below(bound: number): number {
    return Math.floor((this.nextUint32() / 4294967296) * bound);
  }
}

class SimOrder {
  /** Position in the open-order list; −1 once closed. */
  openIndex = -1;
  constructor(
    readonly id: number,
    readonly account: number,
    readonly side: number,
    readonly price: number,
    public remaining: number,
  ) {}
}

class SimLevel {
  readonly queue: SimOrder[] = [];
  head = 0;
  live = 0;
  constructor(readonly price: number) {}
}

/** One side of the simulated book: live levels by price, plus the sorted list of live prices. */
class SimSide {
  readonly levels = new Map<number, SimLevel>();
  /** Bids ascending, asks descending: the best price is last. */
  readonly prices: number[] = [];
  constructor(readonly isBid: boolean) {}

  best(): SimLevel | undefined {
    // Never read index −1 (a slow property lookup) on an empty side.
    const prices = this.prices;
    return prices.length === 0 ? undefined : this.levels.get(prices[prices.length - 1]!);
  }

  private position(price: number): number {
    // First index whose price is "better" than or equal to `price` in this side's order.
    let low = 0;
    let high = this.prices.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = this.prices[middle]!;
      const before = this.isBid ? other < price : other > price;
      if (before) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  add(order: SimOrder): void {
    let level = this.levels.get(order.price);
    if (level === undefined) {
      level = new SimLevel(order.price);
      this.levels.set(order.price, level);
      this.prices.splice(this.position(order.price), 0, order.price);
    }
    level.queue.push(order);
    level.live += 1;
  }

  /** Called when a level's last live order leaves. */
  dropLevel(level: SimLevel): void {
    this.levels.delete(level.price);
    const index = this.position(level.price);
    if (this.prices[index] !== level.price) throw new Error('workload simulation: level missing');
    this.prices.splice(index, 1);
  }

  /** The live order at the head of the level, skipping (and discarding) closed entries. */
  head(level: SimLevel): SimOrder {
    while (level.queue[level.head]!.openIndex < 0) level.head += 1;
    if (level.head > 64 && level.head * 2 > level.queue.length) {
      level.queue.splice(0, level.head);
      level.head = 0;
    }
    return level.queue[level.head]!;
  }
}

class SimBook {
  readonly bids = new SimSide(true);
  readonly asks = new SimSide(false);
  readonly open: SimOrder[] = [];
  /** Order ids by id − 1, so a cancel can find its level. */
  trades = 0;
  selfTradeStops = 0;
  peakOpen = 0;

  private levelOf(order: SimOrder): SimLevel {
    return (order.side === SIDE_BID ? this.bids : this.asks).levels.get(order.price)!;
  }

  private close(order: SimOrder): void {
    const index = order.openIndex;
    const last = this.open.pop()!;
    if (last !== order) {
      this.open[index] = last;
      last.openIndex = index;
    }
    order.openIndex = -1;
  }

  rest(order: SimOrder): void {
    (order.side === SIDE_BID ? this.bids : this.asks).add(order);
    order.openIndex = this.open.length;
    this.open.push(order);
    if (this.open.length > this.peakOpen) this.peakOpen = this.open.length;
  }

  cancel(order: SimOrder): void {
    const side = order.side === SIDE_BID ? this.bids : this.asks;
    const level = this.levelOf(order);
    this.close(order);
    level.live -= 1;
    if (level.live === 0) side.dropLevel(level);
  }

  /**
   * Matches a taker; returns its unfilled remainder, or −1 when self-trade
   * prevention stopped it (it then never rests).
   */
  match(account: number, side: number, limitPrice: number | undefined, quantity: number): number {
    const book = side === SIDE_BID ? this.asks : this.bids;
    let remaining = quantity;
    while (remaining > 0) {
      const level = book.best();
      if (level === undefined) break;
      if (limitPrice !== undefined && (side === SIDE_BID ? level.price > limitPrice : level.price < limitPrice)) break;
      const maker = book.head(level);
      if (maker.account === account) {
        this.selfTradeStops += 1;
        return -1;
      }
      const fill = Math.min(remaining, maker.remaining);
      remaining -= fill;
      maker.remaining -= fill;
      this.trades += 1;
      if (maker.remaining === 0) {
        this.close(maker);
        level.live -= 1;
        if (level.live === 0) book.dropLevel(level);
      }
    }
    return remaining;
  }
}

export function generateWorkload(options: WorkloadOptions): Workload {
  const { seed, count } = options;
  const accountCount = options.accounts ?? 1000;
  const random = new SplitMix32(seed);
  const kind = new Uint8Array(count);
  const side = new Uint8Array(count);
  const account = new Uint16Array(count);
  const priceTicks = new Int32Array(count);
  const quantitySteps = new Int32Array(count);
  const orderId = new Int32Array(count);
  const marketable = new Uint8Array(count);
  const stats: WorkloadStats = {
    limits: 0,
    marketableLimits: 0,
    cancels: 0,
    markets: 0,
    cancelsReplaced: 0,
    expectedTrades: 0,
    expectedOpenOrders: 0,
    refusedMarkets: 0,
    peakOpenOrders: 0,
    selfTradeStops: 0,
  };
  const book = new SimBook();
  let nextOrderId = 1;
  let lastMid: number = benchMarket.initialMidTicks;

  for (let index = 0; index < count; index += 1) {
    const roll = random.below(100);
    let opKind = roll < 60 ? OP_LIMIT : roll < 90 ? OP_CANCEL : OP_MARKET;
    if (opKind === OP_CANCEL && book.open.length === 0) {
      opKind = OP_LIMIT;
      stats.cancelsReplaced += 1;
    }
    const who = random.below(accountCount);
    account[index] = who;
    kind[index] = opKind;

    if (opKind === OP_CANCEL) {
      const victim = book.open[random.below(book.open.length)]!;
      orderId[index] = victim.id;
      side[index] = victim.side;
      // A trader cancels its own orders: the cancel is issued by the owner.
      account[index] = victim.account;
      book.cancel(victim);
      stats.cancels += 1;
      continue;
    }

    const orderSide = random.below(2) === 0 ? SIDE_BID : SIDE_ASK;
    const quantity = 1 + random.below(100);
    side[index] = orderSide;
    quantitySteps[index] = quantity;
    const id = nextOrderId;
    nextOrderId += 1;
    orderId[index] = id;

    if (opKind === OP_MARKET) {
      stats.markets += 1;
      const tradesBefore = book.trades;
      book.match(who, orderSide, undefined, quantity);
      if (book.trades === tradesBefore) {
        // It would execute nothing (an empty side, or its own order first in line): the engine
        // refuses it with ORDER_WOULD_NOT_FILL (docs/matching.md, 4.6), and a refused order takes no id.
        nextOrderId -= 1;
        orderId[index] = 0;
        stats.refusedMarkets += 1;
      }
      continue;
    }

    const bestBid = book.bids.best()?.price;
    const bestAsk = book.asks.best()?.price;
    const mid =
      bestBid !== undefined && bestAsk !== undefined
        ? Math.floor((bestBid + bestAsk) / 2)
        : bestBid !== undefined
          ? bestBid
          : bestAsk !== undefined
            ? bestAsk - 1
            : lastMid;
    lastMid = mid;
    const crossing = random.below(10) === 0;
    let price: number;
    if (orderSide === SIDE_BID) {
      price =
        crossing && bestAsk !== undefined
          ? bestAsk + random.below(5)
          : Math.min(mid, (bestAsk ?? mid + 1) - 1) - random.below(30);
    } else {
      price =
        crossing && bestBid !== undefined
          ? bestBid - random.below(5)
          : Math.max(mid, bestBid ?? mid - 1) + 1 + random.below(30);
    }
    if (price < 1) price = 1;
    priceTicks[index] = price;
    const crosses =
      orderSide === SIDE_BID ? bestAsk !== undefined && price >= bestAsk : bestBid !== undefined && price <= bestBid;
    marketable[index] = crosses ? 1 : 0;
    if (crosses) stats.marketableLimits += 1;
    stats.limits += 1;
    const remaining = crosses ? book.match(who, orderSide, price, quantity) : quantity;
    if (remaining > 0) book.rest(new SimOrder(id, who, orderSide, price, remaining));
  }

  stats.expectedTrades = book.trades;
  stats.expectedOpenOrders = book.open.length;
  stats.peakOpenOrders = book.peakOpen;
  stats.selfTradeStops = book.selfTradeStops;
  return { seed, count, accountCount, kind, side, account, priceTicks, quantitySteps, orderId, marketable, stats };
}

/** Deterministic 32-byte "public keys" for the benchmark's accounts (no signing happens). */
export function accountKeys(count: number, seed: number): string[] {
  const random = new SplitMix32(seed ^ 0x5eed);
  const keys: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const bytes = new Uint8Array(32);
    for (let offset = 0; offset < 32; offset += 4) {
      const word = random.nextUint32();
      bytes[offset] = word & 0xff;
      bytes[offset + 1] = (word >>> 8) & 0xff;
      bytes[offset + 2] = (word >>> 16) & 0xff;
      bytes[offset + 3] = word >>> 24;
    }
    keys.push(Buffer.from(bytes).toString('base64'));
  }
  return keys;
}
