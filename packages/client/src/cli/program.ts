/**
 * The CLI's dispatch: one table of commands gathered from the command-group
 * modules, options parsed by commander (each command's options and the
 * global ones), help generated from the table, and the exit codes of
 * docs/client.md ("CLI"): 0 success, 1 refused or unreachable, 2 usage error,
 * 4 operator equivocation and 5 signature-only (verify-proof).
 */
import { Command as CommanderCommand, CommanderError, Option } from 'commander';
import { ExchangeClient } from '../client.js';
import { ClientInputError, ExchangeError } from '../errors.js';
import { maximumWindowMs } from '../signing.js';
import {
  ProofVerificationError,
  ResultWithExitCode,
  UsageError,
  defaultUrl,
  globalOptions,
  integer,
  optional,
  programName,
  type Command,
  type Context,
  type OptionDescription,
  type Values,
} from './command.js';
import { keyCommands } from './keys.js';
import { logCommands } from './log.js';
import { marginGroupCommands } from './margin.js';
import { custodyCommands } from './custody.js';
import { escapeCommands } from './escape.js';
import { marketDataCommands } from './market-data.js';
import { operatorCommands } from './operator.js';
import { perpCommands } from './perps.js';
import { traderCommands } from './trader.js';
import { verificationCommands } from './verification.js';

/** Every command, by name: the groups' tables in one. */
export const commands: Readonly<Record<string, Command>> = {
  ...marketDataCommands,
  ...keyCommands,
  ...operatorCommands,
  ...traderCommands,
  ...verificationCommands,
  ...logCommands,
  ...marginGroupCommands,
  ...perpCommands,
  ...custodyCommands,
  ...escapeCommands,
};

/** The shell's view of an outcome: documented in docs/client.md, "CLI". */
export const exitCodes = {
  success: 0,
  refused: 1,
  usage: 2,
  operatorEquivocation: 4,
  signatureOnly: 5,
} as const;

const groups = ['Market data', 'Keys', 'Operator', 'Trader', 'Log', 'Verification'] as const;

function optionLines(options: Readonly<Record<string, OptionDescription>>): string[] {
  const rows = Object.entries(options).map(([name, spec]) => {
    const value = spec.type === 'string' ? ` ${spec.value ?? '<value>'}` : '';
    return [`${spec.short !== undefined ? `-${spec.short}, ` : ''}--${name}${value}`, spec.description] as const;
  });
  const width = Math.max(0, ...rows.map(([flag]) => flag.length));
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

export function commandHelp(name: string): string {
  const command = commands[name] as Command;
  const lines = [`Usage: ${programName} ${command.synopsis} [--url <url>]`, '', command.summary, ''];
  if (Object.keys(command.options).length > 0) lines.push('Options:', ...optionLines(command.options), '');
  lines.push('Global options:', ...optionLines(globalOptions), '');
  if (command.notes !== undefined) lines.push(command.notes, '');
  lines.push('Examples:', ...command.examples.map((example) => `  ${example}`));
  return `${lines.join('\n')}\n`;
}

export function generalHelp(): string {
  const lines = [`Usage: ${programName} <command> [options]`, '', 'Commands:'];
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  for (const group of groups) {
    lines.push(`  ${group}:`);
    for (const [name, command] of Object.entries(commands)) {
      if (command.group === group) lines.push(`    ${name.padEnd(width)}  ${command.summary}`);
    }
  }
  lines.push('', 'Global options:', ...optionLines(globalOptions), '');
  lines.push(`Run "${programName} <command> --help" for a command's options.`);
  lines.push(
    'Exit codes: 0 success, 1 refused by the exchange or unreachable (printed as CODE: message), 2 usage error, ' +
      '4 operator equivocation and 5 signature-only check (verify-proof).',
  );
  return `${lines.join('\n')}\n`;
}

/** commander's wording of a parse failure, in this CLI's words. */
function usageMessage(error: CommanderError, command: string): string {
  if (error.code === 'commander.unknownOption') {
    const match = /unknown option '([^']+)'/.exec(error.message);
    return `unknown option ${match?.[1] ?? ''} for "${command}".`;
  }
  if (error.code === 'commander.optionMissingArgument') {
    const match = /option '([^']+)' argument missing/.exec(error.message);
    return `option ${match?.[1] ?? ''} needs a value.`;
  }
  return error.message.replace(/^error: /, '');
}

/** Parses a command's options (and the global ones) with commander; values keyed by option name. */
function parseOptions(name: string, command: Command, args: readonly string[]): Values {
  const parser = new CommanderCommand(name)
    .exitOverride()
    .helpOption(false)
    .allowExcessArguments(true)
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  const attributes = new Map<string, string>();
  for (const [option, spec] of Object.entries({ ...command.options, ...globalOptions })) {
    const short = spec.short !== undefined ? `-${spec.short}, ` : '';
    const flags = `${short}--${option}${spec.type === 'string' ? ' <value>' : ''}`;
    const parsed = new Option(flags, spec.description);
    attributes.set(option, parsed.attributeName());
    parser.addOption(parsed);
  }
  try {
    parser.parse([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new UsageError(usageMessage(error, name));
    throw error;
  }
  const stray = parser.args[0];
  if (stray !== undefined) throw new UsageError(`unexpected argument "${stray}"; options take the form --name value.`);
  const options = parser.opts<Record<string, string | boolean | undefined>>();
  return Object.fromEntries([...attributes].map(([option, attribute]) => [option, options[attribute]]));
}

function parseGlobal(values: Values): { url: string; windowMs: number | undefined } {
  const url = optional(values, 'url') ?? defaultUrl();
  if (!/^https?:\/\/[^/\s]+/i.test(url)) throw new UsageError(`--url must be an http(s) URL, not "${url}".`);
  const window = optional(values, 'window');
  return { url, windowMs: window === undefined ? undefined : integer('window', window, maximumWindowMs, 1) };
}

export interface Output {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/**
 * Moves global options written before the command (`exchange --url U deposit …`)
 * behind it, so both orders mean the same thing.
 */
function commandFirst(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let index = 0;
  while (index < argv.length) {
    const token = argv[index]!;
    const option = token.startsWith('--') ? token.slice(2).split('=')[0]! : undefined;
    if (option === undefined || !Object.hasOwn(globalOptions, option)) break;
    const takesValue = globalOptions[option]!.type === 'string' && !token.includes('=');
    leading.push(...argv.slice(index, index + (takesValue ? 2 : 1)));
    index += takesValue ? 2 : 1;
  }
  if (leading.length === 0 || index >= argv.length) return [...argv];
  return [argv[index]!, ...argv.slice(index + 1), ...leading];
}

/** Help, an unknown command, or the command to run. */
function route(args: readonly string[], output: Output): number | Command {
  const name = args[0];
  if (name === undefined) {
    output.stderr(generalHelp());
    return exitCodes.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = args[1];
    output.stdout(topic !== undefined && Object.hasOwn(commands, topic) ? commandHelp(topic) : generalHelp());
    return exitCodes.success;
  }
  if (!Object.hasOwn(commands, name)) {
    const hint = name.startsWith('-') ? 'the command comes first' : `unknown command "${name}"`;
    output.stderr(`error: ${hint}.\nRun "${programName} --help" for the list of commands.\n`);
    return exitCodes.usage;
  }
  return commands[name] as Command;
}

async function run(name: string, command: Command, args: readonly string[], output: Output): Promise<number> {
  const values = parseOptions(name, command, args);
  if (values.help === true) {
    output.stdout(commandHelp(name));
    return exitCodes.success;
  }
  const { url, windowMs } = parseGlobal(values);
  const context: Context = {
    command: name,
    values,
    url,
    windowMs,
    client: (secret) =>
      new ExchangeClient({
        baseUrl: url,
        ...(secret !== undefined ? { secret } : {}),
        ...(windowMs !== undefined ? { windowMs } : {}),
      }),
  };
  const result = await command.run(context);
  if (result instanceof ResultWithExitCode) {
    output.stdout(`${JSON.stringify(result.result ?? null, null, 2)}\n`);
    if (result.warning !== undefined) output.stderr(`${result.warning}\n`);
    return result.exitCode;
  }
  output.stdout(`${JSON.stringify(result ?? null, null, 2)}\n`);
  return exitCodes.success;
}

export async function main(argv: readonly string[], output: Output): Promise<number> {
  const args = commandFirst(argv[0] === '--' ? argv.slice(1) : argv);
  const command = route(args, output);
  if (typeof command === 'number') return command;
  const name = args[0]!;
  try {
    return await run(name, command, args.slice(1), output);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ClientInputError) {
      output.stderr(`error: ${error.message}\nRun "${programName} ${name} --help" for usage.\n`);
      return exitCodes.usage;
    }
    if (error instanceof ExchangeError) output.stderr(`${error.code}: ${error.message}\n`);
    else if (error instanceof ProofVerificationError) output.stderr(`INVALID_PROOF: ${error.message}\n`);
    else output.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodes.refused;
  }
}
