/**
 * Opening a ledger of storage format 1 on real LevelDB: the test writes the
 * version-1 layout byte for byte (the entries the sequencer encodes, the
 * history records of keyspaces 0x10–0x16 but none of 0x17, snapshots, format
 * byte 1, and version-1 attestations whose digests the log's attestation
 * records carry), then opens it with the node. The upgrade rebuilds the
 * borrow/lend history, keeps the version-1 attestations readable, attests
 * version 2 from then on, and the replayer verifies the whole export. Fills
 * and orders are written one record per fill and per order under the
 * account keys, as formats 1 to 6 stored them, so the upgrade to format 7
 * (one record per account and entry, an order's latest status under its id)
 * and 8 (binary records) is tested by the same ledger; a second test turns a
 * format-8 ledger back into format 7's records and upgrades it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  attestationMessage,
  bytesToBase64,
  encodeAttestationJson,
  genesisHash,
  signAttestationRecord,
  signMessage,
  type AttestationOfAnyVersion,
  type LogEntry,
  type OrderView,
} from '@vex/engine';
import { replayLog } from '@vex/replayer';
import { afterEach, describe, expect, test } from 'vitest';
import { recordingLogger, settableClock, signedEntry, temporaryDirectory } from '../test/helpers.js';
import { bob, genesis, marginLog, operator } from '../test/margin-log.js';
import { freshSequencer } from '../test/sequenced-log.js';
import { AttestationMaker } from './attestation-maker.js';
import { createDatabase, writeBatch, type BatchOperation, type LedgerDatabase } from './database.js';
import { RecoveryError } from './errors.js';
import { ExchangeNode } from './exchange-node.js';
import { decodeOrder, orderIdsOf } from './history-orders.js';
import { decodeFills, decodeTrade } from './history-trades.js';
import type { FillRecord, PublicTrade } from './history.js';
import type { Sequencer } from './sequencer.js';
import {
  attestationKey,
  entryKey,
  formatMetaKey,
  genesisMetaKey,
  keyspaces,
  prefixRange,
  snapshotRange,
} from './storage-format.js';
import { canonicalGenesisBytes } from '@vex/engine';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const lendingRange = prefixRange(Uint8Array.of(keyspaces.lendingMovementByAccount));
const orderByIdRange = prefixRange(Uint8Array.of(keyspaces.orderById));
const orderByAccountRange = prefixRange(Uint8Array.of(keyspaces.orderByAccount));
const fillRange = prefixRange(Uint8Array.of(keyspaces.fillByAccount));
const tradeRange = prefixRange(Uint8Array.of(keyspaces.tradeByMarket));
const orderStatusRange = prefixRange(Uint8Array.of(keyspaces.orderStatusById));
const asJson = (record: unknown) =>
  JSON.stringify(record, (_, field) => (typeof field === 'bigint' ? `${field}` : field));

/**
 * The order records of formats 1 to 6 for a format-7 order status record (0x1d ‖ u64 order id): a JSON object
 * (formats 1 to 4; bigints as decimal strings, the account id second) under 0x11 ‖ account id ‖ u64 order id, and
 * the copy formats 1 to 4 kept under 0x12 ‖ u64 order id.
 */
function legacyOrderRecords(key: Uint8Array, value: Uint8Array, account: string): BatchOperation[] {
  const orderId = key.subarray(1, 9);
  const view = decodeOrder(value, Number(Buffer.from(orderId).readBigUInt64BE(0)), account);
  const legacy = Buffer.concat([value.subarray(0, 8), Buffer.from(asJson(view), 'latin1')]);
  const byAccount = Buffer.concat([Uint8Array.of(keyspaces.orderByAccount), Buffer.from(account, 'latin1'), orderId]);
  return [
    { type: 'put', key: byAccount, value: legacy },
    { type: 'put', key: Uint8Array.of(keyspaces.orderById, ...orderId), value: legacy },
  ];
}

/**
 * The fill records of formats 1 to 5 (a JSON object with the record's field names, bigints as decimal strings, an
 * absent systemOrderType left out) for a format-7 fill record: one per fill, under 0x10 ‖ account id ‖ u64 trade id
 * ‖ 0 for a maker's fill, 1 for a taker's.
 */
function legacyFillRecords(key: Uint8Array, value: Uint8Array): BatchOperation[] {
  return decodeFills(value).map((fill) => {
    const legacyKey = Buffer.alloc(54);
    legacyKey.set(key.subarray(0, 45));
    legacyKey.writeBigUInt64BE(BigInt(fill.tradeId), 45);
    legacyKey[53] = fill.isMaker ? 0 : 1;
    return { type: 'put', key: legacyKey, value: Buffer.concat([value.subarray(0, 8), Buffer.from(asJson(fill))]) };
  });
}

/** The old order records' views: as formats 1 to 4 decoded them, a JSON object with its bigints back. */
function legacyOrderView(hexValue: string): Record<string, unknown> {
  const view = JSON.parse(Buffer.from(hexValue, 'hex').toString('latin1', 8)) as Record<string, unknown>;
  for (const field of ['priceTicks', 'quantitySteps', 'quoteQuantityUnits', 'executedSteps', 'executedQuoteUnits'])
    if (view[field] !== undefined) view[field] = BigInt(view[field] as string);
  if (view.triggerPriceTicks !== undefined) view.triggerPriceTicks = BigInt(view.triggerPriceTicks as string);
  return view;
}

/** A public trade record of formats 1 to 5 (a JSON object, as the fills) holding the same trade as `value`. */
function legacyTradeRecord(value: Uint8Array): Uint8Array {
  return Buffer.concat([value.subarray(0, 8), Buffer.from(asJson(decodeTrade(value)), 'latin1')]);
}
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Format 7's order record (history-orders.ts before format 8): a JSON array of 17 elements by position. */
function format7OrderJson(order: OrderView): string {
  const optional = (field: bigint | number | undefined, quoted: boolean) =>
    field === undefined ? 'null' : quoted ? `"${field}"` : `${field}`;
  return (
    `[${order.orderId},"${order.market}","${order.side}","${order.orderType}","${order.priceTicks}",` +
    `"${order.quantitySteps}",${optional(order.quoteQuantityUnits, true)},"${order.executedSteps}",` +
    `"${order.executedQuoteUnits}","${order.timeInForce}",${order.postOnly},"${order.selfTradePrevention}",` +
    `${order.reduceOnly === true},${optional(order.clientId, false)},${optional(order.triggerPriceTicks, true)},` +
    `"${order.status}",${order.createdAtMs}]`
  );
}

/** Format 7's fill (an element of a fills record's array) and public trade records: JSON arrays by position. */
function format7FillJson(fill: FillRecord): string {
  const systemOrderType = fill.systemOrderType === undefined ? 'null' : `"${fill.systemOrderType}"`;
  return (
    `[${fill.tradeId},${fill.orderId},"${fill.market}","${fill.side}","${fill.priceTicks}","${fill.quantitySteps}",` +
    `"${fill.quoteUnits}","${fill.feeUnits}","${fill.feeAsset}",${fill.isMaker},${systemOrderType},${fill.timeMs}]`
  );
}

function format7TradeJson(trade: PublicTrade): string {
  return (
    `[${trade.tradeId},"${trade.market}","${trade.priceTicks}","${trade.quantitySteps}","${trade.quoteUnits}",` +
    `${trade.isBuyerMaker},${trade.timeMs}]`
  );
}

/** Format 7's order pointers (formats 6 and 7): writer sequence, then u64 order id ‖ account id per order. */
function format7Pointers(value: Uint8Array): Uint8Array {
  const parts: Buffer[] = [Buffer.from(value.subarray(0, 8))];
  for (let offset = 8; offset < value.length; ) {
    const count = value[offset]!;
    const account = Buffer.from(value.subarray(offset + 1, offset + 45));
    for (let index = 0; index < count; index += 1) {
      const id = offset + 45 + index * 8;
      parts.push(Buffer.from(value.subarray(id, id + 8)), account);
    }
    offset += 45 + count * 8;
  }
  return Buffer.concat(parts);
}

/** Every answer of the history about the node's accounts and markets: fills, orders, each order by id, trades. */
async function historyAnswers(node: ExchangeNode) {
  const fills = new Map<string, FillRecord[]>();
  const accountOrders = new Map<string, OrderView[]>();
  const orders = new Map<number, OrderView | undefined>();
  const trades = new Map<string, PublicTrade[]>();
  for (const accountId of node.state.accounts.keys()) {
    fills.set(accountId, await node.history.fills(accountId, { limit: 1_000 }));
    const pages = await node.history.orders(accountId, { limit: 1_000 });
    accountOrders.set(accountId, pages);
    for (const order of pages) orders.set(order.orderId, await node.history.order(order.orderId));
  }
  for (const market of node.state.marketsBySymbol.keys()) trades.set(market, await node.history.trades(market, 1_000));
  return { fills, accountOrders, orders, trades };
}

interface Format1Ledger {
  /** Every 0x17 record a current node derives from this log, as hex key → hex value. */
  readonly lendingRecords: Map<string, string>;
  readonly attestations: AttestationOfAnyVersion[];
  readonly headSequence: number;
  readonly lastLogTimeMs: number;
}

/**
 * A version-1 attestation of the state after the sequencer's last entry, as a format-1 node signed it; version 2
 * when `version` says so (a log that goes back to version 1 after a version-2 record, for the replayer's refusal).
 */
function attestAs(version: 1 | 2, maker: AttestationMaker, sequencer: Sequencer): AttestationOfAnyVersion {
  const made = maker.attest(sequencer.state, sequencer.sequence, sequencer.entryHash).attestation;
  if (version === 2) return made;
  const assets = made.assets.map(({ symbol, claims, debts, reserves }) => ({ symbol, claims, debts, reserves }));
  const unsigned = { ...made, version: 1 as const, assets, signature: '' };
  return { ...unsigned, signature: bytesToBase64(signMessage(operator.seed, attestationMessage(unsigned))) };
}

/** Writes the storage-format-1 layout of `entries` (and version-1 attestations) into a new LevelDB ledger. */
async function writeFormat1Ledger(
  dataDirectory: string,
  entries: readonly LogEntry[],
  versions: readonly (1 | 2)[] = [1, 1, 1],
): Promise<Format1Ledger> {
  const { sequencer, clock } = freshSequencer(genesis, entries[0]!.logTimeMs, 10);
  const maker = new AttestationMaker(
    sequencer.state,
    operator.seed,
    genesisHash(genesis),
    { everyEntries: 1_000_000, everyMs: Number.MAX_SAFE_INTEGER },
    undefined,
    0,
  );
  const batches: BatchOperation[][] = [
    [
      { type: 'put', key: genesisMetaKey, value: canonicalGenesisBytes(genesis) },
      { type: 'put', key: formatMetaKey, value: Uint8Array.of(1) },
    ],
  ];
  const lendingRecords = new Map<string, string>();
  // Each order's account, from the format-7 order-ids records (written by the entry that accepted the order).
  const accountOfOrder = new Map<number, string>();
  const attestations: AttestationOfAnyVersion[] = [];
  // The entries after which the format-1 node attested (each followed by its record); the last is the head.
  const attestedAfter = [6, 12, entries.length];
  const sequence = (transaction: LogEntry['transaction'], logTimeMs: number) => {
    const result = sequencer.apply(transaction, logTimeMs);
    if (!('committed' in result)) throw new Error(`refused: ${JSON.stringify(result.outcome)}`);
    const operations: BatchOperation[] = [
      { type: 'put', key: entryKey(result.committed.sequence), value: result.encoding },
    ];
    for (const operation of result.records) {
      if (operation.key[0] === keyspaces.orderByAccount && operation.type === 'put') {
        const account = Buffer.from(operation.key.subarray(1, 45)).toString('latin1');
        for (const orderId of orderIdsOf(operation.value)) accountOfOrder.set(orderId, account);
      }
    }
    for (const operation of result.records) {
      const space = operation.key[0];
      // Format 1 wrote every history record but the borrow/lend ones.
      if (space === keyspaces.lendingMovementByAccount) {
        if (operation.type === 'put') lendingRecords.set(hex(operation.key), hex(operation.value));
      } else if (space === keyspaces.orderById || space === keyspaces.orderByAccount) {
        // Formats 1 to 4 stored a copy of the order record under its id instead, and no order-ids records (below).
      } else if (operation.type !== 'put') {
        operations.push(operation);
      } else if (space === keyspaces.fillByAccount) {
        operations.push(...legacyFillRecords(operation.key, operation.value));
      } else if (space === keyspaces.tradeByMarket) {
        operations.push({ type: 'put', key: operation.key, value: legacyTradeRecord(operation.value) });
      } else if (space === keyspaces.orderStatusById) {
        // The latest status: a later entry's record of the order overwrites it, under the same keys.
        const account = accountOfOrder.get(Number(Buffer.from(operation.key).readBigUInt64BE(1)))!;
        operations.push(...legacyOrderRecords(operation.key, operation.value, account));
      } else operations.push(operation);
    }
    batches.push(operations);
  };
  for (const entry of entries) {
    clock.set(entry.logTimeMs);
    sequence(entry.transaction, sequencer.nextLogTime());
    if (attestedAfter.includes(sequencer.sequence - attestations.length)) {
      const attestation = attestAs(versions[attestations.length]!, maker, sequencer);
      attestations.push(attestation);
      batches.at(-1)!.push({
        type: 'put',
        key: attestationKey(attestation.sequence),
        value: new TextEncoder().encode(encodeAttestationJson(attestation)),
      });
      const recordTime = sequencer.nextLogTime();
      sequence(signAttestationRecord(attestation, recordTime, operator.seed), recordTime);
    }
  }
  const location = join(dataDirectory, 'ledger');
  await mkdir(location, { recursive: true });
  const db = createDatabase(location);
  await db.open();
  await writeBatch(db, batches, { sync: true });
  await db.close();
  return { lendingRecords, attestations, headSequence: sequencer.sequence, lastLogTimeMs: sequencer.state.logTimeMs };
}

async function readRange(location: string, range: { gte: Uint8Array; lt: Uint8Array }): Promise<Map<string, string>> {
  const db: LedgerDatabase = createDatabase(join(location, 'ledger'));
  await db.open();
  const records = new Map<string, string>();
  for await (const [key, value] of db.iterator(range)) records.set(hex(key), hex(value));
  await db.close();
  return records;
}

async function readFormat(location: string): Promise<number | undefined> {
  const db = createDatabase(join(location, 'ledger'));
  await db.open();
  const format = await db.get(formatMetaKey);
  await db.close();
  return format?.[0];
}

async function collectText(write: (destination: Writable) => Promise<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  await write(destination);
  return Buffer.concat(chunks);
}

function openNode(dataDirectory: string, timeMs: number) {
  const logging = recordingLogger();
  const clock = settableClock(timeMs);
  const opened = ExchangeNode.open({
    dataDirectory,
    genesis,
    logger: logging.logger,
    clock: clock.clock,
    verifierThreads: 1,
    snapshotEveryEntries: 10,
    attestationSigningSeed: operator.seed,
  });
  return { opened, logging, clock };
}

describe('storage format upgrade', () => {
  test('a format-1 ledger is upgraded in place: history rebuilt, version-1 attestations kept, verified', async () => {
    const directory = await temporaryDirectory();
    cleanups.push(directory.remove);
    const entries = marginLog();
    const old = await writeFormat1Ledger(directory.path, entries);
    expect(old.lendingRecords.size).toBeGreaterThan(5);
    expect(await readRange(directory.path, lendingRange)).toEqual(new Map());
    expect((await readRange(directory.path, snapshotRange)).size).toBeGreaterThan(0);
    const oldOrders = await readRange(directory.path, orderByIdRange);
    expect(oldOrders.size).toBeGreaterThan(2);
    expect([...oldOrders.values()].every((value) => value.length > 2 * (8 + 44))).toBe(true);
    const oldByAccount = await readRange(directory.path, orderByAccountRange);
    const oldFills = await readRange(directory.path, fillRange);
    const oldTrades = await readRange(directory.path, tradeRange);
    expect(oldFills.size).toBeGreaterThan(2);
    expect(oldTrades.size).toBeGreaterThan(1);

    const first = openNode(directory.path, old.lastLogTimeMs);
    const node = await first.opened;
    expect(first.logging.lines.some((line) => line.msg.startsWith('ledger upgraded from storage format 1 to 8'))).toBe(
      true,
    );
    expect(node.state.headSequence).toBe(old.headSequence);
    // The version-1 attestations are served as they were signed; the head is the last one's record, so the node
    // has no version-2 attestation yet and makes one after the next entry.
    for (const attestation of old.attestations)
      expect(await node.attestationAt(attestation.sequence)).toEqual(attestation);
    expect(await node.readAttestations(1, 100)).toEqual(old.attestations);
    expect(node.latestAttestation()).toBeUndefined();
    const borrows = await node.history.borrowLendHistory(bob.accountId, { limit: 100 });
    expect(borrows.length).toBe(6);
    // Every order is found by its id through the new pointers, and reads as the old copy did.
    for (const [key, value] of oldOrders) {
      const orderId = Number(Buffer.from(key, 'hex').readBigUInt64BE(1));
      expect(await node.history.order(orderId)).toStrictEqual(legacyOrderView(value));
    }
    // Each account's fills and orders page as the old records did, one per fill and per order in key order, newest
    // (last) first: the same records, field for field, in the same order.
    const byAccountNewestFirst = (records: Map<string, string>) => {
      const lists = new Map<string, string[]>();
      for (const [key, value] of [...records].reverse()) {
        const account = Buffer.from(key, 'hex').toString('latin1', 1, 45);
        lists.set(account, [...(lists.get(account) ?? []), value]);
      }
      return lists;
    };
    const fillAccounts = byAccountNewestFirst(oldFills);
    expect(fillAccounts.size).toBeGreaterThan(1);
    for (const [account, values] of fillAccounts) {
      const fills = await node.history.fills(account, { limit: 1_000 });
      const legacy = values.map((value) => JSON.parse(Buffer.from(value, 'hex').toString('latin1', 8)) as object);
      expect(fills.map((fill) => Object.keys(fill))).toEqual(legacy.map((record) => Object.keys(record)));
      expect(fills.map((fill) => JSON.parse(asJson(fill)) as object)).toEqual(legacy);
    }
    const orderAccounts = byAccountNewestFirst(oldByAccount);
    expect(orderAccounts.size).toBeGreaterThan(1);
    for (const [account, values] of orderAccounts)
      expect(await node.history.orders(account, { limit: 1_000 })).toStrictEqual(values.map(legacyOrderView));

    first.clock.set(old.lastLogTimeMs + 1_000);
    const deposit = signedEntry(
      operator,
      'depositCredit',
      {
        account: bob.accountId,
        blockchain: 'Solana',
        chainTransactionId: 'after-upgrade',
        quantity: '1',
        symbol: 'USDC',
      },
      old.lastLogTimeMs + 1_000,
    );
    const submitted = await node.submit(deposit.transaction);
    expect(submitted.outcome.accepted).toBe(true);
    expect(node.latestAttestation()).toMatchObject({ version: 2, sequence: submitted.sequence });
    await node.close();

    expect(await readFormat(directory.path)).toBe(8);
    expect(await readRange(directory.path, lendingRange)).toEqual(old.lendingRecords);
    // The old fill and order records (one per fill, one per order, under the account keys) are gone: what is under
    // 0x10 is one record per account and entry that filled it (0x10 ‖ account ‖ u64 sequence: 53 bytes against the
    // old 54), under 0x11 the ids of the orders an entry accepted for an account, and every order's latest status
    // is under 0x1d ‖ its id.
    const fills = await readRange(directory.path, fillRange);
    expect([...fills.keys()].every((key) => key.length === 2 * 53)).toBe(true);
    expect(fills.size).toBeLessThanOrEqual(oldFills.size);
    expect([...fills.values()].reduce((count, value) => count + decodeFills(Buffer.from(value, 'hex')).length, 0)).toBe(
      oldFills.size,
    );
    const orderIds = [...(await readRange(directory.path, orderByAccountRange)).values()].flatMap((value) =>
      orderIdsOf(Buffer.from(value, 'hex')),
    );
    const oldOrderIds = [...oldByAccount.keys()].map((key) => Number(Buffer.from(key, 'hex').readBigUInt64BE(45)));
    expect(orderIds.sort((a, b) => a - b)).toEqual(oldOrderIds.sort((a, b) => a - b));
    const statuses = await readRange(directory.path, orderStatusRange);
    expect([...statuses.keys()].map((key) => Number(Buffer.from(key, 'hex').readBigUInt64BE(1)))).toEqual(oldOrderIds);
    // The public trades were rewritten as binary records (format 8) under the same keys, holding the same records.
    const trades = await readRange(directory.path, tradeRange);
    expect([...trades.keys()].slice(0, oldTrades.size)).toEqual([...oldTrades.keys()]);
    for (const [key, value] of oldTrades) {
      const legacy = JSON.parse(Buffer.from(value, 'hex').toString('latin1', 8)) as Record<string, unknown>;
      const decoded = decodeTrade(Buffer.from(trades.get(key)!, 'hex'));
      expect(Buffer.from(trades.get(key)!, 'hex')[8]).toBe(0); // the u64 trade id's first byte, not JSON's '['
      expect(Object.keys(decoded)).toEqual(Object.keys(legacy));
      expect(JSON.parse(asJson(decoded))).toEqual(legacy);
    }
    // The old order-by-id records are gone: what is under 0x12 is format 8's order pointers, one record per entry
    // that accepted orders (u64 writer sequence, then per run of one account's orders u8 count ‖ 44-byte account id
    // ‖ count × u64 order id), and no more of them than there are orders.
    const pointers = await readRange(directory.path, orderByIdRange);
    expect(pointers.size).toBeGreaterThan(2);
    expect(pointers.size).toBeLessThanOrEqual(oldOrders.size + 1);
    const runsEnd = (value: Buffer) => {
      let offset = 8;
      while (offset < value.length) offset += 1 + 44 + value[offset]! * 8;
      return offset;
    };
    expect(
      [...pointers.values()].every((hexValue) => runsEnd(Buffer.from(hexValue, 'hex')) === hexValue.length / 2),
    ).toBe(true);

    // A second start finds format 8: no upgrade, the same state.
    const second = openNode(directory.path, old.lastLogTimeMs + 2_000);
    const reopened = await second.opened;
    expect(second.logging.lines.some((line) => line.msg.startsWith('ledger upgraded'))).toBe(false);
    const attestations = await reopened.readAttestations(1, 100);
    expect(attestations.slice(0, old.attestations.length)).toEqual(old.attestations);
    expect(attestations.slice(old.attestations.length).every((attestation) => attestation.version === 2)).toBe(true);

    const log = await collectText((destination) => reopened.exportLog(destination));
    const lines = (await collectText((destination) => reopened.exportAttestations(destination))).toString('utf8');
    await reopened.close();
    const report = await replayLog({
      log,
      attestations: lines
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
      workers: 1,
    });
    if (!report.verified) throw new Error(`the replay diverged: ${JSON.stringify(report.divergence)}`);
    expect(report.attestationsChecked).toBe(attestations.length);
    expect(report.recordsChecked).toBe(attestations.length);
  });

  test('a format-7 ledger (JSON arrays, a pointer per order) is upgraded to 8, every history answer kept', async () => {
    const directory = await temporaryDirectory();
    cleanups.push(directory.remove);
    const old = await writeFormat1Ledger(directory.path, marginLog());
    const first = openNode(directory.path, old.lastLogTimeMs);
    const answers = await historyAnswers(await first.opened);
    await (await first.opened).close();
    expect(answers.orders.size).toBeGreaterThan(2);

    // Back to format 7's records, as a format-7 node wrote them for the same log.
    const db = createDatabase(join(directory.path, 'ledger'));
    await db.open();
    const format7: BatchOperation[] = [{ type: 'put', key: formatMetaKey, value: Uint8Array.of(7) }];
    const rewrite = async (space: number, json: (key: Uint8Array, value: Uint8Array) => Uint8Array) => {
      for await (const [key, value] of db.iterator(prefixRange(Uint8Array.of(space))))
        format7.push({ type: 'put', key, value: json(key, value) });
    };
    const withSequence = (value: Uint8Array, text: string) => Buffer.concat([value.subarray(0, 8), Buffer.from(text)]);
    await rewrite(keyspaces.orderStatusById, (key, value) =>
      withSequence(value, format7OrderJson(decodeOrder(value, Number(Buffer.from(key).readBigUInt64BE(1)), ''))),
    );
    await rewrite(keyspaces.fillByAccount, (_, value) =>
      withSequence(value, `[${decodeFills(value).map(format7FillJson).join(',')}]`),
    );
    await rewrite(keyspaces.tradeByMarket, (_, value) => withSequence(value, format7TradeJson(decodeTrade(value))));
    await rewrite(keyspaces.orderById, (_, value) => format7Pointers(value));
    await writeBatch(db, [format7], { sync: true });
    await db.close();

    const second = openNode(directory.path, old.lastLogTimeMs + 1_000);
    const upgraded = await second.opened;
    expect(second.logging.lines.some((line) => line.msg.startsWith('ledger upgraded from storage format 7 to 8'))).toBe(
      true,
    );
    expect(await historyAnswers(upgraded)).toEqual(answers);
    await upgraded.close();
    expect(await readFormat(directory.path)).toBe(8);
    const statuses = await readRange(directory.path, orderStatusRange);
    expect(statuses.size).toBe(answers.orders.size);
    // Binary again: the flags byte after the writer sequence, not JSON's '['.
    expect([...statuses.values()].every((value) => Buffer.from(value, 'hex')[8]! < 0x40)).toBe(true);
  });

  test('the replayer refuses a version-1 record after a version-2 one', async () => {
    const directory = await temporaryDirectory();
    cleanups.push(directory.remove);
    const old = await writeFormat1Ledger(directory.path, marginLog(), [1, 2, 1]);
    const { opened } = openNode(directory.path, old.lastLogTimeMs);
    const node = await opened;
    const log = await collectText((destination) => node.exportLog(destination));
    await node.close();
    const report = await replayLog({ log, workers: 1 });
    expect(report.verified).toBe(false);
    const lastRecord = old.attestations[2]!.sequence + 1;
    expect(report.verified === false && report.divergence).toMatchObject({
      check: 'attestation-record',
      sequence: lastRecord,
    });
  });

  test.each([
    [Uint8Array.of(9), 'the storage format is 0x09, this node reads formats 1 to 8 (it was written by a newer version'],
    [Uint8Array.of(0), 'the storage format is 0x00, this node reads formats 1 to 8 (this node cannot read it'],
    [undefined, 'the storage format is missing, this node reads formats 1 to 8'],
  ])('a ledger of format %s is refused with what to do, and left as it was', async (format, message) => {
    const directory = await temporaryDirectory();
    cleanups.push(directory.remove);
    await writeFormat1Ledger(directory.path, marginLog().slice(0, 8));
    const db = createDatabase(join(directory.path, 'ledger'));
    await db.open();
    if (format === undefined) await db.del(formatMetaKey);
    else await db.put(formatMetaKey, format);
    await db.close();
    const snapshotsBefore = await readRange(directory.path, snapshotRange);

    const { opened } = openNode(directory.path, 0);
    const error = await opened.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(RecoveryError);
    expect((error as RecoveryError).problem).toBe('storage-format');
    expect((error as RecoveryError).message).toContain(message);
    expect(await readFormat(directory.path)).toBe(format?.[0]);
    expect(await readRange(directory.path, snapshotRange)).toEqual(snapshotsBefore);
  });
});
