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
    return this.levels[this.levels.length - 1];
  }

  /** True when `priceTicks` is strictly better for this side than `otherTicks`. */
  private isBetter(priceTicks: bigint, otherTicks: bigint): boolean {
    return this.isBid ? priceTicks > otherTicks : priceTicks < otherTicks;
  }

  /**
   * Index where a level with this price is or would go. Levels near the top
   * of the book are the common case, so scan a few from the end before
   * falling back to binary search.
   */
  private search(priceTicks: bigint): { index: number; found: boolean } {
    const levels = this.levels;
    let high = levels.length;
    for (let steps = 0; steps < 4 && high > 0; steps += 1) {
      const level = levels[high - 1] as PriceLevel;
      if (level.priceTicks === priceTicks) return { index: high - 1, found: true };
      if (this.isBetter(priceTicks, level.priceTicks)) return { index: high, found: false };
      high -= 1;
    }
    let low = 0;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const level = levels[middle] as PriceLevel;
      if (level.priceTicks === priceTicks) return { index: middle, found: true };
      if (this.isBetter(priceTicks, level.priceTicks)) low = middle + 1;
      else high = middle;
    }
    return { index: low, found: false };
  }

  levelAt(priceTicks: bigint): PriceLevel | undefined {
    const { index, found } = this.search(priceTicks);
    return found ? this.levels[index] : undefined;
  }

  /** Appends the order at the back of its price level's queue. */
  add(order: Order): PriceLevel {
    const { index, found } = this.search(order.priceTicks);
    let level: PriceLevel;
    if (found) {
      level = this.levels[index] as PriceLevel;
    } else {
      level = new PriceLevel(order.priceTicks);
      if (index === this.levels.length) this.levels.push(level);
      else this.levels.splice(index, 0, level);
    }
    order.level = level;
    order.previous = level.tail;
    order.next = undefined;
    if (level.tail === undefined) level.head = order;
    else level.tail.next = order;
    level.tail = order;
    level.totalSteps += order.remainingSteps;
    level.orderCount += 1;
    return level;
  }

  /** Unlinks the order; removes its level when it empties. */
  remove(order: Order): PriceLevel {
    const level = order.level;
    invariant(level !== undefined, `order ${order.id} is not in the book`);
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
    const { index, found } = this.search(level.priceTicks);
    invariant(found && this.levels[index] === level, 'price level missing from its side');
    this.levels.splice(index, 1);
  }
}

export function newMarketBooks(): { bids: BookSide; asks: BookSide } {
  return { bids: new BookSide(true), asks: new BookSide(false) };
}
