/**
 * The replayer re-checks every margin transaction (docs/margin.md): a log
 * built from the engine's liquidation scenario replays cleanly, and a forged
 * price or an unjustified liquidation spliced into it (with the hash chain
 * recomputed, so only the engine's checks can catch it) is a divergence.
 */
import { readFileSync } from 'node:fs';
import type { LogEntry } from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLog, type ReplayDiverged, type ReplayReport } from '../src/replay-log.js';
import { SignatureVerifierPool } from '../src/signature-verifier-pool.js';
import { entriesOf, scenarioDirectory as scenarios, scenarioEntry as entry, scenarioSigners } from './scenario-log.js';
import { chainLog, testGenesis } from './test-log.js';

const operator = scenarioSigners.get('operator')!;

let pool: SignatureVerifierPool;
let entries: LogEntry[];
const genesis = testGenesis(operator);

beforeAll(async () => {
  pool = await SignatureVerifierPool.start(1);
  const setup = readFileSync(new URL('setup.scenario', scenarios), 'utf8');
  entries = entriesOf(`${setup}\n${readFileSync(new URL('liquidation-through-book.scenario', scenarios), 'utf8')}`);
});
afterAll(async () => {
  await pool.close();
});

function replay(log: readonly LogEntry[]): Promise<ReplayReport> {
  return replayLog({ log: chainLog(genesis, log).bytes, pool });
}

function diverged(report: ReplayReport): ReplayDiverged {
  if (report.verified)
    throw new Error(`expected a divergence, but the log verified (${report.entriesApplied} entries)`);
  return report;
}

function indexOf(predicate: (text: string) => boolean): number {
  const index = entries.findIndex((logged) => predicate(Buffer.from(logged.transaction.message).toString('utf8')));
  expect(index).toBeGreaterThanOrEqual(0);
  return index;
}

describe('a margin log', () => {
  it('replays with its borrows, prices, system orders and liquidation', async () => {
    const report = await replay(entries);
    expect(report.verified).toBe(true);
    expect(report.entriesApplied).toBe(entries.length);
  });

  it('catches a price signed by a key that is not an operator key', async () => {
    const index = indexOf((text) => text.includes('price=65'));
    const forged = [...entries];
    forged[index] = entry('carol', 'indexPriceUpdate', ['symbol=SOL', 'price=65', 'publishedAtMs=1000'], 1000);
    const { divergence } = diverged(await replay(forged));
    expect(divergence).toMatchObject({ sequence: index + 1, check: 'transition', expected: 'accepted' });
    expect(divergence.computed).toMatch(/^rejected: UNAUTHORIZED/);
  });

  it('catches an operator price that moves beyond the listing bound', async () => {
    const index = indexOf((text) => text.includes('price=65'));
    const forged = [...entries];
    forged[index] = entry('operator', 'indexPriceUpdate', ['symbol=SOL', 'price=40', 'publishedAtMs=1000'], 1000);
    const { divergence } = diverged(await replay(forged));
    expect(divergence.computed).toMatch(/^rejected: PRICE_REJECTED/);
  });

  it('catches a liquidation of an account above its maintenance margin', async () => {
    const index = indexOf((text) => text.includes('price=65'));
    const forged = [...entries];
    // Before the price falls, Bob is healthy: the keeper's liquidation is unjustified.
    forged.splice(index, 0, entry('keeper', 'liquidate', [`account=bob`], 1000));
    const { divergence } = diverged(await replay(forged));
    expect(divergence).toMatchObject({ sequence: index + 1, check: 'transition', expected: 'accepted' });
    expect(divergence.computed).toMatch(/^rejected: NOT_LIQUIDATABLE/);
  });
});
