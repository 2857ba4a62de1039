/**
 * pnpm bench:engine — throughput of the matching engine on one core, against
 * nodejs-order-book on the very same operation stream.
 *
 *   tsx packages/engine/bench/engine.bench.ts [--seed N] [--sizes 100000,1000000] [--warmup N]
 *       [--repeat N] [--drivers typed,execute,peer] [--no-peer]
 *
 * For each size the seeded workload (workload.ts) is generated first, untimed.
 * Then, each in a fresh state and each preceded by an untimed conversion of
 * the stream into that driver's input objects and a full GC:
 *
 *   engine (typed)    placeOrder / cancelOrder with precomputed OrderParameters,
 *                     state.recorder.begin(timeMs) per operation and
 *                     recorder.finish(), so every event is built;
 *                     this is how the node drives the engine once signatures
 *                     are verified, minus parsing the signing string.
 *   engine (execute)  execute(state, signer, instruction, timeMs) with the
 *                     string-typed instruction objects: adds exact decimal
 *                     parsing of price and quantity, result objects, etc.
 *   nodejs-order-book OrderBook.limit / market / cancel (journaling off, its
 *                     default and fastest setting), prices in ticks and sizes
 *                     in steps as plain numbers (exact in doubles), self-trade
 *                     prevention EXPIRE_TAKER to match the engine's default
 *                     RejectTaker, so both books evolve identically.
 *
 * The engine drivers run --repeat times (default 3, alternating) and the
 * median run is reported; the peer runs once (about a minute at 1M). Each row
 * gives wall-clock ns/op and also process CPU ns/op (main thread plus V8's
 * GC and compiler helper threads): on a shared machine the wall figure
 * includes time spent waiting for a core, the CPU figure does not.
 *
 * Outside the timings, every run is checked: checkInvariants(state) for the
 * engine; open orders and trades against the workload's own simulation; no
 * rejected order and no cancel of a missing order; and the peer's final book
 * (levels and volumes) against the engine's. Signatures are not part of this
 * benchmark (see verify.bench.ts).
 *
 * The last line of output is one JSON object for the largest size:
 *   {"ops":…, "opsPerSec":…, "peerOpsPerSec":…, "ratio":…}
 */
import { cpus, loadavg } from 'node:os';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { OrderBook, SelfTradePreventionMode, Side as PeerSide } from 'nodejs-order-book';
import {
  cancelOrder,
  checkInvariants,
  createState,
  execute,
  formatPrice,
  formatQuantity,
  placeOrder,
  type ExchangeState,
  type Instruction,
  type Market,
  type OrderParameters,
  type TriggerParameters,
} from '../src/index.js';
import {
  accountKeys,
  benchMarket,
  generateWorkload,
  OP_CANCEL,
  OP_LIMIT,
  SIDE_BID,
  type Workload,
} from './workload.js';

// ---------------------------------------------------------------------------
// Command line

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}
const seed = Number(argument('seed') ?? 20_240_601);
const sizes = (argument('sizes') ?? '100000,1000000').split(',').map(Number);
const warmupOps = Number(argument('warmup') ?? 100_000);
const drivers = new Set((argument('drivers') ?? 'typed,execute,peer').split(','));
const runPeer = drivers.has('peer') && !process.argv.includes('--no-peer');
const runExecute = drivers.has('execute');
const repeat = Number(argument('repeat') ?? 3);
for (const value of [seed, warmupOps, repeat, ...sizes]) {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`bad numeric argument ${value}`);
}
if (repeat < 1 || sizes.some((size) => size < 1)) throw new Error('--repeat and every size must be at least 1');

// A full collection before each timed run, so one run's garbage is not billed to the next.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const startTimeMs = 1_750_000_000_000;

// ---------------------------------------------------------------------------
// Engine setup: an operator lists SOL, USDC and SOL_USDC and credits every
// account a large deposit of each asset (not counted as operations).

interface EngineSetup {
  readonly state: ExchangeState;
  readonly market: Market;
  readonly accounts: readonly string[];
}

function must(outcome: ReturnType<typeof execute>, what: string): void {
  if (!outcome.accepted)
    throw new Error(`setup: ${what} rejected: ${outcome.rejection.code} ${outcome.rejection.message}`);
}

function setUpEngine(workload: Workload): EngineSetup {
  const keys = accountKeys(workload.accountCount + 2, seed);
  const operator = keys[workload.accountCount]!;
  const feeAccount = keys[workload.accountCount + 1]!;
  const accounts = keys.slice(0, workload.accountCount);
  const state = createState({ exchangeName: 'bench', operatorKeys: [operator], feeAccount });
  const t = startTimeMs - 1;
  must(
    execute(
      state,
      operator,
      { kind: 'assetList', symbol: benchMarket.base.symbol, decimals: benchMarket.base.decimals },
      t,
    ),
    'SOL',
  );
  must(
    execute(
      state,
      operator,
      { kind: 'assetList', symbol: benchMarket.quote.symbol, decimals: benchMarket.quote.decimals },
      t,
    ),
    'USDC',
  );
  must(
    execute(
      state,
      operator,
      {
        kind: 'marketList',
        symbol: benchMarket.symbol,
        baseSymbol: benchMarket.base.symbol,
        quoteSymbol: benchMarket.quote.symbol,
        tickSize: benchMarket.tickSize,
        stepSize: benchMarket.stepSize,
        minQuantity: benchMarket.minQuantity,
        maxQuantity: benchMarket.maxQuantity,
        minPrice: benchMarket.minPrice,
        maxPrice: benchMarket.maxPrice,
        makerFeeBps: benchMarket.makerFeeBps,
        takerFeeBps: benchMarket.takerFeeBps,
        // The largest open-order limit a listing allows; the workload spreads its open orders over enough accounts.
        maxOpenOrders: 1000,
      },
      t,
    ),
    'SOL_USDC',
  );
  accounts.forEach((account, index) => {
    // 1e9 SOL and 1e12 USDC each: no order in any stream can run out of funds.
    for (const [symbol, quantity] of [
      ['SOL', '1000000000'],
      ['USDC', '1000000000000'],
    ] as const) {
      must(
        execute(
          state,
          operator,
          {
            kind: 'depositCredit',
            account,
            symbol,
            quantity,
            blockchain: 'bench',
            chainTransactionId: `${symbol}-${index}`,
          },
          t,
        ),
        'deposit',
      );
    }
  });
  const market = state.marketsBySymbol.get(benchMarket.symbol)!;
  return { state, market, accounts };
}

// ---------------------------------------------------------------------------
// Drivers. Each returns the seconds spent in the timed loop only.

interface RunResult {
  /** Wall-clock seconds of the timed loop. */
  readonly seconds: number;
  /** CPU seconds of the whole process during the timed loop (includes V8's GC and compiler helper threads). */
  readonly cpuSeconds: number;
  readonly openOrders: number;
  readonly trades: number;
  readonly events: number;
}

interface Timing {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

/** Starts a wall-clock and CPU timer; call the result to read both. */
function startTiming(): () => Timing {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  return () => {
    const seconds = Number(process.hrtime.bigint() - wall) / 1e9;
    const used = process.cpuUsage(cpu);
    return { seconds, cpuSeconds: (used.user + used.system) / 1e6 };
  };
}

/** The run with the median time (the upper median for an even count). */
function median(runs: readonly RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[sorted.length >> 1]!;
}

function engineTypedRun(workload: Workload): RunResult {
  const { state, market, accounts } = setUpEngine(workload);
  const count = workload.count;
  // Untimed: the typed parameters the node would hold after verifying and parsing.
  const params: Array<(OrderParameters & TriggerParameters) | undefined> = new Array(count);
  const signers: string[] = new Array(count);
  const cancelIds = new Array<number>(count).fill(0);
  for (let index = 0; index < count; index += 1) {
    signers[index] = accounts[workload.account[index]!]!;
    const kind = workload.kind[index]!;
    if (kind === OP_CANCEL) {
      cancelIds[index] = workload.orderId[index]!;
      params[index] = undefined;
      continue;
    }
    const isLimit = kind === OP_LIMIT;
    // The same object shape as resolveOrderRequest gives the engine (trigger fields first, absent here),
    // so that both drivers, which share one process, feed placeOrder one shape.
    params[index] = {
      triggerPriceTicks: undefined,
      takeProfit: undefined,
      stopLoss: undefined,
      market,
      side: workload.side[index] === SIDE_BID ? 'Bid' : 'Ask',
      orderType: isLimit ? 'Limit' : 'Market',
      priceTicks: isLimit ? BigInt(workload.priceTicks[index]!) : 0n,
      quantitySteps: BigInt(workload.quantitySteps[index]!),
      quoteQuantityUnits: undefined,
      timeInForce: 'GTC',
      postOnly: false,
      selfTradePrevention: 'RejectTaker',
      clientId: undefined,
    };
  }
  collectGarbage();

  let events = 0;
  let rejections = 0;
  const stop = startTiming();
  for (let index = 0; index < count; index += 1) {
    const timeMs = startTimeMs + index;
    const recorder = state.recorder.begin(timeMs);
    const orderParams = params[index];
    const result =
      orderParams === undefined
        ? cancelOrder(state, recorder, signers[index]!, market, cancelIds[index], undefined)
        : placeOrder(state, recorder, signers[index]!, orderParams);
    if ('code' in result) rejections += 1;
    events += recorder.finish().length;
    state.logTimeMs = timeMs;
  }
  const timing = stop();

  if (rejections !== workload.stats.refusedMarkets) {
    throw new Error(
      `engine (typed): ${rejections} operations were rejected, ${workload.stats.refusedMarkets} predicted`,
    );
  }
  return checkEngine('engine (typed)', state, market, workload, timing, events);
}

function engineExecuteRun(workload: Workload): RunResult {
  const { state, market, accounts } = setUpEngine(workload);
  const count = workload.count;
  // Untimed: the instruction objects parseInstruction would produce from the signing strings.
  const instructions: Instruction[] = new Array(count);
  const signers: string[] = new Array(count);
  for (let index = 0; index < count; index += 1) {
    signers[index] = accounts[workload.account[index]!]!;
    const kind = workload.kind[index]!;
    if (kind === OP_CANCEL) {
      instructions[index] = { kind: 'orderCancel', symbol: market.symbol, orderId: workload.orderId[index]! };
      continue;
    }
    const side = workload.side[index] === SIDE_BID ? 'Bid' : 'Ask';
    const quantity = formatQuantity(market, BigInt(workload.quantitySteps[index]!));
    instructions[index] = {
      kind: 'orderExecute',
      orders: [
        kind === OP_LIMIT
          ? {
              symbol: market.symbol,
              side,
              orderType: 'Limit',
              price: formatPrice(market, BigInt(workload.priceTicks[index]!)),
              quantity,
              timeInForce: 'GTC',
              postOnly: false,
              selfTradePrevention: 'RejectTaker',
            }
          : {
              symbol: market.symbol,
              side,
              orderType: 'Market',
              quantity,
              timeInForce: 'GTC',
              postOnly: false,
              selfTradePrevention: 'RejectTaker',
            },
      ],
    };
  }
  collectGarbage();

  let events = 0;
  let rejections = 0;
  const stop = startTiming();
  for (let index = 0; index < count; index += 1) {
    const outcome = execute(state, signers[index]!, instructions[index]!, startTimeMs + index);
    if (outcome.accepted) events += outcome.events.length;
    else rejections += 1;
  }
  const timing = stop();

  if (rejections !== workload.stats.refusedMarkets) {
    throw new Error(
      `engine (execute): ${rejections} operations were rejected, ${workload.stats.refusedMarkets} predicted`,
    );
  }
  return checkEngine('engine (execute)', state, market, workload, timing, events);
}

function checkEngine(
  name: string,
  state: ExchangeState,
  market: Market,
  workload: Workload,
  timing: Timing,
  events: number,
): RunResult {
  checkInvariants(state);
  const openOrders = state.orders.size;
  const trades = state.nextTradeId - 1;
  if (openOrders !== workload.stats.expectedOpenOrders || trades !== workload.stats.expectedTrades) {
    throw new Error(
      `${name}: ${openOrders} open orders and ${trades} trades, but the workload simulation predicts ` +
        `${workload.stats.expectedOpenOrders} and ${workload.stats.expectedTrades}`,
    );
  }
  lastEngineBook = bookOf(market);
  return { ...timing, openOrders, trades, events };
}

/** The engine's final book as [price, volume] pairs, asks ascending then bids descending (the peer's depth() order). */
let lastEngineBook: { asks: Array<[number, number]>; bids: Array<[number, number]> } | undefined;
function bookOf(market: Market): { asks: Array<[number, number]>; bids: Array<[number, number]> } {
  const pairs = (levels: Market['asks']['levels']): Array<[number, number]> =>
    levels.map((level) => [Number(level.priceTicks), Number(level.totalSteps)] as [number, number]).reverse();
  return { asks: pairs(market.asks.levels), bids: pairs(market.bids.levels) };
}

function peerRun(workload: Workload): RunResult {
  const count = workload.count;
  type PeerOp =
    | { readonly kind: 0; readonly options: Parameters<OrderBook['limit']>[0] }
    | { readonly kind: 1; readonly id: string }
    | { readonly kind: 2; readonly options: Parameters<OrderBook['market']>[0] };
  const accountIds = Array.from({ length: workload.accountCount }, (_, index) => `account-${index}`);
  const ops: PeerOp[] = new Array(count);
  for (let index = 0; index < count; index += 1) {
    const kind = workload.kind[index]!;
    const id = String(workload.orderId[index]!);
    const side = workload.side[index] === SIDE_BID ? PeerSide.BUY : PeerSide.SELL;
    const accountId = accountIds[workload.account[index]!]!;
    const stpMode = SelfTradePreventionMode.EXPIRE_TAKER;
    const size = workload.quantitySteps[index]!;
    if (kind === OP_CANCEL) ops[index] = { kind: 1, id };
    else if (kind === OP_LIMIT)
      ops[index] = { kind: 0, options: { id, side, size, price: workload.priceTicks[index]!, accountId, stpMode } };
    else ops[index] = { kind: 2, options: { side, size, accountId, stpMode } };
  }
  const book = new OrderBook();
  collectGarbage();

  let missedCancels = 0;
  const stop = startTiming();
  for (let index = 0; index < count; index += 1) {
    const op = ops[index]!;
    if (op.kind === 0) book.limit(op.options);
    else if (op.kind === 1) {
      if (book.cancel(op.id) === undefined) missedCancels += 1;
    } else book.market(op.options);
  }
  const timing = stop();

  if (missedCancels !== 0) throw new Error(`nodejs-order-book: ${missedCancels} cancels found no order`);
  const openOrders = Object.keys((book as unknown as { orders: Record<string, unknown> }).orders).length;
  if (openOrders !== workload.stats.expectedOpenOrders) {
    throw new Error(
      `nodejs-order-book: ${openOrders} open orders, the simulation predicts ${workload.stats.expectedOpenOrders}`,
    );
  }
  const [asks, bids] = book.depth();
  if (lastEngineBook !== undefined && JSON.stringify({ asks, bids }) !== JSON.stringify(lastEngineBook)) {
    throw new Error("nodejs-order-book: final book differs from the engine's");
  }
  return { ...timing, openOrders, trades: Number.NaN, events: 0 };
}

// ---------------------------------------------------------------------------
// Main

const format = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pad = (text: string, width: number): string => text.padStart(width);

console.log(
  `engine benchmark: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, seed ${seed}, ` +
    `sizes ${sizes.join(', ')}, warm-up ${warmupOps} ops, engine runs ${repeat}×`,
);
const loadNote = (): string =>
  `load average ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}`;
console.log(`${loadNote()} at start (other processes on this machine compete for its ${cpus().length} cores)`);

if (warmupOps > 0) {
  const warmup = generateWorkload({ seed: seed ^ 0x77777777, count: warmupOps });
  engineTypedRun(warmup);
  if (runExecute) engineExecuteRun(warmup);
  if (runPeer) peerRun(warmup);
  console.log('warm-up done (each driver ran a separate stream once, untimed)');
}

interface SizeResult {
  readonly ops: number;
  readonly typed: RunResult;
  readonly executed: RunResult | undefined;
  readonly peer: RunResult | undefined;
}
const results: SizeResult[] = [];

for (const count of sizes) {
  const workload = generateWorkload({ seed, count });
  const s = workload.stats;
  console.log('');
  console.log(
    `${format(count)} ops: ${format(s.limits)} limit (${format(s.marketableLimits)} marketable), ${format(s.cancels)} cancel, ` +
      `${format(s.markets)} market; simulation: ${format(s.expectedTrades)} trades, ${format(s.selfTradeStops)} self-trade stops, ` +
      `${format(s.expectedOpenOrders)} open at end (peak ${format(s.peakOpenOrders)})`,
  );
  lastEngineBook = undefined;
  // Engine runs are repeated (alternating drivers) and the median is reported;
  // the peer is run once (at 1M operations it takes about a minute).
  const typedRuns: RunResult[] = [];
  const executedRuns: RunResult[] = [];
  for (let attempt = 0; attempt < repeat; attempt += 1) {
    typedRuns.push(engineTypedRun(workload));
    if (runExecute) executedRuns.push(engineExecuteRun(workload));
  }
  const typed = median(typedRuns);
  const executed = runExecute ? median(executedRuns) : undefined;
  const peer = runPeer ? peerRun(workload) : undefined;
  results.push({ ops: count, typed, executed, peer });

  console.log(
    `  ${'driver'.padEnd(34)}${pad('seconds', 9)}${pad('ops/s', 12)}${pad('ns/op', 8)}${pad('cpu ns/op', 11)}${pad('events/op', 11)}`,
  );
  const row = (name: string, run: RunResult): void => {
    console.log(
      `  ${name.padEnd(34)}${pad(run.seconds.toFixed(3), 9)}${pad(format(count / run.seconds), 12)}` +
        `${pad(format((run.seconds * 1e9) / count), 8)}${pad(format((run.cpuSeconds * 1e9) / count), 11)}` +
        `${pad(run.events > 0 ? (run.events / count).toFixed(2) : '-', 11)}`,
    );
  };
  row('engine: placeOrder/cancelOrder', typed);
  if (executed !== undefined) row('engine: execute() with strings', executed);
  if (peer !== undefined) row('nodejs-order-book', peer);
  if (repeat > 1) {
    const list = (runs: RunResult[]): string => runs.map((run) => format((run.seconds * 1e9) / count)).join(', ');
    console.log(
      `  engine rows are the median of ${repeat} runs; ns/op of each run: typed [${list(typedRuns)}]` +
        (runExecute ? `, execute [${list(executedRuns)}]` : ''),
    );
  }
  console.log(
    `  checked: invariants hold; ${format(typed.openOrders)} open orders and ${format(typed.trades)} trades in both engine runs` +
      (peer !== undefined ? `; peer book identical (${format(peer.openOrders)} open orders)` : ''),
  );
  if (peer !== undefined) {
    console.log(
      `  ratio engine/peer: typed ${(peer.seconds / typed.seconds).toFixed(2)}x` +
        (executed !== undefined ? `, execute ${(peer.seconds / executed.seconds).toFixed(2)}x` : ''),
    );
  }
}

if (results.length >= 2) {
  const first = results[0]!;
  const last = results[results.length - 1]!;
  console.log('');
  console.log(`cost per op, ${format(first.ops)} → ${format(last.ops)} ops (flatness; 1.00 = perfectly flat):`);
  const flat = (name: string, a: RunResult | undefined, b: RunResult | undefined): void => {
    if (a === undefined || b === undefined) return;
    const nsA = (a.seconds * 1e9) / first.ops;
    const nsB = (b.seconds * 1e9) / last.ops;
    console.log(
      `  ${name.padEnd(34)}${pad(format(nsA), 8)} ns → ${pad(format(nsB), 8)} ns   ratio ${(nsB / nsA).toFixed(2)}`,
    );
  };
  flat('engine: placeOrder/cancelOrder', first.typed, last.typed);
  flat('engine: execute() with strings', first.executed, last.executed);
  flat('nodejs-order-book', first.peer, last.peer);
}

console.log('');
console.log(`${loadNote()} at end`);

const final = results[results.length - 1];
if (final !== undefined) {
  const opsPerSec = Math.round(final.ops / final.typed.seconds);
  const peerOpsPerSec = final.peer === undefined ? null : Math.round(final.ops / final.peer.seconds);
  const ratio = peerOpsPerSec === null ? null : Math.round((opsPerSec / peerOpsPerSec) * 100) / 100;
  console.log('');
  console.log(JSON.stringify({ ops: final.ops, opsPerSec, peerOpsPerSec, ratio }));
}
