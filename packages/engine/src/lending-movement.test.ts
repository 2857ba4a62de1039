/**
 * lendingMovement events (docs/margin.md, section 2): one per change of a
 * position, with the scaled amounts after it and the pool's indexes; and none
 * for a margin order's borrow that is undone because the order itself is
 * refused, even when the rest of its batch is accepted.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScenario, scenarioKeys } from '../test/scenario-runner.js';
import { execute } from './apply.js';
import { parseInstruction } from './instruction.js';

const setup = readFileSync(new URL('../test/scenarios/setup.scenario', import.meta.url), 'utf8');
const bob = scenarioKeys.get('bob')!;

const orderGroup = (params: Record<string, string>) => ({
  instruction: 'orderExecute',
  params: new Map(
    Object.entries({ symbol: 'SOL_USDC', orderType: 'Limit', ...params }).sort(([a], [b]) => (a < b ? -1 : 1)),
  ),
});

describe('lendingMovement events', () => {
  it('report a borrow, and nothing for a borrow undone with its refused order', () => {
    const state = runScenario(
      `${setup}\n3 dave orderExecute symbol=SOL_USDC side=Ask orderType=Limit quantity=1 price=100 -> ok\n`,
    );
    const batch = parseInstruction([
      orderGroup({ side: 'Ask', quantity: '1', price: '200' }),
      // Would borrow 500 USDC, then cross dave's ask: a post-only order is refused, and its borrow undone.
      orderGroup({ side: 'Bid', quantity: '5', price: '100', postOnly: 'true', autoBorrow: 'true' }),
    ]);
    if (!batch.ok) throw new Error(batch.message);
    const outcome = execute(state, bob, batch.instruction, 4);
    if (!outcome.accepted) throw new Error(outcome.rejection.message);
    expect(outcome.results.map((result) => result.ok)).toEqual([true, false]);
    expect(outcome.events.filter((event) => event.type === 'lendingMovement')).toEqual([]);

    const borrow = parseInstruction([
      {
        instruction: 'borrowLendExecute',
        params: new Map([
          ['quantity', '100'],
          ['side', 'Borrow'],
          ['symbol', 'USDC'],
        ]),
      },
    ]);
    if (!borrow.ok) throw new Error(borrow.message);
    const borrowed = execute(state, bob, borrow.instruction, 5);
    if (!borrowed.accepted) throw new Error(borrowed.rejection.message);
    const pool = state.assetsBySymbol.get('USDC')!.margin!.lendingPool;
    expect(borrowed.events.filter((event) => event.type === 'lendingMovement')).toEqual([
      {
        type: 'lendingMovement',
        movement: {
          account: bob,
          asset: 'USDC',
          movement: 'Borrow',
          units: 100_000_000n,
          lendScaled: 0n,
          borrowScaled: 100_000_000n,
          borrowIndex: pool.borrowIndex,
          supplyIndex: pool.supplyIndex,
        },
      },
    ]);
  });
});
