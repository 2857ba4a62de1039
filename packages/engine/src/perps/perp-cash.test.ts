import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScenario, scenarioKeys } from '../../test/scenario-runner.js';
import { borrowedUnits, lentUnits } from '../lending-pool.js';
import { settlePerpCash } from './perp-cash.js';

const setup = readFileSync(new URL('../../test/scenarios/setup.scenario', import.meta.url), 'utf8');
const usdcUnits = 1_000_000n;

/** The scenarios' setup: alice lends her 1000 USDC to the pool, bob holds 10 SOL and no USDC. */
function setupState() {
  const state = runScenario(setup);
  const usdc = state.assetsBySymbol.get('USDC')!;
  const account = (name: string) => state.accounts.get(scenarioKeys.get(name)!)!;
  return { state, usdc, alice: account('alice'), bob: account('bob'), recorder: state.recorder.begin(2) };
}

describe('perpetual cash movements (docs/perps.md, section 5a)', () => {
  it('takes a loss from the available USDC, then redeems the lend, and credits a gain', () => {
    const { state, usdc, alice, recorder } = setupState();
    const balance = alice.balance(usdc);
    settlePerpCash(state, recorder, alice, usdc, -300n * usdcUnits);
    expect([balance.available, lentUnits(balance, 2), balance.borrowScaled]).toEqual([0n, 700n * usdcUnits, 0n]);
    settlePerpCash(state, recorder, alice, usdc, 50n * usdcUnits);
    expect(balance.available).toBe(50n * usdcUnits);
  });

  it('borrows what the account cannot pay, and a later gain repays the borrow first', () => {
    const { state, usdc, bob, recorder } = setupState();
    const balance = bob.balance(usdc);
    const pool = usdc.margin!.lendingPool;
    settlePerpCash(state, recorder, bob, usdc, -120n * usdcUnits);
    expect([balance.available, borrowedUnits(balance, 2), pool.cashUnits]).toEqual([
      0n,
      120n * usdcUnits,
      880n * usdcUnits,
    ]);
    expect(state.borrowers.has(bob)).toBe(true);
    expect(recorder.events.some((event) => event.type === 'lendingMovement')).toBe(true);
    settlePerpCash(state, recorder, bob, usdc, 200n * usdcUnits);
    expect([balance.available, balance.borrowScaled, pool.cashUnits]).toEqual([80n * usdcUnits, 0n, 1000n * usdcUnits]);
    expect(state.borrowers.has(bob)).toBe(false);
  });

  it('halts on a loss beyond the USDC, the pool cash and the coverage pool', () => {
    const { state, usdc, bob, recorder } = setupState();
    expect(() => settlePerpCash(state, recorder, bob, usdc, -1001n * usdcUnits)).toThrow(/exceeds its USDC/);
  });
});
