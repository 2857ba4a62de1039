/**
 * The simulated users: an operator and a seeded number of traders, each with
 * a key derived from the seed, sending signed requests as real clients would.
 *
 * The operator lists assets and markets, credits deposits, completes and
 * fails withdrawals and states reserves; traders place limit, market and
 * batched orders, cancel and withdraw. The margin requests (listings, moving
 * index prices, lending, borrowing, margin orders, a keeper's liquidations)
 * are margin-workload.ts's. A share of the requests is meant to be
 * refused: bad signatures, stale timestamps, operator instructions signed by
 * a trader, deposits credited twice, exact resubmissions of earlier requests.
 *
 * Requests look at the exchange state (as a client reads it through the API)
 * only to be plausible: which listings are missing, which orders are open,
 * which withdrawals are pending. Correctness is never judged here; the
 * simulator checks the log and the state, whatever the requests were.
 */
import { createHash } from 'node:crypto';
import {
  accountIdOf,
  encodeSigningStringBytes,
  publicKeyFromSeed,
  signMessage,
  type ExchangeState,
  type Genesis,
  type Order,
  type SignedTransaction,
} from '@vex/engine';
import { demoListing } from '../../engine/test/random-log.js';
import { type MarginRequestKind, MarginWorkload } from './margin-workload.js';
import { type PerpRequestKind, PerpsWorkload } from './perps-workload.js';
import type { SeededRandom } from './seeded-random.js';

export type RequestKind =
  | 'asset-listing'
  | 'market-listing'
  | 'deposit'
  | 'duplicate-deposit'
  | 'withdrawal-complete'
  | 'withdrawal-fail'
  | 'reserves-statement'
  | 'limit-order'
  | 'market-order'
  | 'order-batch'
  | 'cancel'
  | 'cancel-by-client-id'
  | 'cancel-all'
  | 'withdraw'
  | 'bad-signature'
  | 'stale-timestamp'
  | 'unauthorized'
  | 'resubmission'
  | MarginRequestKind
  | PerpRequestKind;

export interface SimulatedRequest {
  readonly kind: RequestKind;
  readonly transaction: SignedTransaction;
}

export interface Participant {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly accountId: string;
}

interface Group {
  readonly instruction: string;
  readonly params: Record<string, string>;
}

/** Requests remembered for exact resubmission. */
const recentRequestsKept = 64;
/** A listing or first funding is asked for again only after this long without it showing up in the state. */
const setUpRetryMs = 2_000;

function participantFromSeed(seed: number, role: string): Participant {
  const secretSeed = new Uint8Array(createHash('sha256').update(`vex-sim/${seed}/key/${role}`).digest());
  const publicKey = publicKeyFromSeed(secretSeed);
  return { seed: secretSeed, publicKey, accountId: accountIdOf(publicKey) };
}

/** `units` of an asset with `decimals` decimals, as a decimal string. */
function formatUnits(units: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const whole = units / scale;
  const fraction = (units % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}

const initialFunding: ReadonlyArray<readonly [string, string]> = [
  ['SOL', '5000'],
  ['BTC', '50'],
  ['USDC', '1000000'],
];

interface MarketShape {
  readonly symbol: string;
  /** The mid price in ticks, and the number of decimals of a tick. */
  readonly midTicks: number;
  readonly tickDecimals: number;
  readonly quantity: (random: SeededRandom) => string;
}

const markets: readonly MarketShape[] = [
  {
    symbol: 'SOL_USDC',
    midTicks: 10_000,
    tickDecimals: 2,
    quantity: (random) => ((1 + random.below(500)) / 100).toFixed(2),
  },
  {
    symbol: 'BTC_USDC',
    midTicks: 600_000,
    tickDecimals: 1,
    quantity: (random) => ((1 + random.below(900)) / 100_000).toFixed(5),
  },
];

export class Workload {
  readonly operator: Participant;
  readonly traders: readonly Participant[];
  readonly genesis: Genesis;
  private readonly setUpRequestedAtMs = new Map<string, number>();
  private readonly recent: SignedTransaction[] = [];
  private depositsCredited = 0;
  private readonly margin: MarginWorkload;
  private readonly perps: PerpsWorkload;

  constructor(
    private readonly random: SeededRandom,
    seed: number,
  ) {
    this.operator = participantFromSeed(seed, 'operator');
    this.traders = Array.from({ length: random.between(3, 10) }, (_, index) =>
      participantFromSeed(seed, `trader-${index}`),
    );
    this.genesis = {
      exchangeName: `simulation-${seed}`,
      operatorKeys: [this.operator.accountId],
      feeAccount: this.operator.accountId,
    };
    const keeper = participantFromSeed(seed, 'keeper');
    this.margin = new MarginWorkload(random, this.operator, keeper, this.traders, (signer, groups, nowMs) =>
      this.sign(signer, groups, nowMs),
    );
    this.perps = new PerpsWorkload({
      random,
      operator: this.operator,
      traders: this.traders,
      sign: (signer, groups, nowMs) => this.sign(signer, groups, nowMs),
    });
  }

  /** The next request, given the exchange state as clients can read it now. */
  next(state: ExchangeState, nowMs: number): SimulatedRequest {
    const setUp = this.setUpRequest(state, nowMs);
    if (setUp !== undefined) return setUp;
    const kind = this.random.weighted<RequestKind>([
      ['limit-order', 36],
      ['market-order', 8],
      ['order-batch', 5],
      ['cancel', 12],
      ['cancel-by-client-id', 3],
      ['cancel-all', 3],
      ['withdraw', 4],
      ['deposit', 5],
      ['withdrawal-complete', 3],
      ['withdrawal-fail', 1],
      ['reserves-statement', 4],
      ['duplicate-deposit', 1],
      ['bad-signature', 1],
      ['stale-timestamp', 1],
      ['unauthorized', 1],
      ['resubmission', 2],
      ['index-price', 5],
      ['lend', 4],
      ['borrow', 5],
      ['margin-order', 6],
      ['liquidate', 3],
      ['coverage-deposit', 1],
      ['perp-order', 10],
    ]);
    const request = this.request(kind, state, nowMs);
    this.remember(request.transaction);
    return request;
  }

  /** Listings first, then each trader's first deposits; undefined once all are in the state. */
  private setUpRequest(state: ExchangeState, nowMs: number): SimulatedRequest | undefined {
    const due = (name: string): boolean => {
      const requestedAtMs = this.setUpRequestedAtMs.get(name);
      if (requestedAtMs !== undefined && nowMs - requestedAtMs < setUpRetryMs) return false;
      this.setUpRequestedAtMs.set(name, nowMs);
      return true;
    };
    let waiting = false;
    for (const [instruction, params] of demoListing) {
      const symbol = params.symbol!;
      const listed = instruction === 'assetList' ? state.assetsBySymbol.has(symbol) : state.marketsBySymbol.has(symbol);
      if (listed) continue;
      if (due(`listing ${symbol}`)) {
        const kind = instruction === 'assetList' ? 'asset-listing' : 'market-listing';
        return { kind, transaction: this.sign(this.operator, [{ instruction, params }], nowMs) };
      }
      waiting = true;
    }
    if (!waiting) {
      const margin = this.margin.setUpRequest(state, nowMs, due);
      if (margin === 'waiting') waiting = true;
      else if (margin !== undefined) return margin;
    }
    if (!waiting) {
      const perps = this.perps.setUpRequest(state, nowMs, due);
      if (perps === 'waiting') waiting = true;
      else if (perps !== undefined) return perps;
    }
    for (const trader of this.traders) {
      if (state.accounts.has(trader.accountId)) continue;
      if (due(`funding ${trader.accountId}`)) {
        const [symbol, quantity] = initialFunding[this.random.below(initialFunding.length)]!;
        return { kind: 'deposit', transaction: this.deposit(trader, symbol, quantity, nowMs) };
      }
      waiting = true;
    }
    // While set-up requests wait for their answers, other requests go on (and are refused until the listings exist).
    return waiting && this.random.chance(0.5)
      ? { kind: 'deposit', transaction: this.deposit(this.pickTrader(), 'USDC', '1000', nowMs) }
      : undefined;
  }

  private request(kind: RequestKind, state: ExchangeState, nowMs: number): SimulatedRequest {
    const random = this.random;
    const trader = this.pickTrader();
    switch (kind) {
      case 'limit-order':
        return { kind, transaction: this.sign(trader, [this.limitOrder()], nowMs) };
      case 'order-batch': {
        const orders = Array.from({ length: random.between(2, 4) }, () => this.limitOrder());
        return { kind, transaction: this.sign(trader, orders, nowMs) };
      }
      case 'market-order': {
        const market = random.pick(markets);
        const params: Record<string, string> = {
          symbol: market.symbol,
          side: random.pick(['Bid', 'Ask']),
          orderType: 'Market',
        };
        if (random.chance(0.7)) params.quantity = market.quantity(random);
        else params.quoteQuantity = String(1 + random.below(2_000));
        return { kind, transaction: this.sign(trader, [{ instruction: 'orderExecute', params }], nowMs) };
      }
      case 'cancel': {
        const order = this.openOrderOf(state, random.chance(0.9) ? trader : this.pickTrader());
        const orderId = order?.id ?? 1 + random.below(Math.max(1, state.nextOrderId));
        const symbol = order?.market.symbol ?? random.pick(markets).symbol;
        // Sometimes a trader tries to cancel another trader's order.
        const signer = order !== undefined && random.chance(0.95) ? this.traderOf(order) : trader;
        return {
          kind,
          transaction: this.sign(
            signer,
            [{ instruction: 'orderCancel', params: { symbol, orderId: String(orderId) } }],
            nowMs,
          ),
        };
      }
      case 'cancel-by-client-id': {
        const params = { symbol: random.pick(markets).symbol, clientId: String(random.between(1, 20)) };
        return { kind, transaction: this.sign(trader, [{ instruction: 'orderCancel', params }], nowMs) };
      }
      case 'cancel-all':
        return {
          kind,
          transaction: this.sign(
            trader,
            [{ instruction: 'orderCancelAll', params: { symbol: random.pick(markets).symbol } }],
            nowMs,
          ),
        };
      case 'withdraw': {
        const [symbol, quantity] = random.pick([
          ['USDC', String(1 + random.below(5_000))],
          ['SOL', String(1 + random.below(50))],
          ['BTC', '0.01'],
        ] as const);
        const params = { symbol, quantity, address: `sim-address-${random.below(100)}`, blockchain: 'Solana' };
        return { kind, transaction: this.sign(trader, [{ instruction: 'withdraw', params }], nowMs) };
      }
      case 'deposit': {
        const [symbol, quantity] = random.pick(initialFunding);
        return {
          kind,
          transaction: this.deposit(trader, symbol, String(Math.max(1, Math.floor(Number(quantity) / 10))), nowMs),
        };
      }
      case 'duplicate-deposit': {
        // Credits a chain transaction that was (probably) credited before: the engine must refuse it.
        const params = {
          account: trader.accountId,
          symbol: 'USDC',
          quantity: '10',
          blockchain: 'Solana',
          chainTransactionId: `sim-deposit-${random.below(Math.max(1, this.depositsCredited))}`,
        };
        return { kind, transaction: this.sign(this.operator, [{ instruction: 'depositCredit', params }], nowMs) };
      }
      case 'withdrawal-complete':
      case 'withdrawal-fail': {
        const withdrawalId = this.pendingWithdrawalId(state);
        const params: Record<string, string> =
          kind === 'withdrawal-complete'
            ? {
                withdrawalId: String(withdrawalId),
                chainTransactionId: `sim-payout-${withdrawalId}-${random.below(1_000)}`,
              }
            : { withdrawalId: String(withdrawalId), reason: 'simulated payout failure' };
        return {
          kind,
          transaction: this.sign(
            this.operator,
            [{ instruction: kind === 'withdrawal-complete' ? 'withdrawalComplete' : 'withdrawalFail', params }],
            nowMs,
          ),
        };
      }
      case 'reserves-statement': {
        const asset = state.assets.length === 0 ? undefined : random.pick(state.assets);
        const symbol = asset?.symbol ?? 'USDC';
        const liabilities = asset === undefined ? 0n : asset.depositedUnits - asset.withdrawnUnits;
        // Mostly fully reserved with room for new deposits (110–200 %), sometimes short (90 %), so flagged attestations occur too.
        const percent = BigInt(random.chance(0.15) ? 90 : random.between(110, 200));
        const quantity = formatUnits((liabilities * percent) / 100n, asset?.decimals ?? 6);
        return {
          kind,
          transaction: this.sign(
            this.operator,
            [{ instruction: 'reservesStatement', params: { symbol, quantity } }],
            nowMs,
          ),
        };
      }
      case 'bad-signature': {
        const valid = this.sign(trader, [this.limitOrder()], nowMs);
        const signature = new Uint8Array(valid.signature);
        const index = random.below(signature.length);
        signature[index] = signature[index]! ^ (1 << random.below(8));
        return { kind, transaction: { ...valid, signature } };
      }
      case 'stale-timestamp':
        return { kind, transaction: this.sign(trader, [this.limitOrder()], nowMs - 120_000 - random.below(60_000)) };
      case 'unauthorized': {
        const params = {
          account: trader.accountId,
          symbol: 'USDC',
          quantity: '1000000',
          blockchain: 'Solana',
          chainTransactionId: `sim-forged-${random.below(1_000_000)}`,
        };
        return { kind, transaction: this.sign(trader, [{ instruction: 'depositCredit', params }], nowMs) };
      }
      case 'index-price':
      case 'lend':
      case 'borrow':
      case 'margin-order':
      case 'liquidate':
      case 'coverage-deposit':
        return { kind, transaction: this.margin.request(kind, state, nowMs) };
      case 'perp-order':
        return { kind, transaction: this.perps.request(state, nowMs) };
      case 'resubmission':
        return {
          kind,
          transaction:
            this.recent.length === 0 ? this.sign(trader, [this.limitOrder()], nowMs) : random.pick(this.recent),
        };
      default:
        return this.request('limit-order', state, nowMs);
    }
  }

  private limitOrder(): Group {
    const random = this.random;
    const market = random.pick(markets);
    const priceTicks = market.midTicks + random.between(-20, 20);
    const params: Record<string, string> = {
      symbol: market.symbol,
      side: random.pick(['Bid', 'Ask']),
      orderType: 'Limit',
      price: (priceTicks / 10 ** market.tickDecimals).toFixed(market.tickDecimals),
      quantity: market.quantity(random),
      timeInForce: random.pick(['GTC', 'GTC', 'GTC', 'IOC', 'FOK']),
      selfTradePrevention: random.pick(['RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow']),
    };
    if (params.timeInForce === 'GTC' && random.chance(0.1)) params.postOnly = 'true';
    if (random.chance(0.2)) params.clientId = String(random.between(1, 20));
    return { instruction: 'orderExecute', params };
  }

  private deposit(trader: Participant, symbol: string, quantity: string, nowMs: number): SignedTransaction {
    const chainTransactionId = `sim-deposit-${this.depositsCredited}`;
    this.depositsCredited += 1;
    const params = { account: trader.accountId, symbol, quantity, blockchain: 'Solana', chainTransactionId };
    return this.sign(this.operator, [{ instruction: 'depositCredit', params }], nowMs);
  }

  private pickTrader(): Participant {
    return this.random.pick(this.traders);
  }

  private traderOf(order: Order): Participant {
    return this.traders.find((trader) => trader.accountId === order.account.id) ?? this.pickTrader();
  }

  /** A random open order of `trader`, walking its list of open orders. */
  private openOrderOf(state: ExchangeState, trader: Participant): Order | undefined {
    const account = state.accounts.get(trader.accountId);
    if (account === undefined || account.openOrderCount === 0) return undefined;
    let order = account.firstOpenOrder;
    for (let skip = this.random.below(account.openOrderCount); skip > 0 && order !== undefined; skip -= 1)
      order = order.accountNext;
    return order;
  }

  private pendingWithdrawalId(state: ExchangeState): number {
    const pending = state.pendingWithdrawals;
    if (pending.size === 0 || this.random.chance(0.05))
      return 1 + this.random.below(Math.max(1, state.nextWithdrawalId));
    let skip = this.random.below(Math.min(pending.size, 4));
    for (const id of pending.keys()) {
      if (skip === 0) return id;
      skip -= 1;
    }
    return 1;
  }

  private sign(signer: Participant, groups: readonly Group[], timestampMs: number): SignedTransaction {
    const random = this.random;
    const message = encodeSigningStringBytes(
      groups.map((group) => ({ instruction: group.instruction, params: Object.entries(group.params) })),
      // Clients' clocks are a little off the exchange's.
      timestampMs + random.between(-500, 500),
      random.pick([5_000, 5_000, 10_000, 60_000]),
      { percentEncode: random.chance(0.5) },
    );
    return { message, publicKey: signer.publicKey, signature: signMessage(signer.seed, message) };
  }

  private remember(transaction: SignedTransaction): void {
    this.recent.push(transaction);
    if (this.recent.length > recentRequestsKept) this.recent.shift();
  }
}
