/**
 * Where an account stands in the escape (docs/custody.md, "If the operator
 * stops"), read from the chain alone, so that it works when the exchange no
 * longer answers: its forced-exit requests and whether a final root served
 * them, when the vault can be frozen, whether it is, when the claim window
 * (phase 1 of the escape) ends, the last final root and whether a saved
 * inclusion proof verifies against it, whether its exit claim is registered
 * or paid, what the vault owes, which of its deposits are refundable, and
 * the commands to run next. Browser-safe (viem only).
 */
import {
  type ChainReader,
  chainOf,
  exitClaimState,
  exitLeafHash,
  exitProofOfInclusionProof,
  rootOfPath,
  vaultAbi,
} from '@vex/custody/browser';
import type { InclusionProof } from '@vex/engine/verify';
import { createPublicClient, getContract, hexToBytes, http, toHex, type Address, type Hex } from 'viem';
import type { CustodyInfo } from './custody.js';

export interface EscapeForcedExit {
  readonly number: number;
  /** Chain time (seconds) of the request; the operator must serve it in a final root within the grace period. */
  readonly requestedAt: number;
  readonly served: boolean;
}

export interface EscapeProofCheck {
  readonly sequence: number;
  /** Whether the proof's leaf and path hash to the last final root (what `exit` needs). */
  readonly verifies: boolean;
  readonly reason?: string;
  readonly exitAddress?: Address;
  /** Whether the leaf's exit claim is registered (phase 1, `exit`) or already paid (phase 2, `exit-pay`). */
  readonly exited: boolean;
  /** The leaf's exit claim: none, registered (`exitClaims` holds its hash) or paid (`exitClaims` is PAID). */
  readonly claim: 'none' | 'registered' | 'paid';
  /** The proof's net balances per asset: claim − debt (the vault registers the net equity in kind). */
  readonly amounts: readonly SymbolAmount[];
  /** What phase 1 registered per asset (the Exited event), once registered. */
  readonly registered?: readonly SymbolAmount[];
  /** What phase 2 paid per asset, in full or pro rata (the ExitPaid event), once paid. */
  readonly paid?: readonly SymbolAmount[];
  /** What the vault owes the exit address now, per asset (pull it with vault-withdraw). */
  readonly owed: readonly SymbolAmount[];
}

export interface SymbolAmount {
  readonly symbol: string;
  readonly amount: string;
}

export interface EscapeStatus {
  readonly vault: Address;
  readonly chainTime: number;
  readonly frozen: boolean;
  /**
   * Once frozen, the chain time the claim window ends (frozenAt + graceSeconds): `exit` is accepted in a block
   * up to it, `exit-pay` in a block after it. Null before the freeze.
   */
  readonly claimWindowEndsAt: number | null;
  /** Whether `exit` can still register a claim (frozen, and the chain time is before the window's end). */
  readonly claimWindowOpen: boolean;
  readonly lastFinalRoot: {
    readonly commitNumber: number;
    readonly sequence: number;
    readonly root: Hex;
    readonly forcedExitsServed: number;
    readonly depositsCredited: number;
  } | null;
  readonly pendingCommitments: number;
  /** This account's forced-exit requests. */
  readonly forcedExits: readonly EscapeForcedExit[];
  /** The oldest request no final root served (any account's): the one a freeze waits on. */
  readonly oldestUnserved: (EscapeForcedExit & { readonly freezableAfter: number }) | null;
  readonly freezableNow: boolean;
  /** This account's deposits no final root credited, not yet refunded: refundable to their depositor once frozen. */
  readonly refundableDeposits: ReadonlyArray<{
    readonly number: number;
    readonly amount: string;
    readonly asset: number;
  }>;
  readonly proof?: EscapeProofCheck;
  /** What to do next, in order, as CLI commands and sentences. */
  readonly next: readonly string[];
}

export interface EscapeStatusOptions {
  readonly info: Pick<CustodyInfo, 'chainId' | 'rpcUrl' | 'vault' | 'tokens'>;
  /** The account's ed25519 public key (32 bytes). */
  readonly account: Uint8Array;
  /** A saved inclusion proof (exchange proof --out), checked against the last final root. */
  readonly proof?: InclusionProof;
}

function vaultReader(info: EscapeStatusOptions['info']) {
  const publicClient = createPublicClient({
    chain: chainOf(info.chainId, info.rpcUrl),
    transport: http(info.rpcUrl, { retryCount: 0 }),
  });
  return { publicClient, vault: getContract({ abi: vaultAbi, address: info.vault, client: publicClient }) };
}

type Vault = ReturnType<typeof vaultReader>['vault'];

async function lastFinalRoot(vault: Vault): Promise<EscapeStatus['lastFinalRoot']> {
  const finalCount = await vault.read.finalCount();
  if (finalCount === 0n) return null;
  const commitment = await vault.read.commitments([finalCount]);
  return {
    commitNumber: Number(finalCount),
    sequence: Number(commitment.sequence),
    root: commitment.root,
    forcedExitsServed: Number(commitment.forcedExitsServed),
    depositsCredited: Number(commitment.depositsCredited),
  };
}

/** The proof against the last final root: the vault's own rule (docs/custody.md, "Forced exits, freeze, escape"). */
async function checkProof(
  reader: ChainReader,
  vault: Vault,
  proof: InclusionProof,
  root: EscapeStatus['lastFinalRoot'],
  symbols: readonly string[],
): Promise<EscapeProofCheck> {
  const sequence = proof.attestation.sequence;
  const bySymbol = (values: readonly bigint[]): SymbolAmount[] =>
    values.map((amount, index) => ({ symbol: symbols[index] ?? String(index), amount: String(amount) }));
  const amounts = bySymbol(proof.balances.map((pair) => BigInt(pair.claim) - BigInt(pair.debt)));
  if (proof.exitAddress === undefined) {
    const reason = 'the account linked no exit address before this proof: its leaf cannot exit on chain';
    return { sequence, verifies: false, reason, exited: false, claim: 'none', amounts, owed: [] };
  }
  const argument = exitProofOfInclusionProof(
    proof,
    proof.balances.map(() => 0n),
  );
  const exitAddress = argument.exitAddress;
  const [claim, ...owed] = await Promise.all([
    exitClaimState(reader, vault.address, argument.commitment),
    ...proof.balances.map((_pair, index) => vault.read.owed([exitAddress, BigInt(index)])),
  ]);
  const base = {
    sequence,
    exitAddress,
    exited: claim.state !== 'none',
    claim: claim.state,
    amounts,
    ...(claim.registered === undefined ? {} : { registered: bySymbol(claim.registered) }),
    ...(claim.paid === undefined ? {} : { paid: bySymbol(claim.paid) }),
    owed: bySymbol(owed),
  };
  if (root === null) return { ...base, verifies: false, reason: 'the vault has no final root yet' };
  const sums = hexToBytes(argument.sums);
  const leaf = { hash: exitLeafHash(hexToBytes(argument.commitment), exitAddress, sums), sums };
  const path = hexToBytes(argument.path);
  const recordBytes = 32 + sums.length;
  const records = Array.from({ length: path.length / recordBytes }, (_, index) => {
    const record = path.subarray(index * recordBytes, (index + 1) * recordBytes);
    return { hash: record.subarray(0, 32), sums: record.subarray(32) };
  });
  const computed = toHex(rootOfPath(leaf, proof.leafIndex, records).hash);
  if (computed === root.root) return { ...base, verifies: true };
  const reason =
    sequence === root.sequence
      ? `the proof hashes to ${computed}, not the final root ${root.root}`
      : `the proof is under sequence ${sequence}; the last final root is at sequence ${root.sequence}`;
  return { ...base, verifies: false, reason };
}

export async function escapeStatus(options: EscapeStatusOptions): Promise<EscapeStatus> {
  const { info, account, proof } = options;
  const { publicClient, vault } = vaultReader(info);
  const publicKey = toHex(account);
  const [block, frozen, frozenAt, root, commitmentCount, grace, requests, deposits] = await Promise.all([
    publicClient.getBlock(),
    vault.read.frozen(),
    vault.read.frozenAt(),
    lastFinalRoot(vault),
    vault.read.commitmentCount(),
    vault.read.graceSeconds(),
    vault.read.forcedExitCount(),
    vault.getEvents.Deposited({ publicKey }, { fromBlock: 0n }),
  ]);
  const served = root?.forcedExitsServed ?? 0;
  const requestEvents = await vault.getEvents.ForcedExitRequested({ publicKey }, { fromBlock: 0n });
  const requestOf = async (number: number): Promise<EscapeForcedExit> => ({
    number,
    requestedAt: Number((await vault.read.forcedExits([BigInt(number)])).requestedAt),
    served: number <= served,
  });
  const forcedExits = await Promise.all(requestEvents.map((event) => requestOf(Number(event.args.number))));
  const oldest = served < Number(requests) ? await requestOf(served + 1) : undefined;
  const oldestUnserved =
    oldest === undefined ? null : { ...oldest, freezableAfter: oldest.requestedAt + Number(grace) };
  const chainTime = Number(block.timestamp);
  const symbols = symbolsInVaultOrder(info.tokens, await vault.read.tokens());
  const claimWindowEndsAt = frozen ? Number(frozenAt) + Number(grace) : null;
  const status = {
    vault: info.vault,
    chainTime,
    frozen,
    claimWindowEndsAt,
    claimWindowOpen: claimWindowEndsAt !== null && chainTime < claimWindowEndsAt,
    lastFinalRoot: root,
    pendingCommitments: Number(commitmentCount) - (root?.commitNumber ?? 0),
    forcedExits,
    oldestUnserved,
    freezableNow: !frozen && oldestUnserved !== null && chainTime > oldestUnserved.freezableAfter,
    refundableDeposits: await refundable(vault, deposits, root?.depositsCredited ?? 0),
    ...(proof === undefined ? {} : { proof: await checkProof({ publicClient }, vault, proof, root, symbols) }),
  };
  return { ...status, next: nextSteps(status) };
}

/** The account's deposits no final root credited and not refunded yet. */
async function refundable(
  vault: Vault,
  deposits: Awaited<ReturnType<Vault['getEvents']['Deposited']>>,
  depositsCredited: number,
): Promise<EscapeStatus['refundableDeposits']> {
  const uncredited = deposits.filter((event) => Number(event.args.number) > depositsCredited);
  const refunded = await Promise.all(
    uncredited.map(async (event) => (await vault.read.deposits([event.args.number!])).refunded),
  );
  return uncredited
    .filter((_event, index) => !refunded[index])
    .map((event) => ({
      number: Number(event.args.number),
      amount: String(event.args.amount),
      asset: event.args.asset!,
    }));
}

function symbolsInVaultOrder(tokens: Readonly<Record<string, Address>>, vaultTokens: readonly Address[]): string[] {
  const byAddress = new Map(Object.entries(tokens).map(([symbol, token]) => [token.toLowerCase(), symbol]));
  return vaultTokens.map((token, index) => byAddress.get(token.toLowerCase()) ?? String(index));
}

/** The escape's next steps for this status (docs/custody.md, "If the operator stops"). */
export function nextSteps(status: Omit<EscapeStatus, 'next'>): string[] {
  const steps: string[] = [];
  if (!status.frozen) {
    const mine = status.forcedExits.filter((request) => !request.served);
    if (status.freezableNow) {
      steps.push(`the vault can be frozen now: exchange freeze --custody <file> --ethereum-key <file>`);
    } else if (status.oldestUnserved !== null) {
      steps.push(
        `wait: forced exit ${status.oldestUnserved.number} is unserved; the vault can be frozen after chain time ` +
          `${status.oldestUnserved.freezableAfter} (now ${status.chainTime}) unless a final root serves it`,
      );
    } else if (mine.length === 0) {
      steps.push(
        'if the exchange refuses your withdrawals or stopped: exchange forced-exit --key <file> --custody <file> ' +
          '--ethereum-key <file>',
      );
    }
    steps.push('keep a proof under the newest final root: exchange proof --key <file> --sequence <n> --out <file>');
    return steps;
  }
  for (const deposit of status.refundableDeposits) {
    steps.push(`deposit ${deposit.number} was never credited: exchange refund --number ${deposit.number} ...`);
  }
  const proof = status.proof;
  if (proof === undefined) {
    steps.push(
      `give --proof <file>: your proof under the final root at sequence ${status.lastFinalRoot?.sequence ?? '-'} ` +
        '(saved earlier, or rebuilt from the log: pnpm replay <log> --build-proof <account> --at <sequence>)',
    );
  } else if (!proof.verifies) {
    steps.push(`your proof cannot exit: ${proof.reason ?? 'it does not verify'}`);
  } else {
    steps.push(...claimSteps(status, proof));
  }
  for (const owed of proof?.owed ?? []) {
    if (owed.amount !== '0') {
      steps.push(`pull ${owed.amount} ${owed.symbol}: exchange vault-withdraw --symbol ${owed.symbol} ...`);
    }
  }
  return steps;
}

/** The two phases of a frozen vault's escape for a proof that verifies: register the claim, wait, pay it. */
function claimSteps(status: Omit<EscapeStatus, 'next'>, proof: EscapeProofCheck): string[] {
  const windowEnd = `chain time ${status.claimWindowEndsAt ?? '-'} (now ${status.chainTime})`;
  const pay = 'exchange exit-pay --proof <file> --custody <file> --ethereum-key <file>';
  if (proof.claim === 'paid') return [];
  if (proof.claim === 'registered') {
    if (status.claimWindowOpen) return [`wait: the claim window ends at ${windowEnd}; then ${pay}`];
    return [`exit-pay (the claim window is over): ${pay}; then exchange vault-withdraw`];
  }
  if (!status.claimWindowOpen) return [`your claim was not registered and the claim window closed at ${windowEnd}`];
  return [
    `exit (register your claim before the claim window ends at ${windowEnd}): ` +
      'exchange exit --proof <file> --custody <file> --ethereum-key <file>',
  ];
}
