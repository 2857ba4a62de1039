/**
 * The engine's CPU per node-shaped log entry: one signed spot order or cancel,
 * parsed from its signing string and applied, as the sequencer, the snapshot
 * follower (packages/ledger/src/snapshot-worker.ts) and the replayer apply it.
 *
 *   npx tsx packages/engine/bench/entry-apply.bench.ts [--ops 200000] [--rounds 5] [--seed N]
 *
 * The stream is bench:engine's seeded workload (workload.ts) written as the
 * node's load generator signs it (packages/api/test/load/book-flow.ts): limit
 * orders with a fresh clientId and a timeInForce, market orders, and cancels
 * by clientId; signatures are taken as verified and each entry's digest is
 * given, as the node and the replayer call apply(). Each round times, in this order and each over the
 * whole stream: parseSigningString alone, parseInstruction (the two together
 * less the first), then apply() of every entry to a fresh state (the setup
 * untimed). Figures are µs of process CPU per entry (GC and V8's helper
 * threads included); the last line is JSON with every round's figures and
 * the final state hash, which must not change when no rule does.
 */
import { cpus, loadavg } from 'node:os';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import {
  apply,
  createState,
  encodeSigningStringBytes,
  execute,
  messageDigest,
  parseInstruction,
  parseSigningString,
  stateHashHex,
  type ExchangeState,
} from '../src/index.js';
import { median, positiveIntegerArgument } from './bench-support.js';
import { accountKeys, benchMarket, generateWorkload, OP_CANCEL, OP_LIMIT, SIDE_BID } from './workload.js';

const ops = positiveIntegerArgument('ops', 200_000);
const rounds = positiveIntegerArgument('rounds', 5);
const seed = positiveIntegerArgument('seed', 20_240_601);

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const startTimeMs = 1_750_000_000_000;
const windowMs = 5_000;
const workload = generateWorkload({ seed, count: ops });
const keys = accountKeys(workload.accountCount + 2, seed);
const operator = keys[workload.accountCount]!;
const feeAccount = keys[workload.accountCount + 1]!;
const publicKeys = keys.slice(0, workload.accountCount).map((key) => new Uint8Array(Buffer.from(key, 'base64')));

function mustAccept(outcome: ReturnType<typeof execute>, what: string): void {
  if (!outcome.accepted) throw new Error(`setup ${what}: ${outcome.rejection.code} ${outcome.rejection.message}`);
}

/** SOL, USDC and SOL_USDC listed, every account funded far beyond any order (as engine.bench.ts). */
function freshState(): ExchangeState {
  const state = createState({ exchangeName: 'bench', operatorKeys: [operator], feeAccount });
  const timeMs = startTimeMs - 1;
  const { base, quote } = benchMarket;
  mustAccept(
    execute(state, operator, { kind: 'assetList', symbol: base.symbol, decimals: base.decimals }, timeMs),
    'SOL',
  );
  mustAccept(
    execute(state, operator, { kind: 'assetList', symbol: quote.symbol, decimals: quote.decimals }, timeMs),
    'USDC',
  );
  const { symbol, tickSize, stepSize, minQuantity, maxQuantity, minPrice, maxPrice, makerFeeBps, takerFeeBps } =
    benchMarket;
  const listing = {
    symbol,
    tickSize,
    stepSize,
    minQuantity,
    maxQuantity,
    minPrice,
    maxPrice,
    makerFeeBps,
    takerFeeBps,
  };
  const market = { kind: 'marketList', ...listing, baseSymbol: base.symbol, quoteSymbol: quote.symbol } as const;
  mustAccept(execute(state, operator, { ...market, maxOpenOrders: 1000 }, timeMs), 'SOL_USDC');
  keys.slice(0, workload.accountCount).forEach((account, index) => {
    for (const [asset, quantity] of [
      ['SOL', '1000000000'],
      ['USDC', '1000000000000'],
    ] as const) {
      const deposit = {
        account,
        symbol: asset,
        quantity,
        blockchain: 'bench',
        chainTransactionId: `${asset}-${index}`,
      };
      mustAccept(execute(state, operator, { kind: 'depositCredit', ...deposit }, timeMs), 'deposit');
    }
  });
  return state;
}

function decimalOfHundredths(hundredths: number): string {
  const fraction = hundredths % 100;
  return `${Math.floor(hundredths / 100)}${fraction === 0 ? '' : `.${String(fraction).padStart(2, '0')}`}`;
}

/** Each operation's signed message; an order's clientId is the id the engine gives it, so a cancel can name it. */
const messages: Uint8Array[] = [];
for (let index = 0; index < ops; index += 1) {
  const kind = workload.kind[index]!;
  const symbol = benchMarket.symbol;
  const side = workload.side[index] === SIDE_BID ? 'Bid' : 'Ask';
  const quantity = decimalOfHundredths(workload.quantitySteps[index]!);
  const clientId = String(workload.orderId[index]!);
  const params: Record<string, string> =
    kind === OP_CANCEL
      ? { symbol, clientId }
      : kind === OP_LIMIT
        ? {
            symbol,
            side,
            orderType: 'Limit',
            price: decimalOfHundredths(workload.priceTicks[index]!),
            quantity,
            timeInForce: 'GTC',
            clientId,
          }
        : { symbol, side, orderType: 'Market', quantity };
  const instruction = kind === OP_CANCEL ? 'orderCancel' : 'orderExecute';
  messages.push(
    encodeSigningStringBytes([{ instruction, params: Object.entries(params) }], startTimeMs + index, windowMs),
  );
}

/** Each entry's replay-protection digest, computed before timing: the sequencer, follower and replayer pass it in. */
const digests = messages.map((message, index) => messageDigest(publicKeys[workload.account[index]!]!, message));

function cpuMicroseconds(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

interface Round {
  readonly signingStringUs: number;
  readonly instructionUs: number;
  readonly applyUs: number;
  readonly accepted: number;
  readonly hash: string;
}

function runRound(): Round {
  collectGarbage();
  // Nothing parsed is kept: kept, 200,000 Maps would be promoted and the collector's copying billed to the parse.
  let started = cpuMicroseconds();
  for (const message of messages) if (!parseSigningString(message).ok) throw new Error('signing string refused');
  const signingStringUs = (cpuMicroseconds() - started) / ops;
  started = cpuMicroseconds();
  for (const message of messages) {
    const parsed = parseSigningString(message);
    if (!parsed.ok || !parseInstruction(parsed.value.groups).ok) throw new Error('instruction refused');
  }
  const instructionUs = (cpuMicroseconds() - started) / ops - signingStringUs;

  const state = freshState();
  collectGarbage();
  let accepted = 0;
  started = cpuMicroseconds();
  for (let index = 0; index < ops; index += 1) {
    const transaction = {
      message: messages[index]!,
      publicKey: publicKeys[workload.account[index]!]!,
      signature: new Uint8Array(64),
    };
    const options = { signatureVerified: true, messageDigest: digests[index]! };
    if (apply(state, { logTimeMs: startTimeMs + index, transaction }, options).accepted) accepted += 1;
  }
  const applyUs = (cpuMicroseconds() - started) / ops;
  return { signingStringUs, instructionUs, applyUs, accepted, hash: stateHashHex(state) };
}

const round2 = (value: number): number => Math.round(value * 100) / 100;
console.log(
  `entry-apply bench: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${ops.toLocaleString()} entries ` +
    `(${workload.stats.limits} limit, ${workload.stats.cancels} cancel, ${workload.stats.markets} market)`,
);
const loadAtStart = loadavg();
const results: Round[] = [];
for (let round = 1; round <= rounds; round += 1) {
  const result = runRound();
  results.push(result);
  console.log(
    `round ${round}: parseSigningString ${result.signingStringUs.toFixed(3)}, parseInstruction ` +
      `${result.instructionUs.toFixed(3)}, apply ${result.applyUs.toFixed(3)} µs CPU per entry; ` +
      `${result.accepted} accepted; state hash ${result.hash}`,
  );
}
const hashes = new Set(results.map((result) => result.hash));
if (hashes.size !== 1) throw new Error('the rounds ended in different states');
const medians = {
  signingStringUs: round2(median(results.map((result) => result.signingStringUs))),
  instructionUs: round2(median(results.map((result) => result.instructionUs))),
  applyUs: round2(median(results.map((result) => result.applyUs))),
};
console.log(
  `medians: parseSigningString ${medians.signingStringUs}, parseInstruction ${medians.instructionUs}, apply ` +
    `${medians.applyUs} µs; load ${loadAtStart.map((value) => value.toFixed(2)).join(' ')} at start, ` +
    `${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')} at end`,
);
console.log(
  JSON.stringify({
    entries: ops,
    medians,
    applyUs: results.map((result) => round2(result.applyUs)),
    stateHash: results[0]!.hash,
  }),
);
