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
 * Order by realisation time: log time never decreases and a realisation
 * stamps the entry's log time, so the buckets (one per realisedAtMs, in
 * ascending time) only ever grow at the end. Within a bucket positions are
 * taken in ascending account ordinal, sorted once when the bucket is first
 * taken from (a bucket older than the current window receives no more
 * positions). A bucket keeps an account that was realised again later (its
 * position's realisedAtMs no longer matches): such a stale member is skipped
 * when reached, once, so the work per entry is the bounded number of
 * realisations plus stale members skipped, each of which some earlier
 * realisation added (amortised O(1) per realisation).
 */
import type { Account, ExchangeState, Market } from '../state.js';

/** One market's positions, by holder and by realisation time. */
export class MarketPositions {
  /** The accounts with an open position on the market, by ordinal. */
  readonly holders = new Map<number, Account>();
  /** realisedAtMs → accounts realised then (possibly stale), in ascending time. */
  private readonly buckets = new Map<number, Map<number, Account>>();
  private lastBucketMs = -1;
  /** The first bucket's members in ascending ordinal, once taken from; next is the next one to read. */
  private sortedOrdinals: number[] | undefined = undefined;
  private next = 0;

  constructor(private readonly marketIndex: number) {}

  /** Records that `account`'s position was realised (or opened) at `timeMs`. False when that time is out of order. */
  realised(account: Account, timeMs: number): boolean {
    this.holders.set(account.ordinal, account);
    if (timeMs < this.lastBucketMs) return false;
    let bucket = this.buckets.get(timeMs);
    if (bucket === undefined) {
      bucket = new Map();
      this.buckets.set(timeMs, bucket);
      this.lastBucketMs = timeMs;
    }
    bucket.set(account.ordinal, account);
    return true;
  }

  /** Puts back the position takeOldest returned last: the next call returns it again. */
  putBack(): void {
    this.next -= 1;
  }

  closed(account: Account): void {
    this.holders.delete(account.ordinal);
  }

  /**
   * Takes the next position realised before `beforeMs`, in ascending
   * (realisedAtMs, account ordinal); undefined when there is none. Stale
   * members are dropped on the way.
   */
  takeOldest(beforeMs: number): Account | undefined {
    for (;;) {
      const first = this.buckets.entries().next();
      if (first.done === true || first.value[0] >= beforeMs) return undefined;
      const [timeMs, bucket] = first.value;
      this.sortedOrdinals ??= [...bucket.keys()].sort((left, right) => left - right);
      while (this.next < this.sortedOrdinals.length) {
        const account = bucket.get(this.sortedOrdinals[this.next++]!)!;
        if (account.positions.get(this.marketIndex)?.realisedAtMs === timeMs) return account;
      }
      this.buckets.delete(timeMs);
      this.sortedOrdinals = undefined;
      this.next = 0;
    }
  }

  /** The members of every bucket (stale included): for the consistency check. */
  *bucketMembers(): Generator<[number, Account]> {
    for (const [timeMs, bucket] of this.buckets) for (const account of bucket.values()) yield [timeMs, account];
  }
}

/** The market's index, built from `state`'s accounts when first asked for. */
export function marketPositionsOf(state: ExchangeState, market: Market): MarketPositions {
  const perp = market.perp!;
  let index = perp.positionIndex;
  if (index !== undefined) return index;
  index = new MarketPositions(market.index);
  const held: Array<[number, Account]> = [];
  for (const account of state.accountList) {
    const position = account.positions.get(market.index);
    if (position !== undefined) held.push([position.realisedAtMs, account]);
  }
  held.sort((left, right) => left[0] - right[0] || left[1].ordinal - right[1].ordinal);
  for (const [timeMs, account] of held) index.realised(account, timeMs);
  perp.positionIndex = index;
  return index;
}

/**
 * Hook: `account`'s position on `market` was opened or realised at `timeMs`.
 * Nothing to do while the market's index is not built (the build reads the
 * position). A time out of order cannot happen while log time never
 * decreases; should it, the index is dropped and rebuilt from the positions.
 */
export function positionRealised(market: Market, account: Account, timeMs: number): void {
  const index = market.perp?.positionIndex;
  if (index !== undefined && !index.realised(account, timeMs)) market.perp!.positionIndex = undefined;
}

/** Hook: `account`'s position on `market` became flat and was removed. */
export function positionClosed(market: Market, account: Account): void {
  market.perp?.positionIndex?.closed(account);
}

/**
 * Checks a built index against the positions (tests' invariants): the
 * holders are exactly the accounts with a position, and each position is in
 * the bucket of its realisedAtMs. O(positions); nothing to check when the
 * index is not built.
 */
export function checkMarketPositions(state: ExchangeState, market: Market, fail: (message: string) => never): void {
  const index = market.perp?.positionIndex;
  if (index === undefined) return;
  const found = new Set<number>();
  for (const [timeMs, account] of index.bucketMembers()) {
    if (account.positions.get(market.index)?.realisedAtMs === timeMs) found.add(account.ordinal);
  }
  let count = 0;
  for (const account of state.accountList) {
    if (!account.positions.has(market.index)) continue;
    count += 1;
    if (index.holders.get(account.ordinal) !== account) fail(`${market.symbol}: ${account.id} missing from holders`);
    if (!found.has(account.ordinal)) fail(`${market.symbol}: ${account.id}'s position is not queued for realisation`);
  }
  if (count !== index.holders.size) fail(`${market.symbol}: ${index.holders.size} holders for ${count} positions`);
}
