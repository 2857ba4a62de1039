/**
 * `pnpm start` with a config file whose `custody` section names an external
 * chain (external-custody.ts), with real processes only: an anvil, a vault
 * deployed on it, the node (main.ts) as a child process with the config file
 * and the operator's chain key in CUSTODY_OPERATOR_KEY_FILE, and two
 * watchtower processes (`pnpm replay --watch`) named in `committeeUrls`. A
 * deposit on chain is credited in the API balance; a withdrawal is paid once
 * a root the watchtowers signed is committed and final; after a restart on
 * the same ledger, nothing is credited or paid twice and roots are committed
 * again. A missing key, a chain that does not answer and a vault whose
 * committee differs from the config each stop the start with exit code 1;
 * in process, every other check names its difference (operator, tokens,
 * threshold against the URLs, delays, no contract, chain id, a bad key).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExchangeClient, generateKeyPair } from '@vex/client';
import { CustodyWallet, fetchCustody } from '@vex/client/custody';
import {
  anvilAccount,
  assetListHash,
  chainClients,
  confirmed,
  demoTokenContract,
  deployDemoToken,
  deployVault,
  startAnvil,
  vaultContract,
  type Anvil,
} from '@vex/custody';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { killWatchtowers, startWatchtower } from '../../custody/test/watchtower-child.js';
import { parseConfig } from './config.js';
import { openExternalCustody, operatorChainKey } from './external-custody.js';
import { freePortBelowEphemeralRange } from './free-port.js';
import { nodeProcessFailure, startNodeProcess, type NodeProcess } from './node-process.js';

// anvil's development keys 0 (the vault's operator here) and 1: test keys of every fresh anvil, never real ones.
const vaultOperatorKey = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const ethereumKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

let anvil: Anvil;
let directory: string;
let vault: Address;
let token: Address;
const committeeKeys: Hex[] = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'vex-external-custody-'));
  // A block a second: the root committer finalizes by the latest block's time.
  anvil = await startAnvil({ blockTimeSeconds: 1 });
  const operator = chainClients(anvil.rpcUrl, anvil.chainId, anvilAccount(0));
  token = await deployDemoToken(operator, 'USDC', 6);
  vault = await deployVault(operator, {
    operator: operator.account.address,
    tokens: [token],
    assetListHash: assetListHash(['USDC']),
    committee: committeeKeys.map((key) => privateKeyToAddress(key)),
    committeeThreshold: 2,
    finalityDelaySeconds: 1,
    graceSeconds: 300,
    forcedExitFee: 10n ** 15n,
  });
  await writeFile(join(directory, 'operator.key'), `${vaultOperatorKey}\n`);
  for (const [index, key] of committeeKeys.entries()) await writeFile(join(directory, `committee-${index}.key`), key);
}, 60_000);

afterAll(async () => {
  killWatchtowers();
  await anvil?.stop();
  await rm(directory, { recursive: true, force: true });
});

/** The config's custody section as GET /api/v1/custody serves it. */
function servedCustody() {
  return {
    chainId: anvil.chainId,
    rpcUrl: anvil.rpcUrl,
    vault,
    tokens: { USDC: token },
    committee: committeeKeys.map((key) => privateKeyToAddress(key)),
    finalityDelaySeconds: 1,
    graceSeconds: 300,
  };
}

/** Writes a config file whose custody section names the vault; `custody` overrides its fields. */
async function writeConfig(name: string, custody: Record<string, unknown>): Promise<string> {
  const file = join(directory, name);
  const config = {
    genesis: { exchangeName: 'external-custody' },
    assets: [{ symbol: 'USDC', decimals: 6, blockchains: ['Ethereum'] }],
    markets: [],
    custody: { ...servedCustody(), confirmations: 1, committeeTimeoutMs: 5000, ...custody },
  };
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  let value: T | undefined;
  for (let waited = 0; waited < 120_000; waited += 250) {
    value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what} (last: ${String(value)})`);
}

it('runs the custody service against the configured chain, with the watchtowers signing, across a restart', {
  timeout: 420_000,
}, async () => {
  const [nodePort, ...towerPorts] = [
    await freePortBelowEphemeralRange(),
    await freePortBelowEphemeralRange(),
    await freePortBelowEphemeralRange(),
  ];
  const configFile = await writeConfig('config.json', {
    committeeUrls: towerPorts.map((port) => `http://127.0.0.1:${port}`),
  });
  const dataDirectory = join(directory, 'data');
  const environment = {
    CONFIG: configFile,
    PORT: String(nodePort),
    CUSTODY: undefined,
    CUSTODY_OPERATOR_KEY: undefined,
    CUSTODY_OPERATOR_KEY_FILE: join(directory, 'operator.key'),
  };
  let node: NodeProcess = await startNodeProcess([], environment, dataDirectory);
  try {
    for (const [index, port] of towerPorts.entries()) {
      const keyFile = join(directory, `committee-${index}.key`);
      await startWatchtower({ nodeUrl: node.baseUrl, vault, rpcUrl: anvil.rpcUrl, keyFile, port });
    }
    const custody = (await fetchCustody(node.baseUrl))!;
    expect(custody).toEqual(servedCustody());
    const trader = generateKeyPair();
    const client = new ExchangeClient({ baseUrl: node.baseUrl, secret: trader.secret });
    const wallet = new CustodyWallet(custody, ethereumKey);
    const user = chainClients(anvil.rpcUrl, anvil.chainId, anvilAccount(1));
    const usdc = demoTokenContract(user, token);
    const vaultReader = vaultContract(user, vault);
    const available = () => client.balances().then((balances) => balances.USDC?.available ?? '0');
    await confirmed(user, await usdc.write.mint([wallet.address, 6_000_000n]));
    await wallet.deposit('USDC', 5_000_000n, Buffer.from(trader.publicKey, 'base64'));
    await eventually(available, (value) => value === '5', 'the deposit credited');

    await client.withdraw({ symbol: 'USDC', quantity: '2', address: wallet.address, blockchain: 'Ethereum' });
    await eventually(
      () => vaultReader.read.owed([wallet.address, 0n]),
      (owed) => owed === 2_000_000n,
      'the payout owed by a final root',
    );
    const committedBefore = await vaultReader.read.commitmentCount();
    expect(committedBefore).toBeGreaterThan(0n);
    await wallet.withdraw('USDC');
    expect(await usdc.read.balanceOf([wallet.address])).toBe(3_000_000n);

    // The same ledger again: the watcher rereads the chain from block 0 and the committer recovers.
    await node.stop();
    node = await startNodeProcess([], environment, dataDirectory);
    const restarted = new ExchangeClient({ baseUrl: node.baseUrl, secret: trader.secret });
    await wallet.deposit('USDC', 1_000_000n, Buffer.from(trader.publicKey, 'base64'));
    await eventually(
      () => restarted.balances().then((balances) => balances.USDC?.available ?? '0'),
      (value) => value === '4',
      'the second deposit credited after the restart',
    );
    await eventually(
      () => vaultReader.read.commitmentCount(),
      (count) => count > committedBefore,
      'a root committed after the restart',
    );
    const payouts = await vaultReader.getEvents.PayoutOwed({}, { fromBlock: 0n });
    expect(payouts.map((event) => event.args.amount)).toEqual([2_000_000n]);
    expect(await vaultReader.read.owed([wallet.address, 0n])).toBe(0n);
    expect(await restarted.balances().then((balances) => balances.USDC?.available)).toBe('4');
  } finally {
    await node.stop();
    await rm(dataDirectory, { recursive: true, force: true });
  }
});

it('refuses to start without the chain key, with a chain that does not answer, or a committee unlike the vault', {
  timeout: 180_000,
}, async () => {
  const committeeUrls = ['http://127.0.0.1:9', 'http://127.0.0.1:9'];
  const keyFile = join(directory, 'operator.key');
  const start = async (configFile: string, key: string | undefined) =>
    nodeProcessFailure([], {
      CONFIG: configFile,
      CUSTODY: undefined,
      CUSTODY_OPERATOR_KEY: undefined,
      CUSTODY_OPERATOR_KEY_FILE: key,
    });

  const noKey = await start(await writeConfig('no-key.json', { committeeUrls }), undefined);
  expect(noKey.code).toBe(1);
  expect(noKey.stderr).toContain(
    "error: custody: the config file names a vault, but the operator's chain key is missing",
  );

  const silent = await start(
    await writeConfig('silent.json', {
      committeeUrls,
      rpcUrl: `http://127.0.0.1:${await freePortBelowEphemeralRange()}`,
    }),
    keyFile,
  );
  expect(silent.code).toBe(1);
  expect(silent.stderr).toMatch(/error: custody: the chain at http:\/\/127\.0\.0\.1:\d+ or its vault does not answer/);

  const committee = [
    privateKeyToAddress(generatePrivateKey()),
    ...committeeKeys.slice(1).map((key) => privateKeyToAddress(key)),
  ];
  const other = await start(await writeConfig('committee.json', { committeeUrls, committee }), keyFile);
  expect(other.code).toBe(1);
  expect(other.stderr).toContain(
    `error: custody: the vault ${vault} on ${anvil.rpcUrl} disagrees with the config: its committee is`,
  );
});

it('names every way the vault disagrees with the config and the key, and a malformed key', async () => {
  const config = parseConfig(JSON.parse(await readFile(await writeConfig('other.json', {}), 'utf8')));
  const otherToken = privateKeyToAddress(generatePrivateKey());
  const settings = { ...config.custody!, tokens: { USDC: otherToken }, graceSeconds: 7 };
  const refusal = await openExternalCustody(settings, config, ethereumKey).then(
    () => 'started',
    (error: unknown) => (error as Error).message,
  );
  expect(refusal).toContain(`its operator is ${privateKeyToAddress(vaultOperatorKey)}, not the chain key's address`);
  expect(refusal.toLowerCase()).toContain(`its tokens are [${token}], the config's [${otherToken}]`.toLowerCase());
  expect(refusal).not.toContain('its committee is');
  expect(refusal).toContain('it needs 2 committee signatures, the config names 0 URLs');
  expect(refusal).toContain('its graceSeconds is 300, not 7');
  expect(refusal).not.toContain('finalityDelaySeconds');

  const elsewhere = { ...config.custody!, vault: otherToken };
  await expect(openExternalCustody(elsewhere, config, vaultOperatorKey)).rejects.toThrow(
    `custody: the vault ${otherToken} on ${anvil.rpcUrl} holds no contract.`,
  );
  await expect(openExternalCustody({ ...config.custody!, chainId: 5 }, config, vaultOperatorKey)).rejects.toThrow(
    `has chain id ${anvil.chainId}, not 5`,
  );
  await expect(operatorChainKey({ CUSTODY_OPERATOR_KEY: '0x1234' })).rejects.toThrow(
    'custody: CUSTODY_OPERATOR_KEY must hold a secp256k1 private key',
  );
  await expect(operatorChainKey({ CUSTODY_OPERATOR_KEY: `  ${vaultOperatorKey}\n` })).resolves.toBe(vaultOperatorKey);
  await expect(operatorChainKey({ CUSTODY_OPERATOR_KEY_FILE: join(directory, 'absent.key') })).rejects.toThrow(
    'custody: cannot read the key file',
  );
});
