/**
 * The configuration file: the demo default, and clear errors for every kind
 * of mistake before the ledger is touched.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, demoConfig, genesisOf, parseConfig } from './config.js';

const key = 'i1GEJN4TIbUjYhg8PwbfTGmlb1+Z0RDk+ViflfFTz3U=';

function valid(): any {
  return JSON.parse(JSON.stringify(demoConfig()));
}

describe('config', () => {
  it('the demo config is valid and parses to itself', () => {
    expect(parseConfig(valid())).toEqual(demoConfig());
    expect(genesisOf(demoConfig(), key)).toEqual({ exchangeName: 'demo', operatorKeys: [key], feeAccount: key });
  });

  it('takes explicit operator keys and fee account, and derives a missing market symbol', () => {
    const json = valid();
    json.genesis = { exchangeName: 'prod', operatorKeys: [key], feeAccount: key };
    delete json.markets[0].symbol;
    const config = parseConfig(json);
    expect(config.markets[0]!.symbol).toBe('SOL_USDC');
    expect(genesisOf(config, 'A'.repeat(43) + '=')).toEqual({
      exchangeName: 'prod',
      operatorKeys: [key],
      feeAccount: key,
    });
  });

  it('takes a deposit address per blockchain', () => {
    const json = valid();
    json.depositAddresses = { Solana: 'So1anaVault111', Ethereum: '0xabc' };
    expect(parseConfig(json).depositAddresses).toEqual({ Solana: 'So1anaVault111', Ethereum: '0xabc' });
  });

  const cases: Array<[string, (json: any) => void, RegExp]> = [
    [
      'deposit addresses not an object',
      (json) => (json.depositAddresses = ['x']),
      /config\.depositAddresses must be a JSON object/,
    ],
    [
      'a deposit address with a space',
      (json) => (json.depositAddresses = { Solana: 'a b' }),
      /config\.depositAddresses\.Solana must be an address/,
    ],
    [
      'an empty deposit address',
      (json) => (json.depositAddresses = { Solana: '' }),
      /config\.depositAddresses\.Solana must be an address/,
    ],
    ['not an object', (json) => Object.assign(json, { genesis: 'x' }), /config\.genesis must be a JSON object/],
    ['unknown top-level field', (json) => (json.asset = []), /unknown field "asset"/],
    [
      'missing exchange name',
      (json) => delete json.genesis.exchangeName,
      /genesis\.exchangeName must be a non-empty string/,
    ],
    ['bad operator key', (json) => (json.genesis.operatorKeys = ['nope']), /operatorKeys\[0\] is not the base64/],
    ['repeated operator key', (json) => (json.genesis.operatorKeys = [key, key]), /repeats a key/],
    [
      'decimals out of range',
      (json) => (json.assets[0].decimals = 19),
      /assets\[0\]\.decimals must be an integer from 0 to 18/,
    ],
    [
      'asset symbol with underscore',
      (json) => (json.assets[0].symbol = 'SO_L'),
      /assets\[0\] \(SO_L\): An asset symbol cannot contain "_"/,
    ],
    [
      'asset listed twice',
      (json) => json.assets.push({ symbol: 'SOL', decimals: 9 }),
      /assets\[3\] \(SOL\): ALREADY_EXISTS/,
    ],
    [
      'tick size as a number',
      (json) => (json.markets[0].tickSize = 0.01),
      /markets\[0\]\.tickSize must be a plain decimal string/,
    ],
    [
      'market on an unlisted asset',
      (json) => (json.markets[0].baseSymbol = 'ETH'),
      /markets\[0\] \(SOL_USDC\): INVALID_ASSET/,
    ],
    [
      'tick × step below one quote unit',
      (json) =>
        Object.assign(json.markets[1], {
          tickSize: '0.01',
          stepSize: '0.00000001',
          minQuantity: '0.00000001',
          minPrice: '0.01',
        }),
      /markets\[1\] \(BTC_USDC\): INVALID_INSTRUCTION: stepSize × tickSize must be a whole number of quote units/,
    ],
    [
      'fee too high',
      (json) => (json.markets[0].takerFeeBps = 5000),
      /markets\[0\] \(SOL_USDC\): INVALID_INSTRUCTION: Fees are at most 1000 basis points/,
    ],
    ['unknown market field', (json) => (json.markets[0].leverage = 3), /markets\[0\] has an unknown field "leverage"/],
  ];
  for (const [name, mutate, message] of cases) {
    it(`refuses ${name}`, () => {
      const json = valid();
      mutate(json);
      expect(() => parseConfig(json)).toThrow(ConfigError);
      expect(() => parseConfig(json)).toThrow(message);
    });
  }
});
