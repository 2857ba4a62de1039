/**
 * The committee's signatures (docs/custody.md, "The committee's
 * signatures"): the root committer asks each configured signer for a
 * signature over the commit digest and commits only with at least the
 * threshold. A signer is a function, so the keys need not be in the node's
 * process: a watchtower (watchtower.ts) replays the log itself and signs
 * only what its own replay produced; the demo's in-process keys are signers
 * too (keySigners).
 */
import { signatureRequestToJson, type SignatureRequest } from '@vex/replayer';
import { recoverAddress, type Address, type Hex } from 'viem';
import { sign } from 'viem/accounts';

/** What a committee member is asked to sign (packages/replayer, commit-check.ts). */
export type { SignatureRequest };

/** A committee member: its raw 65-byte signature of `request.digest`, or undefined when it refuses. */
export type CommitteeSigner = (request: SignatureRequest) => Promise<Hex | undefined>;

/** Signers holding the keys in this process (the local demo). */
export function keySigners(privateKeys: readonly Hex[]): CommitteeSigner[] {
  return privateKeys.map((privateKey) => (request) => sign({ hash: request.digest, privateKey, to: 'hex' }));
}

/**
 * A watchtower process (`pnpm replay --watch`) reached over HTTP at its base
 * URL: POST <url>/sign with the request as JSON; a 200 answer's signature,
 * anything else (a refusal, an error, no answer within `timeoutMs`) none.
 */
export function httpSigner(url: string, timeoutMs = 30_000): CommitteeSigner {
  const endpoint = `${url.replace(/\/+$/, '')}/sign`;
  return async (request) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(signatureRequestToJson(request)),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await response.json().catch(() => ({}))) as { signature?: unknown };
    if (response.status !== 200 || typeof body.signature !== 'string') return undefined;
    return /^0x[0-9a-fA-F]{130}$/.test(body.signature) ? (body.signature as Hex) : undefined;
  };
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
