/**
 * One side of an order book: price levels kept sorted with the best price at
 * the end of the array, so that the common operations (match at the best
 * price, add near the top, remove an emptied best level) touch only the end.
 * Within a level, orders form an intrusive doubly linked list in arrival
 * order; since order ids increase with arrival, time priority is id order.
 */
import { invariant } from './result-codes.js';
import type { Order } from './state.js';

export class PriceLevel {
  head: Order | undefined = undefined;
  tail: Order | undefined = undefined;
  totalSteps = 0n;
  orderCount = 0;
  /** The apply stamp of the last change, so each changed level is reported once per entry. */
  changedStamp = 0;
  constructor(readonly priceTicks: bigint) {}
}

export class BookSide {
  /** Bids: ascending prices (best, the highest, last). Asks: descending (best, the lowest, last). */
  readonly levels: PriceLevel[] = [];

  constructor(readonly isBid: boolean) {}

  best(): PriceLevel | undefined {
    const levels = this.levels;
    // Never read index −1: on an empty side that is a lookup of the property
    // "-1", which turns this load megamorphic and slows every later call.
    return levels.length === 0 ? undefined : levels[levels.length - 1];
  }

  /**
   * Where a level with this price is or would go: its index when present,
   * otherwise the bitwise complement (~index, always negative) of the index
   * where it would be inserted. A number rather than an object, so that the
   * hot path allocates nothing. Levels near the top of the book are the
   * common case, so scan a few from the end before falling back to binary
   * search.
   */
  private search(priceTicks: bigint): number {
    const levels = this.levels;
    const isBid = this.isBid;
    let high = levels.length;
    for (let steps = 0; steps < 4 && high > 0; steps += 1) {
      const levelTicks = (levels[high - 1] as PriceLevel).priceTicks;
      if (levelTicks === priceTicks) return high - 1;
      // `priceTicks` is strictly better for this side than the level's price.
      if (isBid ? priceTicks > levelTicks : priceTicks < levelTicks) return ~high;
      high -= 1;
    }
    let low = 0;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const levelTicks = (levels[middle] as PriceLevel).priceTicks;
      if (levelTicks === priceTicks) return middle;
      if (isBid ? priceTicks > levelTicks : priceTicks < levelTicks) low = middle + 1;
      else high = middle;
    }
    return ~low;
  }

  levelAt(priceTicks: bigint): PriceLevel | undefined {
    const index = this.search(priceTicks);
    return index >= 0 ? this.levels[index] : undefined;
  }

  /** Adds the order to its price level's queue in id order (for a new order: at the back). */
  add(order: Order): PriceLevel {
    const found = this.search(order.priceTicks);
    let level: PriceLevel;
    if (found >= 0) {
      level = this.levels[found] as PriceLevel;
    } else {
      const index = ~found;
      level = new PriceLevel(order.priceTicks);
      if (index === this.levels.length) this.levels.push(level);
      else this.levels.splice(index, 0, level);
    }
    order.level = level;
    const tail = level.tail;
    if (tail !== undefined && tail.id > order.id) {
      // A fired trigger order keeps its id, and with it its time priority:
      // it goes before the orders that arrived after it was placed.
      let after: Order = tail;
      while (after.previous !== undefined && after.previous.id > order.id) after = after.previous;
      order.previous = after.previous;
      order.next = after;
      if (after.previous === undefined) level.head = order;
      else after.previous.next = order;
      after.previous = order;
    } else {
      order.previous = tail;
      order.next = undefined;
      if (tail === undefined) level.head = order;
      else tail.next = order;
      level.tail = order;
    }
    level.totalSteps += order.remainingSteps;
    level.orderCount += 1;
    return level;
  }

  /** Unlinks the order; removes its level when it empties. */
  remove(order: Order): PriceLevel {
    const level = order.level;
    // Checked inline: building the message eagerly would cost a string per call.
    if (level === undefined) invariant(false, `order ${order.id} is not in the book`);
    if (order.previous === undefined) level.head = order.next;
    else order.previous.next = order.next;
    if (order.next === undefined) level.tail = order.previous;
    else order.next.previous = order.previous;
    level.totalSteps -= order.remainingSteps;
    level.orderCount -= 1;
    order.level = undefined;
    order.previous = undefined;
    order.next = undefined;
    if (level.orderCount === 0) this.removeLevel(level);
    return level;
  }

  private removeLevel(level: PriceLevel): void {
    const last = this.levels.length - 1;
    if (this.levels[last] === level) {
      this.levels.pop();
      return;
    }
    const index = this.search(level.priceTicks);
    invariant(index >= 0 && this.levels[index] === level, 'price level missing from its side');
    this.levels.splice(index, 1);
  }
}

export function newMarketBooks(): { bids: BookSide; asks: BookSide } {
  return { bids: new BookSide(true), asks: new BookSide(false) };
}
