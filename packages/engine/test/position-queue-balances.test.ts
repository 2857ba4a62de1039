/**
 * The queue nodes keep their account's USDC balance (perps/position-queue.ts, settlementBalance): after a sweep
 * realised a position, or a fill moved an open one, its node holds the account's own balance record, which the
 * invariants check; a node holding another balance fails them; a decoded state starts without the references and
 * realises the same.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../src/invariants.js';
import { marketPositionsOf } from '../src/perps/position-queue.js';
import { decodeState, encodeState } from '../src/state-codec.js';
import { runScenario, scenarioKeys } from './scenario-runner.js';

const setup = readFileSync(new URL('scenarios/setup.scenario', import.meta.url), 'utf8');
// perp-funding-and-borrow.scenario's opening: carol long 15 against erin's short, then an operator entry an hour
// later whose sweep realises both (their funding settled into USDC).
const opening = [
  '3 operator marketList symbol=SOL_USDC_PERP baseSymbol=SOL quoteSymbol=USDC tickSize=0.01 stepSize=0.01' +
    ' minQuantity=0.01 maxQuantity=100000 minPrice=0.01 maxPrice=1000000 makerFeeBps=0 takerFeeBps=0' +
    ' marketType=PERP imfBase=0.1 imfFactor=0 mmfBase=0.05 mmfFactor=0 -> ok',
  '4 erin orderExecute symbol=SOL_USDC_PERP side=Ask orderType=Limit price=100 quantity=15 -> ok',
  '4 carol orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Market quantity=15 -> ok',
].join('\n');
const sweep = '3600000 operator indexPriceUpdate symbol=SOL price=100 publishedAtMs=3600000 -> ok';

describe('the queue nodes’ settlement balances', () => {
  it('are the accounts’ own USDC balances after a sweep, checked by the invariants', () => {
    const state = runScenario(`${setup}\n${opening}`);
    const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
    const carol = state.accounts.get(scenarioKeys.get('carol')!)!;
    const erin = state.accounts.get(scenarioKeys.get('erin')!)!;
    const holders = marketPositionsOf(state, market).holders;
    // Not swept yet: no reference kept.
    expect(holders.get(carol.ordinal)!.settlementBalance).toBeUndefined();
    runScenario(sweep, state);
    expect(holders.get(carol.ordinal)!.settlementBalance).toBe(carol.balances[market.quote.index]);
    expect(holders.get(erin.ordinal)!.settlementBalance).toBe(erin.balances[market.quote.index]);
    checkInvariants(state);
    holders.get(carol.ordinal)!.settlementBalance = erin.balances[market.quote.index];
    expect(() => checkInvariants(state)).toThrow(/queued settlement balance is not its balance/);
  });

  it('are kept by the fill sides of positions open before and after the fill', () => {
    const state = runScenario(`${setup}\n${opening}`);
    const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
    const carol = state.accounts.get(scenarioKeys.get('carol')!)!;
    const erin = state.accounts.get(scenarioKeys.get('erin')!)!;
    const holders = marketPositionsOf(state, market).holders;
    expect(holders.get(erin.ordinal)!.settlementBalance).toBeUndefined();
    runScenario(
      [
        '5 erin orderExecute symbol=SOL_USDC_PERP side=Ask orderType=Limit price=100 quantity=1 -> ok',
        '5 carol orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Market quantity=1 -> ok',
      ].join('\n'),
      state,
    );
    expect(holders.get(carol.ordinal)!.settlementBalance).toBe(carol.balances[market.quote.index]);
    expect(holders.get(erin.ordinal)!.settlementBalance).toBe(erin.balances[market.quote.index]);
  });

  it('are not encoded: a decoded state sweeps to the same state', () => {
    const state = runScenario(`${setup}\n${opening}`);
    const copy = decodeState(encodeState(state));
    runScenario(sweep, state);
    runScenario(sweep, copy);
    expect(Buffer.from(encodeState(copy)).equals(Buffer.from(encodeState(state)))).toBe(true);
  });
});
