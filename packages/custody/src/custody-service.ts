/**
 * The node's side of custody (docs/custody.md, "The node"): the chain
 * watcher, which credits each vault deposit once through the operator's
 * depositCredit keyed by the deposit's number, and the root committer,
 * which commits attestations to the vault with the committee's signatures
 * and finalizes them once their delay has passed.
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
import type { Address, Hex } from 'viem';
import { vaultContract, confirmed, type ChainClients } from './chain.js';
import { rootChildrenOfBody, signCommitDigest } from './records.js';

/** The node as the service uses it (ExchangeNode satisfies it). */
export interface CustodyNodePort {
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
  /** The committee's secp256k1 keys held by this process (the demo); at least the threshold. */
  readonly committeeKeys: readonly Hex[];
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
  readonly children: { readonly left: Hex; readonly right: Hex };
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

  constructor(private readonly options: CustodyServiceOptions) {
    this.confirmations = BigInt(options.confirmations ?? 1);
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
    this.candidate = {
      attestation,
      depositsCredited: this.creditedPrefix,
      children: rootChildrenOfBody(state.feeAccount.id, leafZero),
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

  /** One round: credit confirmed deposits, commit the newest attestation, finalize what is due. */
  async poll(): Promise<void> {
    await this.creditDeposits();
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
    const { node, operatorSeed } = this.options;
    const key = `${vaultBlockchain}:${depositTransactionId(number)}`;
    if (node.state.creditedDeposits.has(key)) return;
    const asset = node.state.assets[assetIndex];
    if (asset === undefined)
      throw new Error(`vault deposit ${number} is of asset ${assetIndex}, which the exchange does not list`);
    const account = Buffer.from(publicKey.slice(2), 'hex').toString('base64');
    const params = {
      account,
      blockchain: vaultBlockchain,
      chainTransactionId: depositTransactionId(number),
      quantity: formatDecimal(amount, asset.decimals),
      symbol: asset.symbol,
    };
    const timestampMs = Math.max(Math.floor((this.options.clock ?? Date.now)()), node.state.logTimeMs);
    const message = encodeSigningStringBytes(
      [{ instruction: 'depositCredit', params: Object.entries(params) }],
      timestampMs,
      maximumWindowMs,
    );
    const transaction = {
      message,
      publicKey: publicKeyFromSeed(operatorSeed),
      signature: signMessage(operatorSeed, message),
    };
    const result = await node.submit(transaction);
    if (result.outcome.accepted) this.credited.push(number);
    else if (result.outcome.rejection.code !== 'DUPLICATE_DEPOSIT') {
      throw new Error(
        `crediting vault deposit ${number}: ${result.outcome.rejection.code}: ${result.outcome.rejection.message}`,
      );
    }
  }

  /** Commits the newest attestation not yet committed, signed by the committee keys this process holds. */
  async commitCandidate(): Promise<void> {
    const candidate = this.candidate;
    if (candidate === undefined) return;
    const { chain, vault, committeeKeys } = this.options;
    const contract = vaultContract(chain, vault);
    const count = await contract.read.commitmentCount();
    if (count > 0n && (await contract.read.commitments([count])).sequence >= BigInt(candidate.attestation.sequence)) {
      if (this.candidate === candidate) this.candidate = undefined;
      return;
    }
    const tokens = await contract.read.tokens();
    const commit = {
      sequence: BigInt(candidate.attestation.sequence),
      stateHash: `0x${candidate.attestation.stateHash}` as Hex,
      assetListHash: await contract.read.assetListHash(),
      depositsCredited: candidate.depositsCredited,
      forcedExitsServed: 0n,
      left: candidate.children.left,
      right: candidate.children.right,
      prices: tokens.map(() => 0n),
      payouts: [],
    };
    const digest = await contract.read.commitDigest([`0x${candidate.attestation.liabilitiesRoot}`, commit]);
    const signatures = await signCommitDigest(digest, committeeKeys);
    await confirmed(chain, await contract.write.commitRoot([commit, signatures]));
    this.committed.push(candidate.attestation.sequence);
    if (this.candidate === candidate) this.candidate = undefined;
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
    await confirmed(chain, await contract.write.finalize([[]]));
  }
}
