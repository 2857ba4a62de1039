/**
 * The reference model's deposits and withdrawals (docs/matching.md section 3):
 * credits once per chain transaction, withdrawals held pending until the
 * operator completes or fails them. Part of the naive reference model
 * (reference-model.ts).
 */
import type { Instruction } from '../src/instruction.js';
import { readDecimal, unitsAt } from './reference-decimal.js';
import {
  availableOf,
  balanceEntry,
  fail,
  type ModelData,
  type ModelResult,
  type ModelWithdrawal,
  type Rejected,
} from './reference-state.js';

/** A positive amount at the asset's decimals. */
export function amountOf(decimals: number, text: string): bigint | Rejected {
  const value = readDecimal(text);
  if (value === undefined) return fail('INVALID_QUANTITY');
  const units = unitsAt(value, decimals);
  if (units === undefined || units <= 0n) return fail('INVALID_QUANTITY');
  return units;
}

export function deposit(data: ModelData, credit: Extract<Instruction, { kind: 'depositCredit' }>): ModelResult {
  const asset = data.assets.find((candidate) => candidate.symbol === credit.symbol);
  if (asset === undefined) return fail('INVALID_ASSET');
  const units = amountOf(asset.decimals, credit.quantity);
  if (typeof units !== 'bigint') return units;
  const key = `${credit.blockchain}:${credit.chainTransactionId}`;
  if (data.creditedDeposits.has(key)) return fail('DUPLICATE_DEPOSIT');
  data.creditedDeposits.add(key);
  data.accounts.add(credit.account);
  balanceEntry(data, credit.account, asset.symbol).available += units;
  asset.deposited += units;
  return {
    ok: true,
    kind: 'deposit',
    account: credit.account,
    asset: asset.symbol,
    quantityUnits: units,
    blockchain: credit.blockchain,
    chainTransactionId: credit.chainTransactionId,
  };
}

export function withdraw(data: ModelData, account: string, symbol: string, quantity: string): ModelResult {
  const asset = data.assets.find((candidate) => candidate.symbol === symbol);
  if (asset === undefined) return fail('INVALID_ASSET');
  const units = amountOf(asset.decimals, quantity);
  if (typeof units !== 'bigint') return units;
  if (!data.accounts.has(account) || availableOf(data, account, symbol) < units) return fail('INSUFFICIENT_FUNDS');
  const balance = balanceEntry(data, account, symbol);
  balance.available -= units;
  balance.pendingWithdrawal += units;
  const withdrawal: ModelWithdrawal = {
    withdrawalId: data.nextWithdrawalId,
    account,
    asset: symbol,
    quantityUnits: units,
  };
  data.nextWithdrawalId += 1;
  data.withdrawals.push(withdrawal);
  return { ok: true, kind: 'withdrawal', ...withdrawal, status: 'Pending' };
}

export function settleWithdrawal(data: ModelData, withdrawalId: number, completed: boolean): ModelResult {
  const withdrawal = data.withdrawals.find((candidate) => candidate.withdrawalId === withdrawalId);
  if (withdrawal === undefined) return fail('RESOURCE_NOT_FOUND');
  data.withdrawals = data.withdrawals.filter((candidate) => candidate !== withdrawal);
  const balance = balanceEntry(data, withdrawal.account, withdrawal.asset);
  balance.pendingWithdrawal -= withdrawal.quantityUnits;
  if (completed) data.assets.find((asset) => asset.symbol === withdrawal.asset)!.withdrawn += withdrawal.quantityUnits;
  else balance.available += withdrawal.quantityUnits;
  return { ok: true, kind: 'withdrawal', ...withdrawal, status: completed ? 'Confirmed' : 'Failed' };
}
