/**
 * Reading back what the escape needs from the chain (docs/custody.md,
 * "Escape"): the commit a commitment was made with (its prices and payouts
 * are stored only as hashes), and the exit claim a leaf registered in phase 1.
 * Browser-safe: viem only.
 */
import { decodeFunctionData, type Address, type Hex } from 'viem';
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

/** The exit claim a leaf registered in phase 1 (its Exited event), or undefined if it registered none. */
export async function registeredExitClaim(
  clients: ChainClients,
  vault: Address,
  commitment: Hex,
): Promise<{ exitAddress: Address; amounts: readonly bigint[] } | undefined> {
  const [event] = await vaultContract(clients, vault).getEvents.Exited({ commitment }, { fromBlock: 0n });
  if (event === undefined) return undefined;
  return { exitAddress: event.args.exitAddress!, amounts: event.args.amounts! };
}
