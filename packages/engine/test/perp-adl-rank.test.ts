/**
 * The ADL order (docs/perps.md, "Liquidation and ADL"; perps/adl-rank.ts):
 * positions on one side of a market ranked by PnL × notional ÷ equity,
 * highest first, ties to the lower ordinal, at most adlCounterpartiesPerStep
 * of them; the candidates are the market's holders of positions, which a
 * decoded state rebuilds so that it ranks exactly as the original.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { adlCounterpartiesPerStep, adlRankOf, rankedCounterparties, rankedSide } from '../src/perps/adl-rank.js';
import { credit } from '../src/balance-movements.js';
import { settlePerpCash } from '../src/perps/perp-cash.js';
import { movePosition } from '../src/perps/perp-settlement.js';
import { marketPositionsOf } from '../src/perps/position-queue.js';
import { decodeState, encodeState } from '../src/state-codec.js';
import { addAccount, type Account, type ExchangeState } from '../src/state.js';
import { runScenario } from './scenario-runner.js';

const setup = readFileSync(new URL('./scenarios/setup.scenario', import.meta.url), 'utf8');
const listing =
  '3 operator marketList symbol=SOL_USDC_PERP baseSymbol=SOL quoteSymbol=USDC tickSize=0.01 stepSize=0.01 ' +
  'minQuantity=0.01 maxQuantity=100000 minPrice=0.01 maxPrice=1000000 makerFeeBps=0 takerFeeBps=0 ' +
  'marketType=PERP imfBase=0.1 imfFactor=0 mmfBase=0.05 mmfFactor=0 -> ok';

const usdc = (whole: bigint) => whole * 1_000_000n;
const sol = (whole: bigint) => whole * 1_000_000_000n;

/** Opens a short of `size` SOL at `price` for a new account, against one long account; returns the short's. */
function openShort(state: ExchangeState, long: Account, name: number, size: bigint, price: bigint): Account {
  const account = addAccount(state, Buffer.alloc(32, 100 + name).toString('base64'), new Uint8Array(64));
  const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
  for (const [holder, delta] of [
    [account, -sol(size)],
    [long, sol(size)],
  ] as const) {
    const moved = movePosition(holder, market, delta, usdc(size * price), state.logTimeMs);
    market.perp!.openInterestUnits += moved.openInterestChangeUnits;
    // As a fill settles it: the short's gain in USDC, the long's loss borrowed from the USDC pool.
    settlePerpCash(state, state.recorder, holder, market.quote, moved.realisedUnits - moved.fundingUnits);
  }
  return account;
}

describe('the ADL order', () => {
  it('ranks by PnL × leverage, ties to the older account, at most adlCounterpartiesPerStep', () => {
    const state = runScenario(`${setup}\n${listing}`);
    const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
    const long = addAccount(state, Buffer.alloc(32, 99).toString('base64'), new Uint8Array(64));
    // Twelve shorts opened at prices 101 … 112 while the mark is 100: the higher the price, the larger the
    // gain, realised into USDC: each one's equity is its PnL, so the key PnL × notional ÷ equity is the notional.
    // Sizes 1 or 2: the larger notional ranks first; within a size, ties go to the older account.
    const shorts = Array.from({ length: 12 }, (_, index) =>
      openShort(state, long, index, index % 2 === 0 ? 1n : 2n, 101n + BigInt(index)),
    );
    const ranked = rankedSide(state, market, false).map((score) => score.account);
    const bySizeThenAge = [...shorts.filter((_, index) => index % 2 === 1), ...shorts.filter((_, i) => i % 2 === 0)];
    expect(ranked).toEqual(bySizeThenAge);
    const counterparties = rankedCounterparties(state, market, sol(18n), long);
    expect(counterparties).toEqual(bySizeThenAge.slice(0, adlCounterpartiesPerStep));
    expect(adlRankOf(state, shorts[1]!, market)).toMatchObject({ rank: 1, of: 12 });
    expect(adlRankOf(state, shorts[0]!, market)).toMatchObject({ rank: 7, of: 12 });
    expect(adlRankOf(state, long, market)).toMatchObject({ rank: 1, of: 1 });
    // A decoded state rebuilds the holders and ranks exactly as the original.
    const copy = decodeState(encodeState(state));
    const copyMarket = copy.marketsBySymbol.get('SOL_USDC_PERP')!;
    expect(rankedSide(copy, copyMarket, false).map((score) => score.account.id)).toEqual(
      ranked.map((account) => account.id),
    );
    expect(marketPositionsOf(copy, copyMarket).holders.size).toBe(13);
  });

  it('ranks a larger gain first at equal notional, and a loss last', () => {
    const state = runScenario(`${setup}\n${listing}`);
    const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
    const long = addAccount(state, Buffer.alloc(32, 99).toString('base64'), new Uint8Array(64));
    const losing = openShort(state, long, 0, 1n, 90n);
    const small = openShort(state, long, 1, 1n, 105n);
    const large = openShort(state, long, 2, 1n, 120n);
    // Each also holds 100 USDC: equity 100 + PnL, so the key PnL × notional ÷ (100 + PnL) grows with the gain.
    for (const account of [losing, small, large]) credit(state.recorder, account.balance(market.quote), usdc(100n));
    expect(rankedSide(state, market, false).map((score) => score.account)).toEqual([large, small, losing]);
  });
});
