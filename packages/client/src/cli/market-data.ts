/** Market data commands: unsigned reads of markets, assets, status, depth and trades. */
import { integer, optional, symbol, symbolOption, type Command } from './command.js';

export const marketDataCommands: Readonly<Record<string, Command>> = {
  markets: {
    group: 'Market data',
    summary: 'List the markets.',
    synopsis: 'markets',
    options: {},
    examples: ['exchange markets'],
    run: (context) => context.client().markets(),
  },
  assets: {
    group: 'Market data',
    summary: 'List the assets.',
    synopsis: 'assets',
    options: {},
    examples: ['exchange assets'],
    run: (context) => context.client().assets(),
  },
  status: {
    group: 'Market data',
    summary: "Show the node's status (GET /api/v1/status).",
    synopsis: 'status',
    options: {},
    examples: ['exchange status --url http://127.0.0.1:8080'],
    run: (context) => context.client().status(),
  },
  depth: {
    group: 'Market data',
    summary: 'Show the order book of a market.',
    synopsis: 'depth --symbol <market>',
    options: { symbol: symbolOption('Market, e.g. SOL_USDC.') },
    examples: ['exchange depth --symbol SOL_USDC'],
    run: (context) => context.client().depth(symbol(context.values)),
  },
  trades: {
    group: 'Market data',
    summary: 'Show recent trades of a market.',
    synopsis: 'trades --symbol <market> [--limit <n>]',
    options: {
      symbol: symbolOption('Market, e.g. SOL_USDC.'),
      limit: { type: 'string', value: '<n>', description: 'How many, 1 to 1000.' },
    },
    examples: ['exchange trades --symbol SOL_USDC --limit 20'],
    run: (context) => {
      const limit = optional(context.values, 'limit');
      return context
        .client()
        .trades(symbol(context.values), limit === undefined ? undefined : integer('limit', limit, 1000, 1));
    },
  },
};
