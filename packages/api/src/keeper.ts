/**
 * The node's built-in keeper (docs/margin.md, "Liquidation"; docs/operator.md,
 * "Prices and the keeper"). After every durable entry that carries an index
 * price, it looks at the accounts that borrow (state.borrowers) and those
 * holding a perpetual position (each perpetual's position index, by market), never all
 * accounts, and submits a signed `liquidate` for each one below its
 * maintenance margin (the coverage pool's account, which holds positions
 * the backstop took over, is never liquidated and is skipped). The engine judges every liquidation again when it
 * applies it, so a keeper that is late or wrong costs a rejected
 * transaction, never a wrong state; any other key may do the same through
 * POST /api/v1/transactions.
 *
 * One sweep runs at a time; price entries that arrive during a sweep ask for
 * one more sweep after it, so a burst of prices costs at most two.
 */
import {
  accountsHoldingPositions,
  coveragePoolAccountId,
  encodeSigningStringBytes,
  isLiquidatable,
  maximumWindowMs,
  publicKeyFromSeed,
  signMessage,
} from '@vex/engine';
import type { CommittedEntry, ExchangeNodePort } from './node-port.js';

export interface KeeperLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface KeeperOptions {
  readonly node: Pick<ExchangeNodePort, 'state' | 'submit' | 'subscribe'>;
  /** The keeper's ed25519 seed (`pnpm start`: its own key, `${DATA_DIR}/keeper-key.json`, not the operator's). */
  readonly seed: Uint8Array;
  readonly clock?: () => number;
  readonly logger?: KeeperLogger;
}

export interface KeeperRecord {
  readonly account: string;
  readonly accepted: boolean;
  readonly code?: string;
}

/** The most liquidation steps one sweep submits for one account (each step closes part of it). */
const maximumStepsPerAccount = 50;

export class Keeper {
  private readonly publicKey: Uint8Array;
  private readonly clock: () => number;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** What the keeper submitted, newest last (the last 100), for GET /api/v1/keeper. */
  readonly submitted: KeeperRecord[] = [];

  constructor(private readonly options: KeeperOptions) {
    this.publicKey = publicKeyFromSeed(options.seed);
    this.clock = options.clock ?? Date.now;
  }

  start(): this {
    this.unsubscribe = this.options.node.subscribe((entry) => this.heard(entry));
    return this;
  }

  /** Stops listening and waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.running;
  }

  private heard(entry: CommittedEntry): void {
    if (!entry.outcome.events.some((event) => event.type === 'indexPrice')) return;
    this.requestSweep();
  }

  /** Runs a sweep now, or once more after the one in progress; resolves when the keeper is idle. */
  requestSweep(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.sweep();
      } while (this.again && this.unsubscribe !== undefined);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweep(): Promise<void> {
    const state = this.options.node.state;
    // The set may change while liquidations apply; take the accounts first.
    const accounts = new Set([...state.borrowers, ...accountsHoldingPositions(state)]);
    const candidates = [...accounts].filter(
      (account) => account.id !== coveragePoolAccountId && isLiquidatable(state, account, state.logTimeMs),
    );
    // Liquidation is gradual (docs/margin.md, section 8): one liquidate is one bounded step, so the keeper
    // steps each account until it is back above maintenance (or a step is refused), at most a bounded number.
    for (const account of candidates) {
      for (let step = 0; step < maximumStepsPerAccount; step += 1) {
        if (!isLiquidatable(this.options.node.state, account, this.options.node.state.logTimeMs)) break;
        if (!(await this.liquidate(account.id))) break;
      }
    }
  }

  /** Submits one step; true when it was accepted. */
  private async liquidate(account: string): Promise<boolean> {
    const timestampMs = Math.max(Math.floor(this.clock()), this.options.node.state.logTimeMs);
    const message = encodeSigningStringBytes(
      [{ instruction: 'liquidate', params: [['account', account]] }],
      timestampMs,
      maximumWindowMs,
    );
    try {
      const result = await this.options.node.submit({
        message,
        publicKey: this.publicKey,
        signature: signMessage(this.options.seed, message),
      });
      const record: KeeperRecord = result.outcome.accepted
        ? { account, accepted: true }
        : { account, accepted: false, code: result.outcome.rejection.code };
      this.remember(record);
      this.options.logger?.info({ ...record }, 'keeper: liquidate submitted');
      return record.accepted;
    } catch (error) {
      this.options.logger?.warn({ err: error, account }, 'keeper: liquidate not submitted');
      return false;
    }
  }

  private remember(record: KeeperRecord): void {
    this.submitted.push(record);
    if (this.submitted.length > 100) this.submitted.shift();
  }
}
