/**
 * The margin check's health in parts (perp-orders.ts, docs/perps.md section
 * 4a) on accounts that hold more than USDC and positions: SOL collateral, a
 * SOL lend, a BTC borrow, USDC coverage-pool shares. healthWithout (the pass
 * without USDC's own terms and one market's position) plus USDC's terms
 * (initialTermsAt) plus that position's terms must equal a whole
 * accountHealth pass, for every account and perpetual, after trades, an index
 * move and time passing (interest). perps-random.test.ts checks the same
 * sums on traders that hold USDC only; this covers healthWithout's other
 * assets and coverage shares.
 */
import { describe, expect, it } from 'vitest';
import { expectHealthInParts, PerpRun } from './perps-model-harness.js';
import { runScenario, scenarioKeys } from './scenario-runner.js';

const named = ['operator', 'alice', 'bob', 'carol', 'dave'];

const deposit = (time: number, account: string, symbol: string, quantity: string): string =>
  `${time} operator depositCredit account=${account} symbol=${symbol} quantity=${quantity} blockchain=Solana ` +
  `chainTransactionId=${account}-${symbol}-${time} -> ok`;

const rows = [
  deposit(10, 'alice', 'USDC', '2000'),
  deposit(10, 'alice', 'SOL', '10'),
  deposit(10, 'bob', 'USDC', '5000'),
  deposit(10, 'carol', 'BTC', '1'),
  deposit(10, 'carol', 'SOL', '5'),
  deposit(10, 'dave', 'USDC', '3000'),
  '11 carol borrowLendExecute symbol=BTC side=Lend quantity=0.5 -> ok',
  '11 carol borrowLendExecute symbol=SOL side=Lend quantity=5 -> ok',
  '12 alice borrowLendExecute symbol=BTC side=Borrow quantity=0.001 -> ok',
  '13 bob orderExecute symbol=SOL_USDC_PERP side=Ask orderType=Limit price=100.5 quantity=4 -> ok',
  '13 bob orderExecute symbol=BTC_USDC_PERP side=Ask orderType=Limit price=60100 quantity=0.01 -> ok',
  '14 alice orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Limit price=100.5 quantity=3 timeInForce=IOC -> ok',
  [
    '14 alice orderExecute symbol=BTC_USDC_PERP side=Bid orderType=Limit price=60100 quantity=0.005',
    'timeInForce=IOC -> ok',
  ].join(' '),
  '15 dave orderExecute symbol=BTC_USDC_PERP side=Bid orderType=Limit price=60100 quantity=0.005 timeInForce=IOC -> ok',
  '15 dave orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Limit price=99 quantity=2 -> ok',
];

describe('the margin check health in parts, with other assets and coverage shares', () => {
  it('equals a whole pass after trades, an index move and interest', () => {
    const run = new PerpRun();
    runScenario(rows.join('\n'), run.state);
    const alice = run.state.accounts.get(scenarioKeys.get('alice')!)!;
    // The state the test is for: alice holds SOL, owes BTC and has positions on both perpetuals.
    expect(alice.positions.size).toBe(2);
    expect(alice.borrowCount).toBeGreaterThan(0);
    expect(expectHealthInParts(run, named, 15, 'after the trades')).toBe(10);
    runScenario('20 operator indexPriceUpdate symbol=SOL price=93.17 publishedAtMs=20 -> ok', run.state);
    expectHealthInParts(run, named, 20, 'after SOL moved');
    // A day later: the BTC borrow and the lends have accrued interest (the pass brings the indexes to the time).
    expectHealthInParts(run, named, 86_400_020, 'a day later');
  });
});
