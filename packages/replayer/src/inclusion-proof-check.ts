/**
 * Offline check of a user's inclusion proof (docs/attestation.md, "Inclusion
 * proofs" and "What a proof stands on") with the engine's verifyInclusionProof
 * and the engine's signature rule, and then of what the proof stands on:
 *
 * - with a log export, the log is replayed (every signature, every
 *   transition) up to the proof's sequence and the attestation record after
 *   it; the proof's attestation must be the one the replay computes and the
 *   log's record binds, and its leaf (salt, index, balances, path) the
 *   replayed one;
 * - with the published attestations, the proof's attestation must be
 *   byte-identical to the one published for its sequence;
 * - with neither, only the operator's signature was checked, and the result
 *   says so (basis 'signature-only').
 *
 * Two different attestations for one sequence, both signed by operator keys
 * (or one contradicting the log's record), are operator equivocation: the
 * result carries both signed statements.
 */
import {
  LogExportReader,
  bytesToLowerHex,
  compareWithPublished,
  isCanonicalAccountId,
  shortAssets,
  verifyInclusionProof,
  verifySignature,
  type InclusionProofVerdict,
  type LogExportSource,
  type ProofBasis,
} from '@vex/engine';
import type { Divergence, Equivocation } from './divergence.js';
import { ReplayInputError, errorMessage } from './replay-input-error.js';
import { replayLog } from './replay-log.js';

export interface InclusionProofCheckOptions {
  /** The proof object, as from JSON.parse. */
  readonly proof: unknown;
  /** Trusted operator keys, standard base64 of 32-byte public keys. */
  readonly operatorKeys?: readonly string[];
  /**
   * A log export from entry 1, as bytes or as a function that opens it (it
   * is read twice: the header, then the replay): its genesis supplies
   * operator keys, and it is replayed up to the proof's sequence and the
   * attestation record after it.
   */
  readonly log?: Uint8Array | (() => Promise<OpenedLog>);
  readonly logDescription?: string;
  /** The published attestations (objects as from JSON.parse, as in the JSON Lines export), in increasing sequence order. */
  readonly attestations?: AsyncIterable<unknown> | Iterable<unknown>;
  readonly attestationsDescription?: string;
  /** Signature worker threads for the replay. */
  readonly workers?: number;
}

export type InclusionProofCheck = (
  | (Extract<InclusionProofVerdict, { ok: true }> & {
      /** What the proof was checked against: the replayed log, the published attestation, or only the operator's signature. */
      readonly basis: ProofBasis;
    })
  | {
      readonly ok: false;
      readonly reason: string;
      /** Set when the proof's attestation and another operator-signed statement for its sequence conflict. */
      readonly equivocation?: Equivocation;
      /** Set when a replay of the log found the problem. */
      readonly divergence?: Divergence;
    }
) & {
  /** The keys the attestation's signature was checked against. */
  readonly trustedOperatorKeys: readonly string[];
};

/** An opened log export: its bytes as chunks, and how to release it. */
export interface OpenedLog {
  readonly chunks: LogExportSource;
  close(): void;
}

function opener(log: Uint8Array | (() => Promise<OpenedLog>)): () => Promise<OpenedLog> {
  return log instanceof Uint8Array ? async () => ({ chunks: log, close: () => undefined }) : log;
}

async function collect(items: AsyncIterable<unknown> | Iterable<unknown>): Promise<unknown[]> {
  const all: unknown[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Verifies the proof and what it stands on; bad keys or unreadable inputs throw ReplayInputError, a wrong proof is `{ ok: false, reason }`. */
export async function checkInclusionProof(options: InclusionProofCheckOptions): Promise<InclusionProofCheck> {
  const { keys, genesisHash } = await trustedKeys(options);
  const verdict = verifyInclusionProof(options.proof, keys, {
    verifySignature: (publicKey, message, signature) => verifySignature(publicKey, message, signature) === 'valid',
  });
  if (!verdict.ok) return { ...verdict, trustedOperatorKeys: keys };
  if (genesisHash !== undefined && verdict.attestation.genesisHash !== genesisHash) {
    return {
      ok: false,
      reason: `The proof's attestation is for genesis ${verdict.attestation.genesisHash}, not for the log's genesis ${genesisHash}.`,
      trustedOperatorKeys: keys,
    };
  }
  if (options.log !== undefined) return checkAgainstLog(options, options.log, verdict, keys);
  if (options.attestations !== undefined) return checkAgainstPublished(options, options.attestations, verdict, keys);
  return { ...verdict, basis: 'signature-only', trustedOperatorKeys: keys };
}

type ProofVerdict = Extract<InclusionProofVerdict, { ok: true }>;

/** The keys to trust (given, and the log header's genesis operator keys) and the log's genesis hash. */
async function trustedKeys(
  options: InclusionProofCheckOptions,
): Promise<{ readonly keys: string[]; readonly genesisHash: string | undefined }> {
  const keys = [...(options.operatorKeys ?? [])];
  for (const key of keys) {
    if (!isCanonicalAccountId(key))
      throw new ReplayInputError(
        `operator key ${JSON.stringify(key)} is not the canonical base64 of a 32-byte public key`,
      );
  }
  let genesisHash: string | undefined;
  if (options.log !== undefined) {
    // The header first: its genesis names the keys to trust.
    const source = await opener(options.log)();
    let reader: LogExportReader;
    try {
      reader = await LogExportReader.open(source.chunks);
    } catch (error) {
      throw new ReplayInputError(`${options.logDescription ?? 'the log export'}: ${errorMessage(error)}`);
    } finally {
      source.close();
    }
    genesisHash = bytesToLowerHex(reader.header.genesisHash);
    for (const key of reader.header.genesis.operatorKeys) if (!keys.includes(key)) keys.push(key);
  }
  if (keys.length === 0)
    throw new ReplayInputError('no trusted operator key: give operator keys or a log export whose genesis names them');
  return { keys, genesisHash };
}

/**
 * Replays the log up to the proof's sequence and the record after it; the
 * proof's leaf (salt, index, claims and debts, path with its sums) must be
 * the replayed one.
 */
async function checkAgainstLog(
  options: InclusionProofCheckOptions,
  log: Uint8Array | (() => Promise<OpenedLog>),
  verdict: ProofVerdict,
  keys: readonly string[],
): Promise<InclusionProofCheck> {
  const sequence = verdict.attestation.sequence;
  const refuse = (reason: string) => ({ ok: false as const, reason, trustedOperatorKeys: keys });
  const source = await opener(log)();
  let report;
  try {
    report = await replayLog({
      log: source.chunks,
      logDescription: options.logDescription ?? 'the log export',
      ...(options.attestations === undefined ? {} : { attestations: options.attestations }),
      otherAttestations: [{ attestation: (options.proof as Record<string, unknown>).attestation, source: 'the proof' }],
      // The record that follows the attested entry binds it; replay up to it.
      stopAfterSequence: sequence + 1,
      captureProof: { sequence, account: verdict.account },
      ...(options.workers === undefined ? {} : { workers: options.workers }),
    });
  } finally {
    source.close();
  }
  if (!report.verified) {
    const { divergence } = report;
    return {
      ...refuse(
        divergence.check === 'equivocation'
          ? `Operator equivocation: ${divergence.message}.`
          : `The log does not bear the proof out: ${divergence.message}.`,
      ),
      ...(divergence.equivocation === undefined ? {} : { equivocation: divergence.equivocation }),
      divergence,
    };
  }
  if (report.headSequence < sequence)
    return refuse(`The log ends at entry ${report.headSequence}, before the proof's sequence ${sequence}.`);
  const replayed = report.capturedProof;
  if (replayed === undefined || replayed === null)
    return refuse(`The replay has no leaf for ${verdict.account} at sequence ${sequence}.`);
  const given = options.proof as Record<string, unknown>;
  const leaf = (proof: Record<string, unknown>): string =>
    JSON.stringify({ salt: proof.salt, leafIndex: proof.leafIndex, balances: proof.balances, path: proof.path });
  if (leaf(given) !== leaf(replayed as unknown as Record<string, unknown>))
    return refuse(`The proof's leaf or path is not the replayed one for ${verdict.account} at sequence ${sequence}.`);
  return { ...verdict, basis: 'log', trustedOperatorKeys: keys };
}

/** The proof's attestation must be byte-identical to the one published for its sequence. */
async function checkAgainstPublished(
  options: InclusionProofCheckOptions,
  attestations: AsyncIterable<unknown> | Iterable<unknown>,
  verdict: ProofVerdict,
  keys: readonly string[],
): Promise<InclusionProofCheck> {
  const sequence = verdict.attestation.sequence;
  const description = options.attestationsDescription ?? 'the published attestations';
  const published = await collect(attestations);
  let comparison;
  try {
    comparison = compareWithPublished(
      verdict.attestation,
      published,
      keys,
      (publicKey, message, signature) => verifySignature(publicKey, message, signature) === 'valid',
      description,
    );
  } catch (error) {
    throw new ReplayInputError(`${description}: ${errorMessage(error)}`);
  }
  switch (comparison.kind) {
    case 'identical':
      return { ...verdict, basis: 'published-attestation', trustedOperatorKeys: keys };
    case 'unpublished':
      return {
        ok: false,
        reason: `No attestation at the proof's sequence ${sequence} is among the published attestations.`,
        trustedOperatorKeys: keys,
      };
    case 'different':
      return {
        ok: false,
        reason: `The proof's attestation is not the published one: ${comparison.reason}.`,
        trustedOperatorKeys: keys,
      };
    case 'equivocation': {
      const { first, second } = comparison.equivocation;
      return {
        ok: false,
        reason: `Operator equivocation: ${first.source} and ${second.source} are two different attestations for sequence ${sequence}, both signed by operator keys.`,
        equivocation: {
          sequence,
          first: { kind: 'attestation', ...first },
          second: { kind: 'attestation', ...second },
        },
        trustedOperatorKeys: keys,
      };
    }
  }
}

/** The assets short in the proof's attestation (claims − debts above reserves); empty for a failed check. */
export function shortAssetsOfProof(check: InclusionProofCheck): string[] {
  return check.ok ? shortAssets(check.attestation) : [];
}
