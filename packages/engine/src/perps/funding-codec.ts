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

/** How a field is written: a signed or unsigned bigint, or a number that must be a safe integer. */
type FieldKind = 'signed' | 'unsigned' | 'safeInteger';

/** A record's fields in encoding order, so that the encoder and the decoder cannot disagree. */
class Fields<Target> {
  constructor(private readonly fields: readonly (readonly [keyof Target & string, FieldKind])[]) {}

  write(writer: ByteWriter, target: Target): void {
    for (const [key, kind] of this.fields) {
      const value = target[key] as bigint | number;
      if (kind === 'signed') writeSigned(writer, value as bigint);
      else writer.unsigned(value);
    }
  }

  read(reader: ByteReader): Target {
    const record: Record<string, bigint | number> = {};
    for (const [key, kind] of this.fields) {
      if (kind === 'signed') record[key] = readSigned(reader);
      else record[key] = kind === 'unsigned' ? reader.unsigned() : reader.safeInteger();
    }
    return record as Target;
  }
}

const stateFields = new Fields<PerpFundingState>([
  ['cumulativeFundingIndex', 'signed'],
  ['markPrice', 'unsigned'],
  ['markIndexPrice', 'unsigned'],
  ['lastFundingRate', 'signed'],
  ['premiumSum', 'signed'],
  ['premiumSampleCount', 'unsigned'],
  ['premiumEstimate', 'signed'],
  ['nextSampleAtMs', 'safeInteger'],
  ['nextFundingAtMs', 'safeInteger'],
]);

const parameterFields = new Fields<PerpFundingParameters>([
  ['fundingIntervalMs', 'safeInteger'],
  ['sampleIntervalMs', 'safeInteger'],
  ['interestRate', 'signed'],
  ['premiumFraction', 'unsigned'],
  ['interestClamp', 'unsigned'],
  ['fundingRateUpperBoundBasisPoints', 'signed'],
  ['fundingRateLowerBoundBasisPoints', 'signed'],
  ['markBand', 'unsigned'],
  ['markSmoothingSamples', 'unsigned'],
  ['impactNotionalUnits', 'unsigned'],
]);

export function encodePerpFundingState(writer: ByteWriter, state: PerpFundingState): void {
  stateFields.write(writer, state);
}

export function decodePerpFundingState(reader: ByteReader): PerpFundingState {
  return stateFields.read(reader);
}

export function encodePerpFundingParameters(writer: ByteWriter, parameters: PerpFundingParameters): void {
  parameterFields.write(writer, parameters);
}

export function decodePerpFundingParameters(reader: ByteReader): PerpFundingParameters {
  return parameterFields.read(reader);
}
