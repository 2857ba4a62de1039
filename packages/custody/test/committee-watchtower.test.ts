/**
 * The committee's signatures from independent replayers (docs/custody.md,
 * "The committee's signatures"), on a real node and anvil: the root
 * committer holds no committee key; two watchtowers, each replaying the
 * node's published log itself, sign the roots their replays agree with, and
 * the vault accepts the commit on their two signatures (threshold 2 of 3). A
 * tampered root gets no signature, is never committed, and so never final.
 */
import { expect, it } from 'vitest';
import { vaultContract } from '../src/chain.js';
import { CustodyService } from '../src/custody-service.js';
import type { SignatureRequest } from '../src/committee.js';
import { Watchtower } from '../src/watchtower.js';
import { depositOnChain, deployScenario, operatorKey, useChainFixture, userKey } from './fixture.js';
import {
  custodyServiceOptions,
  openCustodyNode,
  publishedRecords,
  submitSigned,
  until,
  useDataDirectory,
} from './node-fixture.js';

const fixture = useChainFixture();
const directory = useDataDirectory('custody-committee-');

it('commits on two watchtowers’ signatures; a tampered root gets none and is never committed', async () => {
  const setup = await deployScenario(fixture, ['SOL', 'USDC'], { finalityDelaySeconds: 1 });
  let service: CustodyService | undefined;
  let tamper = false;
  const errors: unknown[] = [];
  const node = await openCustodyNode(directory.path, 'committee', () => service);
  try {
    const divergences: string[] = [];
    const asked: SignatureRequest[] = [];
    const watchtowers = [0, 1].map(
      (index) =>
        new Watchtower({
          records: () => publishedRecords(node),
          committeeKey: fixture.committeeKeys[index]!,
          vault: { chainId: BigInt(fixture.anvil.chainId), vault: setup.vault },
          onDivergence: (reason) => divergences.push(reason),
        }),
    );
    const options = custodyServiceOptions(fixture, node, setup, errors);
    service = new CustodyService({
      ...options,
      committeeKeys: undefined,
      committeeSigners: watchtowers.map((watchtower) => async (request) => {
        asked.push(request);
        return watchtower.signer(request);
      }),
    });
    const honest = service.attestationObserver;
    // The operator's own process lies about the root when `tamper` is set.
    const observe: typeof honest = (attestation, state, leafZero) =>
      honest(tamper ? { ...attestation, liabilitiesRoot: 'ee'.repeat(32) } : attestation, state, leafZero);
    const running = service;
    service = { attestationObserver: observe } as unknown as CustodyService;
    for (const symbol of ['SOL', 'USDC']) await submitSigned(node, operatorKey, 'assetList', { decimals: '6', symbol });
    await depositOnChain(fixture.alice, setup, 0, 1_000_000n, userKey(1).publicKey);
    const vault = vaultContract(fixture.operator, setup.vault);
    await until(async () => {
      await running.poll();
      return running.committed.length > 0 && running.credited.length > 0 && (await vault.read.depositCount()) === 1n;
    }, 'a commit signed by the watchtowers');
    expect(divergences).toEqual([]);
    // The digest is recomputed from the commit: a request naming another digest is refused.
    const other = { ...asked[0]!, digest: `0x${'11'.repeat(32)}` as const };
    expect(await watchtowers[0]!.signer(other)).toBeUndefined();
    expect(divergences.splice(0)).toEqual([
      expect.stringMatching(/^the digest 0x1{64} is not the digest of this commit/),
    ]);
    const honestCount = await vault.read.commitmentCount();

    tamper = true;
    await depositOnChain(fixture.bob, setup, 1, 2_000_000n, userKey(2).publicKey);
    await until(async () => {
      await running.poll().catch(() => undefined);
      return running.unsigned.length > 0;
    }, 'a tampered candidate');
    expect(divergences.length).toBeGreaterThanOrEqual(2);
    expect(divergences[0]).toMatch(/^the root for sequence \d+ is 0xee/);
    expect(watchtowers.every((watchtower) => watchtower.refusals.length > 0)).toBe(true);
    expect(await vault.read.commitmentCount()).toBe(honestCount);
    await fixture.time.increaseTime({ seconds: 5 });
    await fixture.time.mine({ blocks: 1 });
    await running.poll().catch(() => undefined);
    for (let number = 1n; number <= (await vault.read.commitmentCount()); number += 1n) {
      expect((await vault.read.commitments([number])).root).not.toBe(`0x${'ee'.repeat(32)}`);
    }
    expect(errors.map(String).join('\n')).toMatch(/the committee did not sign the root of sequence/);
  } finally {
    await node.close();
  }
});
