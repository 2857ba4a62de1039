/**
 * The liabilities tree against its targets (docs/attestation.md):
 *
 *   tsx packages/engine/bench/liabilities-tree.bench.ts [--accounts 1000000] [--assets 10]
 *       [--seed N] [--repeat 9] [--proofs 500] [--no-check]
 *
 * Set-up, untimed: a state of `accounts` accounts (the fee account included)
 * and `assets` listed assets, built directly with createState, listAsset and
 * addAccount, every account holding a non-zero available balance of every
 * asset and some holding locked and pending amounts too: the worst case for
 * leaf encoding, since zero amounts are skipped.
 *
 * Timed:
 *   build          LiabilitiesTree.build over the whole state (once).
 *   incremental    1,000 random accounts change a balance (flagged as the
 *                  engine flags them), then tree.update(); the median of
 *                  --repeat rounds.
 *   proof verify   verifyInclusionProof on the JSON proof of a random
 *                  account, with the attestation signature check replaced by
 *                  one that accepts (the median of --proofs runs); the
 *                  signature check alone is timed separately, with noble
 *                  (the browser default) and with the engine's rule.
 *
 * Wall-clock figures are the targets; process CPU (all threads) is shown
 * beside them, since on a shared machine the wall figure includes time spent
 * waiting for a core.
 *
 * Unless --no-check, the incrementally updated root is compared with a fresh
 * full build at the end, and every timed proof must verify.
 *
 * The last line is one JSON object:
 *   {"accounts":…,"assets":…,"buildSeconds":…,"incrementalMs":…,"proofBytes":…,"proofVerifyMs":…}
 */
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  addAccount,
  attestationFieldsOf,
  bytesToLowerHex,
  createState,
  LiabilitiesTree,
  signAttestation,
  verifyAttestationSignature,
  verifyInclusionProof,
  verifySignature,
  verifyWithNobleStrict,
  publicKeyFromSeed,
  type Account,
  type ExchangeState,
} from '../src/index.js';
import { accountIdOf } from '../src/account-id.js';
import { seededRandom } from '../test/random-log.js';
import { listAsset } from '../src/listing.js';
import { isRejection } from '../src/result-codes.js';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}
const accountCount = Number(argument('accounts') ?? 1_000_000);
const assetCount = Number(argument('assets') ?? 10);
const seed = Number(argument('seed') ?? 20_250_601);
const repeat = Number(argument('repeat') ?? 9);
const proofRuns = Number(argument('proofs') ?? 500);
const changedPerRound = 1_000;
const check = !process.argv.includes('--no-check');
for (const value of [accountCount, assetCount, seed, repeat, proofRuns]) {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`bad numeric argument ${value}`);
}

const targets = { buildSeconds: 10, incrementalMs: 50, proofVerifyMs: 1 };

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

// The engine's test generator (splitmix32): the same seed gives the same state.
const next = seededRandom(seed);

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index += 1) bytes[index] = next() & 0xff;
  return bytes;
}

function milliseconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Process CPU milliseconds (all threads: main, GC, compiler) since `since`. */
function cpuMilliseconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[sorted.length >> 1]!;
}

// ---------------------------------------------------------------------------
// Set-up (untimed)

const operatorSeed = new Uint8Array(32).fill(200);
const operatorKey = accountIdOf(publicKeyFromSeed(operatorSeed));

function buildState(): ExchangeState {
  const state = createState({
    exchangeName: 'liabilities bench',
    operatorKeys: [operatorKey],
    feeAccount: accountIdOf(randomBytes(32)),
  });
  for (let index = 0; index < assetCount; index += 1) {
    const asset = listAsset(state, { kind: 'assetList', symbol: `ASSET${index}`, decimals: 9 });
    if (isRejection(asset)) throw new Error(asset.message);
    asset.reservesUnits = 1n << 80n;
  }
  const creatorSignature = new Uint8Array(64);
  for (let ordinal = 1; ordinal < accountCount; ordinal += 1) {
    // Distinct keys and creator signatures; the tree does not care whether a key is a curve point.
    const key = randomBytes(32);
    creatorSignature.set(key, 0);
    addAccount(state, accountIdOf(key), creatorSignature);
  }
  for (const account of state.accountList) {
    for (const asset of state.assets) {
      const balance = account.balance(asset);
      balance.available = BigInt(1 + next()) * 1_000_000n;
      if ((next() & 7) === 0) balance.locked = BigInt(next());
      if ((next() & 31) === 0) balance.pendingWithdrawal = BigInt(next());
    }
  }
  return state;
}

function flag(state: ExchangeState, account: Account): void {
  // What the engine's EntryRecorder does for a changed balance.
  if (!account.leafStale) {
    account.leafStale = true;
    state.changedAccounts.push(account);
  }
}

console.log(
  `liabilities tree: ${accountCount.toLocaleString('en')} accounts × ${assetCount} assets, seed ${seed}, load ${loadavg()
    .map((load) => load.toFixed(2))
    .join(' ')}`,
);
let start = process.hrtime.bigint();
const state = buildState();
console.log(`  set-up (untimed): ${(milliseconds(start) / 1000).toFixed(1)} s`);

// ---------------------------------------------------------------------------
// Build

// A full collection, then a pause: V8 sweeps concurrently after a collection,
// and on two cores that sweeping would otherwise be billed to the build.
collectGarbage();
await new Promise((resolve) => setTimeout(resolve, 2_000));
start = process.hrtime.bigint();
let cpuStart = process.cpuUsage();
const tree = LiabilitiesTree.build(state);
const buildSeconds = milliseconds(start) / 1000;
const buildCpuSeconds = cpuMilliseconds(cpuStart) / 1000;

// ---------------------------------------------------------------------------
// Incremental updates

const incrementalRuns: number[] = [];
const incrementalCpuRuns: number[] = [];
for (let round = 0; round < repeat; round += 1) {
  for (let changed = 0; changed < changedPerRound; changed += 1) {
    const account = state.accountList[next() % state.accountList.length]!;
    const balance = account.balance(state.assets[next() % state.assets.length]!);
    balance.available += BigInt(1 + (next() & 0xffff));
    flag(state, account);
  }
  // No forced collection here: its concurrent sweeping would be billed to the update.
  start = process.hrtime.bigint();
  cpuStart = process.cpuUsage();
  tree.update(state);
  incrementalRuns.push(milliseconds(start));
  incrementalCpuRuns.push(cpuMilliseconds(cpuStart));
}
const incrementalMs = median(incrementalRuns);

// ---------------------------------------------------------------------------
// Proofs

start = process.hrtime.bigint();
const root = tree.root();
const attestation = signAttestation(
  attestationFieldsOf(state, root, 1, randomBytes(32), randomBytes(32)),
  operatorSeed,
);
const attestSeconds = milliseconds(start) / 1000;

const acceptAnySignature = (): boolean => true;
const engineRule = (key: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verifySignature(key, message, signature) === 'valid';
const proofTexts: string[] = [];
for (let index = 0; index < 32; index += 1) {
  const account = state.accountList[next() % state.accountList.length]!;
  proofTexts.push(JSON.stringify(tree.inclusionProof(attestation, account.id)));
}
const proofBytes = Buffer.byteLength(proofTexts[0]!);
const proofs = proofTexts.map((text) => JSON.parse(text) as unknown);
// Warm up the code paths before timing.
for (const proof of proofs) verifyInclusionProof(proof, [operatorKey], { verifySignature: acceptAnySignature });
const proofRunsMs: number[] = [];
for (let run = 0; run < proofRuns; run += 1) {
  const proof = proofs[run % proofs.length];
  start = process.hrtime.bigint();
  const verdict = verifyInclusionProof(proof, [operatorKey], { verifySignature: acceptAnySignature });
  proofRunsMs.push(milliseconds(start));
  if (check && !verdict.ok) throw new Error(`a proof failed: ${verdict.reason}`);
}
const proofVerifyMs = median(proofRunsMs);

function timeSignature(
  verify: (key: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean,
  runs: number,
): number {
  const times: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    start = process.hrtime.bigint();
    const valid = verifyAttestationSignature(attestation, [operatorKey], verify);
    times.push(milliseconds(start));
    if (!valid) throw new Error('the attestation signature does not verify');
  }
  return median(times);
}
const nobleSignatureMs = timeSignature(verifyWithNobleStrict, 50);
const engineSignatureMs = timeSignature(engineRule, 200);
start = process.hrtime.bigint();
const fullProofVerdict = verifyInclusionProof(proofs[0], [operatorKey]);
const fullProofMs = milliseconds(start);
if (!fullProofVerdict.ok) throw new Error(`the proof with its signature check failed: ${fullProofVerdict.reason}`);

// ---------------------------------------------------------------------------
// Check and report

if (check) {
  const fresh = LiabilitiesTree.build(state);
  if (bytesToLowerHex(fresh.root().hash) !== bytesToLowerHex(tree.root().hash))
    throw new Error('the updated root differs from a full rebuild');
  console.log('  check: the incrementally updated root equals a full rebuild');
}

const row = (name: string, value: string, target: string): void =>
  console.log(`  ${name.padEnd(44)}${value.padStart(14)}   ${target}`);
console.log('');
row('figure', 'measured', 'target');
row('build (full tree)', `${buildSeconds.toFixed(2)} s`, `< ${targets.buildSeconds} s`);
row('  process CPU', `${buildCpuSeconds.toFixed(2)} s`, '');
row(
  `incremental update (${changedPerRound} accounts, median of ${repeat})`,
  `${incrementalMs.toFixed(2)} ms`,
  `< ${targets.incrementalMs} ms`,
);
row(`  each run`, '', incrementalRuns.map((value) => value.toFixed(1)).join(' '));
row(`  process CPU, median`, `${median(incrementalCpuRuns).toFixed(2)} ms`, '');
row(`tree depth`, String(tree.depth()), '');
row('proof size (JSON)', `${proofBytes} bytes`, '');
row(
  `proof verify, no signature (median of ${proofRuns})`,
  `${proofVerifyMs.toFixed(3)} ms`,
  `< ${targets.proofVerifyMs} ms`,
);
row('attestation signature, noble strict (browser)', `${nobleSignatureMs.toFixed(3)} ms`, '');
row('attestation signature, engine rule (node)', `${engineSignatureMs.toFixed(3)} ms`, '');
row('proof verify with noble signature (one, cold)', `${fullProofMs.toFixed(3)} ms`, '');
row('attestation fields incl. state hash (untimed)', `${attestSeconds.toFixed(2)} s`, '');
console.log('');
console.log(
  JSON.stringify({
    accounts: accountCount,
    assets: assetCount,
    buildSeconds: Number(buildSeconds.toFixed(3)),
    incrementalMs: Number(incrementalMs.toFixed(3)),
    proofBytes,
    proofVerifyMs: Number(proofVerifyMs.toFixed(4)),
  }),
);
