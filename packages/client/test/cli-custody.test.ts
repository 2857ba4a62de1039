/**
 * The CLI's custody commands in process (main()) against a real node's API
 * serving GET /api/v1/custody and a real anvil with the vault: show the
 * custody, deposit from an Ethereum key file, link an exit address, file a
 * forced exit, a refused early freeze (exit 1 with the contract's reason),
 * the freeze past the grace period, and a pull with nothing owed refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { vaultContract } from '@vex/custody';
import { main } from '../src/cli.js';
import { generateKeyPair } from '../src/keys.js';
import type { CustodyInfo } from '../src/custody.js';
import { deployScenario, tokenBalance, useChainFixture } from '../../custody/test/fixture.js';
import { deposit, startTestExchange, type TestExchange } from '../../api/src/test-support.js';
import { demoTokenContract, confirmed } from '@vex/custody';

const fixture = useChainFixture();
const work = mkdtempSync(path.join(tmpdir(), 'exchange-cli-custody-'));
// anvil's development key 1 (fixture.alice's account): a test key of every fresh anvil, never a real one.
const ethereumKeyFile = path.join(work, 'eth.key');
writeFileSync(ethereumKeyFile, '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n', { mode: 0o600 });
const trader = generateKeyPair();
const traderKeyFile = path.join(work, 'trader.json');
writeFileSync(traderKeyFile, JSON.stringify(trader), { mode: 0o600 });

let exchange: TestExchange;
let info: CustodyInfo;
beforeAll(async () => {
  // The demo exchange lists SOL, BTC and USDC, in that order: the vault's tokens follow it.
  const setup = await deployScenario(fixture, ['SOL', 'BTC', 'USDC'], { graceSeconds: 600 });
  info = {
    chainId: fixture.anvil.chainId,
    rpcUrl: fixture.anvil.rpcUrl,
    vault: setup.vault,
    tokens: { SOL: setup.tokens[0]!, BTC: setup.tokens[1]!, USDC: setup.tokens[2]! },
    committee: setup.configuration.committee,
    finalityDelaySeconds: setup.configuration.finalityDelaySeconds,
    graceSeconds: 600,
  };
  exchange = await startTestExchange({ custody: info });
});
afterAll(async () => {
  await exchange?.close();
  rmSync(work, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--url', exchange.baseUrl], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

it('shows the custody, deposits, links, files a forced exit and freezes only past the grace period', async () => {
  expect(JSON.parse((await run('custody')).stdout)).toEqual(info);
  const usdc = demoTokenContract(fixture.alice, info.tokens.USDC!);
  await confirmed(fixture.alice, await usdc.write.mint([fixture.alice.account.address, 5_000_000n]));
  const deposited = await run(
    'vault-deposit',
    '--symbol',
    'USDC',
    '--quantity',
    '5',
    '--key',
    traderKeyFile,
    '--ethereum-key',
    ethereumKeyFile,
  );
  expect(deposited.stderr).toBe('');
  expect(await tokenBalance(fixture.alice, info.tokens.USDC!, info.vault)).toBe(5_000_000n);
  const [event] = await vaultContract(fixture.alice, info.vault).getEvents.Deposited({}, { fromBlock: 0n });
  expect(Buffer.from(event!.args.publicKey!.slice(2), 'hex').toString('base64')).toBe(trader.publicKey);

  await deposit(exchange, trader.publicKey, 'USDC', '5', 'Ethereum');
  const linked = await run('link-exit-address', '--key', traderKeyFile, '--address', fixture.alice.account.address);
  expect(linked.code, linked.stderr).toBe(0);

  expect((await run('forced-exit', '--key', traderKeyFile, '--ethereum-key', ethereumKeyFile)).code).toBe(0);
  const early = await run('freeze', '--ethereum-key', ethereumKeyFile);
  expect(early.code).toBe(1);
  expect(early.stderr).toMatch(/FreezeRefused/);
  await fixture.time.increaseTime({ seconds: 601 });
  expect((await run('freeze', '--ethereum-key', ethereumKeyFile)).code).toBe(0);
  expect(await vaultContract(fixture.alice, info.vault).read.frozen()).toBe(true);
  const nothing = await run('vault-withdraw', '--symbol', 'USDC', '--ethereum-key', ethereumKeyFile);
  expect(nothing.code).toBe(1);
  expect(nothing.stderr).toMatch(/NothingOwed/);
  expect((await run('freeze')).code).toBe(2);
});
