/**
 * Rough throughput of the ledger. Not a test; run with
 *   npx tsx packages/ledger/bench/sequencer.bench.ts [trader entries, default 20000]
 *
 * 1. engine: apply() with signatureVerified, nothing else.
 * 2. sequencer steps: what ExchangeNode.sequence() does per entry (apply, entry
 *    encoding, entry hash, history records), without signatures, promises or I/O.
 * 3. node: submit() of every entry at once: signature checks in the pool,
 *    sequencing and group commit with synced LevelDB batches. The time spent
 *    in the sequencer is reported separately (statistics().sequencingMs).
 * 4. recovery: reopening the ledger replays (and re-verifies) the whole log.
 *
 * Numbers are wall-clock and include whatever else the machine is doing.
 */
import { apply, createState, encodeAndHashEntry, stateHashHex, type ApplyOutcome } from '@vex/engine';
import { pino } from 'pino';
import type { BatchOperation } from '../src/database.js';
import { historyOperations } from '../src/history.js';
import { ExchangeNode, entryKey } from '../src/index.js';
import { fixture, temporaryDirectory } from '../test/helpers.js';

const count = Number(process.argv[2] ?? 20_000);
const rate = (items: number, ms: number): string => `${Math.round(items / (ms / 1000)).toLocaleString('en')}/s`;

const started = performance.now();
const { entries, genesis } = fixture(7, count);
console.log(`signed ${entries.length} entries in ${Math.round(performance.now() - started)} ms`);

for (let round = 1; round <= 3; round += 1) {
  const state = createState(genesis);
  const t0 = performance.now();
  let accepted = 0;
  for (const entry of entries) if (apply(state, entry, { signatureVerified: true }).accepted) accepted += 1;
  const engineMs = performance.now() - t0;

  const sequencerState = createState(genesis);
  let sequence = 0;
  let previousHash: Uint8Array = new Uint8Array(32);
  let operations: BatchOperation[] = [];
  const t1 = performance.now();
  for (const entry of entries) {
    const outcome: ApplyOutcome = apply(sequencerState, entry, { signatureVerified: true });
    if (!outcome.accepted) continue;
    sequence += 1;
    const { encoding, entryHash } = encodeAndHashEntry({
      sequence,
      logTimeMs: entry.logTimeMs,
      previousHash,
      transaction: entry.transaction,
    });
    previousHash = entryHash;
    operations.push({ type: 'put', key: entryKey(sequence), value: encoding });
    historyOperations(sequencerState, sequence, outcome.events, operations);
    if (operations.length > 8_192) operations = [];
  }
  const sequencerMs = performance.now() - t1;
  console.log(
    `round ${round}: engine apply ${rate(entries.length, engineMs)} (${accepted} accepted); ` +
      `sequencer steps ${rate(entries.length, sequencerMs)} submits, ${rate(accepted, sequencerMs)} accepted entries`,
  );
}

for (const threads of [1, 2]) {
  const directory = await temporaryDirectory();
  let index = 0;
  // With one thread the log order is the submission order, so the clock can follow the entries' own times.
  const times = entries.map((entry) => entry.logTimeMs);
  const options = {
    dataDirectory: directory.path,
    genesis,
    logger: pino({ level: 'warn' }),
    verifierThreads: threads,
    snapshotEveryEntries: 1_000_000,
    // Every entry is submitted at once, on purpose: admit them all instead of refusing the excess as overload.
    maximumPendingTransactions: entries.length,
    clock: () => times[Math.min(index++, times.length - 1)]!,
  };
  const node = await ExchangeNode.open(options);
  const t0 = performance.now();
  const results = await Promise.all(entries.map((entry) => node.submit(entry.transaction)));
  const ms = performance.now() - t0;
  const stats = node.statistics();
  const accepted = results.filter((result) => result.outcome.accepted).length;
  console.log(
    `node, ${threads} verifier thread(s): ${rate(entries.length, ms)} submits end to end (${accepted} accepted); ` +
      `in the sequencer ${stats.sequencingMs.toFixed(0)} ms = ${rate(entries.length, stats.sequencingMs)} submits; ` +
      `${stats.batchesWritten} synced batches, ${(stats.entriesWritten / stats.batchesWritten).toFixed(0)} entries each`,
  );
  const stateHash = stateHashHex(node.state);
  await node.close();
  if (threads === 1) {
    const t1 = performance.now();
    const reopened = await ExchangeNode.open(options);
    const recoveryMs = performance.now() - t1;
    console.log(
      `recovery of ${reopened.head().sequence} entries from genesis: ${Math.round(recoveryMs)} ms = ${rate(reopened.head().sequence, recoveryMs)}, same state: ${stateHashHex(reopened.state) === stateHash}`,
    );
    await reopened.close();
  }
  await directory.remove();
}
