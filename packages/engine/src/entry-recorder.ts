/**
 * Collects the events of one log entry. Balances and price levels that change
 * many times within an entry (a sweep through many makers) are reported once,
 * with their final values, in the order they were first changed.
 *
 * Each state owns one recorder, restarted by begin() for every entry, so the
 * hot path allocates no recorder per entry: the first changed balance and the
 * first changed level (all most entries have) are held in fields, and arrays
 * are only made for the further ones.
 */
import type { EngineEvent } from './events.js';
import type { Side } from './instruction.js';
import type { PriceLevel } from './order-book.js';
import type { StateChanges } from './state-changes.js';
import type { Account, Balance, Market } from './state.js';

export class EntryRecorder {
  /** The current entry's events; a fresh array per entry, since the previous one now belongs to its caller. */
  events: EngineEvent[] = [];
  /** Unique per entry of this state, so a balance or level stamped with it is already listed. */
  stamp = 0;
  /** The current entry's log time. */
  timeMs = 0;
  private firstBalance: Balance | undefined = undefined;
  /** Balances changed after the first one, in the order first changed. */
  private moreBalances: Balance[] | undefined = undefined;
  private firstLevel: PriceLevel | undefined = undefined;
  private firstLevelMarket: Market | undefined = undefined;
  private firstLevelSide: Side = 'Bid';
  /** Levels changed after the first one, as flat (market, side, level) triples in the order first changed. */
  private moreLevels: Array<Market | Side | PriceLevel> | undefined = undefined;

  constructor(
    /** The state's changedAccounts: finish() lists each account whose balances changed, once. */
    private readonly changedAccounts: Account[],
    /** The state's changes: every account whose balances changed is touched for the state commitment. */
    private readonly changes: StateChanges,
  ) {}

  /** Starts recording a new entry at `timeMs`, forgetting the previous one. */
  begin(timeMs: number): this {
    this.stamp += 1;
    this.timeMs = timeMs;
    this.events = [];
    this.firstBalance = undefined;
    this.moreBalances = undefined;
    this.firstLevel = undefined;
    this.firstLevelMarket = undefined;
    this.moreLevels = undefined;
    return this;
  }

  balanceChanged(balance: Balance): void {
    if (balance.changedStamp === this.stamp) return;
    balance.changedStamp = this.stamp;
    if (this.firstBalance === undefined) this.firstBalance = balance;
    else if (this.moreBalances === undefined) this.moreBalances = [balance];
    else this.moreBalances.push(balance);
  }

  levelChanged(market: Market, side: Side, level: PriceLevel): void {
    if (level.changedStamp === this.stamp) return;
    level.changedStamp = this.stamp;
    if (this.firstLevel === undefined) {
      this.firstLevel = level;
      this.firstLevelMarket = market;
      this.firstLevelSide = side;
    } else if (this.moreLevels === undefined) {
      this.moreLevels = [market, side, level];
    } else {
      this.moreLevels.push(market, side, level);
    }
  }

  /** Appends the final balance and depth events and returns all events. */
  finish(): EngineEvent[] {
    const events = this.events;
    const firstBalance = this.firstBalance;
    if (firstBalance !== undefined) {
      this.reportBalance(events, firstBalance);
      const more = this.moreBalances;
      if (more !== undefined)
        for (let index = 0; index < more.length; index += 1) this.reportBalance(events, more[index] as Balance);
    }
    const firstLevel = this.firstLevel;
    if (firstLevel !== undefined) {
      pushDepthEvent(events, this.firstLevelMarket as Market, this.firstLevelSide, firstLevel);
      const more = this.moreLevels;
      if (more !== undefined) {
        for (let index = 0; index < more.length; index += 3) {
          pushDepthEvent(events, more[index] as Market, more[index + 1] as Side, more[index + 2] as PriceLevel);
        }
      }
    }
    return events;
  }

  private reportBalance(events: EngineEvent[], balance: Balance): void {
    pushBalanceEvent(events, balance);
    const account = balance.account;
    this.changes.accountChanged(account);
    if (!account.leafStale) {
      account.leafStale = true;
      this.changedAccounts.push(account);
    }
  }
}

function pushBalanceEvent(events: EngineEvent[], balance: Balance): void {
  events.push({
    type: 'balance',
    account: balance.account.id,
    asset: balance.asset.symbol,
    available: balance.available,
    locked: balance.locked,
    pendingWithdrawal: balance.pendingWithdrawal,
  });
}

function pushDepthEvent(events: EngineEvent[], market: Market, side: Side, level: PriceLevel): void {
  events.push({
    type: 'depth',
    market: market.symbol,
    side,
    priceTicks: level.priceTicks,
    quantitySteps: level.orderCount === 0 ? 0n : level.totalSteps,
  });
}
