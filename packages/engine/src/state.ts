/**
 * The engine's state: everything a log entry can change, and nothing else.
 * Every field is a deterministic function of the genesis and the entries
 * applied so far; docs/protocol.md lists them and state-codec.ts encodes them.
 *
 * Units: amounts are bigint counts of an asset's smallest unit; prices are
 * bigint counts of a market's tick; quantities are bigint counts of a market's
 * step. Identifiers, counters and times are safe integers held in `number`:
 * they are compared and incremented, never scaled or divided.
 */
import { hash as oneShotHash } from 'node:crypto';
import { isCanonicalAccountId } from './account-id.js';
import { EntryRecorder } from './entry-recorder.js';
import { RememberedMessages } from './replay-protection.js';
import { StateChanges } from './state-changes.js';
import type { OrderType, SelfTradePrevention, Side, TimeInForce } from './instruction.js';
import { newAccountSettings, type AccountSettings, type AssetMargin } from './margin-state.js';
import type { BookSide, PriceLevel } from './order-book.js';
import type { PerpMarketState } from './perps/perp-market.js';
import type { Position } from './perps/position.js';
import type { PerpHolding } from './perps/perp-holding.js';

export type OrderStatus =
  | 'New'
  | 'PartiallyFilled'
  | 'Filled'
  | 'Cancelled'
  | 'Expired'
  | 'TriggerPending'
  | 'TriggerFailed';

export interface Genesis {
  /** A name for this exchange instance, bound into the state hash. */
  readonly exchangeName: string;
  /** Base64 public keys allowed to sign operator instructions. */
  readonly operatorKeys: readonly string[];
  /** Base64 public key of the account that receives trading fees. */
  readonly feeAccount: string;
  /**
   * Deposit tokens (fiat held at a bank): per asset symbol, the base64 public
   * key of the custodian whose signed custodianReservesStatement is the only
   * source of that asset's reserves (docs/attestation.md, "Reserve statements").
   */
  readonly custodians?: Readonly<Record<string, string>>;
}

export interface Asset {
  readonly index: number;
  readonly symbol: string;
  readonly decimals: number;
  /** Units credited by deposits, ever. */
  depositedUnits: bigint;
  /** Units paid out by completed withdrawals, ever. */
  withdrawnUnits: bigint;
  /** The reserves the operator last stated for this asset (reservesStatement), zero until then. */
  reservesUnits: bigint;
  /** The log time of that statement; 0 when there was none. */
  reservesStatedAtMs: number;
  /** Set by borrowLendMarketList: the asset is borrowable and counts as collateral (docs/margin.md). */
  margin: AssetMargin | undefined;
}

export interface Market {
  readonly index: number;
  readonly symbol: string;
  readonly base: Asset;
  readonly quote: Asset;
  /** The listing's decimals, canonical (shortest) form. */
  readonly tickSize: string;
  readonly stepSize: string;
  /** Prices are written with this many fraction digits; a tick is `tickUnits` of them. */
  readonly priceScale: number;
  readonly tickUnits: bigint;
  /** Base units in one step. */
  readonly stepUnits: bigint;
  /** Quote units that one step costs at a price of one tick: stepSize × tickSize × 10^quoteDecimals. */
  readonly quoteUnitsPerStepTick: bigint;
  readonly minQuantitySteps: bigint;
  readonly maxQuantitySteps: bigint;
  readonly minPriceTicks: bigint;
  readonly maxPriceTicks: bigint;
  readonly makerFeeBasisPoints: bigint;
  readonly takerFeeBasisPoints: bigint;
  /** Open orders (resting and trigger-pending) one account may hold on this market. */
  readonly maxOpenOrders: number;
  /** Makers one order may meet before the rest of it expires. */
  readonly maxMakersPerOrder: number;
  /** The smallest order value in quote units (zero: no minimum). */
  readonly minOrderValueUnits: bigint;
  readonly bids: BookSide;
  readonly asks: BookSide;
  /** The price of the market's last trade in ticks; zero before the first trade. Trigger orders follow it. */
  lastPriceTicks: bigint;
  /**
   * Pending trigger orders (docs/matching.md, section 8) in firing order:
   * rising ones (fire when the last price is at or above their trigger) by
   * ascending trigger price, falling ones by descending trigger price; ties
   * by order id. The first of each list is the next to fire.
   */
  readonly risingTriggers: Order[];
  readonly fallingTriggers: Order[];
  /** A perpetual's parameters and state (docs/perps.md); undefined for a spot market. */
  readonly perp: PerpMarketState | undefined;
}

export class Balance {
  available = 0n;
  locked = 0n;
  pendingWithdrawal = 0n;
  /** Lent units scaled by the lending pool's supply index (docs/margin.md); never both this and borrowScaled. */
  lendScaled = 0n;
  /** The pool's supply epoch when this lend was opened; 0 when nothing is lent. An earlier epoch's lend is worthless. */
  lendEpoch = 0;
  /** Borrowed units scaled by the pool's borrow index. */
  borrowScaled = 0n;
  /** The apply stamp of the last change, so each changed balance is reported once per entry. */
  changedStamp = 0;
  constructor(
    readonly account: Account,
    readonly asset: Asset,
  ) {}
}

export class Account {
  /** Balances by asset index; holes are zero balances. */
  readonly balances: Array<Balance | undefined> = [];
  /**
   * The account's open orders, oldest (smallest id) first, as a list threaded
   * through Order.accountPrevious/accountNext: adding and removing an order
   * is a few pointer writes, cheaper on the hot path than a map.
   */
  firstOpenOrder: Order | undefined = undefined;
  lastOpenOrder: Order | undefined = undefined;
  openOrderCount = 0;
  /** Open orders by market index (holes are zero), for the per-market open-order limit. */
  readonly openOrderCountByMarket: number[] = [];
  /** Open orders by client id: a client id names at most one open order of an account. */
  readonly openOrdersByClientId = new Map<number, Order>();
  /**
   * Set when a balance changed since the liabilities tree last read this
   * account (the account is then listed in state.changedAccounts once).
   * Bookkeeping for the tree only: not state, never encoded or hashed.
   */
  leafStale = false;
  /** Set while the account is listed in state.changes.accounts (state-changes.ts). Bookkeeping, not state. */
  commitmentStale = false;
  /** Margin settings (accountUpdate). */
  readonly settings: AccountSettings = newAccountSettings();
  /** Assets this account borrows (balances with borrowScaled > 0); an account with none is never liquidated. */
  borrowCount = 0;
  /** Assets this account lends (balances with lendScaled > 0). */
  lendCount = 0;
  /** The Ethereum address the vault pays this account's exit to, once linked (exit-address.ts). */
  exitAddress: Uint8Array | undefined = undefined;
  /**
   * Open perpetual positions by market index (docs/perps.md, "Positions"); a
   * position that becomes flat is removed. Encoded and iterated in ascending
   * market index (positionsInOrder), never in insertion order.
   */
  readonly positions = new Map<number, Position>();
  /**
   * The account's state on each perpetual it ever held a position or rested an order on, by market index
   * (perps/perp-holding.ts): its position, its resting orders' totals and reduce-only orders, its place in the
   * market's realisation order. Derived from the positions and the open orders, never encoded. By index, as the
   * balances are: one element load where a map lookup read a cold hash table first.
   */
  readonly perpHoldings: Array<PerpHolding | undefined> = [];
  constructor(
    readonly id: string,
    /** Creation order: 0 for the fee account, then in log order. The liabilities tree's leaf index. */
    readonly ordinal: number,
    /** 32 bytes fixed at creation; hides the key in the liabilities tree (docs/attestation.md). */
    readonly salt: Uint8Array,
  ) {}

  balance(asset: Asset): Balance {
    let balance = this.balances[asset.index];
    if (balance === undefined) {
      balance = new Balance(this, asset);
      this.balances[asset.index] = balance;
    }
    return balance;
  }

  availableOf(asset: Asset): bigint {
    return this.balances[asset.index]?.available ?? 0n;
  }

  /** Appends a newly resting order; ids increase, so the list stays in id order. */
  addOpenOrder(order: Order): void {
    order.accountPrevious = this.lastOpenOrder;
    order.accountNext = undefined;
    if (this.lastOpenOrder === undefined) this.firstOpenOrder = order;
    else this.lastOpenOrder.accountNext = order;
    this.lastOpenOrder = order;
    this.openOrderCount += 1;
    const market = order.market.index;
    this.openOrderCountByMarket[market] = (this.openOrderCountByMarket[market] ?? 0) + 1;
  }

  openOrderCountOn(market: Market): number {
    return this.openOrderCountByMarket[market.index] ?? 0;
  }

  removeOpenOrder(order: Order): void {
    if (order.accountPrevious === undefined) this.firstOpenOrder = order.accountNext;
    else order.accountPrevious.accountNext = order.accountNext;
    if (order.accountNext === undefined) this.lastOpenOrder = order.accountPrevious;
    else order.accountNext.accountPrevious = order.accountPrevious;
    order.accountPrevious = undefined;
    order.accountNext = undefined;
    this.openOrderCount -= 1;
    this.openOrderCountByMarket[order.market.index]! -= 1;
  }

  /** The open orders, oldest first. */
  openOrderList(): Order[] {
    const orders: Order[] = [];
    for (let order = this.firstOpenOrder; order !== undefined; order = order.accountNext) orders.push(order);
    return orders;
  }
}

export class Order {
  remainingSteps: bigint;
  executedSteps = 0n;
  executedQuoteUnits = 0n;
  status: OrderStatus = 'New';
  /** Intrusive links within the price level, oldest first. */
  previous: Order | undefined = undefined;
  next: Order | undefined = undefined;
  level: PriceLevel | undefined = undefined;
  /** Links in the owning account's list of open orders. */
  accountPrevious: Order | undefined = undefined;
  accountNext: Order | undefined = undefined;
  /** Trigger orders: the trigger price in ticks (kept after firing, for views); undefined for other orders. */
  triggerPriceTicks: bigint | undefined = undefined;
  /** A pending trigger fires when the last price is at or above (rising) or at or below (falling) its trigger. */
  triggerRising = false;
  /** The other half of an attached take-profit / stop-loss pair while both are pending: one fires, the other is cancelled. */
  linkedTrigger: Order | undefined = undefined;
  /** Perpetuals: it only reduces the position (docs/perps.md, section 4a); it may be cut when the position shrinks. */
  reduceOnly = false;
  /** Perpetuals: its account's holding on the market (perps/perp-holding.ts), set when it comes to rest. */
  perpHolding: PerpHolding | undefined = undefined;

  constructor(
    readonly id: number,
    readonly account: Account,
    readonly market: Market,
    readonly side: Side,
    readonly orderType: OrderType,
    /** Limit price in ticks; zero for market orders. */
    readonly priceTicks: bigint,
    /** Ordered quantity in steps; zero for market orders sized by quote quantity. A reduce-only order's may be cut. */
    public quantitySteps: bigint,
    /** Market orders sized by quote only: the quote units to spend or receive. */
    readonly quoteQuantityUnits: bigint | undefined,
    readonly timeInForce: TimeInForce,
    readonly postOnly: boolean,
    readonly selfTradePrevention: SelfTradePrevention,
    readonly clientId: number | undefined,
    readonly createdAtMs: number,
  ) {
    this.remainingSteps = quantitySteps;
  }
}

export interface Withdrawal {
  readonly id: number;
  readonly account: Account;
  readonly asset: Asset;
  readonly quantityUnits: bigint;
  readonly address: string;
  readonly blockchain: string;
  readonly createdAtMs: number;
}

export interface ExchangeState {
  readonly genesis: Genesis;
  readonly operatorKeys: ReadonlySet<string>;
  readonly feeAccount: Account;
  /** The log time of the last accepted entry. */
  logTimeMs: number;
  /** The number of accepted entries: the sequence of the last one (0 for the genesis state). */
  headSequence: number;
  /** The sequence named by the last attestation record (attestationRecord), 0 before the first. */
  attestedSequence: number;
  /** That record's attestation digest (32 bytes; all zero before the first record). */
  attestationDigest: Uint8Array;
  nextOrderId: number;
  nextTradeId: number;
  nextWithdrawalId: number;
  nextDepositId: number;
  readonly assets: Asset[];
  readonly assetsBySymbol: Map<string, Asset>;
  readonly markets: Market[];
  readonly marketsBySymbol: Map<string, Market>;
  readonly accounts: Map<string, Account>;
  /** The same accounts by ordinal (creation order). */
  readonly accountList: Account[];
  /**
   * Accounts whose balances changed since the liabilities tree last caught
   * up, each once (see Account.leafStale). Not state: never encoded or hashed.
   */
  readonly changedAccounts: Account[];
  /** Open orders: resting ones and pending trigger orders. */
  readonly orders: Map<number, Order>;
  /** Pending trigger orders on all markets (derived; lets an entry skip the trigger check when there are none). */
  pendingTriggerCount: number;
  readonly pendingWithdrawals: Map<number, Withdrawal>;
  /** `blockchain:chainTransactionId` of every credited deposit, so a credit applies once. */
  readonly creditedDeposits: Set<string>;
  /** Accounts that borrow (borrowCount > 0): the only ones liquidation and the stress figure look at. Derived. */
  readonly borrowers: Set<Account>;
  /**
   * Accounts that lend (lendCount > 0). With the borrowers, the only accounts
   * whose liabilities leaves change with time alone (interest), so the only
   * ones the tree refreshes at an attestation. Derived.
   */
  readonly lenders: Set<Account>;
  readonly replayProtection: ReplayProtectionState;
  /**
   * Collects each entry's events; restarted for every execute() call.
   * Bookkeeping for event reporting only: not state, never encoded or hashed.
   */
  readonly recorder: EntryRecorder;
  /** What entries touched since the state commitment last caught up (state-changes.ts). Not state. */
  readonly changes: StateChanges;
}

/** The remembered messages (replay-protection.ts): digests with their acceptance times, oldest first. */
export type ReplayProtectionState = RememberedMessages;

export class GenesisError extends Error {
  override readonly name = 'GenesisError';
}

/** Checks a genesis before use; a bad configuration stops start-up with a clear message. */
export function validateGenesis(genesis: Genesis): void {
  if (typeof genesis.exchangeName !== 'string' || !/^[\x20-\x7e]{1,64}$/.test(genesis.exchangeName)) {
    throw new GenesisError('exchangeName must be 1 to 64 printable ASCII characters.');
  }
  if (!Array.isArray(genesis.operatorKeys) || genesis.operatorKeys.length === 0) {
    throw new GenesisError('operatorKeys must list at least one key.');
  }
  for (const key of [...genesis.operatorKeys, genesis.feeAccount]) {
    if (typeof key !== 'string' || !isCanonicalAccountId(key)) {
      throw new GenesisError(`${String(key).slice(0, 60)} is not the canonical base64 of a 32-byte public key.`);
    }
  }
  if (new Set(genesis.operatorKeys).size !== genesis.operatorKeys.length)
    throw new GenesisError('operatorKeys repeats a key.');
  validateCustodians(genesis.custodians);
}

function validateCustodians(custodians: Genesis['custodians']): void {
  if (custodians === undefined) return;
  if (typeof custodians !== 'object' || custodians === null || Array.isArray(custodians))
    throw new GenesisError('custodians must be an object from asset symbol to custodian key.');
  // determinism-reviewed: a check of every member at start-up; the order picks only which error is reported first.
  for (const [symbol, key] of Object.entries(custodians)) {
    if (!/^[A-Z0-9]{1,16}$/.test(symbol)) throw new GenesisError(`custodians names ${symbol}, not an asset symbol.`);
    if (typeof key !== 'string' || !isCanonicalAccountId(key)) {
      throw new GenesisError(`the custodian key of ${symbol} is not the canonical base64 of a 32-byte public key.`);
    }
  }
}

/** The custodian key of a deposit token (docs/attestation.md), undefined for any other asset. */
export function custodianKeyOf(state: ExchangeState, symbol: string): string | undefined {
  const custodians = state.genesis.custodians;
  return custodians !== undefined && Object.hasOwn(custodians, symbol) ? custodians[symbol] : undefined;
}

const accountSaltTag = new TextEncoder().encode('vex/account-salt/v1\0');
/** The creator signature of accounts no entry created: the fee account. */
export const genesisCreatorSignature: Uint8Array = new Uint8Array(64);

/** salt = SHA-256("vex/account-salt/v1" ‖ 0x00 ‖ creatorSignature ‖ publicKey); see docs/attestation.md. */
export function accountSalt(creatorSignature: Uint8Array, accountId: string): Uint8Array {
  const publicKey = Buffer.from(accountId, 'base64');
  const input = new Uint8Array(accountSaltTag.length + 64 + 32);
  input.set(accountSaltTag, 0);
  input.set(creatorSignature, accountSaltTag.length);
  input.set(publicKey, accountSaltTag.length + 64);
  return new Uint8Array(oneShotHash('sha256', input, 'buffer'));
}

/**
 * Creates and registers a new account with the next ordinal. `creatorSignature`
 * is the signature of the entry that creates it, the source of its salt.
 */
export function addAccount(state: ExchangeState, accountId: string, creatorSignature: Uint8Array): Account {
  const account = new Account(accountId, state.accountList.length, accountSalt(creatorSignature, accountId));
  state.accounts.set(accountId, account);
  state.accountList.push(account);
  account.leafStale = true;
  state.changedAccounts.push(account);
  state.changes.accountChanged(account);
  return account;
}

export function createState(genesis: Genesis): ExchangeState {
  validateGenesis(genesis);
  const feeAccount = new Account(genesis.feeAccount, 0, accountSalt(genesisCreatorSignature, genesis.feeAccount));
  const accounts = new Map<string, Account>([[feeAccount.id, feeAccount]]);
  const changedAccounts: Account[] = [];
  const changes = new StateChanges();
  return {
    genesis,
    operatorKeys: new Set(genesis.operatorKeys),
    feeAccount,
    logTimeMs: 0,
    headSequence: 0,
    attestedSequence: 0,
    attestationDigest: new Uint8Array(32),
    nextOrderId: 1,
    nextTradeId: 1,
    nextWithdrawalId: 1,
    nextDepositId: 1,
    assets: [],
    assetsBySymbol: new Map(),
    markets: [],
    marketsBySymbol: new Map(),
    accounts,
    accountList: [feeAccount],
    changedAccounts,
    orders: new Map(),
    pendingTriggerCount: 0,
    pendingWithdrawals: new Map(),
    creditedDeposits: new Set(),
    borrowers: new Set(),
    lenders: new Set(),
    replayProtection: new RememberedMessages(),
    recorder: new EntryRecorder(changedAccounts, changes),
    changes,
  };
}
