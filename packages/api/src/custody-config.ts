/**
 * The custody section of the operator's config file (docs/operator.md,
 * "Custody"): where the vault is and which token holds each asset. The API
 * serves it as GET /api/v1/custody; without the section, custody is off and
 * that route answers 404. Secrets (the operator's chain key, committee keys)
 * never sit in the file: they come from the environment.
 */
import { ConfigError } from './config.js';

/** GET /api/v1/custody's answer, exactly (docs/api.md). */
export interface CustodyInfo {
  readonly chainId: number;
  /** A JSON-RPC endpoint clients (and browsers) can reach. */
  readonly rpcUrl: string;
  readonly vault: string;
  /** Asset symbol to its ERC-20 token address. */
  readonly tokens: Readonly<Record<string, string>>;
  /** The committee's member addresses, as fixed in the vault. */
  readonly committee: readonly string[];
  readonly finalityDelaySeconds: number;
  readonly graceSeconds: number;
}

export interface CustodySettings extends CustodyInfo {
  /** Blocks a vault deposit waits for before the node credits it (1: the block that holds it). */
  readonly confirmations: number;
  /** The watchtowers' base URLs (`pnpm replay --watch`) the root committer asks to sign (external-custody.ts). */
  readonly committeeUrls: readonly string[];
  /** How long each watchtower may take to answer; default 30,000 ms. */
  readonly committeeTimeoutMs: number;
}

const addressPattern = /^0x[0-9a-fA-F]{40}$/;

type Json = Record<string, unknown>;

function addressAt(value: unknown, where: string): string {
  if (typeof value !== 'string' || !addressPattern.test(value)) {
    throw new ConfigError(`${where} must be an Ethereum address: 0x and 40 hexadecimal digits.`);
  }
  return value;
}

function countAt(value: Json, key: string, where: string, fallback?: number): number {
  const field = value[key] ?? fallback;
  if (typeof field !== 'number' || !Number.isSafeInteger(field) || field < 0) {
    throw new ConfigError(`${where}.${key} must be a non-negative integer.`);
  }
  return field;
}

/** Parses the config file's `custody` object; every asset named in `tokens` must be one of `assetSymbols`. */
export function parseCustodySettings(json: unknown, where: string, assetSymbols: readonly string[]): CustodySettings {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${where} must be a JSON object.`);
  }
  const value = json as Json;
  const allowed = [
    'chainId',
    'rpcUrl',
    'vault',
    'tokens',
    'committee',
    'confirmations',
    'finalityDelaySeconds',
    'graceSeconds',
    'committeeUrls',
    'committeeTimeoutMs',
  ];
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${where} has an unknown field "${key}" (allowed: ${allowed.join(', ')}).`);
    }
  }
  if (!isHttpUrl(value.rpcUrl)) throw new ConfigError(`${where}.rpcUrl must be an http:// or https:// URL.`);
  const committeeUrls = value.committeeUrls ?? [];
  if (!Array.isArray(committeeUrls) || !committeeUrls.every(isHttpUrl)) {
    throw new ConfigError(`${where}.committeeUrls must be an array of http:// or https:// URLs.`);
  }
  const committeeTimeoutMs = countAt(value, 'committeeTimeoutMs', where, 30_000);
  if (committeeTimeoutMs === 0) throw new ConfigError(`${where}.committeeTimeoutMs must be a positive integer.`);
  const tokensJson = value.tokens;
  if (typeof tokensJson !== 'object' || tokensJson === null || Array.isArray(tokensJson)) {
    throw new ConfigError(`${where}.tokens must be an object from asset symbol to token address.`);
  }
  const tokens: Record<string, string> = {};
  for (const [symbol, token] of Object.entries(tokensJson)) {
    if (!assetSymbols.includes(symbol)) {
      throw new ConfigError(`${where}.tokens names ${symbol}, which the config does not list.`);
    }
    tokens[symbol] = addressAt(token, `${where}.tokens.${symbol}`);
  }
  if (!Array.isArray(value.committee)) throw new ConfigError(`${where}.committee must be an array of addresses.`);
  const committee = value.committee.map((member, index) => addressAt(member, `${where}.committee[${index}]`));
  const chainId = countAt(value, 'chainId', where);
  if (chainId === 0) throw new ConfigError(`${where}.chainId must be a positive integer.`);
  return {
    chainId,
    rpcUrl: value.rpcUrl,
    vault: addressAt(value.vault, `${where}.vault`),
    tokens,
    committee,
    confirmations: countAt(value, 'confirmations', where, 1),
    finalityDelaySeconds: countAt(value, 'finalityDelaySeconds', where),
    graceSeconds: countAt(value, 'graceSeconds', where),
    committeeUrls,
    committeeTimeoutMs,
  };
}

function isHttpUrl(value: unknown): value is string {
  return typeof value === 'string' && /^https?:\/\/[\x21-\x7e]+$/.test(value);
}

/** What GET /api/v1/custody serves of the configuration: the node's own settings left out. */
export function custodyInfoOf(config: CustodySettings): CustodyInfo {
  const { confirmations: _confirmations, committeeUrls: _urls, committeeTimeoutMs: _timeout, ...info } = config;
  return info;
}
