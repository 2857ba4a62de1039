/**
 * The escape as a user runs it from the CLI once the operator has stopped
 * (docs/custody.md, "If the operator stops"), on a real node (LevelDB) and
 * anvil: alice deposits, links her exit address and a withdrawal goes
 * through a final root; she saves her proof under that root and the vault's
 * description; the operator stops (the node is closed: only the chain
 * answers). Then `escape-status` at each step, with the commands it
 * suggests: file a forced exit, wait for the grace period, freeze, register
 * the exit claim with the saved proof (phase 1), wait for the claim window
 * to end, pay the claim (phase 2), refund the deposit no final root
 * credited, pull.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CustodyService, paidExitClaim, vaultContract } from '@vex/custody';
import { main } from '../src/cli.js';
import { main as replay } from '../../replayer/src/cli.js';
import type { CustodyInfo, EscapeStatus } from '../src/custody.js';
import {
  custodyInfoOf,
  depositOnChain,
  deployScenario,
  operatorKey,
  tokenBalance,
  useChainFixture,
  userKey,
} from '../../custody/test/fixture.js';
import {
  custodyServiceOptions,
  openCustodyNode,
  submitSigned,
  until,
  useDataDirectory,
  withdrawThroughCommit,
} from '../../custody/test/node-fixture.js';

const fixture = useChainFixture();
const directory = useDataDirectory('client-escape-');
const work = mkdtempSync(path.join(tmpdir(), 'exchange-escape-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const file = (name: string) => path.join(work, name);
// anvil's development key 1 (fixture.alice's account): a test key of every fresh anvil, never a real one.
writeFileSync(file('eth.key'), '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n', { mode: 0o600 });
const alice = userKey(1);

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  // Nothing answers at this URL: the escape needs the chain only.
  const code = await main([...args, '--url', 'http://127.0.0.1:9'], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

async function status(proofFile = file('proof.json')): Promise<EscapeStatus> {
  const answer = await run(
    'escape-status',
    '--account',
    alice.accountId,
    '--proof',
    proofFile,
    '--custody',
    file('custody.json'),
  );
  expect(answer.stderr).toBe('');
  expect(answer.code).toBe(0);
  return JSON.parse(answer.stdout) as EscapeStatus;
}

const ethereum = ['--custody', file('custody.json'), '--ethereum-key', file('eth.key')];

it('escape-status guides a user from a forced exit to the freeze, both exit phases, refund and pull', async () => {
  const setup = await deployScenario(fixture, ['SOL', 'USDC'], { finalityDelaySeconds: 1, graceSeconds: 600 });
  const info: CustodyInfo = custodyInfoOf(fixture, setup);
  writeFileSync(file('custody.json'), JSON.stringify(info));
  let service: CustodyService | undefined;
  const errors: unknown[] = [];
  const node = await openCustodyNode(directory.path, 'escape-status', () => service);
  let finalSequence: number;
  try {
    service = new CustodyService(custodyServiceOptions(fixture, node, setup, errors));
    for (const symbol of ['SOL', 'USDC']) await submitSigned(node, operatorKey, 'assetList', { decimals: '6', symbol });
    await depositOnChain(fixture.alice, setup, 0, 2_000_000n, alice.publicKey);
    service.start();
    await until(() => service!.credited.length === 1, 'the deposit credited');
    await submitSigned(node, alice, 'exitAddressLink', { address: fixture.alice.account.address.toLowerCase() });
    await withdrawThroughCommit(fixture, node, setup, errors);
    await service.stop();
    const vault = vaultContract(fixture.alice, setup.vault);
    finalSequence = Number((await vault.read.commitments([await vault.read.finalCount()])).sequence);
    const answer = await node.proof(alice.accountId, finalSequence);
    if (!answer.found) throw new Error(answer.message);
    writeFileSync(file('proof.json'), JSON.stringify(answer.proof));
    const balances = answer.proof.balances.map((pair, index) =>
      index === 0 ? { ...pair, claim: `${pair.claim}0` } : pair,
    );
    writeFileSync(file('doctored-proof.json'), JSON.stringify({ ...answer.proof, balances }));
    // The public log, as anyone may have downloaded it while the node answered.
    const exported = createWriteStream(file('exchange.vexlog'));
    await node.exportLog(exported);
    await new Promise((resolve) => exported.end(resolve));
  } finally {
    await service?.stop();
    await node.close();
  }
  // A deposit after the operator stopped: no final root credits it.
  await depositOnChain(fixture.alice, setup, 1, 5_000_000n, alice.publicKey);

  const live = await status();
  expect(live).toMatchObject({ frozen: false, forcedExits: [], oldestUnserved: null, freezableNow: false });
  expect(live.lastFinalRoot?.sequence).toBe(finalSequence);
  expect(live.proof).toMatchObject({ verifies: true, exited: false, sequence: finalSequence });
  expect(live.refundableDeposits).toEqual([{ number: 2, amount: '5000000', asset: 1 }]);
  expect(live.next[0]).toMatch(/exchange forced-exit/);

  expect((await run('forced-exit', '--account', alice.accountId, ...ethereum)).code).toBe(0);
  const filed = await status();
  expect(filed.forcedExits).toEqual([{ number: 1, requestedAt: filed.oldestUnserved!.requestedAt, served: false }]);
  expect(filed.oldestUnserved!.freezableAfter).toBe(filed.oldestUnserved!.requestedAt + 600);
  expect(filed.freezableNow).toBe(false);
  expect(filed.next[0]).toMatch(/^wait: forced exit 1 is unserved; the vault can be frozen after chain time/);
  expect((await run('freeze', ...ethereum)).code).toBe(1);

  await fixture.time.increaseTime({ seconds: 601 });
  await fixture.time.mine({ blocks: 1 });
  const due = await status();
  expect(due.freezableNow).toBe(true);
  expect(due.next[0]).toMatch(/exchange freeze/);
  expect((await run('freeze', ...ethereum)).code).toBe(0);

  const frozen = await status();
  expect(frozen).toMatchObject({
    frozen: true,
    freezableNow: false,
    claimWindowOpen: true,
    proof: { verifies: true, exited: false, claim: 'none' },
  });
  // The claim window is the grace period again, from the freeze's block.
  expect(frozen.claimWindowEndsAt).toBeGreaterThanOrEqual(due.chainTime + 600);
  expect(frozen.claimWindowEndsAt).toBeLessThanOrEqual(frozen.chainTime + 600);
  expect(frozen.next).toEqual([
    expect.stringMatching(/^deposit 2 was never credited: exchange refund --number 2/),
    expect.stringMatching(/^exit \(register your claim before the claim window ends at chain time \d+.*exchange exit /),
  ]);
  const doctored = await status(file('doctored-proof.json'));
  expect(doctored.proof).toMatchObject({ verifies: false, reason: expect.stringMatching(/not the final root/) });

  // Without a saved proof: rebuilt from the public log by the replayer, it verifies as well; the exit uses it.
  let replayed = '';
  const args = [file('exchange.vexlog'), '--build-proof', alice.accountId, '--at', String(finalSequence!)];
  const built = await replay([...args, '--out', file('rebuilt-proof.json'), '--workers', '1'], {
    stdout: (text) => (replayed += text),
    stderr: (text) => (replayed += text),
  });
  expect(built, replayed).toBe(0);
  const rebuilt = JSON.parse(readFileSync(file('rebuilt-proof.json'), 'utf8')) as { salt: string; path: unknown };
  const saved = JSON.parse(readFileSync(file('proof.json'), 'utf8')) as { salt: string; path: unknown };
  expect([rebuilt.salt, rebuilt.path]).toEqual([saved.salt, saved.path]);
  expect((await status(file('rebuilt-proof.json'))).proof).toMatchObject({ verifies: true, exited: false });
  const exited = await run('exit', '--proof', file('rebuilt-proof.json'), ...ethereum);
  expect(exited.stderr).toBe('');
  const claimed = [
    { symbol: 'SOL', amount: '1750000' },
    { symbol: 'USDC', amount: '0' },
  ];
  const registered = await status();
  expect(registered).toMatchObject({ claimWindowOpen: true });
  expect(registered.proof).toMatchObject({ exited: true, claim: 'registered', registered: claimed });
  expect(registered.proof!.owed.map((owed) => owed.amount)).toEqual(['0', '0']);
  expect(registered.next.at(-1)).toMatch(/^wait: the claim window ends at chain time \d+ .*exchange exit-pay/);
  expect((await run('exit', '--proof', file('proof.json'), ...ethereum)).stderr).toMatch(/AlreadyExited/);
  expect((await run('exit-pay', '--proof', file('proof.json'), ...ethereum)).stderr).toMatch(/ClaimWindowOpen/);

  await fixture.time.increaseTime({ seconds: registered.claimWindowEndsAt! - registered.chainTime + 1 });
  await fixture.time.mine({ blocks: 1 });
  const payable = await status();
  expect(payable).toMatchObject({ claimWindowOpen: false, proof: { claim: 'registered' } });
  expect(payable.next.at(-1)).toMatch(/^exit-pay \(the claim window is over\): exchange exit-pay/);
  expect((await run('exit-pay', '--proof', file('proof.json'), ...ethereum)).stderr).toBe('');
  const vault = vaultContract(fixture.alice, setup.vault);
  const { commitment } = (await vault.getEvents.ExitPaid({}, { fromBlock: 0n }))[0]!.args;
  expect(await vault.read.exitClaims([commitment!])).toBe(paidExitClaim);
  const after = await status();
  expect(after.proof).toMatchObject({
    exited: true,
    claim: 'paid',
    registered: claimed,
    paid: claimed,
    owed: [
      { symbol: 'SOL', amount: '1750000' },
      { symbol: 'USDC', amount: '0' },
    ],
  });
  expect(after.next.at(-1)).toMatch(/^pull 1750000 SOL: exchange vault-withdraw --symbol SOL/);
  expect(after.next.some((step) => /exchange exit/.test(step))).toBe(false);
  expect((await run('exit-pay', '--proof', file('proof.json'), ...ethereum)).stderr).toMatch(/AlreadyExited/);
  expect((await run('refund', '--number', '2', ...ethereum)).code).toBe(0);
  expect((await run('refund', '--number', '2', ...ethereum)).stderr).toMatch(/NotRefundable/);
  for (const symbol of ['SOL', 'USDC'])
    expect((await run('vault-withdraw', '--symbol', symbol, ...ethereum)).code).toBe(0);
  expect(await tokenBalance(fixture.alice, setup.tokens[0]!, fixture.alice.account.address)).toBe(2_000_000n);
  expect(await tokenBalance(fixture.alice, setup.tokens[1]!, fixture.alice.account.address)).toBe(5_000_000n);
  // Paid, refunded and pulled: nothing left to do.
  const done = await status();
  expect(done).toMatchObject({ refundableDeposits: [], proof: { claim: 'paid' }, next: [] });
}, 120_000);
