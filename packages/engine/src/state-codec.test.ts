import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { execute } from './apply.js';
import type { Instruction } from './instruction.js';
import { createState, type ExchangeState } from './state.js';
import { StateDecodeError, decodeState, encodeState, stateHashHex } from './state-codec.js';
import { solUsdcLimitOrder } from '../test/support-orders.js';
import { solUsdcListing } from '../test/support-listings.js';

const keyOf = (fill: number): string => Buffer.alloc(32, fill).toString('base64');
const operator = keyOf(1);
const traders = [keyOf(2), keyOf(3), keyOf(4)];

function demoState(): ExchangeState {
  const state = createState({ exchangeName: 'codec-test', operatorKeys: [operator], feeAccount: operator });
  const setup: Instruction[] = [
    { kind: 'assetList', symbol: 'SOL', decimals: 9 },
    { kind: 'assetList', symbol: 'USDC', decimals: 6 },
    solUsdcListing({ maxOpenOrders: 50, maxMakersPerOrder: 20, minOrderValue: '0.01' }),
  ];
  for (const instruction of setup) expect(execute(state, operator, instruction, 1).accepted).toBe(true);
  traders.forEach((trader, index) => {
    for (const symbol of ['SOL', 'USDC']) {
      const credit: Instruction = {
        kind: 'depositCredit',
        account: trader,
        symbol,
        quantity: '1000',
        blockchain: 'Solana',
        chainTransactionId: `${symbol}-${index}`,
      };
      expect(execute(state, operator, credit, 2).accepted).toBe(true);
    }
  });
  return state;
}

function order(side: 'Bid' | 'Ask', price: string, quantity: string, clientId?: number): Instruction {
  return solUsdcLimitOrder(side, price, quantity, clientId !== undefined ? { clientId } : {});
}

/** A short fixed history touching every part of the state. */
function busyState(): ExchangeState {
  const state = demoState();
  const [alice, bob, carol] = traders as [string, string, string];
  execute(state, alice, order('Bid', '100', '2', 7), 3);
  execute(state, alice, order('Bid', '99.5', '1'), 3);
  execute(state, bob, order('Ask', '101', '3'), 4);
  execute(state, carol, order('Ask', '100', '0.5'), 5);
  execute(state, bob, { kind: 'withdraw', symbol: 'USDC', quantity: '10', address: 'addr 1', blockchain: 'Solana' }, 6);
  execute(
    state,
    carol,
    { kind: 'withdraw', symbol: 'SOL', quantity: '1.5', address: 'addr/2', blockchain: 'Solana' },
    6,
  );
  execute(state, operator, { kind: 'withdrawalComplete', withdrawalId: 1, chainTransactionId: 'out-1' }, 7);
  // Pending trigger orders: a stop (falling, with a client id) and a linked take-profit / stop-loss pair.
  const pending: Instruction[] = [
    solUsdcLimitOrder('Ask', '94', undefined, { triggerPrice: '95', triggerQuantity: '0.1', clientId: 3 }),
    solUsdcLimitOrder('Bid', '100', '0.5', {
      takeProfitTriggerPrice: '105',
      stopLossTriggerPrice: '95',
      stopLossLimitPrice: '94.5',
    }),
  ];
  for (const instruction of pending) expect(execute(state, carol, instruction, 8).accepted).toBe(true);
  expect(state.pendingTriggerCount).toBe(3);
  return state;
}

describe('state codec', () => {
  it('round-trips a busy state byte for byte', () => {
    const state = busyState();
    const encoded = encodeState(state);
    const decoded = decodeState(encoded);
    expect(Buffer.compare(Buffer.from(encodeState(decoded)), Buffer.from(encoded))).toBe(0);
    expect(stateHashHex(decoded)).toBe(stateHashHex(state));
  });

  it('keeps the golden hash of a fixed history', () => {
    // Any change to the encoding or to the engine's semantics moves this
    // hash; update it only together with docs/protocol.md.
    expect(stateHashHex(busyState())).toMatchInlineSnapshot(
      `"64b2d31fb7039c9b812162a3bc632c3c42c51f0d524ba88af6759d822eccd3d7"`,
    );
  });

  it('writes open orders and pending withdrawals in id order whatever order their maps hold them in', () => {
    const state = busyState();
    expect(state.pendingWithdrawals.size).toBeGreaterThan(0);
    const encoded = Buffer.from(encodeState(state));
    // The maps hold them in id order after this history; reversed, the encoder must sort them.
    const orders = [...state.orders].reverse();
    state.orders.clear();
    for (const [id, order] of orders) state.orders.set(id, order);
    const withdrawals = [...state.pendingWithdrawals].reverse();
    state.pendingWithdrawals.clear();
    for (const [id, withdrawal] of withdrawals) state.pendingWithdrawals.set(id, withdrawal);
    expect([...state.orders.keys()][0]).toBeGreaterThan([...state.orders.keys()][1]!);
    expect(Buffer.compare(Buffer.from(encodeState(state)), encoded)).toBe(0);
  });

  it('decoded states keep trading exactly like the original', () => {
    const original = busyState();
    const copy = decodeState(encodeState(original));
    const [alice, bob] = traders as [string, string];
    for (const state of [original, copy]) {
      execute(state, bob, order('Ask', '99.5', '2.5'), 8);
      execute(state, alice, { kind: 'orderCancel', symbol: 'SOL_USDC', clientId: 7 }, 9);
    }
    expect(stateHashHex(copy)).toBe(stateHashHex(original));
  });

  it('refuses malformed encodings with a clear error', () => {
    const encoded = encodeState(busyState());
    expect(() => decodeState(encoded.slice(0, encoded.length - 1))).toThrow(StateDecodeError);
    expect(() => decodeState(new Uint8Array([...encoded, 0]))).toThrow(/trailing bytes/);
    expect(() => decodeState(new TextEncoder().encode('not a state'))).toThrow(/magic/);
  });

  it('never decodes a corrupted encoding into a different valid state silently', () => {
    const encoded = encodeState(busyState());
    fc.assert(
      fc.property(fc.nat({ max: encoded.length - 1 }), fc.integer({ min: 1, max: 255 }), (offset, mask) => {
        const corrupted = encoded.slice();
        corrupted[offset]! ^= mask;
        try {
          const decoded = decodeState(corrupted);
          // A flip that still decodes must describe a state whose encoding is the corrupted bytes.
          expect(Buffer.compare(Buffer.from(encodeState(decoded)), Buffer.from(corrupted))).toBe(0);
        } catch (error) {
          expect(error).toBeInstanceOf(StateDecodeError);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('changes the hash on every accepted entry', () => {
    const prices = ['99', '99.5', '100', '100.5', '101'];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            trader: fc.nat({ max: 2 }),
            side: fc.constantFrom('Bid' as const, 'Ask' as const),
            price: fc.constantFrom(...prices),
            quantity: fc.constantFrom('0.1', '0.5', '1'),
          }),
          { minLength: 1, maxLength: 15 },
        ),
        (steps) => {
          const state = demoState();
          let time = 10;
          for (const step of steps) {
            const before = stateHashHex(state);
            const outcome = execute(state, traders[step.trader]!, order(step.side, step.price, step.quantity), time++);
            const after = stateHashHex(state);
            if (outcome.accepted) expect(after).not.toBe(before);
            else expect(after).toBe(before);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
