/**
 * The sequencing thread's history step on a real log: historyOperations over the events of the last entries of a
 * ledger's data directory (the batch phase of a `pnpm bench:node --profile` run, whose data directory it keeps), and
 * the chained LevelDB batches those records go into (unsynced, into a scratch database, so the disk is not timed).
 * Wall-clock times of the two steps, and the process's CPU time over the round (every thread: LevelDB's own threads
 * writing and compacting too). Not a test; run with
 *   npx tsx packages/ledger/bench/history.bench.ts <ledger directory> [entries at the end, default 5000] [rounds]
 * The ledger is only read (copy it first: LevelDB takes a lock). Prints µs per entry.
 */
import { apply, createState, decodeEntry, type EngineEvent, type Genesis } from '@vex/engine';
import { createDatabase, writeBatch, type BatchOperation } from '../src/database.js';
import { historyOperations } from '../src/history.js';
import { entryKey, entryRange, genesisMetaKey } from '../src/storage-format.js';
import { temporaryDirectory } from '../test/helpers.js';

const location = process.argv[2];
if (location === undefined) throw new Error('usage: history.bench.ts <ledger directory> [entries] [rounds]');
const timedCount = Number(process.argv[3] ?? 5000);
const rounds = Number(process.argv[4] ?? 5);
const source = createDatabase(location);
await source.open();
const genesisBytes = await source.get(genesisMetaKey);
if (genesisBytes === undefined) throw new Error('no genesis in that ledger');
const genesis = JSON.parse(Buffer.from(genesisBytes).toString('utf8')) as Genesis;
const encodings = await source.values(entryRange).all();
await source.close();
const state = createState(genesis);
const applied: Array<{ sequence: number; encoding: Uint8Array; events: readonly EngineEvent[] }> = [];
for (const encoding of encodings) {
  const entry = decodeEntry(encoding);
  const outcome = apply(
    state,
    { logTimeMs: entry.logTimeMs, transaction: entry.transaction },
    { signatureVerified: true },
  );
  if (!outcome.accepted) throw new Error(`entry ${entry.sequence} refused: ${outcome.rejection.code}`);
  if (entry.sequence > encodings.length - timedCount)
    applied.push({ sequence: entry.sequence, encoding, events: outcome.events });
}
const directory = await temporaryDirectory();
const db = createDatabase(directory.path);
await db.open();
const perEntry = (ms: number): string => ((ms * 1000) / applied.length).toFixed(2);
try {
  for (let round = 1; round <= rounds; round += 1) {
    let historyMs = 0;
    let batchMs = 0;
    let records = 0;
    let bytes = 0;
    const cpu0 = process.cpuUsage();
    // 40 entries per batch, about the group commit's size at max rate; each batch written before the next is built.
    for (let first = 0; first < applied.length; first += 40) {
      const lists: BatchOperation[][] = [];
      const t0 = performance.now();
      for (const { sequence, encoding, events } of applied.slice(first, first + 40)) {
        const operations: BatchOperation[] = [{ type: 'put', key: entryKey(sequence), value: encoding }];
        historyOperations(state, sequence, events, operations);
        lists.push(operations);
      }
      const t1 = performance.now();
      await writeBatch(db, lists, { sync: false });
      batchMs += performance.now() - t1;
      historyMs += t1 - t0;
      for (const operations of lists) {
        records += operations.length - 1;
        for (const operation of operations.slice(1))
          bytes += operation.key.length + (operation.type === 'put' ? operation.value.length : 0);
      }
    }
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `round ${round}: ${applied.length} entries, ${(records / applied.length).toFixed(2)} history records and ` +
        `${(bytes / applied.length).toFixed(0)} bytes per entry; historyOperations ${perEntry(historyMs)} µs, ` +
        `LevelDB batches of 40 entries (unsynced) ${perEntry(batchMs)} µs per entry; ` +
        `process CPU (every thread) ${perEntry((cpu.user + cpu.system) / 1000)} µs per entry`,
    );
  }
} finally {
  await db.close();
  await directory.remove();
}
