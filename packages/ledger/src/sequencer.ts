/**
 * The sequencer: gives each verified transaction its log time and sequence,
 * applies it with the engine, encodes the entry and builds the records that
 * go with it (history, a snapshot when due, an attestation when due).
 *
 * Everything here is synchronous, so entries are applied in the order they
 * arrive and nothing interleaves between apply and the entry being queued.
 * The state it holds includes entries sequenced but not yet durable.
 */
import {
  apply,
  checkInvariants,
  encodeAndHashEntry,
  encodeState,
  isAttestationRecordMessage,
  messageDigest,
  reject,
  type ApplyOutcome,
  type Attestation,
  type ExchangeState,
  type SignatureVerdict,
  type SignedTransaction,
  sha256,
} from '@vex/engine';
import type { AttestationMaker, MadeAttestation } from './attestation-maker.js';
import type { BatchOperation } from './database.js';
import { historyOperations } from './history.js';
import { snapshotsKept } from './node-options.js';
import type { CommittedEntry, SubmitResult } from './node-types.js';
import { encodeSnapshot, snapshotKey } from './storage-format.js';

/** An accepted entry, ready for the group commit. */
export interface SequencedEntry {
  readonly committed: CommittedEntry;
  /** The entry encoding: what the log stores. */
  readonly encoding: Uint8Array;
  /**
   * The entry's replay-protection digest (the engine's messageDigest of its public key and message), computed
   * once here and handed to the snapshot worker with the entry, so that the worker does not hash the message again.
   */
  readonly messageDigest: string;
  /** What the ledger derives from it: history records, a snapshot, an attestation (in that order). */
  readonly records: BatchOperation[];
  /** The attestation made right after this entry, stored with it. */
  readonly attestation: Attestation | undefined;
}

export class Sequencer {
  /** The last sequenced entry (the state includes it); durable or queued. */
  private sequencedSequence: number;
  private sequencedHash: Uint8Array;
  rejectedTransactions = 0;
  /** Time spent sequencing accepted and engine-rejected transactions, in ms. */
  sequencingMs = 0;

  constructor(
    readonly state: ExchangeState,
    head: { readonly sequence: number; readonly entryHash: Uint8Array },
    private readonly clock: () => number,
    /** Snapshots taken here, in the entry's own batch; undefined when a worker takes them (snapshot-taker.ts). */
    private readonly snapshotEveryEntries: number | undefined,
    private readonly attestationMaker: AttestationMaker | undefined,
  ) {
    this.sequencedSequence = head.sequence;
    this.sequencedHash = head.entryHash;
  }

  get sequence(): number {
    return this.sequencedSequence;
  }

  get entryHash(): Uint8Array {
    return this.sequencedHash;
  }

  /** The next log time: max(previous log time, floor(clock())). Throws if the clock gives no time. */
  nextLogTime(): number {
    const now = Math.floor(this.clock());
    if (!Number.isSafeInteger(now) || now < 0)
      throw new Error(`The clock returned ${now}, which is not a time in milliseconds.`);
    return Math.max(this.state.logTimeMs, now);
  }

  /** The answer to a transaction refused before the engine sees it (bad signature, forged attestation record). */
  refusal(transaction: SignedTransaction, verdict: SignatureVerdict, logTimeMs: number): SubmitResult | undefined {
    if (verdict !== 'valid') {
      return this.rejected(logTimeMs, reject('INVALID_SIGNATURE', `The signature is not valid (${verdict}).`));
    }
    if (isAttestationRecordMessage(transaction.message)) {
      // Only the node writes attestation records, right after its own attestations (docs/attestation.md).
      return this.rejected(
        logTimeMs,
        reject(
          'INVALID_INSTRUCTION',
          'Attestation records are written by the node itself, right after each attestation.',
        ),
      );
    }
    return undefined;
  }

  private rejected(logTimeMs: number, rejection: ReturnType<typeof reject>): SubmitResult {
    this.rejectedTransactions += 1;
    const outcome: ApplyOutcome = { accepted: false, rejection, results: [] };
    return { outcome, sequence: undefined, logTimeMs };
  }

  /**
   * Applies a verified transaction at `logTimeMs`. Returns the engine's
   * rejection (nothing logged), or the sequenced entry with its records and
   * the attestation made right after it when one is due. If this throws,
   * the state may be half-changed: the caller must halt.
   */
  apply(transaction: SignedTransaction, logTimeMs: number): SubmitResult | SequencedEntry {
    const started = performance.now();
    const digest = messageDigest(transaction.publicKey, transaction.message);
    const outcome = apply(this.state, { logTimeMs, transaction }, { signatureVerified: true, messageDigest: digest });
    if (!outcome.accepted) {
      this.rejectedTransactions += 1;
      this.sequencingMs += performance.now() - started;
      return { outcome, sequence: undefined, logTimeMs };
    }
    const sequenced = this.append(transaction, logTimeMs, outcome, digest);
    // The attestation is made here, from the state right after this entry, and stored in the entry's own batch.
    let attestation: Attestation | undefined;
    const { sequence, entryHash } = sequenced.committed;
    if (this.attestationMaker?.isDue(sequence, logTimeMs) === true) {
      const made = this.attestationMaker.attest(this.state, sequence, entryHash);
      sequenced.records.push(made.operation);
      attestation = made.attestation;
    }
    this.sequencingMs += performance.now() - started;
    return { ...sequenced, attestation };
  }

  /**
   * Applies and encodes the attestation record of `attestation`, the
   * attestation of the last sequenced entry, as the next entry
   * (docs/attestation.md, "Attestation records"). Synchronous, right after
   * the attestation is made. Throws if the engine refuses it: the caller halts.
   */
  attestationRecord(attestation: Attestation): SequencedEntry {
    const logTimeMs = this.nextLogTime();
    const transaction = this.attestationMaker!.signRecord(attestation, logTimeMs);
    return this.applyAccepted(transaction, logTimeMs, "the node's own attestation record");
  }

  /**
   * Applies an entry read from the log at its own log time (a read replica,
   * docs/cluster.md, "Read replicas"): the engine must accept it, as in
   * recovery. No attestation is made here: a replica makes one only where the
   * log records one. Throws if the engine refuses it: the caller halts.
   */
  applyLogged(transaction: SignedTransaction, logTimeMs: number): SequencedEntry {
    return this.applyAccepted(transaction, logTimeMs, `entry ${this.sequencedSequence + 1} of the log`);
  }

  private applyAccepted(transaction: SignedTransaction, logTimeMs: number, what: string): SequencedEntry {
    const digest = messageDigest(transaction.publicKey, transaction.message);
    const outcome = apply(this.state, { logTimeMs, transaction }, { signatureVerified: true, messageDigest: digest });
    if (!outcome.accepted)
      throw new Error(`the engine refuses ${what}: ${outcome.rejection.code}: ${outcome.rejection.message}`);
    return { ...this.append(transaction, logTimeMs, outcome, digest), attestation: undefined };
  }

  /** Attests the last sequenced entry (the head, or an idle spell's last entry). */
  attestHead(): MadeAttestation {
    return this.attestationMaker!.attest(this.state, this.sequencedSequence, this.sequencedHash);
  }

  /** Encodes an applied transaction as the next entry, with its history records and snapshot. */
  private append(
    transaction: SignedTransaction,
    logTimeMs: number,
    outcome: Extract<ApplyOutcome, { accepted: true }>,
    digest: string,
  ): Omit<SequencedEntry, 'attestation'> {
    const sequence = this.sequencedSequence + 1;
    const previousHash = this.sequencedHash;
    const { encoding, entryHash } = encodeAndHashEntry({ sequence, logTimeMs, previousHash, transaction });
    const records: BatchOperation[] = [];
    historyOperations(this.state, sequence, outcome.events, records);
    const every = this.snapshotEveryEntries;
    if (every !== undefined && sequence % every === 0) this.snapshotOperations(sequence, entryHash, every, records);
    this.sequencedSequence = sequence;
    this.sequencedHash = entryHash;
    const committed = { sequence, logTimeMs, previousHash, entryHash, transaction, outcome };
    return { committed, encoding, messageDigest: digest, records };
  }

  /**
   * The snapshot goes in the same batch as its entry: it is the state right
   * after that entry (built synchronously after applying it), and the atomic
   * batch means a snapshot never exists without its entry.
   */
  private snapshotOperations(
    sequence: number,
    entryHash: Uint8Array,
    snapshotEveryEntries: number,
    operations: BatchOperation[],
  ): void {
    checkInvariants(this.state);
    const stateEncoding = encodeState(this.state);
    const stateHash = sha256(stateEncoding);
    const snapshot = encodeSnapshot({ sequence, entryHash, stateHash, stateEncoding });
    operations.push({ type: 'put', key: snapshotKey(sequence), value: snapshot });
    const obsolete = sequence - snapshotsKept * snapshotEveryEntries;
    if (obsolete > 0) operations.push({ type: 'del', key: snapshotKey(obsolete) });
  }
}
