/**
 * GET /api/v1/borrowLend/positions after a socialised loss wiped a lending
 * pool (docs/margin.md, section 5.2a): a lend of the earlier supply epoch is
 * worth nothing and is no position, even before its balance next moves and
 * clears it; a lend of the new epoch is.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScenario, scenarioKeys } from '../../engine/test/scenario-runner.js';
import { wireLendingPositions } from './margin-wire.js';

const directory = new URL('../../engine/test/scenarios/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, directory), 'utf8');

describe('lending positions across a supply epoch', () => {
  it('leaves out the expired lends and shows the new epoch', () => {
    const text = read('wiped-pool-supply-epoch.scenario');
    const cut = text.indexOf('# A Lend into the wiped pool');
    const state = runScenario(`${read('setup.scenario')}\n${text.slice(0, cut)}`);
    const positionsOf = (name: string) => wireLendingPositions(state, state.accounts.get(scenarioKeys.get(name)!));
    // Right after the wipe: Alice's and Erin's lends are expired, not yet cleared, and Dave owes nothing.
    for (const name of ['alice', 'erin', 'dave']) expect(positionsOf(name), name).toEqual([]);
    runScenario(text.slice(cut), state);
    expect(positionsOf('carol')).toMatchObject([{ symbol: 'USDC', netQuantity: '1000' }]);
    expect(positionsOf('erin')).toMatchObject([{ symbol: 'USDC', netQuantity: '10' }]);
  });
});
