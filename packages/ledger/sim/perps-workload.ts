/**
 * The simulated users' perpetual requests (docs/perps.md): once the margin
 * set-up is in (SOL and BTC have index prices), the operator lists
 * SOL_USDC_PERP and BTC_USDC_PERP with one- and two-second funding
 * intervals, so that the simulation's seconds of log time cross many
 * funding and sample boundaries and realisation windows; traders then send
 * perpetual orders (limit GTC and IOC near the index, market orders,
 * reduce-only ones) while margin-workload.ts keeps moving the index prices.
 * Some are refused by design (reduce-only without a position, orders beyond
 * the trader's margin).
 */
import { type ExchangeState, type SignedTransaction, wad } from '@vex/engine';
import type { MarginGroup, MarginParticipant } from './margin-workload.js';
import type { SeededRandom } from './seeded-random.js';
import { solUsdcPerpListingParams } from '../../engine/test/support-listings.js';

export type PerpRequestKind = 'perp-listing' | 'perp-order';

type Sign = (signer: MarginParticipant, groups: readonly MarginGroup[], nowMs: number) => SignedTransaction;

interface PerpShape {
  readonly symbol: string;
  readonly base: string;
  readonly tickDecimals: number;
  readonly stepDecimals: number;
  /** The largest order, in steps. */
  readonly maxSteps: number;
  /** The marketList parameters as signed. */
  readonly listing: Readonly<Record<string, string>>;
}

const perpMarkets: readonly PerpShape[] = [
  {
    symbol: 'SOL_USDC_PERP',
    base: 'SOL',
    tickDecimals: 2,
    stepDecimals: 2,
    maxSteps: 3_000,
    // The tests' SOL_USDC_PERP (Backpack's margin functions), with funding every second.
    listing: { ...solUsdcPerpListingParams, fundingIntervalMs: '1000' },
  },
  {
    symbol: 'BTC_USDC_PERP',
    base: 'BTC',
    tickDecimals: 1,
    stepDecimals: 4,
    maxSteps: 2_000,
    listing: {
      symbol: 'BTC_USDC_PERP',
      baseSymbol: 'BTC',
      quoteSymbol: 'USDC',
      marketType: 'PERP',
      tickSize: '0.1',
      stepSize: '0.0001',
      minQuantity: '0.0001',
      maxQuantity: '1000',
      minPrice: '0.1',
      maxPrice: '10000000',
      makerFeeBps: '0',
      takerFeeBps: '4',
      imfBase: '0.04',
      imfFactor: '0',
      mmfBase: '0.02',
      mmfFactor: '0',
      fundingIntervalMs: '2000',
      fundingRateUpperBoundBps: '50',
      fundingRateLowerBoundBps: '-50',
    },
  },
];

/** `ticks` with `decimals` decimals, as a decimal string. */
function ticksText(ticks: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const fraction = (ticks % scale).toString().padStart(decimals, '0');
  return decimals === 0 ? ticks.toString() : `${ticks / scale}.${fraction}`;
}

/** What a set-up step asks for: a request, 'waiting' while earlier ones are not in the state yet, or nothing left. */
type SetUpStep = { kind: PerpRequestKind; transaction: SignedTransaction } | 'waiting' | undefined;

export class PerpsWorkload {
  private readonly random: SeededRandom;
  private readonly operator: MarginParticipant;
  private readonly traders: readonly MarginParticipant[];
  private readonly sign: Sign;

  constructor(parties: {
    random: SeededRandom;
    operator: MarginParticipant;
    traders: readonly MarginParticipant[];
    sign: Sign;
  }) {
    ({ random: this.random, operator: this.operator, traders: this.traders, sign: this.sign } = parties);
  }

  /** The perpetual listings, once their base assets have index prices; undefined once all are listed. */
  setUpRequest(state: ExchangeState, nowMs: number, due: (name: string) => boolean): SetUpStep {
    let waiting = false;
    for (const market of perpMarkets) {
      if (state.marketsBySymbol.has(market.symbol)) continue;
      waiting = true;
      if ((state.assetsBySymbol.get(market.base)?.margin?.indexPrice ?? 0n) === 0n) continue;
      if (!due(`perp listing ${market.symbol}`)) continue;
      const transaction = this.sign(this.operator, [{ instruction: 'marketList', params: market.listing }], nowMs);
      return { kind: 'perp-listing', transaction };
    }
    return waiting ? 'waiting' : undefined;
  }

  /**
   * A perpetual order by a random trader: mostly a limit order within 2 % of
   * the index (GTC or IOC), sometimes a market order; a fifth of the IOC and
   * market ones reduce-only, sized by the trader's position when it has one.
   */
  request(state: ExchangeState, nowMs: number): SignedTransaction {
    const random = this.random;
    const trader = random.pick(this.traders);
    const shape = random.pick(perpMarkets);
    const market = state.marketsBySymbol.get(shape.symbol);
    const index = state.assetsBySymbol.get(shape.base)?.margin?.indexPrice ?? 0n;
    const position =
      market === undefined ? undefined : state.accounts.get(trader.accountId)?.positions.get(market.index);
    const side = random.pick(['Bid', 'Ask'] as const);
    let steps = BigInt(1 + random.below(random.chance(0.2) ? shape.maxSteps : shape.maxSteps / 10));
    const params: Record<string, string> = { symbol: shape.symbol, side };
    const kind = random.below(4);
    if (kind >= 2 && random.chance(0.2)) {
      params.reduceOnly = 'true';
      // Mostly against the position, to close part or all of it.
      if (position !== undefined && random.chance(0.8)) {
        params.side = position.quantityUnits > 0n ? 'Ask' : 'Bid';
        const stepUnits = market!.stepUnits;
        const held = (position.quantityUnits < 0n ? -position.quantityUnits : position.quantityUnits) / stepUnits;
        steps = held > 0n ? 1n + BigInt(random.below(Number(held < 10_000n ? held : 10_000n))) : steps;
      }
    }
    params.quantity = ticksText(steps, shape.stepDecimals);
    if (kind === 3) params.orderType = 'Market';
    else {
      const ticks = (index * 10n ** BigInt(shape.tickDecimals)) / wad;
      const priceTicks = ticks + (ticks * BigInt(random.between(-20, 20))) / 1_000n;
      params.orderType = 'Limit';
      params.price = ticksText(priceTicks > 0n ? priceTicks : 1n, shape.tickDecimals);
      params.timeInForce = kind === 2 ? 'IOC' : 'GTC';
    }
    return this.sign(trader, [{ instruction: 'orderExecute', params }], nowMs);
  }
}
