/**
 * Failures, against a real three-member etcd cluster on loopback: etcd
 * members killed with SIGKILL (the Raft leader; all three at once, then
 * restarted) under a steady append load, and a sequencer paused with SIGSTOP
 * past its lease. The claim checked: nothing acknowledged is lost, the log
 * stays one chain, and a deposed sequencer never appends again.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { type EtcdLogStore, LogAppenderDeposedError, type EtcdLogAppender, type LogPosition } from '../src/index.js';
import { EntryMaker, hex, testGenesisHash, uniquePrefix } from './entries.js';
import { describeWithEtcd, fullScale, useThreeMemberCluster } from './etcd-fixture.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describeWithEtcd('etcd failures', () => {
  const { cluster: runningCluster, openStore } = useThreeMemberCluster();

  /** Reads the whole log, checking the chain from the genesis (read() checks it), into sequence → hash. */
  async function logHashes(store: EtcdLogStore): Promise<Map<number, string>> {
    const hashes = new Map<number, string>();
    for await (const batch of store.read(1, undefined, { sequence: 0, entryHash: testGenesisHash })) {
      for (const entry of batch) hashes.set(entry.sequence, hex(entry.entryHash));
    }
    return hashes;
  }

  it('loses nothing acknowledged when the etcd leader is killed, and when all three members are killed and restarted', async () => {
    const leaderKills = fullScale ? 10 : 2;
    const allKills = fullScale ? 4 : 1;
    const prefix = uniquePrefix('kills');
    const store = await openStore(prefix);
    const acknowledged: LogPosition[] = [];
    let appender: EtcdLogAppender = await store.campaign({
      sequencerId: 'a',
      leaseTtlSeconds: 10,
      outcomeDeadlineMs: 60_000,
    });
    const appenders = [appender];
    let maker = new EntryMaker(appender.durableHead());
    let running = true;
    let deposals = 0;
    let refusedAppends = 0;
    // The load: up to four appends in flight (group-committed), each a batch of ten entries.
    const load = (async () => {
      while (running) {
        const inFlight: Promise<void>[] = [];
        for (let index = 0; index < 4; index += 1) {
          inFlight.push(
            appender.append(maker.next(10)).then(
              (head) => void acknowledged.push(head),
              () => void (refusedAppends += 1),
            ),
          );
        }
        await Promise.all(inFlight);
        const stopped = appender.stopped();
        if (stopped !== undefined) {
          // Deposed or unsure: a new sequencer takes over from the exact head in etcd (what failover will do).
          expect(stopped).toBeInstanceOf(Error);
          deposals += 1;
          await appender.close();
          appender = await store.campaign({
            sequencerId: `a-${deposals}`,
            leaseTtlSeconds: 10,
            outcomeDeadlineMs: 60_000,
            pollIntervalMs: 100,
          });
          appenders.push(appender);
          maker = new EntryMaker(appender.durableHead());
        }
        await sleep(5);
      }
    })();
    const progressSince = async (count: number): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (acknowledged.length < count + 5 && Date.now() < deadline) await sleep(50);
      expect(acknowledged.length).toBeGreaterThanOrEqual(count + 5);
    };

    for (let kill = 0; kill < leaderKills; kill += 1) {
      await progressSince(acknowledged.length);
      const leader = await runningCluster().leaderIndex();
      await runningCluster().kill(leader);
      await sleep(1_500);
      await progressSince(acknowledged.length - 5); // writes go on with two of three members
      await runningCluster().restart(leader);
    }
    for (let kill = 0; kill < allKills; kill += 1) {
      await progressSince(acknowledged.length);
      await runningCluster().killAll();
      await sleep(500);
      await runningCluster().restartAll();
    }
    await progressSince(acknowledged.length);
    running = false;
    await load;
    await appender.close();

    const hashes = await logHashes(store);
    const head = await store.head();
    expect(hashes.size).toBe(head.sequence);
    for (const position of acknowledged) expect(hashes.get(position.sequence)).toBe(hex(position.entryHash));
    const total = (field: 'outcomeUnknown' | 'outcomeLanded' | 'retries' | 'txns'): number =>
      appenders.reduce((sum, each) => sum + each.statistics[field], 0);
    console.log(
      `kills: ${leaderKills} leader kills, ${allKills} kill-all; ${acknowledged.length} batches acknowledged in ${total('txns')} txns, ${refusedAppends} refused, ` +
        `${deposals} sequencer changes, ${total('outcomeUnknown')} outcomes unknown (${total('outcomeLanded')} had landed), ${total('retries')} retries, log head ${head.sequence}`,
    );
  });

  it('a sequencer paused with SIGSTOP past its lease cannot append when it resumes; the new sequencer goes on from the exact head', async () => {
    const prefix = uniquePrefix('sigstop');
    const store = await openStore(prefix);
    const leaseTtlSeconds = 3;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cluster/test/sequencer-child.ts',
        JSON.stringify({ endpoints: runningCluster().endpoints, prefix, leaseTtlSeconds }),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const lines: Array<Record<string, unknown>> = [];
    createInterface({ input: child.stdout! }).on('line', (line) =>
      lines.push(JSON.parse(line) as Record<string, unknown>),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (lines.filter((line) => 'ack' in line).length < 5 && Date.now() < deadline) await sleep(50);
      expect(lines.filter((line) => 'ack' in line).length).toBeGreaterThanOrEqual(5);

      expect((await store.currentLeader())?.sequencerId).toBe(`child-${child.pid}`);
      child.kill('SIGSTOP');
      // The successor wins once the paused sequencer's lease has run out (etcd deletes its leader key then).
      const successor = await store.campaign({ sequencerId: 'successor', leaseTtlSeconds: 5, pollIntervalMs: 100 });
      expect((await store.currentLeader())?.sequencerId).toBe('successor');
      const takeover = successor.durableHead();
      const maker = new EntryMaker(takeover);
      await successor.append(maker.next(10, 100, 'successor'));

      child.kill('SIGCONT');
      expect(await Promise.race([exited, sleep(20_000).then(() => 'timeout')])).toBe(0);
      await successor.append(maker.next(10, 100, 'successor'));

      const stopped = lines.find((line) => 'stopped' in line);
      expect(stopped?.stopped).toBe(new LogAppenderDeposedError('').name);
      const childAcks = lines.filter((line) => 'ack' in line) as Array<{ ack: number; hash: string }>;
      const hashes = await logHashes(store);
      // Everything the paused sequencer had acknowledged is in the log; nothing after the takeover is its.
      for (const ack of childAcks) {
        expect(ack.ack).toBeLessThanOrEqual(takeover.sequence);
        expect(hashes.get(ack.ack)).toBe(ack.hash);
      }
      expect(hashes.size).toBe(takeover.sequence + 20);
      expect(hashes.get(takeover.sequence + 20)).toBe(hex(maker.position.entryHash));
      await successor.close();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
