/**
 * Deposits and withdrawals. A deposit is credited by an operator instruction,
 * once per chain transaction. A withdrawal moves funds from available to
 * pending; the operator then completes it (the funds leave the exchange) or
 * fails it (the funds return to available).
 */
import { isCanonicalAccountId } from './account-id.js';
import { credit as creditAvailable, holdForWithdrawal, releaseWithdrawal } from './balance-movements.js';
import { checkWithdrawalMargin } from './borrow-lend.js';
import type { EntryRecorder } from './entry-recorder.js';
import type { DepositView, ReservesView, WithdrawalView } from './events.js';
import type { OperatorInstruction, TraderInstruction } from './instruction.js';
import { maximumAssetSupplyUnits } from './limits.js';
import { parseAmountUnits } from './order-request.js';
import { reject, type Rejection } from './result-codes.js';
import { addAccount, custodianKeyOf, type Account, type Asset, type ExchangeState, type Withdrawal } from './state.js';

type DepositCredit = Extract<OperatorInstruction, { kind: 'depositCredit' }>;
type WithdrawRequest = Extract<TraderInstruction, { kind: 'withdraw' }>;
type ReservesStatement = Extract<
  OperatorInstruction | TraderInstruction,
  { kind: 'reservesStatement' | 'custodianReservesStatement' }
>;

/**
 * Records the reserves held of an asset: stated by the operator
 * (reservesStatement; its word), or, for a deposit token, by the custodian
 * key the genesis names for it (custodianReservesStatement, signed by
 * `signer`; the operator may not state them). Logging it binds it into every
 * later attestation, where verifiers compare it with the liabilities.
 */
export function stateReserves(
  state: ExchangeState,
  recorder: EntryRecorder,
  statement: ReservesStatement,
  signer: string,
): ReservesView | Rejection {
  const asset = state.assetsBySymbol.get(statement.symbol);
  if (asset === undefined) return reject('INVALID_ASSET', `Asset ${statement.symbol} does not exist.`);
  const custodian = custodianKeyOf(state, asset.symbol);
  if (statement.kind === 'reservesStatement' && custodian !== undefined) {
    return reject('UNAUTHORIZED', `${asset.symbol} is a deposit token: its reserves come from its custodian.`);
  }
  if (statement.kind === 'custodianReservesStatement' && signer !== custodian) {
    return reject('UNAUTHORIZED', `Only the custodian key the genesis names for ${asset.symbol} may state them.`);
  }
  const units = parseAmountUnits(
    asset.decimals,
    statement.quantity,
    'Reserves quantity',
    true,
    maximumAssetSupplyUnits,
  );
  if (typeof units !== 'bigint') return units;
  asset.reservesUnits = units;
  asset.reservesStatedAtMs = recorder.timeMs;
  const reserves: ReservesView = { asset: asset.symbol, quantityUnits: units, statedAtMs: recorder.timeMs };
  recorder.events.push({ type: 'reserves', reserves });
  return reserves;
}

export function creditDeposit(
  state: ExchangeState,
  recorder: EntryRecorder,
  credit: DepositCredit,
  entrySignature: Uint8Array,
): DepositView | Rejection {
  if (!/^[A-Za-z][A-Za-z0-9]{0,31}$/.test(credit.blockchain)) {
    return reject('INVALID_CLIENT_REQUEST', 'The blockchain must be a plain name of letters and digits.');
  }
  if (!isCanonicalAccountId(credit.account)) {
    return reject('INVALID_CLIENT_REQUEST', 'The account must be the canonical base64 of a 32-byte public key.');
  }
  const asset = state.assetsBySymbol.get(credit.symbol);
  if (asset === undefined) return reject('INVALID_ASSET', `Asset ${credit.symbol} does not exist.`);
  const units = parseAmountUnits(asset.decimals, credit.quantity, 'Deposit quantity');
  if (typeof units !== 'bigint') return units;
  const depositKey = `${credit.blockchain}:${credit.chainTransactionId}`;
  if (state.creditedDeposits.has(depositKey)) {
    return reject(
      'DUPLICATE_DEPOSIT',
      `Chain transaction ${credit.chainTransactionId} on ${credit.blockchain} is already credited.`,
    );
  }
  if (asset.depositedUnits - asset.withdrawnUnits + units > maximumAssetSupplyUnits) {
    return reject(
      'INVALID_QUANTITY',
      `The deposit would take ${asset.symbol} beyond the supply the exchange can hold.`,
    );
  }
  const account = state.accounts.get(credit.account) ?? addAccount(state, credit.account, entrySignature);
  creditAvailable(recorder, account.balance(asset), units);
  asset.depositedUnits += units;
  state.creditedDeposits.add(depositKey);
  state.changes.depositCredited(depositKey);
  const deposit: DepositView = {
    depositId: state.nextDepositId,
    account: account.id,
    asset: asset.symbol,
    quantityUnits: units,
    blockchain: credit.blockchain,
    chainTransactionId: credit.chainTransactionId,
    createdAtMs: recorder.timeMs,
  };
  state.nextDepositId += 1;
  recorder.events.push({ type: 'deposit', deposit });
  return deposit;
}

function viewWithdrawal(
  withdrawal: Withdrawal,
  status: WithdrawalView['status'],
  chainTransactionId?: string,
  reason?: string,
): WithdrawalView {
  return {
    withdrawalId: withdrawal.id,
    account: withdrawal.account.id,
    asset: withdrawal.asset.symbol,
    quantityUnits: withdrawal.quantityUnits,
    address: withdrawal.address,
    blockchain: withdrawal.blockchain,
    status,
    createdAtMs: withdrawal.createdAtMs,
    chainTransactionId,
    reason,
  };
}

export function requestWithdrawal(
  state: ExchangeState,
  recorder: EntryRecorder,
  accountId: string,
  request: WithdrawRequest,
): WithdrawalView | Rejection {
  const asset = state.assetsBySymbol.get(request.symbol);
  if (asset === undefined) return reject('INVALID_ASSET', `Asset ${request.symbol} does not exist.`);
  const units = parseAmountUnits(asset.decimals, request.quantity, 'Withdrawal quantity');
  if (typeof units !== 'bigint') return units;
  const account = state.accounts.get(accountId);
  const available = account?.availableOf(asset) ?? 0n;
  if (account === undefined || available < units) {
    return reject(
      'INSUFFICIENT_FUNDS',
      `The withdrawal needs ${units} ${asset.symbol} units; ${available} are available.`,
    );
  }
  // An account that borrows may withdraw only what keeps it at its initial margin (docs/margin.md).
  const marginRefusal =
    account.borrowCount > 0 ? checkWithdrawalMargin(state, account, asset, units, recorder.timeMs) : undefined;
  if (marginRefusal !== undefined) return marginRefusal;
  return openWithdrawal(state, recorder, account, asset, units, request.address, request.blockchain);
}

/** Moves `units` of the account's available balance to a new pending withdrawal (the caller checked it may). */
export function openWithdrawal(
  state: ExchangeState,
  recorder: EntryRecorder,
  account: Account,
  asset: Asset,
  units: bigint,
  address: string,
  blockchain: string,
): WithdrawalView {
  holdForWithdrawal(recorder, account.balance(asset), units);
  const withdrawal: Withdrawal = {
    id: state.nextWithdrawalId,
    account,
    asset,
    quantityUnits: units,
    address,
    blockchain,
    createdAtMs: recorder.timeMs,
  };
  state.nextWithdrawalId += 1;
  state.pendingWithdrawals.set(withdrawal.id, withdrawal);
  state.changes.withdrawalChanged(withdrawal.id);
  const view = viewWithdrawal(withdrawal, 'Pending');
  recorder.events.push({ type: 'withdrawal', withdrawal: view });
  return view;
}

export function settleWithdrawal(
  state: ExchangeState,
  recorder: EntryRecorder,
  withdrawalId: number,
  outcome:
    | { readonly completed: true; readonly chainTransactionId: string }
    | { readonly completed: false; readonly reason: string },
): WithdrawalView | Rejection {
  const withdrawal = state.pendingWithdrawals.get(withdrawalId);
  if (withdrawal === undefined) return reject('RESOURCE_NOT_FOUND', `No pending withdrawal ${withdrawalId}.`);
  const balance = withdrawal.account.balance(withdrawal.asset);
  releaseWithdrawal(recorder, balance, withdrawal.quantityUnits, outcome.completed);
  if (outcome.completed) withdrawal.asset.withdrawnUnits += withdrawal.quantityUnits;
  state.pendingWithdrawals.delete(withdrawalId);
  state.changes.withdrawalChanged(withdrawalId);
  const view = outcome.completed
    ? viewWithdrawal(withdrawal, 'Confirmed', outcome.chainTransactionId)
    : viewWithdrawal(withdrawal, 'Failed', undefined, outcome.reason);
  recorder.events.push({ type: 'withdrawal', withdrawal: view });
  return view;
}
