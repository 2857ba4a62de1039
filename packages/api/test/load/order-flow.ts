/** The workload: seeded, realistic order flow on one market, and the deposits that fund it. */
import {
  type Ed25519Key,
  Prng,
  type SignedRequest,
  signedBackpackRequest,
  signedBatchRequest,
  signedTransactionRequest,
} from './signing.js';

export interface OrderFlowOptions {
  readonly seed: number;
  readonly traders: readonly Ed25519Key[];
  readonly symbol?: string;
  /** Mid price in ticks of 0.01 (default 10_000 = 100.00). */
  readonly midTicks?: number;
  /** Share of requests that cancel an earlier resting order of the same trader (default 0.2). */
  readonly cancelShare?: number;
  /** Share of orders priced through the mid (default 0.15); half of those are IOC. */
  readonly crossShare?: number;
  /** A cancel only targets an order at least this many requests older (default 400), so it has normally been placed. */
  readonly cancelLag?: number;
  readonly windowMs?: number;
}

/** A whole number of hundredths as a decimal string without trailing zeros (1250 → "12.5"). */
export function decimal2(units: number): string {
  const whole = Math.floor(units / 100);
  const cents = units % 100;
  if (cents === 0) return String(whole);
  return cents % 10 === 0 ? `${whole}.${cents / 10}` : `${whole}.${String(cents).padStart(2, '0')}`;
}

type OrderBody = {
  readonly symbol: string;
  readonly side: 'Bid' | 'Ask';
  readonly orderType: 'Limit';
  readonly price: string;
  readonly quantity: string;
  readonly timeInForce: 'GTC' | 'IOC';
  readonly clientId: number;
};

interface RestingCandidate {
  readonly clientId: number;
  readonly index: number;
}

/**
 * Realistic order flow on a 0.01-tick, 0.01-step market (SOL_USDC of the demo
 * config): the `next` request for a timestamp. Deterministic for a seed and a
 * sequence of timestamps.
 */
export class OrderFlow {
  private readonly random: Prng;
  private readonly symbol: string;
  private readonly midTicks: number;
  private readonly cancelShare: number;
  private readonly crossShare: number;
  private readonly cancelLag: number;
  private readonly windowMs: number;
  private readonly nextClientId: number[];
  private readonly resting: RestingCandidate[][];
  private issued = 0;
  private batchesIssued = 0;
  readonly counts = { restingOrders: 0, crossingOrders: 0, cancels: 0 };

  constructor(private readonly options: OrderFlowOptions) {
    this.random = new Prng(options.seed);
    this.symbol = options.symbol ?? 'SOL_USDC';
    this.midTicks = options.midTicks ?? 10_000;
    this.cancelShare = options.cancelShare ?? 0.2;
    this.crossShare = options.crossShare ?? 0.15;
    this.cancelLag = options.cancelLag ?? 400;
    this.windowMs = options.windowMs ?? 60_000;
    this.nextClientId = options.traders.map(() => 1);
    this.resting = options.traders.map(() => []);
  }

  get traders(): readonly Ed25519Key[] {
    return this.options.traders;
  }

  next(timestampMs: number): SignedRequest {
    const index = this.issued;
    this.issued += 1;
    const random = this.random;
    const trader = random.below(this.options.traders.length);
    const key = this.options.traders[trader]!;
    const candidates = this.resting[trader]!;
    if (random.next() < this.cancelShare && candidates.length > 0 && candidates[0]!.index <= index - this.cancelLag) {
      // Cancel one of the trader's old enough resting orders, picked at random among them.
      let eligible = 0;
      while (eligible < candidates.length && candidates[eligible]!.index <= index - this.cancelLag) eligible += 1;
      const [target] = candidates.splice(random.below(eligible), 1);
      this.counts.cancels += 1;
      return signedBackpackRequest(
        key,
        'cancel',
        'DELETE',
        '/api/v1/order',
        'orderCancel',
        { symbol: this.symbol, clientId: target!.clientId },
        timestampMs,
        this.windowMs,
        trader,
      );
    }
    const { body, resting } = this.order(trader);
    if (resting) candidates.push({ clientId: body.clientId, index });
    return signedBackpackRequest(
      key,
      'order',
      'POST',
      '/api/v1/order',
      'orderExecute',
      body,
      timestampMs,
      this.windowMs,
      trader,
    );
  }

  /**
   * A batch of `size` orders of one trader (POST /api/v1/orders, as market
   * makers send them), drawn like single orders; the traders take turns, and
   * batched orders are never cancelled by the flow (so each trader's resting
   * orders grow by about `size` × 0.85 per turn, up to the market's limit).
   */
  nextBatch(timestampMs: number, size: number): SignedRequest {
    const trader = this.batchesIssued % this.options.traders.length;
    this.batchesIssued += 1;
    const orders = Array.from({ length: size }, () => this.order(trader).body);
    return signedBatchRequest(this.options.traders[trader]!, orders, timestampMs, this.windowMs, trader);
  }

  /** `count` batches of `size` orders, signed now. */
  batches(count: number, size: number, timestampMs: number): SignedRequest[] {
    return Array.from({ length: count }, () => this.nextBatch(timestampMs, size));
  }

  /** The next order of `trader`: passive (it rests) or crossing the mid (GTC or IOC). */
  private order(trader: number): { body: OrderBody; resting: boolean } {
    const random = this.random;
    const clientId = this.nextClientId[trader]!;
    this.nextClientId[trader] = clientId + 1;
    const side = random.below(2) === 0 ? 'Bid' : 'Ask';
    const quantity = decimal2(1 + random.below(500));
    const crossing = random.next() < this.crossShare;
    let priceTicks: number;
    let timeInForce: 'GTC' | 'IOC';
    if (crossing) {
      // Through the mid by up to 0.20: takes liquidity from the resting side.
      const through = random.below(21);
      priceTicks = side === 'Bid' ? this.midTicks + through : this.midTicks - through;
      timeInForce = random.below(2) === 0 ? 'IOC' : 'GTC';
      this.counts.crossingOrders += 1;
    } else {
      // Passive: 0.01 to 0.50 away from the mid, on its own side.
      const away = 1 + random.below(50);
      priceTicks = side === 'Bid' ? this.midTicks - away : this.midTicks + away;
      timeInForce = 'GTC';
      this.counts.restingOrders += 1;
    }
    const price = decimal2(priceTicks);
    return {
      body: { symbol: this.symbol, side, orderType: 'Limit', price, quantity, timeInForce, clientId },
      resting: !crossing,
    };
  }

  /** `count` requests signed now, with timestamps from `timestampMs` on (never repeated across calls). */
  batch(count: number, timestampMs: number): SignedRequest[] {
    const requests: SignedRequest[] = new Array(count);
    for (let index = 0; index < count; index += 1) requests[index] = this.next(timestampMs);
    return requests;
  }
}

/** Deposits that fund each trader generously in both assets of SOL_USDC. */
export function fundingRequests(
  operator: Ed25519Key,
  traders: readonly Ed25519Key[],
  timestampMs: number,
  amounts: { readonly SOL?: string; readonly USDC?: string } = {},
  tag = `fund-${timestampMs}`,
): SignedRequest[] {
  const requests: SignedRequest[] = [];
  traders.forEach((trader, index) => {
    for (const [symbol, quantity, blockchain] of [
      ['SOL', amounts.SOL ?? '1000000', 'Solana'],
      ['USDC', amounts.USDC ?? '100000000', 'Solana'],
    ] as const) {
      requests.push(
        signedTransactionRequest(
          operator,
          'depositCredit',
          {
            account: trader.apiKey,
            symbol,
            quantity,
            blockchain,
            chainTransactionId: `${tag}-${index}-${symbol}`,
          },
          timestampMs,
        ),
      );
    }
  });
  return requests;
}
