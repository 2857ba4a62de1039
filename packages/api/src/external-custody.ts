/**
 * Custody on an external chain (docs/operator.md, "Custody"): with a config
 * file whose `custody` section names a chain and a deployed vault, `pnpm
 * start` runs the custody service (chain watcher, root committer, payouts,
 * forced-exit server) against it. The operator's chain key comes from the
 * environment, CUSTODY_OPERATOR_KEY_FILE (a file holding the 0x-prefixed hex
 * key) or CUSTODY_OPERATOR_KEY (the key itself), never from the config file;
 * the committee signs through its watchtowers at `committeeUrls`. Before the
 * node serves anything, the chain must answer with the configured chain id,
 * and the vault's operator, tokens, asset list, committee and delays must be
 * those the config and the key say; otherwise the start stops with a
 * ConfigError naming the difference.
 *
 * Resuming after a restart needs nothing here: the log records every credit
 * (the engine refuses a second one of a deposit number) and the chain every
 * commit and payout (custody-service.ts, payout-recovery.ts).
 */
import { readFile } from 'node:fs/promises';
import {
  accountFromPrivateKey,
  assetListHash,
  chainClients,
  CustodyService,
  vaultContract,
  type ChainClients,
} from '@vex/custody';
import type { Address, Hex } from 'viem';
import { ConfigError, type ExchangeConfig } from './config.js';
import { custodyInfoOf, type CustodySettings } from './custody-config.js';
import { localCustodyMode, openLocalCustody, type LocalCustody } from './local-custody.js';

/**
 * The custody `pnpm start` runs: the local chain (CUSTODY=local, or the embedded margin demo), else the config
 * file's external chain unless CUSTODY=off (then its section is only served as GET /api/v1/custody), else none.
 */
export async function openConfiguredCustody(
  environment: NodeJS.ProcessEnv,
  embeddedMarginDemo: boolean,
  config: ExchangeConfig,
  warn: (reason: string) => void,
): Promise<LocalCustody | undefined> {
  const mode = localCustodyMode(environment.CUSTODY, embeddedMarginDemo);
  if (mode !== 'off' || config.custody === undefined || environment.CUSTODY === 'off') {
    return openLocalCustody(mode, config, warn);
  }
  return openExternalCustody(config.custody, config, await operatorChainKey(environment));
}

/** The operator's chain key from CUSTODY_OPERATOR_KEY_FILE or CUSTODY_OPERATOR_KEY. */
export async function operatorChainKey(environment: NodeJS.ProcessEnv): Promise<Hex> {
  const file = environment.CUSTODY_OPERATOR_KEY_FILE;
  let text = environment.CUSTODY_OPERATOR_KEY;
  let source = 'CUSTODY_OPERATOR_KEY';
  if (file !== undefined && file !== '') {
    source = `the key file ${file} (CUSTODY_OPERATOR_KEY_FILE)`;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`custody: cannot read ${source}: ${(error as Error).message}`);
    }
  }
  if (text === undefined || text === '') {
    throw new ConfigError(
      "custody: the config file names a vault, but the operator's chain key is missing: set " +
        'CUSTODY_OPERATOR_KEY_FILE to a file holding it (or CUSTODY_OPERATOR_KEY), or CUSTODY=off to only serve it.',
    );
  }
  const key = text.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new ConfigError(`custody: ${source} must hold a secp256k1 private key: 0x and 64 hexadecimal digits.`);
  }
  return key as Hex;
}

/** Connects to the configured chain as the operator, checks the vault against the config, and runs the service. */
export async function openExternalCustody(
  settings: CustodySettings,
  config: ExchangeConfig,
  operatorKey: Hex,
): Promise<LocalCustody> {
  const chain = chainClients(settings.rpcUrl, settings.chainId, accountFromPrivateKey(operatorKey));
  await checkVault(chain, settings, config);
  let service: CustodyService | undefined;
  return {
    info: custodyInfoOf(settings),
    onAttestationMade: (attestation, state, leafZero) => service?.attestationObserver(attestation, state, leafZero),
    async start(node, operatorSeed, onError) {
      service = new CustodyService({
        node,
        operatorSeed,
        chain,
        vault: settings.vault as Address,
        confirmations: settings.confirmations,
        committeeUrls: settings.committeeUrls,
        committeeTimeoutMs: settings.committeeTimeoutMs,
        onError,
      });
      service.start();
      return true;
    },
    async stop() {
      await service?.stop();
    },
  };
}

const sameAddress = (left: string, right: string): boolean => left.toLowerCase() === right.toLowerCase();

/** Refuses to start when the chain does not answer or the vault disagrees with the config or the key. */
async function checkVault(chain: ChainClients, settings: CustodySettings, config: ExchangeConfig): Promise<void> {
  const where = `custody: the vault ${settings.vault} on ${settings.rpcUrl}`;
  let read: Awaited<ReturnType<typeof readVault>>;
  try {
    read = await readVault(chain, settings.vault as Address);
  } catch (error) {
    const reason = ((error as Error).message.split('\n')[0] ?? '').slice(0, 200);
    throw new ConfigError(`custody: the chain at ${settings.rpcUrl} or its vault does not answer: ${reason}`);
  }
  if (read.chainId !== settings.chainId) {
    throw new ConfigError(
      `custody: the chain at ${settings.rpcUrl} has chain id ${read.chainId}, not ${settings.chainId}.`,
    );
  }
  if (read.vault === undefined) throw new ConfigError(`${where} holds no contract.`);
  const vault = read.vault;
  const differences: string[] = [];
  if (!sameAddress(vault.operator, chain.account.address)) {
    differences.push(`its operator is ${vault.operator}, not the chain key's address ${chain.account.address}`);
  }
  const symbols = config.assets.map((asset) => asset.symbol);
  const expectedTokens = symbols.map((symbol) => settings.tokens[symbol] ?? '(none)');
  if (
    vault.tokens.length !== symbols.length ||
    !vault.tokens.every((token, index) => sameAddress(token, expectedTokens[index]!))
  ) {
    differences.push(`its tokens are [${vault.tokens.join(', ')}], the config's [${expectedTokens.join(', ')}]`);
  }
  if (vault.assetListHash !== assetListHash(symbols)) differences.push(`its asset list is not [${symbols.join(', ')}]`);
  const committee = (members: readonly string[]) => members.map((member) => member.toLowerCase()).sort();
  if (committee(vault.committee).join() !== committee(settings.committee).join()) {
    differences.push(
      `its committee is [${vault.committee.join(', ')}], the config's [${settings.committee.join(', ')}]`,
    );
  }
  if (BigInt(settings.committeeUrls.length) < vault.threshold) {
    differences.push(
      `it needs ${vault.threshold} committee signatures, the config names ${settings.committeeUrls.length} URLs`,
    );
  }
  for (const [name, value] of [
    ['finalityDelaySeconds', vault.finalityDelaySeconds],
    ['graceSeconds', vault.graceSeconds],
  ] as const) {
    if (value !== BigInt(settings[name])) differences.push(`its ${name} is ${value}, not ${settings[name]}`);
  }
  if (differences.length > 0) throw new ConfigError(`${where} disagrees with the config: ${differences.join('; ')}.`);
}

/** The chain's id and, when `vault` holds a contract, the vault's fixed configuration. */
async function readVault(chain: ChainClients, vault: Address) {
  const [chainId, code] = await Promise.all([
    chain.publicClient.getChainId(),
    chain.publicClient.getCode({ address: vault }),
  ]);
  if (code === undefined || code === '0x') return { chainId, vault: undefined };
  const contract = vaultContract(chain, vault);
  const [operator, tokens, listHash, committee, threshold, finalityDelaySeconds, graceSeconds] = await Promise.all([
    contract.read.operator(),
    contract.read.tokens(),
    contract.read.assetListHash(),
    contract.read.committee(),
    contract.read.committeeThreshold(),
    contract.read.finalityDelaySeconds(),
    contract.read.graceSeconds(),
  ]);
  return {
    chainId,
    vault: { operator, tokens, assetListHash: listHash, committee, threshold, finalityDelaySeconds, graceSeconds },
  };
}
