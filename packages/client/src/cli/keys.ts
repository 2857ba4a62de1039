/** Key commands: keygen. */
import { generateKeyPair } from '../keys.js';
import { optional, writePrivateFile, type Command } from './command.js';

export const keyCommands: Readonly<Record<string, Command>> = {
  keygen: {
    group: 'Keys',
    summary: 'Generate an ed25519 key pair in Backpack format.',
    synopsis: 'keygen [--out <file>] [--force]',
    options: {
      out: {
        type: 'string',
        value: '<file>',
        description: 'Write {"secret", "publicKey"} to this file (mode 0600) and print only the public key.',
      },
      force: { type: 'boolean', description: 'Replace --out if it exists.' },
    },
    notes: 'secret is the base64 of the 32-byte seed, publicKey the base64 public key: the API key and the account id.',
    examples: ['exchange keygen --out alice.json', 'exchange keygen'],
    run: async (context) => {
      const pair = generateKeyPair();
      const out = optional(context.values, 'out');
      if (out === undefined) return pair;
      await writePrivateFile(out, `${JSON.stringify(pair, null, 2)}\n`, context.values.force === true);
      return { publicKey: pair.publicKey, file: out };
    },
  },
};
