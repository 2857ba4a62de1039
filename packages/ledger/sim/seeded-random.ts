/**
 * The simulator's only source of randomness. Every choice of a run (the
 * workload, the interleaving of writes and callbacks, the faults) comes from
 * streams derived from the seed, so a seed names exactly one run.
 *
 * Each concern draws from its own stream (derived from the seed and a stream
 * name), so that, for example, asking the workload for one more number does
 * not shift every fault that follows.
 */
import { createHash } from 'node:crypto';

export class SeededRandom {
  // xoshiro128**: 128 bits of state, fast in 32-bit integer arithmetic, identical on every platform.
  private state0: number;
  private state1: number;
  private state2: number;
  private state3: number;

  private constructor(words: readonly [number, number, number, number]) {
    [this.state0, this.state1, this.state2, this.state3] = words;
    // An all-zero state would only ever produce zeros.
    if ((this.state0 | this.state1 | this.state2 | this.state3) === 0) this.state0 = 1;
  }

  /** The stream called `streamName` of run `seed`. */
  static stream(seed: number, streamName: string): SeededRandom {
    const digest = createHash('sha256').update(`vex-sim/${seed}/${streamName}`).digest();
    return new SeededRandom([
      digest.readUInt32BE(0),
      digest.readUInt32BE(4),
      digest.readUInt32BE(8),
      digest.readUInt32BE(12),
    ]);
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.state1, 5), 7), 9) >>> 0;
    const shifted = this.state1 << 9;
    this.state2 ^= this.state0;
    this.state3 ^= this.state1;
    this.state1 ^= this.state2;
    this.state0 ^= this.state3;
    this.state2 ^= shifted;
    this.state3 = rotateLeft(this.state3, 11);
    return result;
  }

  /** A uniform number in [0, 1). */
  fraction(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A uniform integer in [0, limit). */
  below(limit: number): number {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`below() needs a positive integer, got ${limit}`);
    return Math.floor(this.fraction() * limit);
  }

  /** A uniform integer in [minimum, maximum]. */
  between(minimum: number, maximum: number): number {
    return minimum + this.below(maximum - minimum + 1);
  }

  chance(probability: number): boolean {
    return this.fraction() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list');
    return items[this.below(items.length)]!;
  }

  /** Picks an item with probability proportional to its weight. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
    let point = this.fraction() * total;
    for (const [item, weight] of choices) {
      if (point < weight) return item;
      point -= weight;
    }
    return choices[choices.length - 1]![0];
  }
}

function rotateLeft(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}
