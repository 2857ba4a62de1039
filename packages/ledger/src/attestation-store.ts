/**
 * Reading stored attestations (keyspace 0x03 ‖ u64 sequence, the canonical
 * JSON as UTF-8; docs/log-format.md). Every read checks that the value parses
 * as an attestation of the sequence its key names, so a damaged record is
 * reported, never served. A ledger upgraded from storage format 1 holds
 * version-1 attestations before its first version-2 one; they are read as
 * they were signed (storage-upgrade.ts).
 */
import { LogFormatError, parseAttestationOfAnyVersion, type AttestationOfAnyVersion } from '@vex/engine';
import type { LedgerDatabase } from './database.js';
import { attestationKey, attestationRange, sequenceOfKey } from './storage-format.js';

/** An attestation as stored: the parsed object and the exact canonical JSON text. */
export interface StoredAttestation {
  readonly attestation: AttestationOfAnyVersion;
  readonly json: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeStoredAttestation(key: Uint8Array, value: Uint8Array): StoredAttestation {
  const sequence = sequenceOfKey(key);
  let json: string;
  let attestation: AttestationOfAnyVersion;
  try {
    json = utf8.decode(value);
    attestation = parseAttestationOfAnyVersion(JSON.parse(json));
  } catch (error) {
    throw new LogFormatError(
      `attestation ${sequence ?? '?'} in the ledger cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  if (attestation.sequence !== sequence) {
    throw new LogFormatError(
      `the attestation stored under sequence ${sequence ?? '?'} says it follows entry ${attestation.sequence}`,
    );
  }
  return { attestation, json };
}

/** The attestation at exactly `sequence`, if one is stored. */
export async function readStoredAttestation(
  db: LedgerDatabase,
  sequence: number,
): Promise<StoredAttestation | undefined> {
  const key = attestationKey(sequence);
  const value = await db.get(key);
  return value === undefined ? undefined : decodeStoredAttestation(key, value);
}

/** The stored attestation with the highest sequence at or below `atMostSequence`. */
export async function readLatestStoredAttestation(
  db: LedgerDatabase,
  atMostSequence: number,
): Promise<StoredAttestation | undefined> {
  if (atMostSequence < 1) return undefined;
  for await (const [key, value] of db.iterator({
    gte: attestationRange.gte,
    lte: attestationKey(atMostSequence),
    reverse: true,
    limit: 1,
  })) {
    return decodeStoredAttestation(key, value);
  }
  return undefined;
}

/** Stored attestations with `fromSequence ≤ sequence ≤ toSequence`, in sequence order, at most `limit` (all when absent). */
export async function* readStoredAttestations(
  db: LedgerDatabase,
  fromSequence: number,
  toSequence: number,
  limit?: number,
): AsyncGenerator<StoredAttestation, void, undefined> {
  if (toSequence < 1 || fromSequence > toSequence) return;
  const range = {
    gte: attestationKey(Math.max(1, fromSequence)),
    lte: attestationKey(toSequence),
    ...(limit !== undefined ? { limit } : {}),
  };
  for await (const [key, value] of db.iterator(range)) yield decodeStoredAttestation(key, value);
}
