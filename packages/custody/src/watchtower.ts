/**
 * A watchtower: an independent replayer that holds one committee key
 * (docs/custody.md, "The committee's signatures"). Asked to sign a commit,
 * it replays the node's published log and attestations itself (with the
 * replayer, which checks every entry's signature and every attestation) and
 * signs the digest only if its own replay attests the same root and state
 * hash at that sequence, names the index prices of its replayed state at
 * that sequence (committedPrices), counts the same vault deposits credited, counts
 * only forced exits the log served by then (the chain check's rule), and every
 * payout is a withdrawal the log completed for the vault with that
 * recipient, asset and amount. Otherwise it refuses and reports why.
 */
import { ChainCheckCollector, commitDivergence, replayLog, signingRefusal, type VaultIdentity } from '@vex/replayer';
import type { Hex } from 'viem';
import { sign } from 'viem/accounts';
import type { CommitteeSigner } from './committee.js';

/**
 * The node's published log export and attestations (from its export routes, or a node in process).
 * Read the attestations first and the log second: the node keeps appending, and an attestation made
 * between the two reads would otherwise name a sequence beyond the exported log, which the replay
 * rightly refuses ("beyond the end of the log"), so the watchtower would refuse to sign.
 */
export type PublishedRecords = () => Promise<{ readonly log: Uint8Array; readonly attestations: readonly unknown[] }>;

export interface WatchtowerOptions {
  readonly records: PublishedRecords;
  readonly committeeKey: Hex;
  /** The vault signed for: with it, the digest is recomputed from the commit and must be the one asked for. */
  readonly vault?: VaultIdentity;
  /** Called with the reason whenever the watchtower refuses to sign. */
  readonly onDivergence?: (reason: string) => void;
}

/** Why the replay does not support `request`, or undefined when it does (packages/replayer, commit-check.ts). */
export const divergence = commitDivergence;

/** Replays published records, collecting what the chain check and the watchtower compare. */
export async function replayPublished(
  records: Awaited<ReturnType<PublishedRecords>>,
): Promise<{ readonly verified: boolean; readonly collector: ChainCheckCollector }> {
  const collector = new ChainCheckCollector();
  const report = await replayLog({
    log: records.log,
    attestations: records.attestations,
    workers: 1,
    onEntryApplied: collector.onEntryApplied,
    onAttestationComputed: collector.onAttestationComputed,
  });
  return { verified: report.verified, collector };
}

export class Watchtower {
  /** Refusals, in order (for tests and the operator's logs). */
  readonly refusals: string[] = [];

  constructor(private readonly options: WatchtowerOptions) {}

  /** Replays the published records; signs `request` only when the replay agrees. */
  readonly signer: CommitteeSigner = async (request) => {
    const { verified, collector } = await replayPublished(await this.options.records());
    const reason = verified
      ? signingRefusal(collector, request, this.options.vault)
      : 'the published log or attestations do not verify';
    if (reason !== undefined) {
      this.refusals.push(reason);
      this.options.onDivergence?.(reason);
      return undefined;
    }
    return sign({ hash: request.digest, privateKey: this.options.committeeKey, to: 'hex' });
  };
}
