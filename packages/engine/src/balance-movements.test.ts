import { describe, expect, it } from 'vitest';
import { execute } from './apply.js';
import { credit, debit, lock, settle, unlock } from './balance-movements.js';
import type { Instruction } from './instruction.js';
import { checkInvariants } from './invariants.js';
import { InvariantViolation } from './result-codes.js';
import { createState, type ExchangeState } from './state.js';

const operator = Buffer.alloc(32, 1).toString('base64');
const trader = Buffer.alloc(32, 2).toString('base64');

function fundedState(): ExchangeState {
  const state = createState({ exchangeName: 'movements', operatorKeys: [operator], feeAccount: operator });
  const setup: Instruction[] = [
    { kind: 'assetList', symbol: 'USDC', decimals: 6 },
    {
      kind: 'depositCredit',
      account: trader,
      symbol: 'USDC',
      quantity: '10',
      blockchain: 'Solana',
      chainTransactionId: 't1',
    },
  ];
  for (const instruction of setup) expect(execute(state, operator, instruction, 1).accepted).toBe(true);
  return state;
}

describe('balance movements', () => {
  it('assert their preconditions: nothing moves below zero', () => {
    const state = fundedState();
    const balance = state.accounts.get(trader)!.balance(state.assets[0]!);
    const recorder = state.recorder.begin(2);
    expect(() => lock(recorder, balance, 10_000_001n)).toThrow(InvariantViolation);
    expect(() => unlock(recorder, balance, 1n)).toThrow(InvariantViolation);
    expect(() => settle(recorder, balance, 1n)).toThrow(InvariantViolation);
    expect(() => debit(recorder, balance, 10_000_001n)).toThrow(InvariantViolation);
    expect(() => credit(recorder, balance, -1n)).toThrow(InvariantViolation);
    lock(recorder, balance, 4n);
    expect([balance.available, balance.locked]).toEqual([9_999_996n, 4n]);
  });

  it('checkInvariants catches a planted corruption of each kind', () => {
    const plants: Array<(state: ExchangeState) => void> = [
      // Units from nowhere: conservation.
      (state) => {
        state.accounts.get(trader)!.balance(state.assets[0]!).available += 1n;
      },
      // Locked funds no order reserves.
      (state) => {
        const balance = state.accounts.get(trader)!.balance(state.assets[0]!);
        balance.available -= 1n;
        balance.locked += 1n;
      },
      // A lend position on an asset that is not borrowable.
      (state) => {
        state.accounts.get(trader)!.balance(state.assets[0]!).lendScaled = 1n;
      },
    ];
    for (const plant of plants) {
      const state = fundedState();
      checkInvariants(state);
      plant(state);
      expect(() => checkInvariants(state)).toThrow(InvariantViolation);
    }
  });
});
