/**
 * The per-account records of resting orders on a perpetual
 * (perps/resting-perp-orders.ts): a record whose orders all left the book is
 * kept, empty, and the invariants count it as none; a record that disagrees
 * with the book still fails them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../src/invariants.js';
import { applyRow, runScenario, scenarioKeys } from './scenario-runner.js';

const setup = readFileSync(new URL('scenarios/setup.scenario', import.meta.url), 'utf8');
const listing =
  '3 operator marketList symbol=SOL_USDC_PERP baseSymbol=SOL quoteSymbol=USDC tickSize=0.01 stepSize=0.01' +
  ' minQuantity=0.01 maxQuantity=100000 minPrice=0.01 maxPrice=1000000 makerFeeBps=0 takerFeeBps=0 marketType=PERP' +
  ' imfBase=0.5 imfFactor=0 mmfBase=0.25 mmfFactor=0 -> ok';

describe('resting perpetual order records', () => {
  it('keep an emptied record, which the invariants count as none, and still catch a wrong one', () => {
    const state = runScenario(`${setup}\n${listing}`);
    const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
    const carol = state.accounts.get(scenarioKeys.get('carol')!)!;
    const symbol = ['symbol', 'SOL_USDC_PERP'] as const;
    const order = new Map([symbol, ['side', 'Ask'], ['orderType', 'Limit'], ['price', '100'], ['quantity', '2']]);
    expect(applyRow(state, 4, 'carol', 'orderExecute', order).accepted).toBe(true);
    expect(carol.perpHoldings[market.index]!.askSteps).toBe(200n);
    expect(applyRow(state, 4, 'carol', 'orderCancelAll', new Map([symbol])).accepted).toBe(true);
    const record = carol.perpHoldings[market.index]!;
    expect([record.askSteps, record.askQuoteUnits, record.reduceOnly.length]).toEqual([0n, 0n, 0]);
    checkInvariants(state);
    record.askSteps = 1n;
    expect(() => checkInvariants(state)).toThrow(/resting perpetual order records disagree/);
  });
});
