import type { EngineEvent } from '@vex/engine';
import { describe, expect, it } from 'vitest';
import type { BatchOperation } from './database.js';
import {
  decodeClosedPosition,
  decodeFundingPayment,
  decodeSettlement,
  perpAccountHistoryOperations,
  perpAccountPrefix,
} from './history-perp-accounts.js';
import { keyspaces, readUint64 } from './storage-format.js';

const alice = Buffer.alloc(32, 2).toString('base64');
const bob = Buffer.alloc(32, 3).toString('base64');
const market = 'SOL_USDC_PERP';

const events: EngineEvent[] = [
  {
    type: 'perpFundingPayment',
    account: alice,
    market,
    quantityUnits: 2_000_000_000n,
    paymentUnits: 3_750n,
    fromIndex: 10n,
    toIndex: -12_500_000_000_000_000n,
    timeMs: 7_200_001,
  },
  { type: 'perpSettlement', account: alice, market, source: 'FundingPayment', quantityUnits: -3_750n, timeMs: 7 },
  { type: 'perpSettlement', account: bob, market, source: 'TradingFees', quantityUnits: -75_000n, timeMs: 7 },
  {
    type: 'perpPositionChanged',
    account: alice,
    market,
    quantityUnits: 1n,
    costBasisUnits: 1n,
    realisedPnlUnits: 0n,
    cumulativeFundingUnits: 0n,
    feeUnits: 1n,
    timeMs: 7,
  },
  {
    type: 'perpPositionChanged',
    account: bob,
    market,
    quantityUnits: 0n,
    costBasisUnits: 0n,
    realisedPnlUnits: -10_000_000n,
    cumulativeFundingUnits: -3_750n,
    feeUnits: 75_000n,
    timeMs: 7,
  },
];

describe('perpetual per-account history records (keyspaces 0x1a–0x1c)', () => {
  it('writes one record per payment, settlement and closing change, keyed by account, sequence and ordinal', () => {
    const operations: BatchOperation[] = [];
    perpAccountHistoryOperations(42, events, operations);
    const puts = operations.map((operation) => operation as Extract<BatchOperation, { type: 'put' }>);
    // The open position's change is not stored: open positions come from the state.
    expect(puts.map((put) => put.key[0])).toEqual([
      keyspaces.perpFundingPaymentByAccount,
      keyspaces.perpSettlementByAccount,
      keyspaces.perpSettlementByAccount,
      keyspaces.perpClosedPositionByAccount,
    ]);
    for (const put of puts) expect(readUint64(put.value, 0)).toBe(42);
    // Key: space ‖ account ‖ u64 sequence ‖ u32 ordinal (per keyspace within the entry).
    const second = Buffer.from(puts[2]!.key);
    expect(second.subarray(0, 45)).toEqual(perpAccountPrefix(keyspaces.perpSettlementByAccount, bob));
    expect(readUint64(second, 45)).toBe(42);
    expect(second.readUInt32BE(53)).toBe(1);
    expect(second.length).toBe(57);
    // Values round-trip, bigints included.
    const { type: _payment, ...payment } = events[0] as Extract<EngineEvent, { type: 'perpFundingPayment' }>;
    expect(decodeFundingPayment(puts[0]!.value)).toEqual({ sequence: 42, ...payment });
    expect(decodeSettlement(puts[1]!.value)).toEqual({
      sequence: 42,
      account: alice,
      market,
      source: 'FundingPayment',
      quantityUnits: -3_750n,
      timeMs: 7,
    });
    const { type: _closed, ...closed } = events[4] as Extract<EngineEvent, { type: 'perpPositionChanged' }>;
    expect(decodeClosedPosition(puts[3]!.value)).toEqual({ sequence: 42, ...closed });
    // A replay writes the same bytes.
    const again: BatchOperation[] = [];
    perpAccountHistoryOperations(42, events, again);
    expect(again).toEqual(operations);
  });
});
