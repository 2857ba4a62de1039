/**
 * The borrow/lend history of a lend wiped by a new supply epoch
 * (docs/margin.md, section 5.2a; docs/log-format.md, "Lending movement"):
 * the engine clears the expired lend when its balance next moves, reporting a
 * WriteOff of 0 units at supply index 0. The history must show the lost value
 * as negative interest, close the old position as a redemption and open the
 * next lend as a new position, valued at the new epoch's index 1.
 */
import { describe, expect, test } from 'vitest';
import { deriveLendingHistory, type LendingMovementRecord } from './history-margin.js';

const wad = 10n ** 18n;

function movement(
  sequence: number,
  ordinal: number,
  fields: Pick<LendingMovementRecord, 'movement' | 'units' | 'lendScaled' | 'supplyIndex' | 'timeMs'>,
): LendingMovementRecord {
  const source = fields.movement === 'WriteOff' ? 'SocialisedLoss' : 'Manual';
  return { sequence, ordinal, asset: 'USDC', source, borrowScaled: 0n, borrowIndex: wad, ...fields };
}

describe('lending history across a supply epoch', () => {
  test('the cleared lend closes with its whole value as negative interest; the next lend opens anew', () => {
    const records = [
      movement(1, 0, { movement: 'Lend', units: 500n, lendScaled: 500n, supplyIndex: wad, timeMs: 10 }),
      // A wipe ended the lend's epoch; the next Lend of the balance clears the expired lend first.
      movement(9, 0, { movement: 'WriteOff', units: 0n, lendScaled: 0n, supplyIndex: 0n, timeMs: 90 }),
      movement(9, 1, { movement: 'Lend', units: 10n, lendScaled: 10n, supplyIndex: wad, timeMs: 90 }),
    ];
    const history = deriveLendingHistory(records);
    expect(history.borrowLend.map((record) => [record.eventType, record.positionQuantityUnits])).toEqual([
      ['Lend', 500n],
      ['LendRedeem', 0n],
      ['Lend', 10n],
    ]);
    expect(history.interest.map((record) => record.quantityUnits)).toEqual([-500n]);
    expect(history.positions.map((position) => [position.positionId, position.state, position.quantityUnits])).toEqual([
      ['10000', 'Closed', 0n],
      ['90001', 'Open', 10n],
    ]);
  });
});
