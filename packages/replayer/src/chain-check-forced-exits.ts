/**
 * The chain check's forced-exit part (docs/custody.md, "Serving forced
 * exits", "Checking the chain"): every forcedExitServe in the log answers a
 * request filed on the vault for the same account, and every committed
 * root's forcedExitsServed = m is justified: requests 1…m each have an
 * answer in the log at or before the root's sequence whose withdrawals were
 * all completed for the vault by then (debited by that root).
 */
import type { ForcedExitView } from '@vex/engine';
import { parseAbi, type Address, type PublicClient } from 'viem';

const forcedExitAbi = [
  ...parseAbi([
    'event ForcedExitRequested(uint64 indexed number, bytes32 indexed publicKey, address requester)',
    'function commitmentCount() view returns (uint64)',
  ]),
  {
    type: 'function',
    name: 'commitments',
    stateMutability: 'view',
    inputs: [{ name: 'number', type: 'uint256' }],
    outputs: [
      {
        name: '',
        type: 'tuple',
        components: [
          { name: 'root', type: 'bytes32' },
          { name: 'stateHash', type: 'bytes32' },
          { name: 'pricesHash', type: 'bytes32' },
          { name: 'payoutsHash', type: 'bytes32' },
          { name: 'sequence', type: 'uint64' },
          { name: 'depositsCredited', type: 'uint64' },
          { name: 'forcedExitsServed', type: 'uint64' },
          { name: 'committedAt', type: 'uint64' },
        ],
      },
    ],
  },
] as const;

export interface LoggedForcedExitAnswer {
  readonly sequence: number;
  readonly account: string;
  readonly withdrawalIds: readonly number[];
}

/** Records a forcedExitServed result of the entry at `sequence`. */
export function collectForcedExitAnswer(
  answers: Map<bigint, LoggedForcedExitAnswer[]>,
  sequence: number,
  forcedExit: ForcedExitView,
): void {
  const request = BigInt(forcedExit.request);
  const withdrawalIds = forcedExit.withdrawals.map((withdrawal) => withdrawal.withdrawalId);
  answers.set(request, [...(answers.get(request) ?? []), { sequence, account: forcedExit.account, withdrawalIds }]);
}

/**
 * Whether forced-exit `request` is served at `sequence`: an answer at or before it whose withdrawals were all
 * completed for the vault by then.
 */
export function forcedExitServedBy(
  answers: ReadonlyMap<bigint, readonly LoggedForcedExitAnswer[]>,
  completedAt: (withdrawalId: number) => number | undefined,
  request: bigint,
  sequence: number,
): boolean {
  return (answers.get(request) ?? []).some(
    (answer) =>
      answer.sequence <= sequence &&
      answer.withdrawalIds.every((withdrawalId) => (completedAt(withdrawalId) ?? Infinity) <= sequence),
  );
}

/** The problems with the log's answers and the vault's forcedExitsServed counts. */
export async function forcedExitProblems(
  client: PublicClient,
  vault: Address,
  answers: ReadonlyMap<bigint, readonly LoggedForcedExitAnswer[]>,
  completedAt: (withdrawalId: number) => number | undefined,
): Promise<string[]> {
  const problems: string[] = [];
  const requests = await client.getContractEvents({
    address: vault,
    abi: forcedExitAbi,
    eventName: 'ForcedExitRequested',
    fromBlock: 0n,
    strict: true,
  });
  const filed = new Map(requests.map((event) => [event.args.number, event.args.publicKey]));
  for (const [request, list] of answers) {
    const publicKey = filed.get(request);
    const account = publicKey === undefined ? undefined : Buffer.from(publicKey.slice(2), 'hex').toString('base64');
    for (const answer of list) {
      if (account !== answer.account) {
        problems.push(`the log answers forced exit ${request} for ${answer.account}, which the vault does not hold`);
      }
    }
  }
  const count = await client.readContract({ address: vault, abi: forcedExitAbi, functionName: 'commitmentCount' });
  for (let number = 1n; number <= count; number += 1n) {
    const commitment = await client.readContract({
      address: vault,
      abi: forcedExitAbi,
      functionName: 'commitments',
      args: [number],
    });
    const sequence = Number(commitment.sequence);
    for (let request = 1n; request <= commitment.forcedExitsServed; request += 1n) {
      if (!forcedExitServedBy(answers, completedAt, request, sequence)) {
        problems.push(
          `the vault's commit of sequence ${sequence} counts forced exit ${request} served, ` +
            'but the log has not served it by then',
        );
        break;
      }
    }
  }
  return problems;
}
