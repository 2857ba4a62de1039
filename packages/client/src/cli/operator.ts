/** Operator commands: deposits, withdrawals, listings and reserve statements, signed with the operator key. */
import { randomBytes } from 'node:crypto';
import { isPublicKeyText } from '../keys.js';
import { signedRoutes } from '../routes.js';
import { signedGet } from './http.js';
import {
  UsageError,
  choice,
  decimal,
  defaultOperatorKeyFile,
  integer,
  operatorClient,
  operatorKeyOption,
  optional,
  pageFilter,
  readKeyFile,
  required,
  symbol,
  symbolOption,
  text,
  traderClient,
  type Command,
} from './command.js';

export const operatorCommands: Readonly<Record<string, Command>> = {
  deposit: {
    group: 'Operator',
    summary: 'Credit a deposit to an account (operator instruction depositCredit).',
    synopsis:
      'deposit --to <public key> --symbol <asset> --quantity <q> [--chain-tx <id>] [--blockchain <name>] ' +
      '[--operator-key <file>]',
    options: {
      to: { type: 'string', value: '<public key>', description: 'Base64 public key (account id) to credit.' },
      symbol: symbolOption('Asset, e.g. USDC.'),
      quantity: { type: 'string', value: '<q>', description: 'Amount, a decimal.' },
      'chain-tx': {
        type: 'string',
        value: '<id>',
        description: 'Chain transaction id of the deposit (default: a random id).',
      },
      blockchain: { type: 'string', value: '<name>', description: 'Blockchain (default Solana).' },
      'operator-key': operatorKeyOption,
    },
    notes: 'Each chain transaction id is credited at most once (DUPLICATE_DEPOSIT otherwise).',
    examples: ['exchange deposit --to 6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw= --symbol USDC --quantity 1000'],
    run: async (context) => {
      const { values } = context;
      const to = required(values, 'to');
      if (!isPublicKeyText(to))
        throw new UsageError(
          `--to must be the base64 public key of an account (44 characters ending in "="), not "${to}".`,
        );
      const deposit = {
        account: to,
        symbol: symbol(values),
        quantity: decimal('quantity', required(values, 'quantity')),
        blockchain: text(values, 'blockchain', 'Solana'),
        chainTransactionId: text(values, 'chain-tx', `cli-${randomBytes(16).toString('hex')}`),
      };
      return (await operatorClient(context)).creditDeposit(deposit);
    },
  },
  'complete-withdrawal': {
    group: 'Operator',
    summary: 'Mark a pending withdrawal as sent on chain (withdrawalComplete).',
    synopsis: 'complete-withdrawal --id <withdrawal id> --chain-tx <id> [--operator-key <file>]',
    options: {
      id: { type: 'string', value: '<n>', description: 'Withdrawal id.' },
      'chain-tx': { type: 'string', value: '<id>', description: 'Chain transaction id that paid it out.' },
      'operator-key': operatorKeyOption,
    },
    examples: ['exchange complete-withdrawal --id 3 --chain-tx 5hG2…'],
    run: async (context) => {
      const withdrawalId = integer('id', required(context.values, 'id'));
      const chainTransactionId = text(context.values, 'chain-tx');
      return (await operatorClient(context)).completeWithdrawal({ withdrawalId, chainTransactionId });
    },
  },
  'fail-withdrawal': {
    group: 'Operator',
    summary: 'Fail a pending withdrawal; its funds return to the account (withdrawalFail).',
    synopsis: 'fail-withdrawal --id <withdrawal id> --reason <text> [--operator-key <file>]',
    options: {
      id: { type: 'string', value: '<n>', description: 'Withdrawal id.' },
      reason: { type: 'string', value: '<text>', description: 'Why, printable ASCII without %, & or =.' },
      'operator-key': operatorKeyOption,
    },
    examples: ['exchange fail-withdrawal --id 3 --reason "address rejected by chain"'],
    run: async (context) => {
      const withdrawalId = integer('id', required(context.values, 'id'));
      const reason = text(context.values, 'reason');
      return (await operatorClient(context)).failWithdrawal({ withdrawalId, reason });
    },
  },
  'list-asset': {
    group: 'Operator',
    summary: 'List a new asset (assetList).',
    synopsis: 'list-asset --symbol <asset> --decimals <n> [--operator-key <file>]',
    options: {
      symbol: symbolOption('Asset symbol, e.g. USDC.'),
      decimals: { type: 'string', value: '<n>', description: 'Decimal places of its base unit, 0 to 18.' },
      'operator-key': operatorKeyOption,
    },
    examples: ['exchange list-asset --symbol USDC --decimals 6'],
    run: async (context) => {
      const listing = {
        symbol: symbol(context.values),
        decimals: integer('decimals', required(context.values, 'decimals'), 18),
      };
      return (await operatorClient(context)).listAsset(listing);
    },
  },
  'list-market': {
    group: 'Operator',
    summary: 'List a new spot market (marketList).',
    synopsis:
      'list-market --base <asset> --quote <asset> --tick-size <d> --step-size <d> --min-quantity <d> --max-quantity ' +
      '<d> --min-price <d> --max-price <d> --maker-fee-bps <n> --taker-fee-bps <n> [--max-open-orders <n>] ' +
      '[--max-makers-per-order <n>] [--min-order-value <d>] [--symbol <market>] [--operator-key <file>]',
    options: {
      symbol: symbolOption('Market symbol (default BASE_QUOTE).'),
      base: symbolOption('Base asset.'),
      quote: symbolOption('Quote asset.'),
      'tick-size': { type: 'string', value: '<d>', description: 'Price increment.' },
      'step-size': { type: 'string', value: '<d>', description: 'Quantity increment.' },
      'min-quantity': { type: 'string', value: '<d>', description: 'Smallest order quantity.' },
      'max-quantity': { type: 'string', value: '<d>', description: 'Largest order quantity.' },
      'min-price': { type: 'string', value: '<d>', description: 'Lowest price.' },
      'max-price': { type: 'string', value: '<d>', description: 'Highest price.' },
      'maker-fee-bps': { type: 'string', value: '<n>', description: 'Maker fee in basis points.' },
      'taker-fee-bps': { type: 'string', value: '<n>', description: 'Taker fee in basis points.' },
      'max-open-orders': {
        type: 'string',
        value: '<n>',
        description: 'Open orders per account (1 to 1000; default 500).',
      },
      'max-makers-per-order': {
        type: 'string',
        value: '<n>',
        description: 'Makers one order may meet (1 to 100; default 100).',
      },
      'min-order-value': {
        type: 'string',
        value: '<d>',
        description: 'Smallest order value in the quote asset (default 0).',
      },
      'operator-key': operatorKeyOption,
    },
    examples: [
      'exchange list-market --base SOL --quote USDC --tick-size 0.01 --step-size 0.01 --min-quantity 0.01 ' +
        '--max-quantity 100000 --min-price 0.01 --max-price 1000000 --maker-fee-bps 2 --taker-fee-bps 5',
    ],
    run: async (context) => {
      const { values } = context;
      const d = (name: string): string => decimal(name, required(values, name));
      const baseSymbol = symbol(values, 'base');
      const quoteSymbol = symbol(values, 'quote');
      const listing = {
        symbol: values.symbol === undefined ? `${baseSymbol}_${quoteSymbol}` : symbol(values),
        baseSymbol,
        quoteSymbol,
        tickSize: d('tick-size'),
        stepSize: d('step-size'),
        minQuantity: d('min-quantity'),
        maxQuantity: d('max-quantity'),
        minPrice: d('min-price'),
        maxPrice: d('max-price'),
        makerFeeBps: integer('maker-fee-bps', required(values, 'maker-fee-bps'), 10_000),
        takerFeeBps: integer('taker-fee-bps', required(values, 'taker-fee-bps'), 10_000),
        ...(values['max-open-orders'] !== undefined
          ? { maxOpenOrders: integer('max-open-orders', required(values, 'max-open-orders'), 1_000) }
          : {}),
        ...(values['max-makers-per-order'] !== undefined
          ? { maxMakersPerOrder: integer('max-makers-per-order', required(values, 'max-makers-per-order'), 100) }
          : {}),
        ...(values['min-order-value'] !== undefined
          ? { minOrderValue: decimal('min-order-value', required(values, 'min-order-value')) }
          : {}),
      };
      return (await operatorClient(context)).listMarket(listing);
    },
  },
  withdrawals: {
    group: 'Operator',
    summary: "Pending withdrawals of every account (operator), or with --key one account's withdrawals.",
    synopsis: 'withdrawals [--status Pending] [--operator-key <file> | --key <file>] [--limit <n>] [--offset <n>]',
    options: {
      status: {
        type: 'string',
        value: 'Pending',
        description: 'Operator view: which withdrawals (the API lists Pending ones).',
      },
      'operator-key': operatorKeyOption,
      key: {
        type: 'string',
        value: '<file>',
        description: "Trader key file: list this account's own withdrawals instead.",
      },
      limit: { type: 'string', value: '<n>', description: 'How many, 1 to 1000.' },
      offset: { type: 'string', value: '<n>', description: 'How many to skip.' },
    },
    notes:
      'Without --key: GET /api/v1/operator/withdrawals (operatorWithdrawalQueryAll), signed with the operator key ' +
      '(oldest first, each with its account).\n' +
      'With --key: GET /wapi/v1/capital/withdrawals (withdrawalQueryAll) for that account.',
    examples: ['exchange withdrawals --status Pending', 'exchange withdrawals --key alice.json'],
    run: async (context) => {
      const { values } = context;
      const page = pageFilter(values);
      if (values.key !== undefined) {
        if (values.status !== undefined || values['operator-key'] !== undefined) {
          throw new UsageError('--key lists one account; it does not combine with --status or --operator-key.');
        }
        return (await traderClient(context)).withdrawals(page);
      }
      const status = optional(values, 'status');
      const query = {
        ...page,
        ...(status !== undefined ? { status: choice('status', status, ['Pending'] as const) } : {}),
      };
      const file = optional(values, 'operator-key') ?? defaultOperatorKeyFile();
      const operator = await readKeyFile(file, 'operator', '--operator-key');
      const route = signedRoutes.operatorWithdrawals;
      return signedGet(context, operator.secret, route.path, route.instruction, query);
    },
  },
  reserves: {
    group: 'Operator',
    summary:
      'State the reserves held in an asset (reservesStatement), or, without options, show reserves against ' +
      'liabilities.',
    synopsis: 'reserves [--symbol <asset> --quantity <q> [--operator-key <file>]]',
    options: {
      symbol: symbolOption('Asset, e.g. USDC.'),
      quantity: {
        type: 'string',
        value: '<q>',
        description: 'Reserves held, a decimal exact in the asset’s decimals.',
      },
      'operator-key': operatorKeyOption,
    },
    notes:
      'With --symbol and --quantity: signs reservesStatement with the operator key and submits it; every later ' +
      'attestation binds it.\n' +
      'Without them: GET /api/v1/reserves, the stated reserves against the liabilities (claims − debts) of the ' +
      'latest attestation, per asset.',
    examples: ['exchange reserves --symbol USDC --quantity 1000', 'exchange reserves'],
    run: async (context) => {
      const { values } = context;
      if (values.symbol === undefined && values.quantity === undefined) {
        if (values['operator-key'] !== undefined)
          throw new UsageError('--operator-key signs a statement; give --symbol and --quantity too.');
        return context.client().fetchReserves();
      }
      const statement = { symbol: symbol(values), quantity: decimal('quantity', required(values, 'quantity')) };
      return (await operatorClient(context)).stateReserves(statement);
    },
  },
};
