/**
 * The CLI's custody commands (docs/client.md, "Custody commands"): the vault
 * named by GET /api/v1/custody, acted on with an Ethereum key read from the
 * file --ethereum-key (the 0x-prefixed hex private key) or the environment
 * variable ETHEREUM_PRIVATE_KEY, never from the command line. Registered in
 * cli/program.ts's command table; the SDK calls are src/custody.ts.
 */
import { readFile } from 'node:fs/promises';
import { parseUnits, type Address, type Hex } from 'viem';
import { demoTokenContract, vaultContract } from '@vex/custody/browser';
import { decodeBase64 } from '../base64.js';
import { CustodyWallet, fetchCustody, linkExitAddress, type CustodyInfo } from '../custody.js';
import type { InclusionProof } from '@vex/engine/verify';
import { ClientInputError } from '../errors.js';
import { isPublicKeyText } from '../keys.js';
import { type Command, type Context, type OptionDescription, optional, readKeyFile, required } from './command.js';

export const ethereumKeyOption: OptionDescription = {
  type: 'string',
  value: '<file>',
  description: 'File holding the Ethereum private key (0x and 64 hex digits); default: $ETHEREUM_PRIVATE_KEY.',
};
export const traderKeyOption: OptionDescription = {
  type: 'string',
  value: '<file>',
  description: 'Trader key file (from keygen).',
};
export const accountOption: OptionDescription = {
  type: 'string',
  value: '<public key>',
  description: 'The exchange account (base64 public key); default: the public key of --key.',
};
const assetOption: OptionDescription = { type: 'string', value: '<symbol>', description: 'Asset, e.g. USDC.' };
/** Where the vault is when the exchange no longer answers: a saved `exchange custody` answer. */
export const custodyFileOption: OptionDescription = {
  type: 'string',
  value: '<file>',
  description: 'The vault as saved from `exchange custody` (for when the exchange no longer answers); default: --url.',
};

export async function custodyOf(context: Context): Promise<CustodyInfo> {
  const file = optional(context.values, 'custody');
  if (file !== undefined) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as CustodyInfo;
    } catch (error) {
      throw new ClientInputError(`cannot read the custody file ${file}: ${(error as Error).message}`);
    }
  }
  const info = await fetchCustody(context.url);
  if (info === undefined) throw new Error('the exchange has no custody contract (GET /api/v1/custody answered 404).');
  return info;
}

export async function ethereumKey(context: Context): Promise<Hex> {
  const file = optional(context.values, 'ethereum-key');
  const text = file === undefined ? process.env.ETHEREUM_PRIVATE_KEY : await readFile(file, 'utf8');
  const key = text?.trim();
  if (key === undefined || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    const where = '--ethereum-key <file> or $ETHEREUM_PRIVATE_KEY';
    throw new ClientInputError(`give an Ethereum private key (0x and 64 hex digits) in ${where}.`);
  }
  return key as Hex;
}

export async function wallet(context: Context): Promise<CustodyWallet> {
  return new CustodyWallet(await custodyOf(context), await ethereumKey(context));
}

/** The account a command acts for: --account, or the public key of --key. */
export async function accountKey(context: Context): Promise<Uint8Array> {
  const account = optional(context.values, 'account');
  if (account !== undefined) {
    if (!isPublicKeyText(account)) throw new ClientInputError('--account must be the base64 of a 32-byte public key.');
    return decodeBase64(account);
  }
  return decodeBase64((await readKeyFile(required(context.values, 'key'), 'trader', '--key')).publicKey);
}

/** A proof JSON file as `exchange proof --out` writes it. */
export async function readProofFile(file: string): Promise<InclusionProof> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as InclusionProof;
  } catch (error) {
    throw new ClientInputError(`cannot read the proof file ${file}: ${(error as Error).message}`);
  }
}

function address(value: string, option: string): Address {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw new ClientInputError(`${option} must be 0x and 40 hex digits.`);
  return value as Address;
}

const vaultDeposit: Command = {
  group: 'Trader',
  summary: 'Deposit into the custody vault from an Ethereum key, for an exchange account.',
  synopsis:
    'vault-deposit --symbol <asset> --quantity <q> (--key <file> | --account <public key>) [--ethereum-key <file>]',
  options: {
    symbol: assetOption,
    quantity: { type: 'string', value: '<q>', description: 'Amount, a decimal in the asset’s units.' },
    key: traderKeyOption,
    account: accountOption,
    'ethereum-key': ethereumKeyOption,
  },
  notes: 'Approves the token, then deposits; the node credits the account after its confirmations.',
  examples: ['exchange vault-deposit --symbol USDC --quantity 100 --key alice.json --ethereum-key eth.key'],
  run: async (context) => {
    const custody = await wallet(context);
    const symbol = required(context.values, 'symbol');
    const token = custody.info.tokens[symbol];
    if (token === undefined) throw new ClientInputError(`the vault holds no token for ${symbol}.`);
    const decimals = await demoTokenContract(custody.clients, token).read.decimals();
    const amount = parseUnits(required(context.values, 'quantity'), decimals);
    await custody.deposit(symbol, amount, await accountKey(context));
    return { deposited: amount.toString(), symbol, from: custody.address };
  },
};

/** The phase of the escape a command runs: register the claim (`exit`) or pay it (`exit-pay`). */
function escapeCommand(phase: 'register' | 'pay'): Command {
  const register = phase === 'register';
  const name = register ? 'exit' : 'exit-pay';
  return {
    group: 'Trader',
    summary: register
      ? "Register the account's exit claim in the frozen vault with its proof under the last final root."
      : "Pay the account's registered exit claim once the claim window is over.",
    synopsis: `${name} (--key <file> | --proof <file>) [--custody <file>] [--ethereum-key <file>]`,
    options: {
      key: traderKeyOption,
      proof: {
        type: 'string',
        value: '<file>',
        description: 'A saved proof under the last final root (exchange proof --out); default: fetched with --key.',
      },
      custody: custodyFileOption,
      'ethereum-key': ethereumKeyOption,
    },
    notes: register
      ? 'Phase 1, within the claim window after the freeze; any Ethereum key may send it. Then exit-pay. ' +
        'Check first with escape-status.'
      : 'Phase 2: in full, or pro rata when an asset is short; the exit address is owed it. Then vault-withdraw.',
    examples: [
      `exchange ${name} --key alice.json --ethereum-key eth.key`,
      `exchange ${name} --proof alice-proof.json --custody custody.json --ethereum-key eth.key`,
    ],
    run: async (context) => {
      const custody = await wallet(context);
      const proof = await escapeProof(context, custody);
      if (!register) {
        await custody.payExit(proof);
        return { paid: proof.account, exitAddress: proof.exitAddress };
      }
      await custody.exit(proof);
      return { exited: proof.account, sequence: proof.attestation.sequence, exitAddress: proof.exitAddress };
    },
  };
}

/** The proof an escape command uses: the saved file, or fetched from the node at the last final root. */
async function escapeProof(context: Context, custody: CustodyWallet): Promise<InclusionProof> {
  const proofFile = optional(context.values, 'proof');
  if (proofFile !== undefined) return readProofFile(proofFile);
  const pair = await readKeyFile(required(context.values, 'key'), 'trader', '--key');
  const vault = vaultContract(custody.clients, custody.info.vault);
  const finalCount = await vault.read.finalCount();
  if (finalCount === 0n) throw new Error('the vault has no final root to exit from.');
  const { sequence } = await vault.read.commitments([finalCount]);
  return context.client(pair.secret).fetchProof(Number(sequence));
}

export const custodyCommands: Readonly<Record<string, Command>> = {
  custody: {
    group: 'Trader',
    summary: 'Show the custody vault (GET /api/v1/custody).',
    synopsis: 'custody',
    options: {},
    examples: ['exchange custody'],
    run: (context) => custodyOf(context),
  },
  'vault-deposit': vaultDeposit,
  'link-exit-address': {
    group: 'Trader',
    summary: 'Link the account to the Ethereum address its exit pays (once per account).',
    synopsis: 'link-exit-address --key <file> --address <0x…>',
    options: { key: traderKeyOption, address: { type: 'string', value: '<0x…>', description: 'The exit address.' } },
    examples: ['exchange link-exit-address --key alice.json --address 0x70997970C51812dc3A010C7d01b50e0d17dc79C8'],
    run: async (context) => {
      const pair = await readKeyFile(required(context.values, 'key'), 'trader', '--key');
      return linkExitAddress(context.client(pair.secret), address(required(context.values, 'address'), '--address'));
    },
  },
  'forced-exit': {
    group: 'Trader',
    summary: 'File a forced exit for an account on the vault, paying its fee.',
    synopsis: 'forced-exit (--key <file> | --account <public key>) [--custody <file>] [--ethereum-key <file>]',
    options: {
      key: traderKeyOption,
      account: accountOption,
      custody: custodyFileOption,
      'ethereum-key': ethereumKeyOption,
    },
    examples: ['exchange forced-exit --key alice.json --ethereum-key eth.key'],
    run: async (context) => {
      const custody = await wallet(context);
      await custody.requestForcedExit(await accountKey(context));
      return { requested: true };
    },
  },
  freeze: {
    group: 'Trader',
    summary: 'Freeze the vault (once a forced exit has gone unserved past the grace period).',
    synopsis: 'freeze [--custody <file>] [--ethereum-key <file>]',
    options: { custody: custodyFileOption, 'ethereum-key': ethereumKeyOption },
    examples: ['exchange freeze --ethereum-key eth.key'],
    run: async (context) => {
      await (await wallet(context)).freeze();
      return { frozen: true };
    },
  },
  exit: escapeCommand('register'),
  'exit-pay': escapeCommand('pay'),
  'vault-withdraw': {
    group: 'Trader',
    summary: 'Pull what the vault owes the Ethereum key’s address in an asset (payouts, exits, refunds).',
    synopsis: 'vault-withdraw --symbol <asset> [--custody <file>] [--ethereum-key <file>]',
    options: { symbol: assetOption, custody: custodyFileOption, 'ethereum-key': ethereumKeyOption },
    examples: ['exchange vault-withdraw --symbol USDC --ethereum-key eth.key'],
    run: async (context) => {
      const custody = await wallet(context);
      const symbol = required(context.values, 'symbol');
      const owed = await custody.owed(symbol);
      await custody.withdraw(symbol);
      return { withdrawn: owed.toString(), symbol, to: custody.address };
    },
  },
};
