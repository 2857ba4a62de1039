/**
 * What the entries since the state commitment last caught up have touched
 * (state-commitment.ts). Bookkeeping only: not state, never encoded or hashed.
 *
 * Recording is off until a StateCommitment follows the state, so that states
 * nobody commits to (tests, benchmarks, views) keep no growing lists. The
 * engine calls these hooks where the parts change:
 *
 * - accountChanged: a balance changed (EntryRecorder.finish), an open order
 *   was added or removed (matching.ts), a trigger fired, an account was
 *   created. Every other change of an open order's encoded fields (a fill)
 *   moves a balance of its account in the same entry.
 * - withdrawalChanged, depositCredited, messageChanged: an element of those
 *   collections was added or removed (funds.ts, replay-protection.ts).
 *
 * The small whole sections (header, assets, markets) need no hook: the
 * commitment rehashes them at every update.
 */
import type { Account } from './state.js';

export class StateChanges {
  /** Whether a StateCommitment follows the state and consumes these lists. */
  recording = false;
  /** The commitment that consumes these lists (StateCommitment.build with follow): a second one cannot steal them. */
  follower: object | undefined = undefined;
  /** Accounts touched, each once (Account.commitmentStale). */
  readonly accounts: Account[] = [];
  /** Pending withdrawals added or removed, by id. */
  readonly withdrawalIds: number[] = [];
  /** Credited deposit keys added. */
  readonly deposits: string[] = [];
  /** Acceptance log times of the replay-protection messages remembered or forgotten. */
  readonly messageTimes: number[] = [];

  accountChanged(account: Account): void {
    if (!this.recording || account.commitmentStale) return;
    account.commitmentStale = true;
    this.accounts.push(account);
  }

  withdrawalChanged(withdrawalId: number): void {
    if (this.recording) this.withdrawalIds.push(withdrawalId);
  }

  depositCredited(depositKey: string): void {
    if (this.recording) this.deposits.push(depositKey);
  }

  messageChanged(acceptedAtMs: number): void {
    if (this.recording) this.messageTimes.push(acceptedAtMs);
  }

  /** Empties the lists after a commitment update (or to start over with a full build). */
  clear(): void {
    for (const account of this.accounts) account.commitmentStale = false;
    this.accounts.length = 0;
    this.withdrawalIds.length = 0;
    this.deposits.length = 0;
    this.messageTimes.length = 0;
  }
}
