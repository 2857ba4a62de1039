/**
 * The escape hatch end to end (issue 14; docs/custody.md): on a real node
 * (LevelDB) and a real anvil, two users deposit on chain, link their exit
 * addresses and trade; one withdraws through a commit and pulls the payout.
 * Then the operator stops: a forced exit goes unserved, time travels past
 * the grace period, the vault is frozen, and both users exit with proofs the
 * node served, turned into exit arguments by the records helpers, receiving
 * exactly their claims. The replayer's chain cross-check passes, and fails
 * on a doctored chain history (a root the log never attested).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InclusionProof } from '@vex/engine';
import { ExchangeNode } from '@vex/ledger';
import { checkChain, type ChainCheckCollector } from '@vex/replayer';
import { toHex, type Address } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { confirmed, vaultContract, type ChainClients } from '../src/chain.js';
import { CustodyService } from '../src/custody-service.js';
import { exitProofOfInclusionProof } from '../src/records.js';
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
import { replayWithCollector, submitSigned, until } from './node-fixture.js';

let fixture: ChainFixture;
let directory: string;
beforeAll(async () => {
  fixture = await startChainFixture();
  directory = await mkdtemp(join(tmpdir(), 'custody-escape-'));
});
afterAll(async () => {
  await fixture?.anvil.stop();
  await rm(directory, { recursive: true, force: true });
});

const alice = userKey(1);
const bob = userKey(2);
const symbols = ['SOL', 'USDC'];

const market = {
  symbol: 'SOL_USDC',
  baseSymbol: 'SOL',
  quoteSymbol: 'USDC',
  tickSize: '0.01',
  stepSize: '0.01',
  minQuantity: '0.01',
  maxQuantity: '100000',
  minPrice: '0.01',
  maxPrice: '1000000',
  makerFeeBps: '2',
  takerFeeBps: '5',
};

async function listAndTrade(node: ExchangeNode, setup: VaultSetup, service: CustodyService): Promise<void> {
  for (const symbol of symbols) await submitSigned(node, operatorKey, 'assetList', { decimals: '6', symbol });
  await submitSigned(node, operatorKey, 'marketList', market);
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

/** Alice withdraws 0.25 SOL to her chain address; a commit pays it once final, and she pulls it. */
async function withdrawThroughCommit(node: ExchangeNode, setup: VaultSetup, errors: unknown[]): Promise<void> {
  const vault = vaultContract(fixture.alice, setup.vault);
  await submitSigned(node, alice, 'withdraw', {
    address: fixture.alice.account.address.toLowerCase(),
    blockchain: 'Ethereum',
    quantity: '0.25',
    symbol: 'SOL',
  });
  await until(async () => (await vault.read.pendingPayouts([0n])) > 0n || errors.length > 0, 'a commit paying it');
  await fixture.time.increaseTime({ seconds: 2 });
  await fixture.time.mine({ blocks: 1 });
  const owed = () => vault.read.owed([fixture.alice.account.address, 0n]);
  await until(async () => (await owed()) > 0n || errors.length > 0, 'the payout owed');
  expect(errors).toEqual([]);
  expect(await owed()).toBe(250_000n);
  await confirmed(fixture.alice, await vault.write.withdraw([0]));
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
  const forged = new Uint8Array(32 + 64).fill(5, 0, 32);
  await commitAs(fixture, setup, {
    sequence: 1_000_000n,
    stateHash: toHex(new Uint8Array(32).fill(6)),
    assetListHash: setup.configuration.assetListHash,
    depositsCredited: 2n,
    forcedExitsServed: 0n,
    left: toHex(forged),
    right: '0x',
    prices: [0n, 0n],
    payouts: [],
  });
  const doctored = await checkChain(collector, fixture.anvil.rpcUrl, setup.vault);
  expect(doctored.ok).toBe(false);
  expect(doctored.problems.join('\n')).toMatch(/root for sequence 1000000, which the log does not attest/);
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

/** Each user exits with their proof and pulls every asset: the tokens received are exactly the leaf's claims. */
async function exitAndPull(setup: VaultSetup, proof: InclusionProof, user: ChainClients): Promise<void> {
  const vault = vaultContract(user, setup.vault);
  const before = await Promise.all(setup.tokens.map((token) => tokenBalance(user, token, user.account.address)));
  await confirmed(user, await vault.write.exit([exitProofOfInclusionProof(proof, [0n, 0n])]));
  await expect(vault.write.exit([exitProofOfInclusionProof(proof, [0n, 0n])])).rejects.toThrow(/AlreadyExited/);
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
  const node = await ExchangeNode.open({
    dataDirectory: directory,
    genesis: { exchangeName: 'escape', operatorKeys: [operatorKey.accountId], feeAccount: userKey(10).accountId },
    attestationSigningSeed: operatorKey.seed,
    attestEveryMs: 100,
    verifierThreads: 1,
    onAttestationMade: (attestation, state, leafZero) => service?.attestationObserver(attestation, state, leafZero),
  });
  let collector: ChainCheckCollector;
  let proofs: InclusionProof[];
  try {
    service = new CustodyService({
      node,
      operatorSeed: operatorKey.seed,
      chain: fixture.operator,
      vault: setup.vault,
      committeeKeys: fixture.committeeKeys.slice(0, 2),
      pollIntervalMs: 50,
      onError: (error: unknown) => errors.push(error),
    });
    await listAndTrade(node, setup, service);
    await withdrawThroughCommit(node, setup, errors);
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
  await exitAndPull(setup, proofs[0]!, fixture.alice);
  await exitAndPull(setup, proofs[1]!, fixture.bob);
  const checked = await checkChain(collector, fixture.anvil.rpcUrl, setup.vault);
  expect(checked.problems).toEqual([]);
  expect(checked).toMatchObject({ ok: true, depositsChecked: 2, payoutsChecked: 1 });
});
