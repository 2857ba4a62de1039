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

export function hasSeen(replay: RememberedMessages, digest: string): boolean {
  return replay.has(digest);
}

/** Forgets messages that no entry at `logTimeMs` or later can carry validly; `changes` hears of each. */
export function forgetExpired(replay: RememberedMessages, logTimeMs: number, changes?: StateChanges): void {
  while (replay.size > 0) {
    const oldestAcceptedAtMs = replay.acceptedAtMsAt(0);
    if (oldestAcceptedAtMs + replayMemoryMs >= logTimeMs) break;
    replay.forgetOldest();
    changes?.messageChanged(oldestAcceptedAtMs);
  }
}

export function remember(replay: RememberedMessages, digest: string, logTimeMs: number, changes?: StateChanges): void {
  replay.add(digest, logTimeMs);
  changes?.messageChanged(logTimeMs);
}

/** Slots looked at for one digest, from its home slot on: where add() puts it, and all that has() reads. */
const probeSlots = 16;
/** The length of a messageDigest: SHA-256's 32 bytes, one latin1 character each. */
const digestLength = 32;
/** The fewest messages the ring holds room for (a power of two). */
const minimumCapacity = 256;

/**
 * The remembered messages: each digest (messageDigest) with the log time it
 * was accepted at, oldest first. Messages are added in acceptance order and
 * forgotten oldest first, so they are a ring; the state encoding and the
 * state commitment read them by position (0 is the oldest).
 *
 * has() runs for every entry against about 110,000 remembered digests (the
 * replay bench's log). A Map of the digest strings cost three lookups per
 * entry (has, set, delete), each a few cache misses on a large table and on
 * the key strings themselves: 8 to 13 % of the replayer's main thread. Here
 * a digest is found through an open-addressing index in one typed array,
 * keyed by its first four bytes: has() reads the `probeSlots` slots from the
 * digest's home slot (two or three cache lines, read in order) and compares
 * the stored bytes only when those four match. A slot never moves, so
 * forgetting a message just empties its slot (has() reads all `probeSlots`
 * slots, so a hole ends nothing). The index has four slots per message the
 * ring has room for: at two, runs of 16 full slots were common enough (a
 * simulation of the bench's 110,000 digests) that the Set below was hardly
 * ever empty.
 *
 * Digests are SHA-256 outputs of messages a signer chooses, so a signer can
 * grind many digests onto one home slot. Nothing then probes further than
 * `probeSlots`: a digest with no free slot among its home's goes to a Set
 * (hashed by V8 with its per-process seed), counted per home slot so that
 * only lookups at such a home pay for the Set. Which structure holds a
 * digest never changes an answer: has() is exactly "added and not yet
 * forgotten".
 */
export class RememberedMessages {
  /**
   * The ring, by ring index (`oldest` is position 0): each digest's 32 bytes and its acceptance time. Bytes in
   * one typed array rather than strings: a remembered string outlived two young-generation collections and was
   * promoted (with the worker's string of a whole batch's digests that it was cut from), about 60 bytes per
   * entry for the old generation's collector to mark and, stored into the ring, an old-to-new reference for
   * every scavenge to visit.
   */
  private digestBytes: Uint8Array;
  private acceptedTimesMs: Float64Array;
  private ringMask: number;
  private oldest = 0;
  private count = 0;
  /** Pairs (first four bytes of the digest, ring index + 1); 0 as the second means an empty slot. */
  private slots: Int32Array;
  private slotMask: number;
  /** Digests that found no free slot near their home; and how many per home slot. */
  private readonly overflow = new Set<string>();
  private overflowByHome: Int32Array | undefined;

  constructor() {
    this.digestBytes = new Uint8Array(minimumCapacity * digestLength);
    this.acceptedTimesMs = new Float64Array(minimumCapacity);
    this.ringMask = minimumCapacity - 1;
    const slotCount = 4 * minimumCapacity;
    this.slots = new Int32Array(2 * slotCount);
    this.slotMask = slotCount - 1;
  }

  /** How many messages are remembered. */
  get size(): number {
    return this.count;
  }

  /** The acceptance time of the message at `position` (0 is the oldest). */
  acceptedAtMsAt(position: number): number {
    return this.acceptedTimesMs[(this.oldest + position) & this.ringMask]!;
  }

  /** The digest of the message at `position` (0 is the oldest), as messageDigest gives it. */
  digestAt(position: number): string {
    return latin1Of(this.digestBytesAt(position));
  }

  /** The digest's 32 bytes at `position` (0 is the oldest): a view, valid until the next add or forgetOldest. */
  digestBytesAt(position: number): Uint8Array {
    const start = ((this.oldest + position) & this.ringMask) * digestLength;
    return this.digestBytes.subarray(start, start + digestLength);
  }

  /** Whether `digest` (a messageDigest: 32 latin1 characters) is remembered. */
  has(digest: string): boolean {
    if (digest.length !== digestLength) return false;
    const prefix = digestPrefix(digest);
    const home = homeSlot(prefix, this.slotMask);
    const slots = this.slots;
    const mask = this.slotMask;
    for (let step = 0; step < probeSlots; step += 1) {
      const slot = (home + step) & mask;
      if (slots[2 * slot] === prefix) {
        const stored = slots[2 * slot + 1]!;
        if (stored !== 0 && this.storedDigestIs(stored - 1, digest)) return true;
      }
    }
    // Almost always empty: its per-home counts (another cache miss) are read only when it is not.
    if (this.overflow.size === 0) return false;
    return this.overflowByHome![home] !== 0 && this.overflow.has(digest);
  }

  /**
   * Remembers `digest` (a messageDigest: 32 latin1 characters), accepted at `acceptedAtMs`, as the newest
   * message. It must not be remembered already.
   */
  add(digest: string, acceptedAtMs: number): void {
    if (digest.length !== digestLength) throw new RangeError(`a digest is ${digestLength} characters`);
    if (this.count > this.ringMask) this.resize(2 * (this.ringMask + 1));
    const ringIndex = (this.oldest + this.count) & this.ringMask;
    const bytes = this.digestBytes;
    const start = ringIndex * digestLength;
    for (let index = 0; index < digestLength; index += 1) {
      const code = digest.charCodeAt(index);
      if (code > 0xff) throw new RangeError('a digest is latin1: one character per byte');
      bytes[start + index] = code;
    }
    this.acceptedTimesMs[ringIndex] = acceptedAtMs;
    this.count += 1;
    this.index(ringIndex);
  }

  /** Forgets the oldest message. */
  forgetOldest(): void {
    if (this.count === 0) throw new RangeError('no remembered message to forget');
    const ringIndex = this.oldest;
    const home = homeSlot(this.prefixAt(ringIndex), this.slotMask);
    const slots = this.slots;
    let found = false;
    for (let step = 0; step < probeSlots; step += 1) {
      const slot = (home + step) & this.slotMask;
      if (slots[2 * slot + 1] === ringIndex + 1) {
        slots[2 * slot] = 0;
        slots[2 * slot + 1] = 0;
        found = true;
        break;
      }
    }
    if (!found) {
      this.overflow.delete(this.digestAt(0));
      this.overflowByHome![home]! -= 1;
    }
    this.oldest = (ringIndex + 1) & this.ringMask;
    this.count -= 1;
    const capacity = this.ringMask + 1;
    if (capacity > minimumCapacity && this.count * 8 < capacity) this.resize(capacity >>> 1);
  }

  /** The first four bytes of the digest at `ringIndex`, as digestPrefix reads them from its string. */
  private prefixAt(ringIndex: number): number {
    const bytes = this.digestBytes;
    const start = ringIndex * digestLength;
    return bytes[start]! | (bytes[start + 1]! << 8) | (bytes[start + 2]! << 16) | (bytes[start + 3]! << 24);
  }

  private storedDigestIs(ringIndex: number, digest: string): boolean {
    const bytes = this.digestBytes;
    const start = ringIndex * digestLength;
    for (let index = 0; index < digestLength; index += 1)
      if (bytes[start + index] !== digest.charCodeAt(index)) return false;
    return true;
  }

  private index(ringIndex: number): void {
    const prefix = this.prefixAt(ringIndex);
    const home = homeSlot(prefix, this.slotMask);
    const slots = this.slots;
    for (let step = 0; step < probeSlots; step += 1) {
      const slot = (home + step) & this.slotMask;
      if (slots[2 * slot + 1] === 0) {
        slots[2 * slot] = prefix;
        slots[2 * slot + 1] = ringIndex + 1;
        return;
      }
    }
    this.overflow.add(latin1Of(this.digestBytes.subarray(ringIndex * digestLength, (ringIndex + 1) * digestLength)));
    this.overflowByHome ??= new Int32Array(this.slotMask + 1);
    this.overflowByHome[home]! += 1;
  }

  /** A ring of `capacity` (a power of two, at least the count) and an index of four times as many slots, rebuilt. */
  private resize(capacity: number): void {
    const digestBytes = new Uint8Array(capacity * digestLength);
    const acceptedTimesMs = new Float64Array(capacity);
    for (let position = 0; position < this.count; position += 1) {
      digestBytes.set(this.digestBytesAt(position), position * digestLength);
      acceptedTimesMs[position] = this.acceptedAtMsAt(position);
    }
    this.digestBytes = digestBytes;
    this.acceptedTimesMs = acceptedTimesMs;
    this.ringMask = capacity - 1;
    this.oldest = 0;
    const slotCount = 4 * capacity;
    this.slots = new Int32Array(2 * slotCount);
    this.slotMask = slotCount - 1;
    this.overflow.clear();
    this.overflowByHome = undefined;
    for (let position = 0; position < this.count; position += 1) this.index(position);
  }
}

/** A digest's 32 bytes as messageDigest's string: one latin1 character per byte. */
function latin1Of(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * The home slot of a digest by its first four bytes, all four folded into the low bits (a SHA-256 output's
 * bits are already uniform; the folding only spreads digests made up in tests). Integer operations only.
 */
function homeSlot(prefix: number, slotMask: number): number {
  return (prefix ^ (prefix >>> 11) ^ (prefix >>> 22)) & slotMask;
}

/** The digest's first four characters (bytes, for messageDigest's latin1) as a 32-bit integer. */
function digestPrefix(digest: string): number {
  return (
    digest.charCodeAt(0) | (digest.charCodeAt(1) << 8) | (digest.charCodeAt(2) << 16) | (digest.charCodeAt(3) << 24)
  );
}
