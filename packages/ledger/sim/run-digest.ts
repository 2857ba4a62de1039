/**
 * A running SHA-256 over everything observable that happened in a run: each
 * step, each submission's outcome, each fault, each recovered head. Two runs
 * of one seed must end with the same digest; if they do not, something in the
 * node or the simulator depends on more than the seed (real time, worker
 * timing, iteration order of an unordered structure).
 */
import { createHash, type Hash } from 'node:crypto';

export class RunDigest {
  private readonly hash: Hash = createHash('sha256');
  private lines = 0;

  record(line: string): void {
    this.hash.update(line);
    this.hash.update('\n');
    this.lines += 1;
  }

  get recordedLines(): number {
    return this.lines;
  }

  /** The digest of everything recorded so far, in hex; recording may continue. */
  hex(): string {
    return this.hash.copy().digest('hex');
  }
}
