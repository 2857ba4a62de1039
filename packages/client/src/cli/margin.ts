/**
 * The CLI's margin commands (docs/client.md, "Margin"): borrow, lend, repay
 * and redeem, the margin summary, coverage pool deposits and withdrawals,
 * `liquidate` for any keeper, and the operator's `price`, built on the
 * shared option checks of command.ts.
 */
import type { ExchangeClient } from '../client.js';
import {
  type Command,
  type Context,
  decimal,
  keyOption,
  operatorClient,
  operatorKeyOption,
  required,
  symbol,
  traderClient,
} from './command.js';

type Values = Record<string, string | boolean | undefined>;

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  readonly value?: string;
}

interface MarginContext {
  readonly values: Values;
}

export interface MarginCommand<Context extends MarginContext> {
  readonly group: 'Operator' | 'Trader';
  readonly summary: string;
  readonly synopsis: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples: readonly string[];
  readonly notes?: string;
  run(context: Context): Promise<unknown>;
}

/** What the commands borrow from cli.ts. */
export interface MarginCommandHelpers<Context extends MarginContext> {
  readonly required: (values: Values, name: string) => string;
  readonly symbol: (values: Values, name?: string) => string;
  readonly decimal: (name: string, value: string) => string;
  readonly traderClient: (context: Context) => Promise<ExchangeClient>;
  readonly operatorClient: (context: Context) => Promise<ExchangeClient>;
  readonly publicClient: (context: Context) => ExchangeClient;
  readonly keyOption: OptionSpec;
  readonly operatorKeyOption: OptionSpec;
}

const assetOption: OptionSpec = { type: 'string', value: '<asset>', description: 'Asset, e.g. USDC, SOL or BTC.' };
const quantityOption: OptionSpec = { type: 'string', value: '<q>', description: 'Quantity, a decimal.' };

export function marginCommands<Context extends MarginContext>(
  helpers: MarginCommandHelpers<Context>,
): Record<string, MarginCommand<Context>> {
  const { required, symbol, decimal, traderClient, keyOption } = helpers;
  const quantity = (context: Context): string => decimal('quantity', required(context.values, 'quantity'));
  const borrowLend = (side: 'Borrow' | 'Lend', summary: string, example: string): MarginCommand<Context> => ({
    group: 'Trader',
    summary,
    synopsis: `${example.split(' ')[1]} --symbol <asset> --quantity <q> --key <file>`,
    options: { symbol: assetOption, quantity: quantityOption, key: keyOption },
    examples: [example],
    run: async (context) =>
      (await traderClient(context)).borrowLend({ symbol: symbol(context.values), side, quantity: quantity(context) }),
  });
  return {
    borrow: borrowLend(
      'Borrow',
      'Borrow from the lending pool (redeems an open lend of the asset first).',
      'exchange borrow --symbol USDC --quantity 500 --key bob.json',
    ),
    lend: borrowLend(
      'Lend',
      'Lend to the lending pool (repays an open borrow of the asset first).',
      'exchange lend --symbol USDC --quantity 1000 --key alice.json',
    ),
    repay: borrowLend(
      'Lend',
      'Repay a borrow: a Lend against an open borrow repays it; beyond it, the rest is lent.',
      'exchange repay --symbol USDC --quantity 500 --key bob.json',
    ),
    redeem: borrowLend(
      'Borrow',
      'Redeem a lend: a Borrow against an open lend redeems it; beyond it, the rest is borrowed.',
      'exchange redeem --symbol USDC --quantity 100 --key alice.json',
    ),
    ...marginViewCommands(helpers),
    ...coverageAndOperatorCommands(helpers),
  };
}

/** The coverage pool, liquidation and price commands. */
function coverageAndOperatorCommands<Context extends MarginContext>(
  helpers: MarginCommandHelpers<Context>,
): Record<string, MarginCommand<Context>> {
  const { required, symbol, decimal, traderClient, keyOption } = helpers;
  const quantity = (context: Context): string => decimal('quantity', required(context.values, 'quantity'));
  const pool =
    (instruction: string, params: (context: Context) => Record<string, string>) => async (context: Context) =>
      (await traderClient(context)).submitInstruction(instruction, params(context));
  return {
    'pool-deposit': {
      group: 'Trader',
      summary: 'Underwrite: deposit into an asset’s coverage pool for shares (coveragePoolDeposit).',
      synopsis: 'pool-deposit --symbol <asset> --quantity <q> --key <file>',
      options: { symbol: assetOption, quantity: quantityOption, key: keyOption },
      examples: ['exchange pool-deposit --symbol USDC --quantity 1000 --key carol.json'],
      run: pool('coveragePoolDeposit', (context) => ({ quantity: quantity(context), symbol: symbol(context.values) })),
    },
    'pool-withdraw-request': {
      group: 'Trader',
      summary: 'Ask to withdraw coverage pool shares; complete it after the pool’s withdrawal delay.',
      synopsis: 'pool-withdraw-request --symbol <asset> --shares <n> --key <file>',
      options: {
        symbol: assetOption,
        shares: { type: 'string', value: '<n>', description: 'Shares, a whole number.' },
        key: keyOption,
      },
      examples: ['exchange pool-withdraw-request --symbol USDC --shares 1000000000 --key carol.json'],
      run: pool('coveragePoolWithdrawRequest', (context) => ({
        shares: required(context.values, 'shares'),
        symbol: symbol(context.values),
      })),
    },
    'pool-withdraw': {
      group: 'Trader',
      summary: 'Complete a coverage pool withdrawal once its delay has passed (coveragePoolWithdraw).',
      synopsis: 'pool-withdraw --symbol <asset> --key <file>',
      options: { symbol: assetOption, key: keyOption },
      examples: ['exchange pool-withdraw --symbol USDC --key carol.json'],
      run: pool('coveragePoolWithdraw', (context) => ({ symbol: symbol(context.values) })),
    },
    liquidate: {
      group: 'Trader',
      summary: 'Liquidate an account below its maintenance margin (any key may sign; the engine re-checks it).',
      synopsis: 'liquidate --account <public key> --key <file>',
      options: {
        account: { type: 'string', value: '<public key>', description: 'The account to liquidate.' },
        key: keyOption,
      },
      examples: ['exchange liquidate --account 6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw= --key keeper.json'],
      run: pool('liquidate', (context) => ({ account: required(context.values, 'account') })),
    },
    price: priceCommand(helpers),
  };
}

/** The commands that show margin state: the signer's summary, the lending markets, prices and coverage pools. */
function marginViewCommands<Context extends MarginContext>(
  helpers: MarginCommandHelpers<Context>,
): Record<string, MarginCommand<Context>> {
  const { traderClient, publicClient, keyOption } = helpers;
  return {
    margin: {
      group: 'Trader',
      summary: 'Show the margin summary (net equity, requirements, collateral) and the borrow/lend positions.',
      synopsis: 'margin --key <file>',
      options: { key: keyOption },
      examples: ['exchange margin --key bob.json'],
      run: async (context) => {
        const client = await traderClient(context);
        return { summary: await client.marginSummary(), positions: await client.lendingPositions() };
      },
    },
    'lending-markets': {
      group: 'Trader',
      summary: 'Show the lending markets: rates, utilisation, lent and borrowed totals.',
      synopsis: 'lending-markets',
      options: {},
      examples: ['exchange lending-markets'],
      run: (context) => publicClient(context).lendingMarkets(),
    },
    prices: {
      group: 'Trader',
      summary: 'Show the index prices in the log.',
      synopsis: 'prices',
      options: {},
      examples: ['exchange prices'],
      run: (context) => publicClient(context).prices(),
    },
    pool: {
      group: 'Trader',
      summary: 'Show the coverage pools and, with --key, the signer’s shares.',
      synopsis: 'pool [--key <file>]',
      options: { key: keyOption },
      examples: ['exchange pool', 'exchange pool --key carol.json'],
      run: async (context) => {
        const pools = await publicClient(context).coveragePools();
        if (context.values.key === undefined) return { pools };
        return { pools, shares: await (await traderClient(context)).coverageShares() };
      },
    },
  };
}

/** The operator's price command (indexPriceUpdate). */
function priceCommand<Context extends MarginContext>(helpers: MarginCommandHelpers<Context>): MarginCommand<Context> {
  const { required, symbol, decimal, operatorClient, operatorKeyOption } = helpers;
  return {
    group: 'Operator',
    summary: 'Post an index price (operator instruction indexPriceUpdate), published now.',
    synopsis: 'price --symbol <asset> --price <decimal> [--operator-key <file>]',
    options: {
      symbol: assetOption,
      price: { type: 'string', value: '<decimal>', description: 'USDC per whole unit.' },
      'operator-key': operatorKeyOption,
    },
    notes:
      'A price that moves more than the asset’s maxPriceMove from the last one, or is not newer,' +
      ' is refused (PRICE_REJECTED).',
    examples: ['exchange price --symbol SOL --price 95.5'],
    run: async (context) => {
      const client = await operatorClient(context);
      const price = decimal('price', required(context.values, 'price'));
      return client.submitInstruction('indexPriceUpdate', {
        price,
        publishedAtMs: String(Date.now()),
        symbol: symbol(context.values),
      });
    },
  };
}

/** The margin group, with the shared option checks and clients of command.ts. */
export const marginGroupCommands: Readonly<Record<string, Command>> = marginCommands<Context>({
  required,
  symbol,
  decimal,
  traderClient,
  operatorClient,
  publicClient: (context) => context.client(),
  keyOption,
  operatorKeyOption,
});
