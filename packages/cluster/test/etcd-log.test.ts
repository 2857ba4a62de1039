/**
 * The etcd log against a real three-member etcd cluster on loopback: fenced
 * appends, the election, outcome-unknown handling, the rolling window and the
 * follower's checks. Member failures are in etcd-failures.test.ts.
 */
import type { IEvent } from 'etcd3';
import { expect, it } from 'vitest';
import {
  EtcdLogStore,
  LogAppenderDeposedError,
  LogContinuityError,
  LogOutsideWindowError,
  encodeChunk,
  type EncodedEntry,
  type LogPosition,
} from '../src/index.js';
import { EntryMaker, hex, testGenesisHash, uniquePrefix } from './entries.js';
import { describeWithEtcd, fullScale, useThreeMemberCluster } from './etcd-fixture.js';

describeWithEtcd('the etcd log', () => {
  const { cluster: runningCluster, openStore } = useThreeMemberCluster();

  async function readAll(store: EtcdLogStore, fromSequence = 1): Promise<EncodedEntry[]> {
    const entries: EncodedEntry[] = [];
    for await (const batch of store.read(fromSequence)) entries.push(...batch);
    return entries;
  }

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  it('appends batches durably, reads them back chained from the genesis, and refuses entries that do not continue the log', async () => {
    const prefix = uniquePrefix('basic');
    const store = await openStore(prefix);
    const appender = await store.campaign({ sequencerId: 'sequencer-a', leaseTtlSeconds: 5 });
    expect(appender.durableHead().sequence).toBe(0);
    const maker = new EntryMaker();
    const written = [maker.next(3), maker.next(1), maker.next(50, 2_000)];
    // Several batches queued at once: group-committed, several per txn.
    const heads = await Promise.all(written.map((batch) => appender.append(batch)));
    expect(heads.map((head) => head.sequence)).toEqual([3, 4, 54]);
    expect(hex((await store.head()).entryHash)).toBe(hex(maker.position.entryHash));
    const entries = await readAll(store);
    expect(entries.map((entry) => Buffer.from(entry.encoding))).toEqual(
      written.flat().map((bytes) => Buffer.from(bytes)),
    );
    // A read from the middle, anchored, and one bounded above.
    const middle: EncodedEntry[] = [];
    for await (const batch of store.read(4, 10, { sequence: 3, entryHash: entries[2]!.entryHash }))
      middle.push(...batch);
    expect(middle.map((entry) => entry.sequence)).toEqual([4, 5, 6, 7, 8, 9, 10]);

    // Not continuing the log: a gap, a replay of entry 1, a broken chain. Nothing is written.
    const gap = new EntryMaker({ sequence: 55, entryHash: maker.position.entryHash }).next(1);
    expect(await rejection(appender.append(gap))).toBeInstanceOf(LogContinuityError);
    expect(await rejection(appender.append(written[0]!))).toBeInstanceOf(LogContinuityError);
    const forged = new EntryMaker({ sequence: 54, entryHash: new Uint8Array(32) }).next(1);
    expect(await rejection(appender.append(forged))).toBeInstanceOf(LogContinuityError);
    expect((await store.head()).sequence).toBe(54);
    expect(await appender.append(maker.next(1))).toMatchObject({ sequence: 55 });

    // Another genesis is refused.
    await expect(
      EtcdLogStore.open({ endpoints: runningCluster().endpoints, prefix, genesisHash: new Uint8Array(32) }),
    ).rejects.toThrow(/another genesis/);
    await appender.close();
  });

  it('lets one sequencer hold the log at a time; a standby takes over from the exact head when the leader resigns', async () => {
    const prefix = uniquePrefix('election');
    const [storeA, storeB] = [await openStore(prefix), await openStore(prefix)];
    const first = await Promise.race([
      storeA.campaign({ sequencerId: 'a', leaseTtlSeconds: 5 }).then((appender) => ({ name: 'a', appender })),
      storeB.campaign({ sequencerId: 'b', leaseTtlSeconds: 5 }).then((appender) => ({ name: 'b', appender })),
    ]);
    // The other campaign keeps waiting; find it again by campaigning with the loser's store.
    expect((await storeA.currentLeader())?.sequencerId).toBe(first.name);
    const maker = new EntryMaker();
    await first.appender.append(maker.next(10));
    const loserStore = first.name === 'a' ? storeB : storeA;
    const standby = loserStore.campaign({ sequencerId: 'standby', leaseTtlSeconds: 5, pollIntervalMs: 50 });
    let standbyWon = false;
    void standby.then(
      () => (standbyWon = true),
      () => undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(standbyWon).toBe(false);
    await first.appender.close();
    const second = await standby;
    expect(second.durableHead()).toEqual(maker.position);
    await second.append(maker.next(5));
    expect((await loserStore.head()).sequence).toBe(15);
    // The first, closed, never appends again.
    expect(await rejection(first.appender.append(maker.next(1)))).toBeInstanceOf(LogAppenderDeposedError);
    await second.close();
  });

  it('refuses a stale sequencer whose lease was revoked behind its back: of two writers at the same head exactly one wins', async () => {
    const rounds = fullScale ? 500 : 25;
    const prefix = uniquePrefix('race');
    const [storeA, storeB] = [await openStore(prefix), await openStore(prefix)];
    const maker = new EntryMaker();
    let staleWins = 0;
    let freshWins = 0;
    for (let round = 0; round < rounds; round += 1) {
      const stale = await storeA.campaign({ sequencerId: `stale-${round}`, leaseTtlSeconds: 10, pollIntervalMs: 20 });
      // The stale sequencer's lease is revoked by someone else (as if it expired while the process was paused); it has not noticed.
      await storeB.client.leaseClient.leaseRevoke({ ID: stale.fence.leaseId });
      const fresh = await storeB.campaign({ sequencerId: `fresh-${round}`, leaseTtlSeconds: 10, pollIntervalMs: 20 });
      expect(fresh.durableHead()).toEqual(maker.position);
      const base = maker.position;
      const staleEntries = new EntryMaker(base).next(1, 100, 'stale');
      const freshEntries = new EntryMaker(base).next(1, 100, 'fresh');
      const [staleResult, freshResult] = await Promise.allSettled([
        stale.append(staleEntries),
        fresh.append(freshEntries),
      ]);
      if (staleResult.status === 'fulfilled') staleWins += 1;
      else expect(staleResult.reason).toBeInstanceOf(LogAppenderDeposedError);
      if (freshResult.status === 'fulfilled') freshWins += 1;
      const head = await storeA.head();
      expect(head.sequence).toBe(base.sequence + 1);
      maker.position = head;
      await fresh.close();
      // With nobody holding the log, the stale sequencer still cannot append: it never appends again.
      expect(await rejection(stale.append(new EntryMaker(head).next(1, 100, 'stale')))).toBeInstanceOf(
        LogAppenderDeposedError,
      );
      await stale.close();
    }
    expect(staleWins).toBe(0);
    expect(freshWins).toBe(rounds);
    // The log is one chain: every round's entry is the fresh writer's.
    const entries = await readAll(storeA);
    expect(entries).toHaveLength(rounds);
    for (const entry of entries)
      expect(Buffer.from(entry.encoding).toString('latin1')).toContain(`fresh ${entry.sequence} `);
  });

  it('finds out whether an append whose reply was lost landed, by re-reading the head, and never writes an entry twice', async () => {
    const prefix = uniquePrefix('unknown');
    const store = await openStore(prefix);
    const appender = await store.campaign({ sequencerId: 'a', leaseTtlSeconds: 5 });
    const maker = new EntryMaker();
    const kv = store.client.kv;
    const realTxn = kv.txn.bind(kv);
    let mode: 'landed-reply-lost' | 'lost-before-sending' | 'normal' = 'normal';
    let failuresLeft = 0;
    kv.txn = (async (request, options) => {
      const isAppend = (request.success?.length ?? 0) > 1 && request.success?.[0]?.request_put !== undefined;
      if (!isAppend || failuresLeft === 0) return realTxn(request, options);
      failuresLeft -= 1;
      if (mode === 'lost-before-sending') throw new Error('simulated: the connection dropped before the txn was sent');
      await realTxn(request, options);
      throw new Error('simulated: the txn committed but its reply was lost');
    }) as typeof kv.txn;

    mode = 'landed-reply-lost';
    failuresLeft = 1;
    expect(await appender.append(maker.next(5))).toEqual(maker.position);
    expect(appender.statistics.outcomeUnknown).toBe(1);
    expect(appender.statistics.outcomeLanded).toBe(1);
    expect(appender.statistics.retries).toBe(0);

    mode = 'lost-before-sending';
    failuresLeft = 3;
    expect(await appender.append(maker.next(5))).toEqual(maker.position);
    expect(appender.statistics.outcomeUnknown).toBe(4);
    expect(appender.statistics.retries).toBe(3);

    kv.txn = realTxn as typeof kv.txn;
    const entries = await readAll(store);
    expect(entries.map((entry) => entry.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(hex(entries[9]!.entryHash)).toBe(hex(maker.position.entryHash));
    await appender.close();
  });

  it('keeps etcd bounded: the window keeps what some replica lacks, up to its byte bound, and compacts the rest', async () => {
    const prefix = uniquePrefix('window');
    const store = await openStore(prefix);
    const windowBytes = 2 * 1024 * 1024;
    const appender = await store.campaign({
      sequencerId: 'a',
      leaseTtlSeconds: 5,
      window: { maximumBytes: windowBytes, trimEveryBytes: 256 * 1024 },
    });
    const maker = new EntryMaker();
    // A replica that has everything through entry 100 holds the window back from there (the bound is far away).
    await store.reportProgress('replica-1', 100);
    for (let index = 0; index < 10; index += 1) await appender.append(maker.next(50, 900));
    await appender.trimWindow();
    // Chunks of 50 entries: 1–50 and 51–100 are held by every replica, so they go; 101–150 stays.
    expect(await store.firstHeldSequence()).toBe(101);
    await store.reportProgress('replica-1', 500);
    await appender.trimWindow();
    // Everything is held by the replica now, but the newest chunk always stays, so a follower can find the tail.
    expect(await store.firstHeldSequence()).toBe(451);
    // Reading before the window says so.
    await expect(readAll(store, 1)).rejects.toBeInstanceOf(LogOutsideWindowError);

    // Now a replica stuck at entry 500 for ever: the byte bound trims past it. Append several times the window.
    const appendedTarget = (fullScale ? 200 : 24) * 1024 * 1024;
    let appended = 0;
    while (appended < appendedTarget) {
      const batch = maker.next(200, 1_000);
      appended += batch.reduce((sum, bytes) => sum + bytes.length, 0);
      await appender.append(batch);
    }
    await appender.trimWindow();
    const live = await store.client.kv.range({ key: store.keys.chunkPrefix, range_end: store.keys.chunkRangeEnd });
    const liveBytes = live.kvs.reduce((sum, kv) => sum + kv.value.length, 0);
    expect(liveBytes).toBeLessThanOrEqual(windowBytes);
    expect(liveBytes).toBeGreaterThan(windowBytes / 2);
    expect(appender.statistics.compactions).toBeGreaterThan(5);
    // etcd's file levels off (freed pages are reused after compaction) instead of growing with everything appended.
    const finalSize = await runningCluster().databaseSizeBytes(0);
    console.log(
      `window: appended ${(appended / 2 ** 20).toFixed(1)} MiB, live ${(liveBytes / 2 ** 20).toFixed(2)} MiB, etcd db ${(finalSize / 2 ** 20).toFixed(1)} MiB, trims ${appender.statistics.trims}`,
    );
    expect(finalSize).toBeLessThan(appended / 2);
    // A follower from the start of the window still reads a chained log to the head.
    const first = (await store.firstHeldSequence())!;
    let count = 0;
    for await (const batch of store.read(first)) count += batch.length;
    expect(count).toBe(maker.position.sequence - first + 1);
    await appender.close();
  });

  it('a replica that reports its progress holds the window back, and its follower survives the trims and compactions', async () => {
    const prefix = uniquePrefix('replica');
    const store = await openStore(prefix);
    const appender = await store.campaign({
      sequencerId: 'a',
      leaseTtlSeconds: 5,
      window: { maximumBytes: 64 * 1024 * 1024, trimEveryBytes: 64 * 1024 },
    });
    const maker = new EntryMaker();
    const batches = 60;
    const controller = new AbortController();
    const replicaStore = await openStore(prefix);
    const follower = replicaStore.follower({ sequence: 0, entryHash: testGenesisHash }, { pollIntervalMs: 200 });
    const replica = (async () => {
      let count = 0;
      for await (const batch of follower.batches(controller.signal)) {
        count += batch.length;
        // The replica would write the entries to its own LevelDB here, then say so.
        await replicaStore.reportProgress('replica-1', follower.delivered().sequence);
        if (count === batches * 50) break;
      }
      return count;
    })();
    await replicaStore.reportProgress('replica-1', 0);
    for (let index = 0; index < batches; index += 1) await appender.append(maker.next(50, 1_000));
    const timeout = setTimeout(() => controller.abort(), 30_000);
    expect(await replica).toBe(batches * 50);
    clearTimeout(timeout);
    expect(hex(follower.delivered().entryHash)).toBe(hex(maker.position.entryHash));
    await appender.trimWindow();
    expect(appender.statistics.compactions).toBeGreaterThan(0);
    // The replica has everything: only the newest chunk is left.
    expect(await store.firstHeldSequence()).toBe(maker.position.sequence - 49);
    await appender.close();
  });

  describeFollower();

  function describeFollower(): void {
    async function follow(
      store: EtcdLogStore,
      after: LogPosition,
      until: number,
      filter?: (events: IEvent[]) => IEvent[],
    ): Promise<{ entries: EncodedEntry[]; statistics: ReturnType<EtcdLogStore['follower']>['statistics'] }> {
      const controller = new AbortController();
      const follower = store.follower(after, {
        pollIntervalMs: 300,
        ...(filter === undefined ? {} : { watchEventFilter: filter }),
      });
      const entries: EncodedEntry[] = [];
      const timeout = setTimeout(() => controller.abort(), 20_000);
      for await (const batch of follower.batches(controller.signal)) {
        entries.push(...batch);
        if (follower.delivered().sequence >= until) break;
      }
      clearTimeout(timeout);
      return { entries, statistics: follower.statistics };
    }

    async function writeWhileFollowing(label: string, filter?: (events: IEvent[]) => IEvent[]) {
      const prefix = uniquePrefix(label);
      const store = await openStore(prefix);
      const appender = await store.campaign({ sequencerId: 'a', leaseTtlSeconds: 5 });
      const maker = new EntryMaker();
      const expected: Uint8Array[] = maker.next(20);
      await appender.append(expected); // some entries before the follower starts: a range read
      const batches = 40;
      const following = follow(store, { sequence: 0, entryHash: testGenesisHash }, 20 + batches * 5, filter);
      for (let index = 0; index < batches; index += 1) {
        const batch = maker.next(5);
        expected.push(...batch);
        await appender.append(batch);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const result = await following;
      expect(result.entries.map((entry) => Buffer.from(entry.encoding))).toEqual(
        expected.map((bytes) => Buffer.from(bytes)),
      );
      await appender.close();
      return result.statistics;
    }

    function chunkEvents(events: IEvent[], keep: (event: IEvent) => boolean): IEvent[] {
      return events.filter((event) => !event.kv.key.toString().endsWith('/head') && keep(event));
    }

    it('follows the log by watch, in order and complete', async () => {
      const statistics = await writeWhileFollowing('follow');
      expect(statistics.watchChunks).toBeGreaterThan(20);
      expect(statistics.gapsDetected).toBe(0);
    });

    it('detects a lost watch event (a gap) and recovers by range reads', async () => {
      let seen = 0;
      // Drops every 7th chunk event and every head event, so only contiguity can reveal the loss.
      const statistics = await writeWhileFollowing('gap', (events) => chunkEvents(events, () => ++seen % 7 !== 0));
      expect(statistics.gapsDetected).toBeGreaterThan(0);
      expect(statistics.rangeCatchUps).toBeGreaterThan(1);
    });

    it('detects reordered watch events and recovers by range reads', async () => {
      let held: IEvent[] = [];
      let responses = 0;
      // Holds back every 5th response's chunk and delivers it after the next one.
      const statistics = await writeWhileFollowing('reorder', (events) => {
        const chunks = chunkEvents(events, () => true);
        responses += 1;
        if (responses % 5 === 0) {
          held = chunks;
          return [];
        }
        const out = [...chunks, ...held];
        held = [];
        return out;
      });
      expect(statistics.gapsDetected).toBeGreaterThan(0);
    });

    it('catches a lost last event by polling the head', async () => {
      const prefix = uniquePrefix('tail');
      const store = await openStore(prefix);
      const appender = await store.campaign({ sequencerId: 'a', leaseTtlSeconds: 5 });
      const maker = new EntryMaker();
      await appender.append(maker.next(3));
      // Every watch event is lost: only the poll of the head can bring the follower forward.
      const following = follow(store, { sequence: 0, entryHash: testGenesisHash }, 8, () => []);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await appender.append(maker.next(5));
      const result = await following;
      expect(result.entries).toHaveLength(8);
      expect(result.statistics.tailGapsDetected).toBeGreaterThan(0);
      await appender.close();
    });

    it('stops on a broken chain in etcd itself, and on a position before the window', async () => {
      const prefix = uniquePrefix('corrupt');
      const store = await openStore(prefix);
      const appender = await store.campaign({ sequencerId: 'a', leaseTtlSeconds: 5 });
      const maker = new EntryMaker();
      await appender.append(maker.next(3));
      const afterThree = maker.position;
      await appender.append(maker.next(3));
      // Someone without the fence overwrites chunk 4..6 with entries that do not chain to entry 3.
      const forged = new EntryMaker({ sequence: 3, entryHash: new Uint8Array(32) }).next(3);
      await store.client.kv.put({ key: store.keys.chunk(4), value: Buffer.from(encodeChunk(4, forged)) });
      const broken = (async () => {
        for await (const batch of store.follow({ sequence: 0, entryHash: testGenesisHash })) void batch;
      })();
      await expect(broken).rejects.toMatchObject({ name: 'LogContinuityError', problem: 'chain', sequence: 4 });
      await expect(readAll(store)).rejects.toBeInstanceOf(LogContinuityError);
      // Entries before 4 are intact and a follower from entry 3 sees the forgery too.
      await expect(
        (async () => {
          for await (const batch of store.follow(afterThree)) void batch;
        })(),
      ).rejects.toBeInstanceOf(LogContinuityError);

      // Before the window: delete the first chunk, then follow from the genesis.
      await store.client.kv.deleteRange({ key: store.keys.chunk(1) });
      await expect(
        (async () => {
          for await (const batch of store.follow({ sequence: 0, entryHash: testGenesisHash })) void batch;
        })(),
      ).rejects.toBeInstanceOf(LogOutsideWindowError);
      await appender.close();
    });
  }
});
