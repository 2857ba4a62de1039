import { createPublicClient, http } from 'viem';
import { expect, it } from 'vitest';
import { startAnvil } from '../src/anvil.js';

it('starts anvil on a free port of 127.0.0.1 and stops it by its pid', async () => {
  const anvil = await startAnvil({ chainId: 4242 });
  const client = createPublicClient({ transport: http(anvil.rpcUrl, { retryCount: 0 }) });
  expect(await client.getChainId()).toBe(4242);
  await anvil.stop();
  expect(() => process.kill(anvil.pid, 0)).toThrow();
  await expect(client.getChainId()).rejects.toThrow();
});
