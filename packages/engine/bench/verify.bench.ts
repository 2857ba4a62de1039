/**
 * How many signatures per second the exchange can check: the limit signature
 * verification puts on the order rate, before the engine is even reached.
 *
 *   npx tsx packages/engine/bench/verify.bench.ts [--messages 20000] [--keys 8] [--rounds 5] [--noble 2000] [--workers N]
 *
 * N distinct, realistic order messages (Backpack signing strings for
 * orderExecute on SOL_USDC) are signed with several keys by signMessage from
 * src/signature.ts, untimed. Then:
 *
 *   rule + libsodium, one core    the project's rule (strict Ed25519: length,
 *                                 S < L, canonical A and R, no small-order A,
 *                                 then the equation), with the equation by
 *                                 libsodium (verifySignature's default where
 *                                 sodium-native loads), on this thread
 *   rule + node:crypto, one core  the same rule with the equation by OpenSSL
 *                                 (verifySignatureWithNodeCrypto)
 *   rule + each library, all cores
 *                                 the same in os.availableParallelism() worker
 *                                 threads (verify-worker.ts), messages moved
 *                                 into the workers before timing; wall time
 *                                 from "go" to the last worker's answer
 *   same, per batch incl. transfer the node's case: pack, transfer, verify and
 *                                 return verdicts per batch, all timed
 *   node:crypto.verify            raw OpenSSL verification with KeyObjects made
 *                                 in advance, for comparison
 *   @noble/ed25519 verify         pure JavaScript, on a subset (it is slow)
 *
 * Every timed pass must find every signature valid. Each figure is the median
 * of --rounds passes. The last line is one JSON object:
 *   {"backend":…, "verifyPerSecOneCore":…, "verifyPerSecAllCores":…,
 *    "nodeCryptoPerSecOneCore":…, "nodeCryptoPerSecAllCores":…,
 *    "ratioToNodeCrypto":…, "cores":…}
 * where the first two are the default back end's and ratioToNodeCrypto is
 * verifyPerSecAllCores ÷ nodeCryptoPerSecAllCores, measured in the same run.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { availableParallelism, cpus, loadavg } from 'node:os';
import * as ed25519 from '@noble/ed25519';
import {
  encodeSigningStringBytes,
  publicKeyFromSeed,
  signatureEquationBackend,
  signMessage,
  verifySignature,
  verifySignatureWithNodeCrypto,
} from '../src/index.js';
import { SplitMix32 } from './workload.js';
import { VerifyPool, verdictNames, type Equation, type SignedItem } from './verify-worker.js';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}
const messageCount = argument('messages', 20_000);
const keyCount = argument('keys', 8);
const rounds = argument('rounds', 5);
const nobleCount = Math.min(argument('noble', 2_000), messageCount);
const cores = availableParallelism();
const loadAtStart = loadavg();
const workerCount = argument('workers', cores);

// ---------------------------------------------------------------------------
// Keys and messages (untimed).

const random = new SplitMix32(0x5167);
const seeds = Array.from({ length: keyCount }, () => Uint8Array.from({ length: 32 }, () => random.below(256)));
const publicKeys = seeds.map((seed) => publicKeyFromSeed(seed));

function decimal(units: number, scale: number): string {
  const text = String(units).padStart(scale + 1, '0');
  const fraction = text.slice(text.length - scale).replace(/0+$/, '');
  return text.slice(0, text.length - scale) + (fraction.length > 0 ? `.${fraction}` : '');
}

const timestampStart = 1_750_000_000_000;
const signStarted = process.hrtime.bigint();
const items: SignedItem[] = [];
for (let index = 0; index < messageCount; index += 1) {
  const key = index % keyCount;
  const side = random.below(2) === 0 ? 'Bid' : 'Ask';
  const isLimit = random.below(10) < 9;
  const params: Array<[string, string]> = [
    ['symbol', 'SOL_USDC'],
    ['side', side],
    ['orderType', isLimit ? 'Limit' : 'Market'],
    ['quantity', decimal(1 + random.below(10_000), 2)],
    ['clientId', String(index)],
  ];
  if (isLimit) {
    params.push(['price', decimal(14_000 + random.below(2_000), 2)], ['timeInForce', 'GTC']);
  }
  const message = encodeSigningStringBytes([{ instruction: 'orderExecute', params }], timestampStart + index, 5_000);
  items.push({ publicKey: publicKeys[key]!, message, signature: signMessage(seeds[key]!, message) });
}
const signSeconds = Number(process.hrtime.bigint() - signStarted) / 1e9;
const averageMessageBytes = items.reduce((total, item) => total + item.message.length, 0) / items.length;

// ---------------------------------------------------------------------------
// Measurement helpers.

interface Figure {
  readonly name: string;
  readonly count: number;
  readonly seconds: number[];
  readonly note: string;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function timeSync(name: string, count: number, note: string, pass: () => number): Figure {
  pass(); // warm-up
  const seconds: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = process.hrtime.bigint();
    const valid = pass();
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
    if (valid !== count) throw new Error(`${name}: ${count - valid} of ${count} signatures did not verify`);
  }
  return { name, count, seconds, note };
}

async function timeAsync(name: string, count: number, note: string, pass: () => Promise<number>): Promise<Figure> {
  await pass(); // warm-up
  const seconds: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = process.hrtime.bigint();
    const valid = await pass();
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
    if (valid !== count) throw new Error(`${name}: ${count - valid} of ${count} signatures did not verify`);
  }
  return { name, count, seconds, note };
}

const validCode = verdictNames.indexOf('valid');
const countValid = (verdicts: Uint8Array): number =>
  verdicts.reduce((total, code) => total + (code === validCode ? 1 : 0), 0);

// ---------------------------------------------------------------------------
// Measurements.

const figures: Figure[] = [];

const oneCore = timeSync(
  `rule + ${signatureEquationBackend}, one core`,
  items.length,
  'verifySignature, main thread',
  () => {
    let valid = 0;
    for (const item of items) if (verifySignature(item.publicKey, item.message, item.signature) === 'valid') valid += 1;
    return valid;
  },
);
figures.push(oneCore);
const nodeCryptoOneCore = timeSync(
  'rule + node:crypto, one core',
  items.length,
  'verifySignatureWithNodeCrypto, main thread',
  () => {
    let valid = 0;
    for (const item of items)
      if (verifySignatureWithNodeCrypto(item.publicKey, item.message, item.signature) === 'valid') valid += 1;
    return valid;
  },
);
figures.push(nodeCryptoOneCore);

/** The rule in worker threads with one library behind the equation; messages moved in before timing. */
async function allCoresWith(equation: Equation, library: string): Promise<Figure> {
  const pool = await VerifyPool.start(workerCount, equation);
  const preloaded = await pool.preload(items);
  const figure = await timeAsync(
    `rule + ${library}, ${pool.size} workers`,
    items.length,
    'messages moved into the workers before timing',
    async () => countValid((await pool.verifyPreloaded(preloaded)).verdicts),
  );
  pool.drop(preloaded);
  await pool.close();
  return figure;
}
const allCores = await allCoresWith('fastest', signatureEquationBackend);
figures.push(allCores);
const nodeCryptoAllCores = await allCoresWith('node:crypto', 'node:crypto');
figures.push(nodeCryptoAllCores);

const pool = await VerifyPool.start(workerCount);
const batchSize = 1_000;
const batched = await timeAsync(
  `same (${signatureEquationBackend}), batches of ${batchSize} incl. transfer`,
  items.length,
  `pack + transfer + verify + verdicts back, ${Math.ceil(items.length / batchSize)} batches in flight one after another`,
  async () => {
    let valid = 0;
    for (let start = 0; start < items.length; start += batchSize) {
      valid += countValid((await pool.verify(items.slice(start, start + batchSize))).verdicts);
    }
    return valid;
  },
);
figures.push(batched);
await pool.close();

const keyObjects = new Map<Uint8Array, KeyObject>(
  publicKeys.map((key) => [
    key,
    createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key).toString('base64url') }, format: 'jwk' }),
  ]),
);
figures.push(
  timeSync('node:crypto.verify (raw), one core', items.length, 'OpenSSL only, KeyObjects made in advance', () => {
    let valid = 0;
    for (const item of items)
      if (cryptoVerify(null, item.message, keyObjects.get(item.publicKey)!, item.signature)) valid += 1;
    return valid;
  }),
);

const nobleItems = items.slice(0, nobleCount);
figures.push(
  timeSync(
    '@noble/ed25519 verify, one core',
    nobleItems.length,
    `pure JavaScript, first ${nobleItems.length} messages`,
    () => {
      let valid = 0;
      for (const item of nobleItems) if (ed25519.verify(item.signature, item.message, item.publicKey)) valid += 1;
      return valid;
    },
  ),
);

// ---------------------------------------------------------------------------
// Report.

const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
console.log(`signature verification: node ${process.version}, ${cpuModel}, availableParallelism ${cores}`);
const loadText = (load: number[]): string => load.map((value) => value.toFixed(2)).join(' ');
console.log(
  `load average ${loadText(loadAtStart)} at start, ${loadText(loadavg())} at end (other processes compete for the same cores)`,
);
console.log(
  `${items.length} distinct orderExecute messages (average ${averageMessageBytes.toFixed(0)} bytes), ${keyCount} keys; ` +
    `signed with signMessage in ${signSeconds.toFixed(2)} s (untimed); median of ${rounds} passes after one warm-up pass`,
);
console.log('');
console.log(`  ${'method'.padEnd(42)}${'verifies/s'.padStart(12)}${'µs each'.padStart(10)}  note`);
for (const figure of figures) {
  const seconds = median(figure.seconds);
  const perSecond = figure.count / seconds;
  console.log(
    `  ${figure.name.padEnd(42)}${Math.round(perSecond).toLocaleString('en-US').padStart(12)}` +
      `${((seconds * 1e6) / figure.count).toFixed(1).padStart(10)}  ${figure.note}`,
  );
}
const perSecond = (figure: Figure): number => Math.round(figure.count / median(figure.seconds));
const oneCorePerSecond = perSecond(oneCore);
const allCoresPerSecond = perSecond(allCores);
const nodeCryptoAllCoresPerSecond = perSecond(nodeCryptoAllCores);
const ratioToNodeCrypto = allCoresPerSecond / nodeCryptoAllCoresPerSecond;
console.log('');
console.log(
  `  scaling: ${(allCoresPerSecond / oneCorePerSecond).toFixed(2)}x with ${workerCount} workers on ${cores} available cores`,
);
console.log(
  `  ${signatureEquationBackend} ÷ node:crypto, all cores: ${ratioToNodeCrypto.toFixed(2)} (one core: ${(oneCorePerSecond / perSecond(nodeCryptoOneCore)).toFixed(2)})`,
);
console.log('');
console.log(
  JSON.stringify({
    backend: signatureEquationBackend,
    verifyPerSecOneCore: oneCorePerSecond,
    verifyPerSecAllCores: allCoresPerSecond,
    nodeCryptoPerSecOneCore: perSecond(nodeCryptoOneCore),
    nodeCryptoPerSecAllCores: nodeCryptoAllCoresPerSecond,
    ratioToNodeCrypto: Number(ratioToNodeCrypto.toFixed(3)),
    cores,
  }),
);
