/**
 * Reads the custody contract's side from the chain, through the rpcUrl that
 * GET /api/v1/custody names, with viem: each token's balance held by the vault
 * (ERC-20 balanceOf and decimals) and the liabilities root the vault committed
 * for an attestation's sequence. Nothing here trusts the node's word for the
 * figures; only for where to look.
 */
import { createPublicClient, erc20Abi, http, parseAbi, type Address, type Hex } from 'viem';
import type { CustodyInfo } from './data.js';

/**
 * The vault's view of a committed root (docs/custody.md): the liabilities root
 * committed with the attestation at `sequence`, zero when none was.
 */
export const vaultRootAbi = parseAbi(['function committedRoot(uint64 sequence) view returns (bytes32)']);

export interface VaultBalance {
  readonly symbol: string;
  readonly token: string;
  readonly units: bigint;
  readonly decimals: number;
}

function chainClient(custody: CustodyInfo) {
  return createPublicClient({ transport: http(custody.rpcUrl, { retryCount: 0, timeout: 10_000 }) });
}

/** The vault's balance of every listed token, read from the chain. */
export async function readVaultBalances(custody: CustodyInfo): Promise<VaultBalance[]> {
  const client = chainClient(custody);
  const entries = Object.entries(custody.tokens);
  return Promise.all(
    entries.map(async ([symbol, token]) => {
      const address = token as Address;
      const [units, decimals] = await Promise.all([
        client.readContract({ address, abi: erc20Abi, functionName: 'balanceOf', args: [custody.vault as Address] }),
        client.readContract({ address, abi: erc20Abi, functionName: 'decimals' }),
      ]);
      return { symbol, token, units, decimals };
    }),
  );
}

/** The root the vault holds for `sequence`, as 64 lower-case hex digits, or undefined when none is committed (zero). */
export async function readCommittedRoot(custody: CustodyInfo, sequence: number): Promise<string | undefined> {
  const root: Hex = await chainClient(custody).readContract({
    address: custody.vault as Address,
    abi: vaultRootAbi,
    functionName: 'committedRoot',
    args: [BigInt(sequence)],
  });
  const hex = root.slice(2).toLowerCase();
  return /^0+$/.test(hex) ? undefined : hex;
}
