/**
 * The watchtower as its own process (docs/custody.md, "The committee's
 * signatures"), on a real node and anvil: three `pnpm replay --watch`
 * processes follow the node's log over HTTP, entry by entry, each with its
 * own key file; the root committer holds no key and asks them over HTTP
 * (`committeeUrls`), threshold 2 of 3. A root is committed on their
 * signatures; a watchtower that was stopped (SIGSTOP) falls behind, catches
 * up once continued and signs again; a tampered root gets no signature.
 *
 * The node's log is served by a minimal HTTP server over the node's own
 * `exportLog` (exactly what the API's `GET /api/v1/log?from=N` streams): the
 * API package depends on this one, so its server cannot be used here.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ExchangeNode } from '@vex/ledger';
import { afterAll, expect, it } from 'vitest';
import { vaultContract } from '../src/chain.js';
import { CustodyService } from '../src/custody-service.js';
import { depositOnChain, deployScenario, operatorKey, useChainFixture, userKey } from './fixture.js';
import { custodyServiceOptions, openCustodyNode, submitSigned, until, useDataDirectory } from './node-fixture.js';
import { killWatchtowers, startWatchtower, type WatchtowerProcess } from './watchtower-child.js';

const fixture = useChainFixture();
const directory = useDataDirectory('custody-watchtower-process-');

afterAll(killWatchtowers);

/** Serves GET /api/v1/log?from=N from the node, as the API does. */
async function serveLog(node: ExchangeNode): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const from = Number(new URL(request.url ?? '/', 'http://localhost').searchParams.get('from') ?? '1');
    const stream = new PassThrough();
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    stream.pipe(response);
    node.exportLog(stream, from).then(
      () => stream.end(),
      (error: unknown) => stream.destroy(error as Error),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function status(
  watchtower: WatchtowerProcess,
): Promise<{ appliedSequence: number; signed: number; refusals: number }> {
  return (await (await fetch(`${watchtower.url}/status`)).json()) as never;
}

it('three watchtower processes sign 2 of 3; one that falls behind catches up; a tampered root gets none', async () => {
  const setup = await deployScenario(fixture, ['SOL', 'USDC'], { finalityDelaySeconds: 1 });
  let service: CustodyService | undefined;
  let tamper = false;
  const errors: unknown[] = [];
  const node = await openCustodyNode(directory.path, 'watchtower-process', () => service);
  const logServer = await serveLog(node);
  try {
    const watchtowers: WatchtowerProcess[] = [];
    for (const [index, key] of fixture.committeeKeys.entries()) {
      const keyFile = join(directory.path, `committee-${index}.key`);
      await writeFile(keyFile, `${key}\n`);
      watchtowers.push(
        await startWatchtower({ nodeUrl: logServer.url, vault: setup.vault, rpcUrl: fixture.anvil.rpcUrl, keyFile }),
      );
    }
    const running = new CustodyService({
      ...custodyServiceOptions(fixture, node, setup, errors),
      committeeKeys: undefined,
      committeeUrls: watchtowers.map((watchtower) => watchtower.url),
      committeeTimeoutMs: 3000,
    });
    const honest = running.attestationObserver;
    service = {
      attestationObserver: (attestation, state, leafZero) =>
        honest(tamper ? { ...attestation, liabilitiesRoot: 'ee'.repeat(32) } : attestation, state, leafZero),
    } as CustodyService;
    for (const symbol of ['SOL', 'USDC']) await submitSigned(node, operatorKey, 'assetList', { decimals: '6', symbol });
    const vault = vaultContract(fixture.operator, setup.vault);
    await depositOnChain(fixture.alice, setup, 0, 1_000_000n, userKey(1).publicKey);
    const commitsAfter = async (count: bigint, what: string) =>
      until(async () => {
        await running.poll().catch(() => undefined);
        return (await vault.read.commitmentCount()) > count && running.credited.length > 0;
      }, what);
    await commitsAfter(0n, 'a commit signed by the watchtower processes');
    expect((await Promise.all(watchtowers.map(status))).filter((item) => item.signed > 0).length).toBeGreaterThan(1);

    // The second watchtower stops (falls behind) while the others sign on; then the third stops and it continues.
    watchtowers[1]!.child.kill('SIGSTOP');
    await depositOnChain(fixture.bob, setup, 1, 2_000_000n, userKey(2).publicKey);
    await commitsAfter(await vault.read.commitmentCount(), 'a commit signed by watchtowers 0 and 2');
    const behind = (await status(watchtowers[0]!)).appliedSequence;
    watchtowers[2]!.child.kill('SIGSTOP');
    watchtowers[1]!.child.kill('SIGCONT');
    await depositOnChain(fixture.alice, setup, 0, 3_000_000n, userKey(1).publicKey);
    const before = await vault.read.commitmentCount();
    await commitsAfter(before, 'a commit signed by watchtower 0 and the one that caught up');
    const caughtUp = await status(watchtowers[1]!);
    expect(caughtUp.appliedSequence).toBeGreaterThan(behind);
    expect(caughtUp.signed).toBeGreaterThan(0);
    watchtowers[2]!.child.kill('SIGCONT');

    tamper = true;
    const honestCount = await vault.read.commitmentCount();
    await depositOnChain(fixture.bob, setup, 1, 4_000_000n, userKey(2).publicKey);
    await until(async () => {
      await running.poll().catch(() => undefined);
      return running.unsigned.length > 0;
    }, 'a tampered candidate');
    expect(await vault.read.commitmentCount()).toBe(honestCount);
    const refused = await Promise.all(watchtowers.map(status));
    expect(refused.every((item) => item.refusals > 0)).toBe(true);
    expect(watchtowers[0]!.output()).toMatch(/refused: the root for sequence \d+ is 0xee/);
    for (let number = 1n; number <= (await vault.read.commitmentCount()); number += 1n) {
      expect((await vault.read.commitments([number])).root).not.toBe(`0x${'ee'.repeat(32)}`);
    }

    // Stopped by SIGTERM, each reports where it stopped.
    for (const watchtower of watchtowers) {
      const exited = new Promise((resolve) => watchtower.child.once('exit', resolve));
      watchtower.child.kill('SIGTERM');
      await exited;
      expect(watchtower.output()).toMatch(/stopped at sequence \d+, \d+ signed/);
    }
  } finally {
    logServer.server.close();
    logServer.server.closeAllConnections();
    await node.close();
  }
}, 180_000);
