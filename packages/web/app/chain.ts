/**
 * Reads the custody contract's side from the chain, through the rpcUrl that
 * GET /api/v1/custody names, with viem: each token's balance held by the vault
 * (ERC-20 balanceOf and decimals), the vault's commitments (docs/custody.md,
 * "Root commitments": commitmentCount, commitments(number), finalCount) and its
 * committee (committee(), committeeThreshold). Nothing here trusts the node's
 * word for the figures; only for where to look.
 */
import { createPublicClient, erc20Abi, http, parseAbi, type Address } from 'viem';
import type { CustodyInfo } from './data.js';

/** The vault's views the page reads (packages/custody/contracts/Vault.sol). */
const commitmentOutput = {
  type: 'tuple',
  name: '',
  components: [
    { type: 'bytes32', name: 'root' },
    { type: 'bytes32', name: 'stateHash' },
    { type: 'bytes32', name: 'pricesHash' },
    { type: 'bytes32', name: 'payoutsHash' },
    { type: 'uint64', name: 'sequence' },
    { type: 'uint64', name: 'depositsCredited' },
    { type: 'uint64', name: 'forcedExitsServed' },
    { type: 'uint64', name: 'committedAt' },
  ],
} as const;

export const vaultViews = [
  ...parseAbi(['function commitmentCount() view returns (uint64)']),
  {
    type: 'function',
    name: 'commitments',
    stateMutability: 'view',
    inputs: [{ type: 'uint256', name: 'number' }],
    outputs: [commitmentOutput],
  },
  ...parseAbi([
    'function finalCount() view returns (uint64)',
    'function committee() view returns (address[])',
    'function committeeThreshold() view returns (uint256)',
  ]),
] as const;

export interface VaultBalance {
  readonly symbol: string;
  readonly token: string;
  readonly units: bigint;
  readonly decimals: number;
}

/** A root the vault holds: the attestation's sequence, its root (64 lower-case hex digits), and whether it is final. */
export interface CommittedRoot {
  readonly number: bigint;
  readonly sequence: number;
  readonly root: string;
  readonly final: boolean;
}

export interface VaultState {
  readonly balances: readonly VaultBalance[];
  /** The most recent commitment, if any. */
  readonly latest: CommittedRoot | undefined;
  readonly committee: readonly string[];
  readonly committeeThreshold: bigint;
}

function chainClient(custody: CustodyInfo) {
  return createPublicClient({ transport: http(custody.rpcUrl, { retryCount: 0, timeout: 10_000 }) });
}

type ChainClient = ReturnType<typeof chainClient>;

async function readBalances(client: ChainClient, custody: CustodyInfo): Promise<VaultBalance[]> {
  return Promise.all(
    Object.entries(custody.tokens).map(async ([symbol, token]) => {
      const address = token as Address;
      const [units, decimals] = await Promise.all([
        client.readContract({ address, abi: erc20Abi, functionName: 'balanceOf', args: [custody.vault as Address] }),
        client.readContract({ address, abi: erc20Abi, functionName: 'decimals' }),
      ]);
      return { symbol, token, units, decimals };
    }),
  );
}

async function readCommitment(
  client: ChainClient,
  vault: Address,
  number: bigint,
  finalCount: bigint,
): Promise<CommittedRoot> {
  const commitment = await client.readContract({
    address: vault,
    abi: vaultViews,
    functionName: 'commitments',
    args: [number],
  });
  return {
    number,
    sequence: Number(commitment.sequence),
    root: commitment.root.slice(2).toLowerCase(),
    final: number <= finalCount,
  };
}

async function commitmentCounts(client: ChainClient, vault: Address): Promise<{ count: bigint; finalCount: bigint }> {
  const [count, finalCount] = await Promise.all([
    client.readContract({ address: vault, abi: vaultViews, functionName: 'commitmentCount' }),
    client.readContract({ address: vault, abi: vaultViews, functionName: 'finalCount' }),
  ]);
  return { count: BigInt(count), finalCount: BigInt(finalCount) };
}

/** The vault's balances, its latest commitment and its committee, read from the chain. */
export async function readVaultState(custody: CustodyInfo): Promise<VaultState> {
  const client = chainClient(custody);
  const vault = custody.vault as Address;
  const [balances, counts, committee, committeeThreshold] = await Promise.all([
    readBalances(client, custody),
    commitmentCounts(client, vault),
    client.readContract({ address: vault, abi: vaultViews, functionName: 'committee' }),
    client.readContract({ address: vault, abi: vaultViews, functionName: 'committeeThreshold' }),
  ]);
  const latest = counts.count === 0n ? undefined : await readCommitment(client, vault, counts.count, counts.finalCount);
  return { balances, latest, committee, committeeThreshold };
}

/**
 * The commitment for the attestation at `sequence`, or undefined when the vault
 * committed none. Committed sequences strictly increase with the commitment's
 * number (docs/custody.md), so a binary search reads about log2(count) of them.
 */
export async function findCommittedRoot(custody: CustodyInfo, sequence: number): Promise<CommittedRoot | undefined> {
  const client = chainClient(custody);
  const vault = custody.vault as Address;
  const { count, finalCount } = await commitmentCounts(client, vault);
  let low = 1n;
  let high = count;
  while (low <= high) {
    const middle = (low + high) / 2n;
    const commitment = await readCommitment(client, vault, middle, finalCount);
    if (commitment.sequence === sequence) return commitment;
    if (commitment.sequence < sequence) low = middle + 1n;
    else high = middle - 1n;
  }
  return undefined;
}
