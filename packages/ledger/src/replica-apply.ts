/**
 * A read replica's step (docs/cluster.md, "Read replicas"): entries read from
 * the log instead of submitted, applied exactly as the sequencer applied
 * them. Each entry is decoded, its signature verified (in the worker pool),
 * checked to continue the replica's head (sequence and chain), applied by the
 * engine at its own log time (which must accept it, as in recovery) and
 * re-encoded, and the re-encoding must hash to the entry's hash: so the
 * replica's history records and snapshots are the sequencer's, byte for byte.
 *
 * Attestations: the sequencer writes an attestation record right after each
 * attestation it makes, and Ed25519 signatures are deterministic, so a replica
 * holding the operator key makes the same attestation when the next entry is
 * a record (from the state before it), and checks that the record carries its
 * digest. A replica therefore serves the sequencer's attestations and proofs.
 */
import {
  attestationDigestHex,
  bytesToLowerHex,
  decodeEntry,
  isAttestationRecordMessage,
  type Attestation,
  type EntryRecord,
} from '@vex/engine';
import type { AttestationMaker } from './attestation-maker.js';
import type { BatchOperation } from './database.js';
import type { EncodedEntry } from './log-store.js';
import type { CommittedEntry } from './node-types.js';
import type { Sequencer } from './sequencer.js';
import type { SignatureVerifier } from './signature-pool.js';

/** submit() on a read replica: it takes no writes (docs/cluster.md, "Read replicas"). */
export class LedgerReadOnlyError extends Error {
  override readonly name = 'LedgerReadOnlyError';
}

/** What one applied log entry (or the attestation made before a record) writes, as the group commit's items. */
export interface ReplicatedItem {
  readonly entry:
    | { readonly sequence: number; readonly encoding: Uint8Array; readonly messageDigest: string }
    | undefined;
  readonly records: BatchOperation[];
  readonly committed: CommittedEntry | undefined;
  readonly attestation: Attestation | undefined;
}

interface VerifiedEntry {
  readonly logged: EncodedEntry;
  readonly record: EntryRecord;
}

/** Decodes every entry of `batch` and verifies its signature; throws on the first that fails. */
export async function verifyLogged(pool: SignatureVerifier, batch: readonly EncodedEntry[]): Promise<VerifiedEntry[]> {
  const entries = batch.map((logged) => ({ logged, record: decodeEntry(logged.encoding) }));
  const verdicts = await Promise.all(entries.map(({ record }) => pool.verify(record.transaction)));
  verdicts.forEach((verdict, index) => {
    if (verdict !== 'valid')
      throw new Error(
        `entry ${entries[index]!.record.sequence} of the log: its signature does not verify (${verdict})`,
      );
  });
  return entries;
}

/**
 * Applies verified entries onto the sequencer's state; synchronous, so the
 * state moves from one head to the next with nothing in between. Throws on any
 * entry that does not continue the head, that the engine refuses, or whose
 * attestation record does not carry the attestation made here: the state may
 * then be half-changed and the caller must halt.
 */
export function applyVerified(
  sequencer: Sequencer,
  maker: AttestationMaker | undefined,
  entries: readonly VerifiedEntry[],
): ReplicatedItem[] {
  const items: ReplicatedItem[] = [];
  for (const { logged, record } of entries) {
    const sequence = sequencer.sequence + 1;
    if (record.sequence !== sequence || logged.sequence !== sequence)
      throw new Error(`the log gave entry ${record.sequence} where entry ${sequence} was due`);
    if (bytesToLowerHex(record.previousHash) !== bytesToLowerHex(sequencer.entryHash))
      throw new Error(`entry ${sequence} of the log does not chain to this replica's entry ${sequence - 1}`);
    let made: Attestation | undefined;
    if (maker !== undefined && isAttestationRecordMessage(record.transaction.message)) {
      const attested = maker.attest(sequencer.state, sequencer.sequence, sequencer.entryHash);
      made = attested.attestation;
      items.push({ entry: undefined, records: [attested.operation], committed: undefined, attestation: made });
    }
    const sequenced = sequencer.applyLogged(record.transaction, record.logTimeMs);
    if (bytesToLowerHex(sequenced.committed.entryHash) !== bytesToLowerHex(logged.entryHash))
      throw new Error(`entry ${sequence} of the log is not in the canonical encoding`);
    if (made !== undefined && attestationDigestHex(made) !== bytesToLowerHex(sequencer.state.attestationDigest))
      throw new Error(`entry ${sequence} records an attestation other than the one this replica makes there`);
    const entry = { sequence, encoding: logged.encoding, messageDigest: sequenced.messageDigest };
    items.push({ entry, records: sequenced.records, committed: sequenced.committed, attestation: undefined });
  }
  return items;
}
