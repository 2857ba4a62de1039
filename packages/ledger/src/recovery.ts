/**
 * Start-up: checks the stored genesis, drops a torn tail, loads the latest
 * snapshot and replays the log after it, trusting nothing it reads. The rules
 * are in docs/log-format.md, "Recovery".
 */
import {
  apply,
  bytesToLowerHex,
  checkInvariants,
  createState,
  decodeState,
  sha256,
  stateHashHex,
  type ApplyOutcome,
  type ExchangeState,
  type Genesis,
  type SignatureVerdict,
} from '@vex/engine';
import type { Logger } from 'pino';
import { writeBatch, type BatchOperation, type LedgerDatabase } from './database.js';
import { RecoveryError, type RecoveryProblem } from './errors.js';
import { historyOperations, historyRepairOperations } from './history.js';
import {
  canonicalGenesisBytes,
  canonicalGenesisJson,
  decodeEntry,
  hashEntryEncoding,
  hashGenesisBytes,
  type EntryRecord,
} from '@vex/engine';
import type { SignatureVerifier } from './signature-pool.js';
import {
  attestationKey,
  attestationRange,
  decodeSnapshot,
  entryKey,
  entryRange,
  formatMetaKey,
  genesisMetaKey,
  sequenceOfKey,
  snapshotKey,
  snapshotRange,
  storageFormatVersion,
  type SnapshotRecord,
} from './storage-format.js';

export interface RecoveryContext {
  readonly db: LedgerDatabase;
  readonly pool: SignatureVerifier;
  readonly genesis: Genesis;
  readonly location: string;
  readonly maximumBatchEntries: number;
  /** How many snapshots to keep; older ones are deleted. */
  readonly snapshotsKept: number;
  readonly logger: Logger;
}

export interface RecoveredLedger {
  readonly state: ExchangeState;
  readonly genesisHash: Uint8Array;
  /** The last entry (0 for an empty log) and its hash (the genesis hash for an empty log). */
  readonly sequence: number;
  readonly entryHash: Uint8Array;
  readonly logTimeMs: number;
}

/** Entries read, verified and applied per step of the replay. */
const replayChunkEntries = 1_024;

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  return Buffer.from(left.buffer, left.byteOffset, left.byteLength).equals(
    Buffer.from(right.buffer, right.byteOffset, right.byteLength),
  );
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface RawEntry {
  readonly sequence: number;
  readonly raw: Uint8Array;
}

/** Decodes a stored entry and checks it is the entry its key says; returns the problem otherwise. */
function decodeStored(entry: RawEntry): EntryRecord | string {
  try {
    const decoded = decodeEntry(entry.raw);
    if (decoded.sequence !== entry.sequence)
      return `it is stored under sequence ${entry.sequence} but says it is entry ${decoded.sequence}`;
    return decoded;
  } catch (error) {
    return `it cannot be decoded (${reason(error)})`;
  }
}

type Fail = (problem: RecoveryProblem, sequence: number | undefined, detail: string, cause?: unknown) => never;

export async function recoverLedger(context: RecoveryContext): Promise<RecoveredLedger> {
  const { genesis, location, logger } = context;
  const started = performance.now();
  const fail: Fail = (problem, sequence, detail, cause) => {
    throw new RecoveryError(problem, location, sequence, detail, cause === undefined ? undefined : { cause });
  };

  // 1. The genesis and the storage format.
  const genesisDigest = hashGenesisBytes(canonicalGenesisBytes(genesis));
  if ((await openOrCreateGenesis(context, genesisDigest, fail)) === 'created') {
    return {
      state: createState(genesis),
      genesisHash: genesisDigest,
      sequence: 0,
      entryHash: genesisDigest,
      logTimeMs: 0,
    };
  }
  // 2. The tail: at most one batch of undecodable or unchained entries at the end is a torn write.
  const tail = await scanTail(context, genesisDigest, fail);
  // 3. The latest snapshot at or before the last kept entry, and the attestations a torn tail takes with it.
  const snapshots = await scanSnapshots(context.db, tail, fail);
  const droppedAttestations = await scanAttestations(context.db, tail, fail);
  const snapshotSequence = snapshots.usable[0];
  const loaded =
    snapshotSequence === undefined ? undefined : await loadSnapshot(context.db, snapshotSequence, genesis, fail);
  const start: ReplayPosition =
    loaded === undefined
      ? { state: createState(genesis), previousHash: genesisDigest, logTimeMs: 0, sequence: 1 }
      : {
          state: loaded.state,
          previousHash: loaded.entryHash,
          logTimeMs: loaded.logTimeMs,
          sequence: loaded.sequence + 1,
        };
  // 4. Replay the rest: decode, chain, verify signatures in the pool, apply; every entry must be accepted.
  const replayed = await replayEntries(context, start, tail.lastKept, fail);
  const { state } = start;
  try {
    checkInvariants(state);
  } catch (error) {
    fail('invariant-violation', tail.lastKept, `the recovered state breaks an invariant: ${reason(error)}`, error);
  }
  // 5. Drop the torn tail (and what it wrote) and prune old snapshots, in one synced batch.
  await dropTornTailAndOldSnapshots(context, state, tail, snapshots, droppedAttestations);

  const entryHash = replayed.previousHash;
  logger.info(
    {
      location,
      entries: tail.lastKept,
      snapshot: snapshotSequence ?? null,
      replayed: replayed.count,
      durationMs: Math.round(performance.now() - started),
      stateHash: stateHashHex(state),
      headHash: bytesToLowerHex(entryHash),
    },
    `ledger recovered ${tail.lastKept} entries (${replayed.count} replayed` +
      `${snapshotSequence === undefined ? ' from genesis' : ` after snapshot ${snapshotSequence}`})`,
  );
  return { state, genesisHash: genesisDigest, sequence: tail.lastKept, entryHash, logTimeMs: replayed.logTimeMs };
}

/** A new ledger gets the configured genesis and the storage format; an existing one must have both unchanged. */
async function openOrCreateGenesis(
  context: RecoveryContext,
  genesisDigest: Uint8Array,
  fail: Fail,
): Promise<'created' | 'opened'> {
  const { db, genesis, location, logger } = context;
  const configuredGenesis = canonicalGenesisBytes(genesis);
  const storedGenesis = await db.get(genesisMetaKey);
  if (storedGenesis === undefined) {
    const anyEntry = await db.keys({ ...entryRange, limit: 1 }).all();
    const anySnapshot = await db.keys({ ...snapshotRange, limit: 1 }).all();
    if (anyEntry.length > 0 || anySnapshot.length > 0) {
      fail('missing-genesis', undefined, 'the ledger holds entries or snapshots but no stored genesis');
    }
    await writeBatch(
      db,
      [
        [
          { type: 'put', key: genesisMetaKey, value: configuredGenesis },
          { type: 'put', key: formatMetaKey, value: Uint8Array.of(storageFormatVersion) },
        ],
      ],
      { sync: true },
    );
    logger.info({ location, genesisHash: bytesToLowerHex(genesisDigest) }, 'ledger created');
    return 'created';
  }
  const storedFormat = await db.get(formatMetaKey);
  if (storedFormat === undefined || storedFormat.length !== 1 || storedFormat[0] !== storageFormatVersion) {
    fail(
      'storage-format',
      undefined,
      `the storage format is ${storedFormat === undefined ? 'missing' : bytesToLowerHex(storedFormat)}, expected ${storageFormatVersion}`,
    );
  }
  if (!equalBytes(storedGenesis, configuredGenesis)) {
    const storedText = Buffer.from(storedGenesis).toString('utf8');
    fail(
      'genesis-mismatch',
      undefined,
      `the ledger was created with genesis ${storedText} (hash ${bytesToLowerHex(hashGenesisBytes(storedGenesis))}) ` +
        `but the configured genesis is ${canonicalGenesisJson(genesis)} (hash ${bytesToLowerHex(genesisDigest)}); ` +
        'refusing to open it with a different genesis',
    );
  }
  return 'opened';
}

/** What the last batch's worth of entries says about the end of the log. */
interface TailScan {
  /** The last stored entry, torn or not (0 for none). */
  readonly lastStored: number;
  /** The last entry recovery keeps. */
  readonly lastKept: number;
  /** The first entry of a torn tail, if there is one. */
  readonly tornFrom: number | undefined;
  /** For each torn entry, from tornFrom on, why it is torn. */
  readonly tornProblems: readonly string[];
}

async function scanTail(context: RecoveryContext, genesisDigest: Uint8Array, fail: Fail): Promise<TailScan> {
  const { db, maximumBatchEntries } = context;
  const window: RawEntry[] = [];
  for await (const [key, value] of db.iterator({ ...entryRange, reverse: true, limit: maximumBatchEntries + 1 })) {
    const sequence = sequenceOfKey(key);
    if (sequence === undefined)
      fail('corrupt-entry', undefined, `an entry key has ${key.length} bytes instead of 9 (${bytesToLowerHex(key)})`);
    window.push({ sequence: sequence!, raw: value });
  }
  window.reverse();
  for (let index = 1; index < window.length; index += 1) {
    const expected = window[index - 1]!.sequence + 1;
    if (window[index]!.sequence !== expected) {
      fail(
        'missing-entry',
        expected,
        `entry ${expected} is missing (the next stored entry is ${window[index]!.sequence})`,
      );
    }
  }
  const lastStored = window.at(-1)?.sequence ?? 0;
  const tailProblems: string[] = new Array<string>(window.length).fill('');
  for (let index = 0; index < window.length; index += 1) {
    const entry = window[index]!;
    const decoded = decodeStored(entry);
    if (typeof decoded === 'string') {
      tailProblems[index] = decoded;
      continue;
    }
    const previousHash =
      index > 0 ? hashEntryEncoding(window[index - 1]!.raw) : entry.sequence === 1 ? genesisDigest : undefined;
    if (previousHash !== undefined && !equalBytes(decoded.previousHash, previousHash)) {
      tailProblems[index] = `it does not chain to entry ${entry.sequence - 1}`;
    }
  }
  let tornIndex = window.length;
  while (tornIndex > 0 && tailProblems[tornIndex - 1] !== '') tornIndex -= 1;
  const tornCount = window.length - tornIndex;
  const tornFrom = tornCount > 0 && tornCount <= maximumBatchEntries ? window[tornIndex]!.sequence : undefined;
  const lastKept = tornFrom === undefined ? lastStored : tornFrom - 1;
  return { lastStored, lastKept, tornFrom, tornProblems: tailProblems.slice(tornIndex) };
}

interface SnapshotScan {
  /** Snapshots at or before the last kept entry, newest first. */
  readonly usable: readonly number[];
  /** Snapshots of a torn tail, which go with it. */
  readonly dropped: readonly number[];
}

async function scanSnapshots(db: LedgerDatabase, tail: TailScan, fail: Fail): Promise<SnapshotScan> {
  const { lastStored, lastKept, tornFrom } = tail;
  const snapshotSequences: number[] = [];
  for await (const key of db.keys({ ...snapshotRange, reverse: true })) {
    const sequence = sequenceOfKey(key);
    if (sequence === undefined)
      fail(
        'corrupt-snapshot',
        undefined,
        `a snapshot key has ${key.length} bytes instead of 9 (${bytesToLowerHex(key)})`,
      );
    snapshotSequences.push(sequence!);
  }
  const dropped = tornFrom === undefined ? [] : snapshotSequences.filter((sequence) => sequence >= tornFrom);
  const usable = snapshotSequences.filter((sequence) => sequence <= lastKept);
  const beyond = snapshotSequences.find(
    (sequence) => sequence > lastKept && (tornFrom === undefined || sequence < tornFrom),
  );
  if (beyond !== undefined)
    fail('snapshot-mismatch', beyond, `snapshot ${beyond} is beyond the last entry ${lastStored}`);
  return { usable, dropped };
}

/**
 * Attestations are written in the batch of the entry they follow (or later), so none may follow the last entry
 * except those of a torn tail, which go with it. Returns those, newest first.
 */
async function scanAttestations(db: LedgerDatabase, tail: TailScan, fail: Fail): Promise<number[]> {
  const { lastStored, lastKept, tornFrom } = tail;
  const droppedAttestations: number[] = [];
  for await (const key of db.keys({ ...attestationRange, reverse: true })) {
    const sequence = sequenceOfKey(key);
    if (sequence === undefined)
      fail(
        'attestation-mismatch',
        undefined,
        `an attestation key has ${key.length} bytes instead of 9 (${bytesToLowerHex(key)})`,
      );
    if (sequence! <= lastKept) break;
    if (tornFrom === undefined || sequence! < tornFrom) {
      fail('attestation-mismatch', sequence, `attestation ${sequence} is beyond the last entry ${lastStored}`);
    }
    droppedAttestations.push(sequence!);
  }
  return droppedAttestations;
}

/** Where the replay starts: the state (updated in place), the hash and log time of the entry before `sequence`. */
interface ReplayPosition {
  readonly state: ExchangeState;
  readonly previousHash: Uint8Array;
  readonly logTimeMs: number;
  readonly sequence: number;
}

interface ReadChunk {
  readonly entries: RawEntry[];
  readonly verdicts: Promise<Array<SignatureVerdict | undefined>>;
}

/** Replays entries start.sequence..lastKept onto start.state; every one must chain, verify and be accepted. */
async function replayEntries(
  context: RecoveryContext,
  start: ReplayPosition,
  lastKept: number,
  fail: Fail,
): Promise<{ previousHash: Uint8Array; logTimeMs: number; count: number }> {
  const { db, pool } = context;
  const position = { previousHash: start.previousHash, logTimeMs: start.logTimeMs, expected: start.sequence };
  if (start.sequence > lastKept)
    return { previousHash: position.previousHash, logTimeMs: position.logTimeMs, count: 0 };
  const iterator = db.iterator({ gte: entryKey(start.sequence), lte: entryKey(lastKept) });
  try {
    const readChunk = async (): Promise<ReadChunk | undefined> => {
      const pairs = await iterator.nextv(replayChunkEntries);
      if (pairs.length === 0) return undefined;
      const entries = pairs.map(([key, value]) => ({ sequence: sequenceOfKey(key) ?? -1, raw: value }));
      const decoded = entries.map(decodeStored);
      const verdicts = Promise.all(
        decoded.map((entry) => (typeof entry === 'string' ? undefined : pool.verify(entry.transaction))),
      );
      verdicts.catch(() => undefined); // Awaited below; this only prevents an unhandled rejection while it waits.
      return { entries, verdicts };
    };
    let chunk = await readChunk();
    while (chunk !== undefined) {
      const next = readChunk(); // Read and verify the next chunk while this one is applied.
      next.catch(() => undefined);
      const operations = replayChunk(start.state, chunk.entries, await chunk.verdicts, position, fail);
      // Rewrites history records that are already on disk (idempotent); the log itself is not touched.
      if (operations.length > 0) await writeBatch(db, [operations], { sync: false });
      chunk = await next;
    }
  } finally {
    await iterator.close();
  }
  if (position.expected !== lastKept + 1)
    fail('missing-entry', position.expected, `entry ${position.expected} is missing`);
  return {
    previousHash: position.previousHash,
    logTimeMs: position.logTimeMs,
    count: position.expected - start.sequence,
  };
}

/** Applies one chunk of entries, advancing `position`; returns the history records they write. */
function replayChunk(
  state: ExchangeState,
  entries: readonly RawEntry[],
  verdicts: ReadonlyArray<SignatureVerdict | undefined>,
  position: { previousHash: Uint8Array; logTimeMs: number; expected: number },
  fail: Fail,
): BatchOperation[] {
  const operations: BatchOperation[] = [];
  for (let index = 0; index < entries.length; index += 1) {
    const stored = entries[index]!;
    const expected = position.expected;
    if (stored.sequence !== expected) {
      fail('missing-entry', expected, `entry ${expected} is missing (the next stored entry is ${stored.sequence})`);
    }
    const entry = decodeStored(stored);
    if (typeof entry === 'string') fail('corrupt-entry', expected, entry);
    const record = entry as EntryRecord;
    if (!equalBytes(record.previousHash, position.previousHash)) {
      fail(
        'broken-chain',
        expected,
        `its previous hash ${bytesToLowerHex(record.previousHash)} is not the hash ${bytesToLowerHex(position.previousHash)} of ` +
          (expected === 1 ? 'the genesis' : `entry ${expected - 1}`) +
          ' (one of the two was altered)',
      );
    }
    const verdict = verdicts[index];
    if (verdict !== 'valid') fail('invalid-signature', expected, `its signature does not verify (${verdict})`);
    let outcome: ApplyOutcome | undefined;
    try {
      outcome = apply(
        state,
        { logTimeMs: record.logTimeMs, transaction: record.transaction },
        { signatureVerified: true },
      );
    } catch (error) {
      fail('entry-rejected', expected, `the engine failed while applying it: ${reason(error)}`, error);
    }
    if (!outcome!.accepted) {
      fail(
        'entry-rejected',
        expected,
        `the engine rejects it (${outcome!.rejection.code}: ${outcome!.rejection.message})`,
      );
    }
    if (outcome!.accepted) historyOperations(state, expected, outcome!.events, operations);
    position.previousHash = hashEntryEncoding(stored.raw);
    position.logTimeMs = record.logTimeMs;
    position.expected += 1;
  }
  return operations;
}

async function dropTornTailAndOldSnapshots(
  context: RecoveryContext,
  state: ExchangeState,
  tail: TailScan,
  snapshots: SnapshotScan,
  droppedAttestations: number[],
): Promise<void> {
  const { db, location, logger } = context;
  const { tornFrom, lastStored, lastKept } = tail;
  const cleanup: BatchOperation[] = [];
  for (const sequence of snapshots.usable.slice(context.snapshotsKept))
    cleanup.push({ type: 'del', key: snapshotKey(sequence) });
  if (tornFrom !== undefined) {
    for (let sequence = tornFrom; sequence <= lastStored; sequence += 1)
      cleanup.push({ type: 'del', key: entryKey(sequence) });
    for (const sequence of snapshots.dropped) cleanup.push({ type: 'del', key: snapshotKey(sequence) });
    for (const sequence of droppedAttestations) cleanup.push({ type: 'del', key: attestationKey(sequence) });
    const repair = await historyRepairOperations(db, state, tornFrom, lastKept);
    cleanup.push(...repair.operations);
    logger.warn(
      {
        location,
        droppedFrom: tornFrom,
        droppedTo: lastStored,
        droppedEntries: lastStored - tornFrom + 1,
        droppedSequences: range(tornFrom, lastStored),
        problems: tail.tornProblems.map((problem, index) => `entry ${tornFrom + index}: ${problem}`).slice(0, 20),
        droppedSnapshots: snapshots.dropped,
        droppedAttestations: droppedAttestations.reverse(),
        historyRecordsDeleted: repair.deleted,
        historyRecordsRewritten: repair.rewritten,
      },
      `ledger: dropped a torn tail of ${lastStored - tornFrom + 1} entries (${tornFrom}..${lastStored})`,
    );
  }
  if (cleanup.length > 0) await writeBatch(db, [cleanup], { sync: true });
}

function range(first: number, last: number): number[] {
  const numbers: number[] = [];
  for (let value = first; value <= last; value += 1) numbers.push(value);
  return numbers;
}

async function loadSnapshot(
  db: LedgerDatabase,
  sequence: number,
  genesis: Genesis,
  fail: Fail,
): Promise<{ state: ExchangeState; entryHash: Uint8Array; logTimeMs: number; sequence: number }> {
  const bytes = await db.get(snapshotKey(sequence));
  if (bytes === undefined) fail('corrupt-snapshot', sequence, `snapshot ${sequence} vanished while opening`);
  let record: SnapshotRecord;
  try {
    record = decodeSnapshot(bytes!);
  } catch (error) {
    return fail('corrupt-snapshot', sequence, `snapshot ${sequence} cannot be decoded (${reason(error)})`, error);
  }
  if (record.sequence !== sequence)
    fail('corrupt-snapshot', sequence, `snapshot ${sequence} says it is snapshot ${record.sequence}`);
  const digest = sha256(record.stateEncoding);
  if (!equalBytes(digest, record.stateHash)) {
    fail(
      'corrupt-snapshot',
      sequence,
      `snapshot ${sequence} records state hash ${bytesToLowerHex(record.stateHash)} but its state hashes to ${bytesToLowerHex(digest)}`,
    );
  }
  let state: ExchangeState;
  try {
    state = decodeState(record.stateEncoding, genesis.custodians);
  } catch (error) {
    return fail('corrupt-snapshot', sequence, `snapshot ${sequence} holds an invalid state (${reason(error)})`, error);
  }
  if (canonicalGenesisJson(state.genesis) !== canonicalGenesisJson(genesis)) {
    fail(
      'snapshot-mismatch',
      sequence,
      `snapshot ${sequence} is of a different genesis (${canonicalGenesisJson(state.genesis)})`,
    );
  }
  const raw = await db.get(entryKey(sequence));
  if (raw === undefined)
    fail('missing-entry', sequence, `snapshot ${sequence} refers to entry ${sequence}, which is missing`);
  const entryDigest = hashEntryEncoding(raw!);
  if (!equalBytes(entryDigest, record.entryHash)) {
    fail(
      'snapshot-mismatch',
      sequence,
      `snapshot ${sequence} records entry hash ${bytesToLowerHex(record.entryHash)} but entry ${sequence} hashes to ${bytesToLowerHex(entryDigest)}`,
    );
  }
  const entry = decodeStored({ sequence, raw: raw! });
  if (typeof entry === 'string') return fail('corrupt-entry', sequence, entry);
  if (entry.logTimeMs !== state.logTimeMs) {
    fail(
      'snapshot-mismatch',
      sequence,
      `snapshot ${sequence} has log time ${state.logTimeMs} but entry ${sequence} has ${entry.logTimeMs}`,
    );
  }
  if (state.headSequence !== sequence) {
    fail('snapshot-mismatch', sequence, `snapshot ${sequence} holds the state after entry ${state.headSequence}`);
  }
  return { state, entryHash: entryDigest, logTimeMs: entry.logTimeMs, sequence };
}
