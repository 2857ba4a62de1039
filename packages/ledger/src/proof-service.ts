/**
 * Inclusion proofs (docs/attestation.md, "Inclusion proofs"): the proof of
 * an account's leaf under the latest attestation or a recent older one, or
 * why there is none.
 *
 * The node keeps one liabilities tree, at the latest attestation, with undo
 * logs reaching back over the recent older attestations within
 * proofHistoryBytes (and no further than the last newly listed asset, or the
 * node's start): an older one is answered `too-old`, naming the sequences
 * held. The answer waits, when the attestation's batch is still being
 * written, until it is durable.
 */
import type { Attestation } from '@vex/engine';
import type { AttestationMaker } from './attestation-maker.js';
import type { ProofAnswer } from './node-types.js';

/** What answering a proof needs of the node. */
export interface ProofSource {
  /** Undefined when the node makes no attestations. */
  readonly maker: AttestationMaker | undefined;
  /** Resolves once the attestation at `sequence` is durable; rejects if the node halts first. */
  whenAttestationDurable(sequence: number): Promise<void>;
  /** The durable attestation that follows entry `sequence`, if one was made there. */
  attestationAt(sequence: number): Promise<Attestation | undefined>;
}

export async function answerProof(source: ProofSource, accountId: string, sequence?: number): Promise<ProofAnswer> {
  const maker = source.maker;
  if (maker === undefined) {
    return {
      found: false,
      reason: 'no-attestations',
      message: 'This node makes no attestations (it has no operator key to sign them), so it has no proofs.',
    };
  }
  const latest = maker.latest;
  if (latest === undefined)
    return { found: false, reason: 'no-attestations', message: 'There is no attestation yet: the log is empty.' };
  if (sequence === undefined || sequence === latest.sequence) {
    const proof = maker.inclusionProof(accountId);
    if (proof === undefined) return unknownAccount(accountId, latest.sequence);
    await source.whenAttestationDurable(latest.sequence);
    return { found: true, proof };
  }
  const refused = refusal(maker, sequence, latest.sequence);
  if (refused !== undefined) return refused;
  await source.whenAttestationDurable(sequence);
  const attestation = await source.attestationAt(sequence);
  // The tree may have moved on (and dropped it) while the attestation was read.
  const dropped = refusal(maker, sequence, latest.sequence);
  if (dropped !== undefined) return dropped;
  if (attestation === undefined)
    throw new Error(`ledger: the attestation at sequence ${sequence} is held in the tree but not stored`);
  const proof = maker.inclusionProofAt(attestation, accountId);
  return proof === undefined ? unknownAccount(accountId, sequence) : { found: true, proof };
}

function unknownAccount(accountId: string, at: number): ProofAnswer {
  return {
    found: false,
    reason: 'unknown-account',
    message:
      `Account ${accountId.slice(0, 44)} has no leaf in the attestation at sequence ${at}: ` +
      'no deposit had been credited to it by then.',
  };
}

/** Why the tree cannot prove under the attestation at `sequence`, or undefined when it holds it. */
function refusal(maker: AttestationMaker, sequence: number, latestSequence: number): ProofAnswer | undefined {
  if (maker.holds(sequence)) return undefined;
  const held = maker.heldSequences();
  const range =
    held === undefined || held.oldest === held.latest
      ? `proofs are served under the latest attestation (sequence ${held?.latest ?? latestSequence}) only`
      : `proofs are served under the attestations from sequence ${held.oldest} to ${held.latest}`;
  if (Number.isSafeInteger(sequence) && sequence >= 1 && sequence < (held?.oldest ?? latestSequence)) {
    return {
      found: false,
      reason: 'too-old',
      message:
        `The attestation at sequence ${sequence} is too old for a proof: ${range}. The node keeps the recent ` +
        "attestations' liabilities trees within a memory budget; older trees can be rebuilt from the exported log.",
    };
  }
  return {
    found: false,
    reason: 'not-attested',
    message: `There is no attestation at sequence ${sequence}; ${range}.`,
  };
}
