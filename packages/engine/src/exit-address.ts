/**
 * The exit-address link (docs/protocol.md, "exitAddressLink"; docs/custody.md):
 * an account names, with a transaction signed by its own key, the Ethereum
 * address its funds go to if the vault is frozen. The address is part of the
 * account's leaf (the exit leaf, docs/attestation.md), so the vault pays an
 * exit only to it. One self-contained module: the instruction's parsing
 * rule, its effect, and its section of the state encoding.
 *
 * An account links once: a later link is refused. Keeping the address fixed
 * means a proof at any attested version names the address that was in force,
 * and a stolen exchange session cannot redirect an exit.
 */
import type { ByteReader, ByteWriter } from './byte-codec.js';
import { reject, type Rejection } from './result-codes.js';
import type { Account, ExchangeState } from './state.js';
import { exitAddressLengthBytes, exitAddressText, parseExitAddress } from './exit-address-text.js';

export { exitAddressLengthBytes, exitAddressText, parseExitAddress };

/** The instruction as parsed: `address` is the canonical text (0x and 40 lower-case hex digits). */
export interface ExitAddressLinkInstruction {
  readonly kind: 'exitAddressLink';
  readonly address: string;
}

/** Reads the instruction's parameters (`address`), or explains why not. */
export function parseExitAddressLink(address: string | undefined): ExitAddressLinkInstruction | string {
  if (address === undefined) return 'exitAddressLink requires "address".';
  if (parseExitAddress(address) === undefined) {
    return '"address" must be 0x and 40 lower-case hex digits, not the zero address.';
  }
  return { kind: 'exitAddressLink', address };
}

/**
 * Links `signer`'s exit address. The account must exist (it was created by
 * a deposit) and must not have linked one already. The leaf changes, so the
 * account is marked for the liabilities tree.
 */
export function linkExitAddress(
  state: ExchangeState,
  signer: string,
  instruction: ExitAddressLinkInstruction,
): { readonly account: string; readonly exitAddress: string } | Rejection {
  const account = state.accounts.get(signer);
  if (account === undefined) return reject('RESOURCE_NOT_FOUND', 'The account does not exist; deposit first.');
  if (account.exitAddress !== undefined) {
    const linked = exitAddressText(account.exitAddress);
    return reject('INVALID_CLIENT_REQUEST', `The account already linked exit address ${linked}.`);
  }
  const address = parseExitAddress(instruction.address);
  if (address === undefined) return reject('INVALID_CLIENT_REQUEST', 'The exit address is not canonical.');
  account.exitAddress = address;
  // The address is in the account's encoding but moves no balance: tell the state commitment directly.
  state.changes.accountChanged(account);
  if (!account.leafStale) {
    account.leafStale = true;
    state.changedAccounts.push(account);
  }
  return { account: account.id, exitAddress: instruction.address };
}

/**
 * The account's exit address in its piece of the state encoding (docs/protocol.md,
 * section 11, version 4), after its margin settings: byte 0 when none is linked,
 * otherwise byte 1 and the 20 address bytes. Being in the account's piece, it is
 * also in the account's leaf of the state commitment.
 */
export function encodeAccountExitAddress(writer: ByteWriter, account: Account): void {
  if (account.exitAddress === undefined) {
    writer.byte(0);
    return;
  }
  writer.byte(1);
  writer.bytes(account.exitAddress);
}

/** Reads what encodeAccountExitAddress wrote; refuses another flag byte and the zero address. */
export function decodeAccountExitAddress(reader: ByteReader, account: Account): void {
  const flag = reader.byte();
  if (flag === 0) return;
  if (flag !== 1) throw new RangeError(`exit-address flag ${flag} is neither 0 nor 1`);
  const address = reader.bytes(exitAddressLengthBytes);
  if (address.every((byte) => byte === 0)) throw new RangeError('the zero exit address');
  account.exitAddress = new Uint8Array(address);
}
