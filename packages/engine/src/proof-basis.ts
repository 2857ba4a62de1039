/**
 * What an inclusion proof stands on (docs/attestation.md, "What a proof
 * stands on"). A proof verified under the operator's signature alone shows
 * only that the operator signed that tree; an operator could sign a second,
 * fake tree for the same sequence and hand it to one user. A proof counts
 * when its attestation is the one the operator published for that sequence
 * (byte-identical), and fully when it is the one a replay of the log computes
 * and the log's attestation record binds. This module is the browser-safe
 * part: comparing a proof's attestation with a published one, and naming two
 * conflicting signed attestations as operator equivocation. The replay part
 * is the replayer's (@vex/replayer checkInclusionProof).
 *
 * Browser-safe: imports only attestation.ts and inclusion-proof.ts.
 */
import {
  attestationDigestHex,
  attestationMessage,
  bytesToLowerHex,
  encodeAttestationJson,
  parseAttestation,
  verifyAttestationSignature,
  verifyWithNobleStrict,
  type Attestation,
  type AttestationOfAnyVersion,
  type SignatureCheck,
} from './attestation.js';
import {
  verifyInclusionProof,
  type InclusionProofVerdict,
  type VerifyInclusionProofOptions,
} from './inclusion-proof.js';

/** One signed attestation, as evidence anyone can check: its canonical JSON, the signed message and its digest. */
export interface SignedAttestationEvidence {
  /** Where it came from ("the proof", "the published attestations", "attestations file 2, line 7"). */
  readonly source: string;
  /** The canonical JSON (docs/attestation.md): holds the operator key and the signature. */
  readonly attestationJson: string;
  /** Lower-case hex of the signed message bytes. */
  readonly messageHex: string;
  /** SHA-256 of the message, lower-case hex: the attestation digest. */
  readonly digest: string;
}

/**
 * Operator equivocation: two statements for one sequence, each signed by a
 * genesis operator key, that cannot both be true. Publishing both proves the
 * operator's misbehaviour to anyone holding the genesis.
 */
export interface AttestationEquivocation {
  readonly sequence: number;
  readonly first: SignedAttestationEvidence;
  readonly second: SignedAttestationEvidence;
}

export function attestationEvidence(attestation: AttestationOfAnyVersion, source: string): SignedAttestationEvidence {
  return {
    source,
    attestationJson: encodeAttestationJson(attestation),
    messageHex: bytesToLowerHex(attestationMessage(attestation)),
    digest: attestationDigestHex(attestation),
  };
}

export type PublishedComparison =
  /** Byte-identical (the same canonical JSON: message, key and signature). */
  | { readonly kind: 'identical' }
  /** Nothing published at that sequence among those given. */
  | { readonly kind: 'unpublished' }
  /** Both validly signed by operator keys and their messages differ. */
  | { readonly kind: 'equivocation'; readonly equivocation: AttestationEquivocation }
  /** Different, but not two valid operator signatures (a forgery, or one message signed by two keys). */
  | { readonly kind: 'different'; readonly reason: string };

/**
 * Compares a proof's (already verified) attestation with the published
 * attestations (objects as from JSON.parse; any order; others than the
 * proof's sequence are ignored). Throws AttestationFormatError for a
 * malformed published attestation at that sequence.
 */
export function compareWithPublished(
  attestation: Attestation,
  published: Iterable<unknown>,
  trustedOperatorKeys: readonly string[],
  verifySignature: SignatureCheck = verifyWithNobleStrict,
  publishedSource = 'the published attestations',
): PublishedComparison {
  const own = encodeAttestationJson(attestation);
  let found: Attestation | undefined;
  for (const item of published) {
    if (typeof item !== 'object' || item === null || (item as { sequence?: unknown }).sequence !== attestation.sequence)
      continue;
    const candidate = parseAttestation(item);
    if (encodeAttestationJson(candidate) === own) return { kind: 'identical' };
    found ??= candidate;
  }
  if (found === undefined) return { kind: 'unpublished' };
  const differentMessage = attestationDigestHex(found) !== attestationDigestHex(attestation);
  if (
    differentMessage &&
    verifyAttestationSignature(found, trustedOperatorKeys, verifySignature) &&
    verifyAttestationSignature(attestation, trustedOperatorKeys, verifySignature)
  ) {
    return {
      kind: 'equivocation',
      equivocation: {
        sequence: attestation.sequence,
        first: attestationEvidence(found, publishedSource),
        second: attestationEvidence(attestation, 'the proof'),
      },
    };
  }
  return {
    kind: 'different',
    reason: differentMessage
      ? `the published attestation at sequence ${attestation.sequence} signs a different message, and the two are not both validly signed by operator keys`
      : `the published attestation at sequence ${attestation.sequence} signs the same message under another key or signature`,
  };
}

/** What a proof check stood on: the log replayed, the published attestation, or only the operator's signature. */
export type ProofBasis = 'log' | 'published-attestation' | 'signature-only';

export type PublishedProofCheck =
  | (Extract<InclusionProofVerdict, { ok: true }> & { readonly basis: ProofBasis })
  | { readonly ok: false; readonly reason: string; readonly equivocation?: AttestationEquivocation };

/**
 * verifyInclusionProof, then the proof's attestation against the published
 * ones when given: it must be byte-identical to the one published for its
 * sequence. Without `published` the result's basis is 'signature-only': the
 * proof shows only that the operator signed this tree, not that it is the
 * tree everyone else was shown.
 */
export function verifyProofAgainstPublished(
  proof: unknown,
  trustedOperatorKeys: readonly string[],
  published: Iterable<unknown> | undefined,
  options: VerifyInclusionProofOptions = {},
): PublishedProofCheck {
  const verdict = verifyInclusionProof(proof, trustedOperatorKeys, options);
  if (!verdict.ok) return verdict;
  if (published === undefined) return { ...verdict, basis: 'signature-only' };
  let comparison: PublishedComparison;
  try {
    comparison = compareWithPublished(verdict.attestation, published, trustedOperatorKeys, options.verifySignature);
  } catch (error) {
    return {
      ok: false,
      reason: `The published attestation is malformed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  switch (comparison.kind) {
    case 'identical':
      return { ...verdict, basis: 'published-attestation' };
    case 'unpublished':
      return {
        ok: false,
        reason: `No attestation is published at the proof's sequence ${verdict.attestation.sequence}.`,
      };
    case 'equivocation':
      return {
        ok: false,
        reason: `Operator equivocation: the proof's attestation and the published one are two different messages for sequence ${verdict.attestation.sequence}, both signed by operator keys.`,
        equivocation: comparison.equivocation,
      };
    case 'different':
      return { ok: false, reason: `The proof's attestation is not the published one: ${comparison.reason}.` };
  }
}
