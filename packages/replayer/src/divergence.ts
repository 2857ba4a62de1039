/**
 * A divergence: the first place where the log, an attestation or a snapshot
 * disagrees with what the replay computes. docs/replayer.md lists every check
 * and what its `expected` and `computed` hold.
 */
import type { SignedAttestationEvidence } from '@vex/engine';

/** Checks on the log itself, in the order they run for each entry. */
export type LogCheck =
  /** The entry's previous hash is not the hash of the entry before (the genesis hash for entry 1). */
  | 'chain'
  /** The entry's sequence number is not the next one. */
  | 'entry-sequence'
  /** The entry's log time is below the log time of the entry before. */
  | 'entry-log-time'
  /** The export's trailer does not match the entries (count or last hash): entries were dropped or added at the end. */
  | 'trailer'
  /** The signature is not valid under the engine's signature rule. */
  | 'signature'
  /** The engine rejects the logged entry when it re-executes it. */
  | 'transition';

/** Checks of an attestation against the replayed state after its entry, in the order they run. */
export type AttestationCheck =
  /** Attestations out of increasing order, or one beyond the end of the log. */
  | 'attestation-sequence'
  | 'genesis-hash'
  | 'head-hash'
  | 'log-time'
  | 'state-hash'
  | 'liabilities-root'
  | 'account-count'
  /** The attested asset symbols are not the listed assets, in listing order. */
  | 'asset-list'
  | 'claims'
  | 'debts'
  | 'reserves'
  /** An asset's stress shortfall is not the engine's stress figure at the attested state (docs/attestation.md). */
  | 'stress-shortfall'
  /** The key is not a genesis operator key, or the signature does not verify under the signature rule. */
  | 'attestation-signature';

/**
 * Checks of the log's attestation records (docs/attestation.md, "Attestation
 * records") and of attestations against each other.
 *
 * - attestation-record: a record's digest is not the digest of the
 *   attestation message the replay computes for the entry before it;
 * - equivocation: two statements for one sequence, each signed by a genesis
 *   operator key (the log's record, an attestation from the attestations
 *   list, another file or a proof), with different digests.
 */
export type RecordCheck = 'attestation-record' | 'equivocation';

/** Checks of a snapshot record against the replay at its sequence. */
export type SnapshotCheck = 'snapshot-sequence' | 'snapshot-entry-hash' | 'snapshot-state-hash';

export type DivergenceCheck = LogCheck | AttestationCheck | RecordCheck | SnapshotCheck;

/** One signed statement about a sequence, as published evidence: an attestation, or the log's attestation record entry. */
export type EquivocationEvidence =
  | ({ readonly kind: 'attestation' } & SignedAttestationEvidence)
  | {
      readonly kind: 'attestation-record';
      readonly source: string;
      /** The record entry's sequence (the attested sequence + 1). */
      readonly entrySequence: number;
      /** The signed message: the record's signing string (UTF-8). */
      readonly message: string;
      /** Standard base64 of the operator's public key and of the entry's signature. */
      readonly publicKey: string;
      readonly signature: string;
      /** The attestation digest the record carries. */
      readonly digest: string;
    };

/** Two conflicting operator-signed statements for one sequence: the proof of misbehaviour anyone can publish. */
export interface Equivocation {
  readonly sequence: number;
  readonly first: EquivocationEvidence;
  readonly second: EquivocationEvidence;
}

export interface Divergence {
  /** The log sequence number where the disagreement is: the entry, or the attestation's or snapshot's sequence. */
  readonly sequence: number;
  readonly check: DivergenceCheck;
  /** What the log, the attestation or the snapshot says. */
  readonly expected: string;
  /** What the replay computed. */
  readonly computed: string;
  /** One sentence for people. */
  readonly message: string;
  /** For attestation checks: the attestation's place in the attestation list, counting from 1 (its line in a JSON Lines file). */
  readonly attestationNumber?: number;
  /** For check 'equivocation': both signed statements. */
  readonly equivocation?: Equivocation;
}
