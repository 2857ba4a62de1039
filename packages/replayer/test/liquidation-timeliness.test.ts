/**
 * The liquidation-timeliness report (docs/replayer.md, "Liquidation
 * timeliness"), on logs built from the engine's liquidation scenario: Bob
 * falls below maintenance when SOL drops to 65 at log time 1000. Liquidated
 * in the same millisecond, he is not reported; with the keeper off and the log
 * going on for two minutes, he is, and the CLI says so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LogEntry } from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { defaultLiquidationGraceMs } from '../src/liquidation-timeliness.js';
import { replayLog, type ReplayReport } from '../src/replay-log.js';
import { SignatureVerifierPool } from '../src/signature-verifier-pool.js';
import { scenarioEntries, scenarioEntry, scenarioSigners, scenarioText } from './scenario-log.js';
import { chainLog, testGenesis } from './test-log.js';

const operator = scenarioSigners.get('operator')!;
const genesis = testGenesis(operator);
const bob = scenarioSigners.get('bob')!.accountId;
let pool: SignatureVerifierPool;
/** Up to and including the keeper's prompt liquidation of Bob at log time 1000. */
let prompt: LogEntry[];
/** The same without the liquidation, then two minutes of log time pass with other activity. */
let keeperOff: LogEntry[];
/** Sequence of the price entry that takes Bob below maintenance. */
let priceSequence: number;

function isLiquidation(entry: LogEntry): boolean {
  return Buffer.from(entry.transaction.message).toString('utf8').startsWith('instruction=liquidate&');
}

beforeAll(async () => {
  pool = await SignatureVerifierPool.start(1);
  prompt = scenarioEntries(`${scenarioText('setup.scenario')}\n${scenarioText('liquidation-through-book.scenario')}`);
  priceSequence =
    prompt.findIndex((entry) => Buffer.from(entry.transaction.message).toString('utf8').includes('price=65')) + 1;
  expect(priceSequence).toBeGreaterThan(0);
  const later = (logTimeMs: number, id: string) =>
    scenarioEntry(
      'operator',
      'depositCredit',
      ['account=erin', 'symbol=USDC', 'quantity=1', 'blockchain=Solana', `chainTransactionId=${id}`],
      logTimeMs,
    );
  keeperOff = [...prompt.filter((entry) => !isLiquidation(entry)), later(31_000, 'late-1'), later(121_000, 'late-2')];
});
afterAll(async () => {
  await pool.close();
});

function replay(entries: readonly LogEntry[], liquidationGraceMs?: number): Promise<ReplayReport> {
  return replayLog({
    log: chainLog(genesis, entries).bytes,
    pool,
    ...(liquidationGraceMs === undefined ? {} : { liquidationGraceMs }),
  });
}

describe('liquidation timeliness', () => {
  it('does not report an account liquidated promptly', async () => {
    expect(prompt.some(isLiquidation)).toBe(true);
    const report = await replay(prompt);
    expect(report.verified).toBe(true);
    expect(report.liquidationTimeliness).toEqual({ graceMs: defaultLiquidationGraceMs, lateCount: 0, late: [] });
  });

  it('reports an account left below maintenance longer than the grace, with the keeper off', async () => {
    const report = await replay(keeperOff);
    expect(report.verified).toBe(true);
    expect(report.liquidationTimeliness).toEqual({
      graceMs: 60_000,
      lateCount: 1,
      late: [
        {
          account: bob,
          belowSinceSequence: priceSequence,
          belowSinceMs: 1000,
          outcome: 'open',
          endSequence: keeperOff.length,
          endMs: 121_000,
          belowForMs: 120_000,
        },
      ],
    });
  });

  it('measures against the grace given: within it, nothing is late', async () => {
    const report = await replay(keeperOff, 120_000);
    expect(report.liquidationTimeliness).toMatchObject({ graceMs: 120_000, lateCount: 0, late: [] });
    // Up to the entry at 31,000 only: 30 s below, over a 10 s grace.
    const shorter = await replay(keeperOff.slice(0, -1), 10_000);
    expect(shorter.liquidationTimeliness.late).toMatchObject([{ account: bob, outcome: 'open', belowForMs: 30_000 }]);
  });

  it('reports a liquidation that came after the grace as liquidated late', async () => {
    const liquidation = prompt.find(isLiquidation)!;
    const lateLiquidation = scenarioEntry('keeper', 'liquidate', ['account=bob'], 121_000);
    expect(liquidation.logTimeMs).toBe(1000);
    const report = await replay([...keeperOff, lateLiquidation]);
    expect(report.verified).toBe(true);
    expect(report.liquidationTimeliness.late).toEqual([
      expect.objectContaining({ account: bob, outcome: 'liquidated', endSequence: keeperOff.length + 1 }),
    ]);
  });

  it('measures the time between gradual steps: a step that leaves the account below begins a new stretch', async () => {
    // gradual-liquidation-steps: Bob's first step at 1000 leaves him below maintenance (docs/margin.md, section 8).
    const steps = scenarioEntries(
      `${scenarioText('setup.scenario')}\n${scenarioText('gradual-liquidation-steps.scenario')}`,
    );
    const firstStep = steps.findIndex(isLiquidation);
    const upToFirstStep = steps.slice(0, firstStep + 1);
    const secondStep = scenarioEntry('keeper', 'liquidate', ['account=bob'], 121_000);
    const report = await replay([...upToFirstStep, secondStep]);
    expect(report.verified).toBe(true);
    // The first step came at once (not late); the second came two minutes after it: late, from the first step.
    expect(report.liquidationTimeliness.late).toEqual([
      {
        account: bob,
        belowSinceSequence: firstStep + 1,
        belowSinceMs: 1000,
        outcome: 'liquidated',
        endSequence: firstStep + 2,
        endMs: 121_000,
        belowForMs: 120_000,
      },
    ]);
  });

  it('is in the command line summary and JSON, with --liquidation-grace-ms', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'replayer-timeliness-'));
    try {
      const file = path.join(directory, 'keeper-off.log');
      writeFileSync(file, chainLog(genesis, keeperOff).bytes);
      let stdout = '';
      const output = { stdout: (text: string) => (stdout += text), stderr: () => undefined };
      expect(await main([file, '--workers', '1'], output)).toBe(0);
      expect(stdout).toContain('late liquidations (below maintenance for over 60,000 ms): 1');
      expect(stdout).toContain(`${bob}: below from sequence ${priceSequence} for 120,000 ms, still below at the end`);
      stdout = '';
      expect(await main([file, '--workers', '1', '--json', '--liquidation-grace-ms', '200000'], output)).toBe(0);
      expect(JSON.parse(stdout).liquidationTimeliness).toEqual({ graceMs: 200_000, lateCount: 0, late: [] });
      expect(await main([file, '--liquidation-grace-ms', '-1'], output)).toBe(2);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
