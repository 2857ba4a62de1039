import { describe, expect, it } from 'vitest';
import { signerFromByte } from '../test/random-log.js';
import { execute } from './apply.js';
import { listAsset } from './listing.js';
import { isRejection } from './result-codes.js';
import { addAccount, createState, type ExchangeState } from './state.js';
import { checkInvariants } from './invariants.js';

const operator = signerFromByte(200);
const alice = signerFromByte(11);
const aliceAddress = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';

function stateWithAlice(): ExchangeState {
  const state = createState({
    exchangeName: 'forced',
    operatorKeys: [operator.accountId],
    feeAccount: signerFromByte(10).accountId,
  });
  for (const [symbol, decimals] of [
    ['SOL', 9],
    ['USDC', 6],
  ] as const) {
    if (isRejection(listAsset(state, { kind: 'assetList', symbol, decimals }))) throw new Error('listing');
  }
  const [sol, usdc] = state.assets as [(typeof state.assets)[0], (typeof state.assets)[0]];
  const account = addAccount(state, alice.accountId, new Uint8Array(64).fill(0xaa));
  account.balance(sol).available = 1_000n;
  account.balance(usdc).available = 70n;
  sol.depositedUnits = 1_000n;
  usdc.depositedUnits = 70n;
  return state;
}

function serve(state: ExchangeState, account: string, request: number) {
  const outcome = execute(state, operator.accountId, { kind: 'forcedExitServe', account, request }, 20);
  if (!outcome.accepted) throw new Error(outcome.rejection.message);
  const result = outcome.results[0]!;
  if (!result.ok || result.value.kind !== 'forcedExitServed') throw new Error('not served');
  return result.value.forcedExit;
}

describe('forcedExitServe', () => {
  it('answers a request for an unknown account or one without an exit address, withdrawing nothing', () => {
    const state = stateWithAlice();
    const unknown = serve(state, signerFromByte(99).accountId, 1);
    expect(unknown).toMatchObject({ request: 1, withdrawals: [], shortfall: 'noAccount' });
    expect(serve(state, alice.accountId, 2)).toMatchObject({ withdrawals: [], shortfall: 'noExitAddress' });
    expect(state.pendingWithdrawals.size).toBe(0);
  });

  it('withdraws every available balance to the exit address; a second answer withdraws nothing more', () => {
    const state = stateWithAlice();
    const linked = execute(state, alice.accountId, { kind: 'exitAddressLink', address: aliceAddress }, 10);
    expect(linked.accepted).toBe(true);
    const served = serve(state, alice.accountId, 1);
    expect(served.shortfall).toBeUndefined();
    expect(served.withdrawals.map((w) => [w.asset, w.quantityUnits, w.address, w.blockchain, w.status])).toEqual([
      ['SOL', 1_000n, aliceAddress, 'Ethereum', 'Pending'],
      ['USDC', 70n, aliceAddress, 'Ethereum', 'Pending'],
    ]);
    const account = state.accounts.get(alice.accountId)!;
    expect(account.balances.map((balance) => balance?.available)).toEqual([0n, 0n]);
    expect(state.pendingWithdrawals.size).toBe(2);
    expect(serve(state, alice.accountId, 1).withdrawals).toEqual([]);
    checkInvariants(state);
  });

  it('is an operator instruction', () => {
    const state = stateWithAlice();
    const outcome = execute(
      state,
      alice.accountId,
      { kind: 'forcedExitServe', account: alice.accountId, request: 1 },
      20,
    );
    expect(outcome.accepted).toBe(false);
  });
});
