import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { countsAgainstKey, RateLimitedError, VerifiedKeyRateLimit } from './key-rate-limit.js';

describe('the per-key limit of verified requests', () => {
  it('counts only what it is told verified, refuses a spent key with Retry-After, and forgets ended windows', () => {
    let now = 1_000;
    const limit = new VerifiedKeyRateLimit({ max: 3, timeWindowMs: 10_000 }, () => now);
    // Refusal checks alone (forged requests) never spend the budget.
    for (let index = 0; index < 100; index += 1) limit.refuseIfSpent('victim');
    expect(limit.size).toBe(0);
    limit.take('victim');
    limit.count('victim');
    limit.take('victim');
    let refusal: unknown;
    try {
      limit.take('victim');
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(RateLimitedError);
    expect((refusal as RateLimitedError).retryAfterSeconds).toBe(10);
    expect((refusal as RateLimitedError).code).toBe('TOO_MANY_REQUESTS');
    limit.take('other');
    now += 10_000;
    limit.take('victim');
    now += 10_000;
    limit.count('third');
    expect(limit.size).toBe(1);
  });

  it('does not count answers that anyone could provoke with a public key', () => {
    for (const code of ['INVALID_SIGNATURE', 'INVALID_TIMESTAMP', 'INVALID_WINDOW', 'DUPLICATE_REQUEST'])
      expect(countsAgainstKey(new ApiError(code))).toBe(false);
    for (const code of ['INSUFFICIENT_FUNDS', 'INVALID_ORDER', 'RESOURCE_NOT_FOUND'])
      expect(countsAgainstKey(new ApiError(code))).toBe(true);
  });
});
