/**
 * An account's perpetual positions in its piece of the state encoding
 * (docs/perps.md, "Encoding"; docs/protocol.md, "State encoding", item 5),
 * after its exit address: a varint count, then each open position in
 * ascending market index: varint market index, then the signed quantity,
 * cost basis, realised PnL, cumulative funding and funding index at
 * settlement, then (version 7) the varint log time of its last
 * realisation. Being in the account's piece, positions are in its leaf of
 * the state commitment. Decoding rebuilds each market's open interest.
 */
import { ByteDecodeError, type ByteReader, type ByteWriter } from '../byte-codec.js';
import type { Account, ExchangeState } from '../state.js';
import { readSigned, writeSigned } from './perp-codec.js';
import { openPositionOf } from './perp-holding.js';
import type { Position } from './position.js';

/** The account's positions in ascending market index: the one deterministic order they are read in. */
export function positionsInOrder(account: Account): Array<[number, Position]> {
  return [...account.positions].sort((left, right) => left[0] - right[0]);
}

export function encodeAccountPositions(writer: ByteWriter, account: Account): void {
  writer.unsigned(account.positions.size);
  if (account.positions.size === 0) return;
  for (const [marketIndex, position] of positionsInOrder(account)) {
    writer.unsigned(marketIndex);
    writeSigned(writer, position.quantityUnits);
    writeSigned(writer, position.costBasisUnits);
    writeSigned(writer, position.realisedPnlUnits);
    writeSigned(writer, position.cumulativeFundingUnits);
    writeSigned(writer, position.fundingIndexAtSettlement);
    writer.unsigned(position.realisedAtMs);
  }
}

export function decodeAccountPositions(reader: ByteReader, state: ExchangeState, account: Account): void {
  let previousMarket = -1;
  for (let count = reader.safeInteger(); count > 0; count -= 1) {
    const marketIndex = reader.safeInteger();
    const perp = state.markets[marketIndex]?.perp;
    if (perp === undefined || marketIndex <= previousMarket) {
      throw new ByteDecodeError('a position on an unknown, repeated or spot market');
    }
    previousMarket = marketIndex;
    const position: Position = {
      quantityUnits: readSigned(reader),
      costBasisUnits: readSigned(reader),
      realisedPnlUnits: readSigned(reader),
      cumulativeFundingUnits: readSigned(reader),
      fundingIndexAtSettlement: readSigned(reader),
      realisedAtMs: reader.safeInteger(),
    };
    if (position.quantityUnits === 0n) throw new ByteDecodeError('a flat position is never stored');
    // Stored as the account's holding on the market (perp-holding.ts: the holding is the position).
    openPositionOf(account, state.markets[marketIndex]!, position);
    if (position.quantityUnits > 0n) perp.openInterestUnits += position.quantityUnits;
  }
}
