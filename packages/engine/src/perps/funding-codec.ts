/**
 * The canonical encoding of a perpetual market's funding parameters and
 * funding state (docs/perps-pricing.md, section 9), in byte-codec.ts's
 * conventions: unsigned varints, and signed values zigzag-mapped to unsigned
 * ones (n ≥ 0 → 2n, n < 0 → −2n − 1), so every value has one encoding.
 */
import type { ByteReader, ByteWriter } from '../byte-codec.js';
import type { PerpFundingParameters, PerpFundingState } from './funding.js';

export function writeSigned(writer: ByteWriter, value: bigint): void {
  writer.unsigned(value >= 0n ? value << 1n : (-value << 1n) - 1n);
}

export function readSigned(reader: ByteReader): bigint {
  const zigzag = reader.unsigned();
  return (zigzag & 1n) === 0n ? zigzag >> 1n : -((zigzag + 1n) >> 1n);
}

/** cumulativeFundingIndex (signed), markPrice, markIndexPrice, lastFundingRate (signed), premiumSum (signed),
 * premiumSampleCount, premiumEstimate (signed), nextSampleAtMs, nextFundingAtMs. */
export function encodePerpFundingState(writer: ByteWriter, state: PerpFundingState): void {
  writeSigned(writer, state.cumulativeFundingIndex);
  writer.unsigned(state.markPrice);
  writer.unsigned(state.markIndexPrice);
  writeSigned(writer, state.lastFundingRate);
  writeSigned(writer, state.premiumSum);
  writer.unsigned(state.premiumSampleCount);
  writeSigned(writer, state.premiumEstimate);
  writer.unsigned(state.nextSampleAtMs);
  writer.unsigned(state.nextFundingAtMs);
}

export function decodePerpFundingState(reader: ByteReader): PerpFundingState {
  return {
    cumulativeFundingIndex: readSigned(reader),
    markPrice: reader.unsigned(),
    markIndexPrice: reader.unsigned(),
    lastFundingRate: readSigned(reader),
    premiumSum: readSigned(reader),
    premiumSampleCount: reader.unsigned(),
    premiumEstimate: readSigned(reader),
    nextSampleAtMs: reader.safeInteger(),
    nextFundingAtMs: reader.safeInteger(),
  };
}

/** fundingIntervalMs, sampleIntervalMs, interestRate (signed), premiumFraction, interestClamp, the upper and lower
 * bounds (signed), markBand, markSmoothingSamples, impactNotionalUnits. */
export function encodePerpFundingParameters(writer: ByteWriter, parameters: PerpFundingParameters): void {
  writer.unsigned(parameters.fundingIntervalMs);
  writer.unsigned(parameters.sampleIntervalMs);
  writeSigned(writer, parameters.interestRate);
  writer.unsigned(parameters.premiumFraction);
  writer.unsigned(parameters.interestClamp);
  writeSigned(writer, parameters.fundingRateUpperBoundBasisPoints);
  writeSigned(writer, parameters.fundingRateLowerBoundBasisPoints);
  writer.unsigned(parameters.markBand);
  writer.unsigned(parameters.markSmoothingSamples);
  writer.unsigned(parameters.impactNotionalUnits);
}

export function decodePerpFundingParameters(reader: ByteReader): PerpFundingParameters {
  return {
    fundingIntervalMs: reader.safeInteger(),
    sampleIntervalMs: reader.safeInteger(),
    interestRate: readSigned(reader),
    premiumFraction: reader.unsigned(),
    interestClamp: reader.unsigned(),
    fundingRateUpperBoundBasisPoints: readSigned(reader),
    fundingRateLowerBoundBasisPoints: readSigned(reader),
    markBand: reader.unsigned(),
    markSmoothingSamples: reader.unsigned(),
    impactNotionalUnits: reader.unsigned(),
  };
}
