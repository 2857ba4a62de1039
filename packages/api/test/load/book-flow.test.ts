import { describe, expect, test } from 'vitest';
import { BookFlow } from './book-flow.js';
import { Ed25519Key, Prng, type SignedRequest } from './signing.js';

const random = new Prng(42);
const traders = Array.from({ length: 16 }, () => new Ed25519Key(random.bytes(32)));
const midTicks = 10_000;
const touchTicks = 10;

interface Order {
  readonly side: string;
  readonly price: string;
  readonly timeInForce: string;
  readonly clientId: number;
  readonly selfTradePrevention?: string;
}

const ticksOf = (price: string): number => Math.round(Number(price) * 100);
const inDepth = (order: Order): boolean => Math.abs(ticksOf(order.price) - midTicks) > touchTicks;

describe('BookFlow: bounded quotes, cancels of open quotes, takers only against the touch', () => {
  test('the same seed draws the same requests', () => {
    const now = 1_700_000_000_000;
    const first = new BookFlow({ seed: 9, traders }).batch(500, now);
    const second = new BookFlow({ seed: 9, traders }).batch(500, now);
    expect(second.map((request) => request.message)).toEqual(first.map((request) => request.message));
  });

  test('a cancel targets an open depth quote of its trader; quotes per trader stay bounded', () => {
    const flow = new BookFlow({ seed: 3, traders, quotesPerTrader: 8, cancelLag: 100 });
    const open = traders.map(() => new Set<number>());
    let largest = 0;
    for (const request of flow.batch(8_000, 1_700_000_000_000)) {
      const body = JSON.parse(request.body) as Order;
      const quotes = open[request.trader]!;
      if (request.kind === 'cancel') {
        expect(quotes.delete(body.clientId)).toBe(true);
        continue;
      }
      if (body.timeInForce === 'IOC') {
        expect(body.selfTradePrevention).toBe('RejectMaker');
        // A taker is priced inside the touch on the other side.
        const distance = (ticksOf(body.price) - midTicks) * (body.side === 'Bid' ? 1 : -1);
        expect(distance).toBeGreaterThanOrEqual(1);
        expect(distance).toBeLessThanOrEqual(touchTicks);
      } else if (inDepth(body)) quotes.add(body.clientId);
      largest = Math.max(largest, quotes.size);
    }
    // 8 quotes, plus those placed within the 100 requests before the oldest may be cancelled (about 100 / 16).
    expect(largest).toBeLessThanOrEqual(8 + 10);
    expect(flow.counts.cancels).toBeGreaterThan(800);
    expect(flow.counts.takers).toBeGreaterThan(800);
  });

  test('with depthShare 0 (the batch phase) every quote rests in the touch', () => {
    const flow = new BookFlow({ seed: 4, traders, depthShare: 0, takeShare: 0.55 });
    const batches: SignedRequest[] = flow.batches(200, 20, 1_700_000_000_000);
    for (const batch of batches) {
      expect(batch.kind).toBe('batch');
      for (const order of JSON.parse(batch.body) as Order[]) expect(inDepth(order)).toBe(false);
    }
    expect(flow.counts.takers).toBeGreaterThan(1_000);
  });
});
