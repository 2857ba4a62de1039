/**
 * The `rememberedMessages` part of the state commitment (docs/attestation.md,
 * "State commitment"): the replay-protection memory as a keyed collection
 * bucketed by acceptance time, bucket = floor(acceptance log time / 1000)
 * mod 65536, each bucket's messages in acceptance order.
 *
 * Messages are remembered and forgotten in log-time order (log time never
 * goes back, and forgetting drops the oldest first), so an update rehashes
 * only the buckets of the seconds that gained or lost messages since the
 * last one: a few per attestation, whatever the number of messages
 * remembered. A bucket's messages are one contiguous run of the remembered
 * messages (kept oldest first, replay-protection.ts), found by binary search,
 * so no per-bucket lists are kept.
 */
import { hash as oneShotHash } from 'node:crypto';
import type { ByteWriter } from './byte-codec.js';
import { replayMemoryMs } from './replay-protection.js';
import { encodeRememberedMessage } from './state-codec.js';
import type { MerkleLevels } from './state-commitment.js';
import type { ReplayProtectionState } from './state.js';

/** The log time one bucket covers: one second. */
export const rememberedMessageBucketWidthMs = 1000;
const bucketCount = 65536;
const leafPrefix = 0x00;
/** 2^28: the values four varint groups of seven bits hold. */
const lowGroupsRange = 0x1000_0000;

// The memory spans at most replayMemoryMs of acceptance times: far fewer seconds than buckets, so the buckets
// never wrap around onto a live one (a wrap would still be exact, through the slow path below, but not cheap).
if (replayMemoryMs + 2 * rememberedMessageBucketWidthMs > bucketCount * rememberedMessageBucketWidthMs) {
  throw new Error('the replay memory spans more seconds than the remembered messages have buckets');
}

/** The start of the second of an acceptance log time, in ms (integer arithmetic only: no division on numbers). */
function secondStartOf(acceptedAtMs: number): number {
  return acceptedAtMs - (acceptedAtMs % rememberedMessageBucketWidthMs);
}

/** The bucket of a message accepted at `acceptedAtMs`: floor(acceptedAtMs / 1000) mod 65536. */
export function rememberedMessageBucket(acceptedAtMs: number): number {
  // Computed once per second noted, not per message: BigInt keeps the division exact and off `number`.
  return Number((BigInt(acceptedAtMs) / BigInt(rememberedMessageBucketWidthMs)) % BigInt(bucketCount));
}

/** The first position in [start…end) whose acceptance time is at least `timeMs` (they are in time order). */
function firstAtOrAfter(replay: ReplayProtectionState, start: number, end: number, timeMs: number): number {
  let low = start;
  let high = end;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (replay.acceptedAtMsAt(middle) < timeMs) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class RememberedMessagesPart {
  private readonly dirtyFlags = new Uint8Array(bucketCount);
  private dirty: number[] = [];
  private lastNotedSecondStart = -1;

  /** `tree`: the 65,536 bucket leaves, all empty to begin with. */
  constructor(private readonly tree: MerkleLevels) {}

  /** A message accepted at `acceptedAtMs` was remembered or forgotten. */
  note(acceptedAtMs: number): void {
    const secondStart = secondStartOf(acceptedAtMs);
    if (secondStart === this.lastNotedSecondStart) return;
    this.lastNotedSecondStart = secondStart;
    const bucket = rememberedMessageBucket(acceptedAtMs);
    if (this.dirtyFlags[bucket] === 0) {
      this.dirtyFlags[bucket] = 1;
      this.dirty.push(bucket);
    }
  }

  /** Notes every message remembered now, checking the order the incremental updates rely on. */
  noteAll(replay: ReplayProtectionState): void {
    for (let position = 0; position < replay.size; position += 1) {
      const acceptedAtMs = replay.acceptedAtMsAt(position);
      if (position > 0 && acceptedAtMs < replay.acceptedAtMsAt(position - 1)) {
        throw new Error('the remembered messages are not in acceptance-time order');
      }
      this.note(acceptedAtMs);
    }
  }

  root(replay: ReplayProtectionState, writer: ByteWriter): Uint8Array {
    for (const bucket of this.dirty) {
      this.dirtyFlags[bucket] = 0;
      writer.clear();
      writer.byte(leafPrefix);
      writeBucket(writer, replay, bucket);
      this.tree.setLeaf(bucket, oneShotHash('sha256', writer.written(), 'binary'));
    }
    this.dirty = [];
    this.lastNotedSecondStart = -1;
    return this.tree.root();
  }
}

/** varint m ‖ the bucket's m messages, in acceptance order. */
function writeBucket(writer: ByteWriter, replay: ReplayProtectionState, bucket: number): void {
  const start = 0;
  const end = replay.size;
  if (start === end) {
    writer.unsigned(0);
    return;
  }
  const width = rememberedMessageBucketWidthMs;
  const firstAcceptedAtMs = replay.acceptedAtMsAt(start);
  if (replay.acceptedAtMsAt(end - 1) - secondStartOf(firstAcceptedAtMs) >= bucketCount * width) {
    writeBucketByScan(writer, replay, start, end, bucket);
    return;
  }
  // At most one second of the memory falls in this bucket: the first one at or after the oldest message's.
  const secondsLater = (bucket - rememberedMessageBucket(firstAcceptedAtMs) + bucketCount) % bucketCount;
  const secondStart = secondStartOf(firstAcceptedAtMs) + secondsLater * width;
  const low = firstAtOrAfter(replay, start, end, secondStart);
  const high = firstAtOrAfter(replay, low, end, secondStart + width);
  writer.unsigned(high - low);
  // encodeRememberedMessage's bytes, with the acceptance time's varint split at bit 28 around the second's start:
  // times past 2^32 would otherwise take ByteWriter's BigInt path for every message.
  const startLow = secondStart % lowGroupsRange;
  const startHigh = Number(BigInt(secondStart) >> 28n);
  for (let position = low; position < high; position += 1) {
    const acceptedAtMs = replay.acceptedAtMsAt(position);
    if (acceptedAtMs <= 0xffff_ffff) {
      encodeRememberedMessage(writer, replay.digestBytesAt(position), acceptedAtMs);
      continue;
    }
    writer.bytes(replay.digestBytesAt(position));
    let lowBits = startLow + (acceptedAtMs - secondStart);
    let highBits = startHigh;
    if (lowBits >= lowGroupsRange) {
      lowBits -= lowGroupsRange;
      highBits += 1;
    }
    // Above 2^32 the high part is at least 16, so all four low groups carry the continuation bit.
    for (let group = 0; group < 4; group += 1) {
      writer.byte((lowBits & 0x7f) | 0x80);
      lowBits >>>= 7;
    }
    writer.unsigned(highBits);
  }
}

/** The exact but linear path, for a memory spanning more seconds than there are buckets (never in a replay). */
function writeBucketByScan(
  writer: ByteWriter,
  replay: ReplayProtectionState,
  start: number,
  end: number,
  bucket: number,
): void {
  const members: number[] = [];
  for (let position = start; position < end; position += 1)
    if (rememberedMessageBucket(replay.acceptedAtMsAt(position)) === bucket) members.push(position);
  writer.unsigned(members.length);
  for (const position of members)
    encodeRememberedMessage(writer, replay.digestBytesAt(position), replay.acceptedAtMsAt(position));
}
