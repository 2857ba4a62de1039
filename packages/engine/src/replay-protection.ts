/**
 * Replay protection without per-account nonces.
 *
 * A signed message is valid only while its timestamp lies within its window of
 * the entry's log time: |logTime − timestamp| ≤ window ≤ 60 s. Inside that
 * span the exact message (public key ‖ signed bytes) is remembered, so it is
 * applied at most once. Once an accepted message is older than twice the
 * largest window, no entry can carry it validly any more (its timestamp is out
 * of every window), so it is forgotten. Both rules read only the log time,
 * never a clock, so every replay forgets the same messages at the same entry.
 *
 * Concurrent clients need no coordination: messages from one key may arrive in
 * any order as long as each is inside its window, because no counter has to
 * advance. Two identical requests signed in the same millisecond are the same
 * message and the second is refused; clients vary clientId or timestamp.
 */
import { hash } from 'node:crypto';
import { maximumWindowMs } from './limits.js';
import { maximumSigningStringBytes } from './signing-string.js';
import type { StateChanges } from './state-changes.js';
import type { ReplayProtectionState } from './state.js';

/** How long an accepted message is remembered: beyond this no window can admit it. */
export const replayMemoryMs = 2 * maximumWindowMs;

/** Room for a public key and the longest signing string accepted; a longer message gets its own buffer. */
const digestScratch = new Uint8Array(32 + maximumSigningStringBytes);

/**
 * SHA-256(public key ‖ message) as a 32-character latin1 string (one
 * character per byte). It is a Map key looked up on every entry; half the
 * length of hex makes hashing and comparing it cheaper. The state encoding
 * writes the 32 bytes themselves.
 */
export function messageDigest(publicKey: Uint8Array, message: Uint8Array): string {
  // One-shot hashing of one buffer is about twice as fast as a streaming Hash. The two parts are copied into
  // one reused buffer (hashing is synchronous, so no other call can overwrite it meanwhile): allocating a
  // fresh one per entry cost about as much again as the hash (1.3 against 0.6 µs on the replay bench's log).
  const length = publicKey.length + message.length;
  const input = length <= digestScratch.length ? digestScratch.subarray(0, length) : new Uint8Array(length);
  input.set(publicKey, 0);
  input.set(message, publicKey.length);
  return hash('sha256', input, 'binary'); // 'binary' is Node's name for latin1
}

export function isWithinWindow(logTimeMs: number, timestampMs: number, windowMs: number): boolean {
  return timestampMs >= logTimeMs - windowMs && timestampMs <= logTimeMs + windowMs;
}

export function hasSeen(replay: ReplayProtectionState, digest: string): boolean {
  return replay.seen.has(digest);
}

/** Forgets messages that no entry at `logTimeMs` or later can carry validly; `changes` hears of each. */
export function forgetExpired(replay: ReplayProtectionState, logTimeMs: number, changes?: StateChanges): void {
  const queue = replay.queue;
  let start = replay.queueStart;
  while (start < queue.length) {
    const oldest = queue[start]!;
    if (oldest.acceptedAtMs + replayMemoryMs >= logTimeMs) break;
    replay.seen.delete(oldest.digest);
    changes?.messageChanged(oldest.acceptedAtMs);
    start += 1;
  }
  // Compact now and then so the queue does not grow without bound.
  if (start > 1024 && start * 2 > queue.length) {
    queue.splice(0, start);
    start = 0;
  }
  replay.queueStart = start;
}

export function remember(
  replay: ReplayProtectionState,
  digest: string,
  logTimeMs: number,
  changes?: StateChanges,
): void {
  replay.seen.set(digest, logTimeMs);
  changes?.messageChanged(logTimeMs);
  replay.queue.push({ digest, acceptedAtMs: logTimeMs });
}
