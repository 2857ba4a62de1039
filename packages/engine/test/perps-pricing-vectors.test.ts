/**
 * docs/vectors/perps-pricing.json in both directions: the engine regenerates
 * the file byte for byte, and every vector read from the file is recomputed
 * from its inputs by the engine and by the reference of the document, and
 * every state encoding decodes to its state and encodes back.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../src/byte-codec.js';
import {
  advancePerpClock,
  fundingRateFor,
  newPerpFundingState,
  type PerpFundingParameters,
} from '../src/perps/funding.js';
import { decodePerpFundingState, encodePerpFundingState } from '../src/perps/funding-codec.js';
import { markPrice, observeBook, samplePremium } from '../src/perps/mark-price.js';
import {
  referenceAdvance,
  referenceMark,
  referenceNewState,
  referenceObserve,
  referencePremium,
  referenceRate,
} from './perps-pricing-reference.js';
import {
  observedMarketOf,
  perpsPricingVectorsText,
  toJson,
  type VectorBook,
  vectorsPath,
} from './perps-pricing-vectors.js';

/** The vectors are plain JSON, read field by field below. */
type Vector = any;
const published = readFileSync(vectorsPath, 'utf8');
const vectors: Vector = JSON.parse(published);
const big = (text: string | null): bigint | undefined => (text === null ? undefined : BigInt(text));
const levels = (rows: [string, string][]) => rows.map(([ticks, steps]) => [BigInt(ticks), BigInt(steps)] as const);

function bookOf(json: Vector): VectorBook {
  return {
    priceScale: json.priceScale,
    tickUnits: BigInt(json.tickUnits),
    quoteUnitsPerStepTick: BigInt(json.quoteUnitsPerStepTick),
    bids: levels(json.bids),
    asks: levels(json.asks),
    lastPriceTicks: BigInt(json.lastPriceTicks),
  };
}

function parametersOf(json: Vector): PerpFundingParameters {
  const result: Record<string, bigint | number> = {};
  for (const [key, value] of Object.entries(json))
    result[key] = typeof value === 'number' ? value : BigInt(value as string);
  return result as unknown as PerpFundingParameters;
}

function observationOf(json: Vector) {
  return {
    impactBidPrice: big(json.impactBidPrice),
    impactAskPrice: big(json.impactAskPrice),
    midPrice: big(json.midPrice),
    lastTradePrice: big(json.lastTradePrice),
  };
}

describe('docs/vectors/perps-pricing.json', () => {
  it('is what the engine computes (npx tsx packages/engine/test/perps-pricing-vectors.ts --write)', () => {
    expect(published).toBe(perpsPricingVectorsText());
  });

  it('books: impact prices, mid and last trade from the levels', () => {
    for (const vector of vectors.books) {
      const book = bookOf(vector.book);
      const notional = BigInt(vector.impactNotionalUnits);
      const expected = observationOf(vector.observation);
      expect(observeBook(observedMarketOf(book), notional)).toEqual(expected);
      const reference = referenceObserve(book, notional);
      expect(reference).toEqual({
        impactBid: vector.observation.impactBidPrice === null ? null : expected.impactBidPrice,
        impactAsk: vector.observation.impactAskPrice === null ? null : expected.impactAskPrice,
        mid: vector.observation.midPrice === null ? null : expected.midPrice,
        last: vector.observation.lastTradePrice === null ? null : expected.lastTradePrice,
      });
    }
  });

  it('premiums, marks and funding rates', () => {
    for (const vector of vectors.premiums) {
      const [index, bid, ask] = [BigInt(vector.indexPrice), big(vector.impactBidPrice), big(vector.impactAskPrice)];
      expect(samplePremium(index, { impactBidPrice: bid, impactAskPrice: ask })).toBe(BigInt(vector.premium));
      expect(referencePremium(index, bid ?? null, ask ?? null)).toBe(BigInt(vector.premium));
    }
    for (const vector of vectors.marks) {
      const inputs = vector.inputs;
      const parsed = {
        indexPrice: BigInt(inputs.indexPrice),
        premiumEstimate: BigInt(inputs.premiumEstimate),
        midPrice: big(inputs.midPrice),
        lastTradePrice: big(inputs.lastTradePrice),
        markBand: BigInt(inputs.markBand),
      };
      expect(markPrice(parsed)).toBe(BigInt(vector.markPrice));
      const { indexPrice, premiumEstimate, midPrice, lastTradePrice, markBand } = parsed;
      expect(referenceMark(indexPrice, premiumEstimate, midPrice ?? null, lastTradePrice ?? null, markBand)).toBe(
        BigInt(vector.markPrice),
      );
    }
    for (const vector of vectors.fundingRates) {
      const parameters = parametersOf(vector.parameters);
      expect(fundingRateFor(BigInt(vector.averagePremium), parameters)).toBe(BigInt(vector.fundingRate));
      expect(referenceRate(BigInt(vector.averagePremium), parameters)).toBe(BigInt(vector.fundingRate));
    }
  });

  it('clocks: entries in, events and states out, states through their encoding', () => {
    for (const clock of vectors.clocks) {
      const parameters = parametersOf(clock.parameters);
      const state = newPerpFundingState(clock.listedAtMs, parameters);
      const reference = referenceNewState(clock.listedAtMs, parameters);
      expect(toJson(state)).toEqual(clock.initialState);
      for (const entry of clock.entries) {
        const indexPrice = BigInt(entry.indexPrice);
        const observation = observationOf(entry.observation);
        const source = { marketSymbol: 'SOL_USDC_PERP', indexPrice, observeBook: () => observation };
        expect(toJson(advancePerpClock(state, parameters, entry.logTimeMs, source))).toEqual(entry.events);
        expect(toJson(state)).toEqual(entry.stateAfter);
        const referenceObservation = {
          impactBid: observation.impactBidPrice ?? null,
          impactAsk: observation.impactAskPrice ?? null,
          mid: observation.midPrice ?? null,
          last: observation.lastTradePrice ?? null,
        };
        const referenceEvents = referenceAdvance(
          reference,
          parameters,
          entry.logTimeMs,
          indexPrice,
          referenceObservation,
        );
        const named = referenceEvents.map((event) =>
          event.type === 'perpFunding'
            ? {
                type: event.type,
                marketSymbol: 'SOL_USDC_PERP',
                intervalEndMs: event.intervalEndMs,
                fundingRate: event.fundingRate,
                averagePremium: event.averagePremium,
                cumulativeFundingIndex: event.cumulative,
                markPrice: event.mark,
                indexPrice: event.index,
              }
            : { ...event, marketSymbol: 'SOL_USDC_PERP' },
        );
        expect(toJson(named)).toEqual(entry.events);
        expect(toJson(reference)).toEqual(entry.stateAfter);

        const reader = new ByteReader(Buffer.from(entry.stateAfterHex, 'hex'));
        const decoded = decodePerpFundingState(reader);
        reader.expectEnd();
        expect(decoded).toEqual(state);
        const writer = new ByteWriter();
        encodePerpFundingState(writer, decoded);
        expect(Buffer.from(writer.finish()).toString('hex')).toBe(entry.stateAfterHex);
      }
    }
  });
});
