/**
 * The escape hatch end to end (issue 14; docs/custody.md): on a real node
 * (LevelDB) and a real anvil, two users deposit on chain, link their exit
 * addresses and trade; one withdraws through a commit and pulls the payout.
 * Then the operator stops: a forced exit goes unserved, time travels past
 * the grace period, the vault is frozen, and both users register their exit
 * claims with proofs the node served (turned into exit arguments by the
 * records helpers, with the prices read back from the final root's commit);
 * past the claim window each claim is paid, and they receive exactly their
 * claims. The replayer's chain cross-check passes, and fails
 * on a doctored chain history (a root the log never attested).
 */
import type { InclusionProof } from '@vex/engine';
import type { ExchangeNode } from '@vex/ledger';
import { checkChain, type ChainCheckCollector } from '@vex/replayer';
import { toHex, type Address } from 'viem';
import { expect, it } from 'vitest';
import { confirmed, vaultContract, type ChainClients } from '../src/chain.js';
import { CustodyService } from '../src/custody-service.js';
import { finalRootPrices, registeredExitClaim } from '../src/exit-claims.js';
import { exitProofOfInclusionProof } from '../src/records.js';
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
import { solUsdcListingParams } from '../../engine/test/support-listings.js';

const fixture = useChainFixture();
const directory = useDataDirectory('custody-escape-');

const alice = userKey(1);
const bob = userKey(2);
const symbols = ['SOL', 'USDC'];

async function listAndTrade(node: ExchangeNode, setup: VaultSetup, service: CustodyService): Promise<void> {
  for (const symbol of symbols) await submitSigned(node, operatorKey, 'assetList', { decimals: '6', symbol });
  await submitSigned(node, operatorKey, 'marketList', solUsdcListingParams);
  await depositOnChain(fixture.alice, setup, 0, 2_000_000n, alice.publicKey);
  await depositOnChain(fixture.bob, setup, 1, 100_000_000n, bob.publicKey);
  service.start();
  await until(() => service.credited.length === 2, 'both deposits credited');
  for (const [user, chain] of [
    [alice, fixture.alice],
    [bob, fixture.bob],
  ] as const) {
    await submitSigned(node, user, 'exitAddressLink', { address: chain.account.address.toLowerCase() });
  }
  // Alice sells 1.5 SOL at 20 USDC to bob: bob pays the taker fee, alice the maker fee.
  const order = { symbol: 'SOL_USDC', orderType: 'Limit', price: '20', quantity: '1.5' };
  await submitSigned(node, alice, 'orderExecute', { ...order, side: 'Ask' });
  await submitSigned(node, bob, 'orderExecute', { ...order, side: 'Bid' });
}

/** The last final commitment's sequence and each user's proof under it, as the node serves them. */
async function proofsUnderLastFinalRoot(node: ExchangeNode, setup: VaultSetup): Promise<InclusionProof[]> {
  const vault = vaultContract(fixture.operator, setup.vault);
  const finalCount = await vault.read.finalCount();
  const committed = await vault.read.commitments([finalCount]);
  const proofs: InclusionProof[] = [];
  for (const user of [alice, bob]) {
    const answer = await node.proof(user.accountId, Number(committed.sequence));
    if (!answer.found) throw new Error(answer.message);
    expect(`0x${answer.proof.attestation.liabilitiesRoot}`).toBe(committed.root);
    proofs.push(answer.proof);
  }
  return proofs;
}

/** A lying operator with a colluding committee commits a root the log never attested: the check says so. */
async function expectDoctoredHistoryCaught(collector: ChainCheckCollector, setup: VaultSetup): Promise<void> {
  const snapshot = await fixture.time.snapshot();
  await expectForgedRootCaught(fixture, collector, setup);
  await fixture.time.revert({ id: snapshot });
}

/** Bob files a forced exit nobody serves; past the grace period anyone may freeze. */
async function freezeAfterUnservedForcedExit(setup: VaultSetup): Promise<void> {
  const vault = vaultContract(fixture.bob, setup.vault);
  await confirmed(fixture.bob, await vault.write.requestForcedExit([toHex(bob.publicKey)], { value: 10n ** 15n }));
  await expect(vault.write.freeze()).rejects.toThrow(/FreezeRefused/);
  await fixture.time.increaseTime({ seconds: 601 });
  await confirmed(fixture.bob, await vault.write.freeze());
  expect(await vault.read.frozen()).toBe(true);
}

/** Phase 1: each user registers their exit claim with their proof and the prices committed with the final root. */
async function registerExit(setup: VaultSetup, proof: InclusionProof, user: ChainClients): Promise<void> {
  const vault = vaultContract(user, setup.vault);
  const argument = exitProofOfInclusionProof(proof, await finalRootPrices(user, setup.vault));
  await confirmed(user, await vault.write.exit([argument]));
  await expect(vault.write.exit([argument])).rejects.toThrow(/AlreadyExited/);
}

/** Phase 2: the claim is paid and each asset pulled: the tokens received are exactly the leaf's claims. */
async function payAndPull(setup: VaultSetup, proof: InclusionProof, user: ChainClients): Promise<void> {
  const vault = vaultContract(user, setup.vault);
  const before = await Promise.all(setup.tokens.map((token) => tokenBalance(user, token, user.account.address)));
  const { commitment } = exitProofOfInclusionProof(proof, []);
  const claim = (await registeredExitClaim(user, setup.vault, commitment))!;
  await confirmed(user, await vault.write.payExit([commitment, claim.exitAddress, claim.amounts]));
  for (const [asset, pair] of proof.balances.entries()) {
    expect(BigInt(pair.debt)).toBe(0n);
    if (BigInt(pair.claim) > 0n) await confirmed(user, await vault.write.withdraw([asset]));
    const after = await tokenBalance(user, setup.tokens[asset]!, user.account.address);
    expect(after - before[asset]!).toBe(BigInt(pair.claim));
  }
}

it('deposits, trades and a paid withdrawal, then the operator stops: freeze, exits, and the chain check', async () => {
  const setup = await deployScenario(fixture, symbols, { finalityDelaySeconds: 1, graceSeconds: 600 });
  let service: CustodyService | undefined;
  const errors: unknown[] = [];
  const node = await openCustodyNode(directory.path, 'escape', () => service);
  let collector: ChainCheckCollector;
  let proofs: InclusionProof[];
  try {
    service = new CustodyService(custodyServiceOptions(fixture, node, setup, errors));
    await listAndTrade(node, setup, service);
    await withdrawThroughCommit(fixture, node, setup, errors);
    // The operator stops: no more commits, no more service of forced exits.
    await service.stop();
    expect(errors).toEqual([]);
    proofs = await proofsUnderLastFinalRoot(node, setup);
    collector = await replayWithCollector(node);
  } finally {
    await service?.stop();
    await node.close();
  }
  expect(proofs.map((proof) => proof.exitAddress)).toEqual(
    [fixture.alice, fixture.bob].map((user) => user.account.address.toLowerCase() as Address),
  );
  // Fees come out of what each receives. Alice: 2 − 1.5 − 0.25 SOL and 30 USDC less the 2 bp maker fee;
  // bob: 1.5 SOL less the 5 bp taker fee and 100 − 30 USDC.
  const claims = proofs.map((proof) => proof.balances.map((pair) => BigInt(pair.claim)));
  expect(claims).toEqual([
    [250_000n, 29_994_000n],
    [1_499_250n, 70_000_000n],
  ]);
  await expectDoctoredHistoryCaught(collector, setup);
  await freezeAfterUnservedForcedExit(setup);
  await registerExit(setup, proofs[0]!, fixture.alice);
  await registerExit(setup, proofs[1]!, fixture.bob);
  await fixture.time.increaseTime({ seconds: 601 });
  await payAndPull(setup, proofs[0]!, fixture.alice);
  await payAndPull(setup, proofs[1]!, fixture.bob);
  const checked = await checkChain(collector, fixture.anvil.rpcUrl, setup.vault);
  expect(checked.problems).toEqual([]);
  expect(checked).toMatchObject({ ok: true, depositsChecked: 2, payoutsChecked: 1 });
});
