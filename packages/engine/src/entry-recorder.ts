/**
 * Collects the events of one log entry. Balances and price levels that change
 * many times within an entry (a sweep through many makers) are reported once,
 * with their final values, in the order they were first changed.
 */
import type { EngineEvent } from './events.js';
import type { Side } from './instruction.js';
import type { PriceLevel } from './order-book.js';
import type { Balance, Market } from './state.js';

interface ChangedLevel {
  readonly market: Market;
  readonly side: Side;
  readonly level: PriceLevel;
}

export class EntryRecorder {
  readonly events: EngineEvent[] = [];
  private readonly changedBalances: Balance[] = [];
  private readonly changedLevels: ChangedLevel[] = [];

  constructor(
    /** Unique per entry, so a balance or level stamped with it is already listed. */
    readonly stamp: number,
    readonly timeMs: number,
  ) {}

  balanceChanged(balance: Balance): void {
    if (balance.changedStamp === this.stamp) return;
    balance.changedStamp = this.stamp;
    this.changedBalances.push(balance);
  }

  levelChanged(market: Market, side: Side, level: PriceLevel): void {
    if (level.changedStamp === this.stamp) return;
    level.changedStamp = this.stamp;
    this.changedLevels.push({ market, side, level });
  }

  /** Appends the final balance and depth events and returns all events. */
  finish(): EngineEvent[] {
    for (const balance of this.changedBalances) {
      this.events.push({
        type: 'balance',
        account: balance.account.id,
        asset: balance.asset.symbol,
        available: balance.available,
        locked: balance.locked,
        pendingWithdrawal: balance.pendingWithdrawal,
      });
    }
    for (const { market, side, level } of this.changedLevels) {
      this.events.push({
        type: 'depth',
        market: market.symbol,
        side,
        priceTicks: level.priceTicks,
        quantitySteps: level.orderCount === 0 ? 0n : level.totalSteps,
      });
    }
    return this.events;
  }
}
