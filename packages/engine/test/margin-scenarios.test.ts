/**
 * The margin scenarios (test/scenarios/*.scenario, format in scenario-runner.ts):
 * each runs after setup.scenario on a fresh state, with the invariants checked
 * after every instruction and every rejection proven to change nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import { runScenario } from './scenario-runner.js';

const directory = new URL('./scenarios/', import.meta.url);
const setup = readFileSync(new URL('setup.scenario', directory), 'utf8');
const scenarios = readdirSync(directory)
  .filter((name) => name.endsWith('.scenario') && name !== 'setup.scenario')
  .sort();

describe('margin scenarios', () => {
  it.each(scenarios)('%s', (name) => {
    runScenario(`${setup}\n${readFileSync(new URL(name, directory), 'utf8')}`);
  });
});
