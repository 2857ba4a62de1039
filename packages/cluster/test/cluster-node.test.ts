/**
 * The exchange node on the etcd log, in one process against a real
 * three-member etcd cluster: the sequencer acknowledges only what etcd has
 * committed; a standby that wins the election catches its own LevelDB up
 * from etcd, recovers the exact head and the same state, and goes on; the
 * deposed sequencer cannot append again; every accepted transaction is in
 * the log exactly once and every member replays to the same state hash.
 * (Killing sequencer processes under HTTP load is cluster-failover.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { genesisHash, stateHashHex, type Genesis } from '@vex/engine';
import { ExchangeNode, LedgerHaltedError, type LogAppender, type SubmitResult } from '@vex/ledger';
import { createDatabase } from '../../ledger/src/database.js';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { fixture, settableClock, submitInWaves } from '../../ledger/test/helpers.js';
import {
  EtcdLogStore,
  ReplicatedLogWriter,
  catchUp,
  initialiseLedger,
  localHead,
  type EtcdLogAppender,
} from '../src/index.js';
import { uniquePrefix } from './entries.js';
import { describeWithEtcd, useThreeMemberCluster } from './etcd-fixture.js';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function memberDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'vex-cluster-member-'));
  directories.push(directory);
  return directory;
}

function openNode(directory: string, genesis: Genesis, appender: LogAppender | undefined, clock: () => number) {
  return ExchangeNode.open({
    dataDirectory: directory,
    genesis,
    verifierThreads: 1,
    clock,
    logger: pino({ level: 'silent' }),
    ...(appender === undefined ? {} : { logWriter: (local) => new ReplicatedLogWriter(appender, local) }),
  });
}

/** Catches the member's own ledger up to `to` from etcd (the standby's step before it opens the node). */
async function catchUpMember(directory: string, genesis: Genesis, store: EtcdLogStore, to: number): Promise<number> {
  const db = createDatabase(join(directory, 'ledger'));
  await db.open();
  try {
    await initialiseLedger(db, genesis);
    const head = await catchUp(db, store, await localHead(db, genesisHash(genesis)), to);
    return head.sequence;
  } finally {
    await db.close();
  }
}

/** The etcd log holds exactly the node's durable entries. */
async function expectSameLog(node: ExchangeNode, store: EtcdLogStore): Promise<void> {
  expect((await store.head()).sequence).toBe(node.head().sequence);
  const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  const local = [];
  for await (const entry of node.readEntries(1)) local.push(hexOf(entry.entryHash));
  const replicated = [];
  for await (const batch of store.read(1)) replicated.push(...batch.map((entry) => hexOf(entry.entryHash)));
  expect(replicated).toEqual(local);
}

describeWithEtcd('the exchange node on the etcd log', () => {
  const { cluster } = useThreeMemberCluster();
  const stores: EtcdLogStore[] = [];
  afterAll(() => {
    for (const store of stores) store.close();
  });
  const { entries, genesis } = fixture(21, 400);

  it('acks after etcd commits; a standby takes over at the exact head; the deposed one cannot append', async () => {
    const prefix = uniquePrefix('node');
    const open = async () => {
      const store = await EtcdLogStore.open({
        endpoints: cluster().endpoints,
        prefix,
        genesisHash: genesisHash(genesis),
      });
      stores.push(store);
      return store;
    };
    const [storeA, storeB] = [await open(), await open()];
    const appenderA: EtcdLogAppender = await storeA.campaign({ sequencerId: 'a', leaseTtlSeconds: 2 });
    const directoryA = await memberDirectory();
    const clockA = settableClock(entries[0]!.logTimeMs);
    const nodeA = await openNode(directoryA, genesis, appenderA, clockA.clock);
    const half = Math.floor(entries.length / 2);
    const first = await submitInWaves(nodeA, clockA.set, entries.slice(0, half), 32);
    const acknowledged = first.filter((result) => result.outcome.accepted);
    expect(acknowledged.length).toBeGreaterThan(100);
    // Every acknowledged entry is in etcd, byte for byte what the node logged.
    await expectSameLog(nodeA, storeA);

    // The sequencer "dies": its lease is no longer renewed. The standby wins once it expires.
    appenderA.abandonLeaseForTesting();
    const appenderB = await storeB.campaign({ sequencerId: 'b', leaseTtlSeconds: 2, pollIntervalMs: 100 });
    expect(appenderB.durableHead().sequence).toBe(nodeA.head().sequence);
    const directoryB = await memberDirectory();
    expect(await catchUpMember(directoryB, genesis, storeB, appenderB.durableHead().sequence)).toBe(
      nodeA.head().sequence,
    );
    const clockB = settableClock(entries[half]!.logTimeMs);
    const nodeB = await openNode(directoryB, genesis, appenderB, clockB.clock);
    expect(nodeB.head()).toEqual(nodeA.head());
    expect(stateHashHex(nodeB.state)).toBe(stateHashHex(nodeA.state));

    // The old sequencer wakes up: its append is refused by the fence, it halts and acknowledges nothing.
    const headBefore = (await storeA.head()).sequence;
    const stale: Promise<SubmitResult> = nodeA.submit(entries[half]!.transaction);
    await expect(stale).rejects.toBeInstanceOf(LedgerHaltedError);
    expect((await storeA.head()).sequence).toBe(headBefore);
    await nodeA.close();

    // The new sequencer goes on.
    const second = await submitInWaves(nodeB, clockB.set, entries.slice(half), 32);
    expect(second.filter((result) => result.outcome.accepted).length).toBeGreaterThan(50);
    const signatures = new Set<string>();
    let count = 0;
    for await (const entry of nodeB.readEntries(1)) {
      signatures.add(Buffer.from(entry.transaction.signature).toString('hex'));
      count += 1;
    }
    expect(signatures.size).toBe(count); // exactly once
    expect((await storeB.head()).sequence).toBe(nodeB.head().sequence);

    // The old member catches up as a replica would, and replays to the same state.
    expect(await catchUpMember(directoryA, genesis, storeA, nodeB.head().sequence)).toBe(nodeB.head().sequence);
    const replica = await openNode(directoryA, genesis, undefined, clockB.clock);
    expect(replica.head()).toEqual(nodeB.head());
    expect(stateHashHex(replica.state)).toBe(stateHashHex(nodeB.state));
    await replica.close();
    await nodeB.close();
    await appenderB.close();
  }, 120_000);
});
