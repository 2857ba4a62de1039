/**
 * Serving forced exits (docs/custody.md, "Serving forced exits"): the node
 * reads the vault's forced-exit requests and answers each, in request order,
 * with the operator instruction forcedExitServe, which cancels the account's
 * orders and withdraws its whole available balance to its exit address. The
 * withdrawals then take the ordinary way (completed, debited by a root, paid
 * by that root's commit), and a request counts as served, in the commit's
 * forcedExitsServed, from the first attestation at or after its answer at
 * which none of its withdrawals is still pending.
 *
 * Resumable: after a restart the server answers again every request after
 * the vault's last committed forcedExitsServed. A second answer is harmless
 * (it withdraws what the account holds now, to the same address the account
 * linked), so nothing is lost and nothing goes anywhere the account did not
 * name.
 */
import type { ApplyOutcome, ExchangeState } from '@vex/engine';
import type { Address, Hex } from 'viem';
import { vaultContract, type ChainClients } from './chain.js';

/** Submits one operator instruction for the service (signed with the operator key). */
export type OperatorSubmit = (
  instruction: string,
  params: Record<string, string>,
) => Promise<{ readonly outcome: ApplyOutcome; readonly sequence: number | undefined }>;

interface Answer {
  /** The log sequence of the forcedExitServe entry. */
  readonly sequence: number;
  readonly withdrawalIds: readonly number[];
}

/** The base64 account id of a 32-byte public key as the vault stores it. */
export function accountOfPublicKey(publicKey: Hex): string {
  return Buffer.from(publicKey.slice(2), 'hex').toString('base64');
}

export class ForcedExitServer {
  /** The next request to answer; undefined until the first round has read the vault. */
  private nextRequest: bigint | undefined;
  private readonly answers = new Map<bigint, Answer>();
  /** Requests 1…servedPrefix are served in the newest attestation seen. */
  private servedPrefix = 0n;
  /** Request numbers answered by this process, in order (for tests and logs). */
  readonly answered: bigint[] = [];

  constructor(
    private readonly chain: ChainClients,
    private readonly vault: Address,
    private readonly submit: OperatorSubmit,
  ) {}

  /** Answers every request filed and not yet answered, in request order. */
  async serve(): Promise<void> {
    const contract = vaultContract(this.chain, this.vault);
    if (this.nextRequest === undefined) {
      const count = await contract.read.commitmentCount();
      const served = count === 0n ? 0n : (await contract.read.commitments([count])).forcedExitsServed;
      if (this.servedPrefix < served) this.servedPrefix = served;
      this.nextRequest = served + 1n;
    }
    const filed = await contract.read.forcedExitCount();
    for (let number = this.nextRequest; number <= filed; number += 1n) {
      const request = await contract.read.forcedExits([number]);
      const params = { account: accountOfPublicKey(request.publicKey), request: String(number) };
      const { outcome, sequence } = await this.submit('forcedExitServe', params);
      const result = outcome.accepted ? outcome.results[0] : undefined;
      if (sequence === undefined || result === undefined || !result.ok || result.value.kind !== 'forcedExitServed') {
        const why = outcome.accepted ? 'no forcedExitServed result' : outcome.rejection.message;
        throw new Error(`answering forced exit ${number}: ${why}`);
      }
      const withdrawalIds = result.value.forcedExit.withdrawals.map((withdrawal) => withdrawal.withdrawalId);
      this.answers.set(number, { sequence, withdrawalIds });
      this.answered.push(number);
      this.nextRequest = number + 1n;
    }
  }

  /**
   * For the attestation observer: how many requests (1…m, in order) are
   * served at `sequence`: answered at or before it, with none of the
   * answer's withdrawals still pending in `state` (the root has debited them,
   * so they are among that commit's payouts or an earlier one's).
   */
  servedAt(sequence: number, state: ExchangeState): bigint {
    for (;;) {
      const answer = this.answers.get(this.servedPrefix + 1n);
      if (answer === undefined || answer.sequence > sequence) break;
      if (answer.withdrawalIds.some((withdrawalId) => state.pendingWithdrawals.has(withdrawalId))) break;
      this.answers.delete(this.servedPrefix + 1n);
      this.servedPrefix += 1n;
    }
    return this.servedPrefix;
  }
}
