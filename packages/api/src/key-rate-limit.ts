/**
 * The per-key rate limit, counted only for requests whose signature
 * verified.
 *
 * Public keys are public (the log, the genesis, every attestation), so a
 * limit keyed by the raw X-API-Key header would let anyone spend a victim's
 * budget with unsigned or badly signed requests. Here a request counts
 * against a key only once it is known to come from the key's holder: a
 * signed query after its signature and timestamp verified, a transaction
 * after the node verified its signature and found it fresh (a replay of a
 * signed message taken from the public log does not count either). A key
 * whose budget is spent is refused before any work. Unauthenticated traffic
 * is bounded by the per-IP limit alone.
 *
 * Fixed windows: simple, and a key can do at most twice its budget across a
 * window boundary, which is what the limit is for (a bound, not a meter).
 * Only keys that verified are ever stored, and windows that have ended are
 * swept, so the map holds at most the keys seen in the last window.
 */
import { ApiError } from './errors.js';

export interface KeyLimit {
  /** Verified requests allowed per window. */
  readonly max: number;
  readonly timeWindowMs: number;
}

/** A 429 that carries its own Retry-After. */
export class RateLimitedError extends ApiError {
  constructor(message: string, retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Codes of answers that do not show the request came from the key's holder:
 * a signature that does not verify, or a verified message that is stale or
 * already applied (anyone can resend one from the log). Such answers never
 * count against the key.
 */
const notCountedCodes: ReadonlySet<string> = new Set([
  'INVALID_SIGNATURE',
  'INVALID_TIMESTAMP',
  'INVALID_WINDOW',
  'DUPLICATE_REQUEST',
  'TOO_MANY_REQUESTS',
  'SERVICE_UNAVAILABLE',
  'SERVER_ERROR',
]);

export function countsAgainstKey(error: unknown): boolean {
  return !(error instanceof ApiError) || !notCountedCodes.has(error.code);
}

export class VerifiedKeyRateLimit {
  private readonly windows = new Map<string, { startMs: number; count: number }>();
  private lastSweepMs = 0;

  constructor(
    private readonly limit: KeyLimit,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Keys with a window open now (for tests and diagnostics). */
  get size(): number {
    return this.windows.size;
  }

  /** Throws RateLimitedError if `key` has spent its budget in the current window; counts nothing. */
  refuseIfSpent(key: string): void {
    const now = this.clock();
    const window = this.windows.get(key);
    if (window === undefined || now - window.startMs >= this.limit.timeWindowMs || window.count < this.limit.max)
      return;
    const retryAfterSeconds = Math.max(1, Math.ceil((window.startMs + this.limit.timeWindowMs - now) / 1000));
    throw new RateLimitedError(
      `Too many requests from this API key; retry in ${retryAfterSeconds} s.`,
      retryAfterSeconds,
    );
  }

  /** Counts one verified request of `key`. */
  count(key: string): void {
    const now = this.clock();
    this.sweep(now);
    const window = this.windows.get(key);
    if (window === undefined || now - window.startMs >= this.limit.timeWindowMs)
      this.windows.set(key, { startMs: now, count: 1 });
    else window.count += 1;
  }

  /** For a request verified up front (a signed query): refuses it if the budget is spent, else counts it. */
  take(key: string): void {
    this.refuseIfSpent(key);
    this.count(key);
  }

  /** Drops ended windows, at most once per window length, so the cost is amortized. */
  private sweep(now: number): void {
    if (now - this.lastSweepMs < this.limit.timeWindowMs) return;
    this.lastSweepMs = now;
    for (const [key, window] of this.windows)
      if (now - window.startMs >= this.limit.timeWindowMs) this.windows.delete(key);
  }
}
