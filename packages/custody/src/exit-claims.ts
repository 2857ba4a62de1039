/**
 * Reading back what the escape needs from the chain (docs/custody.md,
 * "Escape"): the commit a commitment was made with (its prices and payouts
 * are stored only as hashes), and the exit claim a leaf registered in phase 1
 * and what phase 2 paid it. Browser-safe: viem only.
 */
import { decodeFunctionData, getContract, type Address, type Hex } from 'viem';
import { vaultAbi } from './artifacts.js';
import { vaultContract, type ChainClients } from './chain.js';

type CommitRootArguments = Extract<
  ReturnType<typeof decodeFunctionData<typeof vaultAbi>>,
  { functionName: 'commitRoot' }
>['args'];

/** The commit of commitment `commitNumber` (1, 2, …), read back from its commitRoot transaction. */
export async function committedCommit(
  clients: ChainClients,
  vault: Address,
  commitNumber: bigint,
): Promise<CommitRootArguments[0]> {
  const [event] = await vaultContract(clients, vault).getEvents.RootCommitted({ commitNumber }, { fromBlock: 0n });
  if (event === undefined) throw new Error(`commitment ${commitNumber} has no RootCommitted event`);
  const transaction = await clients.publicClient.getTransaction({ hash: event.transactionHash });
  const call = decodeFunctionData({ abi: vaultAbi, data: transaction.input });
  if (call.functionName !== 'commitRoot') {
    throw new Error(`commitment ${commitNumber} was not made by a direct commitRoot call`);
  }
  return call.args[0];
}

/** The prices committed with the last final root: what an exit proof must carry. */
export async function finalRootPrices(clients: ChainClients, vault: Address): Promise<readonly bigint[]> {
  const finalCount = await vaultContract(clients, vault).read.finalCount();
  if (finalCount === 0n) throw new Error('the vault has no final root');
  return (await committedCommit(clients, vault, finalCount)).prices;
}

/** The chain reader the escape's reads need (no wallet: the SDK's escape status reads with this alone). */
export type ChainReader = Pick<ChainClients, 'publicClient'>;

function vaultReader(clients: ChainReader, vault: Address) {
  return getContract({ abi: vaultAbi, address: vault, client: clients.publicClient });
}

/** The exit claim a leaf registered in phase 1 (its Exited event), or undefined if it registered none. */
export async function registeredExitClaim(
  clients: ChainReader,
  vault: Address,
  commitment: Hex,
): Promise<{ exitAddress: Address; amounts: readonly bigint[] } | undefined> {
  const [event] = await vaultReader(clients, vault).getEvents.Exited({ commitment }, { fromBlock: 0n });
  if (event === undefined) return undefined;
  return { exitAddress: event.args.exitAddress!, amounts: event.args.amounts! };
}

/**
 * `exitClaims(commitment)` once the claim is paid: Vault.sol's private constant
 * `PAID = bytes32(uint256(1))` (0 is no claim; anything else is the hash of a
 * registered claim). Pinned against the chain by packages/client/test/escape-status.test.ts.
 */
export const paidExitClaim: Hex = `0x${'0'.repeat(63)}1`;

/** Where a leaf's exit claim stands: none, registered in phase 1, or paid in phase 2. */
export interface ExitClaimState {
  readonly state: 'none' | 'registered' | 'paid';
  /** What phase 1 registered per asset (its Exited event). */
  readonly registered?: readonly bigint[];
  /** What phase 2 paid per asset, in full or pro rata (its ExitPaid event). */
  readonly paid?: readonly bigint[];
}

export async function exitClaimState(clients: ChainReader, vault: Address, commitment: Hex): Promise<ExitClaimState> {
  const claim = await vaultReader(clients, vault).read.exitClaims([commitment]);
  if (BigInt(claim) === 0n) return { state: 'none' };
  const registered = (await registeredExitClaim(clients, vault, commitment))?.amounts;
  if (claim !== paidExitClaim) return { state: 'registered', ...(registered === undefined ? {} : { registered }) };
  const [event] = await vaultReader(clients, vault).getEvents.ExitPaid({ commitment }, { fromBlock: 0n });
  const paid = event?.args.amounts;
  return {
    state: 'paid',
    ...(registered === undefined ? {} : { registered }),
    ...(paid === undefined ? {} : { paid }),
  };
}
