/**
 * The escape commands (docs/custody.md, "If the operator stops";
 * docs/client.md, "Custody commands"): `escape-status` tells an account
 * where it stands, from the chain alone, and what to run next; `refund`
 * takes back a deposit no final root credited once the vault is frozen.
 * The SDK calls are src/escape.ts and src/custody.ts.
 */
import { decodeBase64 } from '../base64.js';
import { escapeStatus } from '../escape.js';
import { ClientInputError } from '../errors.js';
import { type Command, optional, required } from './command.js';
import {
  accountKey,
  accountOption,
  custodyFileOption,
  custodyOf,
  ethereumKeyOption,
  readProofFile,
  traderKeyOption,
  wallet,
} from './custody.js';

const escapeStatusCommand: Command = {
  group: 'Trader',
  summary: 'Where an account stands in the escape: forced exits, freeze, the last final root, its proof, what next.',
  synopsis: 'escape-status (--key <file> | --account <public key>) [--proof <file>] [--custody <file>]',
  options: {
    key: traderKeyOption,
    account: accountOption,
    proof: {
      type: 'string',
      value: '<file>',
      description: 'A saved inclusion proof (exchange proof --out): checked against the last final root.',
    },
    custody: custodyFileOption,
  },
  notes:
    'Reads the chain only (the vault named by --custody, or by GET /api/v1/custody of --url), so it works when ' +
    'the exchange has stopped. Times are the chain’s, in seconds. `next` lists the commands to run.',
  examples: [
    'exchange escape-status --key alice.json --proof alice-proof.json --custody custody.json',
    'exchange escape-status --account <base64 public key>',
  ],
  run: async (context) => {
    const proofFile = optional(context.values, 'proof');
    const proof = proofFile === undefined ? undefined : await readProofFile(proofFile);
    const account =
      optional(context.values, 'key') === undefined && optional(context.values, 'account') === undefined && proof
        ? decodeBase64(proof.account)
        : await accountKey(context);
    return escapeStatus({ info: await custodyOf(context), account, ...(proof === undefined ? {} : { proof }) });
  },
};

export const escapeCommands: Readonly<Record<string, Command>> = {
  'escape-status': escapeStatusCommand,
  refund: {
    group: 'Trader',
    summary: 'Once the vault is frozen: owe a deposit no final root credited back to its depositor.',
    synopsis: 'refund --number <n> [--custody <file>] [--ethereum-key <file>]',
    options: {
      number: { type: 'string', value: '<n>', description: 'The vault deposit’s number (escape-status lists them).' },
      custody: custodyFileOption,
      'ethereum-key': ethereumKeyOption,
    },
    notes: 'Anyone may send it; the depositor then pulls it with vault-withdraw.',
    examples: ['exchange refund --number 7 --custody custody.json --ethereum-key eth.key'],
    run: async (context) => {
      const text = required(context.values, 'number');
      if (!/^[1-9][0-9]{0,18}$/.test(text)) throw new ClientInputError('--number must be a positive integer.');
      await (await wallet(context)).refund(BigInt(text));
      return { refunded: Number(text) };
    },
  },
};
