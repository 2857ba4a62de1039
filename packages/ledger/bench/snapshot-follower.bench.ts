/**
 * The snapshot worker's path (snapshot-worker.ts), step by step, on a real log. Not a test; run with
 *   npx tsx packages/ledger/bench/snapshot-follower.bench.ts <ledger directory> [--rounds 3] [--snapshot-every 10000]
 *     [--read views|copies] [--finish events|bookkeeping]
 * on a copy of the data directory's `ledger` of a `pnpm bench:node --profile` run (which keeps it; LevelDB takes a
 * lock, so copy it first). The ledger is only read.
 *
 * Each round replays the whole log from the genesis, twice, from fresh states:
 * - "follower": what StateFollower.follow does per entry, split into steps and timed with performance.now():
 *   unpacking the entry from a packed message of 32 (the taker's batch at full load), reading the entry (--read views:
 *   its parts as views, as the worker reads them; copies: decodeEntry, as it did before branch `follow13`), the signing
 *   string's parse, replay protection's checks, the instruction's parse, execute without the recorder's finish(),
 *   finish() (the balance and depth events the follower discards; --finish bookkeeping: only the changed-account
 *   bookkeeping finish() also does, to measure what skipping the events would save), remembering the digest; at each
 *   multiple of --snapshot-every, the snapshot's steps (checkInvariants, encodeState, SHA-256, encodeSnapshot, the
 *   entry's hash).
 * - "apply": the same entries, already decoded, through apply() as the sequencer calls it (signature verified, the
 *   digest given): the engine's own cost of those entries, without the follower's decode and snapshots.
 * Entries are grouped by kind: single orders (one orderExecute), cancels, 20-order batches (several groups), other.
 * Garbage collections (PerformanceObserver 'gc') are charged to the group of the entry they started in; their time
 * is also inside the steps they interrupted. Timing adds about 0.05 µs per step. Both sides end at the same state
 * hash, which is printed (it must equal the node's).
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  apply,
  checkInvariants,
  createState,
  decodeEntry,
  encodeSnapshot,
  encodeState,
  execute,
  forgetExpired,
  hasSeen,
  hashEntryEncoding,
  isWithinWindow,
  parseInstruction,
  parseSigningString,
  remember,
  sha256,
  stateHashHex,
  viewEntry,
  type Account,
  type Balance,
  type EngineEvent,
  type ExchangeState,
  type LogEntry,
} from '@vex/engine';
import { signerAccountId } from '../../engine/src/signer-account-ids.js';
import { packEntries } from '../src/snapshot-taker.js';
import { readKeptLedger } from './kept-ledger.js';

const { values: options, positionals } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'snapshot-every': { type: 'string', default: '10000' },
    /** copies: decodeEntry (the worker before branch follow13); views: the parts as views, as the worker reads them. */
    read: { type: 'string', default: 'views' },
    /** events: the recorder's finish() as apply calls it; bookkeeping: only its state-commitment bookkeeping. */
    finish: { type: 'string', default: 'events' },
  },
  allowPositionals: true,
});
const location = positionals[0];
if (location === undefined) throw new Error('usage: snapshot-follower.bench.ts <ledger directory> [--rounds n]');
const rounds = Number(options.rounds);
const snapshotEveryEntries = Number(options['snapshot-every']);
/** The snapshot taker sends 32 gathered entries at once under full load (snapshot-taker.ts). */
const entriesPerMessage = 32;
const readViews = options.read === 'views';
if (!readViews && options.read !== 'copies') throw new Error('--read is copies or views');
const finishEvents = options.finish === 'events';
if (!finishEvents && options.finish !== 'bookkeeping') throw new Error('--finish is events or bookkeeping');

const { genesis, encodings, decoded, digests, instructions } = await readKeptLedger(location);

// ---------------------------------------------------------------------------
// The log as the worker receives it: packed messages of 32 entries and their digests; entries grouped by kind.

const groupNames = ['single order', 'cancel', 'batch', 'other'] as const;
type Group = 0 | 1 | 2 | 3;
const groupOf = new Uint8Array(decoded.length);
const entriesIn = [0, 0, 0, 0];
const ordersIn = [0, 0, 0, 0];
for (let index = 0; index < decoded.length; index += 1) {
  const instruction = instructions[index]!;
  const kind = instruction.kind;
  const orders = kind === 'orderExecute' ? instruction.orders.length : 0;
  const group: Group = orders === 1 ? 0 : orders > 1 ? 2 : kind === 'orderCancel' ? 1 : 3;
  groupOf[index] = group;
  entriesIn[group]! += 1;
  ordersIn[group]! += Math.max(1, orders);
}
const messages: Uint8Array[] = [];
for (let first = 0; first < encodings.length; first += entriesPerMessage)
  messages.push(packEntries(encodings.slice(first, first + entriesPerMessage)));
console.log(
  `--read ${options.read} --finish ${options.finish}; ` +
    `${encodings.length} entries: ${groupNames.map((name, group) => `${entriesIn[group]} ${name}`).join(', ')} ` +
    `(${ordersIn[2]} batched orders); snapshots every ${snapshotEveryEntries}`,
);

// ---------------------------------------------------------------------------
// Timing.

const stepNames = [
  'unpack',
  'decodeEntry',
  'parseSigningString',
  'window + hasSeen',
  'parseInstruction',
  'execute (less finish)',
  'finish (events)',
  'forgetExpired + remember',
] as const;
const snapshotStepNames = ['checkInvariants', 'encodeState', 'sha256', 'encodeSnapshot', 'entry hash'] as const;

/** µs per group and step. */
type StepTimes = Float64Array[];
const newStepTimes = (steps: number): StepTimes => groupNames.map(() => new Float64Array(steps));

/** Garbage collections by start time, gathered while a round runs. */
let collections: Array<{ startTime: number; duration: number }> = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) collections.push({ startTime: entry.startTime, duration: entry.duration });
}).observe({ entryTypes: ['gc'] });

/** The recorder's private fields finish() reads (entry-recorder.ts), for --finish bookkeeping. */
interface RecorderInside {
  firstBalance: Balance | undefined;
  moreBalances: Balance[] | undefined;
  changes: { accountChanged(account: Account): void };
  changedAccounts: Account[];
}

/**
 * Wraps the state's recorder's finish() so that its time is counted apart (an own property shadows the method); with
 * --finish bookkeeping, only what finish() does beside building events: the changed accounts for the state commitment
 * and the liabilities tree.
 */
function timeFinish(state: ExchangeState, into: { micros: number }): void {
  const recorder = state.recorder;
  const finish = recorder.finish.bind(recorder);
  const inside = recorder as unknown as RecorderInside;
  const touch = (account: Account): void => {
    inside.changes.accountChanged(account);
    if (!account.leafStale) {
      account.leafStale = true;
      inside.changedAccounts.push(account);
    }
  };
  const noEvents: EngineEvent[] = [];
  recorder.finish = (): EngineEvent[] => {
    const started = performance.now();
    let events = noEvents;
    if (finishEvents) events = finish();
    else {
      if (inside.firstBalance !== undefined) touch(inside.firstBalance.account);
      const more = inside.moreBalances;
      if (more !== undefined) for (const balance of more) touch(balance.account);
    }
    into.micros += (performance.now() - started) * 1000;
    return events;
  };
}

interface RoundFigures {
  steps: StepTimes;
  snapshotSteps: Float64Array;
  snapshots: number;
  /** The last snapshot's state encoding, bytes. */
  stateBytes: number;
  gcMicros: number[];
  gcCount: number[];
  /** When each entry started (performance.now()), to charge the collections delivered after the round. */
  entryStarts: Float64Array;
  endTime: number;
  cpuMicros: number;
  hash: string;
}

/** Applies the whole log as the snapshot worker does, each step timed. */
function followerRound(): RoundFigures {
  const state = createState(genesis);
  const steps = newStepTimes(stepNames.length);
  const snapshotSteps = new Float64Array(snapshotStepNames.length);
  const finishTime = { micros: 0 };
  timeFinish(state, finishTime);
  const entryStarts = new Float64Array(encodings.length);
  let snapshots = 0;
  let stateBytes = 0;
  let index = 0;
  const cpu0 = process.cpuUsage();
  for (const packed of messages) {
    const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
    let offset = 0;
    while (offset < packed.length) {
      const t0 = performance.now();
      entryStarts[index] = t0;
      const length = view.getUint32(offset);
      const encoding = packed.subarray(offset + 4, offset + 4 + length);
      offset += 4 + length;
      const t1 = performance.now();
      const entry = readViews ? viewEntry(encoding) : decodeEntry(encoding);
      const t2 = performance.now();
      const { transaction, logTimeMs } = entry;
      const parsed = parseSigningString(transaction.message);
      if (!parsed.ok) throw new Error(`entry ${entry.sequence}: ${parsed.message}`);
      const t3 = performance.now();
      const digest = digests[index]!;
      const { timestampMs, windowMs } = parsed.value;
      if (!isWithinWindow(logTimeMs, timestampMs, windowMs) || hasSeen(state.replayProtection, digest))
        throw new Error(`entry ${entry.sequence} is outside its window or seen`);
      const t4 = performance.now();
      const instruction = parseInstruction(parsed.value.groups);
      if (!instruction.ok) throw new Error(`entry ${entry.sequence}: ${instruction.message}`);
      const t5 = performance.now();
      const finishBefore = finishTime.micros;
      const outcome = execute(
        state,
        signerAccountId(transaction.publicKey),
        instruction.instruction,
        logTimeMs,
        transaction.signature,
      );
      if (!outcome.accepted) throw new Error(`entry ${entry.sequence} refused: ${outcome.rejection.code}`);
      const t6 = performance.now();
      forgetExpired(state.replayProtection, logTimeMs, state.changes);
      remember(state.replayProtection, digest, logTimeMs, state.changes);
      const t7 = performance.now();
      const times = steps[groupOf[index]!]!;
      const finishMicros = finishTime.micros - finishBefore;
      times[0]! += (t1 - t0) * 1000;
      times[1]! += (t2 - t1) * 1000;
      times[2]! += (t3 - t2) * 1000;
      times[3]! += (t4 - t3) * 1000;
      times[4]! += (t5 - t4) * 1000;
      times[5]! += (t6 - t5) * 1000 - finishMicros;
      times[6]! += finishMicros;
      times[7]! += (t7 - t6) * 1000;
      if (entry.sequence % snapshotEveryEntries === 0) {
        snapshots += 1;
        const s0 = performance.now();
        checkInvariants(state);
        const s1 = performance.now();
        const stateEncoding = encodeState(state);
        const s2 = performance.now();
        stateBytes = stateEncoding.length;
        const stateHash = sha256(stateEncoding);
        const s3 = performance.now();
        for (const account of state.changedAccounts) account.leafStale = false;
        state.changedAccounts.length = 0;
        const s4 = performance.now();
        const entryHash = hashEntryEncoding(encoding);
        const s5 = performance.now();
        encodeSnapshot({ sequence: entry.sequence, entryHash, stateHash, stateEncoding });
        const s6 = performance.now();
        snapshotSteps[0]! += (s1 - s0) * 1000;
        snapshotSteps[1]! += (s2 - s1) * 1000;
        snapshotSteps[2]! += (s3 - s2) * 1000;
        snapshotSteps[3]! += (s6 - s5) * 1000;
        snapshotSteps[4]! += (s5 - s4) * 1000;
      }
      index += 1;
    }
  }
  return roundFigures(state, cpu0, { steps, snapshotSteps, snapshots, stateBytes, entryStarts });
}

/** The same entries through apply(), as the sequencer calls it (decoded already; no snapshots). */
function applyRound(): RoundFigures {
  const state = createState(genesis);
  const steps = newStepTimes(1);
  const entryStarts = new Float64Array(encodings.length);
  const cpu0 = process.cpuUsage();
  for (let index = 0; index < decoded.length; index += 1) {
    const entry = decoded[index]!;
    const logEntry: LogEntry = { logTimeMs: entry.logTimeMs, transaction: entry.transaction };
    const t0 = performance.now();
    entryStarts[index] = t0;
    const outcome = apply(state, logEntry, { signatureVerified: true, messageDigest: digests[index]! });
    steps[groupOf[index]!]![0]! += (performance.now() - t0) * 1000;
    if (!outcome.accepted) throw new Error(`entry ${entry.sequence} refused: ${outcome.rejection.code}`);
  }
  return roundFigures(state, cpu0, {
    steps,
    snapshotSteps: new Float64Array(0),
    snapshots: 0,
    stateBytes: 0,
    entryStarts,
  });
}

/** A round's figures at its end: its CPU since `cpu0` and its final state's hash (collections are charged later). */
function roundFigures(
  state: ExchangeState,
  cpu0: NodeJS.CpuUsage,
  measured: Pick<RoundFigures, 'steps' | 'snapshotSteps' | 'snapshots' | 'stateBytes' | 'entryStarts'>,
): RoundFigures {
  const cpu = process.cpuUsage(cpu0);
  return {
    ...measured,
    gcMicros: [],
    gcCount: [],
    endTime: performance.now(),
    cpuMicros: cpu.user + cpu.system,
    hash: stateHashHex(state),
  };
}

/** The round's collections by the group of the entry each started in (by start time). */
function chargeCollections(figures: RoundFigures): RoundFigures {
  const entryStarts = figures.entryStarts;
  const gcMicros = [0, 0, 0, 0];
  const gcCount = [0, 0, 0, 0];
  for (const { startTime, duration } of collections) {
    if (startTime < entryStarts[0]! || startTime > figures.endTime) continue;
    let low = 0;
    let high = entryStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (entryStarts[middle]! <= startTime) low = middle;
      else high = middle - 1;
    }
    const group = groupOf[low]!;
    gcMicros[group]! += duration * 1000;
    gcCount[group]! += 1;
  }
  collections = [];
  return { ...figures, gcMicros, gcCount };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));
const fixed = (value: number): string => value.toFixed(2);

function report(side: string, round: number, figures: RoundFigures, names: readonly string[]): void {
  console.log(
    `round ${round}, ${side}: ${fixed(figures.cpuMicros / encodings.length)} µs CPU per entry over the log; ` +
      `state hash ${figures.hash}`,
  );
  for (let group = 0; group < groupNames.length; group += 1) {
    const count = entriesIn[group]!;
    if (count === 0) continue;
    const times = figures.steps[group]!;
    const total = times.reduce((sum, value) => sum + value, 0);
    const parts = names.map((name, step) => `${name} ${fixed(times[step]! / count)}`).join(', ');
    console.log(
      `  ${groupNames[group]} (${count}): ${fixed(total / count)} µs per entry` +
        (names.length > 1 ? ` = ${parts}` : '') +
        `; GC started in them ${fixed(figures.gcMicros[group]! / count)} µs per entry (${figures.gcCount[group]})`,
    );
  }
  if (figures.snapshots > 0) {
    const parts = snapshotStepNames
      .map((name, step) => `${name} ${fixed(figures.snapshotSteps[step]! / figures.snapshots / 1000)}`)
      .join(', ');
    const total = figures.snapshotSteps.reduce((sum, value) => sum + value, 0);
    console.log(
      `  ${figures.snapshots} snapshots (the last ${figures.stateBytes} state bytes): ` +
        `${fixed(total / figures.snapshots / 1000)} ms each = ${parts} ms; ` +
        `${fixed(total / figures.snapshots / snapshotEveryEntries)} µs per entry of the interval`,
    );
  }
}

for (let round = 1; round <= rounds; round += 1) {
  await settle();
  collections = [];
  const follower = followerRound();
  await settle();
  report('follower', round, chargeCollections(follower), stepNames);
  const applied = applyRound();
  await settle();
  report('apply', round, chargeCollections(applied), ['apply']);
}
