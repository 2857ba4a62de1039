/**
 * What an applied entry did, as data. Events are complete enough for the API
 * to keep its order, fill, balance, deposit, withdrawal and depth views from
 * them alone, without reading engine internals.
 */
import type { OrderType, SelfTradePrevention, Side, TimeInForce } from './instruction.js';
import type { MarginEvent } from './margin-views.js';
import type { PerpClockEvent } from './perps/funding.js';
import type { PerpAccountEvent } from './perps/perp-events.js';
import type { OrderStatus } from './state.js';

export interface OrderView {
  readonly orderId: number;
  readonly account: string;
  readonly market: string;
  readonly side: Side;
  readonly orderType: OrderType;
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteQuantityUnits: bigint | undefined;
  readonly executedSteps: bigint;
  readonly executedQuoteUnits: bigint;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  readonly selfTradePrevention: SelfTradePrevention;
  readonly clientId: number | undefined;
  readonly status: OrderStatus;
  readonly createdAtMs: number;
  /** Trigger orders (docs/matching.md, section 8): the trigger price in ticks, also after firing. */
  readonly triggerPriceTicks: bigint | undefined;
  /** Present (true) only on a reduce-only order of a perpetual (docs/perps.md, section 4a). */
  readonly reduceOnly?: true;
}

export interface WithdrawalView {
  readonly withdrawalId: number;
  readonly account: string;
  readonly asset: string;
  readonly quantityUnits: bigint;
  readonly address: string;
  readonly blockchain: string;
  readonly status: 'Pending' | 'Confirmed' | 'Failed';
  readonly createdAtMs: number;
  readonly chainTransactionId: string | undefined;
  readonly reason: string | undefined;
}

export interface DepositView {
  readonly depositId: number;
  readonly account: string;
  readonly asset: string;
  readonly quantityUnits: bigint;
  readonly blockchain: string;
  readonly chainTransactionId: string;
  readonly createdAtMs: number;
}

/** The reserves the operator stated for an asset (docs/attestation.md). */
export interface ReservesView {
  readonly asset: string;
  readonly quantityUnits: bigint;
  readonly statedAtMs: number;
}

export type EngineEvent =
  | { readonly type: 'assetListed'; readonly asset: string; readonly decimals: number }
  | { readonly type: 'marketListed'; readonly market: string }
  /** An order was accepted; it may fill, rest or end within the same entry. */
  | { readonly type: 'orderAccepted'; readonly order: OrderView }
  | {
      readonly type: 'trade';
      readonly tradeId: number;
      readonly market: string;
      readonly priceTicks: bigint;
      readonly quantitySteps: bigint;
      readonly quoteUnits: bigint;
      readonly takerSide: Side;
      readonly makerOrderId: number;
      readonly takerOrderId: number;
      readonly makerAccount: string;
      readonly takerAccount: string;
      /** In the asset each side received: base for the buyer, quote for the seller. */
      readonly makerFeeUnits: bigint;
      readonly takerFeeUnits: bigint;
      readonly timeMs: number;
      /** Set on a liquidation's system order (the taker): Backpack's `systemOrderType` of the taker's fill. */
      readonly systemOrderType?: 'LiquidatePositionOnBook';
    }
  /** The order's state after this entry, for every order the entry touched. */
  | { readonly type: 'orderUpdated'; readonly order: OrderView; readonly reason: string | undefined }
  | {
      readonly type: 'balance';
      readonly account: string;
      readonly asset: string;
      readonly available: bigint;
      readonly locked: bigint;
      readonly pendingWithdrawal: bigint;
    }
  /** A price level's total after this entry; zero means the level is gone. */
  | {
      readonly type: 'depth';
      readonly market: string;
      readonly side: Side;
      readonly priceTicks: bigint;
      readonly quantitySteps: bigint;
    }
  | { readonly type: 'deposit'; readonly deposit: DepositView }
  | { readonly type: 'withdrawal'; readonly withdrawal: WithdrawalView }
  | { readonly type: 'reserves'; readonly reserves: ReservesView }
  | MarginEvent
  /** A perpetual's funding boundary settled, or its mark price moved (docs/perps-pricing.md, section 7). */
  | PerpClockEvent
  /** A position's funding payment, a USDC settlement by source, a position changed by a fill (perps/perp-events.ts). */
  | PerpAccountEvent;
