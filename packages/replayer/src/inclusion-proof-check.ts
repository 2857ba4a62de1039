/**
 * Offline check of a user's inclusion proof (docs/attestation.md, "Inclusion
 * proofs") with the engine's verifyInclusionProof and the engine's signature
 * rule. The trusted operator keys come from the caller, from the genesis of a
 * log export, or both; with a log, the proof's attestation must also belong
 * to that log's genesis.
 */
import {
  LogExportReader,
  bytesToLowerHex,
  isCanonicalAccountId,
  shortAssets,
  verifyInclusionProof,
  verifySignature,
  type InclusionProofVerdict,
  type LogExportSource,
} from '@vex/engine';
import { ReplayInputError, errorMessage } from './replay-input-error.js';

export interface InclusionProofCheckOptions {
  /** The proof object, as from JSON.parse. */
  readonly proof: unknown;
  /** Trusted operator keys, standard base64 of 32-byte public keys. */
  readonly operatorKeys?: readonly string[];
  /** A log export whose genesis supplies operator keys and the genesis hash; only its header is read. */
  readonly log?: LogExportSource;
  readonly logDescription?: string;
}

export type InclusionProofCheck = InclusionProofVerdict & {
  /** The keys the attestation's signature was checked against. */
  readonly trustedOperatorKeys: readonly string[];
};

/** Verifies the proof; bad keys or an unreadable log throw ReplayInputError, a wrong proof is `{ ok: false, reason }`. */
export async function checkInclusionProof(options: InclusionProofCheckOptions): Promise<InclusionProofCheck> {
  const keys = [...(options.operatorKeys ?? [])];
  for (const key of keys) {
    if (!isCanonicalAccountId(key)) throw new ReplayInputError(`operator key ${JSON.stringify(key)} is not the canonical base64 of a 32-byte public key`);
  }
  let genesisHash: string | undefined;
  if (options.log !== undefined) {
    let reader: LogExportReader;
    try {
      reader = await LogExportReader.open(options.log);
    } catch (error) {
      throw new ReplayInputError(`${options.logDescription ?? 'the log export'}: ${errorMessage(error)}`);
    }
    genesisHash = bytesToLowerHex(reader.header.genesisHash);
    for (const key of reader.header.genesis.operatorKeys) if (!keys.includes(key)) keys.push(key);
  }
  if (keys.length === 0) throw new ReplayInputError('no trusted operator key: give operator keys or a log export whose genesis names them');
  const verdict = verifyInclusionProof(options.proof, keys, {
    verifySignature: (publicKey, message, signature) => verifySignature(publicKey, message, signature) === 'valid',
  });
  if (verdict.ok && genesisHash !== undefined && verdict.attestation.genesisHash !== genesisHash) {
    return {
      ok: false,
      reason: `The proof's attestation is for genesis ${verdict.attestation.genesisHash}, not for the log's genesis ${genesisHash}.`,
      trustedOperatorKeys: keys,
    };
  }
  return { ...verdict, trustedOperatorKeys: keys };
}

/** The assets short in the proof's attestation (claims − debts above reserves); empty for a failed check. */
export function shortAssetsOfProof(check: InclusionProofCheck): string[] {
  return check.ok ? shortAssets(check.attestation) : [];
}
