/**
 * The committee's signatures (docs/custody.md, "The committee's
 * signatures"): the root committer asks each configured signer for a
 * signature over the commit digest and commits only with at least the
 * threshold. A signer is a function, so the keys need not be in the node's
 * process: a watchtower (watchtower.ts) replays the log itself and signs
 * only what its own replay produced; the demo's in-process keys are signers
 * too (keySigners).
 */
import { recoverAddress, type Address, type Hex } from 'viem';
import { sign } from 'viem/accounts';
import type { VaultPayout } from './payout-recovery.js';

/** What a committee member is asked to sign: the commit, the root the contract will recompute, and its digest. */
export interface SignatureRequest {
  readonly digest: Hex;
  readonly root: Hex;
  readonly sequence: bigint;
  readonly stateHash: Hex;
  readonly depositsCredited: bigint;
  readonly forcedExitsServed: bigint;
  readonly payouts: readonly VaultPayout[];
}

/** A committee member: its raw 65-byte signature of `request.digest`, or undefined when it refuses. */
export type CommitteeSigner = (request: SignatureRequest) => Promise<Hex | undefined>;

/** Signers holding the keys in this process (the local demo). */
export function keySigners(privateKeys: readonly Hex[]): CommitteeSigner[] {
  return privateKeys.map((privateKey) => (request) => sign({ hash: request.digest, privateKey, to: 'hex' }));
}

/**
 * Asks every signer, keeps the signatures that recover to a committee
 * member, and orders them by signer address as the contract counts them.
 * A signer that fails or refuses is left out.
 */
export async function collectSignatures(
  request: SignatureRequest,
  signers: readonly CommitteeSigner[],
  committee: readonly Address[],
): Promise<Hex[]> {
  const members = new Set(committee.map((address) => address.toLowerCase()));
  const answers = await Promise.all(signers.map((signer) => signer(request).catch(() => undefined)));
  const signed = new Map<bigint, Hex>();
  for (const signature of answers) {
    if (signature === undefined) continue;
    const signer = await recoverAddress({ hash: request.digest, signature }).catch(() => undefined);
    if (signer !== undefined && members.has(signer.toLowerCase())) signed.set(BigInt(signer), signature);
  }
  return [...signed.entries()].sort(([left], [right]) => (left < right ? -1 : 1)).map(([, signature]) => signature);
}
