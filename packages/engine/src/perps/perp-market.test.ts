import { describe, expect, it } from 'vitest';
import { execute } from '../apply.js';
import { parseInstruction } from '../instruction.js';
import { marketListParameters } from '../instruction-catalogue.js';
import { decodeState, encodeState } from '../state-codec.js';
import { createState } from '../state.js';
import { wad } from '../margin-fixed-point.js';
import { defaultPerpFundingParameters, perpFundingParametersProblem } from './funding.js';
import { solUsdcPerpListingParams } from '../../test/support-listings.js';

const operator = Buffer.alloc(32, 1).toString('base64');

function run(state: ReturnType<typeof createState>, instruction: string, params: Record<string, string>): void {
  const sorted = new Map(Object.entries(params).sort(([left], [right]) => (left < right ? -1 : 1)));
  const parsed = parseInstruction([{ instruction, params: sorted }]);
  if (!parsed.ok) throw new Error(parsed.message);
  const outcome = execute(state, operator, parsed.instruction, 1);
  if (!outcome.accepted) throw new Error(outcome.rejection.message);
}

const perpListing = solUsdcPerpListingParams;

function listedState(extra: Record<string, string> = {}): ReturnType<typeof createState> {
  const state = createState({ exchangeName: 'perps', operatorKeys: [operator], feeAccount: operator });
  run(state, 'assetList', { symbol: 'USDC', decimals: '6' });
  run(state, 'assetList', { symbol: 'SOL', decimals: '9' });
  run(state, 'marketList', { ...perpListing, ...extra });
  return state;
}

describe('perpetual listing', () => {
  it('takes the defaults: hourly funding within ±100 bps, no open interest limit, band 0.9 to 1.1', () => {
    const perp = listedState().marketsBySymbol.get('SOL_USDC_PERP')!.perp!;
    expect(perp.parameters).toEqual({
      imf: { base: (wad * 2n) / 100n, factor: (wad * 1275n) / 10_000_000n },
      mmf: { base: (wad * 125n) / 10_000n, factor: (wad * 765n) / 10_000_000n },
      fundingIntervalMs: 3_600_000,
      fundingRateUpperBoundBps: 100,
      fundingRateLowerBoundBps: -100,
      openInterestLimitUnits: 0n,
      markBandMaxMultiplier: (wad * 11n) / 10n,
      markBandMinMultiplier: (wad * 9n) / 10n,
    });
    expect(perp.funding.markPrice).toBe(0n);
    expect(perp.funding.cumulativeFundingIndex).toBe(0n);
    // The clock's parameters: the listing's interval and bounds, the narrower side of the band, 6,000 USDC.
    expect(perp.fundingParameters).toEqual({
      ...defaultPerpFundingParameters,
      markBand: wad / 10n,
    });
    expect(perpFundingParametersProblem(perp.fundingParameters)).toBeUndefined();
  });

  it('round-trips through the state encoding, every field given', () => {
    const state = listedState({
      fundingIntervalMs: '28800000',
      fundingRateUpperBoundBps: '50',
      fundingRateLowerBoundBps: '-25',
      openInterestLimit: '4000000',
      markBandMaxMultiplier: '1.15',
      markBandMinMultiplier: '0.85',
    });
    const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
    market.perp!.funding.markPrice = 123n * wad;
    market.perp!.funding.cumulativeFundingIndex = -7n;
    market.perp!.funding.premiumEstimate = -3n;
    const encoded = encodeState(state);
    const decoded = decodeState(encoded);
    expect(Buffer.from(encodeState(decoded)).equals(Buffer.from(encoded))).toBe(true);
    const again = decoded.marketsBySymbol.get('SOL_USDC_PERP')!.perp!;
    expect(again.parameters).toEqual(market.perp!.parameters);
    expect(again.parameters.openInterestLimitUnits).toBe(4_000_000n * 10n ** 9n);
    expect(again.funding).toEqual(market.perp!.funding);
    expect(again.funding.cumulativeFundingIndex).toBe(-7n);
    // An eight-hour interval: the hourly interest, premium fraction and clamp scaled by 8; band 0.15.
    expect(again.fundingParameters).toEqual({
      ...defaultPerpFundingParameters,
      fundingIntervalMs: 28_800_000,
      interestRate: defaultPerpFundingParameters.interestRate * 8n,
      premiumFraction: wad,
      interestClamp: defaultPerpFundingParameters.interestClamp * 8n,
      fundingRateUpperBoundBasisPoints: 50n,
      fundingRateLowerBoundBasisPoints: -25n,
      markBand: (wad * 15n) / 100n,
    });
  });

  it('the catalogue lists every marketList field the parser reads', () => {
    const names = marketListParameters.map((parameter) => parameter.name);
    expect(new Set(names).size).toBe(names.length);
    // Every listed name is accepted by the parser (an unknown one is refused).
    const all: Record<string, string> = { ...perpListing };
    for (const name of names) all[name] ??= name.endsWith('Bps') ? '-1' : name === 'fundingIntervalMs' ? '60000' : '1';
    all.fundingRateUpperBoundBps = '1';
    const sorted = new Map(Object.entries(all).sort(([left], [right]) => (left < right ? -1 : 1)));
    expect(parseInstruction([{ instruction: 'marketList', params: sorted }]).ok).toBe(true);
    sorted.set('unknownField', '1');
    expect(parseInstruction([{ instruction: 'marketList', params: sorted }]).ok).toBe(false);
  });
});
