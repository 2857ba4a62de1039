/**
 * GET /api/v1/custody over real HTTP against a real node: the configured
 * custody exactly as the config file gave it (less the node's own settings),
 * 404 RESOURCE_NOT_FOUND without one; and the config file's custody section,
 * refused with its place named when malformed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, demoConfig, parseConfig } from './config.js';
import { custodyInfoOf } from './custody-config.js';
import { startTestExchange, type TestExchange } from './test-support.js';

const vault = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const usdcToken = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512';
const member = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

function configWithCustody(custody: unknown): unknown {
  return { ...demoConfig(), custody };
}

const custodySection = {
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  vault,
  tokens: { USDC: usdcToken },
  committee: [member],
  confirmations: 2,
  finalityDelaySeconds: 3600,
  graceSeconds: 86400,
};

describe('GET /api/v1/custody', { timeout: 120_000 }, () => {
  let withCustody: TestExchange;
  let without: TestExchange;

  beforeAll(async () => {
    const config = parseConfig(configWithCustody(custodySection));
    withCustody = await startTestExchange({ custody: custodyInfoOf(config.custody!) });
    without = await startTestExchange();
  });
  afterAll(async () => {
    await withCustody?.close();
    await without?.close();
  });

  it('answers the configured vault, tokens, committee and delays, without the node-only confirmations', async () => {
    const response = await fetch(`${withCustody.baseUrl}/api/v1/custody`);
    expect(response.status).toBe(200);
    const { confirmations: _confirmations, ...expected } = custodySection;
    expect(await response.json()).toEqual(expected);
  });

  it('answers 404 RESOURCE_NOT_FOUND when no custody is configured', async () => {
    const response = await fetch(`${without.baseUrl}/api/v1/custody`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
  });

  it('refuses a query string', async () => {
    const response = await fetch(`${withCustody.baseUrl}/api/v1/custody?x=1`);
    expect(response.status).toBe(400);
  });
});

describe('config custody section', () => {
  it('defaults confirmations to 1', () => {
    const { confirmations: _confirmations, ...section } = custodySection;
    expect(parseConfig(configWithCustody(section)).custody?.confirmations).toBe(1);
  });

  it('defaults committeeUrls to none and committeeTimeoutMs to 30 s; neither is served', () => {
    const custody = parseConfig(configWithCustody(custodySection)).custody!;
    expect(custody.committeeUrls).toEqual([]);
    expect(custody.committeeTimeoutMs).toBe(30_000);
    const urls = ['http://127.0.0.1:7001', 'https://watchtower.example/'];
    const named = parseConfig(configWithCustody({ ...custodySection, committeeUrls: urls, committeeTimeoutMs: 5 }));
    expect(named.custody).toMatchObject({ committeeUrls: urls, committeeTimeoutMs: 5 });
    expect(Object.keys(custodyInfoOf(named.custody!))).not.toContain('committeeUrls');
    expect(Object.keys(custodyInfoOf(named.custody!))).not.toContain('committeeTimeoutMs');
  });

  it.each([
    [{ vault: '0x1234' }, 'config.custody.vault'],
    [{ tokens: { DOGE: usdcToken } }, 'DOGE'],
    [{ committee: ['nobody'] }, 'config.custody.committee[0]'],
    [{ rpcUrl: 'ftp://x' }, 'config.custody.rpcUrl'],
    [{ chainId: 0 }, 'config.custody.chainId'],
    [{ graceSeconds: -1 }, 'config.custody.graceSeconds'],
    [{ operatorKey: '0x00' }, 'unknown field "operatorKey"'],
    [{ committeeUrls: ['ws://127.0.0.1:1'] }, 'config.custody.committeeUrls'],
    [{ committeeUrls: 'http://127.0.0.1:1' }, 'config.custody.committeeUrls'],
    [{ committeeTimeoutMs: 0 }, 'config.custody.committeeTimeoutMs'],
  ])('refuses %j naming %s', (change, named) => {
    expect(() => parseConfig(configWithCustody({ ...custodySection, ...change }))).toThrow(ConfigError);
    expect(() => parseConfig(configWithCustody({ ...custodySection, ...change }))).toThrow(named);
  });
});
