import { describe, expect, test } from 'vitest';
import type { AttestationMaker } from './attestation-maker.js';
import { answerProof, type ProofSource } from './proof-service.js';

/** A maker holding the trees of the attestations at `held` (the last is the latest); proofs are the maker's tests'. */
function sourceHolding(held: number[]): ProofSource {
  const maker = {
    latest: { sequence: held[held.length - 1]! },
    holds: (sequence: number) => held.includes(sequence),
    heldSequences: () => ({ oldest: held[0]!, latest: held[held.length - 1]! }),
    inclusionProof: () => undefined,
  } as unknown as AttestationMaker;
  return { maker, whenAttestationDurable: () => Promise.resolve(), attestationAt: () => Promise.resolve(undefined) };
}

describe('answerProof', () => {
  test('a node without attestations has no proofs, and says why', async () => {
    const source: ProofSource = {
      maker: undefined,
      whenAttestationDurable: () => Promise.resolve(),
      attestationAt: () => Promise.resolve(undefined),
    };
    expect(await answerProof(source, 'account')).toMatchObject({ found: false, reason: 'no-attestations' });
  });

  test('older than those held is too old, one never made is not attested; both name the range held', async () => {
    const source = sourceHolding([100, 200, 300]);
    const tooOld = await answerProof(source, 'account', 50);
    expect(tooOld).toMatchObject({ found: false, reason: 'too-old' });
    expect(tooOld.found === false && tooOld.message).toContain('from sequence 100 to 300');
    expect(await answerProof(source, 'account', 250)).toMatchObject({ found: false, reason: 'not-attested' });
    expect(await answerProof(source, 'account')).toMatchObject({ found: false, reason: 'unknown-account' });
  });
});
