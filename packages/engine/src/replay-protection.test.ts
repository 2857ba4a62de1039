import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maximumWindowMs } from './limits.js';
import {
  forgetExpired,
  hasSeen,
  isWithinWindow,
  messageDigest,
  RememberedMessages,
  remember,
  replayMemoryMs,
} from './replay-protection.js';

function emptyReplay(): RememberedMessages {
  return new RememberedMessages();
}

/** A digest as messageDigest gives one: 32 latin1 characters. */
function digestOf(index: number): string {
  return createHash('sha256').update(`message ${index}`).digest('binary'); // 'binary' is Node's name for latin1
}

/** The live entries: what the ring says is still remembered, oldest first. */
function live(replay: RememberedMessages): Array<{ digest: string; acceptedAtMs: number }> {
  return Array.from({ length: replay.size }, (_, position) => ({
    digest: replay.digestAt(position),
    acceptedAtMs: replay.acceptedAtMsAt(position),
  }));
}

describe('isWithinWindow', () => {
  it('accepts |logTime − timestamp| ≤ window, boundaries included', () => {
    const logTime = 1_000_000;
    for (const window of [1, 5_000, 60_000]) {
      expect(isWithinWindow(logTime, logTime, window)).toBe(true);
      expect(isWithinWindow(logTime, logTime - window, window)).toBe(true);
      expect(isWithinWindow(logTime, logTime + window, window)).toBe(true);
      expect(isWithinWindow(logTime, logTime - window - 1, window)).toBe(false);
      expect(isWithinWindow(logTime, logTime + window + 1, window)).toBe(false);
    }
  });

  it('agrees with the absolute-difference rule everywhere', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 50 }),
        fc.integer({ min: -200_000, max: 200_000 }),
        fc.integer({ min: 1, max: maximumWindowMs }),
        (logTime, offset, window) => {
          fc.pre(logTime + offset >= 0);
          expect(isWithinWindow(logTime, logTime + offset, window)).toBe(Math.abs(offset) <= window);
        },
      ),
    );
  });
});

describe('messageDigest', () => {
  it('is SHA-256 of public key ‖ message, one latin1 character per byte', () => {
    const key = new Uint8Array(32).fill(1);
    const message = new TextEncoder().encode('instruction=balanceQuery&timestamp=1&window=5000');
    const expected = createHash('sha256')
      .update(Buffer.concat([key, message]))
      .digest();
    expect(messageDigest(key, message)).toHaveLength(32);
    expect(Buffer.from(messageDigest(key, message), 'latin1')).toEqual(expected);
  });

  it('separates keys and messages', () => {
    const message = new TextEncoder().encode('instruction=balanceQuery&timestamp=1&window=5000');
    expect(messageDigest(new Uint8Array(32).fill(1), message)).not.toBe(
      messageDigest(new Uint8Array(32).fill(2), message),
    );
    expect(messageDigest(new Uint8Array(32), message)).not.toBe(messageDigest(new Uint8Array(32), message.subarray(1)));
  });

  it('hashes exactly the given bytes whatever the length, and one call leaves nothing behind for the next', () => {
    const key = new Uint8Array(32).fill(7);
    const expected = (message: Uint8Array): Buffer =>
      createHash('sha256')
        .update(Buffer.concat([key, message]))
        .digest();
    // Longer than any accepted signing string (the reused buffer's size): it is hashed from a buffer of its own.
    const long = new Uint8Array(20_000).fill(0x61);
    const short = new TextEncoder().encode('instruction=balanceQuery&timestamp=1&window=5000');
    for (const message of [long, short, short.subarray(0, 10), new Uint8Array(0), long.subarray(0, 16_384)]) {
      expect(Buffer.from(messageDigest(key, message), 'latin1')).toEqual(expected(message));
    }
  });
});

describe('remember and hasSeen', () => {
  it('refuses a remembered digest and nothing else', () => {
    const replay = emptyReplay();
    expect(hasSeen(replay, digestOf(1))).toBe(false);
    remember(replay, digestOf(1), 10);
    expect(hasSeen(replay, digestOf(1))).toBe(true);
    expect(hasSeen(replay, digestOf(2))).toBe(false);
  });
});

describe('forgetExpired', () => {
  it(`remembers for exactly ${replayMemoryMs} ms, twice the largest window`, () => {
    expect(replayMemoryMs).toBe(2 * 60_000);
    const replay = emptyReplay();
    remember(replay, digestOf(1), 1_000);
    forgetExpired(replay, 1_000 + replayMemoryMs);
    expect(hasSeen(replay, digestOf(1))).toBe(true);
    forgetExpired(replay, 1_000 + replayMemoryMs + 1);
    expect(hasSeen(replay, digestOf(1))).toBe(false);
    expect(live(replay)).toEqual([]);
  });

  it('forgets exactly the entries older than the memory and keeps the rest, in order', () => {
    const replay = emptyReplay();
    const times = [0, 10, 10, 500, 60_000, 120_000, 120_001, 125_000];
    times.forEach((time, index) => remember(replay, digestOf(index), time));
    const now = 120_010;
    forgetExpired(replay, now);
    times.forEach((time, index) =>
      expect(hasSeen(replay, digestOf(index)), `accepted at ${time}`).toBe(now - time <= replayMemoryMs),
    );
    expect(live(replay).map((entry) => entry.acceptedAtMs)).toEqual([10, 10, 500, 60_000, 120_000, 120_001, 125_000]);
    expect(replay.size).toBe(7);
  });

  it('is idempotent and never forgets anything when time stands still', () => {
    const replay = emptyReplay();
    for (let index = 0; index < 10; index += 1) remember(replay, digestOf(index), 5_000);
    forgetExpired(replay, 5_000);
    forgetExpired(replay, 5_000);
    expect(replay.size).toBe(10);
    forgetExpired(replay, 5_000 + replayMemoryMs + 1);
    forgetExpired(replay, 5_000 + replayMemoryMs + 1);
    expect(replay.size).toBe(0);
  });

  it('a message forgotten can no longer pass the window rule anyway', () => {
    // Accepted at log time L with |L − t| ≤ w ≤ 60 s; any later log time L' that still admits it has L' ≤ t + w ≤ L + 2w.
    fc.assert(
      fc.property(
        fc.integer({ min: 200_000, max: 2 ** 45 }),
        fc.integer({ min: 1, max: maximumWindowMs }),
        fc.integer({ min: -maximumWindowMs, max: maximumWindowMs }),
        fc.integer({ min: 0, max: 400_000 }),
        (acceptedAt, window, offset, later) => {
          const timestamp = acceptedAt + Math.max(-window, Math.min(window, offset));
          expect(isWithinWindow(acceptedAt, timestamp, window)).toBe(true);
          const replay = emptyReplay();
          remember(replay, digestOf(0), acceptedAt);
          forgetExpired(replay, acceptedAt + later);
          if (!hasSeen(replay, digestOf(0))) expect(isWithinWindow(acceptedAt + later, timestamp, window)).toBe(false);
        },
      ),
    );
  });
});

describe('the ring and its index', () => {
  /** A model with no compaction: the set of digests accepted within the memory. */
  function modelSeen(entries: ReadonlyArray<{ digest: string; acceptedAtMs: number }>, now: number): string[] {
    return entries.filter((entry) => now - entry.acceptedAtMs <= replayMemoryMs).map((entry) => entry.digest);
  }

  it('wraps, grows and shrinks the ring without changing what is remembered', () => {
    const replay = emptyReplay();
    const all: Array<{ digest: string; acceptedAtMs: number }> = [];
    let now = 0;
    // 3000 accepted messages one per 100 ms: about 1200 are live at any time, so the ring grows and wraps round.
    for (let index = 0; index < 3_000; index += 1) {
      now = index * 100;
      forgetExpired(replay, now);
      const digest = digestOf(index);
      expect(hasSeen(replay, digest)).toBe(false);
      remember(replay, digest, now);
      all.push({ digest, acceptedAtMs: now });
    }
    const expected = modelSeen(all, now);
    expect(live(replay).map((entry) => entry.digest)).toEqual(expected);
    expect(replay.size).toBe(expected.length);
    for (const entry of all) expect(hasSeen(replay, entry.digest)).toBe(expected.includes(entry.digest));
  });

  it('matches the model for random acceptance times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 3_000 }), (gaps) => {
        const replay = emptyReplay();
        const all: Array<{ digest: string; acceptedAtMs: number }> = [];
        let now = 0;
        gaps.forEach((gap, index) => {
          now += gap;
          forgetExpired(replay, now);
          const digest = digestOf(index);
          remember(replay, digest, now);
          all.push({ digest, acceptedAtMs: now });
        });
        forgetExpired(replay, now);
        const expected = modelSeen(all, now);
        expect(live(replay).map((entry) => entry.digest)).toEqual(expected);
        expect(replay.size).toBe(expected.length);
      }),
      { numRuns: 50 },
    );
  });
});

describe('digests that share their first four bytes', () => {
  /** Digests a signer could grind: all with the same first four bytes, so all with the same home slot. */
  const colliding = (index: number): string => `ABCD${String(index).padStart(28, '0')}`;

  it('are all found, past the slots near their home, and forgotten one by one', () => {
    const replay = emptyReplay();
    for (let index = 0; index < 200; index += 1) remember(replay, colliding(index), index);
    for (let index = 0; index < 200; index += 1) expect(hasSeen(replay, colliding(index))).toBe(true);
    expect(hasSeen(replay, colliding(200))).toBe(false);
    expect(hasSeen(replay, digestOf(1))).toBe(false);
    for (let forgotten = 0; forgotten < 200; forgotten += 1) {
      forgetExpired(replay, forgotten + replayMemoryMs + 1);
      expect(hasSeen(replay, colliding(forgotten))).toBe(false);
      if (forgotten < 199) expect(hasSeen(replay, colliding(forgotten + 1))).toBe(true);
      if (forgotten < 199) expect(hasSeen(replay, colliding(199))).toBe(true);
    }
    expect(replay.size).toBe(0);
  });

  it('match the model mixed with ordinary digests, through growing and shrinking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.boolean(), fc.integer({ min: 0, max: 499 })), {
          minLength: 1,
          maxLength: 3_000,
        }),
        (steps) => {
          const replay = emptyReplay();
          const all: Array<{ digest: string; acceptedAtMs: number }> = [];
          let now = 0;
          // About 800 remembered at once (more than the ring starts with), and now and then a pause forgets them all.
          steps.forEach(([gap, collides, pause], index) => {
            now += gap + (pause === 0 ? 2 * replayMemoryMs : 0);
            forgetExpired(replay, now);
            const digest = collides ? colliding(index) : digestOf(index);
            expect(hasSeen(replay, digest)).toBe(false);
            remember(replay, digest, now);
            all.push({ digest, acceptedAtMs: now });
          });
          const remembered = all.filter((entry) => now - entry.acceptedAtMs <= replayMemoryMs);
          expect(live(replay)).toEqual(remembered);
          for (const entry of all) expect(hasSeen(replay, entry.digest)).toBe(remembered.includes(entry));
        },
      ),
      { numRuns: 30 },
    );
  });
});
