/**
 * The perps workload of `pnpm bench:engine` (perps.bench.ts) and the spot
 * stream of the same shape it is compared with. Seeded (splitmix32), built
 * before any timing; docs/benchmarks.md, "Perps workload", describes it.
 *
 * Perps: orders on SOL_USDC_PERP and BTC_USDC_PERP (GTC limit orders that
 * mostly rest, IOC limit and market orders that take, reduce-only IOC and
 * market orders, cancel-alls) by 1,000 traders; an operator index price
 * update every 100 operations for each base asset (SOL at operations
 * ≡ 0 mod 100, BTC at ≡ 50), a mean-reverting random walk of up to ±3 % a
 * step; keeper `liquidate` attempts on 5 % of operations; log time
 * advancing `stepMs` (10 ms) an operation, so that premium samples (every
 * 5 s), funding boundaries (the listing's 10-minute interval: 16 at 1M
 * operations) and the traders' 10-second realisation windows fall inside the
 * run. Spot: the same stream (the same draws, so the same prices) on
 * SOL_USDC and BTC_USDC, with the perps-only operations replaced (a price
 * update by the order or cancel its slot draws, a liquidation attempt by a
 * cancel-all) and no reduce-only flag, on accounts funded so that funds
 * rarely refuse an order.
 */
import { createState, type ExchangeState, type Instruction, type OrderRequest } from '../src/index.js';
import { seededRandom } from '../test/random-log.js';
import { benchListing, indexedKey, mustExecute } from './bench-support.js';

/**
 * Perp-only liquidations. `liquidate` accepts only accounts that borrow on
 * this branch, so by default every second trader also borrows 100 USDC
 * against 20 SOL (as in margin.bench.ts) and can be liquidated. Once
 * `liquidate` accepts accounts that hold nothing but USDC and positions
 * (branch `perpliq`), set this to true: the traders then hold USDC only, borrow
 * nothing at set-up, and the keeper's attempts target perp-only accounts.
 */
export const perpOnlyLiquidations = true;

export interface PerpsWorkloadOptions {
  readonly operations: number;
  readonly seed: number;
  readonly accountCount: number;
  /** Log time advanced per operation. */
  readonly stepMs: number;
}

export type WorkloadEntry = readonly [signer: string, instruction: Instruction, timeMs: number];

export const startMs = 1_750_000_000_000;
export const operator = indexedKey(1_000_000);
const keeper = indexedKey(1_000_001);
/** Accounts that lend the USDC pool's cash, so that losses can always be borrowed. */
const lenderCount = 4;
const lenderKey = (index: number): string => indexedKey(2_000_000 + index);
/** The perpetuals' funding interval: short, so that boundaries fall inside even a 100k run. */
export const fundingIntervalMs = 600_000;

/** One base asset: its spot market and its perpetual, prices as integer ticks. */
interface Underlying {
  readonly base: string;
  readonly decimals: number;
  readonly tickSize: string;
  readonly stepSize: string;
  /** Digits after the point of a price in ticks. */
  readonly priceDecimals: number;
  readonly startTicks: number;
  /** An order's quantity: `1 + random % quantitySpread` times `quantityUnit`, as text. */
  readonly quantity: (draw: number) => string;
  readonly maxPrice: string;
  readonly imf: readonly [base: string, factor: string];
  readonly mmf: readonly [base: string, factor: string];
}

const underlyings: readonly Underlying[] = [
  {
    base: 'SOL',
    decimals: 9,
    tickSize: '0.01',
    stepSize: '0.01',
    priceDecimals: 2,
    startTicks: 10_000,
    quantity: (draw) => String(1 + (draw % 5)),
    maxPrice: '100000',
    // Backpack's SOL_USDC_PERP functions.
    imf: ['0.02', '0.0001275'],
    mmf: ['0.0125', '0.0000765'],
  },
  {
    base: 'BTC',
    decimals: 8,
    tickSize: '0.1',
    stepSize: '0.0001',
    priceDecimals: 1,
    startTicks: 500_000,
    quantity: (draw) => `0.00${1 + (draw % 9)}`,
    maxPrice: '10000000',
    imf: ['0.02', '0.0000935'],
    mmf: ['0.01', '0.000056'],
  },
];

const spotSymbol = (underlying: Underlying): string => `${underlying.base}_USDC`;
const perpSymbol = (underlying: Underlying): string => `${underlying.base}_USDC_PERP`;

function priceText(ticks: number, decimals: number): string {
  const scale = 10 ** decimals;
  return `${Math.floor(ticks / scale)}.${String(ticks % scale).padStart(decimals, '0')}`;
}

function listMarkets(state: ExchangeState, perps: boolean, t: number): void {
  const must = mustExecute;
  for (const underlying of underlyings) {
    const common = {
      kind: 'marketList' as const,
      baseSymbol: underlying.base,
      quoteSymbol: 'USDC',
      tickSize: underlying.tickSize,
      stepSize: underlying.stepSize,
      minQuantity: underlying.stepSize,
      maxQuantity: '100000',
      minPrice: underlying.tickSize,
      maxPrice: underlying.maxPrice,
      makerFeeBps: 2,
      takerFeeBps: 5,
    };
    must(state, operator, { ...common, symbol: spotSymbol(underlying) }, t);
    if (!perps) continue;
    must(
      state,
      operator,
      {
        ...common,
        symbol: perpSymbol(underlying),
        marketType: 'PERP',
        imfBase: underlying.imf[0],
        imfFactor: underlying.imf[1],
        mmfBase: underlying.mmf[0],
        mmfFactor: underlying.mmf[1],
        fundingIntervalMs,
      },
      t,
    );
  }
}

function listLending(state: ExchangeState, t: number): void {
  const common = { kind: 'borrowLendMarketList' as const, ...benchListing };
  const usdc = { ...common, symbol: 'USDC', collateralWeight: '1', imfBase: '0.2', mmfBase: '0.1', maxPriceMove: '0' };
  mustExecute(state, operator, usdc, t);
  for (const underlying of underlyings) {
    const listing = { ...common, symbol: underlying.base, collateralWeight: '0.8', imfBase: '0.3', mmfBase: '0.15' };
    mustExecute(state, operator, { ...listing, maxPriceMove: '0.1' }, t);
    const price = priceText(underlying.startTicks, underlying.priceDecimals);
    mustExecute(state, operator, { kind: 'indexPriceUpdate', symbol: underlying.base, price, publishedAtMs: t }, t);
  }
}

function deposit(state: ExchangeState, account: string, symbol: string, quantity: string, t: number): void {
  const chainTransactionId = `${symbol}-${account}`;
  const instruction = { kind: 'depositCredit' as const, account, symbol, quantity, blockchain: 'Solana' };
  mustExecute(state, operator, { ...instruction, chainTransactionId }, t);
}

/** The state before the stream: assets, markets and funded accounts (perps: lending too). */
export function setUpState(perps: boolean, options: PerpsWorkloadOptions): ExchangeState {
  const state = createState({ exchangeName: 'perps-bench', operatorKeys: [operator], feeAccount: operator });
  const t = startMs;
  mustExecute(state, operator, { kind: 'assetList', symbol: 'USDC', decimals: 6 }, t);
  for (const underlying of underlyings)
    mustExecute(state, operator, { kind: 'assetList', symbol: underlying.base, decimals: underlying.decimals }, t);
  listMarkets(state, perps, t);
  if (perps) {
    listLending(state, t);
    for (let index = 0; index < lenderCount; index += 1) {
      deposit(state, lenderKey(index), 'USDC', '25000000', t);
      const lend = { kind: 'borrowLendExecute' as const, symbol: 'USDC', side: 'Lend' as const, quantity: '25000000' };
      mustExecute(state, lenderKey(index), lend, t);
    }
  }
  for (let index = 0; index < options.accountCount; index += 1) {
    const account = indexedKey(index);
    if (!perps) {
      // Spot: enough of everything that funds rarely refuse an order, so the spot figure is of orders that work.
      deposit(state, account, 'USDC', '1000000', t);
      for (const underlying of underlyings) deposit(state, account, underlying.base, '10000', t);
      continue;
    }
    // 200 to 2,000 USDC: the thinly funded traders' losses outgrow their USDC as prices move.
    deposit(state, account, 'USDC', String(200 * (1 + (index % 10))), t);
    if (perpOnlyLiquidations || index % 2 === 0) continue;
    // Every second trader borrows against SOL, so that `liquidate` (borrowers only on this branch) can take it.
    deposit(state, account, 'SOL', '20', t);
    mustExecute(state, account, { kind: 'borrowLendExecute', symbol: 'USDC', side: 'Borrow', quantity: '100' }, t);
  }
  return state;
}

/** A mean-reverting walk: up to ±3 % of the start a step, pulled back by 1/50 of the distance, within ±50 %. */
function walk(ticks: number, startTicks: number, draw: number): number {
  const move = Math.round((((draw % 601) - 300) * startTicks) / 10_000);
  const next = ticks + move - Math.round((ticks - startTicks) / 50);
  return Math.min(Math.max(next, Math.round(startTicks / 2)), Math.round((startTicks * 3) / 2));
}

/**
 * One order request, its fields in the order parseInstruction gives them and
 * only those present (as its definedFields leaves them), built field by
 * field: the shapes the parser hands execute(), not spread copies (which
 * V8 may keep as slower dictionary objects and which would bloat both runs).
 */
function order(
  underlying: Underlying,
  perps: boolean,
  next: () => number,
  indexTicks: number,
  kind: 'limit' | 'market' | 'reduce',
): OrderRequest {
  const side = next() % 2 === 0 ? 'Bid' : 'Ask';
  const quantity = underlying.quantity(next());
  const symbol = perps ? perpSymbol(underlying) : spotSymbol(underlying);
  const request: Record<string, unknown> = { symbol, side };
  if (kind !== 'limit' && next() % 2 === 0) {
    request.orderType = 'Market';
    request.quantity = quantity;
    request.timeInForce = 'IOC';
  } else {
    // Within ±1 % of the index, shifted 0.3 % away from the other side (GTC: mostly rests) or toward it (IOC: takes).
    const timeInForce = kind === 'limit' && next() % 2 === 0 ? 'GTC' : 'IOC';
    const offset = Math.round((((next() % 201) - 100) * underlying.startTicks) / 10_000);
    const shift = Math.round((underlying.startTicks * (timeInForce === 'GTC' ? 3 : -3)) / 1000);
    const priceTicks = indexTicks + (side === 'Bid' ? offset - shift : offset + shift);
    request.orderType = 'Limit';
    request.price = priceText(priceTicks, underlying.priceDecimals);
    request.quantity = quantity;
    request.timeInForce = timeInForce;
  }
  request.postOnly = false;
  request.selfTradePrevention = 'RejectTaker';
  if (perps && kind === 'reduce') request.reduceOnly = true;
  return request as unknown as OrderRequest;
}

/** The stream of `options.operations` entries: perps, or the spot stream of the same shape. */
export function workload(perps: boolean, options: PerpsWorkloadOptions): WorkloadEntry[] {
  const next = seededRandom(options.seed);
  const stream: WorkloadEntry[] = [];
  const indexTicks = underlyings.map((underlying) => underlying.startTicks);
  const traders = Array.from({ length: options.accountCount }, (_, index) => indexedKey(index));
  let timeMs = startMs;
  for (let op = 0; op < options.operations; op += 1) {
    timeMs += options.stepMs;
    const trader = traders[next() % options.accountCount]!;
    const which = next() % underlyings.length;
    const underlying = underlyings[which]!;
    const roll = next() % 100;
    const priced = op % 50 === 0 ? underlyings[(op / 50) % 2]! : undefined;
    // The index walks in both streams, so that the spot orders follow the same prices as the perpetual ones.
    if (priced !== undefined) {
      const position = underlyings.indexOf(priced);
      indexTicks[position] = walk(indexTicks[position]!, priced.startTicks, next());
    }
    if (perps && priced !== undefined) {
      const price = priceText(indexTicks[underlyings.indexOf(priced)]!, priced.priceDecimals);
      stream.push([operator, { kind: 'indexPriceUpdate', symbol: priced.base, price, publishedAtMs: timeMs }, timeMs]);
    } else if (perps && roll < 5) {
      stream.push([keeper, { kind: 'liquidate', account: trader }, timeMs]);
    } else if (roll < 10) {
      const symbol = perps ? perpSymbol(underlying) : spotSymbol(underlying);
      stream.push([trader, { kind: 'orderCancelAll', symbol }, timeMs]);
    } else {
      const kind = roll < 20 ? 'reduce' : roll < 30 ? 'market' : 'limit';
      const request = order(underlying, perps, next, indexTicks[which]!, kind);
      stream.push([trader, { kind: 'orderExecute', orders: [request] }, timeMs]);
    }
  }
  return stream;
}
