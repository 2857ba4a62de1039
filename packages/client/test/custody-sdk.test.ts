/**
 * The SDK's custody calls (src/custody.ts, `@vex/client/custody`) on a real
 * anvil against the real vault: a trader deposits with an Ethereum key, files
 * a forced exit (an early freeze is refused), freezes the vault past the
 * grace period, exits (claim, then payment after the claim window) with the
 * inclusion proof the engine serves and pulls
 * exactly the leaf's claim. The commit itself is the operator's (the custody
 * package's test fixture), as the node's service would make it.
 */
import { attestationFieldsOf, execute, LiabilitiesTree, signAttestation, stateHash } from '@vex/engine';
import { toHex } from 'viem';
import { expect, it } from 'vitest';
import { confirmed, demoTokenContract, vaultContract } from '@vex/custody';
import { CustodyWallet, type CustodyInfo } from '../src/custody.js';
// The custody package's own chain fixture: one anvil, its development accounts, a deployed vault.
import {
  childrenFromEngineTree,
  commitAs,
  creditInEngine,
  custodyInfoOf,
  deployScenario,
  engineState,
  operatorKey,
  tokenBalance,
  useChainFixture,
  userKey,
} from '../../custody/test/fixture.js';

const fixture = useChainFixture();
// anvil's development key 1 (fixture.alice's account): a test key of every fresh anvil, never a real one.
const aliceEthereumKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

it('deposits, files a forced exit, freezes, exits with a proof and pulls the claim', async () => {
  const alice = userKey(1);
  const setup = await deployScenario(fixture, ['SOL', 'USDC'], { finalityDelaySeconds: 60, graceSeconds: 600 });
  const info: CustodyInfo = custodyInfoOf(fixture, setup);
  const wallet = new CustodyWallet(info, aliceEthereumKey);
  expect(wallet.address).toBe(fixture.alice.account.address);
  const usdc = demoTokenContract(fixture.alice, setup.tokens[1]!);
  await confirmed(fixture.alice, await usdc.write.mint([wallet.address, 7_000_000n]));
  await wallet.deposit('USDC', 7_000_000n, alice.publicKey);
  expect(await tokenBalance(fixture.alice, setup.tokens[1]!, setup.vault)).toBe(7_000_000n);

  // The exchange credits it and alice links her exit address; the operator commits the root, final after the delay.
  const state = engineState(setup.symbols);
  creditInEngine(state, alice.accountId, 'USDC', '7', 1);
  const link = execute(state, alice.accountId, { kind: 'exitAddressLink', address: wallet.address.toLowerCase() }, 100);
  expect(link.accepted).toBe(true);
  const tree = LiabilitiesTree.build(state, { version: 3 });
  const attestation = signAttestation(
    attestationFieldsOf(state, tree.root(), 3, new Uint8Array(32), new Uint8Array(32)),
    operatorKey.seed,
  );
  await commitAs(fixture, setup, {
    sequence: 3n,
    stateHash: toHex(stateHash(state)),
    assetListHash: setup.configuration.assetListHash,
    depositsCredited: 1n,
    forcedExitsServed: 0n,
    ...childrenFromEngineTree(tree, state),
    prices: [0n, 0n],
    payouts: [],
  });
  await fixture.time.increaseTime({ seconds: 61 });
  await confirmed(fixture.operator, await vaultContract(fixture.operator, setup.vault).write.finalize([[]]));

  await wallet.requestForcedExit(alice.publicKey);
  await expect(wallet.freeze()).rejects.toThrow(/FreezeRefused/);
  await fixture.time.increaseTime({ seconds: 601 });
  await wallet.freeze();
  const proof = tree.inclusionProof(attestation, alice.accountId)!;
  await wallet.exit(proof);
  // Phase 2 waits for the claim window (the grace period after the freeze); then the claim is paid in full.
  await expect(wallet.payExit(proof)).rejects.toThrow(/ClaimWindowOpen/);
  expect(await wallet.owed('USDC')).toBe(0n);
  await fixture.time.increaseTime({ seconds: 601 });
  await wallet.payExit(proof);
  expect(await wallet.owed('USDC')).toBe(7_000_000n);
  await wallet.withdraw('USDC');
  expect(await tokenBalance(fixture.alice, setup.tokens[1]!, wallet.address)).toBe(7_000_000n);
  expect(await wallet.owed('USDC')).toBe(0n);
});
