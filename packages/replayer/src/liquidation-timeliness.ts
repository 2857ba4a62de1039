/**
 * The liquidation-timeliness report (docs/replayer.md, "Liquidation
 * timeliness"): accounts that stayed below their maintenance margin for
 * longer than a grace period of log time without being liquidated. The
 * engine only proves that every liquidation in the log was justified; this
 * report makes the other half of the operator's risk management checkable,
 * that no unhealthy account was left standing.
 *
 * Bounded per entry: after each entry only the accounts whose health can
 * have changed are judged again, the accounts the entry touched (named by
 * its balance, borrow/lend, settings and liquidation events) and, when it
 * moved a price or lowered a supply index (a socialised loss), the accounts
 * that borrow (state.borrowers), never all accounts. Health also drifts with
 * interest between touches; that drift is seen at the account's next touch or
 * the next price update, which is when an account's stretch below
 * maintenance is taken to begin.
 *
 * Liquidation is gradual (docs/margin.md, section 8): one liquidate is one
 * bounded step, and an account may stay below maintenance after it. A step
 * ends the stretch (`liquidated`) and, if the account is still below, a new
 * one begins at that entry: the grace bounds the time between steps, not the
 * time to close the whole account.
 */
import { isLiquidatable, type ApplyOutcome, type EngineEvent, type ExchangeState } from '@vex/engine';

/** The default grace: one minute of log time (the built-in keeper acts within a second of a price update). */
export const defaultLiquidationGraceMs = 60_000;
/** At most this many late accounts are listed; `lateCount` counts them all. */
export const maximumListedLateLiquidations = 1000;

/** One stretch of an account below its maintenance margin that lasted longer than the grace. */
export interface LateLiquidation {
  /** The account's key, base64. */
  readonly account: string;
  /** The entry after which the account was first seen below maintenance, and its log time. */
  readonly belowSinceSequence: number;
  readonly belowSinceMs: number;
  /**
   * How the stretch ended: `liquidated` (late), `recovered` (back above
   * maintenance, or no debt left, without a liquidation), or `open` (still
   * below at the end of the replay).
   */
  readonly outcome: 'liquidated' | 'recovered' | 'open';
  /** The entry that ended it (the last entry replayed, for `open`), and its log time. */
  readonly endSequence: number;
  readonly endMs: number;
  /** endMs − belowSinceMs: more than the grace. */
  readonly belowForMs: number;
}

export interface LiquidationTimelinessReport {
  /** The grace used, in milliseconds of log time. */
  readonly graceMs: number;
  /** How many stretches lasted longer than the grace. */
  readonly lateCount: number;
  /** The first `maximumListedLateLiquidations` of them, in the order they ended (open ones last). */
  readonly late: readonly LateLiquidation[];
}

interface Stretch {
  readonly sequence: number;
  readonly sinceMs: number;
}

/** The account an event shows touched, if any. */
function accountTouchedBy(event: EngineEvent): string | undefined {
  switch (event.type) {
    case 'balance':
      return event.account;
    case 'borrowLend':
      return event.borrowLend.account;
    case 'accountUpdated':
      return event.settings.account;
    case 'liquidation':
      return event.liquidation.account;
    case 'coveragePool':
      // A withdrawal request moves no balance but takes the requested shares out of the account's collateral.
      return event.coveragePool.account;
    default:
      return undefined;
  }
}

/** Whether an event moved every borrower's health. */
function movesEveryBorrower(event: EngineEvent): boolean {
  switch (event.type) {
    case 'liquidation':
      // Fees and backstop payouts move the coverage pools, so every underwriter's collateral shares.
      return event.liquidation.feeUnits > 0n || event.liquidation.backstopped;
    case 'indexPrice':
    case 'socialisedLoss':
      return true;
    default:
      return false;
  }
}

/**
 * Past this many accounts named by one entry, observe looks them up in a Set instead of scanning its list:
 * an entry names a handful (a trade's two or three accounts), a price update every borrower.
 */
const scannedAccountsLimit = 16;

export class LiquidationTimeliness {
  /** Accounts below maintenance now, by key, with when that began (in the order they fell below). */
  private readonly below = new Map<string, Stretch>();
  private readonly late: LateLiquidation[] = [];
  private lateCount = 0;
  /**
   * observe's working lists, overwritten in place from the start: it runs after every entry, and emptying a
   * Set allocates a new table (V8's Set.prototype.clear), which made two tables of garbage per entry.
   * `touched[0, touchedCount)` are the accounts to judge, each once, in the order the entry first named them.
   */
  private readonly touched: string[] = [];
  private touchedCount = 0;
  /** The same accounts, filled only when an entry names more than scannedAccountsLimit. */
  private readonly touchedSet = new Set<string>();
  private readonly liquidated: string[] = [];
  private liquidatedCount = 0;

  constructor(readonly graceMs: number = defaultLiquidationGraceMs) {
    if (!Number.isSafeInteger(graceMs) || graceMs < 0)
      throw new RangeError(`the liquidation grace must be a non-negative integer of milliseconds, got ${graceMs}`);
  }

  /** Judges again the accounts whose health entry `sequence` (accepted, its state after it) can have changed. */
  observe(sequence: number, outcome: ApplyOutcome, state: ExchangeState): void {
    if (!outcome.accepted) return;
    this.touchedCount = 0;
    this.liquidatedCount = 0;
    if (this.touchedSet.size > 0) this.touchedSet.clear();
    let everyBorrower = false;
    const events = outcome.events;
    for (let index = 0; index < events.length; index += 1) {
      const event = events[index]!;
      const account = accountTouchedBy(event);
      if (account !== undefined) this.touch(account);
      if (movesEveryBorrower(event)) everyBorrower = true;
      if (event.type === 'liquidation') this.liquidated[this.liquidatedCount++] = event.liquidation.account;
    }
    if (everyBorrower) for (const account of state.borrowers) this.touch(account.id);
    const touched = this.touched;
    for (let index = 0; index < this.touchedCount; index += 1) {
      const id = touched[index]!;
      this.judge(id, sequence, state, this.wasLiquidated(id));
    }
  }

  /** Adds `id` to the accounts to judge unless it is there already. */
  private touch(id: string): void {
    const touched = this.touched;
    const count = this.touchedCount;
    if (count < scannedAccountsLimit) {
      for (let index = 0; index < count; index += 1) if (touched[index] === id) return;
    } else {
      if (this.touchedSet.size === 0)
        for (let index = 0; index < count; index += 1) this.touchedSet.add(touched[index]!);
      if (this.touchedSet.has(id)) return;
      this.touchedSet.add(id);
    }
    touched[count] = id;
    this.touchedCount = count + 1;
  }

  private wasLiquidated(id: string): boolean {
    for (let index = 0; index < this.liquidatedCount; index += 1) if (this.liquidated[index] === id) return true;
    return false;
  }

  private judge(id: string, sequence: number, state: ExchangeState, liquidated: boolean): void {
    const account = state.accounts.get(id);
    const isBelow = account !== undefined && isLiquidatable(state, account, state.logTimeMs);
    const stretch = this.below.get(id);
    if (stretch !== undefined && (liquidated || !isBelow)) {
      this.below.delete(id);
      this.close(id, stretch, liquidated ? 'liquidated' : 'recovered', sequence, state.logTimeMs);
    }
    if (isBelow && !this.below.has(id)) this.below.set(id, { sequence, sinceMs: state.logTimeMs });
  }

  private close(id: string, stretch: Stretch, outcome: LateLiquidation['outcome'], sequence: number, endMs: number) {
    const belowForMs = endMs - stretch.sinceMs;
    if (belowForMs <= this.graceMs) return;
    this.lateCount += 1;
    if (this.late.length >= maximumListedLateLiquidations) return;
    this.late.push({
      account: id,
      belowSinceSequence: stretch.sequence,
      belowSinceMs: stretch.sinceMs,
      outcome,
      endSequence: sequence,
      endMs,
      belowForMs,
    });
  }

  /** The report as of the head: stretches still open count up to the head's log time. */
  report(headSequence: number, headLogTimeMs: number): LiquidationTimelinessReport {
    const late = [...this.late];
    let lateCount = this.lateCount;
    for (const [account, stretch] of this.below) {
      const belowForMs = headLogTimeMs - stretch.sinceMs;
      if (belowForMs <= this.graceMs) continue;
      lateCount += 1;
      if (late.length >= maximumListedLateLiquidations) continue;
      late.push({
        account,
        belowSinceSequence: stretch.sequence,
        belowSinceMs: stretch.sinceMs,
        outcome: 'open',
        endSequence: headSequence,
        endMs: headLogTimeMs,
        belowForMs,
      });
    }
    return { graceMs: this.graceMs, lateCount, late };
  }
}
