/**
 * The snapshot worker's per-entry work (snapshot-worker.ts) on a real log: decodeEntry and apply of the last entries
 * of a ledger's data directory (the batch phase of a `pnpm bench:node --profile` run, whose data directory it keeps),
 * from the state before them. Not a test; run with
 *   npx tsx packages/ledger/bench/follower.bench.ts <ledger directory> [entries at the end, default 5000] [rounds]
 * The ledger is only read (copy it first: LevelDB takes a lock). Prints µs of CPU per entry for each round.
 */
import { apply, createState, decodeEntry, decodeState, encodeState, stateHashHex, type Genesis } from '@vex/engine';
import { createDatabase } from '../src/database.js';
import { entryRange, genesisMetaKey } from '../src/storage-format.js';

const location = process.argv[2];
if (location === undefined) throw new Error('usage: follower.bench.ts <ledger directory> [entries] [rounds]');
const timedCount = Number(process.argv[3] ?? 5000);
const rounds = Number(process.argv[4] ?? 5);
const db = createDatabase(location);
await db.open();
const genesisBytes = await db.get(genesisMetaKey);
if (genesisBytes === undefined) throw new Error('no genesis in that ledger');
const genesis = JSON.parse(Buffer.from(genesisBytes).toString('utf8')) as Genesis;
const encodings = await db.values(entryRange).all();
await db.close();
const split = Math.max(0, encodings.length - timedCount);
const before = createState(genesis);
for (const encoding of encodings.slice(0, split)) {
  const entry = decodeEntry(encoding);
  const outcome = apply(
    before,
    { logTimeMs: entry.logTimeMs, transaction: entry.transaction },
    { signatureVerified: true },
  );
  if (!outcome.accepted) throw new Error(`entry ${entry.sequence} refused: ${outcome.rejection.code}`);
}
const startEncoding = encodeState(before);
const timed = encodings.slice(split);
let messageBytes = 0;
for (const encoding of timed) messageBytes += decodeEntry(encoding).transaction.message.length;
console.log(
  `${encodings.length} entries, timing the last ${timed.length} ` +
    `(${Math.round(messageBytes / timed.length)} message bytes each)`,
);
for (let round = 1; round <= rounds; round += 1) {
  const state = decodeState(startEncoding, genesis.custodians);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const encoding of timed) {
    const entry = decodeEntry(encoding);
    const outcome = apply(
      state,
      { logTimeMs: entry.logTimeMs, transaction: entry.transaction },
      { signatureVerified: true },
    );
    if (!outcome.accepted) throw new Error(`entry ${entry.sequence} refused`);
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const perEntry = (micros: number): string => (micros / timed.length).toFixed(1);
  console.log(
    `round ${round}: ${perEntry(wallMs * 1000)} µs wall, ${perEntry(cpu.user + cpu.system)} µs CPU per entry; ` +
      `state hash ${stateHashHex(state).slice(0, 16)}`,
  );
}
