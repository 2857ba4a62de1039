/**
 * Serving forced exits (docs/custody.md, "Serving forced exits") on a real
 * node (LevelDB) and a real anvil: a live operator answers every forced-exit
 * request it sees on the vault and serves it in a final root before the
 * grace period ends, so no freeze is possible. Alice's request is the hard
 * case the rule names: her funds are locked in a resting order, which the
 * answer cancels before withdrawing everything to her exit address. Two
 * requests the operator cannot pay (an unknown key, an account with no exit
 * address) are answered with nothing withdrawn and count as served.
 */
import type { ExchangeNode } from '@vex/ledger';
import { checkChain } from '@vex/replayer';
import { toHex } from 'viem';
import type { ChainCheckCollector } from '@vex/replayer';
import { expect, it } from 'vitest';
import { confirmed, vaultContract } from '../src/chain.js';
import { CustodyService } from '../src/custody-service.js';
import { solUsdcListingParams } from '../../engine/test/support-listings.js';
import {
  depositOnChain,
  deployScenario,
  expectRevert,
  operatorKey,
  tokenBalance,
  useChainFixture,
  userKey,
  type VaultSetup,
} from './fixture.js';
import {
  commitForged,
  custodyServiceOptions,
  openCustodyNode,
  replayWithCollector,
  submitSigned,
  until,
  useDataDirectory,
} from './node-fixture.js';

const fixture = useChainFixture();
const directory = useDataDirectory('custody-forced-');
const alice = userKey(1);
const bob = userKey(2);
const stranger = userKey(77);
const graceSeconds = 600;

async function fundAndRestAnOrder(node: ExchangeNode, setup: VaultSetup, service: CustodyService): Promise<void> {
  for (const symbol of ['SOL', 'USDC']) await submitSigned(node, operatorKey, 'assetList', { decimals: '6', symbol });
  await submitSigned(node, operatorKey, 'marketList', solUsdcListingParams);
  await depositOnChain(fixture.alice, setup, 0, 2_000_000n, alice.publicKey);
  await depositOnChain(fixture.bob, setup, 1, 5_000_000n, bob.publicKey);
  service.start();
  await until(() => service.credited.length === 2, 'both deposits credited');
  await submitSigned(node, alice, 'exitAddressLink', { address: fixture.alice.account.address.toLowerCase() });
  // Alice's whole SOL rests in an ask: nothing of it is available until the order is cancelled.
  await submitSigned(node, alice, 'orderExecute', {
    symbol: 'SOL_USDC',
    side: 'Ask',
    orderType: 'Limit',
    price: '30',
    quantity: '2',
  });
  expect(node.state.accounts.get(alice.accountId)!.balances[0]!.available).toBe(0n);
}

/** Files the three requests: alice's own, one for a key with no account, bob's (no exit address linked). */
async function fileRequests(setup: VaultSetup): Promise<bigint> {
  const fee = { value: 10n ** 15n };
  for (const [user, key] of [
    [fixture.alice, alice],
    [fixture.bob, stranger],
    [fixture.bob, bob],
  ] as const) {
    const vault = vaultContract(user, setup.vault);
    await confirmed(user, await vault.write.requestForcedExit([toHex(key.publicKey)], fee));
  }
  return (await vaultContract(fixture.operator, setup.vault).read.forcedExits([1n])).requestedAt;
}

/** Moves the chain's clock a second at a time until a final root serves all three requests. */
async function untilServedByFinalRoot(setup: VaultSetup, errors: unknown[]): Promise<void> {
  const vault = vaultContract(fixture.operator, setup.vault);
  await until(async () => {
    if (errors.length > 0) return true;
    await fixture.time.increaseTime({ seconds: 1 });
    await fixture.time.mine({ blocks: 1 });
    const finalCount = await vault.read.finalCount();
    return finalCount > 0n && (await vault.read.commitments([finalCount])).forcedExitsServed === 3n;
  }, 'a final root serving the three requests');
  expect(errors).toEqual([]);
}

/** A colluding committee lets the operator count a fourth request served that the log never answered. */
async function expectUnservedCountCaught(setup: VaultSetup, collector: ChainCheckCollector): Promise<void> {
  const snapshot = await fixture.time.snapshot();
  const vault = vaultContract(fixture.bob, setup.vault);
  await confirmed(
    fixture.bob,
    await vault.write.requestForcedExit([toHex(userKey(78).publicKey)], { value: 10n ** 15n }),
  );
  await commitForged(fixture, setup, 4n);
  const doctored = await checkChain(collector, fixture.anvil.rpcUrl, setup.vault);
  expect(doctored.problems.join('\n')).toMatch(/counts forced exit 4 served, but the log has not served it by then/);
  await fixture.time.revert({ id: snapshot });
}

it('a live operator serves every forced exit in a final root before the deadline: no freeze', async () => {
  const setup = await deployScenario(fixture, ['SOL', 'USDC'], { finalityDelaySeconds: 1, graceSeconds });
  let service: CustodyService | undefined;
  const errors: unknown[] = [];
  const node = await openCustodyNode(directory.path, 'forced', () => service);
  try {
    service = new CustodyService(custodyServiceOptions(fixture, node, setup, errors));
    await fundAndRestAnOrder(node, setup, service);
    const requestedAt = await fileRequests(setup);
    await until(() => service!.forcedExits.answered.length === 3 || errors.length > 0, 'the three answers');
    expect(service.forcedExits.answered).toEqual([1n, 2n, 3n]);
    await untilServedByFinalRoot(setup, errors);
    const served = await fixture.operator.publicClient.getBlock();
    expect(served.timestamp).toBeLessThan(requestedAt + BigInt(graceSeconds));

    // Alice's order was cancelled and her whole balance withdrawn to her exit address; bob keeps his.
    const aliceAccount = node.state.accounts.get(alice.accountId)!;
    expect(aliceAccount.openOrderCount).toBe(0);
    expect(aliceAccount.balances.map((balance) => balance?.available ?? 0n)).toEqual([0n, 0n]);
    expect(node.state.accounts.get(bob.accountId)!.balances[1]!.available).toBe(5_000_000n);
    const vault = vaultContract(fixture.alice, setup.vault);
    expect(await vault.read.owed([fixture.alice.account.address, 0n])).toBe(2_000_000n);
    const before = await tokenBalance(fixture.alice, setup.tokens[0]!, fixture.alice.account.address);
    await confirmed(fixture.alice, await vault.write.withdraw([0]));
    const after = await tokenBalance(fixture.alice, setup.tokens[0]!, fixture.alice.account.address);
    expect(after - before).toBe(2_000_000n);

    // Past the grace period of every request, nobody can freeze a vault whose operator served them.
    await fixture.time.increaseTime({ seconds: graceSeconds + 1 });
    await fixture.time.mine({ blocks: 1 });
    await expectRevert(vault.write.freeze(), 'FreezeRefused');
    await service.stop();
    const collector = await replayWithCollector(node);
    const checked = await checkChain(collector, fixture.anvil.rpcUrl, setup.vault);
    expect(checked.problems).toEqual([]);
    await expectUnservedCountCaught(setup, collector);
  } finally {
    await service?.stop();
    await node.close();
  }
});
