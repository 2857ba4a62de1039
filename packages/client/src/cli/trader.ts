/** Trader commands: orders, balances, history, withdrawals and proofs, signed with the trader key. */
import type { OrderRequest } from '../types.js';
import {
  UsageError,
  choice,
  decimal,
  integer,
  keyOption,
  maximumClientId,
  optional,
  orderTypes,
  pageFilter,
  required,
  selfTradePreventions,
  sides,
  symbol,
  symbolOption,
  text,
  timesInForce,
  traderClient,
  writePrivateFile,
  type Command,
} from './command.js';

export const traderCommands: Readonly<Record<string, Command>> = {
  order: {
    group: 'Trader',
    summary: 'Place an order.',
    synopsis:
      'order --key <file> --symbol <market> --side Bid|Ask [--type Limit|Market] [--price <p>] [--quantity <q> | ' +
      '--quote-quantity <q>] [--tif GTC|IOC|FOK] [--post-only] [--client-id <n>] [--stp ' +
      'RejectTaker|RejectMaker|RejectBoth|Allow] [--trigger-price <p>] [--take-profit <p> [--take-profit-limit ' +
      '<p>]] [--stop-loss <p> [--stop-loss-limit <p>]]',
    options: {
      key: keyOption,
      symbol: symbolOption('Market, e.g. SOL_USDC.'),
      side: { type: 'string', value: 'Bid|Ask', description: 'Bid buys the base asset, Ask sells it.' },
      type: { type: 'string', value: 'Limit|Market', description: 'Order type (default Limit).' },
      price: { type: 'string', value: '<p>', description: 'Limit price (Limit orders only).' },
      quantity: { type: 'string', value: '<q>', description: 'Base quantity.' },
      'quote-quantity': {
        type: 'string',
        value: '<q>',
        description: 'Market orders: quote amount instead of --quantity.',
      },
      tif: { type: 'string', value: 'GTC|IOC|FOK', description: 'Time in force (default GTC).' },
      'post-only': { type: 'boolean', description: 'Reject instead of taking liquidity (Limit, GTC).' },
      'client-id': { type: 'string', value: '<n>', description: 'Your id for the order, 0 to 4294967295.' },
      stp: { type: 'string', value: '<mode>', description: 'Self-trade prevention (default RejectTaker).' },
      'trigger-price': {
        type: 'string',
        value: '<p>',
        description: 'A trigger order: wait until the last price reaches <p> (--quantity is its triggerQuantity).',
      },
      'take-profit': { type: 'string', value: '<p>', description: 'Attach a take-profit triggered at <p>.' },
      'take-profit-limit': {
        type: 'string',
        value: '<p>',
        description: "The take-profit's limit price (default: a market order).",
      },
      'stop-loss': { type: 'string', value: '<p>', description: 'Attach a stop-loss triggered at <p>.' },
      'stop-loss-limit': {
        type: 'string',
        value: '<p>',
        description: "The stop-loss's limit price (default: a market order).",
      },
    },
    examples: [
      'exchange order --key alice.json --symbol SOL_USDC --side Bid --price 100 --quantity 1',
      'exchange order --key alice.json --symbol SOL_USDC --side Ask --type Market --quantity 1 --trigger-price 95',
      'exchange order --key alice.json --symbol SOL_USDC --side Bid --price 100 --quantity 1 --take-profit 110 ' +
        '--stop-loss 95',
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
      if (triggerPrice !== undefined && quantity === undefined)
        throw new UsageError('a trigger order needs --quantity.');
      if (orderType === 'Limit') {
        if (price === undefined) throw new UsageError('a Limit order needs --price.');
        if (quantity === undefined) throw new UsageError('a Limit order needs --quantity.');
        if (quoteQuantity !== undefined) throw new UsageError('--quote-quantity is for Market orders only.');
      } else {
        if (price !== undefined) throw new UsageError('a Market order takes no --price.');
        if ((quantity === undefined) === (quoteQuantity === undefined))
          throw new UsageError('a Market order needs exactly one of --quantity and --quote-quantity.');
        if (postOnly) throw new UsageError('a Market order cannot be --post-only.');
      }
      const order: OrderRequest = {
        symbol: symbol(values),
        side: choice('side', required(values, 'side'), sides),
        orderType,
        ...(price !== undefined ? { price: decimal('price', price) } : {}),
        ...(quantity !== undefined
          ? { [triggerPrice === undefined ? 'quantity' : 'triggerQuantity']: decimal('quantity', quantity) }
          : {}),
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
    examples: [
      'exchange cancel --key alice.json --symbol SOL_USDC --order-id 12',
      'exchange cancel --key alice.json --symbol SOL_USDC --client-id 7',
    ],
    run: async (context) => {
      const { values } = context;
      const market = symbol(values);
      const orderId = optional(values, 'order-id');
      const clientId = optional(values, 'client-id');
      if ((orderId === undefined) === (clientId === undefined))
        throw new UsageError('give exactly one of --order-id and --client-id.');
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
  proof: {
    group: 'Trader',
    summary: 'Fetch your inclusion proof under the latest attestation (GET /wapi/v1/proof, proofQuery).',
    synopsis: 'proof --key <file> [--sequence <n>] [--out <file>] [--force]',
    options: {
      key: keyOption,
      sequence: {
        type: 'string',
        value: '<n>',
        description: 'The attestation it must be under: the latest or a recent older one still held by the node.',
      },
      out: {
        type: 'string',
        value: '<file>',
        description: 'Write the proof JSON to this file (mode 0600) instead of printing it.',
      },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes: 'Check it offline with: exchange verify-proof --proof <file> --operator-key <base64 genesis operator key>.',
    examples: [
      'exchange proof --key alice.json --out alice-proof.json',
      'exchange proof --key alice.json --sequence 120000',
    ],
    run: async (context) => {
      const sequenceText = optional(context.values, 'sequence');
      const out = optional(context.values, 'out');
      const proof = await (await traderClient(context)).fetchProof(
        sequenceText === undefined ? undefined : integer('sequence', sequenceText, Number.MAX_SAFE_INTEGER, 1),
      );
      if (out === undefined) return proof;
      await writePrivateFile(out, `${JSON.stringify(proof, null, 2)}\n`, context.values.force === true);
      return { file: out, account: proof.account, sequence: proof.attestation.sequence, leafIndex: proof.leafIndex };
    },
  },
};
