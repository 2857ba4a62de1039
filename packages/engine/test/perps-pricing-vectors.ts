/**
 * The golden vectors of docs/perps-pricing.md (docs/vectors/perps-pricing.json),
 * computed by the engine from the inputs listed here. The test recomputes the
 * file and checks every vector the other way (inputs to outputs, bytes to
 * state). `npx tsx packages/engine/test/perps-pricing-vectors.ts --write`
 * rewrites the file after a deliberate change.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ByteWriter } from '../src/byte-codec.js';
import { parseFraction } from '../src/margin-fixed-point.js';
import {
  advancePerpClock,
  defaultPerpFundingParameters,
  fundingRateFor,
  newPerpFundingState,
  type PerpFundingParameters,
  type PerpFundingState,
} from '../src/perps/funding.js';
import { encodePerpFundingState } from '../src/perps/funding-codec.js';
import type { ReferenceMarket } from './perps-pricing-reference.js';
import {
  type BookObservation,
  markPrice,
  type ObservedMarket,
  observeBook,
  samplePremium,
} from '../src/perps/mark-price.js';

export const vectorsPath = fileURLToPath(new URL('../../../docs/vectors/perps-pricing.json', import.meta.url));

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** bigint as a decimal string, undefined as null, recursively. */
export function toJson(value: unknown): Json {
  if (typeof value === 'bigint') return value.toString();
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const result: { [key: string]: Json } = {};
    for (const [key, field] of Object.entries(value)) result[key] = toJson(field);
    return result;
  }
  return value as Json;
}

const wad = 10n ** 18n;
const price = (text: string): bigint => parseFraction(text)!;

/** A book in the vectors' form: the reference's, levels best first as [ticks, steps]. */
export type VectorBook = ReferenceMarket;

export function observedMarketOf(book: VectorBook): ObservedMarket {
  const levels = (bestFirst: readonly (readonly [bigint, bigint])[]) =>
    bestFirst.map(([priceTicks, totalSteps]) => ({ priceTicks, totalSteps })).reverse();
  return { ...book, bids: { levels: levels(book.bids) }, asks: { levels: levels(book.asks) } };
}

// SOL_USDC_PERP of the worked numbers: tick 0.01, step 0.01 SOL, USDC 6 decimals.
const workedBook: VectorBook = {
  priceScale: 2,
  tickUnits: 1n,
  quoteUnitsPerStepTick: 100n,
  bids: [
    [9900n, 500n],
    [9800n, 1000n],
  ],
  asks: [
    [10000n, 500n],
    [10100n, 1000n],
  ],
  lastPriceTicks: 10000n,
};
const books: { book: VectorBook; impactNotionalUnits: bigint }[] = [
  { book: workedBook, impactNotionalUnits: 1_000_000_000n },
  { book: workedBook, impactNotionalUnits: 500_000_000n },
  { book: workedBook, impactNotionalUnits: 1_510_000_001n },
  { book: { ...workedBook, bids: [], lastPriceTicks: 0n }, impactNotionalUnits: 1n },
  {
    book: {
      priceScale: 4,
      tickUnits: 5n,
      quoteUnitsPerStepTick: 7n,
      bids: [[3n, 2n]],
      asks: [[4n, 9n]],
      lastPriceTicks: 3n,
    },
    impactNotionalUnits: 100n,
  },
];

const index = price('101');
const premiums: [bigint, bigint | undefined, bigint | undefined][] = [
  [price('100'), price('100.2'), price('101')],
  [price('100'), price('98'), price('99.75')],
  [price('100'), undefined, price('99')],
  [3n * wad, undefined, 2n * wad],
  [index, 98_492_462_311_557_788_944n, 100_497_512_437_810_945_274n],
];

const band = price('0.05');
const marks = [
  {
    indexPrice: price('100'),
    premiumEstimate: price('0.001'),
    midPrice: price('100.3'),
    lastTradePrice: price('99'),
  },
  { indexPrice: price('100'), premiumEstimate: price('0.001'), midPrice: undefined, lastTradePrice: price('104') },
  { indexPrice: price('100'), premiumEstimate: price('0.001'), midPrice: price('120'), lastTradePrice: price('130') },
  { indexPrice: price('100'), premiumEstimate: -price('0.5'), midPrice: undefined, lastTradePrice: undefined },
  { indexPrice: 0n, premiumEstimate: 0n, midPrice: price('100'), lastTradePrice: price('100') },
].map((inputs) => ({ ...inputs, markBand: band }));

const averagePremiums = [0n, price('0.0004'), price('0.001'), -price('0.001'), price('0.5'), -4_975_124_378_109_452n];

interface ClockEntry {
  readonly logTimeMs: number;
  readonly indexPrice: bigint;
  readonly observation: BookObservation;
}

const workedObservation = observeBook(observedMarketOf(workedBook), 1_000_000_000n);
const afterQuiet: ClockEntry = {
  logTimeMs: 108_000_001,
  indexPrice: price('100'),
  observation: {
    impactBidPrice: price('101'),
    impactAskPrice: price('101.5'),
    midPrice: price('101'),
    lastTradePrice: undefined,
  },
};
const clocks: { parameters: PerpFundingParameters; listedAtMs: number; entries: ClockEntry[] }[] = [
  {
    parameters: { ...defaultPerpFundingParameters, impactNotionalUnits: 1_000_000_000n },
    listedAtMs: 0,
    entries: [
      { logTimeMs: 1_800_000, indexPrice: index, observation: workedObservation },
      { logTimeMs: 3_600_000, indexPrice: index, observation: workedObservation },
      { logTimeMs: 3_600_001, indexPrice: price('102'), observation: workedObservation },
    ],
  },
  {
    // A quiet stretch of 30 hours: 24 boundaries at the first entry, 6 at the next.
    parameters: defaultPerpFundingParameters,
    listedAtMs: 1_234,
    entries: [
      {
        logTimeMs: 2_000,
        indexPrice: 0n,
        observation: {
          impactBidPrice: undefined,
          impactAskPrice: undefined,
          midPrice: undefined,
          lastTradePrice: undefined,
        },
      },
      afterQuiet,
      afterQuiet,
    ],
  },
];

function encodedHex(state: PerpFundingState): string {
  const writer = new ByteWriter();
  encodePerpFundingState(writer, state);
  return Buffer.from(writer.finish()).toString('hex');
}

export function perpsPricingVectors(): Json {
  const clockVectors = clocks.map(({ parameters, listedAtMs, entries }) => {
    const state = newPerpFundingState(listedAtMs, parameters);
    const initialState = { ...state };
    const results = entries.map((entry) => {
      const source = {
        marketSymbol: 'SOL_USDC_PERP',
        indexPrice: entry.indexPrice,
        observeBook: () => entry.observation,
      };
      const events = advancePerpClock(state, parameters, entry.logTimeMs, source);
      return { ...entry, events, stateAfter: { ...state }, stateAfterHex: encodedHex(state) };
    });
    return { parameters, listedAtMs, initialState, entries: results };
  });
  return toJson({
    description: 'Golden vectors of docs/perps-pricing.md. Integers are decimal strings (wad or units); null is none.',
    books: books.map(({ book, impactNotionalUnits }) => ({
      book,
      impactNotionalUnits,
      observation: observeBook(observedMarketOf(book), impactNotionalUnits),
    })),
    premiums: premiums.map(([indexPrice, impactBidPrice, impactAskPrice]) => ({
      indexPrice,
      impactBidPrice,
      impactAskPrice,
      premium: samplePremium(indexPrice, { impactBidPrice, impactAskPrice }),
    })),
    marks: marks.map((inputs) => ({ inputs, markPrice: markPrice(inputs) })),
    fundingRates: averagePremiums.map((averagePremium) => ({
      parameters: defaultPerpFundingParameters,
      averagePremium,
      fundingRate: fundingRateFor(averagePremium, defaultPerpFundingParameters),
    })),
    clocks: clockVectors,
  });
}

export function perpsPricingVectorsText(): string {
  return `${JSON.stringify(perpsPricingVectors(), null, 2)}\n`;
}

if (process.argv.includes('--write') && process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(vectorsPath, perpsPricingVectorsText());
  console.log(`wrote ${vectorsPath}`);
}
