/**
 * Shared by the tests that run a real node with the custody service: a data
 * directory, the node and the service's options, waiting for a condition,
 * signing a request with an engine key, a withdrawal paid through a commit,
 * and replaying the node's exports with the replayer's chain-check collector
 * (which must catch a forged root).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { encodeSigningStringBytes, maximumWindowMs, signMessage } from '@vex/engine';
import { ExchangeNode } from '@vex/ledger';
import { type ChainCheckCollector, checkChain } from '@vex/replayer';
import { toHex } from 'viem';
import { afterAll, beforeAll, expect } from 'vitest';
import { confirmed, vaultContract } from '../src/chain.js';
import type { CustodyService, CustodyServiceOptions } from '../src/custody-service.js';
import { type ChainFixture, commitAs, operatorKey, userKey, type VaultSetup } from './fixture.js';
import { replayPublished } from '../src/watchtower.js';

export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Submits `instruction` signed by the key of `seed`; expects it accepted. */
export async function submitSigned(
  node: ExchangeNode,
  key: { readonly seed: Uint8Array; readonly publicKey: Uint8Array },
  instruction: string,
  params: Record<string, string>,
): Promise<void> {
  const groups = [{ instruction, params: Object.entries(params) }];
  const message = encodeSigningStringBytes(groups, Date.now(), maximumWindowMs);
  const submitted = await node.submit({ message, publicKey: key.publicKey, signature: signMessage(key.seed, message) });
  const outcome = submitted.outcome;
  expect(outcome.accepted ? 'accepted' : `${outcome.rejection.code}: ${outcome.rejection.message}`).toBe('accepted');
}

async function exported(write: (destination: PassThrough) => Promise<unknown>): Promise<Buffer> {
  const destination = new PassThrough();
  const chunks: Buffer[] = [];
  destination.on('data', (chunk: Buffer) => chunks.push(chunk));
  await write(destination);
  destination.end();
  return Buffer.concat(chunks);
}

/** The node's published log export and attestations, as a watchtower reads them. */
export async function publishedRecords(node: ExchangeNode): Promise<{ log: Uint8Array; attestations: unknown[] }> {
  // Attestations first: each names a sequence already in the log, so the log read after them holds every one
  // (read the other way round, an attestation made between the two reads names an entry the log export lacks).
  const attestationLines = (await exported((destination) => node.exportAttestations(destination))).toString('utf8');
  const log = await exported((destination) => node.exportLog(destination));
  const lines = attestationLines.trim() === '' ? [] : attestationLines.trim().split('\n');
  return { log: new Uint8Array(log), attestations: lines.map((line) => JSON.parse(line) as unknown) };
}

/** Replays the node's exported log and attestations, collecting what the chain check needs. */
export async function replayWithCollector(node: ExchangeNode): Promise<ChainCheckCollector> {
  const { verified, collector } = await replayPublished(await publishedRecords(node));
  expect(verified).toBe(true);
  return collector;
}

/** A temporary data directory for the calling test file: made before its tests, removed after them. */
export function useDataDirectory(prefix: string): { readonly path: string } {
  const directory = { path: '' };
  beforeAll(async () => {
    directory.path = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (directory.path !== '') await rm(directory.path, { recursive: true, force: true });
  });
  return directory;
}

/** A node attesting every 100 ms, whose attestations go to the custody service `service()` returns. */
export function openCustodyNode(
  dataDirectory: string,
  exchangeName: string,
  service: () => CustodyService | undefined,
): Promise<ExchangeNode> {
  return ExchangeNode.open({
    dataDirectory,
    genesis: { exchangeName, operatorKeys: [operatorKey.accountId], feeAccount: userKey(10).accountId },
    attestationSigningSeed: operatorKey.seed,
    attestEveryMs: 100,
    verifierThreads: 1,
    onAttestationMade: (attestation, state, leafZero) => service()?.attestationObserver(attestation, state, leafZero),
  });
}

/** The custody service of the operator and two of the committee, polling every 50 ms; errors go to `errors`. */
export function custodyServiceOptions(
  fixture: ChainFixture,
  node: ExchangeNode,
  setup: VaultSetup,
  errors: unknown[],
): CustodyServiceOptions {
  return {
    node,
    operatorSeed: operatorKey.seed,
    chain: fixture.operator,
    vault: setup.vault,
    committeeKeys: fixture.committeeKeys.slice(0, 2),
    pollIntervalMs: 50,
    onError: (error: unknown) => errors.push(error),
  };
}

/** A withdrawal of SOL (asset 0) to the user's chain address: by default alice's (userKey(1)) 0.25 SOL. */
export interface SolWithdrawal {
  readonly key: ReturnType<typeof userKey>;
  readonly chain: ChainFixture['alice'];
  readonly quantity: string;
  readonly units: bigint;
}

/** The user withdraws SOL to their chain address; a commit pays it once final, and they pull it. */
export async function withdrawThroughCommit(
  fixture: ChainFixture,
  node: ExchangeNode,
  setup: VaultSetup,
  errors: unknown[],
  withdrawal: SolWithdrawal = { key: userKey(1), chain: fixture.alice, quantity: '0.25', units: 250_000n },
): Promise<void> {
  const { chain } = withdrawal;
  const vault = vaultContract(chain, setup.vault);
  await submitSigned(node, withdrawal.key, 'withdraw', {
    address: chain.account.address.toLowerCase(),
    blockchain: 'Ethereum',
    quantity: withdrawal.quantity,
    symbol: 'SOL',
  });
  await until(async () => (await vault.read.pendingPayouts([0n])) > 0n || errors.length > 0, 'a commit paying it');
  await fixture.time.increaseTime({ seconds: 2 });
  await fixture.time.mine({ blocks: 1 });
  const owed = () => vault.read.owed([chain.account.address, 0n]);
  await until(async () => (await owed()) > 0n || errors.length > 0, 'the payout owed');
  expect(errors).toEqual([]);
  expect(await owed()).toBe(withdrawal.units);
  await confirmed(chain, await vault.write.withdraw([0]));
}

/**
 * A lying operator with a colluding committee commits, at sequence 1000000, a root the log never attested (a
 * one-leaf tree with zero sums, two deposits credited), counting `forcedExitsServed` forced exits served.
 */
export async function commitForged(fixture: ChainFixture, setup: VaultSetup, forcedExitsServed: bigint): Promise<void> {
  const forged = { hash: new Uint8Array(32).fill(5), sums: new Uint8Array(64) };
  await commitAs(fixture, setup, {
    sequence: 1_000_000n,
    stateHash: toHex(new Uint8Array(32).fill(6)),
    assetListHash: setup.configuration.assetListHash,
    depositsCredited: 2n,
    forcedExitsServed,
    left: toHex(new Uint8Array([...forged.hash, ...forged.sums])),
    right: '0x',
    prices: [0n, 0n],
    payouts: [],
  });
}

/** A lying operator with a colluding committee commits a root the log never attested: the chain check says so. */
export async function expectForgedRootCaught(
  fixture: ChainFixture,
  collector: ChainCheckCollector,
  setup: VaultSetup,
): Promise<void> {
  await commitForged(fixture, setup, 0n);
  const doctored = await checkChain(collector, fixture.anvil.rpcUrl, setup.vault);
  expect(doctored.ok).toBe(false);
  expect(doctored.problems.join('\n')).toMatch(/root for sequence 1000000, which the log does not attest/);
}
