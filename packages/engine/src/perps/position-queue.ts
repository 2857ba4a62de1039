/**
 * Each perpetual market's open positions, indexed two ways (docs/perps.md,
 * "Realisation", and docs/attestation.md, "Perpetual positions in the
 * leaves"): the holders by account ordinal, which the liabilities tree
 * refreshes when the market's mark or funding index moves, and the holders
 * ordered by `realisedAtMs`, from which the bounded realisation of every entry
 * takes the positions realised longest ago.
 *
 * Derived, never encoded or hashed (PerpMarketState.positionIndex): the index of a market is built from the
 * accounts' positions the first time it is asked for (O(accounts), once per
 * state object, as decoding is), and kept up to date after that by the
 * hooks positionRealised and positionClosed, which the only code that opens,
 * realises or closes a position calls (movePosition, perp-settlement.ts; the
 * realisations of perp-realisation.ts). The order it yields depends only on
 * the positions, never on the order the hooks ran in, so a node restored from
 * a snapshot realises exactly what the node that wrote it would have.
 *
 * Order by realisation time: one doubly linked list of the holders in
 * ascending (realisedAtMs, account ordinal), each holder once. Log time never
 * decreases and a realisation stamps the entry's log time, so a realised
 * position is unlinked from its place and relinked at the tail, behind the
 * tail's members of the same time with a larger ordinal (a short walk back:
 * only positions realised in the same entry share its time). The oldest is
 * the head. Every operation is O(1) but that walk, with no allocation but a
 * position's first node, and nothing is left behind to skip later.
 */
import type { Account, ExchangeState, Market } from '../state.js';
import type { PerpHolding } from './perp-holding.js';

/**
 * One holder's place in the order by realisation time: its holding on the market (perp-holding.ts), which is
 * the open position, with `timeMs` the time it was linked at and `settlementBalance` its USDC balance.
 */
export type QueueNode = PerpHolding;

/** Whether `node` comes after (`timeMs`, `ordinal`) in the order. */
function isAfter(node: QueueNode, timeMs: number, ordinal: number): boolean {
  return node.timeMs > timeMs || (node.timeMs === timeMs && node.ordinal > ordinal);
}

/** One market's positions, by holder and by realisation time. */
export class MarketPositions {
  /** The accounts with an open position on the market, by ordinal, each with its place in the order. */
  readonly holders = new Map<number, QueueNode>();
  private head: QueueNode | undefined = undefined;
  private tail: QueueNode | undefined = undefined;
  /** The latest time ever linked: an earlier one is out of order. */
  private lastMs = -1;

  /**
   * Records that the position of `holding` (an account's holding on the market) was realised (or opened) at
   * `timeMs`. False when that time is out of order.
   */
  realised(holding: PerpHolding, timeMs: number): boolean {
    if (this.holders.get(holding.ordinal) !== holding) {
      this.holders.set(holding.ordinal, holding);
      return this.link(holding, timeMs);
    }
    return this.relink(holding, timeMs);
  }

  /** `realised` for a node of this index whose position is still the account's (the sweep's: no lookup). */
  relink(node: QueueNode, timeMs: number): boolean {
    if (node.timeMs === timeMs) return true;
    this.unlink(node);
    return this.link(node, timeMs);
  }

  /** Links an unlinked node at `timeMs`, behind the tail's members of that time with a smaller ordinal. */
  private link(node: QueueNode, timeMs: number): boolean {
    if (timeMs < this.lastMs) return false;
    this.lastMs = timeMs;
    node.timeMs = timeMs;
    const ordinal = node.ordinal;
    let before = this.tail;
    while (before !== undefined && isAfter(before, timeMs, ordinal)) before = before.previous;
    node.previous = before;
    node.next = before === undefined ? this.head : before.next;
    if (node.next === undefined) this.tail = node;
    else node.next.previous = node;
    if (before === undefined) this.head = node;
    else before.next = node;
    return true;
  }

  closed(account: Account): void {
    const node = this.holders.get(account.ordinal);
    if (node === undefined) return;
    this.holders.delete(account.ordinal);
    this.unlink(node);
  }

  /** Whether `holding` is in this index (its position open): it then holds its place in the order. */
  holds(holding: PerpHolding): boolean {
    return this.holders.get(holding.ordinal) === holding;
  }

  /**
   * The holder realised longest ago, if before `beforeMs` (ascending
   * (realisedAtMs, account ordinal)); undefined when there is none. It stays
   * the oldest until its position is realised again (or closed).
   */
  oldest(beforeMs: number): QueueNode | undefined {
    const head = this.head;
    return head !== undefined && head.timeMs < beforeMs ? head : undefined;
  }

  /** The holders in the order, each with the time it was linked at: for the consistency check. */
  *ordered(): Generator<[number, Account]> {
    for (let node = this.head; node !== undefined; node = node.next) yield [node.timeMs, node.account];
  }

  private unlink(node: QueueNode): void {
    if (node.previous === undefined) this.head = node.next;
    else node.previous.next = node.next;
    if (node.next === undefined) this.tail = node.previous;
    else node.next.previous = node.previous;
    node.previous = undefined;
    node.next = undefined;
  }
}

/** The market's index, built from `state`'s accounts when first asked for. */
export function marketPositionsOf(state: ExchangeState, market: Market): MarketPositions {
  const perp = market.perp!;
  let index = perp.positionIndex;
  if (index !== undefined) return index;
  index = new MarketPositions();
  const held: PerpHolding[] = [];
  for (const account of state.accountList) {
    // An open position is the account's holding (movePosition and the state decoder open it there).
    const holding = account.perpHoldings[market.index];
    if (holding === undefined || !holding.open) continue;
    // Links left from an index dropped earlier are stale: each holding is linked afresh below.
    holding.previous = undefined;
    holding.next = undefined;
    held.push(holding);
  }
  held.sort((left, right) => left.realisedAtMs - right.realisedAtMs || left.ordinal - right.ordinal);
  for (const holding of held) index.realised(holding, holding.realisedAtMs);
  perp.positionIndex = index;
  return index;
}

/**
 * Hook: the position of `holding` (an account's on `market`) was opened or realised at `timeMs`.
 * Nothing to do while the market's index is not built (the build reads the
 * position). A time out of order cannot happen while log time never
 * decreases; should it, the index is dropped and rebuilt from the positions.
 */
export function positionRealised(market: Market, holding: PerpHolding, timeMs: number): void {
  const index = market.perp?.positionIndex;
  if (index !== undefined && !index.realised(holding, timeMs)) market.perp!.positionIndex = undefined;
}

/** Hook: positionRealised for the position of `node`, a node of `market`'s index (the sweep took it from there). */
export function nodeRealised(market: Market, node: QueueNode, timeMs: number): void {
  const index = market.perp?.positionIndex;
  if (index !== undefined && !index.relink(node, timeMs)) market.perp!.positionIndex = undefined;
}

/** Hook: `account`'s position on `market` became flat and was removed. */
export function positionClosed(market: Market, account: Account): void {
  market.perp?.positionIndex?.closed(account);
}

/**
 * Checks a built index against the positions (tests' invariants): the
 * holders are exactly the accounts' holdings with a position, each
 * holding's position is its account's (or none), and the order holds each
 * of them once, at its position's realisedAtMs, in ascending (realisedAtMs,
 * ordinal). O(accounts); nothing to check when the index is not built.
 */
export function checkMarketPositions(state: ExchangeState, market: Market, fail: (message: string) => never): void {
  for (const account of state.accountList) {
    // Every open position is its account's holding on the market (perp-holding.ts), and a holding is open exactly
    // when the account's map holds it: the engine reads positions from holdings, built or not the index.
    const held = account.perpHoldings[market.index];
    const position = account.positions.get(market.index);
    if (position !== undefined && position !== held)
      fail(`${market.symbol}: ${account.id}'s position is not its holding`);
    if (held !== undefined && held.open !== (position !== undefined))
      fail(`${market.symbol}: ${account.id}'s holding is ${held.open ? 'open' : 'flat'} but its position is not`);
    const settlementBalance = held?.settlementBalance;
    if (settlementBalance !== undefined && settlementBalance !== account.balances[market.quote.index])
      fail(`${market.symbol}: ${account.id}'s holding keeps another settlement balance`);
  }
  const index = market.perp?.positionIndex;
  if (index === undefined) return;
  let count = 0;
  let previous: [number, Account] | undefined;
  for (const member of index.ordered()) {
    const [timeMs, account] = member;
    count += 1;
    const position = account.positions.get(market.index);
    if (position?.realisedAtMs !== timeMs)
      fail(`${market.symbol}: ${account.id}'s position is not queued at its realisation time`);
    const node = index.holders.get(account.ordinal);
    if (node !== position) fail(`${market.symbol}: ${account.id}'s queued position is not its position`);
    if (
      previous !== undefined &&
      (previous[0] > timeMs || (previous[0] === timeMs && previous[1].ordinal >= account.ordinal))
    )
      fail(`${market.symbol}: the realisation order is broken at ${account.id}`);
    previous = member;
  }
  let holding = 0;
  for (const account of state.accountList) {
    if (!account.positions.has(market.index)) continue;
    holding += 1;
    const held = account.perpHoldings[market.index];
    if (held === undefined || index.holders.get(account.ordinal) !== held)
      fail(`${market.symbol}: ${account.id}'s holding missing from holders`);
  }
  if (holding !== index.holders.size || count !== holding)
    fail(`${market.symbol}: ${index.holders.size} holders and ${count} queued for ${holding} positions`);
}
