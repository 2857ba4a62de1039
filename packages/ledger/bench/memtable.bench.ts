/**
 * What LevelDB's memtable insert costs per key against the write buffer's size, with keys shaped like the ledger's
 * (storage format 8, docs/log-format.md): per single order that rests, `0x01` ‖ u64 sequence (305-byte entry),
 * `0x11` ‖ account (44 ASCII bytes) ‖ u64 order id (16 bytes), `0x12` ‖ u64 order id (61 bytes) and `0x1d` ‖ u64
 * order id (74 bytes); per batch entry of 20 orders (`--shape batch`), the averages of a kept ledger's batch phase
 * (1 entry of 2,834 bytes, 5 fills records under accounts, 1 order-ids and 1 pointers record, 15 public trades under
 * `0x15` ‖ symbol ‖ u64 trade id, 29 order statuses). Writes them in batches of `--entries` entries (each batch
 * awaited before the next, as the group commit does), synced with `--sync`, into a fresh database per buffer size.
 *
 * The thread CPU is read from /proc/self/task/<tid>/schedstat (ns): libuv's pool threads (found by the CPU that
 * four concurrent pbkdf2 calls put on them) do each batch's log write and memtable insert; threads that appear after
 * the database opens are LevelDB's own (its background thread: memtable flushes and compactions). Not a
 * test; Linux only. Run with
 *   npx tsx packages/ledger/bench/memtable.bench.ts [--shape single|batch] [--entries 50] [--total 300000]
 *     [--buffers 4,16,32,64] [--sync] [--windows 6] [--pollute MiB]
 * Prints, per buffer size, µs of the pool's and of LevelDB's threads per key in each window of the run and overall.
 */
import { pbkdf2 } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { parseArgs, promisify } from 'node:util';
import { Level } from 'level';
import { temporaryDirectory } from '../test/helpers.js';

const { values: options } = parseArgs({
  options: {
    shape: { type: 'string', default: 'single' },
    entries: { type: 'string', default: '50' },
    total: { type: 'string', default: '300000' },
    buffers: { type: 'string', default: '4,16,32,64' },
    sync: { type: 'boolean', default: false },
    windows: { type: 'string', default: '6' },
    pollute: { type: 'string', default: '0' },
  },
});
const entriesPerBatch = Number(options.entries);
const totalEntries = Number(options.total);
const bufferSizesMiB = options.buffers.split(',').map(Number);
const windowCount = Number(options.windows);
const shape = options.shape;
// The node's other threads (its JavaScript heap, the signature checks) evict the memtable's cache lines and TLB
// entries between two group commits; --pollute N writes through N MiB on the main thread after each batch to do the
// same.
const pollution = Buffer.alloc(Number(options.pollute) * 1024 * 1024);
let pollutionByte = 0;
if (shape !== 'single' && shape !== 'batch') throw new Error('--shape single or batch');

async function threadCpuNs(): Promise<Map<number, number>> {
  const cpu = new Map<number, number>();
  for (const tid of await readdir('/proc/self/task')) {
    try {
      const schedstat = await readFile(`/proc/self/task/${tid}/schedstat`, 'utf8');
      cpu.set(Number(tid), Number(schedstat.split(' ')[0]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return cpu;
}

function sum(cpu: Map<number, number>, tids: Iterable<number>): number {
  let total = 0;
  for (const tid of tids) total += cpu.get(tid) ?? 0;
  return total;
}

// Deterministic pseudo-random accounts: 256 traders, 44 ASCII bytes each, as the bench's base64 public keys.
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
let seed = 12345;
function nextRandom(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed;
}
const accounts = Array.from({ length: 256 }, () => {
  let text = '';
  for (let index = 0; index < 43; index += 1) text += alphabet[nextRandom() % 64];
  return Buffer.from(`${text}=`, 'ascii');
});

function key(space: number, middle: Uint8Array | undefined, id: number, extra = 0): Uint8Array {
  const middleLength = middle === undefined ? 0 : middle.length;
  const bytes = Buffer.alloc(1 + middleLength + 8 + extra);
  bytes[0] = space;
  if (middle !== undefined) bytes.set(middle, 1);
  bytes.writeBigUInt64BE(BigInt(id), 1 + middleLength);
  return bytes;
}

const values = new Map<number, Uint8Array>();
function value(length: number): Uint8Array {
  let bytes = values.get(length);
  if (bytes === undefined) {
    bytes = Buffer.alloc(length, 0x5a);
    values.set(length, bytes);
  }
  return bytes;
}

const market = Buffer.from('\x08SOL_USDC', 'latin1');
let orderId = 1;
let tradeId = 1;
/** The keys and value lengths of entry `sequence`. */
function entryOperations(sequence: number, put: (key: Uint8Array, value: Uint8Array) => void): void {
  const account = accounts[nextRandom() % 256]!;
  if (shape === 'single') {
    put(key(0x01, undefined, sequence), value(305));
    put(key(0x11, account, orderId), value(16));
    put(key(0x12, undefined, orderId), value(61));
    put(key(0x1d, undefined, orderId), value(74));
    orderId += 1;
    return;
  }
  put(key(0x01, undefined, sequence), value(2834));
  for (let fill = 0; fill < 5; fill += 1) put(key(0x10, accounts[nextRandom() % 256]!, sequence), value(386));
  put(key(0x11, account, orderId), value(168));
  put(key(0x12, undefined, orderId), value(213));
  for (let trade = 0; trade < 15; trade += 1) put(key(0x15, market, tradeId++), value(52));
  // 20 new orders and about 9 resting makers' statuses (older ids).
  for (let order = 0; order < 20; order += 1) put(key(0x1d, undefined, orderId + order), value(82));
  for (let maker = 0; maker < 9; maker += 1)
    put(key(0x1d, undefined, Math.max(1, orderId - 1 - (nextRandom() % 2000))), value(82));
  orderId += 20;
}

// libuv's pool threads told apart from V8's: the threads that run four concurrent pbkdf2 calls (pool work).
const before = new Set((await threadCpuNs()).keys());
const probeStart = await threadCpuNs();
await Promise.all(Array.from({ length: 4 }, () => promisify(pbkdf2)('probe', 'salt', 200_000, 32, 'sha256')));
const probeEnd = await threadCpuNs();
const poolTids = [...probeEnd.keys()].filter(
  (tid) => tid !== process.pid && (probeEnd.get(tid) ?? 0) - (probeStart.get(tid) ?? 0) > 20_000_000,
);
console.log(`libuv's pool: ${poolTids.length} threads`);
const mainTid = process.pid;

for (const bufferMiB of bufferSizesMiB) {
  seed = 12345;
  orderId = 1;
  tradeId = 1;
  const directory = await temporaryDirectory();
  const db = new Level<Uint8Array, Uint8Array>(directory.path, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    writeBufferSize: bufferMiB * 1024 * 1024,
  });
  await db.open();
  const known = new Set([...before, ...poolTids]);
  const windowEntries = Math.ceil(totalEntries / windowCount);
  const lines: string[] = [];
  let keys = 0;
  let windowKeys = 0;
  let windowStart = await threadCpuNs();
  let windowWallStart = performance.now();
  const runStart = windowStart;
  const runWallStart = windowWallStart;
  const report = async (label: string, start: Map<number, number>, count: number, wallMs: number) => {
    const now = await threadCpuNs();
    const levelTids = [...now.keys()].filter((tid) => !known.has(tid));
    const pool = (sum(now, poolTids) - sum(start, poolTids)) / 1000 / count;
    const level = (sum(now, levelTids) - sum(start, levelTids)) / 1000 / count;
    const main = ((now.get(mainTid) ?? 0) - (start.get(mainTid) ?? 0)) / 1000 / count;
    lines.push(
      `  ${label}: ${count} keys; µs per key: pool ${pool.toFixed(3)}, LevelDB's threads ${level.toFixed(3)}, ` +
        `main ${main.toFixed(3)}; wall ${((wallMs * 1000) / count).toFixed(3)}`,
    );
    return now;
  };
  try {
    for (let first = 1; first <= totalEntries; first += entriesPerBatch) {
      const batch = db.batch();
      for (let sequence = first; sequence < first + entriesPerBatch && sequence <= totalEntries; sequence += 1) {
        entryOperations(sequence, (k, v) => {
          batch.put(k, v);
          keys += 1;
          windowKeys += 1;
        });
      }
      await batch.write({ sync: options.sync });
      if (pollution.length > 0) pollution.fill((pollutionByte = (pollutionByte + 1) & 0xff));
      const done = Math.min(totalEntries, first + entriesPerBatch - 1);
      if (Math.floor(done / windowEntries) !== Math.floor((first - 1) / windowEntries) || done === totalEntries) {
        const wall = performance.now();
        windowStart = await report(`to entry ${done}`, windowStart, windowKeys, wall - windowWallStart);
        windowWallStart = wall;
        windowKeys = 0;
      }
    }
    await report('whole run', runStart, keys, performance.now() - runWallStart);
  } finally {
    await db.close();
    await directory.remove();
  }
  console.log(`${shape}, write buffer ${bufferMiB} MiB, ${entriesPerBatch} entries per batch, sync ${options.sync}:`);
  for (const line of lines) console.log(line);
}
