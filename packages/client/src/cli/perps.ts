/**
 * The CLI's perpetuals commands (docs/client.md, "Perpetuals"): the signer's
 * positions, funding rates and payments, mark prices and open interest.
 */
import { integer, keyOption, optional, symbol, symbolOption, traderClient, type Command } from './command.js';

const marketOption = symbolOption('Perpetual market, e.g. SOL_USDC_PERP.');
const optionalMarket = (values: Record<string, string | boolean | undefined>): string | undefined =>
  values.symbol === undefined ? undefined : symbol(values);

export const perpCommands: Readonly<Record<string, Command>> = {
  positions: {
    group: 'Trader',
    summary: 'Show the signer’s open perpetual positions: size, cost, entry, PnL, funding, liquidation estimate.',
    synopsis: 'positions [--symbol <market>] --key <file>',
    options: { symbol: marketOption, key: keyOption },
    examples: ['exchange positions --key alice.json', 'exchange positions --symbol SOL_USDC_PERP --key alice.json'],
    run: async (context) => (await traderClient(context)).positions(optionalMarket(context.values)),
  },
  funding: {
    group: 'Trader',
    summary: 'Show a perpetual’s settled funding rates and, with --key, the signer’s funding payments.',
    synopsis: 'funding --symbol <market> [--limit <n>] [--key <file>]',
    options: {
      symbol: marketOption,
      limit: { type: 'string', value: '<n>', description: 'How many intervals, 1 to 10000 (default 100).' },
      key: keyOption,
    },
    examples: [
      'exchange funding --symbol SOL_USDC_PERP --limit 24',
      'exchange funding --symbol SOL_USDC_PERP --key alice.json',
    ],
    run: async (context) => {
      const market = symbol(context.values);
      const limit = optional(context.values, 'limit');
      const rates = await context
        .client()
        .fundingRates(market, limit === undefined ? undefined : integer('limit', limit, 10_000, 1));
      if (context.values.key === undefined) return { rates };
      return { rates, payments: await (await traderClient(context)).fundingPayments(market) };
    },
  },
  'mark-prices': {
    group: 'Market data',
    summary: 'Show the perpetuals’ mark and index prices, estimated funding rates and open interest.',
    synopsis: 'mark-prices [--symbol <market>]',
    options: { symbol: marketOption },
    examples: ['exchange mark-prices', 'exchange mark-prices --symbol SOL_USDC_PERP'],
    run: async ({ client, values }) => {
      const [markPrices, openInterest] = await Promise.all([
        client().markPrices(optionalMarket(values)),
        client().openInterest(optionalMarket(values)),
      ]);
      return { markPrices, openInterest };
    },
  },
};
