/**
 * A readable scenario format for the engine (docs/testing.md, "Scenarios"),
 * in the manner of TigerBeetle's state-machine tests. One row per line:
 *
 *   <logTimeMs> <signer> <instruction> key=value …  -> <ok | RESULT_CODE[:reason]>
 *   expect balance <signer> <ASSET> available=… locked=… lent=… borrowed=…
 *   expect pool <ASSET> cash=… lent=… borrowed=… utilization=… borrowIndex=… supplyIndex=… epoch=…
 *   expect coverage <ASSET> holdings=… shares=… [<signer>=…]
 *   expect health <signer> equity=… initial=… maintenance=… liquidatable=true|false
 *   expect stress <ASSET>=… …   (the stress figure per asset, settlement units)
 *   expect book <MARKET> bids=<price>x<quantity>,… asks=…   (levels best first; `-` for an empty side)
 *   expect perp <MARKET> mark=… index=… fundingIndex=… fundingRate=… nextFunding=<ms> nextSample=<ms>
 *     (the perpetual's funding clock, docs/perps-pricing.md section 7; prices and rates as decimals)
 *     openInterest=…   (base asset decimals)
 *     premiumEstimate=… premiumSum=… samples=<count>   (the estimate and the running interval's samples, section 7)
 *     impactBid=… impactAsk=… mid=… last=…   (the book as the next sample reads it, section 2; `-` when none)
 *   expect position <signer> <MARKET> quantity=… cost=… realised=… funding=…   (quantity 0 when flat;
 *     quantity in base decimals, the rest in USDC decimals; docs/perps.md section 4)
 *   expect liquidation budget=… closed=… fee=… backstopped=… equityBefore=… equityAfter=… traded=<ASSET>:<units>,…
 *     (the last accepted liquidate's step, docs/margin.md section 8; values in settlement units)
 *     positionBudget=… positionClosed=… positions=<MARKET>:<Book|Backstop|Adl>:<units>[@<counterparty>],…
 *     (its perpetual part, docs/perps.md "Liquidation and ADL"; `coveragePool` names the pool's account,
 *     also as a signer of `expect position`)
 *
 * Signers are names (operator, alice, bob, …) mapped to fixed keys; an
 * `account=<name>` parameter is replaced by that name's key. Instructions go
 * through the real parser (parseInstruction) and execute(). Amounts in
 * expectations are decimals of the asset (settlement units for health),
 * fractions are decimals; only the keys given are compared. After every
 * instruction the invariants are checked, and a rejected instruction must
 * leave the state's encoding byte-identical.
 */
import { expect } from 'vitest';
import { execute, type ApplyOutcome } from '../src/apply.js';
import { formatDecimal } from '../src/decimal.js';
import { accountHealth, isLiquidatable, settlementDecimals } from '../src/health.js';
import { type Instruction, parseInstruction } from '../src/instruction.js';
import { checkInvariants } from '../src/invariants.js';
import {
  borrowedUnits,
  indexesAt,
  lentUnits,
  totalBorrowedUnits,
  totalLentUnits,
  utilization,
} from '../src/lending-pool.js';
import { wadDecimals } from '../src/margin-fixed-point.js';
import { createState, type Asset, type ExchangeState } from '../src/state.js';
import { stressFigure } from '../src/stress.js';
import { formatPrice, formatQuantity } from '../src/listing.js';
import { observeBook } from '../src/perps/mark-price.js';
import type { LiquidationView } from '../src/margin-views.js';
import { depthOf } from '../src/views.js';
import { encodeState } from '../src/state-codec.js';
import type { PositionLiquidationRecord } from '../src/perps/perp-liquidation.js';
import { coveragePoolAccountId } from '../src/perps/pool-positions.js';

/** The last accepted liquidate's result per scenario state, for `expect liquidation`. */
const lastLiquidation = new WeakMap<ExchangeState, LiquidationView>();

const names = ['operator', 'alice', 'bob', 'carol', 'dave', 'erin', 'keeper'];
export const scenarioKeys: ReadonlyMap<string, string> = new Map(
  names.map((name, index) => [name, Buffer.alloc(32, index + 1).toString('base64')]),
);

function keyOf(name: string): string {
  if (name === 'coveragePool') return coveragePoolAccountId;
  const key = scenarioKeys.get(name);
  if (key === undefined) throw new Error(`unknown signer ${name}`);
  return key;
}

function fields(words: readonly string[]): Map<string, string> {
  return new Map(
    words.map((word) => {
      const at = word.indexOf('=');
      if (at < 1) throw new Error(`expected key=value, got ${word}`);
      return [word.slice(0, at), word.slice(at + 1)];
    }),
  );
}

export function newScenarioState(): ExchangeState {
  return createState({ exchangeName: 'scenario', operatorKeys: [keyOf('operator')], feeAccount: keyOf('operator') });
}

function compare(line: string, actual: Record<string, string>, expected: ReadonlyMap<string, string>): void {
  for (const [key, value] of expected) {
    expect(actual[key], `${line}: ${key}`).toBe(value);
  }
}

/**
 * Parses and executes one instruction row for `signer` (a scenario name), then
 * checks the invariants, and that a rejection left the encoding unchanged.
 */
/** A row's instruction through the real parser, its `account=<name>` replaced by that name's key. */
export function scenarioInstruction(name: string, params: Map<string, string>, line: string): Instruction {
  if (params.has('account')) params.set('account', keyOf(params.get('account')!));
  const sorted = new Map([...params].sort(([left], [right]) => (left < right ? -1 : 1)));
  const parsed = parseInstruction([{ instruction: name, params: sorted }]);
  if (!parsed.ok) throw new Error(`${line}: ${parsed.message}`);
  return parsed.instruction;
}

/** The instruction rows of a scenario text (expectations and comments left out), parsed. */
export function scenarioRows(
  text: string,
): Array<{ timeMs: number; signer: string; instruction: Instruction; outcome: string }> {
  const rows = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const words = raw.replace(/#.*$/, '').trim().split(/\s+/);
    if (words[0] === '' || words[0] === 'expect') continue;
    const arrow = words.indexOf('->');
    const [time, signer, name, ...rest] = words.slice(0, arrow);
    const instruction = scenarioInstruction(name!, fields(rest), `line ${index + 1}`);
    rows.push({ timeMs: Number(time), signer: keyOf(signer!), instruction, outcome: words[arrow + 1]! });
  }
  return rows;
}

export function applyRow(
  state: ExchangeState,
  timeMs: number,
  signer: string,
  name: string,
  params: Map<string, string>,
  line = `${timeMs} ${signer} ${name}`,
): ApplyOutcome {
  const instruction = scenarioInstruction(name, params, line);
  const before = encodeState(state);
  const outcome = execute(state, keyOf(signer), instruction, timeMs);
  checkInvariants(state);
  if (!outcome.accepted) {
    const changed = Buffer.compare(Buffer.from(encodeState(state)), Buffer.from(before));
    expect(changed, `${line}: a rejection (${outcome.rejection.code}) changed the state`).toBe(0);
  }
  return outcome;
}

function runInstruction(state: ExchangeState, line: string, words: string[]): void {
  const arrow = words.indexOf('->');
  if (arrow < 0) throw new Error(`${line}: missing -> result`);
  const [time, signer, name, ...rest] = words.slice(0, arrow);
  const outcomeText = words[arrow + 1]!;
  const outcome = applyRow(state, Number(time), signer!, name!, fields(rest), line);
  if (outcome.accepted) {
    expect(outcomeText, `${line} was accepted`).toBe('ok');
    for (const event of outcome.events) if (event.type === 'liquidation') lastLiquidation.set(state, event.liquidation);
    return;
  }
  const [code, reason] = outcomeText.split(':');
  expect(
    `${outcome.rejection.code}${reason === undefined ? '' : `:${outcome.rejection.reason ?? ''}`}`,
    `${line} (${outcome.rejection.message})`,
  ).toBe(reason === undefined ? code : `${code}:${reason}`);
}

function assetOf(state: ExchangeState, line: string, symbol: string | undefined): Asset {
  const found = state.assetsBySymbol.get(symbol ?? '');
  if (found === undefined) throw new Error(`${line}: no asset ${symbol}`);
  return found;
}

/** The actual values of one kind of expectation, by the words after the kind; the rest are key=value pairs. */
type Observer = (
  state: ExchangeState,
  line: string,
  words: string[],
) => { actual: Record<string, string>; pairs: string[] };

const observers: Record<string, Observer> = {
  balance(state, line, [signer, symbol, ...pairs]) {
    const listed = assetOf(state, line, symbol);
    const balance = state.accounts.get(keyOf(signer!))?.balances[listed.index];
    const time = state.logTimeMs;
    const format = (units: bigint | undefined) => formatDecimal(units ?? 0n, listed.decimals);
    const actual = {
      available: format(balance?.available),
      locked: format(balance?.locked),
      pending: format(balance?.pendingWithdrawal),
      lent: format(balance === undefined ? 0n : lentUnits(balance, time)),
      borrowed: format(balance === undefined ? 0n : borrowedUnits(balance, time)),
    };
    return { actual, pairs };
  },
  pool(state, line, [symbol, ...pairs]) {
    const listed = assetOf(state, line, symbol);
    const margin = listed.margin!;
    const pool = margin.lendingPool;
    const indexes = indexesAt(margin, state.logTimeMs);
    // Totals at the indexes brought forward to the log time, as the accounts' positions are.
    const accrued = { ...pool, ...indexes };
    const actual = {
      cash: formatDecimal(pool.cashUnits, listed.decimals),
      lent: formatDecimal(totalLentUnits(accrued), listed.decimals),
      borrowed: formatDecimal(totalBorrowedUnits(accrued), listed.decimals),
      utilization: formatDecimal(utilization(accrued), wadDecimals),
      borrowIndex: formatDecimal(indexes.borrowIndex, wadDecimals),
      supplyIndex: formatDecimal(indexes.supplyIndex, wadDecimals),
      price: formatDecimal(margin.indexPrice, wadDecimals),
      epoch: String(pool.supplyEpoch),
    };
    return { actual, pairs };
  },
  coverage(state, line, [symbol, ...pairs]) {
    const listed = assetOf(state, line, symbol);
    const pool = listed.margin!.coveragePool;
    const actual: Record<string, string> = {
      holdings: formatDecimal(pool.holdingsUnits, listed.decimals),
      shares: pool.totalShares.toString(),
    };
    for (const [account, shares] of pool.shares) {
      const name = [...scenarioKeys].find(([, key]) => key === account.id)?.[0];
      if (name !== undefined) actual[name] = shares.toString();
    }
    return { actual, pairs };
  },
  health(state, _line, [signer, ...pairs]) {
    const account = state.accounts.get(keyOf(signer!))!;
    const health = accountHealth(state, account, state.logTimeMs);
    const decimals = settlementDecimals(state);
    const actual = {
      equity: formatDecimal(health.netEquity, decimals),
      collateral: formatDecimal(health.collateralValue, decimals),
      liabilities: formatDecimal(health.liabilityValue, decimals),
      initial: formatDecimal(health.initialRequirement, decimals),
      maintenance: formatDecimal(health.maintenanceRequirement, decimals),
      liquidatable: String(isLiquidatable(state, account, state.logTimeMs)),
    };
    return { actual, pairs };
  },
  book(state, line, [symbol, ...pairs]) {
    const market = state.marketsBySymbol.get(symbol ?? '');
    if (market === undefined) throw new Error(`${line}: no market ${symbol}`);
    const depth = depthOf(market, Number.MAX_SAFE_INTEGER);
    const side = (levels: typeof depth.bids): string =>
      levels.length === 0
        ? '-'
        : levels
            .map((level) => `${formatPrice(market, level.priceTicks)}x${formatQuantity(market, level.quantitySteps)}`)
            .join(',');
    return { actual: { bids: side(depth.bids), asks: side(depth.asks) }, pairs };
  },
  perp(state, line, [symbol, ...pairs]) {
    const market = state.marketsBySymbol.get(symbol ?? '');
    const funding = market?.perp?.funding;
    if (market === undefined || funding === undefined) throw new Error(`${line}: no perpetual ${symbol}`);
    const fraction = (value: bigint) => formatDecimal(value, 18);
    const price = (value: bigint | undefined) => (value === undefined ? '-' : fraction(value));
    const book = observeBook(market, market.perp!.fundingParameters.impactNotionalUnits);
    const actual = {
      mark: fraction(funding.markPrice),
      index: fraction(funding.markIndexPrice),
      fundingIndex: fraction(funding.cumulativeFundingIndex),
      fundingRate: fraction(funding.lastFundingRate),
      premiumEstimate: fraction(funding.premiumEstimate),
      premiumSum: fraction(funding.premiumSum),
      samples: String(funding.premiumSampleCount),
      impactBid: price(book.impactBidPrice),
      impactAsk: price(book.impactAskPrice),
      mid: price(book.midPrice),
      last: price(book.lastTradePrice),
      nextFunding: String(funding.nextFundingAtMs),
      nextSample: String(funding.nextSampleAtMs),
      openInterest: formatDecimal(market.perp!.openInterestUnits, market.base.decimals),
    };
    return { actual, pairs };
  },
  position(state, line, [signer, symbol, ...pairs]) {
    const market = state.marketsBySymbol.get(symbol ?? '');
    if (market?.perp === undefined) throw new Error(`${line}: no perpetual ${symbol}`);
    const position = state.accounts.get(keyOf(signer!))?.positions.get(market.index);
    const usdc = (units: bigint | undefined) => formatDecimal(units ?? 0n, market.quote.decimals);
    const actual = {
      quantity: formatDecimal(position?.quantityUnits ?? 0n, market.base.decimals),
      cost: usdc(position?.costBasisUnits),
      realised: usdc(position?.realisedPnlUnits),
      funding: usdc(position?.cumulativeFundingUnits),
    };
    return { actual, pairs };
  },
  liquidation(state, line, pairs) {
    const view = lastLiquidation.get(state);
    if (view === undefined) throw new Error(`${line}: no liquidation yet`);
    const decimals = settlementDecimals(state);
    const format = (units: bigint) => formatDecimal(units, decimals);
    const units = (symbol: string, amount: bigint) => formatDecimal(amount, assetOf(state, line, symbol).decimals);
    const actual = {
      budget: format(view.budgetValue),
      closed: format(view.closedValue),
      fee: format(view.feeUnits),
      backstopped: String(view.backstopped),
      equityBefore: format(view.netEquityBefore),
      maintenanceBefore: format(view.maintenanceRequirementBefore),
      equityAfter: format(view.netEquityAfter),
      maintenanceAfter: format(view.maintenanceRequirementAfter),
      initialAfter: format(view.initialRequirementAfter),
      traded: view.bookTrades.map((trade) => `${trade.asset}:${units(trade.asset, trade.units)}`).join(',') || '-',
      positionBudget: format(view.positionBudgetUnits ?? 0n),
      positionClosed: format(view.positionClosedUnits ?? 0n),
      positions: (view.positions ?? []).map((record) => positionRecordText(state, record)).join(',') || '-',
    };
    return { actual, pairs };
  },
  stress(state, _line, pairs) {
    const figure = stressFigure(state, state.logTimeMs);
    const decimals = settlementDecimals(state);
    const actual = Object.fromEntries(
      state.assets.map((listed) => [listed.symbol, formatDecimal(figure[listed.index]!, decimals)]),
    );
    return { actual, pairs };
  },
};

function positionRecordText(state: ExchangeState, record: PositionLiquidationRecord): string {
  const market = state.marketsBySymbol.get(record.market)!;
  const how = record.systemOrderType.replace('LiquidatePositionOn', '');
  const name = [...scenarioKeys].find(([, key]) => key === record.counterparty)?.[0];
  const counterparty = record.counterparty === coveragePoolAccountId ? 'coveragePool' : name;
  const units = formatDecimal(record.quantityUnits, market.base.decimals);
  return `${record.market}:${how}:${units}${counterparty === undefined ? '' : `@${counterparty}`}`;
}

function runExpectation(state: ExchangeState, line: string, words: string[]): void {
  const [, what, ...rest] = words;
  const observer = observers[what ?? ''];
  if (observer === undefined) throw new Error(`${line}: unknown expectation ${what}`);
  const { actual, pairs } = observer(state, line, rest);
  compare(line, actual, fields(pairs));
}

/** Runs a scenario text against a fresh state (or `state`), returning the state at its end. */
export function runScenario(text: string, state: ExchangeState = newScenarioState()): ExchangeState {
  text.split('\n').forEach((raw, index) => {
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '') return;
    const line = `line ${index + 1} "${content}"`;
    const words = content.split(/\s+/);
    if (words[0] === 'expect') runExpectation(state, line, words);
    else runInstruction(state, line, words);
  });
  return state;
}
