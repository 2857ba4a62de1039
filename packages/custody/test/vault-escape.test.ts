/**
 * The escape hatch on a real anvil (docs/custody.md): forced-exit requests,
 * the refused early freeze, freeze, exits with a proof (once, to the linked
 * address only), refunds of deposits no final root credited, and the exit's
 * gas at depth 20.
 */
import { accountCommitment, encodeSums } from '@vex/engine';
import { toHex, type Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { confirmed, vaultContract } from '../src/chain.js';
import { exitLeafHash, exitProofArgument, rootChildren, rootOfPath, type TreeRecord } from '../src/records.js';
import {
  commitAs,
  depositOnChain,
  deployScenario,
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
const symbols = ['SOL', 'USDC'];
const salt = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);

interface ExitLeaf {
  readonly commitment: Uint8Array;
  readonly exitAddress: Address;
  readonly sums: Uint8Array;
  readonly record: TreeRecord;
}

function exitLeaf(
  publicKey: Uint8Array,
  saltFill: number,
  exitAddress: Address,
  amounts: readonly bigint[],
  debts: readonly bigint[] = [],
): ExitLeaf {
  const commitment = accountCommitment(publicKey, salt(saltFill));
  const sums = encodeSums(amounts.map((claim, asset) => ({ claim, debt: debts[asset] ?? 0n })));
  return { commitment, exitAddress, sums, record: { hash: exitLeafHash(commitment, exitAddress, sums), sums } };
}

/** A tree of `leaves` by the specification (docs/attestation.md): the path of each leaf. */
function pathsOf(leaves: readonly TreeRecord[]): TreeRecord[][] {
  const paths: TreeRecord[][] = leaves.map(() => []);
  const empty: TreeRecord = { hash: new Uint8Array(32), sums: new Uint8Array(leaves[0]!.sums.length) };
  let level = leaves.slice();
  let positions = leaves.map((_, index) => index);
  while (level.length > 1) {
    positions.forEach((position, leaf) => paths[leaf]!.push(level[position ^ 1] ?? empty));
    const parents: TreeRecord[] = [];
    for (let index = 0; index < level.length; index += 2) {
      const [left, right] = [level[index]!, level[index + 1] ?? empty];
      parents.push(rootOfPath(left, 0, [right]));
    }
    level = parents;
    positions = positions.map((position) => position >> 1);
  }
  return paths;
}

const baseCommit = (setup: VaultSetup, children: { left: `0x${string}`; right: `0x${string}` }): CommitArgument => ({
  sequence: 1n,
  stateHash: toHex(new Uint8Array(32).fill(9)),
  assetListHash: setup.configuration.assetListHash,
  depositsCredited: 2n,
  forcedExitsServed: 0n,
  ...children,
  prices: symbols.map(() => 0n),
  payouts: [],
});

/**
 * Alice (2 SOL) and bob (3 USDC) deposit, link their exit addresses, and a
 * final root holds them, with the given debts (none by default).
 */
async function finalScenario(
  debts: { readonly alice?: readonly bigint[]; readonly bob?: readonly bigint[] } = {},
): Promise<{ setup: VaultSetup; leaves: ExitLeaf[]; paths: TreeRecord[][] }> {
  const setup = await deployScenario(fixture, symbols, { finalityDelaySeconds: 60, graceSeconds: 600 });
  await depositOnChain(fixture.alice, setup, 0, 2_000_000n, alice.publicKey);
  await depositOnChain(fixture.bob, setup, 1, 3_000_000n, bob.publicKey);
  const fee = { hash: new Uint8Array(32).fill(7), sums: new Uint8Array(64) };
  const leaves = [
    exitLeaf(alice.publicKey, 1, fixture.alice.account.address, [2_000_000n, 0n], debts.alice),
    exitLeaf(bob.publicKey, 2, fixture.bob.account.address, [0n, 3_000_000n], debts.bob),
  ];
  const records = [fee, leaves[0]!.record, leaves[1]!.record];
  const paths = pathsOf(records);
  await commitAs(fixture, setup, baseCommit(setup, rootChildren(records[0]!, 0, paths[0]!)));
  await fixture.time.increaseTime({ seconds: 61 });
  await confirmed(fixture.operator, await vaultContract(fixture.operator, setup.vault).write.finalize([[]]));
  return { setup, leaves, paths: paths.slice(1) };
}

const exitArgument = (leaf: ExitLeaf, index: number, path: TreeRecord[], exitAddress = leaf.exitAddress) =>
  exitProofArgument(leaf.commitment, exitAddress, index, leaf.sums, path, [0n, 0n]);

describe('forced exits and freezing', () => {
  it('needs the fee, refuses an early freeze, freezes past the grace period, then refuses deposits', async () => {
    const { setup } = await finalScenario();
    const vault = vaultContract(fixture.alice, setup.vault);
    await expectRevert(vault.write.freeze(), 'FreezeRefused');
    await expectRevert(vault.write.requestForcedExit([toHex(alice.publicKey)]), 'FeeRequired');
    await confirmed(
      fixture.alice,
      await vault.write.requestForcedExit([toHex(alice.publicKey)], { value: 10n ** 15n }),
    );
    await expectRevert(vault.write.freeze(), 'FreezeRefused');
    await fixture.time.increaseTime({ seconds: 601 });
    await confirmed(fixture.alice, await vault.write.freeze());
    expect(await vault.read.frozen()).toBe(true);
    await expectRevert(vault.write.deposit([0, 1n, toHex(alice.publicKey)]), 'Frozen');
    await expectRevert(vault.write.freeze(), 'Frozen');
  });

  it('a request that a final root served does not allow a freeze', async () => {
    const { setup, leaves, paths } = await finalScenario();
    const vault = vaultContract(fixture.alice, setup.vault);
    await confirmed(
      fixture.alice,
      await vault.write.requestForcedExit([toHex(alice.publicKey)], { value: 10n ** 15n }),
    );
    const children = rootChildren(leaves[0]!.record, 1, paths[0]!);
    await expectRevert(
      commitAs(fixture, setup, { ...baseCommit(setup, children), sequence: 2n, forcedExitsServed: 2n }),
      'ForcedExitsNotFiled',
    );
    await commitAs(fixture, setup, { ...baseCommit(setup, children), sequence: 2n, forcedExitsServed: 1n });
    await fixture.time.increaseTime({ seconds: 61 });
    await confirmed(fixture.alice, await vault.write.finalize([[]]));
    await fixture.time.increaseTime({ seconds: 601 });
    await expectRevert(vault.write.freeze(), 'FreezeRefused');
  });
});

describe('exits and refunds', () => {
  it('pays each leaf its claims once, only to its linked exit address, and only once frozen', async () => {
    const { setup, leaves, paths } = await finalScenario();
    const vault = vaultContract(fixture.bob, setup.vault);
    await expectRevert(vault.write.exit([exitArgument(leaves[0]!, 1, paths[0]!)]), 'NotFrozen');
    await confirmed(
      fixture.alice,
      await vault.write.requestForcedExit([toHex(alice.publicKey)], { value: 10n ** 15n }),
    );
    await fixture.time.increaseTime({ seconds: 601 });
    await confirmed(fixture.bob, await vault.write.freeze());
    // Bob proves alice's leaf but names his own address: the leaf does not hash to the root.
    await expectRevert(
      vault.write.exit([exitArgument(leaves[0]!, 1, paths[0]!, fixture.bob.account.address)]),
      'ProofMismatch',
    );
    await expectRevert(vault.write.exit([exitArgument(leaves[0]!, 2, paths[0]!)]), 'ProofMismatch');
    // Anyone may submit a proof; the money goes to the linked address.
    await confirmed(fixture.bob, await vault.write.exit([exitArgument(leaves[0]!, 1, paths[0]!)]));
    await expectRevert(vault.write.exit([exitArgument(leaves[0]!, 1, paths[0]!)]), 'AlreadyExited');
    await confirmed(fixture.bob, await vault.write.exit([exitArgument(leaves[1]!, 2, paths[1]!)]));
    const asAlice = vaultContract(fixture.alice, setup.vault);
    await confirmed(fixture.alice, await asAlice.write.withdraw([0]));
    await confirmed(fixture.bob, await vault.write.withdraw([1]));
    expect(await tokenBalance(fixture.alice, setup.tokens[0]!, fixture.alice.account.address)).toBe(2_000_000n);
    expect(await tokenBalance(fixture.bob, setup.tokens[1]!, fixture.bob.account.address)).toBe(3_000_000n);
    expect(await tokenBalance(fixture.bob, setup.tokens[0]!, setup.vault)).toBe(0n);
    await expectRevert(asAlice.write.withdraw([1]), 'NothingOwed');
  });

  it('refunds deposits no final root credited, once; credited ones are not refundable', async () => {
    const { setup } = await finalScenario();
    await depositOnChain(fixture.alice, setup, 0, 500_000n, alice.publicKey);
    const vault = vaultContract(fixture.alice, setup.vault);
    await expectRevert(vault.write.refund([3n]), 'NotFrozen');
    await confirmed(
      fixture.alice,
      await vault.write.requestForcedExit([toHex(alice.publicKey)], { value: 10n ** 15n }),
    );
    await fixture.time.increaseTime({ seconds: 601 });
    await confirmed(fixture.alice, await vault.write.freeze());
    await expectRevert(vault.write.refund([1n]), 'NotRefundable');
    await expectRevert(vault.write.refund([4n]), 'NotRefundable');
    const before = await tokenBalance(fixture.alice, setup.tokens[0]!, fixture.alice.account.address);
    await confirmed(fixture.alice, await vault.write.refund([3n]));
    await expectRevert(vault.write.refund([3n]), 'NotRefundable');
    await confirmed(fixture.alice, await vault.write.withdraw([0]));
    expect(await tokenBalance(fixture.alice, setup.tokens[0]!, fixture.alice.account.address)).toBe(before + 500_000n);
  });
});

describe('exits of leaves with debts', () => {
  it('pays claim − debt when each debt is covered by its own claim, and refuses a debt above its claim', async () => {
    // Alice borrowed 1 USDC (lent by bob) and spent it: her SOL must not leave while her USDC debt stays.
    // Bob owes 1 USDC against his 3: he is owed 2.
    const { setup, leaves, paths } = await finalScenario({ alice: [0n, 1_000_000n], bob: [0n, 1_000_000n] });
    const vault = vaultContract(fixture.bob, setup.vault);
    await confirmed(
      fixture.alice,
      await vault.write.requestForcedExit([toHex(alice.publicKey)], { value: 10n ** 15n }),
    );
    await fixture.time.increaseTime({ seconds: 601 });
    await confirmed(fixture.bob, await vault.write.freeze());
    await expectRevert(vault.write.exit([exitArgument(leaves[0]!, 1, paths[0]!)]), 'DebtExceedsClaim');
    await confirmed(fixture.bob, await vault.write.exit([exitArgument(leaves[1]!, 2, paths[1]!)]));
    await confirmed(fixture.bob, await vault.write.withdraw([1]));
    expect(await tokenBalance(fixture.bob, setup.tokens[1]!, fixture.bob.account.address)).toBe(2_000_000n);
    // Alice's refused exit leaves nothing owed to her.
    await expectRevert(vaultContract(fixture.alice, setup.vault).write.withdraw([0]), 'NothingOwed');
  });
});

describe('exit gas', () => {
  it('measures an exit at depth 20 (docs/custody.md records the figure)', async () => {
    const setup = await deployScenario(fixture, symbols, { finalityDelaySeconds: 60, graceSeconds: 600 });
    await depositOnChain(fixture.alice, setup, 0, 2_000_000n, alice.publicKey);
    await depositOnChain(fixture.alice, setup, 1, 1_000_000n, alice.publicKey);
    const leaf = exitLeaf(alice.publicKey, 1, fixture.alice.account.address, [2_000_000n, 1_000_000n]);
    const path = Array.from({ length: 20 }, (_, level) => ({
      hash: new Uint8Array(32).fill(level + 1),
      sums: new Uint8Array(64),
    }));
    const leafIndex = 0b1010_1010_1010_1010_1010;
    await commitAs(fixture, setup, baseCommit(setup, rootChildren(leaf.record, leafIndex, path)));
    await fixture.time.increaseTime({ seconds: 61 });
    const vault = vaultContract(fixture.alice, setup.vault);
    await confirmed(fixture.alice, await vault.write.finalize([[]]));
    await confirmed(
      fixture.alice,
      await vault.write.requestForcedExit([toHex(alice.publicKey)], { value: 10n ** 15n }),
    );
    await fixture.time.increaseTime({ seconds: 601 });
    await confirmed(fixture.alice, await vault.write.freeze());
    const { gasUsed } = await confirmed(fixture.alice, await vault.write.exit([exitArgument(leaf, leafIndex, path)]));
    console.log(`exit at depth 20, 2 assets: ${gasUsed} gas`);
    expect(gasUsed).toBeGreaterThan(21_000n);
    expect(gasUsed).toBeLessThan(200_000n);
  });
});
