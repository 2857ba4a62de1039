/**
 * The follower's watch of the log's keys (etcd-follower.ts): the events it has
 * received and the follower has not yet taken, whether it broke (an error or
 * an end, after which the follower catches up by range reads and watches
 * anew), and a wake-up for the follower waiting on it. Only the current watch
 * counts: events and breaks of a watch that was stopped or replaced are
 * ignored.
 */
import type { IEvent, Watcher } from 'etcd3';
import type { EtcdLogStore } from './etcd-log-store.js';

export class LogWatch {
  /** Events received and not yet taken, in order. */
  readonly pending: IEvent[] = [];
  /** The current watch ended or failed. */
  broken = false;
  #watcher: Watcher | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly store: EtcdLogStore,
    /** The follower's test seam (FollowerOptions.watchEventFilter). */
    private readonly eventFilter?: (events: IEvent[]) => IEvent[],
  ) {}

  /** Wakes the follower if it waits; also the abort listener. */
  readonly notify = (): void => {
    const waiting = this.#wake;
    this.#wake = undefined;
    waiting?.();
  };

  /** Watches the log's keys from `fromRevision` on, in place of any earlier watch. */
  async start(fromRevision: number): Promise<void> {
    const created = await this.store.client
      .watch()
      .prefix(this.store.keys.all)
      .startRevision(String(fromRevision))
      .create();
    created.on('data', (response) => {
      if (created !== this.#watcher) return;
      const events = this.eventFilter === undefined ? response.events : this.eventFilter(response.events);
      for (const event of events) this.pending.push(event);
      this.notify();
    });
    // Reconnections are the watch's business (it resumes from its last revision). An error or an end (a start
    // revision already compacted, say) makes the follower catch up by range reads and watch anew.
    const broken = (): void => {
      if (created !== this.#watcher) return;
      this.broken = true;
      this.notify();
    };
    created.on('error', broken);
    created.on('end', broken);
    this.#watcher = created;
  }

  /** Cancels the current watch; its later events and breaks are ignored. */
  async stop(): Promise<void> {
    const old = this.#watcher;
    this.#watcher = undefined;
    await old?.cancel().catch(() => undefined);
  }

  /** Waits for an event, a break or notify() (true), or `timeoutMs` without any (false). */
  async wait(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const woken = await new Promise<boolean>((resolve) => {
      this.#wake = () => resolve(true);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    clearTimeout(timer);
    this.#wake = undefined;
    return woken;
  }
}
