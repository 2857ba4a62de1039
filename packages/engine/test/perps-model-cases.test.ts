/**
 * Fixed cases of the perpetuals model-based harness (perps-model-harness.ts;
 * docs/testing.md, "Perpetuals model-based test"): rows the seeded test
 * seldom meets, run through the same comparison of engine and reference
 * model after every step, then checked to have met what they are about.
 */
import { describe, expect, it } from 'vitest';
import { PerpRun, type Step } from './perps-model-harness.js';

function run(rows: ReadonlyArray<readonly [number, ...Step]>): PerpRun {
  const perps = new PerpRun();
  for (const [timeMs, signer, name, raw] of rows)
    perps.step(timeMs, [signer, name, raw], `${timeMs} ${signer} ${name} ${JSON.stringify(raw)}`);
  return perps;
}

const deposit = (account: string, quantity: string): Step => [
  'operator',
  'depositCredit',
  { account, symbol: 'USDC', quantity },
];
const order = (signer: string, side: string, quantity: string, price: string, extra = {}): Step => [
  signer,
  'orderExecute',
  { symbol: 'SOL_USDC_PERP', side, quantity, orderType: 'Limit', price, ...extra },
];

describe('the perpetuals reference model on fixed cases', () => {
  it('caps a resting reduce-only maker at its position as the walk left it, then expires it', () => {
    const perps = run([
      [10, ...deposit('alice', '1000')],
      [10, ...deposit('bob', '1000')],
      [10, ...deposit('carol', '1000')],
      [20, ...order('alice', 'Bid', '2', '100')],
      [21, ...order('bob', 'Ask', '2', '100')],
      [22, ...order('alice', 'Ask', '1', '101')],
      [23, ...order('alice', 'Ask', '2', '102', { reduceOnly: 'true' })],
      // Carol's bid takes alice's plain ask (her long falls to 1), then 1 of the reduce-only ask: she is flat.
      [24, ...order('carol', 'Bid', '3', '102')],
    ]);
    // Met twice: capped at 1 and filled, then met again offering nothing and passed over.
    expect(perps.model.met['reduce-only maker capped']).toBe(2);
    expect(perps.model.met['reduce-only order expired']).toBe(1);
  });

  it('liquidates a position on the book, then backstops what is left', () => {
    const perps = run([
      [10, ...deposit('alice', '150')],
      [10, ...deposit('bob', '3000')],
      [10, ...deposit('carol', '3000')],
      [20, ...order('alice', 'Bid', '10', '100')],
      [21, ...order('bob', 'Ask', '10', '100')],
      [22, ...order('carol', 'Bid', '5', '82')],
      [30, 'operator', 'indexPriceUpdate', { symbol: 'SOL', price: '88' }],
      [31, 'operator', 'liquidate', { account: 'alice' }],
      [40, 'operator', 'indexPriceUpdate', { symbol: 'SOL', price: '60' }],
      [41, 'operator', 'liquidate', { account: 'alice' }],
    ]);
    expect(perps.outcomes['liquidate ok']).toBe(2);
    expect(perps.model.met['position closed on the book']).toBe(1);
    expect(perps.model.met['position taken over by the pool']).toBe(1);
  });

  it('deleverages a position the coverage pool cannot take over', () => {
    const perps = run([
      [10, ...deposit('alice', '1100')],
      [10, ...deposit('bob', '6000')],
      [20, ...order('alice', 'Bid', '100', '100')],
      [21, ...order('bob', 'Ask', '100', '100')],
      // Alice's net equity falls far below zero: her long goes at its bankruptcy price, which the pool's 500 USDC
      // cannot pay for, so to bob's short by ADL.
      [30, 'operator', 'indexPriceUpdate', { symbol: 'SOL', price: '60' }],
      [31, 'operator', 'liquidate', { account: 'alice' }],
      [32, 'operator', 'liquidate', { account: 'alice' }],
    ]);
    expect(perps.outcomes['liquidate ok']).toBeGreaterThan(0);
    expect(perps.model.met['position deleveraged']).toBe(1);
    expect(perps.model.met['position taken over by the pool']).toBeUndefined();
  });
});
