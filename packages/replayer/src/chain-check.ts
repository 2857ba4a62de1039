/**
 * The replay's cross-check against the custody vault (docs/custody.md,
 * "Checking the chain"; `pnpm replay <log> --chain <rpc> --vault <address>`):
 * every vault deposit the log credits exists on chain with that account,
 * asset and amount, and is credited once; every committed root is the
 * attestation the replay computes at its sequence (root, state hash, and the
 * deposits it counts); every payout the vault owes is a withdrawal the log
 * completed for the vault, with that recipient, asset and amount, paid once.
 *
 * Reads the chain with viem and the vault's events only (the ABI fragments
 * below), so the replayer depends on no other project package than engine.
 */
import type { ApplyOutcome, AttestationFields, ExchangeState } from '@vex/engine';
import { createPublicClient, http, parseAbi, type Address } from 'viem';
import {
  collectForcedExitAnswer,
  forcedExitProblems,
  type LoggedForcedExitAnswer,
} from './chain-check-forced-exits.js';
import { committedPrices } from './committed-prices.js';

const vaultEvents = parseAbi([
  'event Deposited(uint64 indexed number, bytes32 indexed publicKey, uint32 asset, uint256 amount, address depositor)',
  // Parameter names are local (only the types make the topic): `state` is the committed state hash.
  'event RootCommitted(uint64 indexed number, uint64 sequence, bytes32 root, bytes32 state, uint64 depositsCredited)',
  'event PayoutOwed(uint64 indexed withdrawalId, address indexed recipient, uint32 asset, uint256 amount)',
  'event RootFinalized(uint64 indexed commitNumber, uint64 sequence, bytes32 root)',
]);

interface LoggedCredit {
  readonly account: string;
  readonly asset: string;
  readonly units: bigint;
}

interface LoggedPayout {
  /** The sequence of the completion: every final root from it on has debited the withdrawal. */
  readonly sequence: number;
  readonly address: string;
  readonly asset: string;
  readonly units: bigint;
}

/** What the replay saw, gathered through ReplayOptions.onEntryApplied and onAttestationComputed. */
export class ChainCheckCollector {
  readonly credits = new Map<bigint, LoggedCredit[]>();
  readonly completions = new Map<bigint, LoggedPayout>();
  /** forcedExitServe answers by the vault's request number. */
  readonly forcedExitAnswers = new Map<bigint, LoggedForcedExitAnswer[]>();
  readonly attestations = new Map<
    number,
    { root: string; stateHash: string; depositsCredited: bigint; prices: readonly bigint[] }
  >();
  readonly assetSymbols: string[] = [];
  private creditedPrefix = 0n;
  /** The replayed state, as of the last entry applied. */
  private state: ExchangeState | undefined;

  /** The sequence at which the log completed withdrawal `withdrawalId` for the vault, if it did. */
  readonly completedAt = (withdrawalId: number): number | undefined =>
    this.completions.get(BigInt(withdrawalId))?.sequence;

  readonly onEntryApplied = (sequence: number, outcome: ApplyOutcome, state: ExchangeState): void => {
    this.state = state;
    if (!outcome.accepted) return;
    if (this.assetSymbols.length !== state.assets.length) {
      this.assetSymbols.splice(0, this.assetSymbols.length, ...state.assets.map((asset) => asset.symbol));
    }
    for (const result of outcome.results) {
      if (!result.ok) continue;
      const value = result.value;
      if (value.kind === 'deposit' && value.deposit.blockchain === 'Ethereum') {
        const match = /^vault-([1-9][0-9]*)$/.exec(value.deposit.chainTransactionId);
        if (match === null) continue;
        const number = BigInt(match[1]!);
        const credit = {
          account: value.deposit.account,
          asset: value.deposit.asset,
          units: value.deposit.quantityUnits,
        };
        this.credits.set(number, [...(this.credits.get(number) ?? []), credit]);
      } else if (value.kind === 'withdrawal' && value.withdrawal.status === 'Confirmed') {
        const match = /^vault-payout-([0-9]+)$/.exec(value.withdrawal.chainTransactionId ?? '');
        if (match === null) continue;
        const { address, asset, quantityUnits } = value.withdrawal;
        const completion = { sequence, address: address.toLowerCase(), asset, units: quantityUnits };
        this.completions.set(BigInt(match[1]!), completion);
      } else if (value.kind === 'forcedExitServed') {
        collectForcedExitAnswer(this.forcedExitAnswers, sequence, value.forcedExit);
      }
    }
    while (state.creditedDeposits.has(`Ethereum:vault-${this.creditedPrefix + 1n}`)) this.creditedPrefix += 1n;
  };

  readonly onAttestationComputed = (fields: AttestationFields): void => {
    this.attestations.set(fields.sequence, {
      root: fields.liabilitiesRoot,
      stateHash: fields.stateHash,
      depositsCredited: this.creditedPrefix,
      // The state after the attestation's record, whose prices are the attested state's: a record sets no price.
      prices: this.state === undefined ? [] : committedPrices(this.state),
    });
  };
}

interface PayoutEvent {
  readonly args: {
    readonly withdrawalId: bigint;
    readonly recipient: Address;
    readonly asset: number;
    readonly amount: bigint;
  };
}

/** Every payout is a vault completion of the log, paid once; every completion a final root debited is paid. */
function payoutProblems(
  collector: ChainCheckCollector,
  payouts: readonly PayoutEvent[],
  finalized: readonly { readonly args: { readonly sequence: bigint } }[],
): string[] {
  const problems: string[] = [];
  const paid = new Set<bigint>();
  for (const payout of payouts) {
    const { withdrawalId, recipient, asset, amount } = payout.args;
    if (paid.has(withdrawalId)) problems.push(`withdrawal ${withdrawalId} is paid twice by the vault`);
    paid.add(withdrawalId);
    const completed = collector.completions.get(withdrawalId);
    const symbol = collector.assetSymbols[asset];
    if (completed === undefined) {
      problems.push(`the vault pays withdrawal ${withdrawalId}, which the log never completed for the vault`);
    } else if (
      completed.address !== recipient.toLowerCase() ||
      completed.asset !== symbol ||
      completed.units !== amount
    ) {
      problems.push(
        `the vault pays withdrawal ${withdrawalId} as ${amount} of asset ${asset} to ${recipient}, unlike the log`,
      );
    }
  }
  // A final root at or after a completion has debited it, so its finalization owed the payout.
  const lastFinalSequence = finalized.reduce((last, event) => Math.max(last, Number(event.args.sequence)), 0);
  for (const [withdrawalId, completion] of collector.completions) {
    if (completion.sequence <= lastFinalSequence && !paid.has(withdrawalId)) {
      problems.push(
        `withdrawal ${withdrawalId}, completed for the vault at sequence ${completion.sequence}, is not paid ` +
          `although the root at sequence ${lastFinalSequence} is final`,
      );
    }
  }
  return problems;
}

export interface ChainCheckResult {
  readonly ok: boolean;
  readonly depositsChecked: number;
  readonly commitsChecked: number;
  readonly payoutsChecked: number;
  readonly problems: readonly string[];
}

/** The vault's Deposited, RootCommitted and PayoutOwed events, from block 0. */
async function readVaultEvents(client: ReturnType<typeof createPublicClient>, vault: Address) {
  const read = <N extends 'Deposited' | 'RootCommitted' | 'PayoutOwed' | 'RootFinalized'>(eventName: N) =>
    client.getContractEvents({ address: vault, abi: vaultEvents, eventName, fromBlock: 0n, strict: true });
  return Promise.all([read('Deposited'), read('RootCommitted'), read('PayoutOwed'), read('RootFinalized')]);
}

/** Compares what the replay collected with the vault at `vault` on the chain at `rpcUrl`. */
export async function checkChain(
  collector: ChainCheckCollector,
  rpcUrl: string,
  vault: Address,
): Promise<ChainCheckResult> {
  const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }) });
  const [deposits, commits, payouts, finalized] = await readVaultEvents(client, vault);
  const problems: string[] = [];
  const onChain = new Map(deposits.map((event) => [event.args.number, event.args]));
  for (const [number, credits] of collector.credits) {
    if (credits.length > 1) problems.push(`vault deposit ${number} is credited ${credits.length} times in the log`);
    const deposit = onChain.get(number);
    const credit = credits[0]!;
    if (deposit === undefined) {
      problems.push(`the log credits vault deposit ${number}, which the vault never received`);
      continue;
    }
    const account = Buffer.from(deposit.publicKey.slice(2), 'hex').toString('base64');
    const symbol = collector.assetSymbols[deposit.asset];
    if (account !== credit.account || symbol !== credit.asset || deposit.amount !== credit.units) {
      problems.push(
        `vault deposit ${number} is ${deposit.amount} of asset ${deposit.asset} for ${account}, ` +
          `but the log credits ${credit.units} ${credit.asset} to ${credit.account}`,
      );
    }
  }
  for (const commit of commits) {
    const { sequence, root, state: stateHash, depositsCredited } = commit.args;
    const attested = collector.attestations.get(Number(sequence));
    if (attested === undefined) {
      problems.push(`the vault holds a root for sequence ${sequence}, which the log does not attest`);
    } else if (root !== `0x${attested.root}` || stateHash !== `0x${attested.stateHash}`) {
      problems.push(
        `the vault's root for sequence ${sequence} (${root}) is not the replayed attestation's (0x${attested.root})`,
      );
    } else if (depositsCredited !== attested.depositsCredited) {
      problems.push(
        `the vault's commit of sequence ${sequence} counts ${depositsCredited} deposits credited, ` +
          `the log ${attested.depositsCredited}`,
      );
    }
  }
  problems.push(...payoutProblems(collector, payouts, finalized));
  problems.push(...(await forcedExitProblems(client, vault, collector.forcedExitAnswers, collector.completedAt)));
  return {
    ok: problems.length === 0,
    depositsChecked: collector.credits.size,
    commitsChecked: commits.length,
    payoutsChecked: payouts.length,
    problems,
  };
}
