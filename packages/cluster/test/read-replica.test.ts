/**
 * A read replica against a real three-member etcd cluster, both members real
 * processes (member-main.ts): the replica applies the sequencer's log through
 * the engine and, at the same head, answers a set of public and signed read
 * routes, attestations, proofs, the snapshot and the log export byte for byte
 * as the sequencer does; a WebSocket stream on the replica delivers the
 * trades the sequencer made; writes to the replica are refused, naming the
 * sequencer; its /ready and /metrics report its role, head and lag.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, expect, it } from 'vitest';
import { TestKey, deposit, signedRequest, type TestExchange } from '../../api/src/test-support.js';
import { uniquePrefix } from './entries.js';
import { describeWithEtcd, useThreeMemberCluster } from './etcd-fixture.js';
import { MemberProcesses, sleep, type MemberProcess } from './member-processes.js';

/** What the API test helpers need of an exchange: its URL and the operator's key. */
function exchangeAt(member: MemberProcess, members: MemberProcesses): TestExchange {
  return {
    baseUrl: member.url!,
    operator: members.operator,
    operatorKey: new TestKey(members.seed),
  } as unknown as TestExchange;
}

async function bytesOf(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.text() };
}

describeWithEtcd('read replica', () => {
  const { cluster } = useThreeMemberCluster();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** Waits until both members report the same head, unchanged for `quietMs` (no attestation still to come). */
  async function settledHead(members: MemberProcesses, quietMs: number): Promise<number> {
    let last = -1;
    let since = Date.now();
    for (;;) {
      const [first, second] = await Promise.all(members.members.map((member) => members.readiness(member)));
      const head = first!.sequence === second!.sequence ? (first!.sequence ?? -1) : -1;
      if (head !== last) {
        last = head;
        since = Date.now();
      } else if (head >= 0 && Date.now() - since >= quietMs) return head;
      await sleep(100);
    }
  }

  it('serves the sequencer answers byte for byte, streams its trades, refuses writes naming it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vex-replica-'));
    const members = new MemberProcesses(root, ['a', 'b'], () => cluster().endpoints, uniquePrefix('replica'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    cleanups.push(() => members.killAll());
    await members.writeKey();
    const [sequencer, replica] = members.members as [MemberProcess, MemberProcess];
    await members.start(sequencer);
    expect(await members.waitForSequencer()).toBe(sequencer);
    await members.start(replica);
    for (;;) {
      const ready = await members.readiness(replica);
      if (ready.status === 200) {
        expect(ready.role).toBe('replica');
        break;
      }
      await sleep(100);
    }

    // A stream opened on the replica (once it has the sequencer's listings) before the trades are made.
    await settledHead(members, 500);
    const socket = new WebSocket(`${replica.url!.replace('http', 'ws')}/ws`);
    const streamed: Array<{ stream?: string; data?: Record<string, unknown> }> = [];
    socket.on('message', (data) => streamed.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    cleanups.push(() => socket.close());
    socket.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['trade.SOL_USDC', 'depth.SOL_USDC'], id: 1 }));
    await sleep(200);

    const exchange = exchangeAt(sequencer, members);
    const maker = TestKey.random();
    const taker = TestKey.random();
    await deposit(exchange, maker.apiKey, 'SOL', '50');
    await deposit(exchange, taker.apiKey, 'USDC', '10000');
    const order = (key: TestKey, side: string, price: string, quantity: string) =>
      signedRequest(exchange, key, 'POST', '/api/v1/order', 'orderExecute', {
        body: { orderType: 'Limit', price, quantity, side, symbol: 'SOL_USDC' },
      });
    expect((await order(maker, 'Ask', '100', '10')).status).toBe(200);
    expect((await order(maker, 'Ask', '101', '5')).status).toBe(200);
    expect((await order(taker, 'Bid', '100', '4')).status).toBe(200);
    expect((await order(taker, 'Bid', '99', '2')).status).toBe(200);

    // The same head on both (and no attestation still due), then the same bytes from both.
    const head = await settledHead(members, 2_500);
    expect(head).toBeGreaterThan(6);
    // The book: equal but for lastUpdateId (the stream's per-process counter) and timestamp (the server clock).
    const books = await Promise.all(
      [sequencer, replica].map(async (member) => {
        const { asks, bids } = JSON.parse((await bytesOf(`${member.url}/api/v1/depth?symbol=SOL_USDC`)).body);
        return JSON.stringify({ asks, bids });
      }),
    );
    expect(books[1]).toBe(books[0]);
    expect(books[0]).toBe('{"asks":[["100","6"],["101","5"]],"bids":[["99","2"]]}');
    const publicRoutes = [
      '/api/v1/markets',
      '/api/v1/trades?symbol=SOL_USDC',
      '/api/v1/klines?symbol=SOL_USDC&interval=1m&startTime=0',
      '/api/v1/attestations',
      '/api/v1/attestations?from=1&limit=100',
      '/api/v1/reserves',
      '/api/v1/genesis',
      '/api/v1/snapshot',
      '/api/v1/log',
      '/api/v1/attestations/export',
    ];
    for (const route of publicRoutes) {
      const [fromSequencer, fromReplica] = await Promise.all([
        bytesOf(`${sequencer.url}${route}`),
        bytesOf(`${replica.url}${route}`),
      ]);
      expect(fromReplica.status, route).toBe(fromSequencer.status);
      expect(fromReplica.body, route).toBe(fromSequencer.body);
    }
    const signedRoutes: Array<[string, string]> = [
      ['/api/v1/capital', 'balanceQuery'],
      ['/wapi/v1/history/orders', 'orderHistoryQueryAll'],
      ['/wapi/v1/history/fills', 'fillHistoryQueryAll'],
      ['/api/v1/orders', 'orderQueryAll'],
      ['/wapi/v1/proof', 'proofQuery'],
    ];
    for (const [route, instruction] of signedRoutes) {
      for (const key of [maker, taker]) {
        const answers = await Promise.all(
          [sequencer, replica].map((member) =>
            signedRequest(exchangeAt(member, members), key, 'GET', route, instruction),
          ),
        );
        expect(answers[0]!.status, route).toBe(200);
        expect(JSON.stringify(answers[1]!.body), route).toBe(JSON.stringify(answers[0]!.body));
      }
    }

    // The stream on the replica delivered the trade the sequencer made.
    const trades = streamed.filter((message) => message.stream === 'trade.SOL_USDC');
    expect(trades.length).toBe(1);
    expect(trades[0]!.data).toMatchObject({ p: '100', q: '4' });
    expect(streamed.some((message) => message.stream === 'depth.SOL_USDC')).toBe(true);

    // Writes are refused with the sequencer named, and nothing is logged.
    const refused = await signedRequest(exchangeAt(replica, members), taker, 'POST', '/api/v1/order', 'orderExecute', {
      body: { orderType: 'Limit', price: '98', quantity: '1', side: 'Bid', symbol: 'SOL_USDC' },
    });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('SERVICE_UNAVAILABLE');
    expect(refused.body.message).toContain(`read replica`);
    expect(refused.body.message).toContain(`member a at ${sequencer.url}`);
    const header = await fetch(`${replica.url}/api/v1/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(header.status).toBe(503);
    expect(header.headers.get('x-vex-sequencer')).toBe(sequencer.url);
    expect((await members.readiness(sequencer)).sequence).toBe(head);

    // Its head and lag, in /ready and /metrics.
    const ready = await members.readiness(replica);
    expect(ready).toMatchObject({ status: 200, role: 'replica', sequence: head, lagEntries: 0 });
    const metrics = await (await fetch(`${replica.url}/metrics`)).text();
    expect(metrics).toContain('vex_role{role="replica"} 1');
    expect(metrics).toContain('vex_leader 0');
    expect(metrics).toContain(`vex_head_sequence ${head}`);
    expect(metrics).toContain('vex_replica_lag_entries 0');
    for (const member of members.members) await members.stop(member, 'SIGTERM');
  }, 120_000);
});
