/**
 * Opening the node: the options checked before anything touches the disk,
 * LevelDB opened, a ledger of an older storage format upgraded
 * (storage-upgrade.ts), the log recovered (recovery.ts), the attestation maker
 * rebuilt at the head and the stored attestation checked against the
 * recovered state.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  attestationDigestHex,
  canonicalGenesisBytes,
  validateGenesis,
  type Attestation,
  type AttestationOfAnyVersion,
  type ExchangeState,
} from '@vex/engine';
import type { Logger } from 'pino';
import { AttestationMaker, isRecordOf } from './attestation-maker.js';
import { readLatestStoredAttestation } from './attestation-store.js';
import { createDatabase, type LedgerDatabase } from './database.js';
import { RecoveryError } from './errors.js';
import {
  checkAttestationSigningSeed,
  defaultAttestEveryEntries,
  defaultAttestEveryMs,
  defaultMaximumBatchEntries,
  defaultMaximumPendingTransactions,
  defaultSnapshotEveryEntries,
  defaultStorageRetryLimitMs,
  positiveInteger,
  snapshotsKept,
  type NodeOptions,
} from './node-options.js';
import { hex } from './node-types.js';
import { recoverLedger, type RecoveredLedger } from './recovery.js';
import { InlineSignatureVerifier, SignaturePool, type SignatureVerifier } from './signature-pool.js';
import { upgradeStorageFormat } from './storage-upgrade.js';

/** The options' numbers, checked, with their defaults. */
export interface NodeSettings {
  readonly snapshotEveryEntries: number;
  readonly maximumBatchEntries: number;
  readonly maximumPendingTransactions: number;
  readonly storageRetryLimitMs: number;
  readonly attestationCadence: { readonly everyEntries: number; readonly everyMs: number };
}

/** Checks everything in `options` that can be checked without the disk; throws RangeError on a bad value. */
export function checkNodeOptions(options: NodeOptions): NodeSettings {
  // Before anything touches the disk: a new ledger must never store a genesis the engine refuses.
  validateGenesis(options.genesis);
  const settings: NodeSettings = {
    maximumBatchEntries: positiveInteger(
      options.maximumBatchEntries,
      defaultMaximumBatchEntries,
      'maximumBatchEntries',
    ),
    snapshotEveryEntries: positiveInteger(
      options.snapshotEveryEntries,
      defaultSnapshotEveryEntries,
      'snapshotEveryEntries',
    ),
    maximumPendingTransactions: positiveInteger(
      options.maximumPendingTransactions,
      defaultMaximumPendingTransactions,
      'maximumPendingTransactions',
    ),
    attestationCadence: {
      everyEntries: positiveInteger(options.attestEveryEntries, defaultAttestEveryEntries, 'attestEveryEntries'),
      everyMs: positiveInteger(options.attestEveryMs, defaultAttestEveryMs, 'attestEveryMs'),
    },
    storageRetryLimitMs: positiveInteger(
      options.storageRetryLimitMs,
      defaultStorageRetryLimitMs,
      'storageRetryLimitMs',
    ),
  };
  const followMs = options.snapshotFollowIntervalMs;
  if (followMs !== undefined && !(Number.isSafeInteger(followMs) && followMs >= 0))
    throw new RangeError(`snapshotFollowIntervalMs must be a non-negative integer, got ${followMs}`);
  const niceness = options.snapshotWorkerNiceness;
  if (niceness !== undefined && !(Number.isSafeInteger(niceness) && niceness >= 0 && niceness <= 39))
    throw new RangeError(`snapshotWorkerNiceness must be an integer from 0 to 39, got ${niceness}`);
  if (options.attestationSigningSeed !== undefined)
    checkAttestationSigningSeed(options.attestationSigningSeed, options.genesis);
  return settings;
}

/** What opening found on the disk: the recovered log and its attestation side. */
export interface OpenedLedger {
  readonly db: LedgerDatabase;
  readonly pool: SignatureVerifier;
  readonly location: string;
  readonly canonicalGenesis: Uint8Array;
  readonly recovered: RecoveredLedger;
  readonly maker: AttestationMaker | undefined;
  readonly latestStored: Attestation | undefined;
  /** The sequence of the latest stored attestation of either version (0 for none). */
  readonly storedAttestationSequence: number;
}

/** Opens LevelDB (or the given database) at the options' location, with a clear message when it cannot. */
async function openDatabase(options: NodeOptions): Promise<{ db: LedgerDatabase; location: string }> {
  const location = options.database === undefined ? join(options.dataDirectory, 'ledger') : options.dataDirectory;
  if (options.database === undefined) await mkdir(location, { recursive: true });
  const db = options.database ?? createDatabase(location);
  try {
    await db.open();
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(
      code === 'LEVEL_LOCKED'
        ? `The ledger at ${location} is in use by another process.`
        : `The ledger at ${location} cannot be opened: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return { db, location };
}

/** Opens and recovers the ledger; on any failure closes what it opened and throws (RecoveryError on a damaged log). */
export async function openLedger(options: NodeOptions, settings: NodeSettings, logger: Logger): Promise<OpenedLedger> {
  const canonicalGenesis = canonicalGenesisBytes(options.genesis);
  const { db, location } = await openDatabase(options);
  let pool: SignatureVerifier | undefined;
  try {
    pool =
      options.verifySignaturesInline === true
        ? new InlineSignatureVerifier()
        : new SignaturePool(options.verifierThreads, options.inlineVerificationMaximum);
    const { maximumBatchEntries } = settings;
    await upgradeStorageFormat(db, location, logger);
    const recovered = await recoverLedger({
      db,
      pool,
      genesis: options.genesis,
      location,
      maximumBatchEntries,
      snapshotsKept,
      logger,
    });
    let latestStored: AttestationOfAnyVersion | undefined;
    try {
      latestStored = (await readLatestStoredAttestation(db, recovered.sequence))?.attestation;
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new RecoveryError('attestation-mismatch', location, undefined, detail, { cause: error });
    }
    const maker = makerAtHead(options, settings, recovered, latestStored, location);
    // A version-1 attestation (a ledger upgraded from storage format 1) is checked above but does not become
    // the node's latest: the node serves and proves version 2 only, and attests the next entry (or an
    // unattested head at once).
    const latest = latestStored?.version === 2 ? latestStored : undefined;
    const storedAttestationSequence = latestStored?.sequence ?? 0;
    return { db, pool, location, canonicalGenesis, recovered, maker, latestStored: latest, storedAttestationSequence };
  } catch (error) {
    await pool?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
}

/** The attestation maker rebuilt at the recovered head (none without a seed), checked against what is stored. */
function makerAtHead(
  options: NodeOptions,
  settings: NodeSettings,
  recovered: RecoveredLedger,
  latestStored: AttestationOfAnyVersion | undefined,
  location: string,
): AttestationMaker | undefined {
  const signingSeed = options.attestationSigningSeed;
  if (signingSeed === undefined) return undefined;
  const maker = new AttestationMaker(
    recovered.state,
    new Uint8Array(signingSeed),
    recovered.genesisHash,
    settings.attestationCadence,
    latestStored?.version === 2 ? latestStored : undefined,
    recovered.sequence,
    options.proofHistoryBytes,
  );
  if (latestStored !== undefined && latestStored.sequence === recovered.sequence) {
    checkRecoveredAttestation(latestStored, maker, recovered.state, hex(recovered.entryHash), location);
  } else if (latestStored !== undefined && isRecordOf(recovered.state, latestStored, recovered.sequence)) {
    checkRecordedAttestation(latestStored, maker, recovered.state, location);
  }
  maker.observer = options.onAttestationMade;
  return maker;
}

/**
 * A recovered attestation at the head must attest exactly the recovered
 * state: same head, same state hash, same liabilities root. Anything else
 * means the stored attestation or the state is not what the log gives.
 */
function checkRecoveredAttestation(
  attestation: AttestationOfAnyVersion,
  maker: AttestationMaker,
  state: ExchangeState,
  headHash: string,
  location: string,
): void {
  const root = maker.treeRoot();
  const differences: string[] = [];
  if (attestation.headHash !== headHash)
    differences.push(`head hash ${attestation.headHash}, but the entry hashes to ${headHash}`);
  const recoveredStateHash = maker.stateCommitment(state);
  if (attestation.stateHash !== recoveredStateHash) {
    differences.push(`state hash ${attestation.stateHash}, but the recovered state commits to ${recoveredStateHash}`);
  }
  if (attestation.liabilitiesRoot !== root.liabilitiesRoot || attestation.accountCount !== root.accountCount) {
    differences.push(
      `liabilities root ${attestation.liabilitiesRoot} over ${attestation.accountCount} accounts, ` +
        `but the recovered state gives ${root.liabilitiesRoot} over ${root.accountCount}`,
    );
  }
  if (differences.length > 0) {
    const detail = `attestation ${attestation.sequence} records ${differences.join('; ')}`;
    throw new RecoveryError('attestation-mismatch', location, attestation.sequence, detail);
  }
}

/**
 * The head is the record of the latest stored attestation: the record's digest
 * must be that attestation's, and the tree (which a record does not change)
 * must have its root.
 */
function checkRecordedAttestation(
  attestation: AttestationOfAnyVersion,
  maker: AttestationMaker,
  state: ExchangeState,
  location: string,
): void {
  const digest = attestationDigestHex(attestation);
  const recorded = hex(state.attestationDigest);
  const root = maker.treeRoot();
  const differences: string[] = [];
  if (digest !== recorded) differences.push(`digest ${digest}, but the log records ${recorded}`);
  if (attestation.liabilitiesRoot !== root.liabilitiesRoot || attestation.accountCount !== root.accountCount) {
    differences.push(
      `liabilities root ${attestation.liabilitiesRoot}, but the recovered state gives ${root.liabilitiesRoot}`,
    );
  }
  if (differences.length > 0) {
    const detail = `attestation ${attestation.sequence} has ${differences.join('; ')}`;
    throw new RecoveryError('attestation-mismatch', location, attestation.sequence, detail);
  }
}
