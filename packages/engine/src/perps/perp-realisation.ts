/**
 * Realisation of unrealised PnL into USDC (docs/perps.md, "Realisation"):
 * a position's PnL at the mark is moved into its account's USDC, and its
 * cost basis becomes the position's value at the mark, so that USDC moves
 * between winners and losers as the mark moves, without changing any
 * position's size (Backpack's "every 10 seconds, any unrealised profits or
 * losses are realised").
 *
 * When: on every change of a position (each side of each fill, after the
 * fill), and, at the end of every accepted entry signed by an account, for
 * each of that account's positions last realised in an earlier 10-second
 * window of log time (⌊realisedAtMs / 10,000⌋ < ⌊now / 10,000⌋). The work
 * is bounded by the account's positions, never a sweep over accounts: a
 * position nobody touches keeps its PnL pending; health counts it at the
 * mark (perp-health.ts).
 */
import type { EntryRecorder } from '../entry-recorder.js';
import { markLeafStale } from '../liabilities-perps.js';
import type { Account, Asset, Balance, ExchangeState, Market } from '../state.js';
import { settlePerpCashOf } from './perp-cash.js';
import { reportSettlements, settleFundingReported } from './perp-events.js';
import type { PerpMarketState } from './perp-market.js';
import { coveragePoolAccountId, isCoveragePoolAccount, settlePoolSide } from './pool-positions.js';
import type { PerpHolding } from './perp-holding.js';
import { marketPositionsOf, nodeRealised } from './position-queue.js';
import { markValueUnits, pendingFundingUnits, type Position } from './position.js';

/** The realisation cadence: one window of log time. */
export const realisationWindowMs = 10_000;

/**
 * Realises the position's PnL at its market's mark (none while the mark is
 * zero) and stamps it with `timeMs`. Returns the PnL (signed, positive: the
 * account gains): the caller moves it into USDC. The mark value rounds
 * toward −∞ (markValueUnits), so a gain rounds down and a loss up.
 */
export function realiseAtMark(market: Market, position: Position, timeMs: number): bigint {
  const value = valueAtMark(market, position);
  return realiseAtValue(position, timeMs, value, value - position.costBasisUnits);
}

/**
 * realiseAtMark with the position's valueAtMark and `pnlUnits`, that value less its cost basis, computed by the
 * caller. The cost basis becomes the value: the same integer as the cost basis plus the PnL, without the sum.
 */
function realiseAtValue(position: Position, timeMs: number, valueUnits: bigint, pnlUnits: bigint): bigint {
  position.realisedAtMs = timeMs;
  if (pnlUnits === 0n) return 0n;
  position.costBasisUnits = valueUnits;
  position.realisedPnlUnits += pnlUnits;
  return pnlUnits;
}

/**
 * The position's value at its market's mark (markValueUnits), or, while the mark is zero, its cost basis
 * itself, so that the PnL realised (the value less the cost basis) is zero then.
 */
function valueAtMark(market: Market, position: Position): bigint {
  const mark = (market.perp as PerpMarketState).funding.markPrice;
  if (mark === 0n) return position.costBasisUnits;
  return markValueUnits(position.quantityUnits, mark, market.base.decimals, market.quote.decimals);
}

/**
 * Settles the position's funding, realises it at the mark and moves the
 * result into the account's USDC (the USDC change is PnL − funding), or the
 * coverage pool's holdings for its account. `fundingUnits`, `valueUnits`
 * (valueAtMark), `pnlUnits` (the value less the cost basis) and `netUnits` (PnL − funding) are computed by the
 * caller; `holding` is the account's holding on the market (perp-holding.ts), and `balance` the account's USDC
 * balance when the caller has it (undefined: looked up, made if the account has none).
 */
function realisePosition(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  market: Market,
  position: Position,
  isPoolAccount: boolean,
  fundingUnits: bigint,
  valueUnits: bigint,
  pnlUnits: bigint,
  netUnits: bigint,
  holding: PerpHolding,
  balance: Balance | undefined,
): void {
  const timeMs = recorder.timeMs;
  settleFundingReported(account, market, position, recorder, fundingUnits);
  realiseAtValue(position, timeMs, valueUnits, pnlUnits);
  // An open position's holding is in the market's index, when that is built (checkMarketPositions).
  nodeRealised(market, holding, timeMs);
  state.changes.accountChanged(account);
  markLeafStale(state, account);
  // The coverage pool's account has no USDC of its own: the pool's holdings are its cash (pool-positions.ts).
  if (isPoolAccount) settlePoolSide(market.quote, netUnits);
  else {
    const usdcBalance = balance ?? account.balance(market.quote);
    // The holding keeps the balance for the next sweep or fill (a balance is never replaced: perp-holding.ts).
    holding.settlementBalance = usdcBalance;
    settlePerpCashOf(state, recorder, usdcBalance, market.quote, netUnits);
  }
  reportSettlements(recorder, account, market, pnlUnits, fundingUnits, 0n);
}

/** realisePosition of a position nobody computed anything for yet (the signer's own, realiseDuePositions). */
function realiseWhole(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  market: Market,
  holding: PerpHolding,
  position: Position,
  isPoolAccount: boolean,
): void {
  const fundingUnits = pendingFundingOf(market, position);
  const valueUnits = valueAtMark(market, position);
  const pnlUnits = valueUnits - position.costBasisUnits;
  const netUnits = fundingUnits === 0n ? pnlUnits : pnlUnits - fundingUnits;
  realisePosition(
    state,
    recorder,
    account,
    market,
    position,
    isPoolAccount,
    fundingUnits,
    valueUnits,
    pnlUnits,
    netUnits,
    holding,
    holding.settlementBalance,
  );
}

/** The start of the realisation window holding `timeMs` (integer arithmetic: no division on numbers in the engine). */
function windowStartOf(timeMs: number): number {
  return timeMs - (timeMs % realisationWindowMs);
}

/**
 * After an accepted entry signed by `account`: settles the funding of and
 * realises every position of the account due in this window, then moves the
 * result into its USDC. Positions in ascending market index.
 */
export function realiseDuePositions(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  timeMs: number,
): void {
  if (account.positions.size === 0) return;
  const windowStartMs = windowStartOf(timeMs);
  // Through the account's holdings, an array by market index (an open position is its holding's: perp-holding.ts):
  // ascending market index without a sort, and no iterator made (this runs after every accepted entry).
  const holdings = account.perpHoldings;
  let isPoolAccount: boolean | undefined;
  for (let marketIndex = 0; marketIndex < holdings.length; marketIndex += 1) {
    const holding = holdings[marketIndex];
    // Realising moves no position in or out of the account, so the positions seen are the ones due at the start.
    if (holding === undefined || !holding.open || holding.realisedAtMs >= windowStartMs) continue;
    isPoolAccount ??= isCoveragePoolAccount(account);
    realiseWhole(state, recorder, account, state.markets[marketIndex]!, holding, holding, isPoolAccount);
  }
}

/** What realising a position would settle first: its pending funding (valueAtMark gives the other part). */
function pendingFundingOf(market: Market, position: Position): bigint {
  const funding = (market.perp as PerpMarketState).funding;
  return pendingFundingUnits(position, funding.cumulativeFundingIndex, market.base.decimals, market.quote.decimals);
}

/**
 * Whether settlePerpCash can pay a USDC change of `netUnits` without halting:
 * a loss at most `availableUnits` (the account's available USDC; zero when it has no balance) plus the lending
 * pool's cash (what redeeming the lend and then borrowing can raise together) plus the coverage pool's holdings.
 */
function isPayable(availableUnits: bigint, usdc: Asset, netUnits: bigint): boolean {
  if (netUnits >= 0n) return true;
  const owed = -netUnits;
  // Most losses are within the available USDC: then no sum is needed.
  if (owed <= availableUnits) return true;
  const margin = usdc.margin;
  if (margin === undefined) return false;
  return owed <= availableUnits + margin.lendingPool.cashUnits + margin.coveragePool.holdingsUnits;
}

/** How many positions of each perpetual the end of an accepted entry realises for accounts that signed nothing. */
export const realisationsPerEntry = 8;

/**
 * After every accepted entry (after the signer's own realisation): in each
 * perpetual market in listing order, realises up to realisationsPerEntry
 * positions last realised in an earlier window than the entry's, those
 * realised longest ago first (ascending realisedAtMs, then account ordinal;
 * position-queue.ts). So a position nobody touches is realised at most
 * ⌈P / realisationsPerEntry⌉ accepted entries after its window ended, P
 * being its market's open positions (docs/perps.md, "Realisation").
 */
export function realiseOldestPositions(state: ExchangeState, recorder: EntryRecorder, timeMs: number): void {
  const windowStartMs = windowStartOf(timeMs);
  const markets = state.markets;
  // By identity below (cheaper than each swept account's id); looked up only at a due position: most entries have none.
  let poolAccount: Account | undefined | null = null;
  for (let marketIndex = 0; marketIndex < markets.length; marketIndex += 1) {
    const market = markets[marketIndex]!;
    const perp = market.perp;
    if (perp === undefined || perp.openInterestUnits === 0n) continue;
    const positions = marketPositionsOf(state, market);
    if (positions.oldest(windowStartMs) === undefined) continue;
    if (poolAccount === null) poolAccount = state.accounts.get(coveragePoolAccountId);
    // The market's values every realisation below reads, read once: nothing in the sweep changes them.
    const usdc = market.quote;
    const markPrice = perp.funding.markPrice;
    const fundingIndex = perp.funding.cumulativeFundingIndex;
    const baseDecimals = market.base.decimals;
    const quoteDecimals = usdc.decimals;
    for (let count = 0; count < realisationsPerEntry; count += 1) {
      // Each path below re-stamps the oldest position (so the next is taken) or ends the market's sweep.
      const oldest = positions.oldest(windowStartMs);
      if (oldest === undefined) break;
      const account = oldest.account;
      // A holding in the index is an open position (position-queue.ts, perp-holding.ts).
      const position = oldest;
      // The fields of another account's state the realisation reads, read before any arithmetic: each is a cache
      // miss here (last touched hundreds of operations ago), and read together the misses can overlap instead of
      // each waiting behind the bigint work before it (a gain of a few per cent at most: docs/benchmarks.md, perps12).
      const quantityUnits = position.quantityUnits;
      const costBasisUnits = position.costBasisUnits;
      // The holding's balance, else the account's (none yet: nothing available); the realisation keeps it there.
      const balance = oldest.settlementBalance ?? account.balances[usdc.index];
      const availableUnits = balance === undefined ? 0n : balance.available;
      const fundingUnits = pendingFundingUnits(position, fundingIndex, baseDecimals, quoteDecimals);
      // valueAtMark: while the mark is zero the value is the cost basis, so no PnL is realised.
      const valueUnits =
        markPrice === 0n ? costBasisUnits : markValueUnits(quantityUnits, markPrice, baseDecimals, quoteDecimals);
      const pnlUnits = valueUnits - costBasisUnits;
      // Funding moves at funding boundaries only: almost always zero, and then no difference is made.
      const netUnits = fundingUnits === 0n ? pnlUnits : pnlUnits - fundingUnits;
      const isPoolAccount = account === poolAccount;
      if (isPoolAccount && !isPayableByPool(usdc, netUnits)) {
        // The pool's holdings cannot pay its account's loss now: passed over, its PnL stays pending (section 6a).
        position.realisedAtMs = timeMs;
        nodeRealised(market, oldest, timeMs);
        // realisedAtMs is in the account's piece of the state encoding (docs/perps.md, "Encoding").
        state.changes.accountChanged(account);
        continue;
      }
      if (!isPayable(availableUnits, usdc, netUnits)) {
        // Realising it would halt the node (perp-cash.ts): it waits, and the market's sweep with it, for liquidation.
        break;
      }
      realisePosition(
        state,
        recorder,
        account,
        market,
        position,
        isPoolAccount,
        fundingUnits,
        valueUnits,
        pnlUnits,
        netUnits,
        oldest,
        balance,
      );
    }
  }
}

/** Whether the coverage pool's holdings pay its account's USDC change of `netUnits` (settlePoolSide). */
function isPayableByPool(usdc: Asset, netUnits: bigint): boolean {
  return netUnits >= 0n || (usdc.margin !== undefined && usdc.margin.coveragePool.holdingsUnits >= -netUnits);
}
