/**
 * The per-(account, perpetual) holdings (perps/perp-holding.ts): each is its account's position (the object in
 * `account.positions` while open, none once flat) and holds its resting orders' totals, its place in the
 * realisation order and its USDC balance; a resting order reaches its account's holding. All derived but the
 * position's fields: the invariants fail a holding that disagrees with the state, and a decoded state rebuilds
 * them and goes on to the same state.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../src/invariants.js';
import { marketPositionsOf } from '../src/perps/position-queue.js';
import { decodeState, encodeState } from '../src/state-codec.js';
import type { PerpMarketState } from '../src/perps/perp-market.js';
import { openPositionOf } from '../src/perps/perp-holding.js';
import { copyOfPosition, type Position } from '../src/perps/position.js';
import type { Account, ExchangeState, Market } from '../src/state.js';
import { runScenario, scenarioKeys } from './scenario-runner.js';

const setup = readFileSync(new URL('scenarios/setup.scenario', import.meta.url), 'utf8');
// perp-funding-and-borrow.scenario's opening: carol long 15 against erin's short, erin's ask of 2 more resting,
// then an operator entry an hour later whose sweep realises both (their funding settled into USDC).
const opening = [
  '3 operator marketList symbol=SOL_USDC_PERP baseSymbol=SOL quoteSymbol=USDC tickSize=0.01 stepSize=0.01' +
    ' minQuantity=0.01 maxQuantity=100000 minPrice=0.01 maxPrice=1000000 makerFeeBps=0 takerFeeBps=0' +
    ' marketType=PERP imfBase=0.1 imfFactor=0 mmfBase=0.05 mmfFactor=0 -> ok',
  '4 erin orderExecute symbol=SOL_USDC_PERP side=Ask orderType=Limit price=100 quantity=17 -> ok',
  '4 carol orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Market quantity=15 -> ok',
].join('\n');
const sweep = '3600000 operator indexPriceUpdate symbol=SOL price=100 publishedAtMs=3600000 -> ok';

interface Opened {
  state: ExchangeState;
  market: Market;
  carol: Account;
  erin: Account;
}

function opened(): Opened {
  const state = runScenario(`${setup}\n${opening}`);
  const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
  const carol = state.accounts.get(scenarioKeys.get('carol')!)!;
  const erin = state.accounts.get(scenarioKeys.get('erin')!)!;
  return { state, market, carol, erin };
}

/** What the holdings of `state` hold, by account id and market index, in terms the two states can compare. */
function holdingsOf(state: ExchangeState): string[] {
  const rows: string[] = [];
  for (const account of state.accountList) {
    for (const [marketIndex, holding] of account.perpHoldings.entries()) {
      if (holding === undefined) continue;
      rows.push(
        [
          account.id,
          marketIndex,
          holding.open ? `${holding.quantityUnits}/${holding.costBasisUnits}` : '-',
          holding.bidSteps,
          holding.bidQuoteUnits,
          holding.askSteps,
          holding.askQuoteUnits,
          holding.reduceOnly.map((order) => order.id).join(','),
        ].join(' '),
      );
    }
  }
  return rows;
}

/** Runs the same rows on the state and its copy, and expects the same state and holdings after them. */
function expectSameAfter(rows: string, state: ExchangeState, copy: ExchangeState): void {
  runScenario(rows, state);
  runScenario(rows, copy);
  expect(Buffer.from(encodeState(copy)).equals(Buffer.from(encodeState(state)))).toBe(true);
  expect(holdingsOf(copy)).toEqual(holdingsOf(state));
  checkInvariants(copy);
}

describe('the perpetual holdings', () => {
  it('hold the positions, the resting totals and the USDC balances of their accounts', () => {
    const { state, market, carol, erin } = opened();
    const carolHolding = carol.perpHoldings[market.index]!;
    const erinHolding = erin.perpHoldings[market.index]!;
    expect(carol.positions.get(market.index)).toBe(carolHolding);
    expect(carolHolding.open).toBe(true);
    expect(carolHolding.quantityUnits).toBe(15_000_000_000n);
    expect(erin.positions.get(market.index)).toBe(erinHolding);
    // erin's ask rests with 2 of its 17 left; it reaches her holding.
    expect(erinHolding.askSteps).toBe(200n);
    const resting = [...state.orders.values()].filter((order) => order.account === erin);
    expect(resting.map((order) => order.perpHolding)).toEqual([erinHolding]);
    // The fills moved both USDC balances: the holdings keep them.
    expect(carolHolding.settlementBalance).toBe(carol.balances[market.quote.index]);
    expect(erinHolding.settlementBalance).toBe(erin.balances[market.quote.index]);
    // The market's index holds the holdings themselves.
    const holders = marketPositionsOf(state, market).holders;
    expect(holders.get(carol.ordinal)).toBe(carolHolding);
    expect(holders.get(erin.ordinal)).toBe(erinHolding);
    checkInvariants(state);
    runScenario(sweep, state);
    expect(carolHolding.settlementBalance).toBe(carol.balances[market.quote.index]);
    checkInvariants(state);
  });

  it('let go of a closed position and keep the holding', () => {
    const { state, market, carol } = opened();
    const holding = carol.perpHoldings[market.index]!;
    // erin's bid takes all of carol's 15 back: carol is flat.
    runScenario(
      [
        '6 erin orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Limit price=99 quantity=15 -> ok',
        '6 carol orderExecute symbol=SOL_USDC_PERP side=Ask orderType=Market quantity=15 -> ok',
      ].join('\n'),
      state,
    );
    expect(carol.positions.has(market.index)).toBe(false);
    expect(carol.perpHoldings[market.index]).toBe(holding);
    expect(holding.open).toBe(false);
    expect(carol.positions.get(market.index)).toBeUndefined();
    expect(marketPositionsOf(state, market).holders.has(carol.ordinal)).toBe(false);
    checkInvariants(state);
    // The closed position realised a loss of 15 USDC (bought at 100, sold at 99): opening again on the same holding
    // starts a new position, whose realised PnL and funding start at zero (no mark yet, so none realised at it).
    expect(holding.realisedPnlUnits).toBe(-15_000_000n);
    runScenario('7 carol orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Market quantity=1 -> ok', state);
    expect(carol.positions.get(market.index)).toBe(holding);
    expect(copyOfPosition(holding)).toEqual({
      quantityUnits: 1_000_000_000n,
      costBasisUnits: 100_000_000n,
      realisedPnlUnits: 0n,
      cumulativeFundingUnits: 0n,
      fundingIndexAtSettlement: (market.perp as PerpMarketState).funding.cumulativeFundingIndex,
      realisedAtMs: 7,
    });
    checkInvariants(state);
  });

  it('that disagree with the state fail the invariants', () => {
    const cases: Array<[(opened: Opened) => void, RegExp]> = [
      [
        ({ market, carol, erin }) => carol.positions.set(market.index, erin.perpHoldings[market.index]!),
        /position is not its holding/,
      ],
      [({ market, carol }) => (carol.perpHoldings[market.index]!.open = false), /holding is flat/],
      [
        ({ market, carol, erin }) =>
          (carol.perpHoldings[market.index]!.settlementBalance = erin.balances[market.quote.index]),
        /keeps another settlement balance/,
      ],
      [
        ({ state, market, carol }) => {
          for (const order of state.orders.values()) order.perpHolding = carol.perpHoldings[market.index];
        },
        /does not reach its account's holding/,
      ],
    ];
    for (const [tamper, message] of cases) {
      const tampered = opened();
      checkInvariants(tampered.state);
      tamper(tampered);
      expect(() => checkInvariants(tampered.state)).toThrow(message);
    }
  });

  it('hold every open position, index built or not: a position stored without its holding is refused', () => {
    const { state } = opened();
    runScenario('5 erin orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Limit price=99 quantity=1 -> ok', state);
    // Stored in the account's map alone: the invariants refuse it, index built or not (the engine would not see it).
    const refused = decodeState(encodeState(state));
    const refusedMarket = refused.marketsBySymbol.get('SOL_USDC_PERP')!;
    const holder = refused.accountList.find((account) => account.positions.has(refusedMarket.index))!;
    holder.positions.set(refusedMarket.index, copyOfPosition(holder.positions.get(refusedMarket.index)!));
    refusedMarket.perp!.positionIndex = undefined;
    expect(() => checkInvariants(refused)).toThrow(/position is not its holding/);
    const copy = decodeState(encodeState(state));
    const market = copy.marketsBySymbol.get('SOL_USDC_PERP')!;
    // Positions stored by other code (perp-attest.bench.ts) go where the engine keeps them: openPositionOf.
    const stored: Array<[Account, Position]> = [];
    for (const account of copy.accountList) {
      const position = account.positions.get(market.index);
      if (position === undefined) continue;
      account.positions.delete(market.index);
      account.perpHoldings[market.index]!.open = false;
      stored.push([account, copyOfPosition(position)]);
    }
    market.perp!.positionIndex = undefined;
    for (const [account, position] of stored) openPositionOf(account, market, position);
    // A reduce-only order skips the margin check: its fill moves both positions before anything builds the index.
    const more = [
      '6 carol orderExecute symbol=SOL_USDC_PERP side=Ask orderType=Market quantity=1 reduceOnly=true -> ok',
      sweep,
    ].join('\n');
    expectSameAfter(more, state, copy);
  });

  it('are not encoded: a decoded state rebuilds them and goes on to the same state', () => {
    const { state } = opened();
    const copy = decodeState(encodeState(state));
    expect(holdingsOf(copy)).toEqual(holdingsOf(state));
    checkInvariants(copy);
    const more = [
      sweep,
      '3600001 carol orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Market quantity=2 -> ok',
      '3600002 erin orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Limit price=99 quantity=3 -> ok',
    ].join('\n');
    expectSameAfter(more, state, copy);
  });
});
