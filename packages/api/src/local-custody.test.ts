/**
 * `CUSTODY=local pnpm start` as a child process: the node starts a local
 * anvil, deploys the demo tokens and the vault, serves them at
 * GET /api/v1/custody, and credits a deposit made on that chain; stopping
 * the node stops the chain.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExchangeClient, generateKeyPair } from '@vex/client';
import { CustodyWallet, fetchCustody } from '@vex/client/custody';
import { anvilAccount, chainClients, confirmed, demoTokenContract } from '@vex/custody';
import { createPublicClient, http } from 'viem';
import { expect, it } from 'vitest';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
// anvil's development key 1: a test key of every fresh anvil, never a real one.
const ethereumKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

it('starts a local chain with the vault, serves it, credits a deposit on it', { timeout: 120_000 }, async () => {
  const dataDirectory = await mkdtemp(join(tmpdir(), 'vex-local-custody-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/api/src/main.ts'], {
    cwd: repositoryRoot,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent', CONFIG: '', DATA_DIR: dataDirectory, CUSTODY: 'local' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const baseUrl = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const match = /exchange listening on (http:\/\/\S+)/.exec(output);
        if (match !== null) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`the node exited with ${code}`)));
    });
    const custody = (await fetchCustody(baseUrl))!;
    expect(Object.keys(custody.tokens)).toEqual(['SOL', 'BTC', 'USDC']);
    const chain = createPublicClient({ transport: http(custody.rpcUrl) });
    expect(await chain.getCode({ address: custody.vault })).toMatch(/^0x[0-9a-f]{100,}/);

    const trader = generateKeyPair();
    const wallet = new CustodyWallet(custody, ethereumKey);
    const minter = chainClients(custody.rpcUrl, custody.chainId, anvilAccount(1));
    const usdc = demoTokenContract(minter, custody.tokens.USDC!);
    await confirmed(minter, await usdc.write.mint([wallet.address, 2_500_000n]));
    await wallet.deposit('USDC', 2_500_000n, Buffer.from(trader.publicKey, 'base64'));
    const client = new ExchangeClient({ baseUrl, secret: trader.secret });
    let available = '0';
    for (let attempt = 0; attempt < 100 && available === '0'; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const balances = await client.balances().catch(() => ({}) as Record<string, { available: string }>);
      available = balances.USDC?.available ?? '0';
    }
    expect(available).toBe('2.5');
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await rm(dataDirectory, { recursive: true, force: true });
  }
});
