/**
 * The crash between completion and commit (docs/custody.md, "The node"):
 * a service completes a vault withdrawal in the log and stops before any
 * commit pays it. A new service reads the completion back from the log and
 * the node's history and pays it once; the replayer's chain check then
 * agrees. Without the recovery (simulated, on a chain snapshot reverted
 * afterwards), a final root debits the withdrawal without paying it, and the
 * chain check says so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExchangeNode } from '@vex/ledger';
import { checkChain } from '@vex/replayer';
import type { Address } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { vaultContract } from '../src/chain.js';
import { CustodyService, type CustodyServiceOptions } from '../src/custody-service.js';
import {
  depositOnChain,
  deployScenario,
  operatorKey,
  startChainFixture,
  userKey,
  type ChainFixture,
} from './fixture.js';
import { replayWithCollector, submitSigned, until } from './node-fixture.js';

let fixture: ChainFixture;
let directory: string;
beforeAll(async () => {
  fixture = await startChainFixture();
  directory = await mkdtemp(join(tmpdir(), 'custody-recovery-'));
});
afterAll(async () => {
  await fixture?.anvil.stop();
  await rm(directory, { recursive: true, force: true });
});

const alice = userKey(1);

/**
 * Gives the node an entry to attest (a withdrawal to another chain, which the
 * service leaves alone), polls `service` until it has committed `sequence`
 * or later, then lets that commit become final.
 */
async function commitAndFinalize(
  node: ExchangeNode,
  service: CustodyService,
  sequence: number,
  vaultAddress: Address,
): Promise<void> {
  const elsewhere = { address: 'elsewhere', blockchain: 'Solana', quantity: '0.01', symbol: 'SOL' };
  await submitSigned(node, alice, 'withdraw', elsewhere);
  await until(async () => {
    await service.poll();
    return service.committed.some((committed) => committed >= sequence);
  }, 'a commit after the completion');
  await fixture.time.increaseTime({ seconds: 2 });
  await fixture.time.mine({ blocks: 1 });
  // One commitment is finalized per poll, and the loop above may have made several.
  const vault = vaultContract(fixture.operator, vaultAddress);
  await until(async () => {
    await service.poll();
    return (await vault.read.finalCount()) === (await vault.read.commitmentCount());
  }, 'every commitment final');
}

it('a completion the stopped service never committed is found again and paid once', async () => {
  const setup = await deployScenario(fixture, ['SOL'], { finalityDelaySeconds: 1 });
  const vault = vaultContract(fixture.operator, setup.vault);
  let service: CustodyService | undefined;
  const node = await ExchangeNode.open({
    dataDirectory: directory,
    genesis: { exchangeName: 'recovery', operatorKeys: [operatorKey.accountId], feeAccount: userKey(10).accountId },
    attestationSigningSeed: operatorKey.seed,
    attestEveryMs: 50,
    verifierThreads: 1,
    onAttestationMade: (attestation, state, leafZero) => service?.attestationObserver(attestation, state, leafZero),
  });
  const options: CustodyServiceOptions = {
    node,
    operatorSeed: operatorKey.seed,
    chain: fixture.operator,
    vault: setup.vault,
    committeeKeys: fixture.committeeKeys.slice(0, 2),
  };
  try {
    await submitSigned(node, operatorKey, 'assetList', { decimals: '6', symbol: 'SOL' });
    await depositOnChain(fixture.alice, setup, 0, 1_000_000n, alice.publicKey);
    const address = fixture.alice.account.address.toLowerCase();
    // The first service credits, commits, then completes alice's withdrawal and stops before committing again.
    service = new CustodyService(options);
    await until(async () => {
      await service!.poll();
      return service!.credited.length === 1;
    }, 'the deposit credited');
    await commitAndFinalize(node, service, 0, setup.vault);
    await submitSigned(node, alice, 'withdraw', { address, blockchain: 'Ethereum', quantity: '0.4', symbol: 'SOL' });
    await service.completeWithdrawals();
    const completedAt = node.head().sequence;
    expect([...node.state.pendingWithdrawals.values()].map((pending) => pending.blockchain)).toEqual(['Solana']);
    service = undefined;
    await until(() => (node.latestAttestation()?.sequence ?? 0) >= completedAt, 'an attestation after it');

    // Without recovery (the old gap): the next final root debits it, nothing pays it, and the check says so.
    const snapshot = await fixture.time.snapshot();
    service = new CustodyService(options);
    Object.assign(service, { recovered: [] });
    await commitAndFinalize(node, service, completedAt, setup.vault);
    const unpaid = await checkChain(await replayWithCollector(node), fixture.anvil.rpcUrl, setup.vault);
    expect(unpaid.problems.join('\n')).toMatch(/withdrawal \d+, completed for the vault at sequence \d+, is not paid/);
    await fixture.time.revert({ id: snapshot });

    // A new service reads the completion back from the log and pays it with its first commit, once.
    service = new CustodyService(options);
    await commitAndFinalize(node, service, completedAt, setup.vault);
    await commitAndFinalize(node, service, node.head().sequence, setup.vault);
    expect(await vault.read.owed([fixture.alice.account.address, 0n])).toBe(400_000n);
    expect(await vault.getEvents.PayoutOwed({}, { fromBlock: 0n })).toHaveLength(1);
    const checked = await checkChain(await replayWithCollector(node), fixture.anvil.rpcUrl, setup.vault);
    expect(checked.problems).toEqual([]);
    expect(checked.payoutsChecked).toBe(1);
  } finally {
    service = undefined;
    await node.close();
  }
});
