/**
 * The node's side of custody (docs/custody.md, "The node"): the chain
 * watcher, which credits each vault deposit once through the operator's
 * depositCredit keyed by the deposit's number, and the root committer,
 * which commits attestations to the vault with the committee's signatures
 * and finalizes them once their delay has passed, and the forced-exit
 * server (forced-exits.ts), which answers the vault's forced-exit requests.
 *
 * Wired into the node by one option: NodeOptions.onAttestationMade =
 * service.attestationObserver. Resumable after a crash by construction: the
 * log is the record of what was credited (the engine refuses a second
 * credit of `Ethereum:vault-<number>`, and the watcher skips credited ones),
 * and the chain is the record of what was committed (a commit's sequence
 * must exceed the last one, and only attestations made after a restart are
 * committed, each carrying everything before it).
 */
import {
  encodeSigningStringBytes,
  formatDecimal,
  maximumWindowMs,
  publicKeyFromSeed,
  signMessage,
  type ApplyOutcome,
  type Attestation,
  type ExchangeState,
  type InclusionProofBody,
  type SignedTransaction,
} from '@vex/engine';
import { committedPrices } from '@vex/replayer';
import type { Address, Hex } from 'viem';
import { committedCommit } from './exit-claims.js';
import { vaultContract, confirmed, type ChainClients } from './chain.js';
import {
  payoutTransactionId,
  resolveCompletions,
  vaultCompletionsSince,
  type PayoutRecoveryPort,
  type RecoveredPayout,
  type VaultPayout,
} from './payout-recovery.js';
import { accountOfPublicKey, ForcedExitServer } from './forced-exits.js';
import { rootChildrenOfBody } from './records.js';
import { collectSignatures, httpSigner, keySigners, type CommitteeSigner } from './committee.js';

export { payoutTransactionId, type VaultPayout } from './payout-recovery.js';

/** The node as the service uses it (ExchangeNode satisfies it). */
export interface CustodyNodePort extends PayoutRecoveryPort {
  readonly state: ExchangeState;
  submit(
    transaction: SignedTransaction,
  ): Promise<{ readonly outcome: ApplyOutcome; readonly sequence: number | undefined }>;
}

export interface CustodyServiceOptions {
  readonly node: CustodyNodePort;
  /** The operator's 32-byte Ed25519 seed: signs the deposit credits. */
  readonly operatorSeed: Uint8Array;
  /** The vault operator's chain account. */
  readonly chain: ChainClients;
  readonly vault: Address;
  /** Blocks a deposit waits for before it is credited; default 1 (the block that holds it). */
  readonly confirmations?: number;
  /** The committee's secp256k1 keys held by this process (the demo); ignored when committeeSigners is given. */
  readonly committeeKeys?: readonly Hex[];
  /** The committee members to ask for signatures (watchtowers: committee.ts); default keySigners(committeeKeys). */
  readonly committeeSigners?: readonly CommitteeSigner[];
  /** Watchtower processes' base URLs (`pnpm replay --watch`), asked over HTTP (httpSigner) besides committeeSigners. */
  readonly committeeUrls?: readonly string[];
  /** How long a watchtower at `committeeUrls` may take to answer; default 30,000 ms. */
  readonly committeeTimeoutMs?: number;
  readonly pollIntervalMs?: number;
  readonly clock?: () => number;
  readonly onError?: (error: unknown) => void;
}

/** The blockchain name and transaction id of vault deposit `number` in depositCredit. */
export const vaultBlockchain = 'Ethereum';
export function depositTransactionId(number: bigint | number): string {
  return `vault-${number}`;
}

/** What a commit needs, captured synchronously when the attestation is made. */
interface CommitCandidate {
  readonly attestation: Attestation;
  readonly depositsCredited: bigint;
  /** Forced-exit requests 1…n served at this attestation (forced-exits.ts). */
  readonly forcedExitsServed: bigint;
  readonly children: { readonly left: Hex; readonly right: Hex };
  /** The attested state's index prices, as the vault values a borrower's exit with them (committedPrices). */
  readonly prices: readonly bigint[];
  /** Every withdrawal completed by this attestation and not yet paid by a commit. */
  readonly payouts: readonly VaultPayout[];
}

export class CustodyService {
  private readonly confirmations: bigint;
  private candidate: CommitCandidate | undefined;
  private creditedPrefix = 0n;
  private nextBlock = 0n;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Deposit numbers credited by this process, for tests and metrics. */
  readonly credited: bigint[] = [];
  /** Sequences committed by this process. */
  readonly committed: number[] = [];
  /** Sequences not committed because fewer than the threshold of the committee signed them. */
  readonly unsigned: number[] = [];
  /** Withdrawals being completed, by id: they become payouts once an attestation sees them completed. */
  private readonly completing = new Map<number, VaultPayout>();
  /** Completed in the log, not yet in a successful commit, in completion order. */
  private unpaid: VaultPayout[] = [];
  private readonly paid = new Set<bigint>();
  /** Completed for the vault by an earlier process and paid by no commit yet: read back at the first poll. */
  private recovered: RecoveredPayout[] | undefined;
  /** The payouts of each commitment this process made, by sequence, for finalize(). */
  private readonly payoutsBySequence = new Map<bigint, readonly VaultPayout[]>();

  /** Answers the vault's forced-exit requests. */
  readonly forcedExits: ForcedExitServer;

  constructor(private readonly options: CustodyServiceOptions) {
    this.confirmations = BigInt(options.confirmations ?? 1);
    this.forcedExits = new ForcedExitServer(options.chain, options.vault, (instruction, params) =>
      this.submitOperator(instruction, params),
    );
  }

  /** For NodeOptions.onAttestationMade: keeps the newest attestation as the next commit's candidate. */
  readonly attestationObserver = (
    attestation: Attestation,
    state: ExchangeState,
    leafZero: InclusionProofBody,
  ): void => {
    while (state.creditedDeposits.has(`${vaultBlockchain}:${depositTransactionId(this.creditedPrefix + 1n)}`)) {
      this.creditedPrefix += 1n;
    }
    // A withdrawal left the pending set at or before this attestation: the root has debited it.
    for (const [withdrawalId, payout] of this.completing) {
      if (state.pendingWithdrawals.has(withdrawalId)) continue;
      this.completing.delete(withdrawalId);
      this.unpaid.push(payout);
    }
    this.candidate = {
      attestation,
      depositsCredited: this.creditedPrefix,
      forcedExitsServed: this.forcedExits.servedAt(attestation.sequence, state),
      children: rootChildrenOfBody(state.feeAccount.id, leafZero),
      prices: committedPrices(state),
      payouts: this.unpaid.slice(),
    };
  };

  /** Polls the chain every pollIntervalMs until stop(). */
  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.poll()
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.pollIntervalMs ?? 200);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** One round: credit confirmed deposits, answer forced exits, commit the newest attestation, finalize what is due. */
  async poll(): Promise<void> {
    await this.creditDeposits();
    await this.recoverPayouts();
    await this.forcedExits.serve();
    await this.completeWithdrawals();
    await this.commitCandidate();
    await this.finalizeDue();
  }

  /** Credits every confirmed deposit the log has not credited, in deposit order. */
  async creditDeposits(): Promise<void> {
    const { chain, vault } = this.options;
    const latest = await chain.publicClient.getBlockNumber();
    const confirmedUpTo = latest + 1n - this.confirmations;
    if (confirmedUpTo < this.nextBlock) return;
    const events = await vaultContract(chain, vault).getEvents.Deposited(
      {},
      { fromBlock: this.nextBlock, toBlock: confirmedUpTo },
    );
    for (const event of events) {
      const { number, publicKey, asset, amount } = event.args as {
        number: bigint;
        publicKey: Hex;
        asset: number;
        amount: bigint;
      };
      await this.credit(number, publicKey, asset, amount);
    }
    this.nextBlock = confirmedUpTo + 1n;
  }

  private async credit(number: bigint, publicKey: Hex, assetIndex: number, amount: bigint): Promise<void> {
    const { node } = this.options;
    const key = `${vaultBlockchain}:${depositTransactionId(number)}`;
    if (node.state.creditedDeposits.has(key)) return;
    const asset = node.state.assets[assetIndex];
    if (asset === undefined)
      throw new Error(`vault deposit ${number} is of asset ${assetIndex}, which the exchange does not list`);
    const account = accountOfPublicKey(publicKey);
    const params = {
      account,
      blockchain: vaultBlockchain,
      chainTransactionId: depositTransactionId(number),
      quantity: formatDecimal(amount, asset.decimals),
      symbol: asset.symbol,
    };
    const result = await this.submitOperator('depositCredit', params);
    if (result.outcome.accepted) this.credited.push(number);
    else if (result.outcome.rejection.code !== 'DUPLICATE_DEPOSIT') {
      throw new Error(
        `crediting vault deposit ${number}: ${result.outcome.rejection.code}: ${result.outcome.rejection.message}`,
      );
    }
  }

  private submitOperator(instruction: string, params: Record<string, string>) {
    const { node, operatorSeed } = this.options;
    const timestampMs = Math.max(Math.floor((this.options.clock ?? Date.now)()), node.state.logTimeMs);
    const groups = [{ instruction, params: Object.entries(params) }];
    const message = encodeSigningStringBytes(groups, timestampMs, maximumWindowMs);
    return node.submit({
      message,
      publicKey: publicKeyFromSeed(operatorSeed),
      signature: signMessage(operatorSeed, message),
    });
  }

  /**
   * Completes every pending withdrawal to blockchain Ethereum: the vault pays
   * it with the first commit whose root has debited it. One to an address
   * that is not an Ethereum address is failed (the funds return).
   */
  async completeWithdrawals(): Promise<void> {
    const { node } = this.options;
    for (const withdrawal of [...node.state.pendingWithdrawals.values()]) {
      if (withdrawal.blockchain !== vaultBlockchain || this.completing.has(withdrawal.id)) continue;
      if (!/^0x[0-9a-fA-F]{40}$/.test(withdrawal.address)) {
        const reason = 'The address is not an Ethereum address.';
        await this.submitOperator('withdrawalFail', { reason, withdrawalId: String(withdrawal.id) });
        continue;
      }
      this.completing.set(withdrawal.id, {
        recipient: withdrawal.address as Address,
        asset: withdrawal.asset.index,
        amount: withdrawal.quantityUnits,
        withdrawalId: BigInt(withdrawal.id),
      });
      const chainTransactionId = payoutTransactionId(withdrawal.id);
      const result = await this.submitOperator('withdrawalComplete', {
        chainTransactionId,
        withdrawalId: String(withdrawal.id),
      });
      if (!result.outcome.accepted) this.completing.delete(withdrawal.id);
    }
  }

  /** Commits the newest attestation not yet committed, signed by the committee keys this process holds. */
  async commitCandidate(): Promise<void> {
    const candidate = this.candidate;
    if (candidate === undefined) return;
    const { chain, vault } = this.options;
    const contract = vaultContract(chain, vault);
    const count = await contract.read.commitmentCount();
    const last = count === 0n ? undefined : await contract.read.commitments([count]);
    if (last !== undefined && last.sequence >= BigInt(candidate.attestation.sequence)) {
      if (this.candidate === candidate) this.candidate = undefined;
      return;
    }
    const tokens = await contract.read.tokens();
    if (candidate.attestation.assets.length !== tokens.length) {
      // Made while the exchange listed other assets than the vault holds (during the listings): not committable.
      if (this.candidate === candidate) this.candidate = undefined;
      return;
    }
    const commit = {
      sequence: BigInt(candidate.attestation.sequence),
      stateHash: `0x${candidate.attestation.stateHash}` as Hex,
      assetListHash: await contract.read.assetListHash(),
      depositsCredited: candidate.depositsCredited,
      // A candidate made before this process read the vault counts none; the last commit's count still holds.
      forcedExitsServed: maximum(candidate.forcedExitsServed, last?.forcedExitsServed ?? 0n),
      left: candidate.children.left,
      right: candidate.children.right,
      prices: candidate.prices,
      payouts: this.payoutsFor(candidate),
    };
    const signatures = await this.signaturesFor(contract, candidate, commit);
    if (signatures === undefined) {
      // The committee did not sign this root: it is never committed; the next attestation is the next candidate.
      this.unsigned.push(candidate.attestation.sequence);
      this.options.onError?.(new Error(`the committee did not sign the root of sequence ${commit.sequence}`));
      if (this.candidate === candidate) this.candidate = undefined;
      return;
    }
    await confirmed(chain, await contract.write.commitRoot([commit, signatures]));
    for (const payout of commit.payouts) this.paid.add(payout.withdrawalId);
    this.unpaid = this.unpaid.filter((payout) => !this.paid.has(payout.withdrawalId));
    this.recovered = this.recovered?.filter((item) => !this.paid.has(item.payout.withdrawalId));
    this.payoutsBySequence.set(commit.sequence, commit.payouts);
    this.committed.push(candidate.attestation.sequence);
    if (this.candidate === candidate) this.candidate = undefined;
  }

  /** The committee's signatures of the commit, ordered as the contract counts them; undefined below the threshold. */
  private async signaturesFor(
    contract: ReturnType<typeof vaultContract>,
    candidate: CommitCandidate,
    commit: Parameters<ReturnType<typeof vaultContract>['read']['commitDigest']>[0][1],
  ): Promise<Hex[] | undefined> {
    const root = `0x${candidate.attestation.liabilitiesRoot}` as Hex;
    const [digest, committee, threshold] = await Promise.all([
      contract.read.commitDigest([root, commit]),
      contract.read.committee(),
      contract.read.committeeThreshold(),
    ]);
    const { committeeSigners, committeeKeys, committeeUrls } = this.options;
    const signers = [
      ...(committeeSigners ?? (committeeUrls === undefined ? keySigners(committeeKeys ?? []) : [])),
      ...(committeeUrls ?? []).map((url) => httpSigner(url, this.options.committeeTimeoutMs)),
    ];
    const request = { ...commit, digest, root };
    const signatures = await collectSignatures(request, signers, committee);
    return BigInt(signatures.length) < threshold ? undefined : signatures;
  }

  /**
   * A candidate's payouts: its own, and the recovered ones its root has
   * debited (completed at or before its sequence). A newer candidate may
   * repeat payouts an in-flight commit already paid: never twice.
   */
  private payoutsFor(candidate: CommitCandidate): VaultPayout[] {
    const recovered = (this.recovered ?? [])
      .filter((item) => item.completedAt <= candidate.attestation.sequence)
      .map((item) => item.payout);
    const payouts = new Map<bigint, VaultPayout>();
    for (const payout of [...recovered, ...candidate.payouts]) {
      if (!this.paid.has(payout.withdrawalId)) payouts.set(payout.withdrawalId, payout);
    }
    return [...payouts.values()];
  }

  /**
   * Once per process, before its first commit: the vault completions in the
   * log after the vault's last committed sequence that no commitment pays
   * (a previous process completed them and stopped before committing).
   * Completions at or before that sequence were paid by the commit that
   * made it, since each process commits only roots whose payouts it knows.
   */
  async recoverPayouts(): Promise<void> {
    if (this.recovered !== undefined) return;
    const { chain, vault, node } = this.options;
    const contract = vaultContract(chain, vault);
    const [count, finalCount] = await Promise.all([contract.read.commitmentCount(), contract.read.finalCount()]);
    const lastSequence = count === 0n ? 0n : (await contract.read.commitments([count])).sequence;
    const completions = await vaultCompletionsSince(node, Number(lastSequence) + 1);
    if (completions.size > 0) {
      const owed = await contract.getEvents.PayoutOwed({}, { fromBlock: 0n });
      for (const event of owed) completions.delete(Number(event.args.withdrawalId));
      for (let number = finalCount + 1n; number <= count; number += 1n) {
        for (const payout of await this.committedPayouts(number)) completions.delete(Number(payout.withdrawalId));
      }
      for (const withdrawalId of this.completing.keys()) completions.delete(withdrawalId);
      for (const payout of this.unpaid) completions.delete(Number(payout.withdrawalId));
    }
    this.recovered = await resolveCompletions(node, completions);
  }

  /** Finalizes pending commitments whose delay has passed (they carry no payouts yet). */
  async finalizeDue(): Promise<void> {
    const { chain, vault } = this.options;
    const contract = vaultContract(chain, vault);
    const [count, finalCount, delay] = await Promise.all([
      contract.read.commitmentCount(),
      contract.read.finalCount(),
      contract.read.finalityDelaySeconds(),
    ]);
    if (finalCount >= count) return;
    const pending = await contract.read.commitments([finalCount + 1n]);
    const block = await chain.publicClient.getBlock();
    if (block.timestamp < pending.committedAt + delay) return;
    const payouts = this.payoutsBySequence.get(pending.sequence) ?? (await this.committedPayouts(finalCount + 1n));
    await confirmed(chain, await contract.write.finalize([payouts]));
  }

  /** A commitment's payouts read back from its commitRoot transaction (after a restart). */
  private async committedPayouts(commitNumber: bigint): Promise<readonly VaultPayout[]> {
    return (await committedCommit(this.options.chain, this.options.vault, commitNumber)).payouts;
  }
}

function maximum(first: bigint, second: bigint): bigint {
  return first > second ? first : second;
}
