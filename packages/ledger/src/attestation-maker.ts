/**
 * The node's attestations (docs/attestation.md): when one is due, and making
 * it from the engine state right after an entry.
 *
 * The maker owns the liabilities tree and updates it only when it attests, so
 * between attestations the tree is exactly at the last attestation made. Each
 * update is tagged with the attestation's sequence, and the tree keeps undo
 * logs of the recent older attestations (within historyBytes), so proofs are
 * given under those too (heldSequences). The sequencer calls it
 * synchronously right after applying an entry, so the state it reads is the
 * state after that entry and nothing else.
 */
import {
  LiabilitiesTree,
  StateCommitment,
  attestationFieldsOf,
  encodeAttestationJson,
  publicKeyFromSeed,
  accountIdOf,
  signAttestation,
  signAttestationRecord,
  type SignedTransaction,
  type Attestation,
  type ExchangeState,
  type InclusionProof,
  type InclusionProofBody,
} from '@vex/engine';
import type { BatchOperation } from './database.js';
import { attestationKey } from './storage-format.js';

export interface AttestationCadence {
  /** An attestation is due when this many entries follow the last one. */
  readonly everyEntries: number;
  /** …or when the log time is this far past the last one's (there was activity, since an entry is being sequenced). */
  readonly everyMs: number;
}

export interface MadeAttestation {
  readonly attestation: Attestation;
  /** The keyspace 0x03 put that stores it, for the batch of the entry it follows (or a batch of its own). */
  readonly operation: BatchOperation;
}

const utf8 = new TextEncoder();

/** Whether entry `headSequence` of `state` is the attestation record of `attestation` (the entry right after it). */
export function isRecordOf(
  state: ExchangeState,
  attestation: Pick<Attestation, 'sequence'>,
  headSequence: number,
): boolean {
  return (
    state.attestedSequence === attestation.sequence &&
    headSequence === attestation.sequence + 1 &&
    state.headSequence === headSequence
  );
}

/** The storage operation of an attestation: its canonical JSON, UTF-8, under 0x03 ‖ u64 sequence. */
export function attestationOperation(attestation: Attestation): BatchOperation {
  return {
    type: 'put',
    key: attestationKey(attestation.sequence),
    value: utf8.encode(encodeAttestationJson(attestation)),
  };
}

/**
 * Told of every attestation as it is made, synchronously, with the state at
 * exactly its sequence and the fee account's (leaf 0's) proof body, from
 * which the root's two child records follow (the custody committer,
 * packages/custody). It must not throw and must not change the state.
 */
export type AttestationObserver = (
  attestation: Attestation,
  state: ExchangeState,
  leafZero: InclusionProofBody,
) => void;

export class AttestationMaker {
  private readonly tree: LiabilitiesTree;
  /** Follows the state's changes, so an attestation rehashes only what changed since the last (docs/attestation.md). */
  private readonly commitment: StateCommitment;
  /** Set by the node from NodeOptions.onAttestationMade. */
  observer: AttestationObserver | undefined = undefined;
  /** The attestation the tree is at: the last one made or recovered (durable, or in a batch being written). */
  private current: Attestation | undefined;

  /**
   * Builds the tree over `state` (the recovered state): its root is then the
   * root at the head, which is the latest attestation's root only when that
   * attestation is at the head (`headSequence`); the node checks that, or
   * attests the head. No older attestation's proofs exist after a restart.
   * `historyBytes` is the tree's budget for older attestations (default
   * defaultHistoryBytes).
   */
  constructor(
    state: ExchangeState,
    private readonly signingSeed: Uint8Array,
    private readonly genesisHash: Uint8Array,
    private readonly cadence: AttestationCadence,
    latestStored: Attestation | undefined,
    headSequence: number,
    historyBytes?: number,
  ) {
    // The tree at the head is the latest attestation's when the head is that attestation's entry, or
    // its record (a record changes no balance).
    const atHead =
      latestStored !== undefined &&
      (latestStored.sequence === headSequence || isRecordOf(state, latestStored, headSequence));
    const version = atHead ? latestStored.sequence : undefined;
    // At a record, the leaves carry interest to the attested entry's time, as the attestation states them.
    this.tree = LiabilitiesTree.build(state, {
      ...(version === undefined ? {} : { version, leafTimeMs: latestStored!.logTimeMs }),
      ...(historyBytes === undefined ? {} : { historyBytes }),
    });
    this.commitment = StateCommitment.build(state);
    this.current = latestStored;
  }

  /** The base64 public key that signs. */
  get operatorKey(): string {
    return accountIdOf(publicKeyFromSeed(this.signingSeed));
  }

  /** The attestation the tree is at (made or recovered); undefined before the first. */
  get latest(): Attestation | undefined {
    return this.current;
  }

  /** The tree's root hash (hex) and account count, to compare with a recovered attestation. */
  treeRoot(): { readonly liabilitiesRoot: string; readonly accountCount: number } {
    const root = this.tree.root();
    return { liabilitiesRoot: Buffer.from(root.hash).toString('hex'), accountCount: root.accountCount };
  }

  /** The state commitment of `state` (hex), caught up with the entries since the last call. */
  stateCommitment(state: ExchangeState): string {
    return Buffer.from(this.commitment.update(state)).toString('hex');
  }

  /** Whether entry `sequence`, just applied at `logTimeMs`, is to be followed by an attestation. */
  isDue(sequence: number, logTimeMs: number): boolean {
    const last = this.current;
    // Before the first attestation the log time of the genesis state (0) is the reference, so the first entry is attested.
    return (
      sequence - (last?.sequence ?? 0) >= this.cadence.everyEntries ||
      logTimeMs - (last?.logTimeMs ?? 0) >= this.cadence.everyMs
    );
  }

  /**
   * Whether entries up to `state`'s head are not all covered by the last
   * attestation: the head is neither the attested entry nor the attestation
   * record that follows it (records are never attested themselves).
   */
  hasUnattested(state: ExchangeState): boolean {
    const latest = this.current;
    if (state.headSequence === (latest?.sequence ?? 0)) return false;
    // The head records an attestation this node does not hold (another sequencer made it, cluster mode): the
    // head is attested, and the engine refuses a record of the record, so the next attestation follows the next entry.
    if (state.attestedSequence !== 0 && state.headSequence === state.attestedSequence + 1) return false;
    return latest === undefined || !isRecordOf(state, latest, state.headSequence);
  }

  /** The attestation record of `attestation`, to be sequenced at `logTimeMs` right after the attested entry. */
  signRecord(attestation: Attestation, logTimeMs: number): SignedTransaction {
    return signAttestationRecord(attestation, logTimeMs, this.signingSeed);
  }

  /** How long, on a clock reading `nowMs`, until the last attestation is `everyMs` old (0 when it already is). */
  msUntilDue(nowMs: number): number {
    return Math.max(0, (this.current?.logTimeMs ?? 0) + this.cadence.everyMs - nowMs);
  }

  /**
   * Attests `state` as the state after entry `sequence` (hash `headHash`):
   * updates the tree, builds the fields and signs them. Synchronous, so
   * nothing can change the state meanwhile. Throws on an engine failure; the
   * node then halts.
   */
  attest(state: ExchangeState, sequence: number, headHash: Uint8Array): MadeAttestation {
    const root = this.tree.update(state, sequence);
    const fields = attestationFieldsOf(
      state,
      root,
      sequence,
      headHash,
      this.genesisHash,
      this.commitment.update(state),
    );
    const attestation = signAttestation(fields, this.signingSeed);
    this.current = attestation;
    const observer = this.observer;
    if (observer !== undefined) observer(attestation, state, this.tree.proofPath(state.feeAccount.id)!);
    return { attestation, operation: attestationOperation(attestation) };
  }

  /** The proof of `accountId`'s leaf under the latest attestation; undefined for an account it does not cover. */
  inclusionProof(accountId: string): InclusionProof | undefined {
    if (this.current === undefined) return undefined;
    return this.tree.inclusionProof(this.current, accountId);
  }

  /**
   * The sequences of the attestations whose proofs are given: from the
   * oldest held to the latest, every attestation made in between included.
   * Undefined when the tree is at no attestation (none made, or the latest
   * stored one is not at the recovered head and the head is not attested yet).
   */
  heldSequences(): { readonly oldest: number; readonly latest: number } | undefined {
    return this.tree.heldVersions();
  }

  /** Whether proofs under the attestation at `sequence` are given (inclusionProofAt). */
  holds(sequence: number): boolean {
    return this.tree.holdsVersion(sequence);
  }

  /**
   * The proof of `accountId`'s leaf under `attestation`, the latest or an
   * older one still held (holds); undefined for an account it does not cover.
   * Throws for an attestation not held, or whose root is not the tree's at its sequence.
   */
  inclusionProofAt(attestation: Attestation, accountId: string): InclusionProof | undefined {
    return this.tree.inclusionProofAt(attestation, accountId);
  }
}
