/**
 * A borrower's escape at the committed prices (issue 14; docs/custody.md,
 * "Root commitments" and "Escape"), on a real node (LevelDB) and a real
 * anvil: the node commits each attestation's index prices with its root and
 * a watchtower, replaying the node's log itself, co-signs them. Bob borrows
 * 2 SOL against 1,000 USDC and withdraws the SOL through a commit, so his
 * leaf owes more SOL than it holds. The operator stops; a forced exit goes
 * unserved, the vault is frozen, and bob registers and is paid his net
 * equity in USDC, valued at the committed prices. A request with doctored
 * prices is refused by the watchtower.
 */
import type { InclusionProof } from '@vex/engine';
import type { ExchangeNode } from '@vex/ledger';
import { commitDigest, type SignatureRequest, type VaultIdentity } from '@vex/replayer';
import { toHex } from 'viem';
import { expect, it } from 'vitest';
import { confirmed, vaultContract } from '../src/chain.js';
import { keySigners } from '../src/committee.js';
import { CustodyService } from '../src/custody-service.js';
import { finalRootPrices, registeredExitClaim } from '../src/exit-claims.js';
import { exitProofOfInclusionProof } from '../src/records.js';
import { Watchtower } from '../src/watchtower.js';
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
  openCustodyNode,
  publishedRecords,
  submitSigned,
  until,
  useDataDirectory,
  withdrawThroughCommit,
} from './node-fixture.js';
import { listingParams } from '../../ledger/test/margin-log.js';

const fixture = useChainFixture();
const directory = useDataDirectory('custody-escape-margin-');

const alice = userKey(1);
const bob = userKey(2);
/** One smallest unit of a 6-decimal asset at price 1, in 10^-36 settlement units: 10^18 · 10^(18 − 6). */
const unitPrice = 10n ** 30n;

/** Two watchtower-checked signers (threshold 2): one key in process, and the watchtower, recording what it is asked. */
function signersWith(watchtower: Watchtower, asked: SignatureRequest[]) {
  return [
    ...keySigners(fixture.committeeKeys.slice(0, 1)),
    (request: SignatureRequest) => {
      asked.push(request);
      return watchtower.signer(request);
    },
  ];
}

/** Margin listed, SOL at 100; alice lends 10 SOL, bob borrows 2 SOL against 1,000 USDC and withdraws them. */
async function borrowAndWithdraw(node: ExchangeNode, setup: VaultSetup, service: CustodyService, errors: unknown[]) {
  for (const symbol of ['SOL', 'USDC']) await submitSigned(node, operatorKey, 'assetList', { decimals: '6', symbol });
  await submitSigned(node, operatorKey, 'borrowLendMarketList', listingParams('USDC', {}));
  await submitSigned(node, operatorKey, 'borrowLendMarketList', listingParams('SOL', { collateralWeight: '0.8' }));
  const publishedAtMs = String(Date.now() - 1000);
  await submitSigned(node, operatorKey, 'indexPriceUpdate', { symbol: 'SOL', price: '100', publishedAtMs });
  await depositOnChain(fixture.alice, setup, 0, 10_000_000n, alice.publicKey);
  await depositOnChain(fixture.bob, setup, 1, 1_000_000_000n, bob.publicKey);
  service.start();
  await until(() => service.credited.length === 2, 'both deposits credited');
  await submitSigned(node, bob, 'exitAddressLink', { address: fixture.bob.account.address.toLowerCase() });
  await submitSigned(node, alice, 'borrowLendExecute', { symbol: 'SOL', side: 'Lend', quantity: '10' });
  await submitSigned(node, bob, 'borrowLendExecute', { symbol: 'SOL', side: 'Borrow', quantity: '2' });
  const withdrawal = { key: bob, chain: fixture.bob, quantity: '2', units: 2_000_000n };
  await withdrawThroughCommit(fixture, node, setup, errors, withdrawal);
}

/**
 * A lying operator pricing the debt asset at almost nothing (bob would take out nearly all his USDC): the
 * watchtower refuses, though the digest is the doctored commit's own.
 */
async function expectDoctoredPricesRefused(watchtower: Watchtower, honest: SignatureRequest, identity: VaultIdentity) {
  expect(honest.prices).toEqual([100n * unitPrice, unitPrice]);
  const { digest: _honestDigest, ...fields } = { ...honest, prices: [1n, unitPrice] };
  const doctored = { ...fields, digest: commitDigest(identity, fields) };
  expect(await watchtower.signer(doctored)).toBeUndefined();
  const replayed = honest.prices.join(', ');
  expect(watchtower.refusals).toEqual([
    `the commit's prices for sequence ${honest.sequence} are [1, ${unitPrice}], the replay's [${replayed}]`,
  ]);
}

/** Bob's net equity in USDC at the committed prices: his USDC claim less his SOL deficit, scaled down. */
function netEquity(proof: InclusionProof, prices: readonly bigint[]): bigint {
  // Bob's leaf owes more SOL than it holds (the 2 SOL left through the withdrawal, with interest to the root).
  const [sol, usdc] = proof.balances.map((pair) => ({ claim: BigInt(pair.claim), debt: BigInt(pair.debt) }));
  expect(sol!.claim).toBe(0n);
  expect(sol!.debt).toBeGreaterThanOrEqual(2_000_000n);
  expect(usdc).toEqual({ claim: 1_000_000_000n, debt: 0n });
  const surplus = usdc!.claim * prices[1]!;
  const deficit = sol!.debt * prices[0]!;
  const equity = (usdc!.claim * (surplus - deficit)) / surplus;
  // 1,000 USDC less 2 SOL at 100, less interest of a few seconds.
  expect(equity).toBeLessThanOrEqual(800_000_000n);
  expect(equity).toBeGreaterThan(799_990_000n);
  return equity;
}

/** The operator has stopped: bob's forced exit goes unserved, he freezes, registers and is paid `equity` USDC. */
async function escapeAtCommittedPrices(setup: VaultSetup, proof: InclusionProof, equity: bigint): Promise<void> {
  const prices = await finalRootPrices(fixture.bob, setup.vault);
  const bobVault = vaultContract(fixture.bob, setup.vault);
  await confirmed(fixture.bob, await bobVault.write.requestForcedExit([toHex(bob.publicKey)], { value: 10n ** 15n }));
  await fixture.time.increaseTime({ seconds: 601 });
  await confirmed(fixture.bob, await bobVault.write.freeze());
  const argument = exitProofOfInclusionProof(proof, prices);
  await expect(bobVault.write.exit([{ ...argument, prices: [0n, unitPrice] }])).rejects.toThrow(/BadPrices/);
  await confirmed(fixture.bob, await bobVault.write.exit([argument]));
  const claim = (await registeredExitClaim(fixture.bob, setup.vault, argument.commitment))!;
  expect(claim.amounts).toEqual([0n, equity]);
  await fixture.time.increaseTime({ seconds: 601 });
  const before = await tokenBalance(fixture.bob, setup.tokens[1]!, fixture.bob.account.address);
  await confirmed(fixture.bob, await bobVault.write.payExit([argument.commitment, claim.exitAddress, claim.amounts]));
  await confirmed(fixture.bob, await bobVault.write.withdraw([1]));
  const after = await tokenBalance(fixture.bob, setup.tokens[1]!, fixture.bob.account.address);
  expect(after - before).toBe(equity);
}

it('commits index prices co-signed by a watchtower; a borrower exits its net equity at them once frozen', async () => {
  const setup = await deployScenario(fixture, ['SOL', 'USDC'], { finalityDelaySeconds: 1, graceSeconds: 600 });
  const identity = { chainId: BigInt(fixture.anvil.chainId), vault: setup.vault };
  let service: CustodyService | undefined;
  const errors: unknown[] = [];
  const node = await openCustodyNode(directory.path, 'escape-margin', () => service);
  const records = () => publishedRecords(node);
  const watchtower = new Watchtower({ records, committeeKey: fixture.committeeKeys[1]!, vault: identity });
  const asked: SignatureRequest[] = [];
  let answer: Awaited<ReturnType<typeof node.proof>>;
  try {
    const options = custodyServiceOptions(fixture, node, setup, errors);
    service = new CustodyService({
      ...options,
      committeeKeys: undefined,
      committeeSigners: signersWith(watchtower, asked),
    });
    await borrowAndWithdraw(node, setup, service, errors);
    // The operator stops: no more commits, no more service of forced exits.
    await service.stop();
    expect(errors).toEqual([]);
    expect(watchtower.refusals).toEqual([]);
    await expectDoctoredPricesRefused(watchtower, asked.at(-1)!, identity);
    const vault = vaultContract(fixture.operator, setup.vault);
    const final = await vault.read.commitments([await vault.read.finalCount()]);
    answer = await node.proof(bob.accountId, Number(final.sequence));
  } finally {
    await service?.stop();
    await node.close();
  }
  if (!answer.found) throw new Error(answer.message);
  const prices = await finalRootPrices(fixture.bob, setup.vault);
  expect(prices).toEqual([100n * unitPrice, unitPrice]);
  await escapeAtCommittedPrices(setup, answer.proof, netEquity(answer.proof, prices));
});
