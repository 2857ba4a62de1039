/**
 * When `pnpm start` runs a local chain (docs/operator.md, "A local chain"),
 * and the fallback: in the default mode a chain that cannot be set up, or a
 * ledger that credited deposits of an earlier chain, leaves custody off with
 * a line saying why; CUSTODY=local refuses to start instead.
 */
import type { CustodyNodePort } from '@vex/custody';
import { createPublicClient, http } from 'viem';
import { describe, expect, it } from 'vitest';
import { ConfigError, demoConfig, type ExchangeConfig } from './config.js';
import { localCustodyMode, openLocalCustody } from './local-custody.js';

/** A node port whose ledger credited vault deposit 1 of an earlier chain (only the state is read before refusing). */
const ledgerOfAnEarlierChain = {
  state: { creditedDeposits: new Set(['Ethereum:vault-1']) },
} as unknown as CustodyNodePort;

async function chainAnswers(rpcUrl: string): Promise<boolean> {
  return createPublicClient({ transport: http(rpcUrl, { retryCount: 0 }) })
    .getChainId()
    .then(() => true)
    .catch(() => false);
}

describe('the local chain of pnpm start', { timeout: 60_000 }, () => {
  it('is on by default for the embedded margin demo only; CUSTODY=local requires it, CUSTODY=off turns it off', () => {
    expect(localCustodyMode(undefined, true)).toBe('default');
    expect(localCustodyMode('', true)).toBe('default');
    expect(localCustodyMode(undefined, false)).toBe('off');
    expect(localCustodyMode('local', false)).toBe('required');
    expect(localCustodyMode('off', true)).toBe('off');
    expect(() => localCustodyMode('on', true)).toThrow(ConfigError);
  });

  it('falls back to custody off, saying why, when the chain cannot be set up', async () => {
    // A token of 300 decimals cannot be deployed (uint8): the set-up fails after anvil started.
    const config: ExchangeConfig = { ...demoConfig(), assets: [{ symbol: 'BAD', decimals: 300 }] } as ExchangeConfig;
    const warnings: string[] = [];
    expect(await openLocalCustody('default', config, (why) => warnings.push(why))).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^custody off: the local chain \(anvil\) could not start: /);
    await expect(openLocalCustody('required', config, () => undefined)).rejects.toThrow();
    expect(await openLocalCustody('off', demoConfig(), () => undefined)).toBeUndefined();
  });

  it('falls back to custody off on a ledger of an earlier chain, and stops the chain', async () => {
    const warnings: string[] = [];
    const custody = (await openLocalCustody('default', demoConfig(), (why) => warnings.push(why)))!;
    expect(await chainAnswers(custody.info.rpcUrl)).toBe(true);
    const started = await custody.start(
      ledgerOfAnEarlierChain,
      new Uint8Array(32),
      () => undefined,
      (why) => {
        warnings.push(why);
      },
    );
    expect(started).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/^custody off: this ledger credited deposits of an earlier/)]);
    expect(await chainAnswers(custody.info.rpcUrl)).toBe(false);
    await custody.stop();

    const required = (await openLocalCustody('required', demoConfig(), () => undefined))!;
    try {
      await expect(
        required.start(
          ledgerOfAnEarlierChain,
          new Uint8Array(32),
          () => undefined,
          () => undefined,
        ),
      ).rejects.toThrow(/needs a ledger that credited no vault deposit/);
    } finally {
      await required.stop();
    }
  });
});
