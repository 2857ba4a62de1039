/**
 * Attestation records (docs/attestation.md, "Attestation records"): the
 * operator entry that binds an attestation into the log, right after the
 * entry it attests. The engine applies it (apply.ts, recordAttestation); this
 * module builds and recognises its signed message.
 */
import type { SignedTransaction } from './apply.js';
import { attestationDigestHex, type AttestationFields, type AttestationVersion1 } from './attestation.js';
import { defaultWindowMs } from './limits.js';
import { publicKeyFromSeed, signMessage } from './signature.js';
import { encodeSigningStringBytes } from './signing-string.js';

const recordPrefix = new TextEncoder().encode('instruction=attestationRecord&');

/**
 * Whether a signed message is an attestation record's (its first group is
 * attestationRecord, and a record is never batched). A cheap byte test, so
 * a verifier can recompute the attestation of the entry before the record
 * ahead of applying it.
 */
export function isAttestationRecordMessage(message: Uint8Array): boolean {
  if (message.length < recordPrefix.length) return false;
  for (let index = 0; index < recordPrefix.length; index += 1) if (message[index] !== recordPrefix[index]) return false;
  return true;
}

/** The signing string of the record of `attestation`: `instruction=attestationRecord&digest=…&sequence=…&timestamp=…&window=…`. */
export function attestationRecordMessage(
  attestation: AttestationFields | AttestationVersion1,
  timestampMs: number,
  windowMs: number = defaultWindowMs,
): Uint8Array {
  return encodeSigningStringBytes(
    [
      {
        instruction: 'attestationRecord',
        params: [
          ['digest', attestationDigestHex(attestation)],
          ['sequence', String(attestation.sequence)],
        ],
      },
    ],
    timestampMs,
    windowMs,
  );
}

/** The record of `attestation`, signed with the operator's seed, timestamped with the log time it will be sequenced at. */
export function signAttestationRecord(
  attestation: AttestationFields | AttestationVersion1,
  logTimeMs: number,
  operatorSeed: Uint8Array,
): SignedTransaction {
  const message = attestationRecordMessage(attestation, logTimeMs);
  return { message, publicKey: publicKeyFromSeed(operatorSeed), signature: signMessage(operatorSeed, message) };
}
