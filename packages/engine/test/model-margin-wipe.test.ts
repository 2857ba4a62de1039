/**
 * The wiped-pool scenario (scenarios/wiped-pool-supply-epoch.scenario) run
 * through the margin model harness: the engine and the reference model
 * (written from docs/margin.md, "Supply epochs") must agree on every result,
 * pool, position (its lend epoch included) and health after every row. The
 * random margin sequences rarely write off more than a whole pool, so this
 * pins the wipe, the Lend into the wiped pool and the Borrow by the holder of
 * the worthless lend against the model.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from './model-compare.js';
import { MarginHarness } from './model-margin-harness.js';
import { scenarioKeys, scenarioRows } from './scenario-runner.js';

const directory = new URL('./scenarios/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, directory), 'utf8');

describe('a wiped lending pool, engine against the margin reference model', () => {
  it('agrees row by row through the wipe, the Lend after it and the old holder Borrow', () => {
    const harness = new MarginHarness({
      feeAccount: OPERATOR,
      traders: [...scenarioKeys.values()],
      markets: [],
      fees: [],
    });
    const start = harness.timeMs;
    const rows = scenarioRows(`${read('setup.scenario')}\n${read('wiped-pool-supply-epoch.scenario')}`);
    for (const row of rows) {
      const outcome = harness.step(row.signer, row.instruction, start + row.timeMs - harness.timeMs);
      expect(outcome.accepted ? 'ok' : outcome.rejection.code, harness.trace.at(-1)).toBe(row.outcome);
    }
    const usdc = harness.marginModel.poolViews().find((pool) => pool.asset === 'USDC')!;
    expect(usdc.supplyEpoch).toBe(1);
  });
});
