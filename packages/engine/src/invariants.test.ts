import { describe, expect, it } from 'vitest';
import { execute } from './apply.js';
import type { Instruction } from './instruction.js';
import { checkInvariants } from './invariants.js';
import { InvariantViolation } from './result-codes.js';
import { createState, type ExchangeState } from './state.js';
import { solUsdcLimitOrder } from '../test/support-orders.js';
import { solUsdcListing } from '../test/support-listings.js';

const keyOf = (fill: number): string => Buffer.alloc(32, fill).toString('base64');
const operator = keyOf(1);
const [alice, bob] = [keyOf(2), keyOf(3)];

/** Two funded traders, resting orders on both sides, and a pending withdrawal of bob's. */
function tradingState(): ExchangeState {
  const state = createState({ exchangeName: 'invariants-test', operatorKeys: [operator], feeAccount: operator });
  const setup: Instruction[] = [
    { kind: 'assetList', symbol: 'SOL', decimals: 9 },
    { kind: 'assetList', symbol: 'USDC', decimals: 6 },
    solUsdcListing({ maxOpenOrders: 50, maxMakersPerOrder: 20, minOrderValue: '0.01' }),
  ];
  for (const instruction of setup) expect(execute(state, operator, instruction, 1).accepted).toBe(true);
  for (const [index, account] of [alice, bob].entries()) {
    for (const symbol of ['SOL', 'USDC']) {
      const credit: Instruction = {
        kind: 'depositCredit',
        account: account!,
        symbol,
        quantity: '1000',
        blockchain: 'Solana',
        chainTransactionId: `${symbol}-${index}`,
      };
      expect(execute(state, operator, credit, 2).accepted).toBe(true);
    }
  }
  expect(execute(state, alice!, solUsdcLimitOrder('Bid', '99', '2'), 3).accepted).toBe(true);
  expect(execute(state, bob!, solUsdcLimitOrder('Ask', '101', '3'), 3).accepted).toBe(true);
  const withdraw: Instruction = {
    kind: 'withdraw',
    symbol: 'USDC',
    quantity: '10',
    address: 'a',
    blockchain: 'Solana',
  };
  expect(execute(state, bob!, withdraw, 4).accepted).toBe(true);
  return state;
}

describe('checkInvariants', () => {
  it('passes a consistent state and catches each planted inconsistency with its message', () => {
    const plants: Array<[string, (state: ExchangeState) => void, RegExp]> = [
      [
        'locked units no open order reserves, on an account with open orders',
        (state) => {
          const balance = state.accounts.get(alice!)!.balance(state.assets[1]!);
          balance.available -= 1n;
          balance.locked += 1n;
        },
        /locked USDC .* open orders' reservations/,
      ],
      [
        'locked units on an account with no open order',
        (state) => {
          const balance = state.feeAccount.balance(state.assets[0]!);
          balance.locked += 1n;
          state.assets[0]!.depositedUnits += 1n;
        },
        /locked SOL 1 ≠ open orders' reservations 0/,
      ],
      [
        'pending withdrawal units that no withdrawal record holds',
        (state) => {
          const balance = state.accounts.get(alice!)!.balance(state.assets[0]!);
          balance.available -= 1n;
          balance.pendingWithdrawal += 1n;
        },
        /pending SOL disagrees with its withdrawals/,
      ],
      [
        'a per-market open-order count that disagrees with the list',
        (state) => {
          const account = state.accounts.get(bob!)!;
          account.openOrderCountByMarket[0] = 2;
        },
        /SOL_USDC open-order count wrong/,
      ],
      [
        'two accounts swapped in the ordinal list',
        (state) => {
          const list = state.accountList;
          [list[1], list[2]] = [list[2]!, list[1]!];
        },
        /has ordinal/,
      ],
    ];
    for (const [name, plant, message] of plants) {
      const state = tradingState();
      checkInvariants(state);
      plant(state);
      expect(() => checkInvariants(state), name).toThrow(InvariantViolation);
      expect(() => checkInvariants(state), name).toThrow(message);
    }
  });
});
