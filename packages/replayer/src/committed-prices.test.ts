import { wad, type ExchangeState } from '@vex/engine';
import { expect, it } from 'vitest';
import { committedPrices } from './committed-prices.js';

it('prices one smallest unit of each asset in 10^-36 settlement units, the settlement asset at 1', () => {
  const asset = (symbol: string, decimals: number, indexPrice?: bigint) => ({
    symbol,
    decimals,
    margin: indexPrice === undefined ? undefined : { indexPrice },
  });
  const state = {
    assets: [
      asset('SOL', 9, 150n * wad),
      asset('USDC', 6),
      asset('BTC', 8, 0n),
      asset('ETH', 18),
      asset('JUP', 0, wad / 2n),
    ],
  } as unknown as ExchangeState;
  // SOL: 150 USDC per 10^9 units; USDC: 1 per 10^6 units, listed for margin or not; no index price: 0.
  expect(committedPrices(state)).toEqual([150n * 10n ** 27n, 10n ** 30n, 0n, 0n, 5n * 10n ** 35n]);
});
