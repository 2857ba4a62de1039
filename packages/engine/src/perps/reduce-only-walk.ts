/**
 * Reduce-only makers in the price-time walk (docs/perps.md, section 4a). A
 * resting reduce-only order may offer no more than its account's position
 * on the other side, as that position stands at that point of the walk: an
 * earlier fill of the same walk may have shrunk or flipped it. The walk
 * (price-time-walk.ts) asks this tracker what each maker offers and tells
 * it each fill before the sink settles it, so the planning sink and the
 * settlement sink see the same caps and what a check plans is what the order
 * executes. The orders themselves are cut or expired after the walk
 * (conformReduceOnlyOrders), never during it.
 */
import type { Side } from '../instruction.js';
import type { Account, Market, Order } from '../state.js';
import { holdsRestingReduceOnly, makerHoldsRestingReduceOnly, reduceOnlyCapacitySteps } from './resting-perp-orders.js';

export class ReduceOnlyWalk {
  /** Positions of the accounts holding reduce-only orders here, as the walk's fills so far leave them. */
  private positions: Map<Account, bigint> | undefined = undefined;
  /** Whether the taker holds resting reduce-only orders here, once a fill has asked. */
  private takerTracked: boolean | undefined = undefined;

  constructor(
    private readonly market: Market,
    private readonly taker: Account,
    private readonly takerSide: Side,
  ) {}

  /** What `maker` offers: its remaining steps, a reduce-only maker's at most its position's size (maybe zero). */
  offeredSteps(maker: Order): bigint {
    if (!maker.reduceOnly) return maker.remainingSteps;
    const capacity = reduceOnlyCapacitySteps(this.market, maker.side, this.positionOf(maker.account));
    return capacity < maker.remainingSteps ? capacity : maker.remainingSteps;
  }

  /** A fill of `steps` against `maker`, before the sink settles it. */
  filled(maker: Order, steps: bigint): void {
    const makerAccount = maker.account;
    // A self-trade (selfTradePrevention Allow) moves the account's position by nothing.
    if (makerAccount === this.taker) return;
    const market = this.market;
    // Through the resting order's holding: no lookup in the maker's account.
    const makerTracked = makerHoldsRestingReduceOnly(maker);
    // The taker's answer holds for the whole walk: orders never come to rest during one.
    const takerTracked = (this.takerTracked ??= holdsRestingReduceOnly(this.taker, market));
    // Most fills move no account with reduce-only orders here: then the move is not even computed.
    if (!makerTracked && !takerTracked) return;
    const units = steps * market.stepUnits;
    const takerDelta = this.takerSide === 'Bid' ? units : -units;
    if (makerTracked) this.move(makerAccount, -takerDelta);
    if (takerTracked) this.move(this.taker, takerDelta);
  }

  /**
   * Tracks an account with resting reduce-only orders here (the caller
   * asked). Such an account is tracked from the walk's first fill on: orders
   * never come to rest during a walk, so it cannot start holding one midway.
   */
  private move(account: Account, deltaUnits: bigint): void {
    const before = this.positionOf(account);
    (this.positions ??= new Map()).set(account, before + deltaUnits);
  }

  private positionOf(account: Account): bigint {
    const tracked = this.positions?.get(account);
    if (tracked !== undefined) return tracked;
    return account.positions.get(this.market.index)?.quantityUnits ?? 0n;
  }
}
