/**
 * A seeded generator of realistic signed logs: an operator lists assets and
 * markets and credits deposits, traders place, cancel and withdraw. The same
 * seed always yields the same bytes, so tests in separate processes (and
 * later the ledger and replayer) can build identical logs.
 */
import { accountIdOf } from '../src/account-id.js';
import type { LogEntry } from '../src/apply.js';
import { publicKeyFromSeed, signMessage } from '../src/signature.js';
import { encodeSigningStringBytes } from '../src/signing-string.js';
import { solUsdcListingParams } from './support-listings.js';

/** splitmix32: tiny, fast, and identical on every platform. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 16), 0x85ebca6b) >>> 0;
    value = Math.imul(value ^ (value >>> 13), 0xc2b2ae35) >>> 0;
    return (value ^ (value >>> 16)) >>> 0;
  };
}

export interface Signer {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly accountId: string;
}

export function signerFromByte(fill: number): Signer {
  const seed = new Uint8Array(32).fill(fill);
  const publicKey = publicKeyFromSeed(seed);
  return { seed, publicKey, accountId: accountIdOf(publicKey) };
}

export function signedEntry(
  signer: Signer,
  instruction: string,
  params: Record<string, string>,
  logTimeMs: number,
  options: { windowMs?: number; percentEncode?: boolean } = {},
): LogEntry {
  const message = encodeSigningStringBytes(
    [{ instruction, params: Object.entries(params) }],
    logTimeMs,
    options.windowMs ?? 5_000,
    { percentEncode: options.percentEncode ?? false },
  );
  return {
    logTimeMs,
    transaction: { message, publicKey: signer.publicKey, signature: signMessage(signer.seed, message) },
  };
}

export const demoListing: ReadonlyArray<readonly [string, Record<string, string>]> = [
  ['assetList', { symbol: 'SOL', decimals: '9' }],
  ['assetList', { symbol: 'BTC', decimals: '8' }],
  ['assetList', { symbol: 'USDC', decimals: '6' }],
  ['marketList', solUsdcListingParams],
  [
    'marketList',
    {
      symbol: 'BTC_USDC',
      baseSymbol: 'BTC',
      quoteSymbol: 'USDC',
      tickSize: '0.1',
      stepSize: '0.00001',
      minQuantity: '0.00001',
      maxQuantity: '1000',
      minPrice: '0.1',
      maxPrice: '10000000',
      makerFeeBps: '0',
      takerFeeBps: '10',
    },
  ],
];

/** A signed random log of `entryCount` entries (plus set-up) from `seed`. */
export function randomSignedLog(
  seed: number,
  entryCount: number,
): { entries: LogEntry[]; operator: Signer; traders: Signer[] } {
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[next() % items.length]!;
  const operator = signerFromByte(200);
  const traders = Array.from({ length: 6 }, (_, index) => signerFromByte(index + 1));
  const entries: LogEntry[] = [];
  let time = 1_800_000_000_000;
  for (const [instruction, params] of demoListing) entries.push(signedEntry(operator, instruction, params, time++));
  traders.forEach((trader, index) => {
    for (const [symbol, quantity] of [
      ['SOL', '5000'],
      ['BTC', '50'],
      ['USDC', '1000000'],
    ] as const) {
      entries.push(
        signedEntry(
          operator,
          'depositCredit',
          {
            account: trader.accountId,
            symbol,
            quantity,
            blockchain: 'Solana',
            chainTransactionId: `${symbol}-${index}`,
          },
          time++,
        ),
      );
    }
  });
  for (let count = 0; count < entryCount; count += 1) {
    time += next() % 3;
    const trader = pick(traders);
    const roll = next() % 100;
    const market = pick(['SOL_USDC', 'BTC_USDC'] as const);
    const mid = market === 'SOL_USDC' ? 10_000 : 600_000;
    const tick = market === 'SOL_USDC' ? 100 : 10;
    const price = (mid + ((next() % 41) - 20)) / tick;
    const quantity = market === 'SOL_USDC' ? String(1 + (next() % 500) / 100) : String((1 + (next() % 900)) / 100_000);
    const smallQuantity =
      market === 'SOL_USDC' ? String((1 + (next() % 20)) / 100) : String((1 + (next() % 20)) / 100_000);
    let params: Record<string, string>;
    let instruction = 'orderExecute';
    if (roll < 55) {
      const side = pick(['Bid', 'Ask'] as const);
      const timeInForce = pick(['GTC', 'GTC', 'GTC', 'IOC', 'FOK'] as const);
      // IOC and FOK orders that would execute nothing are refused, so they are priced to cross the band
      // and sized small.
      const taking = timeInForce !== 'GTC';
      const limitPrice = taking ? (mid + (side === 'Bid' ? 20 : -20)) / tick : price;
      params = {
        symbol: market,
        side,
        orderType: 'Limit',
        price: String(limitPrice),
        quantity: taking ? smallQuantity : quantity,
        timeInForce,
        selfTradePrevention: pick(['RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow']),
      };
      if (next() % 4 === 0) params.clientId = String(next() % 50);
    } else if (roll < 65) {
      params = { symbol: market, side: pick(['Bid', 'Ask']), orderType: 'Market', quantity: smallQuantity };
    } else if (roll < 90) {
      instruction = 'orderCancel';
      params = { symbol: market, orderId: String(1 + (next() % (count + 1))) };
    } else if (roll < 95) {
      instruction = 'orderCancelAll';
      params = { symbol: market };
    } else {
      instruction = 'withdraw';
      params = {
        symbol: 'USDC',
        quantity: String(1 + (next() % 100)),
        address: `addr ${next() % 10}/x+y`,
        blockchain: 'Solana',
      };
    }
    entries.push(signedEntry(trader, instruction, params, time, { percentEncode: next() % 2 === 0 }));
  }
  return { entries, operator, traders };
}
