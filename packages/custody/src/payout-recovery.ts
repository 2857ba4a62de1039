/**
 * Finding again, after a restart, the withdrawals a previous process
 * completed for the vault but never committed (docs/custody.md, "The node",
 * Payouts). The log is the record: every operator `withdrawalComplete` with
 * chainTransactionId `vault-payout-<id>` after the vault's last committed
 * sequence is read back, and each one no commitment pays yet is resolved to
 * its recipient, asset and amount through the node's history (a completion
 * the engine refused has no Confirmed record there, so it is left out).
 */
import {
  bytesToBase64,
  parseSigningString,
  type ExchangeState,
  type StoredEntry,
  type WithdrawalView,
} from '@vex/engine';
import type { Address } from 'viem';

/** A withdrawal the vault pays with a commit (the contract's Payout). */
export interface VaultPayout {
  readonly recipient: Address;
  readonly asset: number;
  readonly amount: bigint;
  readonly withdrawalId: bigint;
}

/** A payout read back from the log, with the sequence of its completion: only a root at or after it debits it. */
export interface RecoveredPayout {
  readonly payout: VaultPayout;
  readonly completedAt: number;
}

/** What recovery reads of the node (ExchangeNode satisfies it). */
export interface PayoutRecoveryPort {
  readonly state: ExchangeState;
  readEntries(fromSequence: number): AsyncIterable<StoredEntry>;
  readonly history: {
    withdrawals(accountId: string, page: { limit?: number; offset?: number }): Promise<WithdrawalView[]>;
  };
}

/** The chain transaction id a withdrawal's completion names: paid by the vault with a root commit. */
export function payoutTransactionId(withdrawalId: number): string {
  return `vault-payout-${withdrawalId}`;
}

/** Withdrawal id → the sequence of its vault completion, for operator completions from `fromSequence` on. */
export async function vaultCompletionsSince(
  node: PayoutRecoveryPort,
  fromSequence: number,
): Promise<Map<number, number>> {
  const completions = new Map<number, number>();
  for await (const entry of node.readEntries(fromSequence)) {
    if (!node.state.operatorKeys.has(bytesToBase64(entry.transaction.publicKey))) continue;
    const parsed = parseSigningString(entry.transaction.message);
    if (!parsed.ok) continue;
    for (const group of parsed.value.groups) {
      if (group.instruction !== 'withdrawalComplete') continue;
      const withdrawalId = Number(group.params.get('withdrawalId'));
      if (!Number.isSafeInteger(withdrawalId)) continue;
      if (group.params.get('chainTransactionId') !== payoutTransactionId(withdrawalId)) continue;
      completions.set(withdrawalId, entry.sequence);
    }
  }
  return completions;
}

const historyPage = 1_000;

/**
 * Resolves completions to payouts through each account's withdrawal history
 * (newest id first, so each account is read only down to the oldest id
 * sought). Runs once per start and only when the log holds unpaid
 * completions, i.e. after a crash between completion and commit.
 */
export async function resolveCompletions(
  node: PayoutRecoveryPort,
  completions: ReadonlyMap<number, number>,
): Promise<RecoveredPayout[]> {
  if (completions.size === 0) return [];
  const oldest = Math.min(...completions.keys());
  const recovered: RecoveredPayout[] = [];
  for (const account of node.state.accounts.keys()) {
    for (let offset = 0; ; offset += historyPage) {
      const page = await node.history.withdrawals(account, { limit: historyPage, offset });
      for (const withdrawal of page) {
        const completedAt = completions.get(withdrawal.withdrawalId);
        if (completedAt === undefined || withdrawal.status !== 'Confirmed') continue;
        if (withdrawal.chainTransactionId !== payoutTransactionId(withdrawal.withdrawalId)) continue;
        const asset = node.state.assetsBySymbol.get(withdrawal.asset)!.index;
        const payout = {
          recipient: withdrawal.address as Address,
          asset,
          amount: withdrawal.quantityUnits,
          withdrawalId: BigInt(withdrawal.withdrawalId),
        };
        recovered.push({ payout, completedAt });
      }
      if (page.length < historyPage || page.at(-1)!.withdrawalId <= oldest) break;
    }
  }
  return recovered.sort((left, right) => left.completedAt - right.completedAt);
}
