import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deposit, startTestExchange, TestKey, type TestExchange } from './test-support.js';

/** The value of a sample line `name{labels} value` in a Prometheus text exposition. */
function sample(body: string, name: string): number {
  const line = body.split('\n').find((text) => text.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no sample ${name} in:\n${body.slice(0, 2_000)}`);
  return Number(line.slice(name.length + 1));
}

describe('metrics, health and readiness', () => {
  let exchange: TestExchange;
  beforeAll(async () => {
    exchange = await startTestExchange({ attestEveryMs: 60_000 });
  });
  afterAll(async () => {
    await exchange.close();
  });

  it('GET /metrics counts the entries and batches committed, the commit latency and the node gauges', async () => {
    const before = await (await fetch(`${exchange.baseUrl}/metrics`)).text();
    const entriesBefore = sample(before, 'vex_entries_committed_total');
    const trader = TestKey.random();
    for (let index = 0; index < 3; index += 1) await deposit(exchange, trader.apiKey, 'USDC', '100');
    const response = await fetch(`${exchange.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await response.text();
    expect(sample(body, 'vex_entries_committed_total')).toBe(entriesBefore + 3);
    expect(sample(body, 'vex_entries_committed_total')).toBe(exchange.node.statistics().entriesWritten);
    expect(sample(body, 'vex_batches_committed_total')).toBe(exchange.node.statistics().batchesWritten);
    expect(sample(body, 'vex_commit_duration_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(sample(body, 'vex_head_sequence')).toBe(exchange.node.head().sequence);
    expect(sample(body, 'vex_pending_transactions')).toBe(0);
    expect(sample(body, 'vex_admission_refusals_total')).toBe(0);
    expect(sample(body, 'vex_signature_pool_threads')).toBe(1);
    expect(sample(body, 'vex_halted')).toBe(0);
    expect(sample(body, 'vex_leader')).toBe(1);
    expect(body).toContain('vex_role{role="single"} 1');
    expect(sample(body, 'vex_replica_lag_entries')).toBe(0);
    expect(sample(body, 'vex_attestation_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(body).toContain('process_cpu_seconds_total');
  });

  it('GET /health and GET /ready answer ok with the head while the node runs', async () => {
    for (const path of ['/health', '/ready']) {
      const response = await fetch(`${exchange.baseUrl}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        status: 'ok',
        message: null,
        role: 'single',
        sequence: exchange.node.head().sequence,
        lagEntries: 0,
      });
    }
  });
});
