/**
 * The vault's rules and their refusals on a real anvil (docs/custody.md):
 * deposits (what arrived, numbered; a fee-taking token), commits (the
 * engine's root byte for byte, solvency, the committee's threshold, the
 * finality delay, payouts), forced exits, freeze, exits, refunds.
 */
import { bytesToLowerHex, LiabilitiesTree, stateHash } from '@vex/engine';
import { toHex, zeroAddress, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { confirmed, vaultContract } from '../src/chain.js';
import {
  childrenFromEngineTree,
  commitAs,
  creditInEngine,
  depositOnChain,
  deployScenario,
  engineState,
  expectRevert,
  useChainFixture,
  tokenBalance,
  userKey,
  type CommitArgument,
  type VaultSetup,
} from './fixture.js';

const fixture = useChainFixture();

const alice = userKey(1);
const bob = userKey(2);
const symbols = ['SOL', 'USDC'] as const;

/** An engine state in which alice and bob hold what they deposited, its tree, and a commit of its root. */
function engineCommit(
  setup: VaultSetup,
  credits: readonly (readonly [typeof alice, number, string, number])[],
  sequence: bigint,
) {
  const state = engineState(setup.symbols);
  for (const [user, asset, quantity, number] of credits)
    creditInEngine(state, user.accountId, setup.symbols[asset]!, quantity, number);
  const tree = LiabilitiesTree.build(state);
  const commit: CommitArgument = {
    sequence,
    stateHash: toHex(stateHash(state)),
    assetListHash: setup.configuration.assetListHash,
    depositsCredited: BigInt(credits.length),
    forcedExitsServed: 0n,
    ...childrenFromEngineTree(tree, state),
    prices: setup.symbols.map(() => 0n),
    payouts: [],
  };
  return { state, tree, commit };
}

describe('deposits', () => {
  it('numbers each deposit and records what arrived; a fee-taking token is credited net of its fee', async () => {
    const setup = await deployScenario(fixture, ['FEE', 'USDC'], {}, 100n);
    await depositOnChain(fixture.alice, setup, 0, 10_000n, alice.publicKey);
    await depositOnChain(fixture.bob, setup, 1, 5_000n, bob.publicKey);
    const vault = vaultContract(fixture.operator, setup.vault);
    expect(await vault.read.depositCount()).toBe(2n);
    const first = await vault.read.deposits([1n]);
    expect(first.amount).toBe(9_900n);
    expect(first.publicKey).toBe(toHex(alice.publicKey));
    expect(first.depositor).toBe(fixture.alice.account.address);
    expect((await vault.read.deposits([2n])).amount).toBe(5_000n);
    expect(await vault.read.uncreditedDeposits([0n])).toBe(9_900n);
  });

  it('refuses an unknown asset and a zero amount', async () => {
    const setup = await deployScenario(fixture, [...symbols]);
    const vault = vaultContract(fixture.alice, setup.vault);
    await expectRevert(vault.write.deposit([2, 1n, toHex(alice.publicKey)]), 'UnknownAsset');
    await expectRevert(vault.write.deposit([0, 0n, toHex(alice.publicKey)]), 'ZeroAmount');
  });
});

describe('root commitments', () => {
  it("recomputes the engine's liabilities root byte for byte and takes it when solvent", async () => {
    const setup = await deployScenario(fixture, [...symbols]);
    await depositOnChain(fixture.alice, setup, 0, 1_500_000n, alice.publicKey);
    await depositOnChain(fixture.bob, setup, 1, 2_000_000n, bob.publicKey);
    const { tree, commit } = engineCommit(
      setup,
      [
        [alice, 0, '1.5', 1],
        [bob, 1, '2', 2],
      ],
      7n,
    );
    await commitAs(fixture, setup, commit);
    const committed = await vaultContract(fixture.operator, setup.vault).read.commitments([1n]);
    expect(committed.root).toBe(`0x${bytesToLowerHex(tree.root().hash)}`);
    expect(committed.sequence).toBe(7n);
    expect(committed.depositsCredited).toBe(2n);
  });

  it('holds for larger trees: every shape from 1 to 9 accounts', async () => {
    const setup = await deployScenario(fixture, [...symbols]);
    await depositOnChain(fixture.alice, setup, 0, 100_000_000n, alice.publicKey);
    await depositOnChain(fixture.alice, setup, 1, 100_000_000n, alice.publicKey);
    const vault = vaultContract(fixture.operator, setup.vault);
    for (let accounts = 0; accounts <= 8; accounts += 1) {
      const credits = Array.from(
        { length: accounts },
        (_, index) => [userKey(30 + index), index % 2, `${index + 1}.25`, index + 1] as const,
      );
      const { tree, commit } = engineCommit(setup, credits, BigInt(accounts + 1));
      await commitAs(fixture, setup, { ...commit, depositsCredited: 2n });
      const committed = await vault.read.commitments([BigInt(accounts + 1)]);
      expect(committed.root, `${accounts + 1} leaves`).toBe(`0x${bytesToLowerHex(tree.root().hash)}`);
    }
  });

  it('refuses claims beyond the balance, counting uncredited deposits out', async () => {
    const setup = await deployScenario(fixture, [...symbols]);
    await depositOnChain(fixture.alice, setup, 0, 1_000_000n, alice.publicKey);
    await depositOnChain(fixture.bob, setup, 0, 500_000n, bob.publicKey);
    // The root claims 1.2 SOL but credits only the first deposit (1 SOL): the second is not the operator's to count.
    const { commit } = engineCommit(setup, [[alice, 0, '1.2', 1]], 1n);
    await expectRevert(commitAs(fixture, setup, commit), 'Insolvent');
    await commitAs(fixture, setup, { ...commit, depositsCredited: 2n });
  });

  it('refuses a wrong asset list, an old sequence, uncredited deposit counts and a non-operator', async () => {
    const setup = await deployScenario(fixture, [...symbols]);
    await depositOnChain(fixture.alice, setup, 0, 1_000_000n, alice.publicKey);
    const { commit } = engineCommit(setup, [[alice, 0, '1', 1]], 5n);
    await expectRevert(
      commitAs(fixture, setup, { ...commit, assetListHash: toHex(new Uint8Array(32)) }),
      'WrongAssetList',
    );
    await expectRevert(commitAs(fixture, setup, { ...commit, depositsCredited: 2n }), 'DepositsNotCredited');
    await commitAs(fixture, setup, commit);
    await expectRevert(commitAs(fixture, setup, commit), 'SequenceNotAfter');
    await expectRevert(
      commitAs(fixture, setup, { ...commit, sequence: 6n, depositsCredited: 0n }),
      'DepositsCreditedDecreased',
    );
    const asAlice = vaultContract(fixture.alice, setup.vault);
    await expectRevert(asAlice.write.commitRoot([{ ...commit, sequence: 9n }, []]), 'NotOperator');
  });

  it('needs k of n committee signatures: too few, repeated or foreign signatures are refused', async () => {
    const setup = await deployScenario(fixture, [...symbols]);
    await depositOnChain(fixture.alice, setup, 0, 1_000_000n, alice.publicKey);
    const { commit } = engineCommit(setup, [[alice, 0, '1', 1]], 1n);
    await expectRevert(commitAs(fixture, setup, commit, [2]), 'CommitteeThreshold');
    await expectRevert(commitAs(fixture, setup, commit, [1, 1]), 'CommitteeThreshold');
    const vault = vaultContract(fixture.operator, setup.vault);
    const stranger = (await import('viem/accounts')).generatePrivateKey();
    const { signCommitDigest } = await import('../src/records.js');
    const digest = await vault.read.commitDigest([
      (await import('./fixture.js')).rootHashOfChildren(commit.left, commit.right),
      commit,
    ]);
    const signatures = await signCommitDigest(digest, [fixture.committeeKeys[0]!, stranger]);
    await expectRevert(vault.write.commitRoot([commit, signatures]), 'CommitteeThreshold');
    // A signature over a different commit (another sequence) does not count.
    const other = await vault.read.commitDigest([
      (await import('./fixture.js')).rootHashOfChildren(commit.left, commit.right),
      { ...commit, sequence: 2n },
    ]);
    const mixed = await signCommitDigest(other, [fixture.committeeKeys[0]!, fixture.committeeKeys[1]!]);
    await expectRevert(vault.write.commitRoot([commit, mixed]), 'CommitteeThreshold');
    await commitAs(fixture, setup, commit, [0, 2]);
  });
});

describe('finality and payouts', () => {
  it('pays debited withdrawals only after the delay, pull-style and once', async () => {
    const setup = await deployScenario(fixture, [...symbols]);
    await depositOnChain(fixture.alice, setup, 1, 3_000_000n, alice.publicKey);
    // Alice withdrew 1 USDC: the root holds 2 and the commit pays 1.
    const { commit } = engineCommit(setup, [[alice, 1, '2', 1]], 4n);
    const payout = { recipient: fixture.alice.account.address, asset: 1, amount: 1_000_000n, withdrawalId: 1n };
    // Paying 1.5 on top of a 2 USDC root needs 3.5: refused.
    await expectRevert(
      commitAs(fixture, setup, { ...commit, payouts: [{ ...payout, amount: 1_500_000n }] }),
      'Insolvent',
    );
    await commitAs(fixture, setup, { ...commit, payouts: [payout] });
    const vault = vaultContract(fixture.alice, setup.vault);
    await expectRevert(vault.write.finalize([[payout]]), 'NotYetFinal');
    await fixture.time.increaseTime({ seconds: 3601 });
    await expectRevert(vault.write.finalize([[{ ...payout, amount: 2_000_000n }]]), 'PayoutsMismatch');
    await confirmed(fixture.alice, await vault.write.finalize([[payout]]));
    expect(await vault.read.finalCount()).toBe(1n);
    await expectRevert(vault.write.finalize([[payout]]), 'NothingToFinalize');
    const before = await tokenBalance(fixture.alice, setup.tokens[1]!, fixture.alice.account.address);
    await confirmed(fixture.alice, await vault.write.withdraw([1]));
    expect(await tokenBalance(fixture.alice, setup.tokens[1]!, fixture.alice.account.address)).toBe(
      before + 1_000_000n,
    );
    await expectRevert(vault.write.withdraw([1]), 'NothingOwed');
  });
});

export { alice, bob, symbols, engineCommit, zeroAddress };
export type { Hex };
