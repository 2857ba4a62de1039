/**
 * Borrowable assets in the exchange configuration (docs/operator.md,
 * "Margin"): the `borrowLendMarkets` list of the config file, the demo's
 * parameters, and the signing-string groups of their borrowLendMarketList
 * listings. Every field is the engine's listing field (docs/margin.md,
 * "Listing a borrowable asset"); the engine judges the values.
 */
import { borrowLendListingDecimals } from '@vex/engine';
import type { BorrowLendMarketSettings, ExchangeConfig } from './config.js';
import { ConfigError, demoConfig } from './config.js';

/** USDC, SOL and BTC borrowable: a 1 % liquidation fee, a 10 % band, a one-minute coverage withdrawal delay. */
export function demoBorrowLendMarkets(): BorrowLendMarketSettings[] {
  const common = {
    haircutPenalty: '0',
    liquidationFee: '0.01',
    liquidationBand: '0.1',
    coveragePoolWithdrawalDelayMs: 60_000,
  };
  return [
    {
      ...common,
      symbol: 'USDC',
      collateralWeight: '1',
      imfBase: '0.2',
      imfFactor: '0',
      mmfBase: '0.1',
      mmfFactor: '0',
      minimumBorrowRate: '0',
      optimalUtilization: '0.8',
      optimalBorrowRate: '0.1',
      maximumBorrowRate: '1',
      maxUtilization: '0.9',
      lendFee: '0.1',
      maxPriceMove: '0',
      stressShock: '0',
    },
    {
      ...common,
      symbol: 'SOL',
      collateralWeight: '0.8',
      imfBase: '0.3',
      imfFactor: '0.0001275',
      mmfBase: '0.15',
      mmfFactor: '0.0000765',
      minimumBorrowRate: '0.02',
      optimalUtilization: '0.5',
      optimalBorrowRate: '0.2',
      maximumBorrowRate: '2',
      maxUtilization: '0.95',
      lendFee: '0.2',
      maxPriceMove: '0.5',
      stressShock: '0.3',
    },
    {
      ...common,
      symbol: 'BTC',
      collateralWeight: '0.85',
      imfBase: '0.25',
      imfFactor: '0.0000935',
      mmfBase: '0.125',
      mmfFactor: '0.0000561',
      minimumBorrowRate: '0.02',
      optimalUtilization: '0.6',
      optimalBorrowRate: '0.15',
      maximumBorrowRate: '1.5',
      maxUtilization: '0.95',
      lendFee: '0.2',
      maxPriceMove: '0.5',
      stressShock: '0.3',
    },
  ];
}

/** The demo with margin: `pnpm start` without a config file. */
export function demoMarginSettings(): ExchangeConfig {
  return { ...demoConfig(), borrowLendMarkets: demoBorrowLendMarkets() };
}

export function borrowLendListingGroups(
  markets: readonly BorrowLendMarketSettings[],
): Array<{ symbol: string; kind: 'borrowLend'; instruction: string; params: Array<[string, string]> }> {
  return markets.map((market) => ({
    symbol: market.symbol,
    kind: 'borrowLend' as const,
    instruction: 'borrowLendMarketList',
    params: [
      ['symbol', market.symbol],
      ...borrowLendListingDecimals.map((key): [string, string] => [key, market[key]]),
      ['coveragePoolWithdrawalDelayMs', String(market.coveragePoolWithdrawalDelayMs)],
    ],
  }));
}

/** The config file's `borrowLendMarkets`: objects with exactly the listing's fields, decimals as strings. */
export function parseBorrowLendMarkets(value: unknown, where: string): BorrowLendMarketSettings[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be an array.`);
  return value.map((entry, position) => {
    const at = `${where}[${position}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new ConfigError(`${at} must be a JSON object.`);
    const object = entry as Record<string, unknown>;
    const known = new Set<string>(['symbol', 'coveragePoolWithdrawalDelayMs', ...borrowLendListingDecimals]);
    for (const key of Object.keys(object))
      if (!known.has(key)) throw new ConfigError(`${at} has an unknown field ${key}.`);
    const text = (key: string): string => {
      const field = object[key];
      if (typeof field !== 'string' || field.length === 0 || field.length > 64)
        throw new ConfigError(`${at}.${key} must be a decimal string.`);
      return field;
    };
    const delay = object.coveragePoolWithdrawalDelayMs;
    if (typeof delay !== 'number' || !Number.isSafeInteger(delay) || delay < 0) {
      throw new ConfigError(`${at}.coveragePoolWithdrawalDelayMs must be a whole number of milliseconds.`);
    }
    const decimals = Object.fromEntries(borrowLendListingDecimals.map((key) => [key, text(key)])) as Record<
      (typeof borrowLendListingDecimals)[number],
      string
    >;
    return { symbol: text('symbol'), ...decimals, coveragePoolWithdrawalDelayMs: delay };
  });
}
