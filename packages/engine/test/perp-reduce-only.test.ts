/**
 * Resting reduce-only orders (docs/perps.md, section 4a): the events of a cut
 * and an expiry, the walk's caps as the planned walk sees them (fill-or-kill),
 * and the state encoding of the flag (version 8). The readable rows are in
 * scenarios/perp-reduce-only.scenario.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ApplyOutcome } from '../src/apply.js';
import type { OrderView } from '../src/events.js';
import { decodeState, encodeState } from '../src/state-codec.js';
import type { ExchangeState } from '../src/state.js';
import { applyRow, runScenario, scenarioKeys } from './scenario-runner.js';

const setup = readFileSync(new URL('scenarios/setup.scenario', import.meta.url), 'utf8');
// erin long 5 after a sale of 5, resting reduce-only asks 105x5, 106x5 and 107x5 (the last two cut from 8 and 10).
const prefix = readFileSync(new URL('scenarios/perp-reduce-only.scenario', import.meta.url), 'utf8').split(
  '# Never opens:',
)[0]!;

function erinLongFive(): ExchangeState {
  return runScenario(`${setup}\n${prefix}`);
}

function row(state: ExchangeState, timeMs: number, signer: string, fields: string): ApplyOutcome {
  const params = new Map(fields.split(' ').map((field) => field.split('=') as [string, string]));
  return applyRow(state, timeMs, signer, 'orderExecute', new Map([['symbol', 'SOL_USDC_PERP'], ...params]));
}

function updates(outcome: ApplyOutcome): Array<{ order: OrderView; reason: string | undefined }> {
  if (!outcome.accepted) throw new Error(outcome.rejection.message);
  return outcome.events.flatMap((event) => (event.type === 'orderUpdated' ? [event] : []));
}

const erin = scenarioKeys.get('erin')!;

describe('resting reduce-only orders', () => {
  it('are cut with an orderUpdated event each, in id order, when the position shrinks', () => {
    const state = runScenario(`${setup}\n${prefix.split('# The position shrinks')[0]}`);
    const outcome = row(state, 7, 'dave', 'side=Bid orderType=Limit price=95 quantity=5');
    expect(updates(outcome)).toEqual([]);
    const cuts = updates(row(state, 7, 'erin', 'side=Ask orderType=Market quantity=5')).filter(
      (update) => update.order.account === erin && update.order.reduceOnly === true,
    );
    expect(cuts.map(({ order, reason }) => [order.priceTicks, order.quantitySteps, order.status, reason])).toEqual([
      [10_500n, 500n, 'New', 'Reduce-only order cut to the position.'],
      [10_600n, 500n, 'New', 'Reduce-only order cut to the position.'],
      [10_700n, 500n, 'New', 'Reduce-only order cut to the position.'],
    ]);
    expect(cuts.map(({ order }) => order.orderId)).toEqual(
      [...cuts.map(({ order }) => order.orderId)].sort((left, right) => left - right),
    );
  });

  it('are expired after the walk that closes the position, which passes over them', () => {
    const state = erinLongFive();
    row(state, 8, 'carol', 'side=Ask orderType=Limit price=110 quantity=10');
    const outcome = row(state, 8, 'dave', 'side=Bid orderType=Market quantity=8');
    const trades = outcome.accepted ? outcome.events.filter((event) => event.type === 'trade') : [];
    expect(trades.map((trade) => (trade.type === 'trade' ? [trade.priceTicks, trade.quantitySteps] : []))).toEqual([
      [10_500n, 500n],
      [11_000n, 300n],
    ]);
    const expired = updates(outcome).filter((update) => update.order.status === 'Expired');
    expect(expired.map(({ order, reason }) => [order.account, order.priceTicks, order.reduceOnly, reason])).toEqual([
      [erin, 10_600n, true, 'Reduce-only order expired: the position it reduced is closed or flipped.'],
      [erin, 10_700n, true, 'Reduce-only order expired: the position it reduced is closed or flipped.'],
    ]);
    // The taker's own update comes last.
    expect(updates(outcome).at(-1)!.order.account).toBe(scenarioKeys.get('dave'));
  });

  it('offer the planned walk only what they may fill: fill-or-kill sees the caps', () => {
    const state = erinLongFive();
    // The book holds 15 steps of reduce-only asks, but erin's long 5 lets only 5 fill.
    const refused = row(state, 8, 'dave', 'side=Bid orderType=Limit price=107 quantity=6 timeInForce=FOK');
    expect(refused.accepted ? 'ok' : refused.rejection.code).toBe('ORDER_WOULD_NOT_FILL');
    const filled = row(state, 8, 'dave', 'side=Bid orderType=Limit price=107 quantity=5 timeInForce=FOK');
    expect(updates(filled).at(-1)!.order.status).toBe('Filled');
    expect(state.accounts.get(erin)!.positions.size).toBe(0);
    expect(state.orders.size).toBe(0);
  });

  it('keep their flag through the state encoding, which refuses one exceeding its position', () => {
    const state = erinLongFive();
    const encoded = encodeState(state);
    const copy = decodeState(encoded);
    expect([...copy.orders.values()].map((order) => [order.reduceOnly, order.remainingSteps])).toEqual([
      [true, 500n],
      [true, 500n],
      [true, 500n],
    ]);
    expect(Buffer.compare(Buffer.from(encodeState(copy)), Buffer.from(encoded))).toBe(0);
    // The position shrinks behind the orders' back: the stored state no longer holds together.
    const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
    const buyer = state.accounts.get(scenarioKeys.get('dave')!)!;
    state.accounts.get(erin)!.positions.get(market.index)!.quantityUnits -= market.stepUnits;
    buyer.positions.get(market.index)!.quantityUnits += market.stepUnits;
    expect(() => decodeState(encodeState(state))).toThrow(/is reduce-only but does not reduce a position/);
  });
});
