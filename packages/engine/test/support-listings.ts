/**
 * Shared test fixture: the SOL_USDC market the tests list, as signed-request
 * parameters (all text, as a client signs them) and as the parsed instruction.
 */
import type { Instruction } from '../src/instruction.js';

const solUsdcListingText = {
  symbol: 'SOL_USDC',
  baseSymbol: 'SOL',
  quoteSymbol: 'USDC',
  tickSize: '0.01',
  stepSize: '0.01',
  minQuantity: '0.01',
  maxQuantity: '100000',
  minPrice: '0.01',
  maxPrice: '1000000',
  makerFeeBps: '2',
  takerFeeBps: '5',
} as const;
/** SOL_USDC's marketList parameters as signed: 0.01 ticks and steps, fees of 2 and 5 basis points. */
export const solUsdcListingParams: Readonly<Record<string, string>> = solUsdcListingText;

/** SOL_USDC's terms as a perpetual with Backpack's SOL_USDC_PERP margin functions. */
export const solUsdcPerpListingParams: Readonly<Record<string, string>> = {
  ...solUsdcListingParams,
  symbol: 'SOL_USDC_PERP',
  marketType: 'PERP',
  imfBase: '0.02',
  imfFactor: '0.0001275',
  mmfBase: '0.0125',
  mmfFactor: '0.0000765',
};

/** The same listing as the parser returns it (fees as numbers), with `fields` on top. */
export function solUsdcListing(fields: Partial<Extract<Instruction, { kind: 'marketList' }>> = {}): Instruction {
  return {
    kind: 'marketList',
    ...solUsdcListingText,
    makerFeeBps: 2,
    takerFeeBps: 5,
    ...fields,
  };
}
