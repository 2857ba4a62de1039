/**
 * Shared set-up of the contract tests: one anvil per test file, the operator,
 * two users and a committee, demo tokens, and a fresh vault per scenario.
 */
import {
  accountIdOf,
  createState,
  type LiabilitiesTree,
  execute,
  isRejection,
  publicKeyFromSeed,
  type ExchangeState,
  type Instruction,
} from '@vex/engine';
import { concat, sha256, slice, toHex, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { afterAll, beforeAll, expect } from 'vitest';
import { startAnvil, type Anvil } from '../src/anvil.js';
import {
  anvilAccount,
  anvilTestClient,
  chainClients,
  confirmed,
  demoTokenContract,
  deployDemoToken,
  deployVault,
  vaultContract,
  type ChainClients,
  type VaultConfiguration,
} from '../src/chain.js';
import { assetListHash, rootChildrenOfBody, signCommitDigest } from '../src/records.js';

export interface ChainFixture {
  readonly anvil: Anvil;
  readonly operator: ChainClients;
  readonly alice: ChainClients;
  readonly bob: ChainClients;
  readonly committeeKeys: readonly Hex[];
  readonly time: ReturnType<typeof anvilTestClient>;
}

export async function startChainFixture(): Promise<ChainFixture> {
  const anvil = await startAnvil();
  const clientsOf = (index: number): ChainClients => chainClients(anvil.rpcUrl, anvil.chainId, anvilAccount(index));
  return {
    anvil,
    operator: clientsOf(0),
    alice: clientsOf(1),
    bob: clientsOf(2),
    committeeKeys: [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()],
    time: anvilTestClient(anvil.rpcUrl, anvil.chainId),
  };
}

/** One anvil for the calling test file: filled in before its tests, stopped after them. */
export function useChainFixture(): ChainFixture {
  const fixture = {} as { -readonly [K in keyof ChainFixture]: ChainFixture[K] };
  beforeAll(async () => {
    Object.assign(fixture, await startChainFixture());
  });
  afterAll(async () => {
    await fixture.anvil?.stop();
  });
  return fixture;
}

export interface VaultSetup {
  readonly vault: Address;
  readonly tokens: readonly Address[];
  readonly symbols: readonly string[];
  readonly configuration: VaultConfiguration;
}

/** Demo tokens for `symbols` (the first with `feeBasisPoints`) and a vault over them. */
export async function deployScenario(
  fixture: ChainFixture,
  symbols: readonly string[],
  overrides: Partial<VaultConfiguration> = {},
  feeBasisPoints = 0n,
): Promise<VaultSetup> {
  const tokens: Address[] = [];
  for (const [index, symbol] of symbols.entries()) {
    tokens.push(await deployDemoToken(fixture.operator, symbol, 6, index === 0 ? feeBasisPoints : 0n));
  }
  const configuration: VaultConfiguration = {
    operator: fixture.operator.account.address,
    tokens,
    assetListHash: assetListHash(symbols),
    committee: fixture.committeeKeys.map((key) => privateKeyToAddress(key)),
    committeeThreshold: 2,
    finalityDelaySeconds: 3600,
    graceSeconds: 86_400,
    forcedExitFee: 10n ** 15n,
    ...overrides,
  };
  return { vault: await deployVault(fixture.operator, configuration), tokens, symbols, configuration };
}

/** Mints `amount` of token `asset` to the user, approves the vault and deposits it for `publicKey`. */
export async function depositOnChain(
  user: ChainClients,
  setup: VaultSetup,
  asset: number,
  amount: bigint,
  publicKey: Uint8Array,
): Promise<void> {
  const token = demoTokenContract(user, setup.tokens[asset]!);
  await confirmed(user, await token.write.mint([user.account.address, amount]));
  await confirmed(user, await token.write.approve([setup.vault, amount]));
  await confirmed(user, await vaultContract(user, setup.vault).write.deposit([asset, amount, toHex(publicKey)]));
}

export async function tokenBalance(clients: ChainClients, token: Address, owner: Address): Promise<bigint> {
  return demoTokenContract(clients, token).read.balanceOf([owner]);
}

/** Expects a contract call to revert with the named custom error. */
export async function expectRevert(call: Promise<unknown>, errorName: string): Promise<void> {
  let caught: unknown;
  try {
    await call;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${errorName}`).toBeInstanceOf(Error);
  expect((caught as Error).message).toContain(errorName);
}

/** A deterministic ed25519 key from a byte, as the engine's tests make them. */
export function userKey(fill: number): { publicKey: Uint8Array; accountId: string; seed: Uint8Array } {
  const seed = new Uint8Array(32).fill(fill);
  const publicKey = publicKeyFromSeed(seed);
  return { seed, publicKey, accountId: accountIdOf(publicKey) };
}

export const operatorKey = userKey(200);

/** An engine state listing `symbols`, with the operator's key in the genesis. */
export function engineState(symbols: readonly string[]): ExchangeState {
  const state = createState({
    exchangeName: 'custody',
    operatorKeys: [operatorKey.accountId],
    feeAccount: userKey(10).accountId,
  });
  for (const symbol of symbols) operatorDoes(state, { kind: 'assetList', symbol, decimals: 6 });
  return state;
}

let logTimeMs = 1;
export function operatorDoes(state: ExchangeState, instruction: Instruction, signature?: Uint8Array): void {
  logTimeMs += 1;
  const outcome = execute(state, operatorKey.accountId, instruction, logTimeMs, signature);
  if (!outcome.accepted) throw new Error(outcome.rejection.message);
  const failed = outcome.results.find((result) => !result.ok || isRejection(result.value));
  if (failed !== undefined && !failed.ok) throw new Error(failed.rejection.message);
}

/** Credits a deposit in the engine (creating the account), as the chain watcher does. */
export function creditInEngine(
  state: ExchangeState,
  accountId: string,
  symbol: string,
  quantity: string,
  number: number,
): void {
  operatorDoes(
    state,
    {
      kind: 'depositCredit',
      account: accountId,
      symbol,
      quantity,
      blockchain: 'Ethereum',
      chainTransactionId: `vault-${number}`,
    },
    new Uint8Array(64).fill(number),
  );
}

/** The commit's two child records from the engine's tree, folded from the fee account's (leaf 0's) proof. */
export function childrenFromEngineTree(tree: LiabilitiesTree, state: ExchangeState): { left: Hex; right: Hex } {
  const fee = state.accountList[0]!;
  return rootChildrenOfBody(fee.id, tree.proofPath(fee.id)!);
}

export interface CommitArgument {
  readonly sequence: bigint;
  readonly stateHash: Hex;
  readonly assetListHash: Hex;
  readonly depositsCredited: bigint;
  readonly forcedExitsServed: bigint;
  readonly left: Hex;
  readonly right: Hex;
  readonly prices: readonly bigint[];
  readonly payouts: readonly { recipient: Address; asset: number; amount: bigint; withdrawalId: bigint }[];
}

/** Signs `commit` by the committee members `signers` (indexes into the fixture's keys); commits it as the operator. */
export async function commitAs(
  fixture: ChainFixture,
  setup: VaultSetup,
  commit: CommitArgument,
  signers: readonly number[] = [0, 1],
): Promise<{ gasUsed: bigint }> {
  const vault = vaultContract(fixture.operator, setup.vault);
  const root = rootHashOfChildren(commit.left, commit.right);
  const digest = await vault.read.commitDigest([root, commit]);
  const signatures = await signCommitDigest(
    digest,
    signers.map((index) => fixture.committeeKeys[index]!),
  );
  return confirmed(fixture.operator, await vault.write.commitRoot([commit, signatures]));
}

/** The root the contract derives from two child records. */
export function rootHashOfChildren(left: Hex, right: Hex): Hex {
  if (right === '0x') return slice(left, 0, 32);
  return sha256(concat(['0x01', left, right]));
}

/** GET /api/v1/custody's answer for a scenario's vault: each symbol's token, the committee and the delays. */
export function custodyInfoOf(fixture: ChainFixture, setup: VaultSetup) {
  return {
    chainId: fixture.anvil.chainId,
    rpcUrl: fixture.anvil.rpcUrl,
    vault: setup.vault,
    tokens: Object.fromEntries(setup.symbols.map((symbol, index) => [symbol, setup.tokens[index]!])),
    committee: setup.configuration.committee,
    finalityDelaySeconds: setup.configuration.finalityDelaySeconds,
    graceSeconds: setup.configuration.graceSeconds,
  };
}
