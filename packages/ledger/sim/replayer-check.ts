/**
 * Hands the node's exported log and attestations to the offline verifier
 * (@vex/replayer), which shares nothing with the node but the engine, and
 * requires it to accept both and to end at the node's head and state.
 */
import { Writable } from 'node:stream';
import { stateHashHex } from '@vex/engine';
import { replayLog, type SignatureVerifierPool } from '@vex/replayer';
import type { ExchangeNode } from '../src/exchange-node.js';
import { AuditFailure } from './log-auditor.js';

/** Collects whatever is written to it; never asks the writer to wait. */
class ByteCollector extends Writable {
  private readonly chunks: Buffer[] = [];

  constructor() {
    super({ highWaterMark: 1 << 30 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    callback();
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export interface ReplayerVerdict {
  readonly entries: number;
  readonly attestations: number;
  readonly flaggedAttestations: number;
  /** Attestations stating a non-zero stress figure for some asset (docs/attestation.md, "Stress figure"). */
  readonly stressedAttestations: number;
  /** The largest stress shortfall any attestation states, in settlement-asset units. */
  readonly largestStressShortfall: bigint;
}

/** The stress shortfalls an exported attestation states, per asset (the replayer recomputed and checked them). */
function stressShortfalls(attestation: unknown): bigint[] {
  const assets = (attestation as { assets?: unknown }).assets;
  if (!Array.isArray(assets)) return [];
  return assets.map((asset) => BigInt((asset as { stressShortfall?: string }).stressShortfall ?? '0'));
}

export async function checkWithReplayer(node: ExchangeNode, pool: SignatureVerifierPool): Promise<ReplayerVerdict> {
  const log = new ByteCollector();
  await node.exportLog(log);
  const attestationLines = new ByteCollector();
  await node.exportAttestations(attestationLines);
  const attestations = attestationLines
    .bytes()
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
  const report = await replayLog({
    log: new Uint8Array(log.bytes()),
    attestations,
    pool,
    logDescription: 'the simulated node export',
  });
  if (!report.verified) {
    const divergence = report.divergence;
    throw new AuditFailure(
      'replayer-accepts-log-and-attestations',
      `the replayer refuses the export at sequence ${divergence.sequence} (${divergence.check}): ${divergence.message}`,
    );
  }
  const head = node.head();
  if (report.headSequence !== head.sequence || report.headHash !== head.entryHash) {
    throw new AuditFailure(
      'replayer-accepts-log-and-attestations',
      `the replayer ends at entry ${report.headSequence} (${report.headHash}), the node's head is ${head.sequence} (${head.entryHash})`,
    );
  }
  if (report.stateHash !== stateHashHex(node.state)) {
    throw new AuditFailure(
      'replayer-accepts-log-and-attestations',
      `the replayer's state hash ${report.stateHash} is not the node's ${stateHashHex(node.state)}`,
    );
  }
  if (report.attestationsChecked !== attestations.length) {
    throw new AuditFailure(
      'replayer-accepts-log-and-attestations',
      `the replayer checked ${report.attestationsChecked} of ${attestations.length} exported attestations`,
    );
  }
  const shortfalls = attestations.map(stressShortfalls);
  return {
    entries: report.entriesApplied,
    attestations: attestations.length,
    flaggedAttestations: report.flaggedAttestations.length,
    stressedAttestations: shortfalls.filter((figures) => figures.some((figure) => figure > 0n)).length,
    largestStressShortfall: shortfalls.flat().reduce((largest, figure) => (figure > largest ? figure : largest), 0n),
  };
}
