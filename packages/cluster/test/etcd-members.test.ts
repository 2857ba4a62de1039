/**
 * etcd members killed under a serving sequencer (a member-main.ts process
 * under HTTP load): with one of three members dead (the Raft leader) the
 * sequencer keeps acknowledging; with two dead it acknowledges nothing (etcd
 * has no quorum, so nothing can be durable) and refuses new requests at once
 * with 503 and Retry-After; when a member returns, the cluster serves again;
 * all three killed and restarted, it serves again too. Afterwards the log
 * holds every acknowledged request exactly once, with no gap in its
 * sequences and its chain intact.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { uniquePrefix } from './entries.js';
import { describeWithEtcd, useThreeMemberCluster } from './etcd-fixture.js';
import { MemberProcesses, postTransaction, sleep, type MemberProcess } from './member-processes.js';

interface Answer {
  readonly atMs: number;
  readonly status: number;
  readonly message: string;
  /** How long the request took to be answered. */
  readonly tookMs: number;
  readonly retryAfter?: string;
  /** The answer's own message (an error's). */
  readonly answerMessage?: string;
}

describeWithEtcd('etcd members killed under the sequencer', () => {
  const { cluster } = useThreeMemberCluster();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('one dead: acknowledging; two dead: 503; all dead and back: serving; no loss, gap or duplicate', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vex-etcd-members-'));
    const members = new MemberProcesses(root, ['a'], () => cluster().endpoints, uniquePrefix('members'), 5);
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    cleanups.push(() => members.killAll());
    await members.writeKey();
    const member = members.members[0] as MemberProcess;
    await members.start(member);
    await members.waitForSequencer();

    // A supervisor, as pnpm start:cluster is: the member is started again whenever it exits.
    let stopped = false;
    let restarts = 0;
    const supervise = async (): Promise<void> => {
      while (!stopped) {
        const child = member.process;
        if (child !== undefined && child.exitCode === null && child.signalCode === null) {
          await sleep(100);
          continue;
        }
        member.process = undefined;
        restarts += 1;
        await members.start(member).catch(() => sleep(500));
      }
    };
    const supervisor = supervise();

    let counter = 0;
    const answers: Answer[] = [];
    const acknowledged: string[] = [];
    /** Sends a request once, recording its answer; resolves with the status. */
    const send = async (message: string, body: string): Promise<number> => {
      const sentAtMs = Date.now();
      const { status, answer, retryAfter } = await postTransaction(member, body);
      const answerMessage = typeof answer.message === 'string' ? answer.message : undefined;
      answers.push({
        atMs: Date.now(),
        status,
        message,
        tookMs: Date.now() - sentAtMs,
        ...(retryAfter === undefined ? {} : { retryAfter }),
        ...(answerMessage === undefined ? {} : { answerMessage }),
      });
      if (status === 200 && typeof answer.sequence === 'number') acknowledged.push(message);
      return status;
    };
    const client = async (): Promise<void> => {
      while (!stopped) {
        counter += 1;
        const { message, body } = members.depositBody(`members-${counter}`);
        for (;;) {
          const status = await send(message, body);
          if (status !== 0 && status !== 503 && status !== 500) break;
          await sleep(100);
        }
      }
    };
    const load = [client(), client()];
    const acknowledgedBetween = (fromMs: number, toMs: number): number =>
      answers.filter((answer) => answer.status === 200 && answer.atMs >= fromMs && answer.atMs <= toMs).length;
    const acknowledgedWithin = async (fromMs: number, limitMs: number): Promise<void> => {
      while (acknowledgedBetween(fromMs, Date.now()) === 0 && Date.now() < fromMs + limitMs) await sleep(100);
    };

    // One member dead (the Raft leader): a leader election, then appends go on with two of three.
    await sleep(1_500);
    const raftLeader = await cluster().leaderIndex();
    const oneDownAtMs = Date.now();
    await cluster().kill(raftLeader);
    await sleep(1_000);
    const deadlineMs = Date.now() + 30_000;
    while (acknowledgedBetween(oneDownAtMs + 1_000, Date.now()) < 10 && Date.now() < deadlineMs) await sleep(100);
    const oneDownStallMs = Date.now() - oneDownAtMs;
    // The same process went on acknowledging: no restart, and acknowledgements well after the kill.
    expect(restarts).toBe(0);
    expect(acknowledgedBetween(oneDownAtMs + 1_000, Date.now())).toBeGreaterThanOrEqual(10);
    await cluster().restart(raftLeader);
    await sleep(2_000);

    // Two members dead: no quorum, so nothing is acknowledged (a second's slack for answers already on their way).
    const [first, second] = [0, 1, 2].filter((index) => index !== raftLeader) as [number, number];
    const twoDownAtMs = Date.now();
    await cluster().kill(first);
    await cluster().kill(second);
    // The load's requests already sequenced wait for etcd; fresh requests, sent once each, find out at intake.
    const probes: Array<Promise<number>> = [];
    while (Date.now() < twoDownAtMs + 8_000) {
      counter += 1;
      const { message, body } = members.depositBody(`members-${counter}`);
      probes.push(send(message, body));
      await sleep(250);
    }
    const backAtMs = Date.now();
    const outage = answers.filter((answer) => answer.atMs >= twoDownAtMs + 1_000 && answer.atMs <= backAtMs);
    expect(outage.filter((answer) => answer.status === 200)).toEqual([]);
    const outageStatuses = new Set(outage.map((answer) => answer.status));
    // The sequencer itself (not a restarted member, whose standby answer is 503 too) refused at once: 503,
    // Retry-After, naming etcd, answered well before any write could have been confirmed.
    const refusedForEtcd = outage.filter(
      (answer) => answer.status === 503 && /etcd log/.test(answer.answerMessage ?? ''),
    );
    expect(refusedForEtcd.length).toBeGreaterThan(0);
    for (const answer of refusedForEtcd) expect(answer.retryAfter).toBe('1');
    const quickest = Math.min(...refusedForEtcd.map((answer) => answer.tookMs));
    expect(quickest).toBeLessThan(2_000);
    await cluster().restart(first);

    // A member back: a sequencer serves again (the same process, or restarted by the supervisor).
    await members.waitForSequencer();
    const servingAtMs = Date.now();
    // Up to 30 s: the sequencer found may still lose the lease the outage expired, and a standby then takes over.
    await acknowledgedWithin(servingAtMs, 30_000);
    expect(acknowledgedBetween(servingAtMs, Date.now())).toBeGreaterThan(0);

    // All three members killed under the serving sequencer, then restarted: it serves again (the same process, or
    // restarted by the supervisor once its lease was lost) and the log check below finds every acknowledgement.
    await cluster().restart(second);
    await sleep(2_000);
    await cluster().killAll();
    await sleep(3_000);
    await cluster().restartAll();
    const allBackAtMs = Date.now();
    await members.waitForSequencer();
    const servingAfterAllMs = Date.now();
    await acknowledgedWithin(servingAfterAllMs, 30_000);
    expect(acknowledgedBetween(servingAfterAllMs, Date.now())).toBeGreaterThan(0);
    stopped = true;
    await Promise.all([...load, ...probes]);
    console.log(
      `etcd members: ${acknowledged.length} acknowledged; one member dead: 10 acknowledgements within ` +
        `${oneDownStallMs} ms of the kill; with two of three dead for 8 s the answers were ` +
        `${[...outageStatuses].join(', ')} (0: no answer in 10 s), ${refusedForEtcd.length} of them 503 from the ` +
        `sequencer naming etcd (quickest in ${quickest} ms); member restarts ${restarts}; ` +
        `serving again ${servingAtMs - backAtMs} ms after a member returned; after all three were killed for 3 s, ` +
        `serving again ${servingAfterAllMs - allBackAtMs} ms after they returned`,
    );

    await supervisor;
    await members.stop(member, 'SIGTERM');

    // The log: every acknowledged request exactly once, nothing twice, sequences 1..head without a gap.
    const { messages, sequences, store } = await members.loggedMessages(cluster().endpoints);
    cleanups.push(() => store.close());
    for (const count of messages.values()) expect(count).toBe(1);
    for (const message of acknowledged) expect(messages.get(message)).toBe(1);
    expect(sequences).toEqual(sequences.map((_sequence, index) => index + 1));
    expect(sequences.length).toBe((await store.head()).sequence);
  }, 300_000);
});
