/**
 * A log made by the real sequencer over a fresh state, for the tests of the
 * node's modules: entries encoded and chained exactly as the node makes them.
 */
import { createState, genesisHash, type Genesis, type LogEntry } from '@vex/engine';
import { MemoryLevel } from 'memory-level';
import type { LedgerDatabase } from '../src/database.js';
import { Sequencer, type SequencedEntry } from '../src/sequencer.js';
import { fixture, settableClock } from './helpers.js';

export interface SequencedLog {
  readonly genesis: Genesis;
  readonly sequencer: Sequencer;
  readonly sequenced: SequencedEntry[];
}

/** A sequencer over a fresh state of `genesis` (no attestation maker), with the settable clock it reads. */
export function freshSequencer(
  genesis: Genesis,
  startMs: number,
  snapshotEveryEntries: number,
): { sequencer: Sequencer; clock: ReturnType<typeof settableClock> } {
  const clock = settableClock(startMs);
  const start = { sequence: 0, entryHash: genesisHash(genesis) };
  return { sequencer: new Sequencer(createState(genesis), start, clock.clock, snapshotEveryEntries, undefined), clock };
}

/** Sequences the accepted entries of the seeded fixture log (a snapshot every `snapshotEveryEntries`). */
export function sequencedLog(seed: number, count: number, snapshotEveryEntries = 1_000_000): SequencedLog {
  const { entries, genesis } = fixture(seed, count);
  const { sequencer, clock } = freshSequencer(genesis, entries[0]!.logTimeMs, snapshotEveryEntries);
  const sequenced: SequencedEntry[] = [];
  for (const entry of entries as LogEntry[]) {
    clock.set(entry.logTimeMs);
    const result = sequencer.apply(entry.transaction, sequencer.nextLogTime());
    if ('committed' in result) sequenced.push(result);
  }
  return { genesis, sequencer, sequenced };
}

/** An open in-memory LevelDB with the ledger's byte encodings. */
export async function memoryDatabase(): Promise<LedgerDatabase> {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  return db as unknown as LedgerDatabase;
}
