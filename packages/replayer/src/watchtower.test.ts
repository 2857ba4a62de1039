/**
 * The watchtower's following and refusals without a chain (docs/replayer.md,
 * "Watching a node"): a real HTTP server publishes a test log a part at a
 * time as `GET /api/v1/log?from=N` pieces; the watchtower's one replay
 * applies each piece as it comes and catches up on what was published while
 * it waited; a request ahead of the log, a malformed one and any request
 * after a tampered entry are refused. (Signing with real roots on a vault:
 * packages/custody/test/watchtower-process.test.ts.)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  canonicalGenesisBytes,
  encodeExportFrame,
  encodeExportHeader,
  encodeExportTrailer,
  genesisHash,
} from '@vex/engine';
import { afterEach, expect, it } from 'vitest';
import { buildTestLog, type TestLog } from '../test/test-log.js';
import { FollowingWatchtower, serveWatchtower } from './watchtower.js';

const log: TestLog = buildTestLog(31, 60, 1000);
const key = `0x${'42'.repeat(32)}` as const;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Serves entries 1…published() of `encodings` as the node's log route does. */
async function publish(encodings: readonly Uint8Array[], published: () => number): Promise<string> {
  const server: Server = createServer((request, response) => {
    const from = Number(new URL(request.url ?? '/', 'http://localhost').searchParams.get('from') ?? '1');
    const head = published();
    const anchor = from === 1 ? genesisHash(log.genesis) : log.entryHashes[from - 2]!;
    const frames = encodings.slice(from - 1, head).map(encodeExportFrame);
    const lastHash = head >= from ? log.entryHashes[head - 1]! : anchor;
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(
      Buffer.concat([
        encodeExportHeader(canonicalGenesisBytes(log.genesis), from, anchor),
        ...frames,
        encodeExportTrailer(frames.length, lastHash),
      ]),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function request(sequence: number) {
  const zero = `0x${'00'.repeat(32)}` as const;
  return {
    digest: zero,
    root: zero,
    stateHash: zero,
    assetListHash: zero,
    sequence: BigInt(sequence),
    depositsCredited: 0n,
    forcedExitsServed: 0n,
    prices: [],
    payouts: [],
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 400 && !condition(); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

it('follows a log published in parts, catches up, and refuses what its replay does not attest', async () => {
  const total = log.encodings.length;
  let head = 20;
  const watchtower = new FollowingWatchtower({
    nodeUrl: await publish(log.encodings, () => head),
    committeeKey: key,
    pollMs: 60_000,
    signWaitMs: 3000,
  });
  watchtower.start();
  closers.push(() => watchtower.stop());
  await until(() => watchtower.appliedSequence === 20, 'the first part');
  head = total;
  // Nothing new until the next poll (a minute away): a request for a later sequence polls at once.
  const ahead = await watchtower.answer(request(total + 5));
  expect(ahead).toEqual({ refused: `the replay has not reached sequence ${total + 6} (at ${total})` });
  expect(watchtower.appliedSequence).toBe(total);
  expect(await watchtower.answer(request(total - 1))).toEqual({
    refused: `the replayed log has no attestation at sequence ${total - 1}`,
  });
  expect(watchtower.diverged).toBeUndefined();

  const { server, url } = await serveWatchtower(watchtower, '127.0.0.1', 0);
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  const malformed = await fetch(`${url}/sign`, {
    method: 'POST',
    body: JSON.stringify({ digest: '0x12', prices: [], payouts: [] }),
  });
  expect([malformed.status, await malformed.json()]).toEqual([400, { error: 'digest is missing or malformed' }]);
  const body = JSON.stringify({ ...request(3), sequence: '3', depositsCredited: '0', forcedExitsServed: '0' });
  const refused = await fetch(`${url}/sign`, { method: 'POST', body });
  expect(refused.status).toBe(409);
  expect(await (await fetch(`${url}/status`)).json()).toMatchObject({
    appliedSequence: total,
    followedSequence: total,
    diverged: null,
    signed: 0,
    refusals: 3,
  });
});

it('refuses everything once an entry does not verify', async () => {
  const tampered = log.encodings.map((encoding) => encoding.slice());
  // A byte inside the signature of entry 10: only the signature check can notice it.
  tampered[9]![81 + 10]! ^= 0x04;
  const watchtower = new FollowingWatchtower({
    nodeUrl: await publish(tampered, () => 30),
    committeeKey: key,
    pollMs: 50,
  });
  watchtower.start();
  closers.push(() => watchtower.stop());
  await until(() => watchtower.diverged !== undefined, 'the divergence');
  expect(watchtower.appliedSequence).toBe(9);
  const answer = await watchtower.answer(request(5));
  expect(answer).toEqual({
    refused: expect.stringMatching(/^the replay of the node's log does not verify: the signature of entry 10/),
  });
});
