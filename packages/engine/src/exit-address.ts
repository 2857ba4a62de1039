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
import type { ExchangeState } from './state.js';

/** The instruction as parsed: `address` is the canonical text (0x and 40 lower-case hex digits). */
export interface ExitAddressLinkInstruction {
  readonly kind: 'exitAddressLink';
  readonly address: string;
}

export const exitAddressLengthBytes = 20;

/** The address bytes of canonical text: `0x` and 40 lower-case hex digits, not all zero; undefined otherwise. */
export function parseExitAddress(text: string): Uint8Array | undefined {
  if (!/^0x[0-9a-f]{40}$/.test(text)) return undefined;
  const bytes = new Uint8Array(exitAddressLengthBytes);
  for (let index = 0; index < exitAddressLengthBytes; index += 1) {
    bytes[index] = Number.parseInt(text.slice(2 + 2 * index, 4 + 2 * index), 16);
  }
  return bytes.some((byte) => byte !== 0) ? bytes : undefined;
}

export function exitAddressText(bytes: Uint8Array): string {
  let text = '0x';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
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
  if (!account.leafStale) {
    account.leafStale = true;
    state.changedAccounts.push(account);
  }
  return { account: account.id, exitAddress: instruction.address };
}

/**
 * The state encoding's optional last section (docs/protocol.md, section 11):
 * absent when no account has linked an exit address (so states without links
 * encode exactly as before), otherwise a non-zero count and, in ordinal
 * order, each linking account's ordinal and 20 address bytes.
 */
export function encodeExitAddresses(writer: ByteWriter, state: ExchangeState): void {
  const linked = state.accountList.filter((account) => account.exitAddress !== undefined);
  if (linked.length === 0) return;
  writer.unsigned(linked.length);
  for (const account of linked) {
    writer.unsigned(account.ordinal);
    writer.bytes(account.exitAddress!);
  }
}

/** Reads the optional section if any bytes remain; refuses an empty section or ordinals out of order. */
export function decodeExitAddresses(reader: ByteReader, state: ExchangeState): void {
  if (reader.atEnd()) return;
  const count = reader.safeInteger();
  if (count === 0) throw new RangeError('an exit-address section must not be empty');
  let previous = -1;
  for (let index = 0; index < count; index += 1) {
    const ordinal = reader.safeInteger();
    const account = state.accountList[ordinal];
    if (account === undefined || ordinal <= previous) {
      throw new RangeError('exit addresses of unknown or repeated accounts');
    }
    previous = ordinal;
    const address = reader.bytes(exitAddressLengthBytes);
    if (address.every((byte) => byte === 0)) throw new RangeError('the zero exit address');
    account.exitAddress = new Uint8Array(address);
  }
}
