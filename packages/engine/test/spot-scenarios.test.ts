/**
 * The spot scenarios (test/scenarios/spot/*.scenario, the same format as the
 * margin scenarios, scenario-runner.ts): price-time priority, resting and
 * cancelling, time in force, post-only, self-trade prevention and operator
 * authority, each after spot/setup.scenario on a fresh state.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import { runScenario } from './scenario-runner.js';

const directory = new URL('./scenarios/spot/', import.meta.url);
const setup = readFileSync(new URL('setup.scenario', directory), 'utf8');
const scenarios = readdirSync(directory)
  .filter((name) => name.endsWith('.scenario') && name !== 'setup.scenario')
  .sort();

describe('spot scenarios', () => {
  it.each(scenarios)('%s', (name) => {
    runScenario(`${setup}\n${readFileSync(new URL(name, directory), 'utf8')}`);
  });
});
