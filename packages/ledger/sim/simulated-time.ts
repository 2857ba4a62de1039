/**
 * Simulated time: a clock that moves only when the simulator says so, and a
 * scheduler (the node's NodeScheduler) whose callbacks run only when the
 * simulator picks them. Nothing waits for real time, so a run takes as long
 * as its computation, and the order of events is a function of the seed.
 */
import type { NodeScheduler } from '../src/exchange-node.js';

export class SimulatedClock {
  constructor(private currentMs: number) {}

  get nowMs(): number {
    return this.currentMs;
  }

  advance(durationMs: number): void {
    if (!Number.isSafeInteger(durationMs) || durationMs < 0)
      throw new RangeError(`cannot advance the clock by ${durationMs} ms`);
    this.currentMs += durationMs;
  }

  advanceTo(timeMs: number): void {
    if (timeMs > this.currentMs) this.currentMs = timeMs;
  }
}

interface Timer {
  readonly dueMs: number;
  /** Ties on dueMs run in the order the timers were set. */
  readonly order: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * One per node process: when the process crashes, its scheduler is abandoned
 * and whatever the dead process had scheduled never runs.
 */
export class SimulatedScheduler implements NodeScheduler {
  private soon: Array<() => void> = [];
  private timers: Timer[] = [];
  private timersSet = 0;
  private abandoned = false;

  constructor(private readonly clock: SimulatedClock) {}

  runSoon(callback: () => void): void {
    if (!this.abandoned) this.soon.push(callback);
  }

  runAfter(delayMs: number, callback: () => void): () => void {
    const timer: Timer = {
      dueMs: this.clock.nowMs + Math.max(0, Math.ceil(delayMs)),
      order: this.timersSet++,
      callback,
      cancelled: false,
    };
    if (!this.abandoned) this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  hasSoonWork(): boolean {
    return this.soon.length > 0;
  }

  /** Runs the oldest callback given to runSoon. */
  runNextSoon(): void {
    const callback = this.soon.shift();
    callback?.();
  }

  private liveTimers(): Timer[] {
    this.timers = this.timers.filter((timer) => !timer.cancelled);
    return this.timers;
  }

  hasDueTimer(): boolean {
    return this.liveTimers().some((timer) => timer.dueMs <= this.clock.nowMs);
  }

  /** When the earliest pending timer is due, if any is pending. */
  nextTimerDueMs(): number | undefined {
    let earliest: number | undefined;
    for (const timer of this.liveTimers()) if (earliest === undefined || timer.dueMs < earliest) earliest = timer.dueMs;
    return earliest;
  }

  /** Runs the earliest due timer (ties in the order they were set). */
  runNextDueTimer(): void {
    let next: Timer | undefined;
    for (const timer of this.liveTimers()) {
      if (timer.dueMs > this.clock.nowMs) continue;
      if (next === undefined || timer.dueMs < next.dueMs || (timer.dueMs === next.dueMs && timer.order < next.order))
        next = timer;
    }
    if (next === undefined) return;
    this.timers.splice(this.timers.indexOf(next), 1);
    next.callback();
  }

  /** The process died: nothing it scheduled runs, now or later. */
  abandon(): void {
    this.abandoned = true;
    this.soon = [];
    this.timers = [];
  }
}
