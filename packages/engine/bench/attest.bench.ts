/**
 * The cost of an attestation as the state grows (docs/benchmarks.md, "Attestations"):
 *
 *   pnpm bench:attest [--sizes 100000,1000000] [--changed 1000] [--rounds 5] [--no-check] [--full-hash]
 *
 * Set-up, untimed, for each size N: a state of N accounts (the fee account
 * included) holding SOL and USDC, each credited by a deposit of its own (N
 * credited deposits) and each with one open order resting on SOL_USDC (bids
 * below and asks above the mid, over 2,000 price levels), and N / 5
 * remembered messages; then the liabilities tree and the state commitment
 * are built over it. Each round, untimed, 1,000 random accounts change as an
 * entry changes them: each cancels its order and places a new one through
 * the engine (execute()), and a message is remembered for each.
 *
 * Timed, on this (the sequencer's) thread: what the node's attestation maker
 * does at an attestation (packages/ledger/src/attestation-maker.ts): the
 * liabilities tree's update, the state commitment's update, the attestation
 * fields and the operator's signature. The median of --rounds rounds, after
 * three untimed warm-up rounds.
 *
 * It also prints the resident memory the accounts and the open orders add
 * (RSS after a full collection, before and after each step of the set-up),
 * and with --full-hash the old full-state hash of the same state beside it.
 * Unless --no-check, the incremental commitment is compared with one built
 * from scratch after the last round.
 *
 * The last line is one JSON object: {"attestMs100k":…,"attestMs1m":…,"ratio":…}
 * (the ratio of the largest size's figure to the smallest's).
 */
import { loadavg } from 'node:os';
import { setTimeout as pause } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  accountIdOf,
  addAccount,
  attestationFieldsOf,
  createState,
  execute,
  LiabilitiesTree,
  publicKeyFromSeed,
  remember,
  signAttestation,
  stateCommitmentOf,
  StateCommitment,
  stateHash,
  type ExchangeState,
  type Instruction,
} from '../src/index.js';
import { seededRandom } from '../test/random-log.js';
import { solUsdcListing } from '../test/support-listings.js';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const sizes = (argument('sizes') ?? '100000,1000000').split(',').map(Number);
const changedCount = Number(argument('changed') ?? 1000);
const rounds = Number(argument('rounds') ?? 7);
const warmUpRounds = 3;
const check = !process.argv.includes('--no-check');
const fullHash = process.argv.includes('--full-hash');
const next = seededRandom(20261205);

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function residentBytes(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().rss;
}

const operatorSeed = new Uint8Array(32).fill(200);
const operatorKey = accountIdOf(publicKeyFromSeed(operatorSeed));
const genesisHash = new Uint8Array(32).fill(7);
const midTicks = 1_000_000;
let time = 1_800_000_000_000;

function accepted(state: ExchangeState, signer: string, instruction: Instruction): void {
  const outcome = execute(state, signer, instruction, time);
  if (!outcome.accepted) throw new Error(`${instruction.kind} refused: ${outcome.rejection.message}`);
}

function orderFor(index: number): Instruction {
  const bid = index % 2 === 0;
  const offset = 1 + (index % 1000);
  const priceTicks = bid ? midTicks - offset : midTicks + offset;
  return {
    kind: 'orderExecute',
    orders: [
      {
        symbol: 'SOL_USDC',
        side: bid ? 'Bid' : 'Ask',
        orderType: 'Limit',
        price: (priceTicks / 100).toFixed(2),
        quantity: '1',
        timeInForce: 'GTC',
        postOnly: false,
        selfTradePrevention: 'RejectTaker',
      },
    ],
  };
}

interface Built {
  readonly state: ExchangeState;
  readonly keys: string[];
  readonly accountBytes: number;
  readonly orderBytes: number;
}

function buildState(accountCount: number): Built {
  const state = createState({ exchangeName: 'attest bench', operatorKeys: [operatorKey], feeAccount: operatorKey });
  accepted(state, operatorKey, { kind: 'assetList', symbol: 'SOL', decimals: 9 });
  accepted(state, operatorKey, { kind: 'assetList', symbol: 'USDC', decimals: 6 });
  accepted(state, operatorKey, solUsdcListing({ maxOpenOrders: 100, maxMakersPerOrder: 100, minOrderValue: '0' }));
  const before = residentBytes();
  const [sol, usdc] = state.assets as [ExchangeState['assets'][number], ExchangeState['assets'][number]];
  const key = new Uint8Array(32);
  const signature = new Uint8Array(64);
  const keys: string[] = [];
  for (let index = 1; index < accountCount; index += 1) {
    new DataView(key.buffer).setUint32(0, index);
    signature.set(key);
    const id = accountIdOf(key);
    const account = addAccount(state, id, signature);
    // What a deposit credit does, without parsing one per account.
    account.balance(sol).available = 1_000_000_000_000n;
    account.balance(usdc).available = 1_000_000_000_000n;
    sol.depositedUnits += 1_000_000_000_000n;
    usdc.depositedUnits += 1_000_000_000_000n;
    state.creditedDeposits.add(`Solana:deposit-${index}`);
    keys.push(id);
  }
  const withAccounts = residentBytes();
  for (let index = 0; index < keys.length; index += 1) accepted(state, keys[index]!, orderFor(index));
  const withOrders = residentBytes();
  for (let index = 0; index < accountCount / 5; index += 1) rememberOne(state);
  state.changedAccounts.length = 0;
  for (const account of state.accountList) account.leafStale = false;
  const accountBytes = (withAccounts - before) / keys.length;
  return { state, keys, accountBytes, orderBytes: (withOrders - withAccounts) / keys.length };
}

const digest = new Uint8Array(32);
function rememberOne(state: ExchangeState): void {
  for (let index = 0; index < 32; index += 4) new DataView(digest.buffer).setUint32(index, next());
  remember(state.replayProtection, Buffer.from(digest).toString('latin1'), time, state.changes);
}

/** 1,000 accounts each cancel their order and place a new one, as entries would; a message remembered for each. */
function changeAccounts(state: ExchangeState, keys: string[]): void {
  time += 1000;
  for (let count = 0; count < changedCount; count += 1) {
    const index = next() % keys.length;
    const account = state.accounts.get(keys[index]!)!;
    const open = account.firstOpenOrder;
    if (open !== undefined) {
      accepted(state, keys[index]!, { kind: 'orderCancel', symbol: 'SOL_USDC', orderId: open.id });
    }
    accepted(state, keys[index]!, orderFor(index + count));
    rememberOne(state);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[sorted.length >> 1]!;
}

async function measure(accountCount: number): Promise<{ attestMs: number; attestCpuMs: number }> {
  let started = performance.now();
  const { state, keys, accountBytes, orderBytes } = buildState(accountCount);
  const setUpSeconds = ((performance.now() - started) / 1000) | 0;
  console.log(
    `  set-up ${setUpSeconds} s; resident memory per account ${accountBytes.toFixed(0)} B, ` +
      `per open order ${orderBytes.toFixed(0)} B`,
  );
  started = performance.now();
  const tree = LiabilitiesTree.build(state);
  const commitment = StateCommitment.build(state);
  commitment.update(state);
  const buildSeconds = (performance.now() - started) / 1000;
  console.log(`  full builds (untimed): liabilities tree and state commitment ${buildSeconds.toFixed(1)} s`);
  if (fullHash) {
    started = performance.now();
    stateHash(state);
    console.log(`  old full-state hash of the same state: ${(performance.now() - started).toFixed(0)} ms`);
  }
  const timings: number[] = [];
  const cpuTimings: number[] = [];
  const commitmentTimings: number[] = [];
  for (let round = -warmUpRounds; round < rounds; round += 1) {
    changeAccounts(state, keys);
    // A full collection, then a pause: V8 sweeps concurrently after a collection, and that sweeping would otherwise
    // be billed to the timed call.
    collectGarbage();
    await pause(1500);
    const cpuBefore = process.cpuUsage();
    const begin = performance.now();
    const root = tree.update(state);
    const cpuMiddle = process.cpuUsage();
    const stateCommitment = commitment.update(state);
    const commitmentCpu = process.cpuUsage(cpuMiddle);
    const fields = attestationFieldsOf(state, root, state.headSequence + 1, genesisHash, genesisHash, stateCommitment);
    signAttestation(fields, operatorSeed);
    const wall = performance.now() - begin;
    const cpu = process.cpuUsage(cpuBefore);
    if (round < 0) continue; // warm-up: the first rounds run before the JIT has optimised the update paths
    cpuTimings.push((cpu.user + cpu.system) / 1000);
    timings.push(wall);
    commitmentTimings.push((commitmentCpu.user + commitmentCpu.system) / 1000);
  }
  const attestMs = median(timings);
  const attestCpuMs = median(cpuTimings);
  console.log(
    `  attestation after ${changedCount} changed accounts: median ${attestMs.toFixed(2)} ms wall, ` +
      `${attestCpuMs.toFixed(2)} ms CPU ` +
      `(of which the state commitment ${median(commitmentTimings).toFixed(2)} ms CPU)`,
  );
  if (check) {
    const fresh = Buffer.from(stateCommitmentOf(state)).toString('hex');
    const incremental = Buffer.from(commitment.update(state)).toString('hex');
    if (fresh !== incremental) {
      throw new Error(`the incremental commitment ${incremental} differs from a full build's ${fresh}`);
    }
    console.log('  checked: the incremental commitment equals a full build');
  }
  return { attestMs, attestCpuMs };
}

const loadText = (): string =>
  loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
console.log(`attestations: sizes ${sizes.join(', ')}, ${changedCount} changed accounts each, load ${loadText()}`);
const figures: { attestMs: number; attestCpuMs: number }[] = [];
for (const size of sizes) {
  console.log(`${size.toLocaleString('en')} accounts with one open order each:`);
  figures.push(await measure(size));
}
const first = figures[0]!;
const last = figures[figures.length - 1]!;
const rounded = (value: number): number => Number(value.toFixed(2));
console.log(`load at end ${loadText()}`);
// Wall clock is the target's measure; CPU time (all threads of the process during the timed call) is what the
// work costs when other processes share the cores.
console.log(
  JSON.stringify({
    attestMs100k: rounded(first.attestMs),
    attestMs1m: rounded(last.attestMs),
    ratio: Number((last.attestMs / first.attestMs).toFixed(3)),
    attestCpuMs100k: rounded(first.attestCpuMs),
    attestCpuMs1m: rounded(last.attestCpuMs),
    cpuRatio: Number((last.attestCpuMs / first.attestCpuMs).toFixed(3)),
  }),
);
