/**
 * The exchange's command line: `pnpm exchange <command> [options]`
 * (root script: "exchange": "tsx packages/client/src/cli.ts").
 *
 * Node-only (key files, streams); everything it does over HTTP goes through
 * the browser-ready SDK in this package. Results are printed as JSON on
 * stdout. Exit codes: 0 success, 1 the exchange (or the network) refused,
 * printed as `CODE: message`, 2 a usage error (unknown command or option,
 * missing or malformed value, unreadable key file). See docs/client.md.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, realpathSync } from 'node:fs';
import { access, chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ExchangeClient } from './client.js';
import { custodyCommands } from './cli-custody.js';
import { signedRoutes } from './routes.js';
import { ClientInputError, ExchangeError, errorFromResponse, isErrorBody } from './errors.js';
import { generateKeyPair, isPublicKeyText, keyPairFromSecret, type KeyPair } from './keys.js';
import { Signer, defaultWindowMs, maximumWindowMs, signedHeaders, sortedParameters, type InstructionParameters } from './signing.js';
import type { GenesisInfo, OrderRequest, OrderType, SelfTradePrevention, Side, TimeInForce } from './types.js';
import { verifyProofAgainstPublished, type PublishedProofCheck } from '@vex/engine/verify';

const programName = 'exchange';
const maximumClientId = 4_294_967_295;

/** A proof that does not verify: exit 1, printed as INVALID_PROOF: reason. */
class ProofVerificationError extends Error {}

/** A command's result printed as usual, with an exit code other than 0 (verify-proof: 4 equivocation, 5 signature only). */
class ResultWithExitCode {
  constructor(
    readonly result: unknown,
    readonly exitCode: number,
    readonly warning?: string,
  ) {}
}

class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  /** Placeholder shown in help, e.g. "<file>". */
  readonly value?: string;
  readonly short?: string;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Context {
  readonly command: string;
  readonly values: Values;
  readonly url: string;
  readonly windowMs: number | undefined;
  client(secret?: string): ExchangeClient;
}

export interface Command {
  readonly group: 'Market data' | 'Keys' | 'Operator' | 'Trader' | 'Log' | 'Verification';
  readonly summary: string;
  readonly synopsis: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples: readonly string[];
  /** Details printed under the options in --help. */
  readonly notes?: string;
  run(context: Context): Promise<unknown>;
}

// ---- shared options and value checks ---------------------------------------

const defaultUrl = (): string => `http://127.0.0.1:${process.env.PORT ?? '8080'}`;
const defaultOperatorKeyFile = (): string => path.join(process.env.DATA_DIR ?? './data', 'operator-key.json');

const globalOptions: Readonly<Record<string, OptionSpec>> = {
  url: { type: 'string', value: '<url>', description: 'Exchange base URL (default http://127.0.0.1:${PORT:-8080}).' },
  window: { type: 'string', value: '<ms>', description: `X-Window of signed requests, 1 to ${maximumWindowMs} (default 5000).` },
  help: { type: 'boolean', short: 'h', description: 'Show help for this command.' },
};

const keyOption: OptionSpec = { type: 'string', value: '<file>', description: 'Trader key file, JSON {"secret", "publicKey"} (from keygen).' };
const operatorKeyOption: OptionSpec = {
  type: 'string',
  value: '<file>',
  description: 'Operator key file, JSON {"secret", "publicKey"} (default ${DATA_DIR:-./data}/operator-key.json).',
};
const symbolOption = (what: string): OptionSpec => ({ type: 'string', value: '<symbol>', description: what });

export function optional(values: Values, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`--${name} needs a value.`);
  if (value.trim().length === 0) throw new UsageError(`--${name} must not be empty.`);
  return value;
}

export function required(values: Values, name: string): string {
  const value = optional(values, name);
  if (value === undefined) throw new UsageError(`missing required option --${name}.`);
  return value;
}

const decimalPattern = /^[0-9]+(\.[0-9]+)?$/;

function decimal(name: string, value: string): string {
  if (!decimalPattern.test(value)) throw new UsageError(`--${name} must be a non-negative decimal number like 12 or 0.5, not "${value}".`);
  return value;
}

function integer(name: string, value: string, maximum = Number.MAX_SAFE_INTEGER, minimum = 0): number {
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`--${name} must be a whole number, not "${value}".`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < minimum || parsed > maximum) {
    throw new UsageError(`--${name} must be a whole number from ${minimum} to ${maximum}, not "${value}".`);
  }
  return parsed;
}

function choice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (match === undefined) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, not "${value}".`);
  return match;
}

function symbol(values: Values, name = 'symbol'): string {
  const value = required(values, name);
  if (!/^[A-Za-z0-9]+(_[A-Za-z0-9]+)?$/.test(value)) throw new UsageError(`--${name} must be a symbol like USDC or SOL_USDC, not "${value}".`);
  return value.toUpperCase();
}

/** Printable text for chain ids, addresses, reasons: what the exchange accepts in text fields. */
function text(values: Values, name: string, fallback?: string): string {
  const value = optional(values, name) ?? fallback;
  if (value === undefined) throw new UsageError(`missing required option --${name}.`);
  if (!/^[\x20-\x7e]{1,256}$/.test(value)) throw new UsageError(`--${name} must be 1 to 256 printable ASCII characters.`);
  return value;
}

function pageFilter(values: Values): { limit?: number; offset?: number } {
  const limit = optional(values, 'limit');
  const offset = optional(values, 'offset');
  return {
    ...(limit !== undefined ? { limit: integer('limit', limit, 1000, 1) } : {}),
    ...(offset !== undefined ? { offset: integer('offset', offset) } : {}),
  };
}

export async function readKeyFile(file: string, what: string, option: string): Promise<KeyPair> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(`cannot read the ${what} key file ${file}: ${reason}. Pass ${option} <file>.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw new UsageError(`the ${what} key file ${file} is not JSON; expected {"secret": "<base64>", "publicKey": "<base64>"}.`);
  }
  const secret = (parsed as { secret?: unknown } | null)?.secret;
  if (typeof secret !== 'string') throw new UsageError(`the ${what} key file ${file} has no "secret" string.`);
  let pair: KeyPair;
  try {
    pair = keyPairFromSecret(secret.trim());
  } catch (error) {
    throw new UsageError(`the ${what} key file ${file}: ${(error as Error).message}`);
  }
  const publicKey = (parsed as { publicKey?: unknown }).publicKey;
  if (publicKey !== undefined && publicKey !== pair.publicKey) {
    throw new UsageError(`the ${what} key file ${file}: "publicKey" is not the public key of "secret".`);
  }
  return pair;
}

async function traderClient(context: Context): Promise<ExchangeClient> {
  const pair = await readKeyFile(required(context.values, 'key'), 'trader', '--key');
  return context.client(pair.secret);
}

async function operatorClient(context: Context): Promise<ExchangeClient> {
  const file = optional(context.values, 'operator-key') ?? defaultOperatorKeyFile();
  const pair = await readKeyFile(file, 'operator', '--operator-key');
  return context.client(pair.secret);
}

/** Writes `content` to a new file with mode 0600; refuses to replace a file unless `force`. */
async function writePrivateFile(file: string, content: string, force: boolean): Promise<void> {
  let handle;
  try {
    handle = await open(file, force ? 'w' : 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${file} already exists; pass --force to replace it.`);
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`);
  }
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
  await chmod(file, 0o600);
}

// ---- commands -----------------------------------------------------------------

const sides = ['Bid', 'Ask'] as const satisfies readonly Side[];
const orderTypes = ['Limit', 'Market'] as const satisfies readonly OrderType[];
const timesInForce = ['GTC', 'IOC', 'FOK'] as const satisfies readonly TimeInForce[];
const selfTradePreventions = ['RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow'] as const satisfies readonly SelfTradePrevention[];

const commands: Readonly<Record<string, Command>> = {
  ...custodyCommands,
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
    options: { symbol: symbolOption('Market, e.g. SOL_USDC.'), limit: { type: 'string', value: '<n>', description: 'How many, 1 to 1000.' } },
    examples: ['exchange trades --symbol SOL_USDC --limit 20'],
    run: (context) => {
      const limit = optional(context.values, 'limit');
      return context.client().trades(symbol(context.values), limit === undefined ? undefined : integer('limit', limit, 1000, 1));
    },
  },
  keygen: {
    group: 'Keys',
    summary: 'Generate an ed25519 key pair in Backpack format.',
    synopsis: 'keygen [--out <file>] [--force]',
    options: {
      out: { type: 'string', value: '<file>', description: 'Write {"secret", "publicKey"} to this file (mode 0600) and print only the public key.' },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes: 'secret is the base64 of the 32-byte seed, publicKey the base64 public key: the API key and the account id.',
    examples: ['exchange keygen --out alice.json', 'exchange keygen'],
    run: async (context) => {
      const pair = generateKeyPair();
      const out = optional(context.values, 'out');
      if (out === undefined) return pair;
      await writePrivateFile(out, `${JSON.stringify(pair, null, 2)}\n`, context.values.force === true);
      return { publicKey: pair.publicKey, file: out };
    },
  },
  deposit: {
    group: 'Operator',
    summary: 'Credit a deposit to an account (operator instruction depositCredit).',
    synopsis: 'deposit --to <public key> --symbol <asset> --quantity <q> [--chain-tx <id>] [--blockchain <name>] [--operator-key <file>]',
    options: {
      to: { type: 'string', value: '<public key>', description: 'Base64 public key (account id) to credit.' },
      symbol: symbolOption('Asset, e.g. USDC.'),
      quantity: { type: 'string', value: '<q>', description: 'Amount, a decimal.' },
      'chain-tx': { type: 'string', value: '<id>', description: 'Chain transaction id of the deposit (default: a random id).' },
      blockchain: { type: 'string', value: '<name>', description: 'Blockchain (default Solana).' },
      'operator-key': operatorKeyOption,
    },
    notes: 'Each chain transaction id is credited at most once (DUPLICATE_DEPOSIT otherwise).',
    examples: ['exchange deposit --to 6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw= --symbol USDC --quantity 1000'],
    run: async (context) => {
      const { values } = context;
      const to = required(values, 'to');
      if (!isPublicKeyText(to)) throw new UsageError(`--to must be the base64 public key of an account (44 characters ending in "="), not "${to}".`);
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
      const listing = { symbol: symbol(context.values), decimals: integer('decimals', required(context.values, 'decimals'), 18) };
      return (await operatorClient(context)).listAsset(listing);
    },
  },
  'list-market': {
    group: 'Operator',
    summary: 'List a new spot market (marketList).',
    synopsis:
      'list-market --base <asset> --quote <asset> --tick-size <d> --step-size <d> --min-quantity <d> --max-quantity <d> --min-price <d> --max-price <d> --maker-fee-bps <n> --taker-fee-bps <n> [--max-open-orders <n>] [--max-makers-per-order <n>] [--min-order-value <d>] [--symbol <market>] [--operator-key <file>]',
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
      'max-open-orders': { type: 'string', value: '<n>', description: 'Open orders per account (1 to 1000; default 500).' },
      'max-makers-per-order': { type: 'string', value: '<n>', description: 'Makers one order may meet (1 to 100; default 100).' },
      'min-order-value': { type: 'string', value: '<d>', description: 'Smallest order value in the quote asset (default 0).' },
      'operator-key': operatorKeyOption,
    },
    examples: [
      'exchange list-market --base SOL --quote USDC --tick-size 0.01 --step-size 0.01 --min-quantity 0.01 --max-quantity 100000 --min-price 0.01 --max-price 1000000 --maker-fee-bps 2 --taker-fee-bps 5',
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
        ...(values['max-open-orders'] !== undefined ? { maxOpenOrders: integer('max-open-orders', required(values, 'max-open-orders'), 1_000) } : {}),
        ...(values['max-makers-per-order'] !== undefined ? { maxMakersPerOrder: integer('max-makers-per-order', required(values, 'max-makers-per-order'), 100) } : {}),
        ...(values['min-order-value'] !== undefined ? { minOrderValue: decimal('min-order-value', required(values, 'min-order-value')) } : {}),
      };
      return (await operatorClient(context)).listMarket(listing);
    },
  },
  order: {
    group: 'Trader',
    summary: 'Place an order.',
    synopsis:
      'order --key <file> --symbol <market> --side Bid|Ask [--type Limit|Market] [--price <p>] [--quantity <q> | --quote-quantity <q>] [--tif GTC|IOC|FOK] [--post-only] [--client-id <n>] [--stp RejectTaker|RejectMaker|RejectBoth|Allow] [--trigger-price <p>] [--take-profit <p> [--take-profit-limit <p>]] [--stop-loss <p> [--stop-loss-limit <p>]]',
    options: {
      key: keyOption,
      symbol: symbolOption('Market, e.g. SOL_USDC.'),
      side: { type: 'string', value: 'Bid|Ask', description: 'Bid buys the base asset, Ask sells it.' },
      type: { type: 'string', value: 'Limit|Market', description: 'Order type (default Limit).' },
      price: { type: 'string', value: '<p>', description: 'Limit price (Limit orders only).' },
      quantity: { type: 'string', value: '<q>', description: 'Base quantity.' },
      'quote-quantity': { type: 'string', value: '<q>', description: 'Market orders: quote amount instead of --quantity.' },
      tif: { type: 'string', value: 'GTC|IOC|FOK', description: 'Time in force (default GTC).' },
      'post-only': { type: 'boolean', description: 'Reject instead of taking liquidity (Limit, GTC).' },
      'client-id': { type: 'string', value: '<n>', description: 'Your id for the order, 0 to 4294967295.' },
      stp: { type: 'string', value: '<mode>', description: 'Self-trade prevention (default RejectTaker).' },
      'trigger-price': { type: 'string', value: '<p>', description: 'A trigger order: wait until the last price reaches <p> (--quantity is its triggerQuantity).' },
      'take-profit': { type: 'string', value: '<p>', description: 'Attach a take-profit triggered at <p>.' },
      'take-profit-limit': { type: 'string', value: '<p>', description: 'The take-profit\'s limit price (default: a market order).' },
      'stop-loss': { type: 'string', value: '<p>', description: 'Attach a stop-loss triggered at <p>.' },
      'stop-loss-limit': { type: 'string', value: '<p>', description: 'The stop-loss\'s limit price (default: a market order).' },
    },
    examples: [
      'exchange order --key alice.json --symbol SOL_USDC --side Bid --price 100 --quantity 1',
      'exchange order --key alice.json --symbol SOL_USDC --side Ask --type Market --quantity 1 --trigger-price 95',
      'exchange order --key alice.json --symbol SOL_USDC --side Bid --price 100 --quantity 1 --take-profit 110 --stop-loss 95',
      'exchange order --key bob.json --symbol SOL_USDC --side Ask --type Market --quantity 0.5',
      'exchange order --key bob.json --symbol SOL_USDC --side Bid --type Market --quote-quantity 25',
    ],
    run: async (context) => {
      const { values } = context;
      const orderType = choice('type', optional(values, 'type') ?? 'Limit', orderTypes);
      const price = optional(values, 'price');
      const quantity = optional(values, 'quantity');
      const quoteQuantity = optional(values, 'quote-quantity');
      const tif = optional(values, 'tif');
      const clientId = optional(values, 'client-id');
      const stp = optional(values, 'stp');
      const postOnly = values['post-only'] === true;
      const triggerPrice = optional(values, 'trigger-price');
      const prices: Record<string, string> = {};
      for (const [option, field] of [
        ['take-profit', 'takeProfitTriggerPrice'],
        ['take-profit-limit', 'takeProfitLimitPrice'],
        ['stop-loss', 'stopLossTriggerPrice'],
        ['stop-loss-limit', 'stopLossLimitPrice'],
      ] as const) {
        const value = optional(values, option);
        if (value !== undefined) prices[field] = decimal(option, value);
      }
      if (triggerPrice !== undefined && quantity === undefined) throw new UsageError('a trigger order needs --quantity.');
      if (orderType === 'Limit') {
        if (price === undefined) throw new UsageError('a Limit order needs --price.');
        if (quantity === undefined) throw new UsageError('a Limit order needs --quantity.');
        if (quoteQuantity !== undefined) throw new UsageError('--quote-quantity is for Market orders only.');
      } else {
        if (price !== undefined) throw new UsageError('a Market order takes no --price.');
        if ((quantity === undefined) === (quoteQuantity === undefined)) throw new UsageError('a Market order needs exactly one of --quantity and --quote-quantity.');
        if (postOnly) throw new UsageError('a Market order cannot be --post-only.');
      }
      const order: OrderRequest = {
        symbol: symbol(values),
        side: choice('side', required(values, 'side'), sides),
        orderType,
        ...(price !== undefined ? { price: decimal('price', price) } : {}),
        ...(quantity !== undefined ? { [triggerPrice === undefined ? 'quantity' : 'triggerQuantity']: decimal('quantity', quantity) } : {}),
        ...(triggerPrice !== undefined ? { triggerPrice: decimal('trigger-price', triggerPrice) } : {}),
        ...prices,
        ...(quoteQuantity !== undefined ? { quoteQuantity: decimal('quote-quantity', quoteQuantity) } : {}),
        ...(tif !== undefined ? { timeInForce: choice('tif', tif, timesInForce) } : {}),
        ...(postOnly ? { postOnly: true } : {}),
        ...(clientId !== undefined ? { clientId: integer('client-id', clientId, maximumClientId) } : {}),
        ...(stp !== undefined ? { selfTradePrevention: choice('stp', stp, selfTradePreventions) } : {}),
      };
      return (await traderClient(context)).placeOrder(order);
    },
  },
  cancel: {
    group: 'Trader',
    summary: 'Cancel one order, by order id or by client id.',
    synopsis: 'cancel --key <file> --symbol <market> (--order-id <n> | --client-id <n>)',
    options: {
      key: keyOption,
      symbol: symbolOption('Market, e.g. SOL_USDC.'),
      'order-id': { type: 'string', value: '<n>', description: "The exchange's order id." },
      'client-id': { type: 'string', value: '<n>', description: 'The client id given when placing it.' },
    },
    examples: ['exchange cancel --key alice.json --symbol SOL_USDC --order-id 12', 'exchange cancel --key alice.json --symbol SOL_USDC --client-id 7'],
    run: async (context) => {
      const { values } = context;
      const market = symbol(values);
      const orderId = optional(values, 'order-id');
      const clientId = optional(values, 'client-id');
      if ((orderId === undefined) === (clientId === undefined)) throw new UsageError('give exactly one of --order-id and --client-id.');
      const client = await traderClient(context);
      return orderId !== undefined
        ? client.cancelOrder({ symbol: market, orderId: String(integer('order-id', orderId)) })
        : client.cancelOrder({ symbol: market, clientId: integer('client-id', clientId as string, maximumClientId) });
    },
  },
  'cancel-all': {
    group: 'Trader',
    summary: 'Cancel all your open orders in a market.',
    synopsis: 'cancel-all --key <file> --symbol <market>',
    options: { key: keyOption, symbol: symbolOption('Market, e.g. SOL_USDC.') },
    examples: ['exchange cancel-all --key alice.json --symbol SOL_USDC'],
    run: async (context) => {
      const market = symbol(context.values);
      return (await traderClient(context)).cancelAllOrders(market);
    },
  },
  balances: {
    group: 'Trader',
    summary: 'Show your balances.',
    synopsis: 'balances --key <file>',
    options: { key: keyOption },
    examples: ['exchange balances --key alice.json'],
    run: async (context) => (await traderClient(context)).balances(),
  },
  'open-orders': {
    group: 'Trader',
    summary: 'Show your open orders.',
    synopsis: 'open-orders --key <file> [--symbol <market>]',
    options: { key: keyOption, symbol: symbolOption('Only this market.') },
    examples: ['exchange open-orders --key alice.json --symbol SOL_USDC'],
    run: async (context) => {
      const market = context.values.symbol === undefined ? undefined : symbol(context.values);
      return (await traderClient(context)).openOrders(market);
    },
  },
  fills: {
    group: 'Trader',
    summary: 'Show your fills, newest first.',
    synopsis: 'fills --key <file> [--symbol <market>] [--limit <n>] [--offset <n>]',
    options: {
      key: keyOption,
      symbol: symbolOption('Only this market.'),
      limit: { type: 'string', value: '<n>', description: 'How many, 1 to 1000.' },
      offset: { type: 'string', value: '<n>', description: 'How many to skip.' },
    },
    examples: ['exchange fills --key alice.json --symbol SOL_USDC --limit 10'],
    run: async (context) => {
      const market = context.values.symbol === undefined ? undefined : symbol(context.values);
      const filter = { ...pageFilter(context.values), ...(market !== undefined ? { symbol: market } : {}) };
      return (await traderClient(context)).fills(filter);
    },
  },
  withdraw: {
    group: 'Trader',
    summary: 'Request a withdrawal; the operator then completes or fails it.',
    synopsis: 'withdraw --key <file> --symbol <asset> --quantity <q> --address <address> --blockchain <name>',
    options: {
      key: keyOption,
      symbol: symbolOption('Asset, e.g. USDC.'),
      quantity: { type: 'string', value: '<q>', description: 'Amount, a decimal.' },
      address: { type: 'string', value: '<address>', description: 'Destination address on the blockchain.' },
      blockchain: { type: 'string', value: '<name>', description: 'Blockchain, e.g. Solana.' },
    },
    examples: ['exchange withdraw --key alice.json --symbol USDC --quantity 10 --address 9xQe…b3 --blockchain Solana'],
    run: async (context) => {
      const { values } = context;
      const request = {
        symbol: symbol(values),
        quantity: decimal('quantity', required(values, 'quantity')),
        address: text(values, 'address'),
        blockchain: text(values, 'blockchain'),
      };
      return (await traderClient(context)).withdraw(request);
    },
  },
  withdrawals: {
    group: 'Operator',
    summary: "Pending withdrawals of every account (operator), or with --key one account's withdrawals.",
    synopsis: 'withdrawals [--status Pending] [--operator-key <file> | --key <file>] [--limit <n>] [--offset <n>]',
    options: {
      status: { type: 'string', value: 'Pending', description: 'Operator view: which withdrawals (the API lists Pending ones).' },
      'operator-key': operatorKeyOption,
      key: { type: 'string', value: '<file>', description: "Trader key file: list this account's own withdrawals instead." },
      limit: { type: 'string', value: '<n>', description: 'How many, 1 to 1000.' },
      offset: { type: 'string', value: '<n>', description: 'How many to skip.' },
    },
    notes:
      'Without --key: GET /api/v1/operator/withdrawals (operatorWithdrawalQueryAll), signed with the operator key (oldest first, each with its account).\n' +
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
      const query = { ...page, ...(status !== undefined ? { status: choice('status', status, ['Pending'] as const) } : {}) };
      const file = optional(values, 'operator-key') ?? defaultOperatorKeyFile();
      const operator = await readKeyFile(file, 'operator', '--operator-key');
      const route = signedRoutes.operatorWithdrawals;
      return signedGet(context, operator.secret, route.path, route.instruction, query);
    },
  },
  deposits: {
    group: 'Trader',
    summary: 'Show your deposits.',
    synopsis: 'deposits --key <file> [--limit <n>] [--offset <n>]',
    options: {
      key: keyOption,
      limit: { type: 'string', value: '<n>', description: 'How many, 1 to 1000.' },
      offset: { type: 'string', value: '<n>', description: 'How many to skip.' },
    },
    examples: ['exchange deposits --key alice.json'],
    run: async (context) => (await traderClient(context)).deposits(pageFilter(context.values)),
  },
  reserves: {
    group: 'Operator',
    summary: 'State the reserves held in an asset (reservesStatement), or, without options, show reserves against liabilities.',
    synopsis: 'reserves [--symbol <asset> --quantity <q> [--operator-key <file>]]',
    options: {
      symbol: symbolOption('Asset, e.g. USDC.'),
      quantity: { type: 'string', value: '<q>', description: 'Reserves held, a decimal exact in the asset’s decimals.' },
      'operator-key': operatorKeyOption,
    },
    notes:
      'With --symbol and --quantity: signs reservesStatement with the operator key and submits it; every later attestation binds it.\n' +
      'Without them: GET /api/v1/reserves, the stated reserves against the liabilities (claims − debts) of the latest attestation, per asset.',
    examples: ['exchange reserves --symbol USDC --quantity 1000', 'exchange reserves'],
    run: async (context) => {
      const { values } = context;
      if (values.symbol === undefined && values.quantity === undefined) {
        if (values['operator-key'] !== undefined) throw new UsageError('--operator-key signs a statement; give --symbol and --quantity too.');
        return context.client().fetchReserves();
      }
      const statement = { symbol: symbol(values), quantity: decimal('quantity', required(values, 'quantity')) };
      return (await operatorClient(context)).stateReserves(statement);
    },
  },
  proof: {
    group: 'Trader',
    summary: 'Fetch your inclusion proof under the latest attestation (GET /wapi/v1/proof, proofQuery).',
    synopsis: 'proof --key <file> [--sequence <n>] [--out <file>] [--force]',
    options: {
      key: keyOption,
      sequence: { type: 'string', value: '<n>', description: 'The attestation it must be under: the latest or a recent older one still held by the node.' },
      out: { type: 'string', value: '<file>', description: 'Write the proof JSON to this file (mode 0600) instead of printing it.' },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes: 'Check it offline with: exchange verify-proof --proof <file> --operator-key <base64 genesis operator key>.',
    examples: ['exchange proof --key alice.json --out alice-proof.json', 'exchange proof --key alice.json --sequence 120000'],
    run: async (context) => {
      const sequenceText = optional(context.values, 'sequence');
      const out = optional(context.values, 'out');
      const proof = await (await traderClient(context)).fetchProof(sequenceText === undefined ? undefined : integer('sequence', sequenceText, Number.MAX_SAFE_INTEGER, 1));
      if (out === undefined) return proof;
      await writePrivateFile(out, `${JSON.stringify(proof, null, 2)}\n`, context.values.force === true);
      return { file: out, account: proof.account, sequence: proof.attestation.sequence, leafIndex: proof.leafIndex };
    },
  },
  'verify-proof': {
    group: 'Verification',
    summary: 'Check an inclusion proof and what it stands on: the log, the published attestation, or only the operator’s signature.',
    synopsis: 'verify-proof --proof <file> [--log <file> | --attestations <file> | --url <url>] [--operator-key <base64>]',
    options: {
      proof: { type: 'string', value: '<file>', description: 'A proof JSON file (from exchange proof --out).' },
      'operator-key': { type: 'string', value: '<base64>', description: 'The genesis operator public key you trust to sign attestations.' },
      log: { type: 'string', value: '<file>', description: 'A log export (export-log): replayed up to the proof, whose attestation and leaf must be the replayed ones.' },
      attestations: { type: 'string', value: '<file>', description: 'An attestations export (export-attestations): the proof’s attestation must be the published one.' },
    },
    notes:
      'What the proof is checked against, strongest first: --log (the log is replayed to the proof’s sequence and its attestation\n' +
      'record; its genesis supplies the operator keys), --attestations (byte-identity with the published attestation), --url\n' +
      '(the attestation this node publishes for the proof’s sequence; without --operator-key the keys come from its genesis).\n' +
      'With --operator-key alone only the operator’s signature is checked: the result says "basis": "signature-only" and the\n' +
      'exit code is 5. Two different attestations for one sequence, both signed by operator keys, are operator equivocation:\n' +
      'exit 4, and the result holds both. A proof that does not verify exits 1 with INVALID_PROOF: <the first check that failed>.',
    examples: [
      'exchange verify-proof --proof alice-proof.json --log exchange.vexlog',
      'exchange verify-proof --proof alice-proof.json --attestations attestations.jsonl --operator-key i1GEJN4TIbUjYhg8PwbfTGmlb1+Z0RDk+ViflfFTz3U=',
      'exchange verify-proof --proof alice-proof.json --url https://exchange.example',
    ],
    run: (context) => verifyProofFile(context),
  },
  attestation: {
    group: 'Verification',
    summary: 'Show the latest attestation, or the one at --sequence (GET /api/v1/attestations).',
    synopsis: 'attestation [--sequence <n>]',
    options: { sequence: { type: 'string', value: '<n>', description: 'The entry the attestation follows.' } },
    examples: ['exchange attestation', 'exchange attestation --sequence 10000'],
    run: async (context) => {
      const sequenceText = optional(context.values, 'sequence');
      const sequence = sequenceText === undefined ? undefined : integer('sequence', sequenceText, Number.MAX_SAFE_INTEGER, 1);
      const attestation = await context.client().fetchAttestation(sequence);
      if (attestation === undefined) {
        throw new ExchangeError('RESOURCE_NOT_FOUND', sequence === undefined ? 'There is no attestation yet.' : `There is no attestation at sequence ${sequence}.`, 404);
      }
      return attestation;
    },
  },
  'export-attestations': {
    group: 'Log',
    summary: 'Download every attestation (GET /api/v1/attestations/export) to a JSON Lines file.',
    synopsis: 'export-attestations --out <file> [--from <sequence>] [--force]',
    options: {
      out: { type: 'string', value: '<file>', description: 'Destination file.' },
      from: { type: 'string', value: '<n>', description: 'Only attestations at this sequence or later (default: all).' },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes: 'One attestation per line, in sequence order (docs/attestation.md), written to <file>.partial and renamed once complete.',
    examples: ['exchange export-attestations --out attestations.jsonl'],
    run: async (context) => {
      const fromText = optional(context.values, 'from');
      const from = fromText === undefined ? undefined : integer('from', fromText, Number.MAX_SAFE_INTEGER, 1);
      const saved = await download(context, `/api/v1/attestations/export${from === undefined ? '' : `?from=${from}`}`, 'application/x-ndjson', 'attestation export');
      return { ...saved.result, ...(from !== undefined ? { from } : {}) };
    },
  },
  'export-snapshot': {
    group: 'Log',
    summary: 'Download the latest snapshot record (GET /api/v1/snapshot), for the replayer’s --from-snapshot.',
    synopsis: 'export-snapshot --out <file> [--force]',
    options: {
      out: { type: 'string', value: '<file>', description: 'Destination file.' },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes: 'The record bytes as stored (docs/log-format.md, "Snapshots"); prints the sequence it follows.',
    examples: ['exchange export-snapshot --out snapshot.bin'],
    run: async (context) => {
      const saved = await download(context, '/api/v1/snapshot', 'application/octet-stream', 'snapshot download');
      const sequence = Number(saved.response.headers.get('x-snapshot-sequence'));
      return { ...saved.result, ...(Number.isSafeInteger(sequence) && sequence > 0 ? { sequence } : {}) };
    },
  },
  'export-log': {
    group: 'Log',
    summary: 'Download the signed transaction log (GET /api/v1/log) to a file.',
    synopsis: 'export-log --out <file> [--from <sequence>] [--force]',
    options: {
      out: { type: 'string', value: '<file>', description: 'Destination file.' },
      from: { type: 'string', value: '<n>', description: 'First sequence number to export (default: the whole log).' },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes: 'The bytes are written as the server sends them (format: docs/log-format.md), first to <file>.partial, renamed to <file> once complete.',
    examples: ['exchange export-log --out exchange.log', 'exchange export-log --out tail.log --from 1000'],
    run: (context) => exportLog(context),
  },
};

/** fetch, with network failures and refusals turned into ExchangeError. */
async function request(url: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? ` (${cause.message})` : '';
    throw new ExchangeError('NETWORK_ERROR', `${init.method ?? 'GET'} ${url} failed: ${(error as Error).message}${detail}`, 0);
  }
  if (!response.ok) throw errorFromResponse(response.status, response.statusText, await response.text());
  return response;
}

/**
 * A signed GET of a native route the SDK has no method for: the signing
 * string is built by the SDK's signer, exactly as for Backpack's routes.
 */
async function signedGet(context: Context, secret: string, route: string, instruction: string, query: InstructionParameters): Promise<unknown> {
  const signed = new Signer(secret).sign([{ instruction, params: query }], { timestampMs: Date.now(), windowMs: context.windowMs ?? defaultWindowMs });
  const pairs = sortedParameters(query).map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
  const url = `${context.url.replace(/\/+$/, '')}${route}${pairs.length > 0 ? `?${pairs.join('&')}` : ''}`;
  const response = await request(url, { method: 'GET', headers: { Accept: 'application/json', ...signedHeaders(signed) } });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text.length === 0 ? null : JSON.parse(text);
  } catch {
    throw new ExchangeError('INVALID_RESPONSE', `GET ${route} answered with something other than JSON.`, response.status, text);
  }
  if (isErrorBody(parsed)) throw errorFromResponse(response.status, response.statusText, text);
  return parsed;
}

async function exportLog(context: Context): Promise<unknown> {
  const fromText = optional(context.values, 'from');
  const from = fromText === undefined ? undefined : integer('from', fromText);
  const saved = await download(context, `/api/v1/log${from === undefined ? '' : `?from=${from}`}`, 'application/octet-stream', 'log download');
  return { ...saved.result, ...(from !== undefined ? { from } : {}) };
}

/**
 * Streams GET `route` to --out byte for byte: first to <out>.partial, renamed
 * once the download is complete, so a broken download never leaves a file
 * that looks whole. An existing --out is kept unless --force.
 */
async function download(
  context: Context,
  route: string,
  accept: string,
  what: string,
): Promise<{ result: { file: string; bytes: number }; response: Response }> {
  const out = required(context.values, 'out');
  if (context.values.force !== true) {
    const exists = await stat(out).then(
      () => true,
      () => false,
    );
    if (exists) throw new UsageError(`${out} already exists; pass --force to replace it.`);
  }
  try {
    await access(path.dirname(path.resolve(out)), fsConstants.W_OK);
  } catch {
    throw new UsageError(`cannot write to the directory of ${out}.`);
  }
  const url = `${context.url.replace(/\/+$/, '')}${route}`;
  const response = await request(url, { method: 'GET', headers: { Accept: accept } });
  const partial = `${out}.partial`;
  // Created exclusively and without following links: a <out>.partial planted in a shared
  // directory (a symlink to a file of the user's) is refused, never written through.
  let handle;
  try {
    handle = await open(partial, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o644);
  } catch (error) {
    await response.body?.cancel().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ELOOP') {
      throw new UsageError(`${partial} already exists (left by a broken download, or put there by someone else); remove it and try again.`);
    }
    throw new UsageError(`cannot write ${partial}: ${(error as Error).message}`);
  }
  try {
    if (response.body === null) await handle.close();
    else await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), handle.createWriteStream());
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(partial).catch(() => undefined);
    throw new ExchangeError('NETWORK_ERROR', `the ${what} from ${url} broke off: ${(error as Error).message}`, response.status);
  }
  await rename(partial, out);
  const { size } = await stat(out);
  return { result: { file: out, bytes: size }, response };
}

/**
 * verify-proof: every check of docs/attestation.md ("Checking a proof") with
 * the engine's browser-safe verifier, against operator keys the user chose
 * to trust, and then what the proof stands on ("What a proof stands on"):
 * the replayed log (--log), the published attestations (--attestations, or
 * the node's with --url), or only the signature. The default URL is never
 * contacted implicitly: trusting a server must be asked for with --url.
 */
async function verifyProofFile(context: Context): Promise<unknown> {
  const file = required(context.values, 'proof');
  let proof: unknown;
  try {
    proof = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(`cannot read the proof file ${file}: ${reason}.`);
  }
  const operatorKey = optional(context.values, 'operator-key');
  const logFile = optional(context.values, 'log');
  const attestationsFile = optional(context.values, 'attestations');
  if (logFile !== undefined && attestationsFile !== undefined) throw new UsageError('give --log or --attestations, not both.');
  if (operatorKey !== undefined && !isPublicKeyText(operatorKey)) {
    throw new UsageError(`--operator-key must be a base64 public key (44 characters ending in "="), not "${operatorKey}".`);
  }
  if (logFile !== undefined) return verifyProofAgainstLog(proof, logFile, operatorKey);
  let trustedKeys: readonly string[];
  let genesis: GenesisInfo | undefined;
  if (operatorKey !== undefined) {
    trustedKeys = [operatorKey];
  } else if (context.values.url !== undefined) {
    genesis = await context.client().fetchGenesis();
    trustedKeys = genesis.operatorKeys;
  } else {
    throw new UsageError(
      'verify-proof needs the operator key it is to trust: pass --operator-key <base64> (a genesis operator key), ' +
        "--log <file> to take the keys from the log's genesis, or --url <url> to take them from that node's GET /api/v1/genesis.",
    );
  }
  let published: unknown[] | undefined;
  if (attestationsFile !== undefined) {
    published = await readAttestationLines(attestationsFile);
  } else if (context.values.url !== undefined) {
    const sequence = (proof as { attestation?: { sequence?: unknown } } | null)?.attestation?.sequence;
    const found = typeof sequence === 'number' && Number.isSafeInteger(sequence) && sequence >= 1 ? await context.client().fetchAttestation(sequence) : undefined;
    published = found === undefined ? [] : [found];
  }
  const check = verifyProofAgainstPublished(proof, trustedKeys, published);
  if (check.ok && genesis !== undefined && check.attestation.genesisHash !== genesis.genesisHash) {
    throw new ProofVerificationError(`The proof's attestation is of genesis ${check.attestation.genesisHash}, not ${genesis.genesisHash} of ${context.url}.`);
  }
  return proofOutcome(check);
}

async function readAttestationLines(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the attestations file ${file}: ${(error as Error).message}.`);
  }
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, index) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new UsageError(`${file}, line ${index + 1}: not JSON.`);
      }
    });
}

/** --log: the replayer replays the export to the proof's sequence (Node only, so it is loaded only here). */
async function verifyProofAgainstLog(proof: unknown, logFile: string, operatorKey: string | undefined): Promise<unknown> {
  const { checkInclusionProof, openByteSource, ReplayInputError } = await import('@vex/replayer');
  try {
    const check = await checkInclusionProof({
      proof,
      ...(operatorKey === undefined ? {} : { operatorKeys: [operatorKey] }),
      log: () => openByteSource(logFile),
      logDescription: logFile,
    });
    if (check.ok) return proofOutcome({ ...check });
    return proofOutcome({ ok: false, reason: check.reason, ...(check.equivocation === undefined ? {} : { equivocation: check.equivocation }) });
  } catch (error) {
    if (error instanceof ReplayInputError) throw new UsageError(error.message);
    throw error;
  }
}

/** The printed result and exit code of a proof check. */
function proofOutcome(check: PublishedProofCheck | { ok: false; reason: string; equivocation?: unknown }): unknown {
  if (!check.ok) {
    if (check.equivocation === undefined) throw new ProofVerificationError(check.reason);
    return new ResultWithExitCode({ valid: false, reason: check.reason, equivocation: check.equivocation }, 4, `OPERATOR_EQUIVOCATION: ${check.reason}`);
  }
  const result = {
    valid: true,
    basis: check.basis,
    account: check.account,
    leafIndex: check.leafIndex,
    sequence: check.attestation.sequence,
    logTimeMs: check.attestation.logTimeMs,
    operatorKey: check.attestation.operatorKey,
    liabilitiesRoot: check.attestation.liabilitiesRoot,
    balances: check.balances.map((balance) => ({ symbol: balance.symbol, claim: balance.claim.toString(), debt: balance.debt.toString() })),
  };
  if (check.basis !== 'signature-only') return result;
  const warning =
    "only the operator's signature was checked: nothing shows that this is the attestation everyone else was shown. " +
    'Pass --log <file>, --attestations <file> or --url <url> to check it against the log or the published attestation.';
  return new ResultWithExitCode({ ...result, warning }, 5, `WARNING: ${warning}`);
}

// ---- help and dispatch ------------------------------------------------------

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short !== undefined ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.value ?? '<value>'}` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(0, ...rows.map(([flag]) => flag.length));
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

function commandHelp(name: string): string {
  const command = commands[name] as Command;
  const lines = [`Usage: ${programName} ${command.synopsis} [--url <url>]`, '', command.summary, ''];
  if (Object.keys(command.options).length > 0) lines.push('Options:', ...optionLines(command.options), '');
  lines.push('Global options:', ...optionLines(globalOptions), '');
  if (command.notes !== undefined) lines.push(command.notes, '');
  lines.push('Examples:', ...command.examples.map((example) => `  ${example}`));
  return `${lines.join('\n')}\n`;
}

function generalHelp(): string {
  const lines = [`Usage: ${programName} <command> [options]`, '', 'Commands:'];
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  for (const group of ['Market data', 'Keys', 'Operator', 'Trader', 'Log', 'Verification'] as const) {
    lines.push(`  ${group}:`);
    for (const [name, command] of Object.entries(commands)) {
      if (command.group === group) lines.push(`    ${name.padEnd(width)}  ${command.summary}`);
    }
  }
  lines.push('', 'Global options:', ...optionLines(globalOptions), '');
  lines.push(`Run "${programName} <command> --help" for a command's options.`);
  lines.push('Exit codes: 0 success, 1 refused by the exchange or unreachable (printed as CODE: message), 2 usage error.');
  return `${lines.join('\n')}\n`;
}

function cleanParseError(error: Error & { code?: string }, command: string): string {
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const match = /Unknown option '([^']+)'/.exec(error.message);
    return `unknown option ${match?.[1] ?? ''} for "${command}".`;
  }
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const match = /Unexpected argument '([^']*)'/.exec(error.message);
    return `unexpected argument "${match?.[1] ?? ''}"; options take the form --name value.`;
  }
  return error.message.replace(/^Option '([^']+)' argument missing$/, "option $1 needs a value.");
}

function parseGlobal(values: Values): { url: string; windowMs: number | undefined } {
  const url = optional(values, 'url') ?? defaultUrl();
  if (!/^https?:\/\/[^/\s]+/i.test(url)) throw new UsageError(`--url must be an http(s) URL, not "${url}".`);
  const window = optional(values, 'window');
  return { url, windowMs: window === undefined ? undefined : integer('window', window, maximumWindowMs, 1) };
}

interface Output {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/**
 * Moves global options written before the command (`exchange --url U deposit …`)
 * behind it, so both orders mean the same thing.
 */
function commandFirst(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let index = 0;
  while (index < argv.length) {
    const token = argv[index]!;
    const option = token.startsWith('--') ? token.slice(2).split('=')[0]! : undefined;
    if (option === undefined || !Object.hasOwn(globalOptions, option)) break;
    const takesValue = globalOptions[option]!.type === 'string' && !token.includes('=');
    leading.push(...argv.slice(index, index + (takesValue ? 2 : 1)));
    index += takesValue ? 2 : 1;
  }
  if (leading.length === 0 || index >= argv.length) return [...argv];
  return [argv[index]!, ...argv.slice(index + 1), ...leading];
}

export async function main(argv: readonly string[], output: Output): Promise<number> {
  const args = commandFirst(argv[0] === '--' ? argv.slice(1) : argv);
  const name = args[0];
  if (name === undefined) {
    output.stderr(generalHelp());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = args[1];
    if (topic !== undefined && Object.hasOwn(commands, topic)) output.stdout(commandHelp(topic));
    else output.stdout(generalHelp());
    return 0;
  }
  if (!Object.hasOwn(commands, name)) {
    const hint = name.startsWith('-') ? 'the command comes first' : `unknown command "${name}"`;
    output.stderr(`error: ${hint}.\nRun "${programName} --help" for the list of commands.\n`);
    return 2;
  }
  const command = commands[name] as Command;
  try {
    let values: Values;
    try {
      const specs = { ...command.options, ...globalOptions };
      const parsed = parseArgs({
        args: args.slice(1),
        options: Object.fromEntries(
          Object.entries(specs).map(([option, spec]) => [option, spec.short !== undefined ? { type: spec.type, short: spec.short } : { type: spec.type }]),
        ),
        strict: true,
        allowPositionals: false,
      });
      values = parsed.values as Values;
    } catch (error) {
      const code = (error as { code?: unknown } | undefined)?.code;
      if (error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
        throw new UsageError(cleanParseError(error, name));
      }
      throw error;
    }
    if (values.help === true) {
      output.stdout(commandHelp(name));
      return 0;
    }
    const { url, windowMs } = parseGlobal(values);
    const context: Context = {
      command: name,
      values,
      url,
      windowMs,
      client: (secret) => new ExchangeClient({ baseUrl: url, ...(secret !== undefined ? { secret } : {}), ...(windowMs !== undefined ? { windowMs } : {}) }),
    };
    const result = await command.run(context);
    if (result instanceof ResultWithExitCode) {
      output.stdout(`${JSON.stringify(result.result ?? null, null, 2)}\n`);
      if (result.warning !== undefined) output.stderr(`${result.warning}\n`);
      return result.exitCode;
    }
    output.stdout(`${JSON.stringify(result ?? null, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ClientInputError) {
      output.stderr(`error: ${error.message}\nRun "${programName} ${name} --help" for usage.\n`);
      return 2;
    }
    if (error instanceof ExchangeError) {
      output.stderr(`${error.code}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ProofVerificationError) {
      output.stderr(`INVALID_PROOF: ${error.message}\n`);
      return 1;
    }
    output.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
}
