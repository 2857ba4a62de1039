/**
 * Test entries: real version-1 entry encodings, chained from a position.
 * The log store never verifies signatures (replicas do, with the engine), so
 * the signed fields here are fixed filler bytes; the sequence, log time and
 * hash chain are real.
 */
import { createHash } from 'node:crypto';
import { encodeAndHashEntry } from '@vex/engine';
import type { LogPosition } from '../src/index.js';

export const testGenesisHash = new Uint8Array(createHash('sha256').update('vex cluster test genesis').digest());

export class EntryMaker {
  private logTimeMs = 1_700_000_000_000;

  constructor(public position: LogPosition = { sequence: 0, entryHash: testGenesisHash }) {}

  /** `count` entries continuing the maker's position, each with a message of about `messageBytes`; the position moves past them. */
  next(count: number, messageBytes = 200, label = 'entry'): Uint8Array[] {
    const encodings: Uint8Array[] = [];
    for (let index = 0; index < count; index += 1) {
      const sequence = this.position.sequence + 1;
      this.logTimeMs += 1;
      const text = `${label} ${sequence} `;
      const message = new TextEncoder().encode(text.padEnd(Math.max(messageBytes, text.length), '.'));
      const { encoding, entryHash } = encodeAndHashEntry({
        sequence,
        logTimeMs: this.logTimeMs,
        previousHash: this.position.entryHash,
        transaction: { publicKey: new Uint8Array(32).fill(7), signature: new Uint8Array(64).fill(9), message },
      });
      encodings.push(encoding);
      this.position = { sequence, entryHash };
    }
    return encodings;
  }
}

export { bytesToLowerHex as hex } from '@vex/engine';

/** A fresh key prefix per test, so tests share one etcd cluster without seeing each other. */
let prefixCounter = 0;
export function uniquePrefix(label: string): string {
  prefixCounter += 1;
  return `vex-test/${process.pid}-${Date.now()}-${prefixCounter}-${label}/`;
}
