/**
 * The node's attestations state the stress figure (docs/attestation.md,
 * "Stress figure"): the maker signs the engine's stressFigure of the state it
 * attests, per asset, and the signature covers it.
 */
import { readFileSync } from 'node:fs';
import { stressFigure, verifyAttestationSignature } from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { runScenario } from '../../engine/test/scenario-runner.js';
import { signerFromByte } from '../test/helpers.js';
import { AttestationMaker } from './attestation-maker.js';

const scenarios = new URL('../../engine/test/scenarios/', import.meta.url);
const scenarioText = (name: string): string => readFileSync(new URL(name, scenarios), 'utf8');

describe('AttestationMaker and the stress figure', () => {
  test('attests the stress shortfall of every asset, signed', () => {
    // The keeper owes 20 SOL against 1000 USDC and 20 SOL: a 200 USDC stress shortfall on SOL.
    const state = runScenario(
      `${scenarioText('setup.scenario')}\n${scenarioText('borrow-refused-by-margin.scenario')}`,
    );
    // Any seed signs; the scenario's operator key is a fixed test key, not derived from a seed.
    const operator = signerFromByte(1);
    const cadence = { everyEntries: 1, everyMs: 1 };
    const maker = new AttestationMaker(state, operator.seed, new Uint8Array(32), cadence, undefined, 0);
    const { attestation } = maker.attest(state, 40, new Uint8Array(32).fill(7));
    const figure = stressFigure(state, state.logTimeMs);
    expect(attestation.assets.map((asset) => asset.stressShortfall)).toEqual(figure.map(String));
    expect(attestation.assets.find((asset) => asset.symbol === 'SOL')?.stressShortfall).toBe('200000000');
    expect(verifyAttestationSignature(attestation, [operator.accountId])).toBe(true);
  });
});
