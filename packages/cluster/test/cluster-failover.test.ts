/**
 * Cluster member processes against a real three-member etcd cluster. Under
 * HTTP load the sequencer is killed with SIGKILL a few times (CLUSTER_SCALE=full:
 * 20); the standby takes over and the killed member comes back as a standby.
 * Every acknowledged request is in the log exactly once, the hash chain is
 * intact, every member's ledger replays to the same state hash, and clients
 * see 503 only while no sequencer is serving. A sequencer paused with
 * SIGSTOP past its lease cannot append when it resumes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { genesisHash, stateHashHex } from '@vex/engine';
import { ExchangeNode, createDatabase } from '@vex/ledger';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { type EtcdLogStore, catchUp, initialiseLedger, localHead } from '../src/index.js';
import { uniquePrefix } from './entries.js';
import { describeWithEtcd, fullScale, useThreeMemberCluster } from './etcd-fixture.js';
import { MemberProcesses, postTransaction, sleep, type MemberProcess } from './member-processes.js';

const kills = fullScale ? 20 : 3;
const clients = 4;
/** The 20-kill run takes 8 to 15 minutes on the loaded 2-core machine. */
const timeoutMs = (fullScale ? 3 : 1) * 900_000;

describeWithEtcd('cluster member processes', () => {
  const { cluster } = useThreeMemberCluster();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function processes(label: string): Promise<MemberProcesses> {
    const root = await mkdtemp(join(tmpdir(), 'vex-failover-'));
    const members = new MemberProcesses(root, ['a', 'b'], () => cluster().endpoints, uniquePrefix(label));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    cleanups.push(() => members.killAll());
    await members.writeKey();
    return members;
  }

  /** Each member's ledger caught up from etcd and opened (recovery checks and re-applies): its state hash. */
  async function memberStateHashes(members: MemberProcesses, store: EtcdLogStore): Promise<string[]> {
    const head = await store.head();
    const hashes: string[] = [];
    for (const member of members.members) {
      const db = createDatabase(join(member.directory, 'ledger'));
      await db.open();
      await initialiseLedger(db, members.genesis);
      await catchUp(db, store, await localHead(db, genesisHash(members.genesis)), head.sequence);
      await db.close();
      const logger = pino({ level: 'silent' });
      const { directory: dataDirectory } = member;
      const node = await ExchangeNode.open({ dataDirectory, genesis: members.genesis, verifierThreads: 1, logger });
      expect(node.head().sequence).toBe(head.sequence);
      hashes.push(stateHashHex(node.state));
      await node.close();
    }
    return hashes;
  }

  it(
    `kill -9 the sequencer ${kills} times under load: nothing acknowledged lost or doubled; one state`,
    async () => {
      const members = await processes('failover');
      await members.start(members.members[0]!);
      await members.waitForSequencer();
      await members.start(members.members[1]!);

      let stopped = false;
      let counter = 0;
      const acknowledged: string[] = [];
      const unavailable: number[] = [];
      const client = async (): Promise<void> => {
        let current = 0;
        while (!stopped) {
          counter += 1;
          const { message, body } = members.depositBody(`failover-${counter}`);
          for (;;) {
            const { status, answer, sequencer } = await postTransaction(
              members.members[current % members.members.length]!,
              body,
            );
            if (status === 200 && typeof answer.sequence === 'number') acknowledged.push(message);
            // A read replica's refusal names the sequencer: a redirection, not unavailability.
            if (status === 503 && sequencer === undefined) unavailable.push(Date.now());
            // Any other answer is final (a rejection: e.g. a duplicate of one that landed before the kill).
            if (status !== 0 && status !== 503 && status !== 500) break;
            current += 1;
            await sleep(50);
          }
        }
      };
      const load = Array.from({ length: clients }, () => client());

      const gaps: Array<{ fromMs: number; toMs: number }> = [];
      for (let kill = 0; kill < kills; kill += 1) {
        await sleep(1_500);
        const sequencer = await members.waitForSequencer();
        const killedAt = Date.now();
        await members.stop(sequencer, 'SIGKILL');
        await members.waitForSequencer();
        gaps.push({ fromMs: killedAt, toMs: Date.now() });
        console.log(`kill ${kill + 1}: a serving sequencer ${Date.now() - killedAt} ms after the kill`);
        await members.start(sequencer);
      }
      await sleep(1_000);
      stopped = true;
      await Promise.all(load);

      const gapMs = gaps.map((gap) => gap.toMs - gap.fromMs).sort((x, y) => x - y);
      console.log(
        `failover: ${kills} kills, ${acknowledged.length} requests acknowledged, ${unavailable.length} answers 503; ` +
          `kill to a serving sequencer: median ${gapMs[Math.floor(gapMs.length / 2)]} ms, ` +
          `max ${gapMs[gapMs.length - 1]} ms`,
      );
      // 503 only between a kill and the next sequencer serving (with a second's slack for answers in flight).
      for (const atMs of unavailable)
        expect(gaps.some((gap) => atMs >= gap.fromMs && atMs <= gap.toMs + 1_000)).toBe(true);
      expect(acknowledged.length).toBeGreaterThan(kills * 10);

      const { messages, store } = await members.loggedMessages(cluster().endpoints);
      cleanups.push(() => store.close());
      for (const count of messages.values()) expect(count).toBe(1);
      for (const message of acknowledged) expect(messages.get(message)).toBe(1);

      // Every member's ledger, caught up from etcd, replays (signatures checked) to the same state.
      for (const member of members.members) await members.stop(member, 'SIGTERM');
      const stateHashes = new Set(await memberStateHashes(members, store));
      expect(stateHashes.size).toBe(1);
    },
    timeoutMs,
  );

  it('a sequencer paused with SIGSTOP past its lease cannot append when it resumes, and exits', async () => {
    const members = await processes('paused');
    const [first, second] = members.members as [MemberProcess, MemberProcess];
    await members.start(first);
    expect(await members.waitForSequencer()).toBe(first);
    await members.start(second);
    const before = members.depositBody('before-pause');
    expect((await postTransaction(first, before.body)).status).toBe(200);

    first.process!.kill('SIGSTOP');
    expect(await members.waitForSequencer(first)).toBe(second);
    const during = members.depositBody('while-paused');
    expect((await postTransaction(second, during.body)).status).toBe(200);

    const exited = new Promise<number | null>((resolve) => first.process!.once('exit', (code) => resolve(code)));
    first.process!.kill('SIGCONT');
    const stale = members.depositBody('to-the-stale-sequencer');
    const answer = await postTransaction(first, stale.body);
    expect(answer.status).not.toBe(200);
    expect(await exited).toBe(1);
    first.process = undefined;

    const { messages, store } = await members.loggedMessages(cluster().endpoints);
    cleanups.push(() => store.close());
    expect(messages.get(before.message)).toBe(1);
    expect(messages.get(during.message)).toBe(1);
    expect(messages.has(stale.message)).toBe(false);
    expect(await members.isReady(second)).toBe(true);
    await members.stop(second, 'SIGTERM');
  }, 120_000);
});
