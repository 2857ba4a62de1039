/**
 * replayLog: verifies an exported log from its genesis, trusting nothing.
 *
 * Checks, in log order, the first failure being reported as a divergence:
 *   1. the hash chain, sequence numbers, log-time order and trailer (the
 *      engine's export reader);
 *   2. every signature under the engine's signature rule, in worker threads;
 *   3. every transition: the entry is re-executed with the engine's apply
 *      and must be accepted;
 *   4. at every attested sequence, the attestation against the replayed
 *      state (and at a snapshot's sequence, the snapshot).
 *
 * The pipeline: the main thread reads and chain-checks entries, packs their
 * signatures into batches of `batchEntries` and hands each batch to the
 * least loaded worker; it keeps up to `batchesInFlight` batches out and
 * applies the oldest as soon as its verdicts are back. Verification, by far
 * the largest cost, so runs on every core while the main thread reads and
 * applies, and the main thread's own cost per entry is what separates the
 * replay rate from the machine's verification limit.
 */
import {
  LiabilitiesTree,
  LogChainError,
  LogExportBatchReader,
  LogFormatError,
  apply,
  bytesToLowerHex,
  createState,
  parseAttestation,
  shortAssets,
  stateHash,
  verifyAttestationSignature,
  verifySignature,
  type Attestation,
  type ExchangeState,
  type LiabilitiesRoot,
  type LogExportEntry as ExportEntry,
  type LogExportHeader,
  type LogExportSource,
  type SnapshotRecord,
} from '@vex/engine';
import { createHash } from 'node:crypto';
import type { Divergence, DivergenceCheck } from './divergence.js';
import { CountingByteSource } from './input-source.js';
import { ReplayInputError, errorMessage } from './replay-input-error.js';
import { SignatureBatchBuilder, validVerdictCode, verdictName } from './signature-batch.js';
import { SignatureVerifierPool, type BatchVerdicts } from './signature-verifier-pool.js';

export interface ReplayProgress {
  /** Entries verified and applied so far. */
  readonly entriesApplied: number;
  /** Bytes of the export read so far (the reader reads ahead of the entries applied). */
  readonly bytesRead: number;
  readonly attestationsChecked: number;
}

export interface ReplayOptions {
  /** The export: its bytes, or an async iterable of byte chunks (a file stream, a fetch body). */
  readonly log: LogExportSource;
  /** For messages: the file or URL the log comes from. */
  readonly logDescription?: string;
  /** Attestation objects (as from JSON.parse), in increasing sequence order. */
  readonly attestations?: AsyncIterable<unknown> | Iterable<unknown>;
  /** A snapshot record to check against the replayed state at its sequence. */
  readonly snapshot?: SnapshotRecord;
  /** Worker threads for signatures; default os.availableParallelism(). Ignored when `pool` is given. */
  readonly workers?: number;
  /** A running pool to use (and leave running), instead of starting one. */
  readonly pool?: SignatureVerifierPool;
  /** Signatures per batch sent to a worker; default 1024. */
  readonly batchEntries?: number;
  /** Batches out at once; default three per worker, so each worker always has its next batch queued. */
  readonly batchesInFlight?: number;
  /** Called after each applied batch. */
  readonly onProgress?: (progress: ReplayProgress) => void;
}

export interface FlaggedAttestation {
  readonly sequence: number;
  /** The assets whose claims − debts exceed the stated reserves. */
  readonly shortAssets: readonly string[];
}

interface ReplayTotals {
  /** Entries verified and applied. */
  readonly entriesApplied: number;
  readonly attestationsChecked: number;
  readonly flaggedAttestations: readonly FlaggedAttestation[];
  readonly snapshotChecked: boolean;
  readonly exchangeName: string;
  /** Lower-case hex. */
  readonly genesisHash: string;
  readonly workers: number;
  /** Time the workers spent verifying signatures, summed over workers (for benchmarks). */
  readonly workerVerifyMs: number;
  /** From opening the export to the verdict; excludes starting the workers. */
  readonly elapsedMs: number;
  readonly entriesPerSecond: number;
}

export interface ReplayVerified extends ReplayTotals {
  readonly verified: true;
  /** The last entry's sequence (0 for an empty log). */
  readonly headSequence: number;
  /** The last entry's hash, lower-case hex (the genesis hash for an empty log). */
  readonly headHash: string;
  /** The engine's full-state hash after the last entry, lower-case hex. */
  readonly stateHash: string;
}

export interface ReplayDiverged extends ReplayTotals {
  readonly verified: false;
  readonly divergence: Divergence;
}

export type ReplayReport = ReplayVerified | ReplayDiverged;

interface InFlightBatch {
  readonly entries: ExportEntry[];
  readonly verdicts: Promise<BatchVerdicts>;
}

const defaultBatchEntries = 1024;
const signatureVerifiedOption = { signatureVerified: true } as const;
const engineSignatureRule = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verifySignature(publicKey, message, signature) === 'valid';

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Verifies a log export; see the module comment. Bad input throws ReplayInputError; a wrong log or attestation is a ReplayDiverged report. */
export async function replayLog(options: ReplayOptions): Promise<ReplayReport> {
  const batchEntries = options.batchEntries ?? defaultBatchEntries;
  if (!Number.isSafeInteger(batchEntries) || batchEntries < 1) throw new RangeError(`batchEntries must be a positive integer, got ${batchEntries}`);
  const pool = options.pool ?? (await SignatureVerifierPool.start(options.workers));
  try {
    return await new Replay(options, pool, batchEntries).run();
  } finally {
    if (options.pool === undefined) await pool.close();
  }
}

class Replay {
  private readonly source: CountingByteSource;
  private readonly batchesInFlight: number;
  private startedMs = 0;
  private header: LogExportHeader | undefined;
  private state: ExchangeState | undefined;
  private tree: LiabilitiesTree | undefined;
  private trustedOperatorKeys: readonly string[] = [];

  private entriesApplied = 0;
  private workerVerifyNs = 0;
  private headSequence = 0;
  /** Lower-case hex. */
  private headHash = '';

  private readonly attestationIterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
  private nextAttestation: Attestation | undefined;
  private attestationNumber = 0;
  private lastAttestedSequence = 0;
  private attestationsChecked = 0;
  private readonly flaggedAttestations: FlaggedAttestation[] = [];
  private snapshotChecked = false;
  /** The next sequence at which an attestation or the snapshot is due; Infinity when none is. */
  private nextCheckpoint = Number.POSITIVE_INFINITY;

  constructor(
    private readonly options: ReplayOptions,
    private readonly pool: SignatureVerifierPool,
    private readonly batchEntries: number,
  ) {
    this.source = new CountingByteSource(options.log, options.logDescription ?? 'the log export');
    this.batchesInFlight = options.batchesInFlight ?? 3 * pool.size;
    const attestations = options.attestations;
    if (attestations === undefined) this.attestationIterator = undefined;
    else if (Symbol.asyncIterator in attestations) this.attestationIterator = attestations[Symbol.asyncIterator]();
    else this.attestationIterator = attestations[Symbol.iterator]();
  }

  async run(): Promise<ReplayReport> {
    this.startedMs = performance.now();
    const { reader, header } = await LogExportBatchReader.open(this.source).catch((error: unknown) => {
      throw this.inputError(error);
    });
    try {
      this.header = header;
      if (header.firstSequence !== 1) {
        throw new ReplayInputError(
          `${this.description()} starts at entry ${header.firstSequence}; the replayer starts from the genesis and needs an export from entry 1`,
        );
      }
      try {
        this.state = createState(header.genesis);
      } catch (error) {
        throw new ReplayInputError(`${this.description()}: the genesis is not valid: ${errorMessage(error)}`);
      }
      this.trustedOperatorKeys = header.genesis.operatorKeys;
      const snapshot = this.options.snapshot;
      if (snapshot !== undefined && !(Number.isSafeInteger(snapshot.sequence) && snapshot.sequence >= 1)) {
        throw new ReplayInputError(`the snapshot's sequence ${snapshot.sequence} is not a log sequence (1 or more)`);
      }
      this.headHash = bytesToLowerHex(header.genesisHash);
      if (this.attestationIterator !== undefined) this.tree = LiabilitiesTree.build(this.state);
      const divergence = (await this.loadNextAttestation()) ?? (await this.replayEntries(reader)) ?? this.checkNothingBeyondEnd();
      if (divergence !== undefined) return this.diverged(divergence);
      return this.verified();
    } finally {
      // Closes the file or connection, and lets the attestation source clean up, when the replay stops early.
      await reader.close().catch(() => undefined);
      try {
        await this.attestationIterator?.return?.();
      } catch {
        // Cleaning up a source that failed is not worth reporting over the replay's own result.
      }
    }
  }

  private description(): string {
    return this.options.logDescription ?? 'the log export';
  }

  /** Malformed export bytes (the engine reader's LogFormatError) are bad input; any other failure stays what it is. */
  private inputError(error: unknown): unknown {
    return error instanceof LogFormatError ? new ReplayInputError(`${this.description()}: ${error.message}`) : error;
  }

  /** Reads, verifies and applies every entry; the first divergence in log order, if any. */
  private async replayEntries(reader: LogExportBatchReader): Promise<Divergence | undefined> {
    const inFlight: InFlightBatch[] = [];
    let batch: ExportEntry[] = [];
    let builder = new SignatureBatchBuilder(this.batchEntries);
    let readError: unknown;
    const send = (): void => {
      const verdicts = this.pool.verify(builder.finish());
      // Marked as handled now: a batch abandoned after a divergence may still fail when the pool closes.
      verdicts.catch(() => undefined);
      inFlight.push({ entries: batch, verdicts });
      batch = [];
      builder = new SignatureBatchBuilder(this.batchEntries);
    };
    for (;;) {
      let entries: ExportEntry[] | undefined;
      try {
        entries = await reader.read();
      } catch (error) {
        // Entries read before the failure come first: one of them may diverge earlier in the log.
        readError = error;
        break;
      }
      if (entries === undefined) break;
      for (let index = 0; index < entries.length; index += 1) {
        const entry = entries[index]!;
        const transaction = entry.transaction;
        batch.push(entry);
        builder.add(transaction.publicKey, transaction.signature, transaction.message);
        if (builder.isFull) {
          send();
          if (inFlight.length >= this.batchesInFlight) {
            const divergence = await this.applyBatch(inFlight.shift()!);
            if (divergence !== undefined) return divergence;
          }
        }
      }
    }
    if (batch.length > 0) send();
    while (inFlight.length > 0) {
      const divergence = await this.applyBatch(inFlight.shift()!);
      if (divergence !== undefined) return divergence;
    }
    if (readError === undefined) return undefined;
    if (readError instanceof LogChainError) return logDivergence(readError);
    throw this.inputError(readError);
  }

  /** Waits for a batch's verdicts and applies its entries in order. */
  private async applyBatch(batch: InFlightBatch): Promise<Divergence | undefined> {
    const { verdicts, verifyNs } = await batch.verdicts;
    this.workerVerifyNs += verifyNs;
    const entries = batch.entries;
    const state = this.state!;
    for (let index = 0; index < entries.length; index += 1) {
      const entry = entries[index]!;
      const verdict = verdicts[index]!;
      if (verdict !== validVerdictCode) {
        return {
          sequence: entry.sequence,
          check: 'signature',
          expected: 'valid',
          computed: verdictName(verdict),
          message: `the signature of entry ${entry.sequence} is not valid (${verdictName(verdict)})`,
        };
      }
      const outcome = apply(state, entry, signatureVerifiedOption);
      if (!outcome.accepted) {
        const { code, message } = outcome.rejection;
        return {
          sequence: entry.sequence,
          check: 'transition',
          expected: 'accepted',
          computed: `rejected: ${code} (${message})`,
          message: `the engine rejects entry ${entry.sequence}: ${code}: ${message}`,
        };
      }
      this.entriesApplied += 1;
      this.headSequence = entry.sequence;
      this.headHash = entry.entryHash;
      if (entry.sequence === this.nextCheckpoint) {
        const divergence = await this.checkpoint(entry);
        if (divergence !== undefined) return divergence;
      }
    }
    this.options.onProgress?.({
      entriesApplied: this.entriesApplied,
      bytesRead: this.source.bytesRead,
      attestationsChecked: this.attestationsChecked,
    });
    return undefined;
  }

  private updateNextCheckpoint(): void {
    const snapshot = this.options.snapshot;
    this.nextCheckpoint = Math.min(
      this.nextAttestation?.sequence ?? Number.POSITIVE_INFINITY,
      snapshot !== undefined && !this.snapshotChecked ? snapshot.sequence : Number.POSITIVE_INFINITY,
    );
  }

  /** Reads and parses the next attestation; a divergence when it does not come after the last one. */
  private async loadNextAttestation(): Promise<Divergence | undefined> {
    this.nextAttestation = undefined;
    const iterator = this.attestationIterator;
    if (iterator !== undefined) {
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (error) {
        throw error instanceof ReplayInputError ? error : new ReplayInputError(`cannot read the attestations: ${errorMessage(error)}`);
      }
      if (step.done !== true) {
        this.attestationNumber += 1;
        let attestation: Attestation;
        try {
          attestation = parseAttestation(step.value);
        } catch (error) {
          throw new ReplayInputError(`attestation ${this.attestationNumber} is malformed: ${errorMessage(error)}`);
        }
        if (attestation.sequence <= this.lastAttestedSequence) {
          return this.attestationDivergence(attestation, 'attestation-sequence', String(attestation.sequence), `above ${this.lastAttestedSequence}`,
            `attestation ${this.attestationNumber} is at sequence ${attestation.sequence}, not after the previous one at ${this.lastAttestedSequence}: attestations must be in increasing sequence order`);
        }
        this.nextAttestation = attestation;
      }
    }
    this.updateNextCheckpoint();
    return undefined;
  }

  private attestationDivergence(attestation: Attestation, check: DivergenceCheck, expected: string, computed: string, message: string): Divergence {
    return { sequence: attestation.sequence, check, expected, computed, message, attestationNumber: this.attestationNumber };
  }

  /** Checks whatever is due right after `entry`: its attestation, the snapshot, or both. */
  private async checkpoint(entry: ExportEntry): Promise<Divergence | undefined> {
    const snapshot = this.options.snapshot;
    if (snapshot !== undefined && !this.snapshotChecked && snapshot.sequence === entry.sequence) {
      const divergence = this.checkSnapshot(snapshot, entry);
      if (divergence !== undefined) return divergence;
      this.snapshotChecked = true;
    }
    const attestation = this.nextAttestation;
    if (attestation !== undefined && attestation.sequence === entry.sequence) {
      const divergence = this.checkAttestation(attestation, entry);
      if (divergence !== undefined) return divergence;
      this.attestationsChecked += 1;
      this.lastAttestedSequence = attestation.sequence;
      const short = shortAssets(attestation);
      if (short.length > 0) this.flaggedAttestations.push({ sequence: attestation.sequence, shortAssets: short });
      return this.loadNextAttestation();
    }
    this.updateNextCheckpoint();
    return undefined;
  }

  /** Compares every signed field of the attestation with the replay, identity first, then the state, then the signature. */
  private checkAttestation(attestation: Attestation, entry: ExportEntry): Divergence | undefined {
    const state = this.state!;
    const header = this.header!;
    const number = this.attestationNumber;
    const mismatch = (check: DivergenceCheck, what: string, expected: string, computed: string): Divergence =>
      this.attestationDivergence(attestation, check, expected, computed,
        `attestation ${number} (sequence ${attestation.sequence}) states ${what} ${expected}, but the replay computes ${computed}`);

    const genesisHash = bytesToLowerHex(header.genesisHash);
    if (attestation.genesisHash !== genesisHash) return mismatch('genesis-hash', 'the genesis hash', attestation.genesisHash, genesisHash);
    const headHash = entry.entryHash;
    if (attestation.headHash !== headHash) return mismatch('head-hash', 'the head hash', attestation.headHash, headHash);
    if (attestation.logTimeMs !== entry.logTimeMs) return mismatch('log-time', 'the log time', String(attestation.logTimeMs), String(entry.logTimeMs));
    const computedStateHash = bytesToLowerHex(stateHash(state));
    if (attestation.stateHash !== computedStateHash) return mismatch('state-hash', 'the state hash', attestation.stateHash, computedStateHash);

    const root: LiabilitiesRoot = this.tree!.update(state);
    const rootHash = bytesToLowerHex(root.hash);
    if (attestation.liabilitiesRoot !== rootHash) return mismatch('liabilities-root', 'the liabilities root', attestation.liabilitiesRoot, rootHash);
    if (attestation.accountCount !== root.accountCount) {
      return mismatch('account-count', 'the account count', String(attestation.accountCount), String(root.accountCount));
    }
    const attestedSymbols = attestation.assets.map((asset) => asset.symbol).join(',');
    const listedSymbols = root.assets.map((asset) => asset.symbol).join(',');
    if (attestedSymbols !== listedSymbols) return mismatch('asset-list', 'the assets', `[${attestedSymbols}]`, `[${listedSymbols}]`);
    for (let index = 0; index < root.assets.length; index += 1) {
      const attested = attestation.assets[index]!;
      const computed = root.assets[index]!;
      const symbol = computed.symbol;
      if (attested.claims !== computed.claims.toString()) return mismatch('claims', `${symbol} claims of`, attested.claims, computed.claims.toString());
      if (attested.debts !== computed.debts.toString()) return mismatch('debts', `${symbol} debts of`, attested.debts, computed.debts.toString());
      const reserves = state.assets[index]!.reservesUnits.toString();
      if (attested.reserves !== reserves) return mismatch('reserves', `${symbol} reserves of`, attested.reserves, reserves);
    }

    if (!this.trustedOperatorKeys.includes(attestation.operatorKey)) {
      return this.attestationDivergence(attestation, 'attestation-signature', `a signature by ${attestation.operatorKey}`, 'that key is not a genesis operator key',
        `attestation ${number} (sequence ${attestation.sequence}) is signed by ${attestation.operatorKey}, which is not an operator key of the genesis`);
    }
    if (!verifyAttestationSignature(attestation, this.trustedOperatorKeys, engineSignatureRule)) {
      return this.attestationDivergence(attestation, 'attestation-signature', `a valid signature by ${attestation.operatorKey}`, 'the signature does not verify',
        `the signature of attestation ${number} (sequence ${attestation.sequence}) does not verify under the operator key ${attestation.operatorKey}`);
    }
    return undefined;
  }

  private checkSnapshot(snapshot: SnapshotRecord, entry: ExportEntry): Divergence | undefined {
    const sequence = snapshot.sequence;
    const recordedEntryHash = bytesToLowerHex(snapshot.entryHash);
    const entryHash = entry.entryHash;
    if (recordedEntryHash !== entryHash) {
      return {
        sequence, check: 'snapshot-entry-hash', expected: recordedEntryHash, computed: entryHash,
        message: `the snapshot says entry ${sequence} hashes to ${recordedEntryHash}, but in the log it hashes to ${entryHash}`,
      };
    }
    const recordedStateHash = bytesToLowerHex(snapshot.stateHash);
    const encodingHash = sha256Hex(snapshot.stateEncoding);
    if (encodingHash !== recordedStateHash) {
      return {
        sequence, check: 'snapshot-state-hash', expected: recordedStateHash, computed: encodingHash,
        message: `the snapshot's state encoding hashes to ${encodingHash}, not to the state hash ${recordedStateHash} it records`,
      };
    }
    const replayedStateHash = bytesToLowerHex(stateHash(this.state!));
    if (recordedStateHash !== replayedStateHash) {
      return {
        sequence, check: 'snapshot-state-hash', expected: recordedStateHash, computed: replayedStateHash,
        message: `the snapshot's state hash after entry ${sequence} is ${recordedStateHash}, but the replayed state hashes to ${replayedStateHash}`,
      };
    }
    return undefined;
  }

  /** After the last entry: an attestation or snapshot still due lies beyond the end of the log. */
  private checkNothingBeyondEnd(): Divergence | undefined {
    const attestation = this.nextAttestation;
    if (attestation !== undefined) {
      return this.attestationDivergence(attestation, 'attestation-sequence', String(attestation.sequence), `the log ends at ${this.headSequence}`,
        `attestation ${this.attestationNumber} is at sequence ${attestation.sequence}, beyond the end of the log at entry ${this.headSequence}`);
    }
    const snapshot = this.options.snapshot;
    if (snapshot !== undefined && !this.snapshotChecked) {
      return {
        sequence: snapshot.sequence, check: 'snapshot-sequence', expected: String(snapshot.sequence), computed: `the log ends at ${this.headSequence}`,
        message: `the snapshot follows entry ${snapshot.sequence}, beyond the end of the log at entry ${this.headSequence}`,
      };
    }
    return undefined;
  }

  private totals(): ReplayTotals {
    const elapsedMs = performance.now() - this.startedMs;
    return {
      entriesApplied: this.entriesApplied,
      attestationsChecked: this.attestationsChecked,
      flaggedAttestations: this.flaggedAttestations,
      snapshotChecked: this.snapshotChecked,
      exchangeName: this.header!.genesis.exchangeName,
      genesisHash: bytesToLowerHex(this.header!.genesisHash),
      workers: this.pool.size,
      workerVerifyMs: this.workerVerifyNs / 1e6,
      elapsedMs,
      entriesPerSecond: elapsedMs > 0 ? (this.entriesApplied * 1000) / elapsedMs : 0,
    };
  }

  private verified(): ReplayVerified {
    const finalStateHash = bytesToLowerHex(stateHash(this.state!));
    return { verified: true, ...this.totals(), headSequence: this.headSequence, headHash: this.headHash, stateHash: finalStateHash };
  }

  private diverged(divergence: Divergence): ReplayDiverged {
    return { verified: false, ...this.totals(), divergence };
  }
}

/** The engine reader's finding that the log is inconsistent, as a divergence (docs/replayer.md). */
export function logDivergence(error: LogChainError): Divergence {
  const { sequence, recorded, computed } = error;
  switch (error.check) {
    case 'entry-sequence':
      return {
        sequence, check: 'entry-sequence', expected: recorded, computed,
        message: `the entry after ${sequence - 1} says it is entry ${recorded}`,
      };
    case 'chain':
      return {
        sequence, check: 'chain', expected: recorded, computed,
        message: `entry ${sequence} says the entry before hashes to ${recorded}, but it hashes to ${computed}`,
      };
    case 'entry-log-time':
      return {
        sequence, check: 'entry-log-time', expected: recorded, computed: `at least ${computed}`,
        message: `entry ${sequence} has log time ${recorded}, before the log time ${computed} of entry ${sequence - 1}`,
      };
    case 'trailer-count':
      return {
        sequence, check: 'trailer', expected: `${recorded} entries`, computed: `${computed} entries`,
        message: `the export's trailer counts ${recorded} entries but the file holds ${computed}: entries are missing or were added at the end`,
      };
    case 'trailer-hash':
      return {
        sequence, check: 'trailer', expected: recorded, computed,
        message: `the export's trailer says the last entry hashes to ${recorded}, but entry ${sequence} hashes to ${computed}`,
      };
  }
}
