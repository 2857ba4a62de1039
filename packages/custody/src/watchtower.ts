/**
 * A watchtower: an independent replayer that holds one committee key
 * (docs/custody.md, "The committee's signatures"). Asked to sign a commit,
 * it replays the node's published log and attestations itself (with the
 * replayer, which checks every entry's signature and every attestation) and
 * signs the digest only if its own replay attests the same root and state
 * hash at that sequence, counts the same vault deposits credited, counts
 * only forced exits the log served by then (the chain check's rule), and every
 * payout is a withdrawal the log completed for the vault with that
 * recipient, asset and amount. Otherwise it refuses and reports why.
 */
import { ChainCheckCollector, forcedExitServedBy, replayLog } from '@vex/replayer';
import type { Hex } from 'viem';
import { sign } from 'viem/accounts';
import type { CommitteeSigner, SignatureRequest } from './committee.js';

/** The node's published log export and attestations (from its export routes, or a node in process). */
export type PublishedRecords = () => Promise<{ readonly log: Uint8Array; readonly attestations: readonly unknown[] }>;

export interface WatchtowerOptions {
  readonly records: PublishedRecords;
  readonly committeeKey: Hex;
  /** Called with the reason whenever the watchtower refuses to sign. */
  readonly onDivergence?: (reason: string) => void;
}

/** Why the replay does not support `request`, or undefined when it does. */
export function divergence(collector: ChainCheckCollector, request: SignatureRequest): string | undefined {
  const sequence = Number(request.sequence);
  const attested = collector.attestations.get(sequence);
  if (attested === undefined) return `the replayed log has no attestation at sequence ${sequence}`;
  if (request.root !== `0x${attested.root}`) {
    return `the root for sequence ${sequence} is ${request.root}, the replay attests 0x${attested.root}`;
  }
  if (request.stateHash !== `0x${attested.stateHash}`) return `the state hash for sequence ${sequence} differs`;
  if (request.depositsCredited !== attested.depositsCredited) {
    return `the commit counts ${request.depositsCredited} deposits credited, the replay ${attested.depositsCredited}`;
  }
  for (let number = 1n; number <= request.forcedExitsServed; number += 1n) {
    if (!forcedExitServedBy(collector.forcedExitAnswers, collector.completedAt, number, sequence)) {
      return `the commit counts forced exit ${number} served, which the log has not served by sequence ${sequence}`;
    }
  }
  for (const payout of request.payouts) {
    const completed = collector.completions.get(payout.withdrawalId);
    if (
      completed === undefined ||
      completed.sequence > sequence ||
      completed.address !== payout.recipient.toLowerCase() ||
      completed.asset !== collector.assetSymbols[payout.asset] ||
      completed.units !== payout.amount
    ) {
      return `payout of withdrawal ${payout.withdrawalId} is not a vault withdrawal the log completed by then`;
    }
  }
  return undefined;
}

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
    const reason = verified ? divergence(collector, request) : 'the published log or attestations do not verify';
    if (reason !== undefined) {
      this.refusals.push(reason);
      this.options.onDivergence?.(reason);
      return undefined;
    }
    return sign({ hash: request.digest, privateKey: this.options.committeeKey, to: 'hex' });
  };
}
