/**
 * Shared by the tests that run a real node with the custody service: waiting
 * for a condition, signing a request with an engine key, and replaying the
 * node's exports with the replayer's chain-check collector.
 */
import { PassThrough } from 'node:stream';
import { encodeSigningStringBytes, maximumWindowMs, signMessage } from '@vex/engine';
import type { ExchangeNode } from '@vex/ledger';
import { ChainCheckCollector, replayLog } from '@vex/replayer';
import { expect } from 'vitest';

export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Submits `instruction` signed by the key of `seed`; expects it accepted. */
export async function submitSigned(
  node: ExchangeNode,
  key: { readonly seed: Uint8Array; readonly publicKey: Uint8Array },
  instruction: string,
  params: Record<string, string>,
): Promise<void> {
  const groups = [{ instruction, params: Object.entries(params) }];
  const message = encodeSigningStringBytes(groups, Date.now(), maximumWindowMs);
  const submitted = await node.submit({ message, publicKey: key.publicKey, signature: signMessage(key.seed, message) });
  const outcome = submitted.outcome;
  expect(outcome.accepted ? 'accepted' : `${outcome.rejection.code}: ${outcome.rejection.message}`).toBe('accepted');
}

async function exported(write: (destination: PassThrough) => Promise<unknown>): Promise<Buffer> {
  const destination = new PassThrough();
  const chunks: Buffer[] = [];
  destination.on('data', (chunk: Buffer) => chunks.push(chunk));
  await write(destination);
  destination.end();
  return Buffer.concat(chunks);
}

/** Replays the node's exported log and attestations, collecting what the chain check needs. */
export async function replayWithCollector(node: ExchangeNode): Promise<ChainCheckCollector> {
  const log = await exported((destination) => node.exportLog(destination));
  const attestationLines = (await exported((destination) => node.exportAttestations(destination))).toString('utf8');
  const collector = new ChainCheckCollector();
  const report = await replayLog({
    log: new Uint8Array(log),
    attestations: attestationLines
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown),
    workers: 1,
    onEntryApplied: collector.onEntryApplied,
    onAttestationComputed: collector.onAttestationComputed,
  });
  expect(report.verified).toBe(true);
  return collector;
}
