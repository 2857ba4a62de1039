/**
 * The engine and the contract agree: accounts that linked exit addresses
 * (engine instruction exitAddressLink) have exit leaves; the engine's root
 * is committed, the vault is frozen, and each account exits with the
 * inclusion proof the engine serves, receiving exactly its claims.
 */
import { attestationFieldsOf, execute, LiabilitiesTree, stateHash } from '@vex/engine';
import { toHex } from 'viem';
import { expect, it } from 'vitest';
import { confirmed, vaultContract } from '../src/chain.js';
import { exitProofOfInclusionProof } from '../src/records.js';
import { signAttestation } from '@vex/engine';
import {
  childrenFromEngineTree,
  commitAs,
  creditInEngine,
  depositOnChain,
  deployScenario,
  engineState,
  expectRevert,
  operatorKey,
  useChainFixture,
  tokenBalance,
  userKey,
} from './fixture.js';

const fixture = useChainFixture();

it("exits with the engine's own proofs of exit leaves, for exactly the claims", async () => {
  const alice = userKey(1);
  const bob = userKey(2);
  const setup = await deployScenario(fixture, ['SOL', 'USDC'], { finalityDelaySeconds: 60, graceSeconds: 600 });
  await depositOnChain(fixture.alice, setup, 0, 2_500_000n, alice.publicKey);
  await depositOnChain(fixture.bob, setup, 1, 4_000_000n, bob.publicKey);
  const state = engineState(setup.symbols);
  creditInEngine(state, alice.accountId, 'SOL', '2.5', 1);
  creditInEngine(state, bob.accountId, 'USDC', '4', 2);
  for (const [user, clients] of [
    [alice, fixture.alice],
    [bob, fixture.bob],
  ] as const) {
    const address = clients.account.address.toLowerCase();
    const outcome = execute(state, user.accountId, { kind: 'exitAddressLink', address }, 100);
    expect(outcome.accepted && outcome.results[0]!.ok).toBe(true);
  }
  const tree = LiabilitiesTree.build(state, { version: 5 });
  const fields = attestationFieldsOf(state, tree.root(), 5, new Uint8Array(32), new Uint8Array(32));
  const attestation = signAttestation(fields, operatorKey.seed);
  await commitAs(fixture, setup, {
    sequence: 5n,
    stateHash: toHex(stateHash(state)),
    assetListHash: setup.configuration.assetListHash,
    depositsCredited: 2n,
    forcedExitsServed: 0n,
    ...childrenFromEngineTree(tree, state),
    prices: [0n, 0n],
    payouts: [],
  });
  const vault = vaultContract(fixture.alice, setup.vault);
  expect((await vault.read.commitments([1n])).root).toBe(`0x${attestation.liabilitiesRoot}`);
  await fixture.time.increaseTime({ seconds: 61 });
  await confirmed(fixture.alice, await vault.write.finalize([[]]));
  await confirmed(fixture.alice, await vault.write.requestForcedExit([toHex(alice.publicKey)], { value: 10n ** 15n }));
  await fixture.time.increaseTime({ seconds: 601 });
  await confirmed(fixture.alice, await vault.write.freeze());

  const aliceProof = tree.inclusionProof(attestation, alice.accountId)!;
  const bobProof = tree.inclusionProof(attestation, bob.accountId)!;
  // Bob cannot take alice's exit to his address: the address is inside her leaf.
  const stolen = { ...exitProofOfInclusionProof(aliceProof, [0n, 0n]), exitAddress: fixture.bob.account.address };
  await expectRevert(vaultContract(fixture.bob, setup.vault).write.exit([stolen]), 'ProofMismatch');
  await confirmed(fixture.bob, await vault.write.exit([exitProofOfInclusionProof(aliceProof, [0n, 0n])]));
  await confirmed(fixture.bob, await vault.write.exit([exitProofOfInclusionProof(bobProof, [0n, 0n])]));
  await fixture.time.increaseTime({ seconds: 601 });
  for (const proof of [aliceProof, bobProof]) {
    const { commitment, exitAddress } = exitProofOfInclusionProof(proof, []);
    const amounts = proof.balances.map((pair) => BigInt(pair.claim) - BigInt(pair.debt));
    await confirmed(fixture.bob, await vault.write.payExit([commitment, exitAddress, amounts]));
  }
  await confirmed(fixture.alice, await vault.write.withdraw([0]));
  await confirmed(fixture.bob, await vaultContract(fixture.bob, setup.vault).write.withdraw([1]));
  expect(await tokenBalance(fixture.alice, setup.tokens[0]!, fixture.alice.account.address)).toBe(2_500_000n);
  expect(await tokenBalance(fixture.bob, setup.tokens[1]!, fixture.bob.account.address)).toBe(4_000_000n);
});
