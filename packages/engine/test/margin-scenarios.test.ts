/**
 * The margin scenarios (test/scenarios/*.scenario, format in scenario-runner.ts):
 * each runs after setup.scenario on a fresh state, with the invariants checked
 * after every instruction and every rejection proven to change nothing; the
 * state at its end must survive the state encoding byte for byte.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeState, encodeState, stateHashHex } from '../src/state-codec.js';
import { runScenario } from './scenario-runner.js';

const directory = new URL('./scenarios/', import.meta.url);
const setup = readFileSync(new URL('setup.scenario', directory), 'utf8');
const scenarios = readdirSync(directory)
  .filter((name) => name.endsWith('.scenario') && name !== 'setup.scenario')
  .sort();

function expectRoundTrip(encoded: Uint8Array): void {
  expect(Buffer.compare(Buffer.from(encodeState(decodeState(encoded))), Buffer.from(encoded))).toBe(0);
}

describe('margin scenarios', () => {
  it.each(scenarios)('%s', (name) => {
    const state = runScenario(`${setup}\n${readFileSync(new URL(name, directory), 'utf8')}`);
    expectRoundTrip(encodeState(state));
  });

  it('a decoded state holding expired lends (supply epoch 1) goes on exactly like the original', () => {
    const text = readFileSync(new URL('wiped-pool-supply-epoch.scenario', directory), 'utf8');
    const cut = text.indexOf('# A Lend into the wiped pool');
    const original = runScenario(`${setup}\n${text.slice(0, cut)}`);
    const encoded = encodeState(original);
    expectRoundTrip(encoded);
    const copy = decodeState(encoded);
    for (const state of [original, copy]) runScenario(text.slice(cut), state);
    expect(stateHashHex(copy)).toBe(stateHashHex(original));
  });
});
