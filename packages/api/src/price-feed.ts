/**
 * Index prices into the log (docs/margin.md, "Prices"; docs/operator.md,
 * "Prices and the keeper"). Each price is an operator-signed
 * indexPriceUpdate, submitted like any transaction. Where prices come from is
 * the operator's choice (config `priceFeed`, or env PRICE_FEED):
 *   - "demo": the built-in feed, a deterministic random walk (±0.5 % per
 *     step from a fixed seed) around the configured start prices, one update
 *     per borrowable asset every intervalMs: `pnpm start` shows live margin
 *     numbers and, with a leveraged account, liquidations;
 *   - "off": no feed; prices are posted by `pnpm exchange price` (or any
 *     operator tool that signs indexPriceUpdate).
 */
import {
  encodeSigningStringBytes,
  formatDecimal,
  maximumWindowMs,
  publicKeyFromSeed,
  settlementAssetSymbol,
  signMessage,
} from '@vex/engine';
import type { ExchangeNodePort, SubmitResult } from './node-port.js';

export interface PriceFeedLogger {
  warn(object: object, message: string): void;
}

/** Signs and submits one indexPriceUpdate with the operator's seed, published now. */
export async function postIndexPrice(
  node: Pick<ExchangeNodePort, 'state' | 'submit'>,
  seed: Uint8Array,
  symbol: string,
  price: string,
  clock: () => number = Date.now,
): Promise<SubmitResult> {
  const asset = node.state.assetsBySymbol.get(symbol);
  const timeMs = Math.max(Math.floor(clock()), node.state.logTimeMs, (asset?.margin?.priceUpdatedAtMs ?? 0) + 1);
  const params: Array<[string, string]> = [
    ['price', price],
    ['publishedAtMs', String(timeMs)],
    ['symbol', symbol],
  ];
  const message = encodeSigningStringBytes([{ instruction: 'indexPriceUpdate', params }], timeMs, maximumWindowMs);
  return node.submit({ message, publicKey: publicKeyFromSeed(seed), signature: signMessage(seed, message) });
}

/** Start prices of the demo walk, in USDC per whole unit (decimals as strings). */
export const demoStartPrices: Readonly<Record<string, string>> = { SOL: '150', BTC: '90000' };

/** Hundred-millionths: the walk keeps eight decimals. */
const priceScale = 8;
const oneMillion = 1_000_000n;

export interface DemoPriceFeedOptions {
  readonly node: Pick<ExchangeNodePort, 'state' | 'submit'>;
  readonly seed: Uint8Array;
  readonly intervalMs?: number;
  readonly startPrices?: Readonly<Record<string, string>>;
  /** The walk's seed: the same seed walks the same path. */
  readonly walkSeed?: bigint;
  readonly clock?: () => number;
  readonly logger?: PriceFeedLogger;
}

/** The demo feed's walk, apart from its timer so a test can step it. */
export class PriceWalk {
  private state: bigint;
  private readonly prices = new Map<string, bigint>();

  constructor(startPrices: Readonly<Record<string, string>>, walkSeed: bigint) {
    this.state = walkSeed & 0xffff_ffff_ffff_ffffn;
    for (const [symbol, price] of Object.entries(startPrices)) {
      const [whole, fraction = ''] = price.split('.');
      this.prices.set(symbol, BigInt(whole! + fraction.padEnd(priceScale, '0').slice(0, priceScale)));
    }
  }

  /** xorshift64: a fixed sequence from the seed. */
  private next(): bigint {
    let x = this.state;
    x ^= (x << 13n) & 0xffff_ffff_ffff_ffffn;
    x ^= x >> 7n;
    x ^= (x << 17n) & 0xffff_ffff_ffff_ffffn;
    this.state = x;
    return x;
  }

  /** The next price of `symbol`: the last one moved by −0.5 % to +0.5 %. */
  step(symbol: string): string {
    const last = this.prices.get(symbol);
    if (last === undefined) throw new Error(`No start price for ${symbol}.`);
    const movePpm = (this.next() % 10_001n) - 5_000n;
    const price = (last * (oneMillion + movePpm)) / oneMillion;
    this.prices.set(symbol, price > 0n ? price : 1n);
    return formatDecimal(price, priceScale);
  }

  /** Sets the walk's current price (after a price posted by hand, so the walk continues from it). */
  set(symbol: string, price: string): void {
    const [whole, fraction = ''] = price.split('.');
    this.prices.set(symbol, BigInt(whole! + fraction.padEnd(priceScale, '0').slice(0, priceScale)));
  }

  symbols(): string[] {
    return [...this.prices.keys()];
  }
}

/** Starts the demo feed; returns the function that stops it. */
export function startDemoPriceFeed(options: DemoPriceFeedOptions): () => void {
  const walk = new PriceWalk(options.startPrices ?? demoStartPrices, options.walkSeed ?? 0x5eed_cafe_f00dn);
  const clock = options.clock ?? Date.now;
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      for (const symbol of walk.symbols()) {
        const asset = options.node.state.assetsBySymbol.get(symbol);
        if (asset?.margin === undefined || symbol === settlementAssetSymbol) continue;
        // Continue from the log's price, so a price posted by hand (pnpm exchange price) moves the walk too.
        if (asset.margin.indexPrice > 0n) walk.set(symbol, formatDecimal(asset.margin.indexPrice, 18));
        const result = await postIndexPrice(options.node, options.seed, symbol, walk.step(symbol), clock);
        if (!result.outcome.accepted)
          options.logger?.warn({ symbol, rejection: result.outcome.rejection }, 'price feed: update refused');
      }
    } catch (error) {
      options.logger?.warn({ err: error }, 'price feed: update not submitted');
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), options.intervalMs ?? 2_000);
  timer.unref();
  return () => clearInterval(timer);
}
