/**
 * What every command module shares: the command and option types, the value
 * checks (each failure a UsageError, exit 2), key files and private files.
 */
import { readFile, chmod, open } from 'node:fs/promises';
import path from 'node:path';
import { enumValues } from '@vex/engine/catalogue';
import type { ExchangeClient } from '../client.js';
import { keyPairFromSecret, type KeyPair } from '../keys.js';
import { maximumWindowMs } from '../signing.js';
import type { OrderType, SelfTradePrevention, Side, TimeInForce } from '../types.js';

export const programName = 'exchange';
export const maximumClientId = 4_294_967_295;

/** A proof that does not verify: exit 1, printed as INVALID_PROOF: reason. */
export class ProofVerificationError extends Error {}

/**
 * A command's result printed as usual, with an exit code other than 0
 * (verify-proof: 4 equivocation, 5 signature only).
 */
export class ResultWithExitCode {
  constructor(
    readonly result: unknown,
    readonly exitCode: number,
    readonly warning?: string,
  ) {}
}

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export interface OptionDescription {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  /** Placeholder shown in help, e.g. "<file>". */
  readonly value?: string;
  readonly short?: string;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Context {
  readonly command: string;
  readonly values: Values;
  readonly url: string;
  readonly windowMs: number | undefined;
  client(secret?: string): ExchangeClient;
}

export interface Command {
  readonly group: 'Market data' | 'Keys' | 'Operator' | 'Trader' | 'Log' | 'Verification';
  readonly summary: string;
  readonly synopsis: string;
  readonly options: Readonly<Record<string, OptionDescription>>;
  readonly examples: readonly string[];
  /** Details printed under the options in --help. */
  readonly notes?: string;
  run(context: Context): Promise<unknown>;
}

export const defaultUrl = (): string => `http://127.0.0.1:${process.env.PORT ?? '8080'}`;
export const defaultOperatorKeyFile = (): string => path.join(process.env.DATA_DIR ?? './data', 'operator-key.json');

export const globalOptions: Readonly<Record<string, OptionDescription>> = {
  url: { type: 'string', value: '<url>', description: `Exchange base URL (default http://127.0.0.1:\${PORT:-8080}).` },
  window: {
    type: 'string',
    value: '<ms>',
    description: `X-Window of signed requests, 1 to ${maximumWindowMs} (default 5000).`,
  },
  help: { type: 'boolean', short: 'h', description: 'Show help for this command.' },
};

export const keyOption: OptionDescription = {
  type: 'string',
  value: '<file>',
  description: 'Trader key file, JSON {"secret", "publicKey"} (from keygen).',
};
export const operatorKeyOption: OptionDescription = {
  type: 'string',
  value: '<file>',
  description: `Operator key file, JSON {"secret", "publicKey"} (default \${DATA_DIR:-./data}/operator-key.json).`,
};
export const symbolOption = (what: string): OptionDescription => ({
  type: 'string',
  value: '<symbol>',
  description: what,
});

export function optional(values: Values, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`--${name} needs a value.`);
  if (value.trim().length === 0) throw new UsageError(`--${name} must not be empty.`);
  return value;
}

export function required(values: Values, name: string): string {
  const value = optional(values, name);
  if (value === undefined) throw new UsageError(`missing required option --${name}.`);
  return value;
}

export const decimalPattern = /^[0-9]+(\.[0-9]+)?$/;

export function decimal(name: string, value: string): string {
  if (!decimalPattern.test(value))
    throw new UsageError(`--${name} must be a non-negative decimal number like 12 or 0.5, not "${value}".`);
  return value;
}

export function integer(name: string, value: string, maximum = Number.MAX_SAFE_INTEGER, minimum = 0): number {
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`--${name} must be a whole number, not "${value}".`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < minimum || parsed > maximum) {
    throw new UsageError(`--${name} must be a whole number from ${minimum} to ${maximum}, not "${value}".`);
  }
  return parsed;
}

export function choice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (match === undefined) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, not "${value}".`);
  return match;
}

export function symbol(values: Values, name = 'symbol'): string {
  const value = required(values, name);
  if (!/^[A-Za-z0-9]+(_[A-Za-z0-9]+){0,2}$/.test(value))
    throw new UsageError(`--${name} must be a symbol like USDC, SOL_USDC or SOL_USDC_PERP, not "${value}".`);
  return value.toUpperCase();
}

/** Printable text for chain ids, addresses, reasons: what the exchange accepts in text fields. */
export function text(values: Values, name: string, fallback?: string): string {
  const value = optional(values, name) ?? fallback;
  if (value === undefined) throw new UsageError(`missing required option --${name}.`);
  if (!/^[\x20-\x7e]{1,256}$/.test(value))
    throw new UsageError(`--${name} must be 1 to 256 printable ASCII characters.`);
  return value;
}

export function pageFilter(values: Values): { limit?: number; offset?: number } {
  const limit = optional(values, 'limit');
  const offset = optional(values, 'offset');
  return {
    ...(limit !== undefined ? { limit: integer('limit', limit, 1000, 1) } : {}),
    ...(offset !== undefined ? { offset: integer('offset', offset) } : {}),
  };
}

export async function readKeyFile(file: string, what: string, option: string): Promise<KeyPair> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(`cannot read the ${what} key file ${file}: ${reason}. Pass ${option} <file>.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw new UsageError(
      `the ${what} key file ${file} is not JSON; expected {"secret": "<base64>", "publicKey": "<base64>"}.`,
    );
  }
  const secret = (parsed as { secret?: unknown } | null)?.secret;
  if (typeof secret !== 'string') throw new UsageError(`the ${what} key file ${file} has no "secret" string.`);
  let pair: KeyPair;
  try {
    pair = keyPairFromSecret(secret.trim());
  } catch (error) {
    throw new UsageError(`the ${what} key file ${file}: ${(error as Error).message}`);
  }
  const publicKey = (parsed as { publicKey?: unknown }).publicKey;
  if (publicKey !== undefined && publicKey !== pair.publicKey) {
    throw new UsageError(`the ${what} key file ${file}: "publicKey" is not the public key of "secret".`);
  }
  return pair;
}

export async function traderClient(context: Context): Promise<ExchangeClient> {
  const pair = await readKeyFile(required(context.values, 'key'), 'trader', '--key');
  return context.client(pair.secret);
}

export async function operatorClient(context: Context): Promise<ExchangeClient> {
  const file = optional(context.values, 'operator-key') ?? defaultOperatorKeyFile();
  const pair = await readKeyFile(file, 'operator', '--operator-key');
  return context.client(pair.secret);
}

/** Writes `content` to a new file with mode 0600; refuses to replace a file unless `force`. */
export async function writePrivateFile(file: string, content: string, force: boolean): Promise<void> {
  let handle;
  try {
    handle = await open(file, force ? 'w' : 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${file} already exists; pass --force to replace it.`);
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`);
  }
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
  await chmod(file, 0o600);
}

// The option values come from the engine's one instruction catalogue (its `catalogue` subpath:
// plain data, no engine code loaded).
export const sides: readonly Side[] = enumValues.side;
export const orderTypes: readonly OrderType[] = enumValues.orderType;
export const timesInForce: readonly TimeInForce[] = enumValues.timeInForce;
export const selfTradePreventions: readonly SelfTradePrevention[] = enumValues.selfTradePrevention;
