/**
 * viem clients for one EVM JSON-RPC endpoint and one key, and deployment of
 * the compiled contracts (src/artifacts.ts) with their typed bindings.
 */
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  getContract,
  http,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { demoTokenAbi, demoTokenBytecode, vaultAbi, vaultBytecode } from './artifacts.js';

/** anvil's well-known development mnemonic: its accounts hold test ether on every fresh anvil. */
export const anvilMnemonic = 'test test test test test test test test test test test junk';

/** Development account `index` of a fresh anvil (never use on a real chain). */
export function anvilAccount(index: number): Account {
  return mnemonicToAccount(anvilMnemonic, { addressIndex: index });
}

export function accountFromPrivateKey(privateKey: Hex): Account {
  return privateKeyToAccount(privateKey);
}

export interface ChainClients {
  readonly chain: Chain;
  readonly account: Account;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly walletClient: WalletClient<Transport, Chain, Account>;
}

export function chainOf(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** Clients that read through `rpcUrl` and sign as `account`. */
export function chainClients(rpcUrl: string, chainId: number, account: Account): ChainClients {
  const chain = chainOf(chainId, rpcUrl);
  const transport = http(rpcUrl, { retryCount: 0 });
  return {
    chain,
    account,
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }),
    walletClient: createWalletClient({ chain, transport, account }),
  };
}

/** anvil's test actions (time travel, mining) through `rpcUrl`. */
export function anvilTestClient(rpcUrl: string, chainId: number): TestClient<'anvil', Transport, Chain> {
  return createTestClient({
    mode: 'anvil',
    chain: chainOf(chainId, rpcUrl),
    transport: http(rpcUrl, { retryCount: 0 }),
  });
}

/** Sends a transaction's hash to its receipt, throwing when it reverted. */
export async function confirmed(clients: ChainClients, hash: Hex): Promise<TransactionReceipt> {
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
  return receipt;
}

async function deploy(
  clients: ChainClients,
  abi: Abi,
  bytecode: Hex,
  parameters: readonly unknown[],
): Promise<Address> {
  const hash = await clients.walletClient.deployContract({ abi, bytecode, args: parameters });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== 'success' || receipt.contractAddress == null) throw new Error('deployment reverted');
  return receipt.contractAddress;
}

/** The vault's fixed configuration (docs/custody.md, "Deployment"). */
export interface VaultConfiguration {
  readonly operator: Address;
  /** One ERC-20 per listed asset, in listing order. */
  readonly tokens: readonly Address[];
  readonly assetListHash: Hex;
  readonly committee: readonly Address[];
  readonly committeeThreshold: number;
  readonly finalityDelaySeconds: number;
  readonly graceSeconds: number;
  /** Wei a forced-exit request costs. */
  readonly forcedExitFee: bigint;
}

export async function deployVault(clients: ChainClients, configuration: VaultConfiguration): Promise<Address> {
  return deploy(clients, vaultAbi, vaultBytecode, [
    configuration.operator,
    configuration.tokens,
    configuration.assetListHash,
    configuration.committee,
    BigInt(configuration.committeeThreshold),
    BigInt(configuration.finalityDelaySeconds),
    BigInt(configuration.graceSeconds),
    configuration.forcedExitFee,
  ]);
}

/** A test token anyone may mint; `feeBasisPoints` > 0 makes it keep a fee on every transfer. */
export async function deployDemoToken(
  clients: ChainClients,
  symbol: string,
  decimals: number,
  feeBasisPoints = 0n,
): Promise<Address> {
  return deploy(clients, demoTokenAbi, demoTokenBytecode, [`Demo ${symbol}`, symbol, decimals, feeBasisPoints]);
}

export function vaultContract(clients: ChainClients, address: Address) {
  return getContract({
    abi: vaultAbi,
    address,
    client: { public: clients.publicClient, wallet: clients.walletClient },
  });
}

export function demoTokenContract(clients: ChainClients, address: Address) {
  return getContract({
    abi: demoTokenAbi,
    address,
    client: { public: clients.publicClient, wallet: clients.walletClient },
  });
}
