/**
 * Spot settlement: the sink that turns a walk's fills into balance movements,
 * fees, trades and maker updates (docs/matching.md, section 4.3). Margin
 * orders settle through it too: their borrowing happens before and after the
 * order (margin-orders.ts), never inside a fill.
 */
import { credit, debit, settle } from './balance-movements.js';
import type { EntryRecorder } from './entry-recorder.js';
import { bookOf, cancelResting, forget, viewOrder } from './open-orders.js';
import type { PriceLevel } from './order-book.js';
import type { FillSink } from './price-time-walk.js';
import type { Account, Asset, Balance, ExchangeState, Market, Order } from './state.js';

const basisPointsPerUnit = 10_000n;
const basisPointsPerUnitLessOne = basisPointsPerUnit - 1n;

/** A fee of `feeBasisPoints` on `amount`, rounded up (the fee account is owed at least the exact fee). */
export function ceilingFee(amount: bigint, feeBasisPoints: bigint): bigint {
  if (feeBasisPoints === 0n || amount === 0n) return 0n;
  return (amount * feeBasisPoints + basisPointsPerUnitLessOne) / basisPointsPerUnit;
}

/** Settles one taker's fills on a spot market. One per walk; it keeps the taker's balances at hand. */
export class SpotSettlement implements FillSink {
  protected readonly market: Market;
  private readonly feeAccount: Account;
  private readonly baseBalance: Balance;
  private readonly quoteBalance: Balance;
  private readonly isLimit: boolean;
  /** The fees of the fill being settled, set by the two directions below (or by a subclass's fill). */
  protected makerFee = 0n;
  protected takerFee = 0n;

  constructor(
    protected readonly state: ExchangeState,
    protected readonly recorder: EntryRecorder,
    protected readonly taker: Order,
  ) {
    const market = taker.market;
    this.market = market;
    this.feeAccount = state.feeAccount;
    this.baseBalance = taker.account.balance(market.base);
    this.quoteBalance = taker.account.balance(market.quote);
    this.isLimit = taker.orderType === 'Limit';
  }

  selfTradeCancel(maker: Order): void {
    cancelResting(this.state, this.recorder, maker, 'Self-trade prevention cancelled the resting order.');
  }

  fill(maker: Order, level: PriceLevel, steps: bigint, quoteUnits: bigint): boolean {
    const baseUnits = steps * this.market.stepUnits;
    if (this.taker.side === 'Bid') this.takerBuys(maker.account, steps, baseUnits, quoteUnits);
    else this.takerSells(maker.account, baseUnits, quoteUnits);
    this.recordFill(maker, level, steps, quoteUnits);
    return true;
  }

  private takerBuys(maker: Account, steps: bigint, baseUnits: bigint, quoteUnits: bigint): void {
    const { market, recorder, quoteBalance } = this;
    this.takerFee = ceilingFee(baseUnits, market.takerFeeBasisPoints);
    this.makerFee = ceilingFee(quoteUnits, market.makerFeeBasisPoints);
    this.settleMaker(maker, market.base, baseUnits, market.quote, quoteUnits);
    credit(recorder, this.baseBalance, baseUnits - this.takerFee);
    if (this.isLimit) {
      // The bid locked its own limit price; a better maker price frees the difference.
      const lockedAtLimit = steps * this.taker.priceTicks * market.quoteUnitsPerStepTick;
      settle(recorder, quoteBalance, lockedAtLimit);
      credit(recorder, quoteBalance, lockedAtLimit - quoteUnits);
    } else {
      debit(recorder, quoteBalance, quoteUnits);
    }
  }

  private takerSells(maker: Account, baseUnits: bigint, quoteUnits: bigint): void {
    const { market, recorder, baseBalance } = this;
    this.takerFee = ceilingFee(quoteUnits, market.takerFeeBasisPoints);
    this.makerFee = ceilingFee(baseUnits, market.makerFeeBasisPoints);
    // The maker's bid locked its own price, which is the fill price.
    this.settleMaker(maker, market.quote, quoteUnits, market.base, baseUnits);
    if (this.isLimit) settle(recorder, baseBalance, baseUnits);
    else debit(recorder, baseBalance, baseUnits);
    credit(recorder, this.quoteBalance, quoteUnits - this.takerFee);
  }

  /**
   * The maker's side of a fill and both fees: the maker pays from its
   * reservation and receives less its fee; the taker's fee is in what the
   * maker paid. Makers, then fees, then the taker: the order in which
   * balances are reported.
   */
  private settleMaker(maker: Account, paid: Asset, paidUnits: bigint, received: Asset, receivedUnits: bigint): void {
    const { recorder, feeAccount, makerFee, takerFee } = this;
    settle(recorder, maker.balance(paid), paidUnits);
    credit(recorder, maker.balance(received), receivedUnits - makerFee);
    if (takerFee > 0n) credit(recorder, feeAccount.balance(paid), takerFee);
    if (makerFee > 0n) credit(recorder, feeAccount.balance(received), makerFee);
  }

  /** Both orders' progress, the level, the last price, the trade, and the maker's new status. */
  protected recordFill(maker: Order, level: PriceLevel, steps: bigint, quoteUnits: bigint): void {
    const { state, recorder, market, taker } = this;
    if (taker.quoteQuantityUnits === undefined) taker.remainingSteps -= steps;
    taker.executedSteps += steps;
    taker.executedQuoteUnits += quoteUnits;
    maker.remainingSteps -= steps;
    maker.executedSteps += steps;
    maker.executedQuoteUnits += quoteUnits;
    level.totalSteps -= steps;
    recorder.levelChanged(market, maker.side, level);
    market.lastPriceTicks = level.priceTicks;
    recorder.events.push({
      type: 'trade',
      tradeId: state.nextTradeId,
      market: market.symbol,
      priceTicks: level.priceTicks,
      quantitySteps: steps,
      quoteUnits,
      takerSide: taker.side,
      makerOrderId: maker.id,
      takerOrderId: taker.id,
      makerAccount: maker.account.id,
      takerAccount: taker.account.id,
      makerFeeUnits: this.makerFee,
      takerFeeUnits: this.takerFee,
      timeMs: recorder.timeMs,
    });
    state.nextTradeId += 1;
    if (maker.remainingSteps === 0n) {
      maker.status = 'Filled';
      bookOf(market, maker.side).remove(maker);
      forget(state, maker);
    } else {
      maker.status = 'PartiallyFilled';
    }
    recorder.events.push({ type: 'orderUpdated', order: viewOrder(maker), reason: undefined });
  }
}
