/**
 * Admission: how many transactions the node holds in flight (submitted and
 * not yet answered), and the refusals when that bound is reached.
 *
 * A submit beyond maximumPendingTransactions is refused at once with
 * LedgerOverloadedError, logging nothing (clients get 429). The operator
 * hears of overload once per episode, not per refusal (thousands a second
 * would only add to the load): a warning when refusals start, and one with
 * the count when they have stopped.
 */
import type { Logger } from 'pino';
import { overloadQuietMs } from './node-options.js';

interface OverloadEpisode {
  readonly startedAtMs: number;
  lastRefusalAtMs: number;
  refused: number;
}

export class Admission {
  /** Submitted and not yet answered. */
  pendingTransactions = 0;
  /** The most that were ever pending at once (never above the bound). */
  peakPendingTransactions = 0;
  /** Submits refused because the bound was reached. */
  overloadedTransactions = 0;
  private overload: OverloadEpisode | undefined;

  constructor(
    readonly maximumPendingTransactions: number,
    private readonly clock: () => number,
    private readonly logger: Logger,
  ) {}

  /** True when another transaction would exceed the bound. */
  full(): boolean {
    return this.pendingTransactions >= this.maximumPendingTransactions;
  }

  /** Counts a refusal as overload, opening an episode (and warning once) if none is under way. */
  refuse(): void {
    this.overloadedTransactions += 1;
    const now = this.clock();
    if (this.overload === undefined) {
      this.overload = { startedAtMs: now, lastRefusalAtMs: now, refused: 0 };
      this.logger.warn(
        { maximumPendingTransactions: this.maximumPendingTransactions },
        'ledger overloaded: refusing transactions while this many are in flight (clients get 429)',
      );
    }
    this.overload.refused += 1;
    this.overload.lastRefusalAtMs = now;
  }

  /** Counts an admitted transaction; call answered() exactly once when it has its answer. */
  admit(): void {
    if (this.overload !== undefined) this.endEpisodeWhenQuiet(false);
    this.pendingTransactions += 1;
    if (this.pendingTransactions > this.peakPendingTransactions)
      this.peakPendingTransactions = this.pendingTransactions;
  }

  /** A pending transaction has its answer: its slot is free. */
  readonly answered = (): void => {
    this.pendingTransactions -= 1;
  };

  /** Ends the overload episode once a transaction is admitted overloadQuietMs after the last refusal (or at close). */
  endEpisodeWhenQuiet(closing: boolean): void {
    const overload = this.overload;
    if (overload === undefined || (!closing && this.clock() - overload.lastRefusalAtMs < overloadQuietMs)) return;
    this.overload = undefined;
    this.logger.warn(
      {
        refusedTransactions: overload.refused,
        durationMs: overload.lastRefusalAtMs - overload.startedAtMs,
        peakPendingTransactions: this.peakPendingTransactions,
        maximumPendingTransactions: this.maximumPendingTransactions,
      },
      'ledger overload over',
    );
  }
}
