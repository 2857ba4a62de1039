/**
 * The fuzzer's controls: well-formed, correctly signed requests over every
 * signed route and the native intake, and the order and client ids the
 * accepted ones created, so later cancels and queries name real orders.
 */
import { freshTimestamp, type TestKey } from '../../src/test-support.js';
import type { SeededRandom } from './seeded-random.js';
import {
  type Control,
  nativePath,
  routes,
  type SignedSpec,
  signedSpec,
  signingStringOf,
  signingStringOfSpec,
  type WireRequest,
  wireOf,
} from './wire.js';

export function controlOf(spec: SignedSpec, label: string): Control {
  const message = signingStringOfSpec(spec);
  const signature = spec.signer.sign(message);
  return {
    spec,
    request: wireOf(spec, signature),
    kind: spec.route.kind,
    label,
    message,
    apiKey: spec.key.apiKey,
    signature,
    timestampMs: Number(spec.timestamp),
    windowMs: Number(spec.signedWindow),
  };
}

export class ControlFactory {
  readonly openOrderIds: string[] = [];
  readonly clientIds: number[] = [];
  private chainTransactions = 0;

  constructor(
    readonly random: SeededRandom,
    readonly traders: readonly TestKey[],
    /** The run's seed, in the deposits' chain transaction ids. */
    private readonly seed: number,
    /** The operator's key of the exchange now open (it is reopened part-way through). */
    readonly operatorKey: () => TestKey,
  ) {}

  private window(): number {
    // Never 5000: an absent X-Window means 5000, so a control signed with 5000 would make
    // "remove X-Window" an equivalent request rather than a mutation.
    return this.random.pick([3_000, 10_000, 30_000, 60_000, 60_000]);
  }

  private price(): string {
    const cents = 9_500 + this.random.below(1_001);
    return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  }

  private order(): Record<string, unknown> {
    const order: Record<string, unknown> = {
      symbol: 'SOL_USDC',
      side: this.random.pick(['Bid', 'Ask']),
      orderType: 'Limit',
      price: this.price(),
      quantity: `0.${String(1 + this.random.below(50)).padStart(2, '0')}`,
    };
    if (this.random.chance(30)) {
      const clientId = this.random.below(4_294_967_295);
      order.clientId = this.random.chance(50) ? clientId : String(clientId);
    }
    if (this.random.chance(20)) order.timeInForce = this.random.pick(['GTC', 'IOC']);
    if (this.random.chance(20))
      order.selfTradePrevention = this.random.pick(['RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow']);
    if (this.random.chance(10)) order.postOnly = false;
    return order;
  }

  /** A freshly signed control over a random signed route (not yet sent). */
  newSignedSpec(kind?: 'transaction' | 'query'): SignedSpec {
    const trader = this.random.pick(this.traders);
    const pickKind = kind ?? (this.random.chance(75) ? 'transaction' : 'query');
    if (pickKind === 'transaction') {
      const roll = this.random.below(100);
      if (roll < 45) return signedSpec(routes.placeOrder, trader, this.order(), this.window());
      if (roll < 60)
        return signedSpec(
          routes.placeBatch,
          trader,
          Array.from({ length: 1 + this.random.below(3) }, () => this.order()),
          this.window(),
        );
      if (roll < 75) {
        const byClientId = this.random.chance(30) && this.clientIds.length > 0;
        const orderId =
          this.openOrderIds.length > 0 ? this.random.pick(this.openOrderIds) : String(1 + this.random.below(50));
        return signedSpec(
          routes.cancelOrder,
          trader,
          byClientId
            ? { symbol: 'SOL_USDC', clientId: this.random.pick(this.clientIds) }
            : { symbol: 'SOL_USDC', orderId },
          this.window(),
        );
      }
      if (roll < 85)
        return signedSpec(
          routes.cancelAll,
          trader,
          { symbol: this.random.pick(['SOL_USDC', 'BTC_USDC']) },
          this.window(),
        );
      return signedSpec(
        routes.withdraw,
        trader,
        { address: `addr ${this.random.below(9)}/x+y`, blockchain: 'Solana', quantity: '0.5', symbol: 'USDC' },
        this.window(),
      );
    }
    const query = this.random.pick([
      () => signedSpec(routes.balances, trader, {}, this.window()),
      () => signedSpec(routes.openOrders, trader, { symbol: 'SOL_USDC' }, this.window()),
      () =>
        signedSpec(
          routes.order,
          trader,
          { symbol: 'SOL_USDC', orderId: this.openOrderIds.length > 0 ? this.random.pick(this.openOrderIds) : '1' },
          this.window(),
        ),
      () => signedSpec(routes.fills, trader, { limit: String(1 + this.random.below(20)) }, this.window()),
      () => signedSpec(routes.orderHistory, trader, { limit: '5', symbol: 'SOL_USDC' }, this.window()),
      () => signedSpec(routes.deposits, trader, {}, this.window()),
      () => signedSpec(routes.withdrawals, trader, { limit: '3' }, this.window()),
    ]);
    return query();
  }

  /** A transaction through the native intake: a trader's order, or an operator's deposit. */
  nativeControl(): Control {
    const timestampMs = freshTimestamp();
    const windowMs = this.window();
    let signer: TestKey;
    let message: string;
    if (this.random.chance(50)) {
      signer = this.operatorKey();
      this.chainTransactions += 1;
      const account = this.random.pick(this.traders).apiKey;
      message = signingStringOf(
        'depositCredit',
        {
          account,
          blockchain: 'Solana',
          chainTransactionId: `fuzz-${this.seed}-${this.chainTransactions}`,
          quantity: '1',
          symbol: 'USDC',
        },
        String(timestampMs),
        String(windowMs),
      );
    } else {
      signer = this.random.pick(this.traders);
      message = signingStringOf('orderExecute', this.order(), String(timestampMs), String(windowMs));
    }
    const signature = signer.sign(message);
    const request: WireRequest = {
      method: 'POST',
      path: nativePath,
      headers: [['content-type', 'application/json']],
      body: JSON.stringify({ message, publicKey: signer.apiKey, signature }),
    };
    return {
      spec: undefined,
      request,
      kind: 'transaction',
      label: 'control:native',
      message,
      apiKey: signer.apiKey,
      signature,
      timestampMs,
      windowMs,
    };
  }

  /** Remembers order ids and client ids, so later cancels and queries name real orders. */
  learnFrom(control: Control, body: unknown): void {
    const orders = Array.isArray(body) ? body : [body];
    for (const order of orders) {
      if (typeof order !== 'object' || order === null) continue;
      const { id, clientId } = order as { id?: unknown; clientId?: unknown };
      if (typeof id === 'string' && control.label !== 'control:cancelOrder') {
        this.openOrderIds.push(id);
        if (this.openOrderIds.length > 50) this.openOrderIds.shift();
      }
      if (typeof clientId === 'number') {
        this.clientIds.push(clientId);
        if (this.clientIds.length > 50) this.clientIds.shift();
      }
    }
  }
}
