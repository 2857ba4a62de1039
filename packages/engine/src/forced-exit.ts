/**
 * forcedExitServe (docs/protocol.md; docs/custody.md, "Serving forced
 * exits"): the operator answers a forced-exit request an account filed on
 * the custody vault. The request is on chain, where the operator cannot hide
 * it; this instruction is the log's record of the answer, and the replayer's
 * chain check holds each one to a request of the same account.
 *
 * The rule, the same for every account and bounded by the account's own
 * orders and assets: cancel every open order of the account (their locked
 * funds return to available), then withdraw, asset by asset in listing
 * order, the whole available balance to the account's exit address on
 * blockchain Ethereum. An account that borrows keeps an asset whose full
 * withdrawal the withdrawal margin check refuses (its funds back its debt).
 * An account that does not exist or never linked an exit address gets
 * nothing withdrawn; the request is answered all the same, so that nobody
 * can freeze the vault by filing requests the operator cannot serve.
 */
import { checkWithdrawalMargin } from './borrow-lend.js';
import type { EntryRecorder } from './entry-recorder.js';
import type { WithdrawalView } from './events.js';
import { exitAddressText } from './exit-address-text.js';
import { openWithdrawal } from './funds.js';
import { cancelAllOrders } from './matching.js';
import type { ExchangeState } from './state.js';

/** The blockchain of the withdrawals a forced exit opens: the vault's (exit addresses are Ethereum addresses). */
export const forcedExitBlockchain = 'Ethereum';

export interface ForcedExitServeInstruction {
  readonly kind: 'forcedExitServe';
  /** Base64 of the account's 32-byte public key, as named by the request on chain. */
  readonly account: string;
  /** The vault's number of the forced-exit request (1, 2, …). */
  readonly request: number;
}

/** Why nothing could be withdrawn, when nothing was. */
export type ForcedExitShortfall = 'noAccount' | 'noExitAddress';

export interface ForcedExitView {
  readonly account: string;
  readonly request: number;
  readonly cancelledOrders: number;
  /** The withdrawals opened, one per asset withdrawn, in listing order. */
  readonly withdrawals: readonly WithdrawalView[];
  /** Assets kept because the account's debt needs them (the withdrawal margin check refused). */
  readonly keptForDebt: readonly string[];
  readonly shortfall: ForcedExitShortfall | undefined;
}

export function serveForcedExit(
  state: ExchangeState,
  recorder: EntryRecorder,
  instruction: ForcedExitServeInstruction,
): ForcedExitView {
  const { account: accountId, request } = instruction;
  const answer = { account: accountId, request, cancelledOrders: 0, withdrawals: [], keptForDebt: [] };
  const account = state.accounts.get(accountId);
  if (account === undefined) return { ...answer, shortfall: 'noAccount' };
  if (account.exitAddress === undefined) return { ...answer, shortfall: 'noExitAddress' };
  const address = exitAddressText(account.exitAddress);
  let cancelledOrders = 0;
  for (const market of state.markets) {
    if (account.openOrderCountOn(market) > 0) {
      cancelledOrders += cancelAllOrders(state, recorder, accountId, market).length;
    }
  }
  const withdrawals: WithdrawalView[] = [];
  const keptForDebt: string[] = [];
  for (const balance of account.balances) {
    if (balance === undefined || balance.available === 0n) continue;
    const { asset, available } = balance;
    if (account.borrowCount > 0 && checkWithdrawalMargin(state, account, asset, available, recorder.timeMs)) {
      keptForDebt.push(asset.symbol);
      continue;
    }
    withdrawals.push(openWithdrawal(state, recorder, account, asset, available, address, forcedExitBlockchain));
  }
  return { account: accountId, request, cancelledOrders, withdrawals, keptForDebt, shortfall: undefined };
}
