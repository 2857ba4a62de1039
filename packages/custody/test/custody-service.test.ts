/**
 * The node's chain watcher and root committer against a real node (LevelDB)
 * and a real anvil: each vault deposit is credited once, also by a second
 * service after a restart, and the committed root is the node's attested
 * root; the commit becomes final after the delay.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSigningStringBytes, maximumWindowMs, signMessage, type Attestation } from '@vex/engine';
import { ExchangeNode } from '@vex/ledger';
import { checkChain } from '@vex/replayer';
import { toHex } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { confirmed, vaultContract } from '../src/chain.js';
import { CustodyService } from '../src/custody-service.js';
import {
  commitAs,
  depositOnChain,
  deployScenario,
  operatorKey,
  startChainFixture,
  tokenBalance,
  userKey,
  type ChainFixture,
  type VaultSetup,
} from './fixture.js';
import { replayWithCollector, until } from './node-fixture.js';

let fixture: ChainFixture;
let directory: string;
beforeAll(async () => {
  fixture = await startChainFixture();
  directory = await mkdtemp(join(tmpdir(), 'custody-service-'));
});
afterAll(async () => {
  await fixture?.anvil.stop();
  await rm(directory, { recursive: true, force: true });
});

async function listAssets(node: ExchangeNode): Promise<void> {
  for (const symbol of ['SOL', 'USDC']) {
    const message = encodeSigningStringBytes(
      [
        {
          instruction: 'assetList',
          params: [
            ['decimals', '6'],
            ['symbol', symbol],
          ],
        },
      ],
      Date.now(),
      maximumWindowMs,
    );
    const listed = await node.submit({
      message,
      publicKey: operatorKey.publicKey,
      signature: signMessage(operatorKey.seed, message),
    });
    expect(listed.outcome.accepted).toBe(true);
  }
}

type Vault = ReturnType<typeof vaultContract>;

/** Every commitment (the first poll may already have committed an attestation of the listings) is an attestation. */
async function expectCommitmentsAttested(vault: Vault, attestations: readonly Attestation[]): Promise<bigint> {
  const count = await vault.read.commitmentCount();
  for (let number = 1n; number <= count; number += 1n) {
    const committed = await vault.read.commitments([number]);
    const attested = attestations.find((attestation) => attestation.sequence === Number(committed.sequence));
    expect(attested, 'the committed sequence is an attestation of the node').toBeDefined();
    expect(committed.root).toBe(`0x${attested!.liabilitiesRoot}`);
    expect(committed.stateHash).toBe(`0x${attested!.stateHash}`);
  }
  return count;
}

async function withdrawAndPull(node: ExchangeNode, setup: VaultSetup, vault: Vault, errors: unknown[]): Promise<void> {
  const alice = userKey(1);
  // Alice withdraws 0.25 SOL to her chain address: completed in the log, paid by the next commit once final.
  const withdrawal = encodeSigningStringBytes(
    [
      {
        instruction: 'withdraw',
        params: [
          ['address', fixture.alice.account.address.toLowerCase()],
          ['blockchain', 'Ethereum'],
          ['quantity', '0.25'],
          ['symbol', 'SOL'],
        ],
      },
    ],
    Date.now(),
    maximumWindowMs,
  );
  const requested = await node.submit({
    message: withdrawal,
    publicKey: alice.publicKey,
    signature: signMessage(alice.seed, withdrawal),
  });
  expect(requested.outcome.accepted).toBe(true);
  await until(async () => (await vault.read.pendingPayouts([0n])) > 0n || errors.length > 0, 'a commit paying it');
  await fixture.time.increaseTime({ seconds: 2 });
  await fixture.time.mine({ blocks: 1 });
  await until(
    async () => (await vault.read.owed([fixture.alice.account.address, 0n])) > 0n || errors.length > 0,
    'payout',
  );
  expect(errors).toEqual([]);
  expect(await vault.read.owed([fixture.alice.account.address, 0n])).toBe(250_000n);
  await confirmed(fixture.alice, await vaultContract(fixture.alice, setup.vault).write.withdraw([0]));
  expect(await tokenBalance(fixture.alice, setup.tokens[0]!, fixture.alice.account.address)).toBe(250_000n);
  expect(node.state.accounts.get(alice.accountId)!.balances[0]!.available).toBe(1_000_000n);
}

async function expectChainCrossCheck(node: ExchangeNode, setup: VaultSetup): Promise<void> {
  // The replayer's chain cross-check agrees with the vault, then catches a root the log never attested.
  const collector = await replayWithCollector(node);
  const agreed = await checkChain(collector, fixture.anvil.rpcUrl, setup.vault);
  expect(agreed.problems).toEqual([]);
  expect(agreed.depositsChecked).toBe(2);
  expect(agreed.payoutsChecked).toBe(1);
  const forged = { hash: new Uint8Array(32).fill(5), sums: new Uint8Array(64) };
  await commitAs(fixture, setup, {
    sequence: 1_000_000n,
    stateHash: toHex(new Uint8Array(32).fill(6)),
    assetListHash: setup.configuration.assetListHash,
    depositsCredited: 2n,
    forcedExitsServed: 0n,
    left: toHex(new Uint8Array([...forged.hash, ...forged.sums])),
    right: '0x',
    prices: [0n, 0n],
    payouts: [],
  });
  const doctored = await checkChain(collector, fixture.anvil.rpcUrl, setup.vault);
  expect(doctored.ok).toBe(false);
  expect(doctored.problems.join('\n')).toMatch(/root for sequence 1000000, which the log does not attest/);
}

it('credits each vault deposit once, across a restart, and commits the attested root', async () => {
  const alice = userKey(1);
  const setup = await deployScenario(fixture, ['SOL', 'USDC'], { finalityDelaySeconds: 1 });
  const attestations: Attestation[] = [];
  let service: CustodyService | undefined;
  const errors: unknown[] = [];
  const node = await ExchangeNode.open({
    dataDirectory: directory,
    genesis: { exchangeName: 'custody', operatorKeys: [operatorKey.accountId], feeAccount: userKey(10).accountId },
    attestationSigningSeed: operatorKey.seed,
    attestEveryMs: 100,
    verifierThreads: 1,
    onAttestationMade: (attestation, state, leafZero) => service?.attestationObserver(attestation, state, leafZero),
  });
  node.subscribeAttestations((attestation) => attestations.push(attestation));
  try {
    await listAssets(node);
    const options = {
      node,
      operatorSeed: operatorKey.seed,
      chain: fixture.operator,
      vault: setup.vault,
      committeeKeys: fixture.committeeKeys.slice(0, 2),
      pollIntervalMs: 50,
      onError: (error: unknown) => errors.push(error),
    };
    service = new CustodyService(options);
    await depositOnChain(fixture.alice, setup, 0, 1_250_000n, alice.publicKey);
    await service.poll();
    expect(service.credited).toEqual([1n]);
    expect(node.state.accounts.get(alice.accountId)!.balances[0]!.available).toBe(1_250_000n);
    // A second service (after a crash, say) rescans the vault from the start and credits nothing twice.
    service = new CustodyService(options);
    await service.poll();
    expect(service.credited).toEqual([]);
    expect(node.state.accounts.get(alice.accountId)!.balances[0]!.available).toBe(1_250_000n);

    // The restarted service commits the next attestation (the idle timer's, or the one after bob's deposit).
    service.start();
    await depositOnChain(fixture.bob, setup, 1, 3_000_000n, userKey(2).publicKey);
    await until(() => service!.committed.length > 0 || errors.length > 0, 'a commit');
    expect(errors).toEqual([]);
    await until(() => service!.credited.length > 0, "bob's credit");
    expect(service.credited).toEqual([2n]);
    const vault = vaultContract(fixture.operator, setup.vault);
    const count = await expectCommitmentsAttested(vault, attestations);
    await fixture.time.increaseTime({ seconds: 2 });
    await fixture.time.mine({ blocks: 1 });
    await until(async () => (await vault.read.finalCount()) >= count, 'finality');

    await withdrawAndPull(node, setup, vault, errors);

    await service.stop();
    await expectChainCrossCheck(node, setup);
  } finally {
    await service?.stop();
    await node.close();
  }
});
