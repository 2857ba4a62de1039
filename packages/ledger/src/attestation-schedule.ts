/**
 * The attestation schedule: which attestation is served (the latest whose
 * batch is durable; the maker may be one ahead while its batch is written),
 * who hears of each one, who waits for one, and the idle timer that attests
 * the head when entries stop coming (docs/attestation.md, "When").
 */
import type { Attestation, ExchangeState } from '@vex/engine';
import type { Logger } from 'pino';
import type { AttestationMaker } from './attestation-maker.js';
import { maximumTimerDelayMs, type NodeScheduler } from './node-options.js';

interface AttestationWaiter {
  readonly sequence: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class AttestationSchedule {
  private durableAttestation: Attestation | undefined;
  private readonly listeners = new Set<(attestation: Attestation) => void>();
  private waiters: AttestationWaiter[] = [];
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly maker: AttestationMaker | undefined,
    latestDurable: Attestation | undefined,
    private readonly scheduler: NodeScheduler,
    private readonly clock: () => number,
    private readonly logger: Logger,
  ) {
    this.durableAttestation = latestDurable;
  }

  /** The latest attestation whose batch is durable; undefined before the first. */
  get latest(): Attestation | undefined {
    return this.durableAttestation;
  }

  /** Calls `listener` with every attestation once its batch is durable, in sequence order; returns an unsubscriber. */
  subscribe(listener: (attestation: Attestation) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** An attestation's batch is on disk: it becomes the one served, and its subscribers and proof waiters hear of it. */
  durable(attestation: Attestation): void {
    this.durableAttestation = attestation;
    for (const listener of this.listeners) {
      try {
        listener(attestation);
      } catch (error) {
        this.logger.error({ err: error, sequence: attestation.sequence }, 'ledger: an attestation subscriber threw');
      }
    }
    const waiters = this.waiters;
    this.waiters = waiters.filter((waiter) => waiter.sequence > attestation.sequence);
    for (const waiter of waiters) if (waiter.sequence <= attestation.sequence) waiter.resolve();
  }

  /** Resolves once the attestation at `sequence` (or a later one) is durable; rejects with `halted`, or on fail(). */
  whenDurable(sequence: number, halted: Error | undefined): Promise<void> {
    if ((this.durableAttestation?.sequence ?? 0) >= sequence) return Promise.resolve();
    if (halted !== undefined) return Promise.reject(halted);
    return new Promise((resolve, reject) => this.waiters.push({ sequence, resolve, reject }));
  }

  /** The node halted: every waiter hears `error`, and the timer stops. */
  fail(error: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(error);
    this.cancel();
  }

  cancel(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /**
   * When entries are left unattested, a timer attests the head once the
   * clock is attestEveryMs past the last attestation, so the last entries
   * before a quiet spell are attested too. While entries keep coming the
   * sequencer attests first and the timer finds nothing to do. `active`
   * says whether the node still works (not closing, not halted);
   * `attestHead` makes and queues the attestation.
   */
  arm(state: ExchangeState, active: () => boolean, attestHead: () => void): void {
    const maker = this.maker;
    if (maker === undefined || this.cancelTimer !== undefined || !active()) return;
    if (!maker.hasUnattested(state)) return;
    // setTimeout takes at most 2^31 − 1 ms (longer delays fire at once), so a far-off attestation is re-checked then.
    const delayMs = Math.min(maker.msUntilDue(this.clock()), maximumTimerDelayMs);
    this.cancelTimer = this.scheduler.runAfter(delayMs, () => {
      this.cancelTimer = undefined;
      if (!active() || !maker.hasUnattested(state)) return;
      // The clock may lag the log time (it is only ever taken forward): wait until it has caught up.
      if (maker.msUntilDue(this.clock()) > 0) this.arm(state, active, attestHead);
      else attestHead();
    });
  }
}
