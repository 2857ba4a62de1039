/**
 * The replayer's checks of signed statements against the replayed state: a
 * given attestation against the one the replay computes (every signed field,
 * identity first, then the state, then the signature), and a snapshot against
 * the log and the state (docs/replayer.md). Pure functions of their inputs;
 * replay-log.ts decides when each runs.
 */
import {
  bytesToLowerHex,
  sha256,
  stateHash,
  verifyAttestationSignature,
  verifySignature,
  type AttestationFields,
  type AttestationOfAnyVersion,
  type ExchangeState,
  type LogExportEntry as ExportEntry,
  type SnapshotRecord,
} from '@vex/engine';
import type { Divergence, DivergenceCheck } from './divergence.js';

export const engineSignatureRule = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verifySignature(publicKey, message, signature) === 'valid';

function sha256Hex(bytes: Uint8Array): string {
  return bytesToLowerHex(sha256(bytes));
}

/** The attestation the replay computes for an entry: its fields and digest. */
export interface ComputedAttestation {
  readonly sequence: number;
  readonly fields: AttestationFields;
  readonly digest: string;
  /**
   * The digest of the version-1 message of the same fields (without the stress shortfalls): what a ledger made
   * before version 2 recorded, accepted until the log's first version-2 record (docs/replayer.md).
   */
  readonly digestVersion1: string;
}

/** Whether `digest` is the computed attestation's: its version-2 digest, or its version-1 one while allowed. */
export function isComputedDigest(digest: string, computed: ComputedAttestation, version1Allowed: boolean): boolean {
  return digest === computed.digest || (version1Allowed && digest === computed.digestVersion1);
}

/** A signed attestation given to the replay, and where it came from. */
export interface GivenAttestation {
  readonly attestation: AttestationOfAnyVersion;
  readonly source: string;
  /** For the listed attestations: the place in the list. */
  readonly number?: number;
}

/**
 * Compares every signed field of a given attestation with the computed one, identity first, then the state, then the
 * signature.
 */
export function checkAttestation(
  given: GivenAttestation,
  computedAttestation: ComputedAttestation,
  trustedOperatorKeys: readonly string[],
): Divergence | undefined {
  const { attestation, source } = given;
  const fields = computedAttestation.fields;
  const divergence = (check: DivergenceCheck, expected: string, computed: string, message: string): Divergence => ({
    sequence: attestation.sequence,
    check,
    expected,
    computed,
    message,
    ...(given.number === undefined ? {} : { attestationNumber: given.number }),
  });
  const mismatch = (check: DivergenceCheck, what: string, expected: string, computed: string): Divergence =>
    divergence(
      check,
      expected,
      computed,
      `${source} (sequence ${attestation.sequence}) states ${what} ${expected}, but the replay computes ${computed}`,
    );

  if (attestation.genesisHash !== fields.genesisHash)
    return mismatch('genesis-hash', 'the genesis hash', attestation.genesisHash, fields.genesisHash);
  if (attestation.headHash !== fields.headHash)
    return mismatch('head-hash', 'the head hash', attestation.headHash, fields.headHash);
  if (attestation.logTimeMs !== fields.logTimeMs)
    return mismatch('log-time', 'the log time', String(attestation.logTimeMs), String(fields.logTimeMs));
  if (attestation.stateHash !== fields.stateHash)
    return mismatch('state-hash', 'the state hash', attestation.stateHash, fields.stateHash);
  if (attestation.liabilitiesRoot !== fields.liabilitiesRoot) {
    return mismatch('liabilities-root', 'the liabilities root', attestation.liabilitiesRoot, fields.liabilitiesRoot);
  }
  if (attestation.accountCount !== fields.accountCount) {
    return mismatch(
      'account-count',
      'the account count',
      String(attestation.accountCount),
      String(fields.accountCount),
    );
  }
  const assetMismatch = compareAssets(attestation, fields, mismatch);
  if (assetMismatch !== undefined) return assetMismatch;

  if (!trustedOperatorKeys.includes(attestation.operatorKey)) {
    return divergence(
      'attestation-signature',
      `a signature by ${attestation.operatorKey}`,
      'that key is not a genesis operator key',
      `${source} (sequence ${attestation.sequence}) is signed by ${attestation.operatorKey}, ` +
        'which is not an operator key of the genesis',
    );
  }
  if (!verifyAttestationSignature(attestation, trustedOperatorKeys, engineSignatureRule)) {
    return divergence(
      'attestation-signature',
      `a valid signature by ${attestation.operatorKey}`,
      'the signature does not verify',
      `the signature of ${source} (sequence ${attestation.sequence}) does not verify ` +
        `under the operator key ${attestation.operatorKey}`,
    );
  }
  return undefined;
}

/** The attested asset list and each asset's claims, debts, reserves and stress shortfall, in the computed order. */
function compareAssets(
  attestation: AttestationOfAnyVersion,
  fields: AttestationFields,
  mismatch: (check: DivergenceCheck, what: string, expected: string, computed: string) => Divergence,
): Divergence | undefined {
  const attestedSymbols = attestation.assets.map((asset) => asset.symbol).join(',');
  const listedSymbols = fields.assets.map((asset) => asset.symbol).join(',');
  if (attestedSymbols !== listedSymbols)
    return mismatch('asset-list', 'the assets', `[${attestedSymbols}]`, `[${listedSymbols}]`);
  for (let index = 0; index < fields.assets.length; index += 1) {
    const attested = attestation.assets[index]!;
    const computed = fields.assets[index]!;
    const symbol = computed.symbol;
    if (attested.claims !== computed.claims)
      return mismatch('claims', `${symbol} claims of`, attested.claims, computed.claims);
    if (attested.debts !== computed.debts)
      return mismatch('debts', `${symbol} debts of`, attested.debts, computed.debts);
    if (attested.reserves !== computed.reserves)
      return mismatch('reserves', `${symbol} reserves of`, attested.reserves, computed.reserves);
    // A version-1 attestation states no stress shortfall; its other fields are checked all the same.
    if ('stressShortfall' in attested && attested.stressShortfall !== computed.stressShortfall) {
      const what = `a ${symbol} stress shortfall (settlement units) of`;
      return mismatch('stress-shortfall', what, attested.stressShortfall, computed.stressShortfall);
    }
  }
  return undefined;
}

/**
 * A snapshot against the log and the replayed state: its entry hash, its encoding's hash, the replayed state's
 * hash.
 */
export function checkSnapshot(
  snapshot: SnapshotRecord,
  entry: ExportEntry,
  state: ExchangeState,
): Divergence | undefined {
  const sequence = snapshot.sequence;
  const recordedEntryHash = bytesToLowerHex(snapshot.entryHash);
  const entryHash = entry.entryHash;
  if (recordedEntryHash !== entryHash) {
    return {
      sequence,
      check: 'snapshot-entry-hash',
      expected: recordedEntryHash,
      computed: entryHash,
      message:
        `the snapshot says entry ${sequence} hashes to ${recordedEntryHash}, ` +
        `but in the log it hashes to ${entryHash}`,
    };
  }
  const recordedStateHash = bytesToLowerHex(snapshot.stateHash);
  const encodingHash = sha256Hex(snapshot.stateEncoding);
  if (encodingHash !== recordedStateHash) {
    return {
      sequence,
      check: 'snapshot-state-hash',
      expected: recordedStateHash,
      computed: encodingHash,
      message:
        `the snapshot's state encoding hashes to ${encodingHash}, ` +
        `not to the state hash ${recordedStateHash} it records`,
    };
  }
  const replayedStateHash = bytesToLowerHex(stateHash(state));
  if (recordedStateHash !== replayedStateHash) {
    return {
      sequence,
      check: 'snapshot-state-hash',
      expected: recordedStateHash,
      computed: replayedStateHash,
      message:
        `the snapshot's state hash after entry ${sequence} is ${recordedStateHash}, ` +
        `but the replayed state hashes to ${replayedStateHash}`,
    };
  }
  return undefined;
}
