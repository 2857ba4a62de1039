/**
 * The snapshot worker end to end: the real worker thread (SnapshotTaker, snapshot-worker.ts) fed a real log, and the
 * CPU its thread spends. Not a test; run with
 *   npx tsx packages/ledger/bench/snapshot-worker.bench.ts <ledger directory> [--rounds 3] [--snapshot-every 10000]
 * on a copy of the data directory's `ledger` of a `pnpm bench:node --profile` run (LevelDB takes a lock; the ledger
 * is only read). It uses only SnapshotTaker's public interface, so the same file measures any version of the worker.
 *
 * Each round starts a worker from the genesis state and hands it the whole log in groups of 32 entries (the taker's
 * message at full load), with the digests the sequencer would send, in two parts: the entries before the first
 * batch entry (funding, single orders, cancels) and the rest (20-order batches, as the bench's last phase), each
 * followed by flush(). The worker thread's CPU time comes from /proc/self/task/<tid>/schedstat (nanoseconds; the
 * worker's thread is the new thread of the process that ran most). Snapshot records handed back are checked against
 * nothing here (snapshot-taker.test.ts does that); their count is printed. The worker runs at its default niceness
 * unless --niceness says otherwise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createState, type Instruction } from '@vex/engine';
import { SnapshotTaker, defaultSnapshotWorkerNiceness } from '../src/snapshot-taker.js';
import { readKeptLedger } from './kept-ledger.js';

const { values: options, positionals } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'snapshot-every': { type: 'string', default: '10000' },
    niceness: { type: 'string', default: String(defaultSnapshotWorkerNiceness) },
  },
  allowPositionals: true,
});
const location = positionals[0];
if (location === undefined) throw new Error('usage: snapshot-worker.bench.ts <ledger directory> [--rounds n]');
const rounds = Number(options.rounds);
const snapshotEveryEntries = Number(options['snapshot-every']);
const niceness = Number(options.niceness);
const entriesPerMessage = 32;

const { genesis, encodings, digests, instructions } = await readKeptLedger(location);
const isBatch = (instruction: Instruction): boolean =>
  instruction.kind === 'orderExecute' && instruction.orders.length > 1;
const firstBatchIndex = instructions.some(isBatch) ? instructions.findIndex(isBatch) : encodings.length;
const parts = [
  { name: 'before the batches', first: 0, end: firstBatchIndex },
  { name: 'batches', first: firstBatchIndex, end: encodings.length },
].filter((part) => part.end > part.first);
console.log(
  `${encodings.length} entries; ${parts.map((part) => `${part.name}: ${part.end - part.first}`).join(', ')}; ` +
    `snapshots every ${snapshotEveryEntries}; worker niceness +${niceness}`,
);

const threadIds = (): number[] => readdirSync('/proc/self/task').map(Number);
/** A thread's time on a CPU so far, in ns (the first field of schedstat). */
const runNanos = (threadId: number): number =>
  Number(readFileSync(`/proc/self/task/${threadId}/schedstat`, 'utf8').split(' ')[0]);

for (let round = 1; round <= rounds; round += 1) {
  const before = new Set(threadIds());
  let snapshots = 0;
  const taker = new SnapshotTaker(
    createState(genesis),
    0,
    snapshotEveryEntries,
    {
      write: async () => {
        snapshots += 1;
      },
      failed: (error) => {
        throw error;
      },
    },
    50,
    niceness,
  );
  await taker.flush(); // the worker is up and has decoded the genesis state
  const fresh = threadIds().filter((id) => !before.has(id));
  const startNanos = new Map(fresh.map((id) => [id, runNanos(id)]));
  const figures: string[] = [];
  for (const part of parts) {
    const partStart = new Map(fresh.map((id) => [id, runNanos(id)]));
    const wall0 = performance.now();
    for (let first = part.first; first < part.end; first += entriesPerMessage) {
      const end = Math.min(part.end, first + entriesPerMessage);
      taker.follow(encodings.slice(first, end), digests.slice(first, end));
    }
    await taker.flush();
    const wallMs = performance.now() - wall0;
    const busiest = Math.max(...fresh.map((id) => runNanos(id) - partStart.get(id)!));
    const count = part.end - part.first;
    const cpuText = (busiest / 1000 / count).toFixed(2);
    figures.push(`${part.name} ${cpuText} µs CPU per entry (${((wallMs * 1000) / count).toFixed(2)} wall)`);
  }
  const total = Math.max(...fresh.map((id) => runNanos(id) - startNanos.get(id)!));
  await taker.close();
  console.log(
    `round ${round}: worker thread ${(total / 1000 / encodings.length).toFixed(2)} µs CPU per entry; ` +
      `${figures.join('; ')}; ${snapshots} snapshots`,
  );
}
