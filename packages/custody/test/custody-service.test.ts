/**
 * The node's chain watcher and root committer against a real node (LevelDB)
 * and a real anvil: each vault deposit is credited once, also by a second
 * service after a restart, and the committed root is the node's attested
 * root; the commit becomes final after the delay.
 */
import type { Attestation } from '@vex/engine';
import type { ExchangeNode } from '@vex/ledger';
import { checkChain } from '@vex/replayer';
import { expect, it } from 'vitest';
import { vaultContract } from '../src/chain.js';
import { CustodyService } from '../src/custody-service.js';
import {
  depositOnChain,
  deployScenario,
  operatorKey,
  tokenBalance,
  useChainFixture,
  userKey,
  type VaultSetup,
} from './fixture.js';
import {
  custodyServiceOptions,
  expectForgedRootCaught,
  openCustodyNode,
  replayWithCollector,
  submitSigned,
  until,
  useDataDirectory,
  withdrawThroughCommit,
} from './node-fixture.js';

const fixture = useChainFixture();
const directory = useDataDirectory('custody-service-');

async function listAssets(node: ExchangeNode): Promise<void> {
  for (const symbol of ['SOL', 'USDC']) await submitSigned(node, operatorKey, 'assetList', { decimals: '6', symbol });
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

/** Alice's withdrawal of 0.25 SOL, paid by a commit: her tokens arrive and her exchange balance is what is left. */
async function withdrawAndPull(node: ExchangeNode, setup: VaultSetup, errors: unknown[]): Promise<void> {
  const alice = userKey(1);
  await withdrawThroughCommit(fixture, node, setup, errors);
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
  await expectForgedRootCaught(fixture, collector, setup);
}

it('credits each vault deposit once, across a restart, and commits the attested root', async () => {
  const alice = userKey(1);
  const setup = await deployScenario(fixture, ['SOL', 'USDC'], { finalityDelaySeconds: 1 });
  const attestations: Attestation[] = [];
  let service: CustodyService | undefined;
  const errors: unknown[] = [];
  const node = await openCustodyNode(directory.path, 'custody', () => service);
  node.subscribeAttestations((attestation) => attestations.push(attestation));
  try {
    await listAssets(node);
    const options = custodyServiceOptions(fixture, node, setup, errors);
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

    await withdrawAndPull(node, setup, errors);

    await service.stop();
    await expectChainCrossCheck(node, setup);
  } finally {
    await service?.stop();
    await node.close();
  }
});
