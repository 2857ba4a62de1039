/**
 * The exchange configuration: the genesis, and the assets and markets the
 * operator lists on first start. Without a config file the embedded demo is
 * used. docs/operator.md documents the format.
 *
 * Validation is complete before anything touches the ledger: every listing
 * is parsed by the engine's instruction parser and applied to a scratch
 * state, so a bad tick size or fee is reported with its place in the file.
 */
import {
  createState,
  execute,
  GenesisError,
  isCanonicalAccountId,
  parseInstruction,
  marketListParameters,
  validateGenesis,
  type Genesis,
  type BorrowLendMarketListing,
  type OperatorInstruction,
} from '@vex/engine';
import { borrowLendListingGroups, parseBorrowLendMarkets } from './margin-config.js';
import type { AssetInfo } from './context.js';
import { parseCustodySettings, type CustodySettings } from './custody-config.js';

export interface AssetConfig {
  readonly symbol: string;
  readonly decimals: number;
  readonly displayName?: string;
  readonly blockchains?: readonly string[];
}

/** A market as the config lists it: exactly the fields of the engine's marketList instruction. */
export type MarketConfig = Omit<Extract<OperatorInstruction, { kind: 'marketList' }>, 'kind'>;

/** A lending market as the config lists it: exactly the fields of borrowLendMarketList (docs/margin.md). */
export type BorrowLendMarketSettings = Omit<BorrowLendMarketListing, 'kind'>;

export interface ExchangeConfig {
  readonly genesis: {
    readonly exchangeName: string;
    /** Default: the node's own operator key. */
    readonly operatorKeys?: readonly string[];
    /** Default: the node's own operator key. */
    readonly feeAccount?: string;
    /** Deposit tokens: asset symbol → the custodian key whose signed statements are its reserves. */
    readonly custodians?: Readonly<Record<string, string>>;
  };
  readonly assets: readonly AssetConfig[];
  readonly markets: readonly MarketConfig[];
  /** Borrowable assets (margin-config.ts), listed after the assets and markets. */
  readonly borrowLendMarkets?: readonly BorrowLendMarketSettings[];
  /**
   * The address users deposit to, per blockchain (Backpack's names), served
   * by GET /wapi/v1/capital/deposit/address until custody gives each account
   * its own. API metadata, not part of the log.
   */
  readonly depositAddresses?: Readonly<Record<string, string>>;
  /** The custody vault on a chain (custody-config.ts); absent: no custody, GET /api/v1/custody answers 404. */
  readonly custody?: CustodySettings;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

// Order limits (docs/matching.md, section 4.6) of every demo market: at most 200
// open orders per account, 100 makers per order, and orders worth at least 1 USDC.
const demoOrderLimits = { maxOpenOrders: 200, maxMakersPerOrder: 100, minOrderValue: '1' } as const;

const demoSolMarket: MarketConfig = {
  symbol: 'SOL_USDC',
  baseSymbol: 'SOL',
  quoteSymbol: 'USDC',
  tickSize: '0.01',
  stepSize: '0.01',
  minQuantity: '0.01',
  maxQuantity: '100000',
  minPrice: '0.01',
  maxPrice: '1000000',
  makerFeeBps: 2,
  takerFeeBps: 5,
  ...demoOrderLimits,
};

const demoBtcMarket: MarketConfig = {
  symbol: 'BTC_USDC',
  baseSymbol: 'BTC',
  quoteSymbol: 'USDC',
  tickSize: '0.1',
  stepSize: '0.00001',
  minQuantity: '0.00001',
  maxQuantity: '1000',
  minPrice: '0.1',
  maxPrice: '10000000',
  makerFeeBps: 2,
  takerFeeBps: 5,
  ...demoOrderLimits,
};

export function demoConfig(): ExchangeConfig {
  return {
    genesis: { exchangeName: 'demo' },
    assets: [
      { symbol: 'SOL', decimals: 9, displayName: 'Solana', blockchains: ['Solana'] },
      { symbol: 'BTC', decimals: 8, displayName: 'Bitcoin', blockchains: ['Bitcoin'] },
      { symbol: 'USDC', decimals: 6, displayName: 'USD Coin', blockchains: ['Solana', 'Ethereum'] },
    ],
    markets: [
      demoSolMarket,
      demoBtcMarket,
      // Perpetuals settled in USDC (docs/perps.md) with Backpack's margin functions, on the spot markets' books' terms.
      { ...demoSolMarket, symbol: 'SOL_USDC_PERP', ...perpDemoFields('0.0001275', '0.0000765', '4000000') },
      { ...demoBtcMarket, symbol: 'BTC_USDC_PERP', ...perpDemoFields('0.0000935', '0.0000561', '1000') },
    ],
  };
}

/** The demo perpetuals' fields: IMF 2 % and MMF 1.25 % at small sizes, hourly funding within ±1 %, band 0.9 to 1.1. */
function perpDemoFields(imfFactor: string, mmfFactor: string, openInterestLimit: string): Partial<MarketConfig> {
  return {
    marketType: 'PERP',
    imfBase: '0.02',
    imfFactor,
    mmfBase: '0.0125',
    mmfFactor,
    fundingIntervalMs: 3_600_000,
    fundingRateUpperBoundBps: 100,
    fundingRateLowerBoundBps: -100,
    openInterestLimit,
    markBandMaxMultiplier: '1.1',
    markBandMinMultiplier: '0.9',
  };
}

/** The genesis a config gives when the node's own operator key is `operatorPublicKey`. */
export function genesisOf(config: ExchangeConfig, operatorPublicKey: string): Genesis {
  return {
    exchangeName: config.genesis.exchangeName,
    operatorKeys: [...(config.genesis.operatorKeys ?? [operatorPublicKey])],
    feeAccount: config.genesis.feeAccount ?? operatorPublicKey,
    ...(config.genesis.custodians === undefined ? {} : { custodians: { ...config.genesis.custodians } }),
  };
}

export function assetInfoOf(config: ExchangeConfig): Record<string, AssetInfo> {
  const info: Record<string, AssetInfo> = {};
  for (const asset of config.assets) {
    info[asset.symbol] = {
      ...(asset.displayName !== undefined ? { displayName: asset.displayName } : {}),
      ...(asset.blockchains !== undefined ? { blockchains: asset.blockchains } : {}),
    };
  }
  return info;
}

/** The signing-string groups of each listing, in the order they are submitted. */
export function listingGroups(config: ExchangeConfig): Array<{
  symbol: string;
  kind: 'asset' | 'market' | 'borrowLend';
  instruction: string;
  params: Array<[string, string]>;
}> {
  return [
    ...config.assets.map((asset) => ({
      symbol: asset.symbol,
      kind: 'asset' as const,
      instruction: 'assetList',
      params: [
        ['symbol', asset.symbol],
        ['decimals', String(asset.decimals)],
      ] as Array<[string, string]>,
    })),
    ...config.markets.map((market) => ({
      symbol: market.symbol,
      kind: 'market' as const,
      instruction: 'marketList',
      params: marketListParameters.flatMap(({ name }): Array<[string, string]> => {
        const value = (market as Record<string, string | number | undefined>)[name];
        return value === undefined ? [] : [[name, String(value)]];
      }),
    })),
    ...borrowLendListingGroups(config.borrowLendMarkets ?? []),
  ];
}

type Json = Record<string, unknown>;

function objectAt(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(`${where} must be a JSON object.`);
  return value as Json;
}

function onlyKeys(value: Json, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw new ConfigError(`${where} has an unknown field "${key}" (allowed: ${allowed.join(', ')}).`);
  }
}

function stringAt(value: Json, key: string, where: string, optional = false): string | undefined {
  const field = value[key];
  if (field === undefined && optional) return undefined;
  if (typeof field !== 'string' || field.length === 0)
    throw new ConfigError(`${where}.${key} must be a non-empty string.`);
  return field;
}

function decimalAt(value: Json, key: string, where: string): string {
  const field = value[key];
  if (typeof field !== 'string' || !/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(field)) {
    throw new ConfigError(`${where}.${key} must be a plain decimal string such as "0.01".`);
  }
  return field;
}

function integerAt(value: Json, key: string, where: string, maximum: number, signed = false): number {
  const field = value[key];
  const minimum = signed ? -maximum : 0;
  if (typeof field !== 'number' || !Number.isSafeInteger(field) || field < minimum || field > maximum) {
    throw new ConfigError(`${where}.${key} must be an integer from ${minimum} to ${maximum}.`);
  }
  return field;
}

/** Parses and fully validates a config file's JSON; throws ConfigError naming the offending place. */
/** The genesis settings: the exchange's name, its operator keys and fee account. */
function parseGenesisSettings(root: Record<string, unknown>, source: string): ExchangeConfig['genesis'] {
  const genesisJson = objectAt(root.genesis, `${source}.genesis`);
  onlyKeys(genesisJson, ['exchangeName', 'operatorKeys', 'feeAccount', 'custodians'], `${source}.genesis`);
  const exchangeName = stringAt(genesisJson, 'exchangeName', `${source}.genesis`)!;
  let operatorKeys: string[] | undefined;
  if (genesisJson.operatorKeys !== undefined) {
    if (!Array.isArray(genesisJson.operatorKeys) || genesisJson.operatorKeys.length === 0) {
      throw new ConfigError(`${source}.genesis.operatorKeys must be a non-empty array of base64 public keys.`);
    }
    operatorKeys = genesisJson.operatorKeys.map((key, index) => {
      if (typeof key !== 'string' || !isCanonicalAccountId(key)) {
        throw new ConfigError(`${source}.genesis.operatorKeys[${index}] is not the base64 of a 32-byte public key.`);
      }
      return key;
    });
  }
  const feeAccount = stringAt(genesisJson, 'feeAccount', `${source}.genesis`, true);
  if (feeAccount !== undefined && !isCanonicalAccountId(feeAccount)) {
    throw new ConfigError(`${source}.genesis.feeAccount is not the base64 of a 32-byte public key.`);
  }
  // The custodians' symbols and keys are checked with the whole genesis (validateGenesis, below).
  const custodians =
    genesisJson.custodians === undefined ? undefined : objectAt(genesisJson.custodians, `${source}.genesis.custodians`);
  return {
    exchangeName,
    ...(operatorKeys !== undefined ? { operatorKeys } : {}),
    ...(feeAccount !== undefined ? { feeAccount } : {}),
    ...(custodians !== undefined ? { custodians: custodians as Record<string, string> } : {}),
  };
}

function parseAssetConfig(entry: unknown, where: string): AssetConfig {
  const asset = objectAt(entry, where);
  onlyKeys(asset, ['symbol', 'decimals', 'displayName', 'blockchains'], where);
  let blockchains: string[] | undefined;
  if (asset.blockchains !== undefined) {
    if (
      !Array.isArray(asset.blockchains) ||
      !asset.blockchains.every((name) => typeof name === 'string' && /^[\x20-\x7e]{1,64}$/.test(name))
    ) {
      throw new ConfigError(`${where}.blockchains must be an array of blockchain names such as "Solana".`);
    }
    blockchains = asset.blockchains as string[];
  }
  const displayName = stringAt(asset, 'displayName', where, true);
  return {
    symbol: stringAt(asset, 'symbol', where)!,
    decimals: integerAt(asset, 'decimals', where, 18),
    ...(displayName !== undefined ? { displayName } : {}),
    ...(blockchains !== undefined ? { blockchains } : {}),
  };
}

/**
 * A market as the config lists it, field by field as the engine catalogue's
 * marketList parameters say (instruction-catalogue.ts); the symbol defaults to
 * BASE_QUOTE (BASE_QUOTE_PERP for a perpetual). The engine's own parser then
 * judges the values (checkListings).
 */
function parseMarketConfig(entry: unknown, where: string): MarketConfig {
  const market = objectAt(entry, where);
  onlyKeys(
    market,
    marketListParameters.map((parameter) => parameter.name),
    where,
  );
  const listing: Record<string, string | number> = {};
  for (const { name, kind, required } of marketListParameters) {
    if (market[name] === undefined && (!required || name === 'symbol')) continue;
    if (kind === 'text') listing[name] = stringAt(market, name, where)!;
    else if (kind === 'decimal') listing[name] = decimalAt(market, name, where);
    else listing[name] = integerAt(market, name, where, Number.MAX_SAFE_INTEGER, kind === 'signedInteger');
  }
  const suffix = listing.marketType === 'PERP' ? '_PERP' : '';
  listing.symbol ??= `${listing.baseSymbol}_${listing.quoteSymbol}${suffix}`;
  return listing as unknown as MarketConfig;
}

/** Where deposits are sent, by blockchain: printable names and addresses. */
function parseDepositAddresses(value: unknown, source: string): Record<string, string> {
  const addresses = objectAt(value, `${source}.depositAddresses`);
  const depositAddresses: Record<string, string> = {};
  for (const [blockchain, address] of Object.entries(addresses)) {
    if (!/^[\x20-\x7e]{1,64}$/.test(blockchain))
      throw new ConfigError(
        `${source}.depositAddresses has a blockchain name that is not 1 to 64 printable characters.`,
      );
    if (typeof address !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(address)) {
      throw new ConfigError(
        `${source}.depositAddresses.${blockchain} must be an address: 1 to 256 printable characters without spaces.`,
      );
    }
    depositAddresses[blockchain] = address;
  }
  return depositAddresses;
}

export function parseConfig(json: unknown, source = 'config'): ExchangeConfig {
  const root = objectAt(json, source);
  onlyKeys(
    root,
    ['genesis', 'assets', 'markets', 'borrowLendMarkets', 'depositAddresses', 'custody', '$comment'],
    source,
  );
  const genesis = parseGenesisSettings(root, source);
  if (!Array.isArray(root.assets)) throw new ConfigError(`${source}.assets must be an array.`);
  const assets = root.assets.map((entry, index) => parseAssetConfig(entry, `${source}.assets[${index}]`));
  if (!Array.isArray(root.markets)) throw new ConfigError(`${source}.markets must be an array.`);
  const markets = root.markets.map((entry, index) => parseMarketConfig(entry, `${source}.markets[${index}]`));
  const depositAddresses =
    root.depositAddresses === undefined ? undefined : parseDepositAddresses(root.depositAddresses, source);

  const config: ExchangeConfig = {
    genesis,
    assets,
    markets,
    ...(root.borrowLendMarkets !== undefined
      ? { borrowLendMarkets: parseBorrowLendMarkets(root.borrowLendMarkets, `${source}.borrowLendMarkets`) }
      : {}),
    ...(depositAddresses !== undefined ? { depositAddresses } : {}),
    ...(root.custody !== undefined
      ? {
          custody: parseCustodySettings(
            root.custody,
            `${source}.custody`,
            assets.map((asset) => asset.symbol),
          ),
        }
      : {}),
  };
  checkListings(config, source);
  return config;
}

/** Applies every listing to a scratch state, so the engine's own rules judge the file before the ledger sees it. */
function checkListings(config: ExchangeConfig, source: string): void {
  // Any well-formed key will do for the dry run; it is both operator and fee account.
  const dryRunKey = 'A'.repeat(43) + '=';
  const genesis = genesisOf(config, dryRunKey);
  try {
    validateGenesis(genesis);
  } catch (error) {
    if (error instanceof GenesisError) throw new ConfigError(`${source}.genesis: ${error.message}`);
    throw error;
  }
  const state = createState({ ...genesis, operatorKeys: [dryRunKey], feeAccount: dryRunKey });
  const groups = listingGroups(config);
  groups.forEach((group, position) => {
    const marketsEnd = config.assets.length + config.markets.length;
    const where =
      group.kind === 'asset'
        ? `${source}.assets[${position}]`
        : group.kind === 'market'
          ? `${source}.markets[${position - config.assets.length}]`
          : `${source}.borrowLendMarkets[${position - marketsEnd}]`;
    const parsed = parseInstruction([{ instruction: group.instruction, params: new Map(group.params) }]);
    if (!parsed.ok) throw new ConfigError(`${where} (${group.symbol}): ${parsed.message}`);
    const outcome = execute(state, dryRunKey, parsed.instruction, 1);
    if (!outcome.accepted)
      throw new ConfigError(`${where} (${group.symbol}): ${outcome.rejection.code}: ${outcome.rejection.message}`);
  });
}
