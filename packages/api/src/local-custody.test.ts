/**
 * `CUSTODY=local pnpm start` as a child process: the node starts a local
 * anvil, deploys the demo tokens and the vault, serves them at
 * GET /api/v1/custody, and credits a deposit made on that chain; stopping
 * the node stops the chain.
 */
import { ExchangeClient, generateKeyPair } from '@vex/client';
import { CustodyWallet, fetchCustody } from '@vex/client/custody';
import { anvilAccount, chainClients, confirmed, demoTokenContract } from '@vex/custody';
import { createPublicClient, http } from 'viem';
import { expect, it } from 'vitest';
import { startNodeProcess } from './node-process.js';

// anvil's development key 1: a test key of every fresh anvil, never a real one.
const ethereumKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

it('starts a local chain with the vault, serves it, credits a deposit on it', { timeout: 120_000 }, async () => {
  const node = await startNodeProcess([], { CUSTODY: 'local' });
  try {
    const baseUrl = node.baseUrl;
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
    await node.stop();
  }
});
