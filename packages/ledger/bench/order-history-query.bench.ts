/**
 * What an account's order history costs to read, and what reading the orders' fixed fields from the entries that
 * accepted them would add (docs/benchmarks.md, branch `status16`). A ledger on disk: one trader's `batches` batch
 * entries of 20 resting limit orders (bench:node's batch shape), each followed by a second trader's IOC ask filling 12,
 * every entry and its history records written as the sequencer makes them. Then, alternating, `rounds` times:
 * - `stored`: LevelHistoryIndex.orders, a page of 1,000 (every order of the trader, newest first), which reads each
 *   order's record under 0x1d (storage format 7's 17-element JSON array; binary from format 8, branch `hist19`);
 * - `fromEntries`: the same orders' fixed fields taken from the accepting entries instead: for each of the account's
 *   order-ids records, a get of the entry at its writer sequence, decodeEntry, parseSigningString, parseInstruction,
 *   and resolveOrderRequest for each order (the engine's own resolution, on the current state's markets), plus the
 *   get under 0x1d that a record of what execution changed would still need. It maps the i-th order id to the i-th
 *   order of the batch, true here (every order accepted) but not in general: a derived reader needs the order's
 *   place in its entry written down. The cost of that reading, not a reader.
 * Then the CPU parts alone, every value already read (inMemory). Not a test; run with
 *   npx tsx packages/ledger/bench/order-history-query.bench.ts [batches, default 50] [rounds, default 7]
 * Prints µs per order returned.
 */
import {
  decodeEntry,
  encodeSigningStringBytes,
  parseInstruction,
  parseSigningString,
  resolveOrderRequest,
  signMessage,
  type LogEntry,
} from '@vex/engine';
import { demoListing } from '../../engine/test/random-log.js';
import { createDatabase, writeBatch, type BatchOperation } from '../src/database.js';
import { LevelHistoryIndex } from '../src/history.js';
import { decodeOrder, orderIdsOf } from '../src/history-orders.js';
import { entryKey, keyspaces, prefixRange, readUint64, writeUint64 } from '../src/storage-format.js';
import { genesisOf, signedEntry, signerFromByte, temporaryDirectory, type Signer } from '../test/helpers.js';
import { freshSequencer } from '../test/sequenced-log.js';

const batches = Number(process.argv[2] ?? 50);
const rounds = Number(process.argv[3] ?? 7);
const operator = signerFromByte(200);
const maker = signerFromByte(1);
const taker = signerFromByte(2);
let timeMs = 1_800_000_000_000;
const { sequencer, clock } = freshSequencer(genesisOf(operator), timeMs, 1_000_000_000);
const directory = await temporaryDirectory();
const db = createDatabase(directory.path);
await db.open();

async function sequence(entry: LogEntry): Promise<void> {
  clock.set(entry.logTimeMs);
  const result = sequencer.apply(entry.transaction, sequencer.nextLogTime());
  if (!('committed' in result)) throw new Error(`an entry was refused: ${JSON.stringify(result)}`);
  const operations: BatchOperation[] = [
    { type: 'put', key: entryKey(result.committed.sequence), value: result.encoding },
    ...result.records,
  ];
  await writeBatch(db, [operations], { sync: false });
}

function batchEntry(signer: Signer, orders: Array<Record<string, string>>): LogEntry {
  timeMs += 1;
  const groups = orders.map((params) => ({ instruction: 'orderExecute', params: Object.entries(params) }));
  const message = encodeSigningStringBytes(groups, timeMs, 5_000, { percentEncode: false });
  return {
    logTimeMs: timeMs,
    transaction: { message, publicKey: signer.publicKey, signature: signMessage(signer.seed, message) },
  };
}

for (const [instruction, params] of demoListing) await sequence(signedEntry(operator, instruction, params, timeMs++));
for (const trader of [maker, taker]) {
  for (const [symbol, quantity] of [
    ['SOL', '100000'],
    ['USDC', '100000000'],
  ] as const) {
    const params = {
      account: trader.accountId,
      symbol,
      quantity,
      blockchain: 'Solana',
      chainTransactionId: `${symbol}-${trader.publicKey[0]}`,
    };
    await sequence(signedEntry(operator, 'depositCredit', params, timeMs++));
  }
}
for (let batch = 0; batch < batches; batch += 1) {
  const orders = Array.from({ length: 20 }, (_, index) => ({
    symbol: 'SOL_USDC',
    side: 'Bid',
    orderType: 'Limit',
    price: String(50 + ((batch * 20 + index) % 40)),
    quantity: '1',
    timeInForce: 'GTC',
    selfTradePrevention: 'RejectTaker',
    clientId: String(batch * 20 + index),
  }));
  await sequence(batchEntry(maker, orders));
  // One IOC ask of the other trader filling the 12 best bids: 12 of the batch's 20 orders change (bench:node's
  // batches: about 13), and the maker stays under the 500 open orders an account may hold.
  const fills = [
    {
      symbol: 'SOL_USDC',
      side: 'Ask',
      orderType: 'Limit',
      price: '50',
      quantity: '12',
      timeInForce: 'IOC',
      selfTradePrevention: 'RejectTaker',
    },
  ];
  for (const order of fills) await sequence(batchEntry(taker, [order]));
}

const index = new LevelHistoryIndex(db);
const state = sequencer.state;
const statusKey = Buffer.alloc(9);

async function fromEntries(accountId: string): Promise<number> {
  const prefix = Buffer.alloc(1 + 44);
  prefix[0] = keyspaces.orderByAccount;
  prefix.write(accountId, 1, 44, 'latin1');
  let count = 0;
  for await (const value of db.values({ ...prefixRange(prefix), reverse: true })) {
    const orderIds = orderIdsOf(value);
    const encoding = await db.get(entryKey(readUint64(value, 0)));
    const entry = decodeEntry(encoding!);
    const signing = parseSigningString(entry.transaction.message);
    if (!signing.ok) throw new Error(signing.message);
    const parsed = parseInstruction(signing.value.groups);
    if (!parsed.ok || parsed.instruction.kind !== 'orderExecute') throw new Error('not an order entry');
    // Every element accepted, so the i-th id is the i-th element (not so in general: see above).
    if (parsed.instruction.orders.length !== orderIds.length) throw new Error('an element of the batch was refused');
    for (let place = orderIds.length - 1; place >= 0; place -= 1) {
      const resolved = resolveOrderRequest(state, parsed.instruction.orders[place]!);
      if (!('market' in resolved)) throw new Error('an order no longer resolves');
      statusKey[0] = keyspaces.orderStatusById;
      writeUint64(statusKey, 1, orderIds[place]!);
      await db.get(statusKey);
      count += resolved.quantitySteps > 0n ? 1 : 0;
    }
  }
  return count;
}

/**
 * The CPU parts alone, every value read into memory first: decoding the stored arrays (decodeOrder) against
 * decoding and parsing each accepting entry and resolving its orders (what a derived reader does instead).
 */
async function inMemory(accountId: string): Promise<{ decodeMs: number; deriveMs: number; orders: number }> {
  const prefix = Buffer.alloc(1 + 44);
  prefix[0] = keyspaces.orderByAccount;
  prefix.write(accountId, 1, 44, 'latin1');
  const records: Array<{ encoding: Uint8Array; statuses: Array<{ orderId: number; status: Uint8Array }> }> = [];
  for await (const value of db.values({ ...prefixRange(prefix), reverse: true })) {
    const statuses: Array<{ orderId: number; status: Uint8Array }> = [];
    for (const orderId of orderIdsOf(value)) {
      statusKey[0] = keyspaces.orderStatusById;
      writeUint64(statusKey, 1, orderId);
      statuses.push({ orderId, status: (await db.get(statusKey))! });
    }
    records.push({ encoding: (await db.get(entryKey(readUint64(value, 0))))!, statuses });
  }
  let orders = 0;
  const t0 = performance.now();
  for (const { statuses } of records)
    for (const { orderId, status } of statuses) orders += decodeOrder(status, orderId, accountId).orderId > 0 ? 1 : 0;
  const t1 = performance.now();
  for (const { encoding } of records) {
    const signing = parseSigningString(decodeEntry(encoding).transaction.message);
    if (!signing.ok) throw new Error(signing.message);
    const parsed = parseInstruction(signing.value.groups);
    if (!parsed.ok || parsed.instruction.kind !== 'orderExecute') throw new Error('not an order entry');
    for (const request of parsed.instruction.orders) {
      if (!('market' in resolveOrderRequest(state, request))) throw new Error('an order no longer resolves');
    }
  }
  return { decodeMs: t1 - t0, deriveMs: performance.now() - t1, orders };
}

try {
  const perOrder = (ms: number, orders: number): string => ((ms * 1000) / orders).toFixed(2);
  for (let round = 1; round <= rounds; round += 1) {
    const t0 = performance.now();
    const stored = await index.orders(maker.accountId, { limit: 1000 });
    const t1 = performance.now();
    const derived = await fromEntries(maker.accountId);
    const t2 = performance.now();
    if (stored.length !== derived) throw new Error(`${stored.length} orders stored, ${derived} derived`);
    const cpu = await inMemory(maker.accountId);
    console.log(
      `round ${round}: ${stored.length} orders; stored ${perOrder(t1 - t0, stored.length)} µs per order, ` +
        `fromEntries ${perOrder(t2 - t1, derived)} µs per order; in memory: decodeOrder ` +
        `${perOrder(cpu.decodeMs, cpu.orders)}, entry decode, parse and resolve ${perOrder(cpu.deriveMs, cpu.orders)}`,
    );
  }
} finally {
  await db.close();
  await directory.remove();
}
