import { describe, expect, it } from 'vitest';
import { execute } from '../apply.js';
import { accountHealth } from '../health.js';
import { wad } from '../margin-fixed-point.js';
import { parseInstruction } from '../instruction.js';
import { checkInvariants } from '../invariants.js';
import { executeOrder } from '../order-execution.js';
import { parsePriceTicks } from '../order-request.js';
import { ceilingFee } from '../spot-settlement.js';
import { decodeState, encodeState } from '../state-codec.js';
import type { Side } from '../instruction.js';
import { Account, Order, createState, type ExchangeState, type Market } from '../state.js';
import { solUsdcPerpListingParams } from '../../test/support-listings.js';
import { copyOfPosition } from './position.js';

const operator = Buffer.alloc(32, 1).toString('base64');
const usdcUnits = 1_000_000n;
const solUnits = 1_000_000_000n;

function run(state: ExchangeState, instruction: string, params: Record<string, string>): void {
  const sorted = new Map(Object.entries(params).sort(([left], [right]) => (left < right ? -1 : 1)));
  const parsed = parseInstruction([{ instruction, params: sorted }]);
  if (!parsed.ok) throw new Error(parsed.message);
  const outcome = execute(state, operator, parsed.instruction, 1);
  if (!outcome.accepted) throw new Error(outcome.rejection.message);
}

/** A perpetual SOL_USDC_PERP (fees 2 and 5 bps) and two traders holding 10,000 USDC each. */
function tradingState(): { state: ExchangeState; market: Market; alice: Account; bob: Account } {
  const state = createState({ exchangeName: 'perp-settlement', operatorKeys: [operator], feeAccount: operator });
  run(state, 'assetList', { symbol: 'USDC', decimals: '6' });
  run(state, 'assetList', { symbol: 'SOL', decimals: '9' });
  run(state, 'marketList', solUsdcPerpListingParams);
  const usdc = state.assets[0]!;
  const trader = (byte: number): Account => {
    const account = new Account(
      Buffer.alloc(32, byte).toString('base64'),
      state.accountList.length,
      new Uint8Array(32),
    );
    state.accounts.set(account.id, account);
    state.accountList.push(account);
    account.balance(usdc).available = 10_000n * usdcUnits;
    usdc.depositedUnits += 10_000n * usdcUnits;
    return account;
  };
  return { state, market: state.marketsBySymbol.get('SOL_USDC_PERP')!, alice: trader(2), bob: trader(3) };
}

/** Places an order (a GTC limit rests; a market order takes) with no reservation, as perpetual orders lock none. */
function place(state: ExchangeState, account: Account, side: Side, quantity: bigint, price?: string): void {
  const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
  const steps = (quantity * solUnits) / market.stepUnits;
  const priceTicks = price === undefined ? 0n : (parsePriceTicks(market, price) as bigint);
  const orderType = price === undefined ? 'Market' : 'Limit';
  const order = new Order(
    state.nextOrderId,
    account,
    market,
    side,
    orderType,
    priceTicks,
    steps,
    undefined,
    'GTC',
    false,
    'RejectTaker',
    undefined,
    0,
  );
  state.nextOrderId += 1;
  executeOrder(state, state.recorder.begin(1), order, 0n, false, undefined);
  checkInvariants(state);
}

function positionOf(account: Account, market: Market): [bigint, bigint] | undefined {
  const position = account.positions.get(market.index);
  return position === undefined ? undefined : [position.quantityUnits / solUnits, position.costBasisUnits / usdcUnits];
}

describe('perpetual settlement', () => {
  it('opens, reduces and flips opposite positions, paying realised PnL and fees in USDC', () => {
    const { state, market, alice, bob } = tradingState();
    const usdc = state.assets[0]!;
    const fees = (quote: bigint) => ceilingFee(quote, 2n) + ceilingFee(quote, 5n);
    // Open: Alice bids 2 at 100, Bob sells 2 at market.
    place(state, alice, 'Bid', 2n, '100');
    place(state, bob, 'Ask', 2n);
    expect(positionOf(alice, market)).toEqual([2n, 200n]);
    expect(positionOf(bob, market)).toEqual([-2n, -200n]);
    expect(market.perp!.openInterestUnits).toBe(2n * solUnits);
    expect(alice.availableOf(usdc)).toBe(10_000n * usdcUnits - ceilingFee(200n * usdcUnits, 2n));
    expect(bob.availableOf(usdc)).toBe(10_000n * usdcUnits - ceilingFee(200n * usdcUnits, 5n));
    expect(state.feeAccount.availableOf(usdc)).toBe(fees(200n * usdcUnits));
    // Reduce: Alice offers 1 at 110, Bob buys it back: Bob realises −10, Alice +10.
    place(state, alice, 'Ask', 1n, '110');
    place(state, bob, 'Bid', 1n);
    expect(positionOf(alice, market)).toEqual([1n, 100n]);
    expect(positionOf(bob, market)).toEqual([-1n, -100n]);
    expect(market.perp!.openInterestUnits).toBe(solUnits);
    const aliceAfterReduce = 10_000n * usdcUnits - ceilingFee(200n * usdcUnits, 2n) - ceilingFee(110n * usdcUnits, 2n);
    expect(alice.availableOf(usdc)).toBe(aliceAfterReduce + 10n * usdcUnits);
    // Flip: Alice offers 3 at 90, Bob buys 3: Bob goes from short 1 to long 2 at 90.
    place(state, alice, 'Ask', 3n, '90');
    place(state, bob, 'Bid', 3n);
    expect(positionOf(alice, market)).toEqual([-2n, -180n]);
    expect(positionOf(bob, market)).toEqual([2n, 180n]);
    expect(market.perp!.openInterestUnits).toBe(2n * solUnits);
    // Close: both flat positions are removed, and the state round-trips through its encoding.
    place(state, alice, 'Bid', 2n, '95');
    place(state, bob, 'Ask', 2n);
    expect(alice.positions.size + bob.positions.size).toBe(0);
    expect(market.perp!.openInterestUnits).toBe(0n);
    // Over the whole life: Alice realised +10 − 10 + (180 − 190) = −10, Bob +10; only fees left the two.
    const traded = [200n, 110n, 270n, 190n].map((quote) => quote * usdcUnits);
    const allFees = traded.reduce((sum, quote) => sum + fees(quote), 0n);
    expect(alice.availableOf(usdc) + bob.availableOf(usdc) + allFees).toBe(20_000n * usdcUnits);
    expect(state.feeAccount.availableOf(usdc)).toBe(allFees);
  });

  it('encodes open positions in the account piece and rebuilds open interest when decoding', () => {
    const { state, market, alice, bob } = tradingState();
    place(state, alice, 'Bid', 2n, '100');
    place(state, bob, 'Ask', 2n);
    const decoded = decodeState(encodeState(state));
    const decodedMarket = decoded.marketsBySymbol.get('SOL_USDC_PERP')!;
    // Compared by their fields: each is its account's holding (perp-holding.ts), which reaches the whole state.
    const decodedPosition = decoded.accounts.get(alice.id)!.positions.get(market.index)!;
    expect(copyOfPosition(decodedPosition)).toEqual(copyOfPosition(alice.positions.get(market.index)!));
    expect(decodedMarket.perp!.openInterestUnits).toBe(2n * solUnits);
    expect(encodeState(decoded)).toEqual(encodeState(state));
    checkInvariants(decoded);
  });

  it('adds positions to the cross-margin health: unrealised PnL at the mark and the IMF and MMF requirements', () => {
    const { state, market, alice, bob } = tradingState();
    place(state, alice, 'Bid', 2n, '100');
    place(state, bob, 'Ask', 2n);
    // No mark yet: the whole cost basis is required, and no PnL counts.
    expect(accountHealth(state, alice, 1)).toMatchObject({ netEquity: 0n, initialRequirement: 200n * usdcUnits });
    market.perp!.funding.markPrice = 110n * wad;
    // Notional 220 USDC: 2 % initial (4.4 USDC) and 1.25 % maintenance (2.75 USDC), as √220 × factor is below both.
    const requirements = { initialRequirement: 4_400_000n, maintenanceRequirement: 2_750_000n };
    expect(accountHealth(state, alice, 1)).toMatchObject({ netEquity: 20n * usdcUnits, ...requirements });
    expect(accountHealth(state, bob, 1)).toMatchObject({ netEquity: -20n * usdcUnits, ...requirements });
  });

  it('reports funding payments, settlements by source and position changes as events', () => {
    const { state, market, alice, bob } = tradingState();
    place(state, alice, 'Bid', 2n, '100');
    place(state, bob, 'Ask', 2n);
    const opened = state.recorder.events.filter((event) => event.type === 'perpPositionChanged');
    expect(opened.map((event) => [event.account, event.quantityUnits, event.costBasisUnits])).toEqual([
      [alice.id, 2n * solUnits, 200n * usdcUnits],
      [bob.id, -2n * solUnits, -200n * usdcUnits],
    ]);
    // One funding interval at 1 USDC per SOL: longs pay shorts.
    const fromIndex = market.perp!.funding.cumulativeFundingIndex;
    market.perp!.funding.cumulativeFundingIndex = fromIndex + wad;
    place(state, alice, 'Ask', 2n, '100');
    place(state, bob, 'Bid', 2n);
    const events = state.recorder.events;
    const payments = events.filter((event) => event.type === 'perpFundingPayment');
    expect(payments.map((event) => [event.account, event.quantityUnits, event.paymentUnits])).toEqual([
      [alice.id, 2n * solUnits, 2n * usdcUnits],
      [bob.id, -2n * solUnits, -2n * usdcUnits],
    ]);
    expect(payments[0]).toMatchObject({ market: 'SOL_USDC_PERP', fromIndex, toIndex: fromIndex + wad, timeMs: 1 });
    const settlements = events.filter((event) => event.type === 'perpSettlement');
    expect(settlements.map((event) => [event.account === alice.id, event.source, event.quantityUnits])).toEqual([
      [true, 'FundingPayment', -2n * usdcUnits],
      [true, 'TradingFees', -ceilingFee(200n * usdcUnits, 2n)],
      [false, 'FundingPayment', 2n * usdcUnits],
      [false, 'TradingFees', -ceilingFee(200n * usdcUnits, 5n)],
    ]);
    const closed = events.filter((event) => event.type === 'perpPositionChanged');
    expect(closed.map((event) => [event.quantityUnits, event.cumulativeFundingUnits, event.realisedPnlUnits])).toEqual([
      [0n, 2n * usdcUnits, 0n],
      [0n, -2n * usdcUnits, 0n],
    ]);
    expect(alice.positions.size + bob.positions.size).toBe(0);
  });

  it('finds a position that does not sum to zero', () => {
    const { state, market, alice, bob } = tradingState();
    place(state, alice, 'Bid', 2n, '100');
    place(state, bob, 'Ask', 2n);
    bob.positions.get(market.index)!.quantityUnits -= 1n;
    expect(() => checkInvariants(state)).toThrow(/positions sum to -1/);
  });
});
