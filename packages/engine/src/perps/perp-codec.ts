/**
 * The perpetual parts of the state encoding (docs/protocol.md, "State
 * encoding"; docs/perps.md, "Encoding"), from version 5: after a market's
 * spot listing its perpetual listing, after its last price its perpetual
 * state. A signed integer is a sign byte (0 or 1) and its magnitude.
 */
import { ByteDecodeError, type ByteReader, ByteWriter } from '../byte-codec.js';
import type { OperatorInstruction } from '../instruction.js';
import type { Market } from '../state.js';
import type { PerpFundingParameters } from './funding.js';
import {
  decodePerpFundingParameters,
  decodePerpFundingState,
  encodePerpFundingParameters,
  encodePerpFundingState,
} from './funding-codec.js';
import { perpListingOf } from './perp-market.js';

type MarketListing = Extract<OperatorInstruction, { kind: 'marketList' }>;

export function writeSigned(writer: ByteWriter, value: bigint): void {
  writer.unsigned(value < 0n ? 1 : 0);
  writer.unsigned(value < 0n ? -value : value);
}

export function readSigned(reader: ByteReader): bigint {
  const sign = reader.unsigned();
  if (sign > 1n) throw new ByteDecodeError('a sign byte must be 0 or 1');
  const magnitude = reader.unsigned();
  if (sign === 1n && magnitude === 0n) throw new ByteDecodeError('negative zero');
  return sign === 1n ? -magnitude : magnitude;
}

/** 0 for a spot market; 1 and the perpetual's listing fields otherwise. */
export function encodePerpListing(writer: ByteWriter, market: Market): void {
  if (market.perp === undefined) {
    writer.unsigned(0);
    return;
  }
  writer.unsigned(1);
  const listing = perpListingOf(market.perp.parameters, market.base);
  for (const name of ['imfBase', 'imfFactor', 'mmfBase', 'mmfFactor'] as const) writer.string(listing[name]!);
  writer.unsigned(listing.fundingIntervalMs!);
  writeSigned(writer, BigInt(listing.fundingRateUpperBoundBps!));
  writeSigned(writer, BigInt(listing.fundingRateLowerBoundBps!));
  writer.string(listing.openInterestLimit!);
  writer.string(listing.markBandMaxMultiplier!);
  writer.string(listing.markBandMinMultiplier!);
}

/** The listing fields encodePerpListing wrote, to list the market again. */
export function decodePerpListing(reader: ByteReader): Partial<MarketListing> {
  const type = reader.unsigned();
  if (type === 0n) return {};
  if (type !== 1n) throw new ByteDecodeError(`unknown market type ${type}`);
  return {
    marketType: 'PERP',
    imfBase: reader.string(),
    imfFactor: reader.string(),
    mmfBase: reader.string(),
    mmfFactor: reader.string(),
    fundingIntervalMs: reader.safeInteger(),
    fundingRateUpperBoundBps: Number(readSigned(reader)),
    fundingRateLowerBoundBps: Number(readSigned(reader)),
    openInterestLimit: reader.string(),
    markBandMaxMultiplier: reader.string(),
    markBandMinMultiplier: reader.string(),
  };
}

/**
 * A perpetual's funding parameters and funding state, the mark price and the
 * cumulative funding index among them (docs/perps-pricing.md, section 9; open
 * interest is rebuilt from the positions).
 */
export function encodePerpState(writer: ByteWriter, market: Market): void {
  if (market.perp === undefined) return;
  encodePerpFundingParameters(writer, market.perp.fundingParameters);
  encodePerpFundingState(writer, market.perp.funding);
  // Version 7: the funding the market holds (docs/perps.md, "Encoding").
  writeSigned(writer, market.perp.fundingBalanceUnits);
}

function sameEncoding(left: PerpFundingParameters, right: PerpFundingParameters): boolean {
  const [leftWriter, rightWriter] = [new ByteWriter(), new ByteWriter()];
  encodePerpFundingParameters(leftWriter, left);
  encodePerpFundingParameters(rightWriter, right);
  const [leftBytes, rightBytes] = [leftWriter.finish(), rightWriter.finish()];
  if (leftBytes.length !== rightBytes.length) return false;
  for (let index = 0; index < leftBytes.length; index += 1) if (leftBytes[index] !== rightBytes[index]) return false;
  return true;
}

/** The parameters must be the ones the listing derives (one encoding per state); the funding state is restored. */
export function decodePerpState(reader: ByteReader, market: Market): void {
  if (market.perp === undefined) return;
  const parameters = decodePerpFundingParameters(reader);
  if (!sameEncoding(parameters, market.perp.fundingParameters))
    throw new ByteDecodeError(`${market.symbol}'s funding parameters are not the ones its listing derives`);
  market.perp.funding = decodePerpFundingState(reader);
  market.perp.fundingBalanceUnits = readSigned(reader);
}
