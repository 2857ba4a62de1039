/**
 * What the HTTP API needs from the durable node: the contract of
 * docs/node-interface.md, written structurally so that `ExchangeNode` from
 * @vex/ledger satisfies it without this package depending on its internals.
 */
import type {
  ApplyOutcome,
  DepositView,
  ExchangeState,
  OrderView,
  SignedTransaction,
  WithdrawalView,
} from '@vex/engine';

export interface SubmitResult {
  readonly outcome: ApplyOutcome;
  /** Set when accepted; the entry is synced to disk when submit() resolves. */
  readonly sequence: number | undefined;
  readonly logTimeMs: number;
}

/** An entry as stored in the log (readEntries yields these: the log keeps transactions, not outcomes). */
export interface StoredLogEntry {
  readonly sequence: number;
  readonly logTimeMs: number;
  readonly entryHash: Uint8Array;
  readonly transaction: SignedTransaction;
}

export interface CommittedEntry {
  readonly sequence: number;
  readonly logTimeMs: number;
  readonly entryHash: Uint8Array;
  readonly transaction: SignedTransaction;
  readonly outcome: Extract<ApplyOutcome, { accepted: true }>;
}

export interface FillRecord {
  readonly tradeId: number;
  readonly orderId: number;
  readonly market: string;
  readonly side: 'Bid' | 'Ask';
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteUnits: bigint;
  readonly feeUnits: bigint;
  readonly feeAsset: string;
  readonly isMaker: boolean;
  readonly timeMs: number;
}

export interface PublicTrade {
  readonly tradeId: number;
  readonly market: string;
  readonly priceTicks: bigint;
  readonly quantitySteps: bigint;
  readonly quoteUnits: bigint;
  readonly isBuyerMaker: boolean;
  readonly timeMs: number;
}

export interface Page {
  readonly limit?: number;
  readonly offset?: number;
  readonly market?: string;
  readonly fromMs?: number;
  readonly toMs?: number;
}

export interface HistoryIndex {
  fills(accountId: string, page: Page): Promise<FillRecord[]>;
  orders(accountId: string, page: Page): Promise<OrderView[]>;
  order(orderId: number): Promise<OrderView | undefined>;
  deposits(accountId: string, page: Page): Promise<DepositView[]>;
  withdrawals(accountId: string, page: Page): Promise<WithdrawalView[]>;
  trades(market: string, limit: number): Promise<PublicTrade[]>;
}

export interface NodeHead {
  readonly sequence: number;
  /** Hex of the last entry's hash. */
  readonly entryHash: string;
  readonly logTimeMs: number;
}

/** The node as the API uses it. */
export interface ExchangeNodePort {
  submit(transaction: SignedTransaction): Promise<SubmitResult>;
  readonly state: ExchangeState;
  readonly history: HistoryIndex;
  head(): NodeHead;
  subscribe(listener: (entry: CommittedEntry) => void): () => void;
  readEntries(fromSequence: number, toSequence?: number): AsyncIterable<StoredLogEntry>;
  exportLog(destination: NodeJS.WritableStream, fromSequence?: number): Promise<void>;
  close(): Promise<void>;
  /** Set once the node has halted (it then refuses every transaction until restarted). */
  readonly haltedBy?: Error | undefined;
}
