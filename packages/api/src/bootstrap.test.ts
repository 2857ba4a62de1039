/**
 * The genesis listings must go through however long a submission takes: a
 * real node whose clock runs ahead of the signer's stands for signature
 * workers that are slow to start (the node stamps the entry later than the
 * listing was signed).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ExchangeNode } from '@vex/ledger';
import { applyListings, BootstrapError, maximumListingAttempts } from './bootstrap.js';
import { demoConfig, genesisOf } from './config.js';
import type { ExchangeNodePort } from './node-port.js';
import { operatorKeyFromSeed } from './operator-key.js';

const allListings = ['SOL', 'BTC', 'USDC', 'SOL_USDC', 'BTC_USDC', 'SOL_USDC_PERP', 'BTC_USDC_PERP'];

describe('genesis listings', { timeout: 60_000 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** A real node whose clock is the wall clock plus `lag.ms`. */
  async function openNode(lag: { ms: number }) {
    const dataDirectory = await mkdtemp(join(tmpdir(), 'vex-bootstrap-'));
    const operator = operatorKeyFromSeed(new Uint8Array(randomBytes(32)));
    const node = await ExchangeNode.open({
      dataDirectory,
      genesis: genesisOf(demoConfig(), operator.publicKey),
      verifierThreads: 1,
      logger: pino({ level: 'silent' }),
      clock: () => Date.now() + lag.ms,
    });
    cleanups.push(async () => {
      await node.close();
      await rm(dataDirectory, { recursive: true, force: true });
    });
    return { node, operator };
  }

  it('lists everything when each submission takes longer than Backpack’s default 5-second window', async () => {
    const { node, operator } = await openNode({ ms: 6_000 });
    expect(await applyListings(node, operator, demoConfig())).toEqual(allListings);
    expect(node.state.markets.map((market) => market.symbol)).toEqual([
      'SOL_USDC',
      'BTC_USDC',
      'SOL_USDC_PERP',
      'BTC_USDC_PERP',
    ]);
  });

  it('signs a listing afresh when the node refused it only for its timestamp', async () => {
    const lag = { ms: 0 };
    const { node, operator } = await openNode(lag);
    const codes: string[] = [];
    // The first submission of each listing is stamped 61 s after it was signed (beyond the maximum window).
    let submissions = 0;
    const port: ExchangeNodePort = Object.create(node) as ExchangeNodePort;
    Object.defineProperty(port, 'state', { get: () => node.state });
    port.submit = async (transaction) => {
      submissions += 1;
      lag.ms = submissions % 2 === 1 ? 61_000 : 0;
      const result = await node.submit(transaction);
      codes.push(result.outcome.accepted ? 'accepted' : result.outcome.rejection.code);
      return result;
    };
    expect(await applyListings(port, operator, demoConfig())).toEqual(allListings);
    expect(codes).toEqual(allListings.flatMap(() => ['INVALID_TIMESTAMP', 'accepted']));
  });

  it('gives up after a bounded number of attempts, with the reason', async () => {
    // A node clock more than the maximum window ahead of the signer's, for good.
    const { node, operator } = await openNode({ ms: 61_000 });
    const attempt = applyListings(node, operator, demoConfig(), () => Date.now() - 61_000 - 61_000);
    await expect(attempt).rejects.toThrow(BootstrapError);
    await expect(attempt).rejects.toThrow(
      new RegExp(`Listing SOL was rejected: INVALID_TIMESTAMP: .*after ${maximumListingAttempts} attempts`),
    );
    expect(node.state.assets).toEqual([]);
  });
});
