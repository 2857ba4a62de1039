/**
 * The stress figure in the attestation (docs/attestation.md, "Stress
 * figure"): attestationFieldsOf states stressFigure per asset, the signed
 * message carries it, and the figure does not depend on the order the
 * borrower set happens to be in.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { signerFromByte } from '../test/random-log.js';
import { runScenario } from '../test/scenario-runner.js';
import { parseAttestation, verifyAttestationSignature } from './attestation.js';
import { LiabilitiesTree, attestationFieldsOf, signAttestation } from './liabilities-tree.js';
import { decodeState, encodeState } from './state-codec.js';
import { stressFigure } from './stress.js';

const scenarios = new URL('../test/scenarios/', import.meta.url);
const scenarioText = (name: string): string => readFileSync(new URL(name, scenarios), 'utf8');

/** setup.scenario, then borrow-refused-by-margin.scenario: the keeper owes 20 SOL; shortfall 200 USDC on SOL. */
function stressedState() {
  return runScenario(`${scenarioText('setup.scenario')}\n${scenarioText('borrow-refused-by-margin.scenario')}`);
}

describe('the stress figure in attestations', () => {
  it('is stated per asset in settlement units, signed, and round-trips', () => {
    const state = stressedState();
    const hash = new Uint8Array(32);
    const fields = attestationFieldsOf(state, LiabilitiesTree.build(state).root(), 9, hash, hash);
    expect(fields.assets.map((asset) => [asset.symbol, asset.stressShortfall])).toEqual([
      ['USDC', '0'],
      ['SOL', '200000000'],
    ]);
    const operator = signerFromByte(7);
    const signed = signAttestation(fields, operator.seed);
    const parsed = parseAttestation(JSON.parse(JSON.stringify(signed)));
    expect(parsed.assets[1]!.stressShortfall).toBe('200000000');
    expect(verifyAttestationSignature(parsed, [operator.accountId])).toBe(true);
    const forged = { ...parsed, assets: parsed.assets.map((asset) => ({ ...asset, stressShortfall: '0' })) };
    expect(verifyAttestationSignature(forged, [operator.accountId])).toBe(false);
  });

  it('is zero for every asset when nobody borrows', () => {
    const state = runScenario(scenarioText('setup.scenario'));
    expect(state.borrowers.size).toBe(0);
    expect(stressFigure(state, state.logTimeMs)).toEqual(state.assets.map(() => 0n));
  });

  it('does not depend on the order of the borrower set (a sum of per-account integers)', () => {
    const state = stressedState();
    // A second borrower, so that there is an order to change.
    runScenario(
      [
        '4 operator depositCredit account=erin symbol=USDC quantity=500 blockchain=Solana chainTransactionId=e9 -> ok',
        '4 erin borrowLendExecute symbol=SOL side=Borrow quantity=3 -> ok',
      ].join('\n'),
      state,
    );
    expect(state.borrowers.size).toBe(2);
    const figure = stressFigure(state, state.logTimeMs);
    const reversed = [...state.borrowers].reverse();
    state.borrowers.clear();
    for (const account of reversed) state.borrowers.add(account);
    expect(stressFigure(state, state.logTimeMs)).toEqual(figure);
    // A decoded state rebuilds the set in its own order, and states the same figure.
    const decoded = decodeState(encodeState(state));
    expect(stressFigure(decoded, decoded.logTimeMs)).toEqual(figure);
  });

  it('grows with the time the indexes are accrued to (debts accrue interest)', () => {
    const state = stressedState();
    const now = stressFigure(state, state.logTimeMs);
    const yearLater = stressFigure(state, state.logTimeMs + 365 * 86_400_000);
    expect(yearLater[1]!).toBeGreaterThan(now[1]!);
  });
});
