/**
 * The simulator's own view of the truth, kept apart from the node: what was
 * acknowledged (sequence and exact bytes), and an independent replay of the
 * durable log with the engine, from the genesis. Every check compares the
 * node with these; nothing here trusts the node's state or its recovery.
 *
 * The replay is from the genesis but incremental: each entry is applied once,
 * when it first appears in the durable log, and its entry hash is remembered.
 * After a recovery the whole log is read again and every remembered hash must
 * still be there, so the replay is always exactly "apply every entry of the
 * log from the genesis" without redoing the work after each restart. (The
 * replayer, which shares nothing with this replay but the engine, runs from
 * scratch; see replayer-check.ts.)
 */
import { createHash } from 'node:crypto';
import {
  bytesToLowerHex,
  apply,
  checkInvariants,
  createState,
  isAttestationRecordMessage,
  messageDigest,
  stateHashHex,
  type ExchangeState,
  type Genesis,
  type SignedTransaction,
  type StoredEntry,
} from '@vex/engine';
import type { CommittedEntry, ExchangeNode } from '../src/exchange-node.js';

export type CheckName =
  | 'engine-invariants'
  | 'acknowledged-entries-survive'
  | 'sequences-contiguous'
  | 'state-matches-replay'
  | 'no-transaction-logged-twice'
  | 'duplicate-refusals-justified'
  | 'torn-tail-dropped'
  | 'recovery-succeeds'
  | 'replayer-accepts-log-and-attestations'
  | 'nothing-stuck';

export const checkNames: readonly CheckName[] = [
  'engine-invariants',
  'acknowledged-entries-survive',
  'sequences-contiguous',
  'state-matches-replay',
  'no-transaction-logged-twice',
  'duplicate-refusals-justified',
  'torn-tail-dropped',
  'recovery-succeeds',
  'replayer-accepts-log-and-attestations',
  'nothing-stuck',
];

/** A check found the node wrong. The simulator adds the seed and the step. */
export class AuditFailure extends Error {
  override readonly name = 'AuditFailure';

  constructor(
    readonly check: CheckName,
    message: string,
  ) {
    super(`[${check}] ${message}`);
  }
}

interface AcknowledgedEntry {
  /** SHA-256 of public key ‖ signature ‖ message: the exact bytes the simulator submitted. */
  readonly transactionKey: string;
  /** The entry hash the node published for it. */
  readonly entryHash: string;
}

export function transactionKeyOf(transaction: SignedTransaction): string {
  return createHash('sha256')
    .update(transaction.publicKey)
    .update(transaction.signature)
    .update(transaction.message)
    .digest('hex');
}

export class LogAuditor {
  readonly checks = Object.fromEntries(checkNames.map((name) => [name, 0])) as Record<CheckName, number>;
  private readonly acknowledged = new Map<number, AcknowledgedEntry>();
  /** Entries the node published as durable (subscribe), by sequence, until acknowledged. */
  private readonly published = new Map<number, AcknowledgedEntry>();
  private readonly replay: ExchangeState;
  /** The entry hash of every replayed entry; index sequence − 1. */
  private readonly replayedEntryHashes: string[] = [];
  /** messageDigest (the engine's replay key) of every logged transaction → its sequence. */
  private readonly loggedTransactions = new Map<string, number>();
  /** Requests the node refused as duplicates, to be found in the log at the next audit. */
  private duplicateClaims: Array<{ digest: string; transactionKey: string }> = [];
  private lostEntries = 0;

  constructor(genesis: Genesis) {
    this.replay = createState(genesis);
  }

  /** The node's own attestation records among the replayed entries (never submitted, so never acknowledged). */
  attestationRecordEntries = 0;

  get acknowledgedEntries(): number {
    return this.acknowledged.size;
  }

  get entriesLost(): number {
    return this.lostEntries;
  }

  get replayedHead(): number {
    return this.replayedEntryHashes.length;
  }

  /** The node's subscribe callback: the entry is durable. */
  entryPublished(entry: CommittedEntry): void {
    this.published.set(entry.sequence, {
      transactionKey: transactionKeyOf(entry.transaction),
      entryHash: bytesToLowerHex(entry.entryHash),
    });
  }

  /** submit() resolved with `sequence` for exactly these bytes. */
  entryAcknowledged(sequence: number, transaction: SignedTransaction): void {
    this.checks['acknowledged-entries-survive'] += 1;
    const transactionKey = transactionKeyOf(transaction);
    const published = this.published.get(sequence);
    if (published === undefined) {
      throw new AuditFailure(
        'acknowledged-entries-survive',
        `entry ${sequence} was acknowledged before it was published as durable`,
      );
    }
    if (published.transactionKey !== transactionKey) {
      throw new AuditFailure(
        'acknowledged-entries-survive',
        `entry ${sequence} was acknowledged for a transaction other than the one it holds`,
      );
    }
    const earlier = this.acknowledged.get(sequence);
    if (earlier !== undefined) {
      throw new AuditFailure(
        'sequences-contiguous',
        `sequence ${sequence} was acknowledged twice (${earlier.transactionKey} and ${transactionKey})`,
      );
    }
    this.published.delete(sequence);
    this.acknowledged.set(sequence, published);
  }

  /** The node refused `transaction` as DUPLICATE_REQUEST: the same request must be in the log. */
  duplicateClaimed(transaction: SignedTransaction): void {
    this.duplicateClaims.push({
      digest: messageDigest(transaction.publicKey, transaction.message),
      transactionKey: transactionKeyOf(transaction),
    });
  }

  /**
   * The process crashed. A duplicate refusal may have been about an entry
   * that was sequenced but never became durable, so unchecked claims go.
   */
  processCrashed(): void {
    this.duplicateClaims = [];
    this.published.clear();
  }

  /**
   * After a step, with the node idle: applies the entries that became
   * durable, then compares states and checks the engine invariants.
   */
  async auditStep(node: ExchangeNode): Promise<void> {
    await this.replayNewEntries(node, this.replayedHead + 1);
    this.checkDuplicateClaims();
    this.compareStates(node);
  }

  /**
   * After a recovery: reads the whole log again. Every entry replayed before
   * must be there unchanged, every acknowledged entry must be there at its
   * sequence with its bytes, and the state must equal the replay.
   */
  async auditRecovery(node: ExchangeNode, expectedHead: number | undefined): Promise<void> {
    const head = node.head().sequence;
    if (expectedHead !== undefined) {
      this.checks['torn-tail-dropped'] += 1;
      // Start-up appends the record of an attestation whose record was torn off (docs/attestation.md, "Attestation records").
      const recordedAtStartUp =
        head === expectedHead + 1 &&
        node.state.attestedSequence === expectedHead &&
        (await node.attestationAt(expectedHead)) !== undefined;
      if (head !== expectedHead && !recordedAtStartUp) {
        throw new AuditFailure(
          'torn-tail-dropped',
          `after a torn write from entry ${expectedHead + 1} the recovered head is ${head}, expected ${expectedHead}`,
        );
      }
    }
    const missing = [...this.acknowledged.keys()]
      .filter((sequence) => sequence > head)
      .sort((left, right) => left - right);
    if (missing.length > 0) {
      this.lostEntries += missing.length;
      throw new AuditFailure(
        'acknowledged-entries-survive',
        `${missing.length} acknowledged entries are missing after recovery, the first is entry ${missing[0]}; the recovered head is ${head}`,
      );
    }
    await this.replayNewEntries(node, 1);
    this.compareStates(node);
  }

  /** Reads the durable log from `fromSequence`, checking what was seen before and replaying what is new. */
  private async replayNewEntries(node: ExchangeNode, fromSequence: number): Promise<void> {
    const head = node.head().sequence;
    if (head < this.replayedHead) {
      this.lostEntries += this.replayedHead - head;
      throw new AuditFailure(
        'acknowledged-entries-survive',
        `the log shrank from ${this.replayedHead} to ${head} entries; durable entries were lost`,
      );
    }
    let expected = fromSequence;
    let entries: AsyncIterable<StoredEntry>;
    try {
      entries = node.readEntries(fromSequence, head);
      for await (const entry of entries) {
        this.checkEntry(entry, expected);
        expected += 1;
      }
    } catch (error) {
      if (error instanceof AuditFailure) throw error;
      throw new AuditFailure(
        'sequences-contiguous',
        `reading the log from entry ${fromSequence} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    this.checks['sequences-contiguous'] += 1;
    if (expected !== Math.max(fromSequence, head + 1)) {
      throw new AuditFailure(
        'sequences-contiguous',
        `the log ends at entry ${expected - 1} but the node's head is ${head}`,
      );
    }
  }

  private checkEntry(entry: StoredEntry, expected: number): void {
    if (entry.sequence !== expected) {
      throw new AuditFailure(
        'sequences-contiguous',
        `entry ${expected} was expected, the log holds entry ${entry.sequence} there`,
      );
    }
    const entryHash = bytesToLowerHex(entry.entryHash);
    const acknowledged = this.acknowledged.get(entry.sequence);
    if (
      acknowledged !== undefined &&
      (acknowledged.entryHash !== entryHash || acknowledged.transactionKey !== transactionKeyOf(entry.transaction))
    ) {
      this.lostEntries += 1;
      throw new AuditFailure(
        'acknowledged-entries-survive',
        `entry ${entry.sequence} is not the acknowledged one: entry hash ${entryHash}, acknowledged ${acknowledged.entryHash}`,
      );
    }
    if (entry.sequence <= this.replayedHead) {
      const replayed = this.replayedEntryHashes[entry.sequence - 1];
      if (replayed !== entryHash) {
        this.lostEntries += 1;
        throw new AuditFailure(
          'acknowledged-entries-survive',
          `durable entry ${entry.sequence} changed: entry hash ${entryHash}, was ${replayed}`,
        );
      }
      return;
    }
    // A new durable entry: replay it with the engine, signature included.
    if (isAttestationRecordMessage(entry.transaction.message)) this.attestationRecordEntries += 1;
    this.checks['no-transaction-logged-twice'] += 1;
    const digest = messageDigest(entry.transaction.publicKey, entry.transaction.message);
    const earlier = this.loggedTransactions.get(digest);
    if (earlier !== undefined) {
      throw new AuditFailure(
        'no-transaction-logged-twice',
        `entry ${entry.sequence} repeats the request of entry ${earlier}`,
      );
    }
    const outcome = apply(this.replay, { logTimeMs: entry.logTimeMs, transaction: entry.transaction });
    if (!outcome.accepted) {
      throw new AuditFailure(
        'state-matches-replay',
        `the replay refuses logged entry ${entry.sequence}: ${outcome.rejection.code} (${outcome.rejection.message})`,
      );
    }
    this.loggedTransactions.set(digest, entry.sequence);
    this.replayedEntryHashes.push(entryHash);
  }

  private checkDuplicateClaims(): void {
    for (const claim of this.duplicateClaims) {
      this.checks['duplicate-refusals-justified'] += 1;
      if (!this.loggedTransactions.has(claim.digest)) {
        throw new AuditFailure(
          'duplicate-refusals-justified',
          `a request (${claim.transactionKey}) was refused as a duplicate but is not in the log`,
        );
      }
    }
    this.duplicateClaims = [];
  }

  /** The node's state must be the replay's, and must keep the engine's invariants. */
  private compareStates(node: ExchangeNode): void {
    const statistics = node.statistics();
    if (statistics.sequencedEntries !== statistics.durableSequence) {
      throw new AuditFailure(
        'nothing-stuck',
        `the node is not idle at a check: ${statistics.sequencedEntries} sequenced, ${statistics.durableSequence} durable`,
      );
    }
    this.checks['engine-invariants'] += 1;
    try {
      checkInvariants(node.state);
    } catch (error) {
      throw new AuditFailure(
        'engine-invariants',
        `the node's state breaks an invariant: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    this.checks['state-matches-replay'] += 1;
    const nodeStateHash = stateHashHex(node.state);
    const replayStateHash = stateHashHex(this.replay);
    if (nodeStateHash !== replayStateHash) {
      throw new AuditFailure(
        'state-matches-replay',
        `after entry ${statistics.durableSequence} the node's state hash is ${nodeStateHash}, the replay of its log gives ${replayStateHash}`,
      );
    }
  }

  /** The replay's state hash, for the run digest. */
  replayStateHash(): string {
    return stateHashHex(this.replay);
  }
}
