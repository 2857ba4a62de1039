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
 *      state (and at a snapshot's sequence, the snapshot);
 *   5. every attestation record: its digest must be the digest of the
 *      attestation message the replay computes for the entry before it;
 *      and every signed statement about one sequence (the record, the
 *      listed attestation, other attestations given) must agree, or the
 *      replay reports operator equivocation with both signed statements.
 *
 * Attestation checks at sequence s are settled once entry s + 1 is applied
 * (or the log ends), so that the record that follows s is known.
 *
 * The pipeline: the main thread reads and chain-checks entries, packs their
 * signatures into batches of `batchEntries` for the least loaded worker,
 * keeps up to `batchesInFlight` batches out between reads (twice that within
 * one read) and applies the oldest once its verdicts are back. Verification,
 * the largest cost, runs on every core meanwhile; the main thread's own cost
 * per entry separates the replay rate from the machine's verification limit.
 */
import {
  LiabilitiesTree,
  StateCommitment,
  assembleAttestation,
  attestationDigestHex,
  attestationEvidence,
  attestationFieldsOf,
  isAttestationRecordMessage,
  lowerHexToBytes,
  bytesToBase64,
  LogChainError,
  LogExportBatchReader,
  LogFormatError,
  apply,
  bytesToLowerHex,
  createState,
  attestationFieldsVersion1,
  parseAttestationOfAnyVersion,
  shortAssets,
  stateHash,
  verifyAttestationSignature,
  type ApplyOptions,
  type ApplyOutcome,
  type AttestationOfAnyVersion,
  type AttestationFields,
  type ExchangeState,
  type InclusionProof,
  type LogExportEntry as ExportEntry,
  type LogExportHeader,
  type LogExportSource,
  type SnapshotRecord,
} from '@vex/engine';
import type { Divergence, DivergenceCheck, EquivocationEvidence } from './divergence.js';
import {
  checkAttestation,
  isComputedDigest,
  checkSnapshot,
  engineSignatureRule,
  type ComputedAttestation,
  type GivenAttestation,
} from './attestation-checks.js';
import { CountingByteSource } from './input-source.js';
import { LiquidationTimeliness, type LiquidationTimelinessReport } from './liquidation-timeliness.js';
import { PendingEntries } from './pending-entries.js';
import { reservesSummary, type ReservesSummary } from './reserves-summary.js';
import { ReplayInputError, errorMessage } from './replay-input-error.js';
import { SignatureBatchBuilder, validVerdictCode, verdictName } from './signature-batch.js';
import { SignatureVerifierPool, type BatchVerdicts } from './signature-verifier-pool.js';
import { transitionDivergence } from './transition-divergence.js';

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
  readonly pool?: SignatureVerifier;
  /** Signatures per batch sent to a worker; default 1024. */
  readonly batchEntries?: number;
  /** Batches out at once; default three per worker, so each worker always has its next batch queued. */
  readonly batchesInFlight?: number;
  /** Called after each applied batch. */
  readonly onProgress?: (progress: ReplayProgress) => void;
  /**
   * More signed attestations to hold against the replay and the log's
   * records, in any order: a proof's attestation, a second attestations
   * file. Each is checked like a listed attestation; two signed ones that
   * disagree about a sequence are operator equivocation.
   */
  readonly otherAttestations?: ReadonlyArray<{ readonly attestation: unknown; readonly source: string }>;
  /** Stop after this entry (a proof check replays up to its attestation's record); entries after it are not read. */
  readonly stopAfterSequence?: number;
  /** Capture the replayed proof of this account's leaf at this sequence (ReplayReport.capturedProof). */
  readonly captureProof?: { readonly sequence: number; readonly account: string };
  /** Called after each applied entry with its outcome and the state after it (chain-check.ts). */
  readonly onEntryApplied?: (sequence: number, outcome: ApplyOutcome, state: ExchangeState) => void;
  /** Called with the attestation the replay computes for each attestation record's sequence. */
  readonly onAttestationComputed?: (fields: AttestationFields) => void;
  /** Log time an account may stay below maintenance unliquidated before it is reported late; default 60,000 ms. */
  readonly liquidationGraceMs?: number;
  /**
   * The log is live (follow-source.ts: a node followed entry by entry): the
   * entries of each read are verified and applied before the next read,
   * which may wait long for new entries, instead of waiting for full batches.
   */
  readonly follow?: boolean;
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
  /** Attestation records in the log checked against the replay. */
  readonly recordsChecked: number;
  /** Accounts left below maintenance longer than the grace, up to the last entry applied (liquidation-timeliness.ts). */
  readonly liquidationTimeliness: LiquidationTimelinessReport;
  /** With captureProof: the replayed inclusion proof (its attestation unsigned: key and signature empty); null when the account had no leaf; absent when the sequence was not reached. */
  readonly capturedProof?: InclusionProof | null;
}

export interface ReplayVerified extends ReplayTotals {
  readonly verified: true;
  /** The last entry's sequence (0 for an empty log). */
  readonly headSequence: number;
  /** The last entry's hash, lower-case hex (the genesis hash for an empty log). */
  readonly headHash: string;
  /** The engine's full-state hash after the last entry, lower-case hex. */
  readonly stateHash: string;
  /** The reserves report at the last attestation checked (reserves-summary.ts); absent when none was. */
  readonly reserves?: ReservesSummary;
}

export interface ReplayDiverged extends ReplayTotals {
  readonly verified: false;
  readonly divergence: Divergence;
}

export type ReplayReport = ReplayVerified | ReplayDiverged;

/** What the replay uses of a signature pool (the replay benchmark passes a stand-in to time the main thread alone). */
export type SignatureVerifier = Pick<SignatureVerifierPool, 'size' | 'verify'>;

interface InFlightBatch {
  readonly entries: PendingEntries;
  readonly verdicts: Promise<BatchVerdicts>;
}

/** Attestation checks at one sequence, settled once the next entry (its record, if any) is applied. */
interface PendingCheck {
  readonly computed: ComputedAttestation;
  readonly listed: GivenAttestation | undefined;
  readonly others: readonly GivenAttestation[];
}

const defaultBatchEntries = 1024;
const signatureVerifiedOption = { signatureVerified: true } as const;

/** The workers hashed each message for replay protection beside its signature (a stand-in pool may not). */
function applyOptions(digests: string | undefined, index: number): ApplyOptions {
  if (digests === undefined) return signatureVerifiedOption;
  return { signatureVerified: true, messageDigest: digests.substring(index * 32, index * 32 + 32) };
}

/** An export entry's transaction (the reader gives views into the bytes read). */
function transaction(entry: ExportEntry): {
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
} {
  return entry.transaction;
}

/** An entry whose signature the workers found not valid. */
function signatureDivergence(entry: ExportEntry, verdict: number): Divergence {
  return {
    sequence: entry.sequence,
    check: 'signature',
    expected: 'valid',
    computed: verdictName(verdict),
    message: `the signature of entry ${entry.sequence} is not valid (${verdictName(verdict)})`,
  };
}

/** Verifies a log export; see the module comment. Bad input throws ReplayInputError; a wrong log or attestation is a ReplayDiverged report. */
export async function replayLog(options: ReplayOptions): Promise<ReplayReport> {
  const batchEntries = options.batchEntries ?? defaultBatchEntries;
  if (!Number.isSafeInteger(batchEntries) || batchEntries < 1)
    throw new RangeError(`batchEntries must be a positive integer, got ${batchEntries}`);
  const started = options.pool === undefined ? await SignatureVerifierPool.start(options.workers) : undefined;
  try {
    return await new Replay(options, options.pool ?? started!, batchEntries).run();
  } finally {
    await started?.close();
  }
}

class Replay {
  private readonly source: CountingByteSource;
  private readonly batchesInFlight: number;
  private startedMs = 0;
  private header: LogExportHeader | undefined;
  private state: ExchangeState | undefined;
  private tree: LiabilitiesTree | undefined;
  /** The state commitment, following the replayed state: each attestation rehashes only what changed. */
  private commitment: StateCommitment | undefined;
  private trustedOperatorKeys: readonly string[] = [];

  private entriesApplied = 0;
  private workerVerifyNs = 0;
  private headSequence = 0;
  /** Lower-case hex. */
  private headHash = '';

  private readonly attestationIterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
  private nextAttestation: AttestationOfAnyVersion | undefined;
  /** Whether a record of a version-2 digest was seen: version-1 digests are accepted only before the first. */
  private version2Recorded = false;
  private attestationNumber = 0;
  private lastAttestedSequence = 0;
  private attestationsChecked = 0;
  private readonly flaggedAttestations: FlaggedAttestation[] = [];
  private snapshotChecked = false;
  /** The next sequence at which an attestation or the snapshot is due; Infinity when none is. */
  private nextCheckpoint = Number.POSITIVE_INFINITY;
  /** otherAttestations by sequence. */
  private readonly others = new Map<number, GivenAttestation[]>();
  /** The attestation computed for the head, cached: a record and a check at the same head share it. */
  private computed: ComputedAttestation | undefined;
  private reserves: ReservesSummary | undefined;
  private pending: PendingCheck | undefined;
  private recordsChecked = 0;
  private stopped = false;
  private capturedProof: InclusionProof | null | undefined;
  private readonly timeliness: LiquidationTimeliness;

  constructor(
    private readonly options: ReplayOptions,
    private readonly pool: SignatureVerifier,
    private readonly batchEntries: number,
  ) {
    this.source = new CountingByteSource(options.log, options.logDescription ?? 'the log export');
    this.batchesInFlight = options.batchesInFlight ?? 3 * pool.size;
    this.timeliness = new LiquidationTimeliness(options.liquidationGraceMs);
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
      // Always: every attestation record is checked against the attestation the replay computes.
      this.tree = LiabilitiesTree.build(this.state);
      this.commitment = StateCommitment.build(this.state);
      this.loadOtherAttestations();
      const divergence =
        (await this.loadNextAttestation()) ??
        (await this.replayEntries(reader)) ??
        this.settlePending(undefined) ??
        this.checkNothingBeyondEnd();
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

  private loadOtherAttestations(): void {
    for (const given of this.options.otherAttestations ?? []) {
      let attestation: AttestationOfAnyVersion;
      try {
        attestation = parseAttestationOfAnyVersion(given.attestation);
      } catch (error) {
        throw new ReplayInputError(`${given.source}: the attestation is malformed: ${errorMessage(error)}`);
      }
      const list = this.others.get(attestation.sequence) ?? [];
      list.push({ attestation, source: given.source });
      this.others.set(attestation.sequence, list);
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
    let batch = new PendingEntries(this.batchEntries);
    let builder = new SignatureBatchBuilder(this.batchEntries);
    let readError: unknown;
    const send = (): void => {
      const verdicts = this.pool.verify(builder.finish());
      // Marked as handled now: a batch abandoned after a divergence may still fail when the pool closes.
      verdicts.catch(() => undefined);
      inFlight.push({ entries: batch, verdicts });
      batch = new PendingEntries(this.batchEntries);
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
      const stopAfter = this.options.stopAfterSequence ?? Number.POSITIVE_INFINITY;
      let pastStop = false;
      // Every entry of the read goes into batches before any batch is applied, with no wait in between, so
      // that the reader's entry objects die young (pending-entries.ts) instead of outliving an applied batch.
      for (let index = 0; index < entries.length; index += 1) {
        const entry = entries[index]!;
        if (entry.sequence > stopAfter) {
          pastStop = true;
          break;
        }
        const transaction = entry.transaction;
        batch.add(entry);
        builder.add(transaction.publicKey, transaction.signature, transaction.message);
        if (builder.isFull) {
          send();
          // A read of a whole log held in memory returns every entry at once: past twice the batches in flight,
          // apply as it goes, so that the workers' queue and the batches' buffers stay bounded.
          if (inFlight.length >= 2 * this.batchesInFlight) {
            const divergence = await this.applyBatch(inFlight.shift()!);
            if (divergence !== undefined) return divergence;
          }
        }
      }
      // Let go of the read's entries before waiting: a suspended function keeps its variables.
      entries = undefined;
      while (inFlight.length >= this.batchesInFlight) {
        const divergence = await this.applyBatch(inFlight.shift()!);
        if (divergence !== undefined) return divergence;
      }
      if (pastStop) break;
      if (this.options.follow === true && batch.count > 0) {
        send();
        while (inFlight.length > 0) {
          const divergence = await this.applyBatch(inFlight.shift()!);
          if (divergence !== undefined) return divergence;
        }
      }
    }
    if (batch.count > 0) send();
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
    const { verdicts, verifyNs, digests } = await batch.verdicts;
    this.workerVerifyNs += verifyNs;
    const entries = batch.entries;
    const state = this.state!;
    for (let index = 0; index < entries.count; index += 1) {
      const entry = entries.entry(index);
      const verdict = verdicts[index]!;
      if (verdict !== validVerdictCode) return signatureDivergence(entry, verdict);
      // A record's digest is checked against the attestation of the entry before it, computed before the record applies.
      const isRecord = isAttestationRecordMessage(transaction(entry).message);
      const recordedComputation = isRecord && this.headSequence >= 1 ? this.computeAtHead() : undefined;
      const previousSequence = this.headSequence;
      const outcome = apply(state, entry, applyOptions(digests, index));
      if (!outcome.accepted) return transitionDivergence(entry, outcome.rejection);
      this.entriesApplied += 1;
      this.headSequence = entry.sequence;
      this.headHash = entry.entryHash;
      this.options.onEntryApplied?.(entry.sequence, outcome, state);
      this.timeliness.observe(entry.sequence, outcome, state);
      if (recordedComputation !== undefined) this.options.onAttestationComputed?.(recordedComputation.fields);
      const record =
        isRecord && state.attestedSequence === previousSequence && previousSequence >= 1
          ? this.recordEvidence(entry, state)
          : undefined;
      if (record !== undefined) this.recordsChecked += 1;
      const settled = this.settlePending(record);
      if (settled !== undefined) return settled;
      if (record !== undefined && recordedComputation !== undefined && record.digest === recordedComputation.digest)
        this.version2Recorded = true;
      if (
        record !== undefined &&
        recordedComputation !== undefined &&
        !isComputedDigest(record.digest, recordedComputation, !this.version2Recorded)
      ) {
        return {
          sequence: entry.sequence,
          check: 'attestation-record',
          expected: record.digest,
          computed: recordedComputation.digest,
          message: `entry ${entry.sequence} records attestation digest ${record.digest} for entry ${previousSequence}, but the attestation the replay computes for it has digest ${recordedComputation.digest}`,
        };
      }
      if (
        entry.sequence === this.nextCheckpoint ||
        (this.others.size > 0 && this.others.has(entry.sequence)) ||
        entry.sequence === this.options.captureProof?.sequence
      ) {
        const divergence = await this.checkpoint(entry);
        if (divergence !== undefined) return divergence;
      }
      if (entry.sequence === this.options.stopAfterSequence) {
        this.stopped = true;
        break;
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
        throw error instanceof ReplayInputError
          ? error
          : new ReplayInputError(`cannot read the attestations: ${errorMessage(error)}`);
      }
      if (step.done !== true) {
        this.attestationNumber += 1;
        let attestation: AttestationOfAnyVersion;
        try {
          attestation = parseAttestationOfAnyVersion(step.value);
        } catch (error) {
          throw new ReplayInputError(`attestation ${this.attestationNumber} is malformed: ${errorMessage(error)}`);
        }
        if (attestation.sequence <= this.lastAttestedSequence) {
          return this.attestationDivergence(
            attestation,
            'attestation-sequence',
            String(attestation.sequence),
            `above ${this.lastAttestedSequence}`,
            `attestation ${this.attestationNumber} is at sequence ${attestation.sequence}, not after the previous one at ${this.lastAttestedSequence}: attestations must be in increasing sequence order`,
          );
        }
        this.nextAttestation = attestation;
      }
    }
    this.updateNextCheckpoint();
    return undefined;
  }

  private attestationDivergence(
    attestation: AttestationOfAnyVersion,
    check: DivergenceCheck,
    expected: string,
    computed: string,
    message: string,
  ): Divergence {
    return {
      sequence: attestation.sequence,
      check,
      expected,
      computed,
      message,
      attestationNumber: this.attestationNumber,
    };
  }

  /** The attestation the replay computes for the head (the state after the last applied entry). */
  private computeAtHead(): ComputedAttestation {
    if (this.computed?.sequence === this.headSequence) return this.computed;
    const state = this.state!;
    const root = this.tree!.update(state);
    const headHash = lowerHexToBytes(this.headHash, 32)!;
    const fields = attestationFieldsOf(
      state,
      root,
      this.headSequence,
      headHash,
      this.header!.genesisHash,
      this.commitment!.update(state),
    );
    const digest = attestationDigestHex(fields);
    const digestVersion1 = attestationDigestHex(attestationFieldsVersion1(fields));
    this.computed = { sequence: this.headSequence, fields, digest, digestVersion1 };
    return this.computed;
  }

  /** The record entry just applied, as evidence: its signed message, key and signature, and the digest it records. */
  private recordEvidence(
    entry: ExportEntry,
    state: ExchangeState,
  ): Extract<EquivocationEvidence, { kind: 'attestation-record' }> {
    const signed = transaction(entry);
    return {
      kind: 'attestation-record',
      source: `the log's attestation record (entry ${entry.sequence})`,
      entrySequence: entry.sequence,
      message: new TextDecoder().decode(signed.message),
      publicKey: bytesToBase64(signed.publicKey),
      signature: bytesToBase64(signed.signature),
      digest: bytesToLowerHex(state.attestationDigest),
    };
  }

  /** Checks whatever is due right after `entry`: the snapshot now; the attestations given for it once the next entry is known. */
  private async checkpoint(entry: ExportEntry): Promise<Divergence | undefined> {
    const snapshot = this.options.snapshot;
    if (snapshot !== undefined && !this.snapshotChecked && snapshot.sequence === entry.sequence) {
      const divergence = checkSnapshot(snapshot, entry, this.state!);
      if (divergence !== undefined) return divergence;
      this.snapshotChecked = true;
    }
    const capture = this.options.captureProof;
    if (capture !== undefined && capture.sequence === entry.sequence) {
      const computed = this.computeAtHead();
      this.capturedProof =
        this.tree!.inclusionProof(assembleAttestation(computed.fields, '', ''), capture.account) ?? null;
    }
    const attestation = this.nextAttestation;
    const listed =
      attestation !== undefined && attestation.sequence === entry.sequence
        ? {
            attestation,
            source: `attestation ${this.attestationNumber} of the attestation list`,
            number: this.attestationNumber,
          }
        : undefined;
    const others = this.others.get(entry.sequence) ?? [];
    if (listed === undefined && others.length === 0) {
      this.updateNextCheckpoint();
      return undefined;
    }
    this.pending = { computed: this.computeAtHead(), listed, others };
    if (listed !== undefined) this.reserves = reservesSummary(this.state!, this.pending.computed.fields);
    if (listed === undefined) {
      this.updateNextCheckpoint();
      return undefined;
    }
    this.lastAttestedSequence = listed.attestation.sequence;
    const divergence = await this.loadNextAttestation();
    // An out-of-order list is reported after what the attestation before it shows.
    return divergence === undefined ? undefined : (this.settlePending(undefined) ?? divergence);
  }

  /**
   * Settles the attestation checks of the entry before the one just applied,
   * knowing its record (if that entry was one): first whether the operator
   * signed two different statements for that sequence, then each statement
   * against the replay.
   */
  private settlePending(
    record: Extract<EquivocationEvidence, { kind: 'attestation-record' }> | undefined,
  ): Divergence | undefined {
    const pending = this.pending;
    if (pending === undefined) return undefined;
    this.pending = undefined;
    const { computed } = pending;
    const given = pending.listed === undefined ? pending.others : [pending.listed, ...pending.others];
    const statements: EquivocationEvidence[] = record === undefined ? [] : [record];
    for (const item of given) {
      if (verifyAttestationSignature(item.attestation, this.trustedOperatorKeys, engineSignatureRule)) {
        statements.push({ kind: 'attestation', ...attestationEvidence(item.attestation, item.source) });
      }
    }
    // Two signed statements that disagree: the one the replay computes (if any) first, then one that differs from it.
    const honest =
      statements.find((statement) => isComputedDigest(statement.digest, computed, !this.version2Recorded)) ??
      statements[0];
    const conflicting =
      honest === undefined ? undefined : statements.find((statement) => statement.digest !== honest.digest);
    if (honest !== undefined && conflicting !== undefined) {
      return {
        sequence: computed.sequence,
        check: 'equivocation',
        expected: `${honest.source}: digest ${honest.digest}`,
        computed: `${conflicting.source}: digest ${conflicting.digest}`,
        message:
          `operator equivocation at sequence ${computed.sequence}: ${honest.source} and ${conflicting.source} are both signed by operator keys ` +
          `and state different attestations (the replay computes digest ${computed.digest})`,
        equivocation: { sequence: computed.sequence, first: honest, second: conflicting },
      };
    }
    for (const item of given) {
      const divergence = checkAttestation(item, computed, this.trustedOperatorKeys);
      if (divergence !== undefined) return divergence;
    }
    if (pending.listed !== undefined) {
      this.attestationsChecked += 1;
      const short = shortAssets(pending.listed.attestation);
      if (short.length > 0) this.flaggedAttestations.push({ sequence: computed.sequence, shortAssets: short });
    }
    return undefined;
  }

  /** After the last entry: an attestation or snapshot still due lies beyond the end of the log (a replay stopped early checks nothing beyond). */
  private checkNothingBeyondEnd(): Divergence | undefined {
    if (this.stopped) return undefined;
    for (const [sequence, list] of this.others) {
      if (sequence > this.headSequence) {
        return {
          sequence,
          check: 'attestation-sequence',
          expected: String(sequence),
          computed: `the log ends at ${this.headSequence}`,
          message: `${list[0]!.source} is at sequence ${sequence}, beyond the end of the log at entry ${this.headSequence}`,
        };
      }
    }
    const attestation = this.nextAttestation;
    if (attestation !== undefined) {
      return this.attestationDivergence(
        attestation,
        'attestation-sequence',
        String(attestation.sequence),
        `the log ends at ${this.headSequence}`,
        `attestation ${this.attestationNumber} is at sequence ${attestation.sequence}, beyond the end of the log at entry ${this.headSequence}`,
      );
    }
    const snapshot = this.options.snapshot;
    if (snapshot !== undefined && !this.snapshotChecked) {
      return {
        sequence: snapshot.sequence,
        check: 'snapshot-sequence',
        expected: String(snapshot.sequence),
        computed: `the log ends at ${this.headSequence}`,
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
      recordsChecked: this.recordsChecked,
      liquidationTimeliness: this.timeliness.report(this.headSequence, this.state?.logTimeMs ?? 0),
      ...(this.capturedProof === undefined ? {} : { capturedProof: this.capturedProof }),
    };
  }

  private verified(): ReplayVerified {
    const finalStateHash = bytesToLowerHex(stateHash(this.state!));
    return {
      verified: true,
      ...this.totals(),
      headSequence: this.headSequence,
      headHash: this.headHash,
      stateHash: finalStateHash,
      ...(this.reserves === undefined ? {} : { reserves: this.reserves }),
    };
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
        sequence,
        check: 'entry-sequence',
        expected: recorded,
        computed,
        message: `the entry after ${sequence - 1} says it is entry ${recorded}`,
      };
    case 'chain':
      return {
        sequence,
        check: 'chain',
        expected: recorded,
        computed,
        message: `entry ${sequence} says the entry before hashes to ${recorded}, but it hashes to ${computed}`,
      };
    case 'entry-log-time':
      return {
        sequence,
        check: 'entry-log-time',
        expected: recorded,
        computed: `at least ${computed}`,
        message: `entry ${sequence} has log time ${recorded}, before the log time ${computed} of entry ${sequence - 1}`,
      };
    case 'trailer-count':
      return {
        sequence,
        check: 'trailer',
        expected: `${recorded} entries`,
        computed: `${computed} entries`,
        message: `the export's trailer counts ${recorded} entries but the file holds ${computed}: entries are missing or were added at the end`,
      };
    case 'trailer-hash':
      return {
        sequence,
        check: 'trailer',
        expected: recorded,
        computed,
        message: `the export's trailer says the last entry hashes to ${recorded}, but entry ${sequence} hashes to ${computed}`,
      };
  }
}
