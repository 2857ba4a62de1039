import { afterEach, describe, expect, it } from 'vitest';
import { operatorInstructionKinds, parseInstruction, queryInstructions, type Instruction } from './instruction.js';
import { maximumClientId, maximumTextLength } from './limits.js';
import { parseSigningString, type SignedGroup } from './signing-string.js';
import { solUsdcLimitOrder } from '../test/support-orders.js';
import { solUsdcListingParams } from '../test/support-listings.js';

function group(instruction: string, params: Record<string, string> | Array<[string, string]>): SignedGroup {
  return { instruction, params: new Map(Array.isArray(params) ? params : Object.entries(params)) };
}

function parseOne(
  instruction: string,
  params: Record<string, string> | Array<[string, string]>,
): ReturnType<typeof parseInstruction> {
  return parseInstruction([group(instruction, params)]);
}

function accepted(instruction: string, params: Record<string, string>): Instruction {
  const parsed = parseOne(instruction, params);
  if (!parsed.ok) throw new Error(`expected ${instruction} to parse: ${parsed.message}`);
  return parsed.instruction;
}

function rejectedMessage(instruction: string, params: Record<string, string> | Array<[string, string]>): string {
  const parsed = parseOne(instruction, params);
  if (parsed.ok) throw new Error(`expected ${instruction} ${JSON.stringify(params)} to be rejected`);
  return parsed.message;
}

const limitBid = { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '100', quantity: '0.5' } as const;
const marketAsk = { symbol: 'SOL_USDC', side: 'Ask', orderType: 'Market', quantity: '0.25' } as const;
const accountKey = '6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=';

describe('orderExecute', () => {
  it('parses a minimal limit order and fills in the defaults', () => {
    expect(accepted('orderExecute', limitBid)).toEqual(solUsdcLimitOrder('Bid', '100', '0.5'));
  });

  it('parses every optional key', () => {
    expect(
      accepted('orderExecute', {
        ...limitBid,
        timeInForce: 'GTC',
        postOnly: 'true',
        reduceOnly: 'false',
        selfTradePrevention: 'RejectBoth',
        clientId: '1001',
      }),
    ).toEqual(
      solUsdcLimitOrder('Bid', '100', '0.5', { postOnly: true, selfTradePrevention: 'RejectBoth', clientId: 1001 }),
    );
  });

  it('parses market orders sized by quantity or by quote quantity', () => {
    expect(accepted('orderExecute', marketAsk)).toMatchObject({ orders: [{ orderType: 'Market', quantity: '0.25' }] });
    const quote = accepted('orderExecute', {
      symbol: 'SOL_USDC',
      side: 'Bid',
      orderType: 'Market',
      quoteQuantity: '25',
    });
    expect(quote).toMatchObject({ orders: [{ orderType: 'Market', quoteQuantity: '25' }] });
    if (quote.kind === 'orderExecute') expect(quote.orders[0]).not.toHaveProperty('quantity');
  });

  it.each(['symbol', 'side', 'orderType'])('requires %s', (key) => {
    const params: Record<string, string> = { ...limitBid };
    delete params[key];
    expect(rejectedMessage('orderExecute', params)).toBe(`orderExecute requires "${key}".`);
  });

  it.each(['autoRedeem', 'foo', 'Symbol'])('rejects the unknown key %s', (key) => {
    expect(rejectedMessage('orderExecute', { ...limitBid, [key]: '1' })).toBe(`orderExecute does not take "${key}".`);
  });

  it('parses trigger orders and attached take-profit / stop-loss, and refuses inconsistent trigger fields', () => {
    const { quantity, ...unsized } = limitBid;
    const trigger = accepted('orderExecute', {
      ...unsized,
      triggerPrice: '105',
      triggerQuantity: quantity,
      triggerBy: 'LastPrice',
    });
    expect(trigger).toMatchObject({ orders: [{ triggerPrice: '105', triggerQuantity: quantity }] });
    const withStops = accepted('orderExecute', {
      ...limitBid,
      takeProfitTriggerPrice: '110',
      stopLossTriggerPrice: '90',
      stopLossLimitPrice: '89',
    });
    expect(withStops).toMatchObject({
      orders: [{ takeProfitTriggerPrice: '110', stopLossTriggerPrice: '90', stopLossLimitPrice: '89' }],
    });
    expect(rejectedMessage('orderExecute', { ...limitBid, triggerPrice: '1' })).toBe(
      'A trigger order requires both "triggerPrice" and "triggerQuantity".',
    );
    expect(rejectedMessage('orderExecute', { ...limitBid, triggerPrice: '1', triggerQuantity: '1' })).toBe(
      'A trigger order is sized by "triggerQuantity" only.',
    );
    expect(
      rejectedMessage('orderExecute', { ...unsized, triggerPrice: '1', triggerQuantity: '1', triggerBy: 'MarkPrice' }),
    ).toBe('"triggerBy" must be one of LastPrice.');
    expect(rejectedMessage('orderExecute', { ...limitBid, takeProfitLimitPrice: '1' })).toBe(
      '"takeProfitLimitPrice" requires "takeProfitTriggerPrice".',
    );
  });

  it.each([
    ['side', 'bid'],
    ['side', 'Buy'],
    ['side', 'BID'],
    ['orderType', 'limit'],
    ['orderType', 'StopLimit'],
    ['timeInForce', 'gtc'],
    ['timeInForce', 'GTX'],
    ['selfTradePrevention', 'rejectTaker'],
    ['selfTradePrevention', 'None'],
  ])('rejects %s=%s outside its enum', (key, value) => {
    expect(rejectedMessage('orderExecute', { ...limitBid, [key]: value })).toMatch(
      new RegExp(`^"${key}" must be one of `),
    );
  });

  it.each(['IOC', 'FOK'] as const)('accepts timeInForce %s', (timeInForce) => {
    expect(accepted('orderExecute', { ...limitBid, timeInForce })).toMatchObject({ orders: [{ timeInForce }] });
  });

  it.each(['RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow'] as const)(
    'accepts selfTradePrevention %s',
    (selfTradePrevention) => {
      expect(accepted('orderExecute', { ...limitBid, selfTradePrevention })).toMatchObject({
        orders: [{ selfTradePrevention }],
      });
    },
  );

  it.each(['True', 'TRUE', '1', '0', 'yes', 'false ', ''])(
    'accepts only "true" and "false" as booleans, not %j',
    (value) => {
      expect(rejectedMessage('orderExecute', { ...limitBid, postOnly: value })).toBe(
        '"postOnly" must be true or false.',
      );
      expect(rejectedMessage('orderExecute', { ...limitBid, reduceOnly: value })).toBe(
        '"reduceOnly" must be true or false.',
      );
    },
  );

  it('accepts postOnly=false and reduceOnly=false, and parses reduceOnly=true (refused on spot at execution)', () => {
    expect(accepted('orderExecute', { ...limitBid, postOnly: 'false', reduceOnly: 'false' })).toMatchObject({
      orders: [{ postOnly: false }],
    });
    // The market's type decides: apply.test.ts asserts the spot refusal and its message.
    expect(accepted('orderExecute', { ...limitBid, reduceOnly: 'true' })).toMatchObject({
      orders: [{ reduceOnly: true }],
    });
  });

  it('accepts clientId over the whole unsigned 32-bit range and nothing beyond', () => {
    expect(maximumClientId).toBe(4_294_967_295);
    expect(accepted('orderExecute', { ...limitBid, clientId: '0' })).toMatchObject({ orders: [{ clientId: 0 }] });
    expect(accepted('orderExecute', { ...limitBid, clientId: '4294967295' })).toMatchObject({
      orders: [{ clientId: 4_294_967_295 }],
    });
    expect(rejectedMessage('orderExecute', { ...limitBid, clientId: '4294967296' })).toBe(
      '"clientId" is out of range.',
    );
  });

  it.each(['-1', '01', '1.0', '1e3', ' 1', '+1', 'x', '99999999999999999'])('rejects clientId %j', (clientId) => {
    expect(rejectedMessage('orderExecute', { ...limitBid, clientId })).toBe('"clientId" must be an unsigned integer.');
  });

  it('checks the combinations of order type, sizes and flags', () => {
    const { price: _price, ...limitWithoutPrice } = limitBid;
    expect(rejectedMessage('orderExecute', limitWithoutPrice)).toBe('A Limit order requires "price".');
    const { quantity: _quantity, ...limitWithoutQuantity } = limitBid;
    expect(rejectedMessage('orderExecute', limitWithoutQuantity)).toBe('A Limit order requires "quantity".');
    expect(rejectedMessage('orderExecute', { ...limitBid, quoteQuantity: '50' })).toBe(
      'A Limit order does not take "quoteQuantity".',
    );
    expect(rejectedMessage('orderExecute', { ...marketAsk, price: '100' })).toBe(
      'A Market order does not take "price".',
    );
    expect(rejectedMessage('orderExecute', { ...marketAsk, quoteQuantity: '25' })).toBe(
      'A Market order requires exactly one of "quantity" and "quoteQuantity".',
    );
    const { quantity: _marketQuantity, ...marketWithoutSize } = marketAsk;
    expect(rejectedMessage('orderExecute', marketWithoutSize)).toBe(
      'A Market order requires exactly one of "quantity" and "quoteQuantity".',
    );
    expect(rejectedMessage('orderExecute', { ...marketAsk, postOnly: 'true' })).toBe(
      'A Market order cannot be postOnly.',
    );
    expect(rejectedMessage('orderExecute', { ...limitBid, postOnly: 'true', timeInForce: 'IOC' })).toBe(
      'postOnly requires timeInForce GTC.',
    );
    expect(rejectedMessage('orderExecute', { ...limitBid, postOnly: 'true', timeInForce: 'FOK' })).toBe(
      'postOnly requires timeInForce GTC.',
    );
  });

  // A perpetual's symbol (SOL_USDC_PERP) is valid since perpetuals were listed (docs/perps.md); other suffixes are not.
  it.each([
    'sol_usdc',
    'SOL-USDC',
    'SOL_USDC_FUT',
    'SOL_USDC_PERP_PERP',
    '_USDC',
    'SOL_',
    'SOL USDC',
    'ABCDEFGHIJKLMNOPQ_USDC',
  ])('rejects the symbol %j', (symbol) => {
    expect(rejectedMessage('orderExecute', { ...limitBid, symbol })).toBe('"symbol" is not a valid symbol.');
  });

  it('checks each symbol whatever the symbol before it was', () => {
    expect(accepted('orderExecute', limitBid)).toMatchObject({ orders: [{ symbol: 'SOL_USDC' }] });
    expect(rejectedMessage('orderExecute', { ...limitBid, symbol: 'SOL_USDC_FUT' })).toBe(
      '"symbol" is not a valid symbol.',
    );
    expect(accepted('orderExecute', limitBid)).toMatchObject({ orders: [{ symbol: 'SOL_USDC' }] });
    expect(rejectedMessage('orderExecute', { ...limitBid, symbol: 'sol_usdc' })).toBe(
      '"symbol" is not a valid symbol.',
    );
  });

  it('accepts a perpetual symbol', () => {
    expect(accepted('orderExecute', { ...limitBid, symbol: 'SOL_USDC_PERP' })).toMatchObject({
      orders: [{ symbol: 'SOL_USDC_PERP' }],
    });
  });

  it('leaves decimal amounts as text: their scale belongs to the market, which the engine checks', () => {
    expect(accepted('orderExecute', { ...limitBid, price: '101.255', quantity: 'lots' })).toMatchObject({
      orders: [{ price: '101.255', quantity: 'lots' }],
    });
  });

  it('parses a batch into one orderExecute with one order per group', () => {
    const parsed = parseInstruction([
      group('orderExecute', limitBid),
      group('orderExecute', { ...marketAsk, clientId: '7' }),
    ]);
    expect(parsed).toMatchObject({
      ok: true,
      instruction: { kind: 'orderExecute', orders: [{ orderType: 'Limit' }, { orderType: 'Market', clientId: 7 }] },
    });
  });

  it('rejects a whole batch when one order is malformed, and batches of anything but orders', () => {
    expect(
      parseInstruction([group('orderExecute', limitBid), group('orderExecute', { ...limitBid, side: 'Buy' })]),
    ).toEqual({
      ok: false,
      message: '"side" must be one of Bid, Ask.',
    });
    expect(
      parseInstruction([group('orderExecute', limitBid), group('orderExecute', { ...limitBid, extra: '1' })]),
    ).toEqual({
      ok: false,
      message: 'orderExecute does not take "extra".',
    });
    expect(
      parseInstruction([group('orderExecute', limitBid), group('orderCancel', { symbol: 'SOL_USDC', orderId: '1' })]),
    ).toEqual({
      ok: false,
      message: 'Only orderExecute may be batched.',
    });
    expect(parseInstruction([group('balanceQuery', {}), group('balanceQuery', {})])).toEqual({
      ok: false,
      message: 'Only orderExecute may be batched.',
    });
  });

  it('rejects an empty list of groups', () => {
    expect(parseInstruction([])).toEqual({ ok: false, message: 'A message must hold at least one instruction.' });
  });
});

describe('orderCancel and orderCancelAll', () => {
  it('cancels by orderId or by clientId, never both or neither', () => {
    expect(accepted('orderCancel', { symbol: 'SOL_USDC', orderId: '111' })).toEqual({
      kind: 'orderCancel',
      symbol: 'SOL_USDC',
      orderId: 111,
    });
    expect(accepted('orderCancel', { symbol: 'SOL_USDC', clientId: '7' })).toEqual({
      kind: 'orderCancel',
      symbol: 'SOL_USDC',
      clientId: 7,
    });
    const exactlyOne = 'orderCancel requires exactly one of "orderId" and "clientId".';
    expect(rejectedMessage('orderCancel', { symbol: 'SOL_USDC', orderId: '1', clientId: '1' })).toBe(exactlyOne);
    expect(rejectedMessage('orderCancel', { symbol: 'SOL_USDC' })).toBe(exactlyOne);
    expect(rejectedMessage('orderCancel', { orderId: '1' })).toBe('orderCancel requires "symbol".');
  });

  it('accepts order ids up to 2^53 − 1 and rejects anything beyond', () => {
    expect(accepted('orderCancel', { symbol: 'SOL_USDC', orderId: '9007199254740991' })).toMatchObject({
      orderId: Number.MAX_SAFE_INTEGER,
    });
    for (const orderId of ['9007199254740992', '9007199254740993', '9999999999999999']) {
      expect(rejectedMessage('orderCancel', { symbol: 'SOL_USDC', orderId })).toBe('"orderId" is out of range.');
    }
    expect(rejectedMessage('orderCancel', { symbol: 'SOL_USDC', orderId: '18446744073709551616' })).toBe(
      '"orderId" must be an unsigned integer.',
    );
    expect(rejectedMessage('orderCancel', { symbol: 'SOL_USDC', clientId: '4294967296' })).toBe(
      '"clientId" is out of range.',
    );
  });

  it('rejects unknown keys', () => {
    expect(rejectedMessage('orderCancel', { symbol: 'SOL_USDC', orderId: '1', side: 'Bid' })).toBe(
      'orderCancel does not take "side".',
    );
    expect(rejectedMessage('orderCancelAll', { symbol: 'SOL_USDC', side: 'Bid' })).toBe(
      'orderCancelAll does not take "side".',
    );
  });

  it('parses orderCancelAll', () => {
    expect(accepted('orderCancelAll', { symbol: 'SOL_USDC' })).toEqual({ kind: 'orderCancelAll', symbol: 'SOL_USDC' });
    expect(rejectedMessage('orderCancelAll', {})).toBe('orderCancelAll requires "symbol".');
  });
});

describe('withdraw', () => {
  const withdrawal = { address: 'a b:c/d+e', blockchain: 'Solana', quantity: '1.5', symbol: 'USDC' };

  it('parses a withdrawal whose address holds spaces, colons, slashes and plus signs', () => {
    expect(accepted('withdraw', withdrawal)).toEqual({ kind: 'withdraw', ...withdrawal });
  });

  it.each(['symbol', 'quantity', 'address', 'blockchain'])('requires %s', (key) => {
    const params: Record<string, string> = { ...withdrawal };
    delete params[key];
    expect(rejectedMessage('withdraw', params)).toBe(`withdraw requires "${key}".`);
  });

  const textRule = `"address" must be 1 to ${maximumTextLength} printable ASCII characters without %, & or =.`;
  it.each(['100%', 'a&b', 'a=b', 'a\nb', 'a\tb', 'a\rb', 'a\u0000b', 'a\u007fb', 'caf\u00e9', 'a\u00a0b', '\u202eabc'])(
    'rejects the address %j',
    (address) => {
      expect(rejectedMessage('withdraw', { ...withdrawal, address })).toBe(textRule);
    },
  );

  it(`bounds text fields at ${maximumTextLength} characters`, () => {
    expect(accepted('withdraw', { ...withdrawal, address: 'x'.repeat(maximumTextLength) })).toMatchObject({
      address: 'x'.repeat(256),
    });
    expect(rejectedMessage('withdraw', { ...withdrawal, address: 'x'.repeat(maximumTextLength + 1) })).toBe(textRule);
  });

  it('requires the blockchain to be a plain name', () => {
    for (const blockchain of ['Sol&ana', 'Sol:ana', 'Sol ana', '1Solana', 'S'.repeat(33)]) {
      expect(rejectedMessage('withdraw', { ...withdrawal, blockchain })).toMatch(
        /^"blockchain" must be a blockchain name/,
      );
    }
  });
});

describe('operator instructions', () => {
  const deposit = {
    account: accountKey,
    blockchain: 'Solana',
    chainTransactionId: 'tx-1',
    quantity: '100',
    symbol: 'USDC',
  };

  it('lists the operator instructions', () => {
    expect([...operatorInstructionKinds].sort()).toEqual([
      'assetList',
      'attestationRecord',
      'borrowLendMarketList',
      'depositCredit',
      'forcedExitServe',
      'indexPriceUpdate',
      'marketList',
      'reservesStatement',
      'withdrawalComplete',
      'withdrawalFail',
    ]);
  });

  it('parses attestationRecord', () => {
    const digest = 'ab'.repeat(32);
    expect(accepted('attestationRecord', { digest, sequence: '12' })).toEqual({
      kind: 'attestationRecord',
      digest,
      sequence: 12,
    });
    expect(rejectedMessage('attestationRecord', { digest: 'AB'.repeat(32), sequence: '12' })).toBe(
      '"digest" must be 64 lower-case hex digits.',
    );
    expect(rejectedMessage('attestationRecord', { digest, sequence: '0' })).toBe('"sequence" must be at least 1.');
    expect(rejectedMessage('attestationRecord', { digest })).toBe('attestationRecord requires "sequence".');
  });

  it('parses reservesStatement', () => {
    expect(accepted('reservesStatement', { quantity: '12.5', symbol: 'SOL' })).toEqual({
      kind: 'reservesStatement',
      quantity: '12.5',
      symbol: 'SOL',
    });
    expect(rejectedMessage('reservesStatement', { quantity: '1', symbol: 'SOL', address: 'x' })).toBe(
      'reservesStatement does not take "address".',
    );
  });

  it('parses depositCredit', () => {
    expect(accepted('depositCredit', deposit)).toEqual({ kind: 'depositCredit', ...deposit });
    expect(rejectedMessage('depositCredit', { ...deposit, memo: 'x' })).toBe('depositCredit does not take "memo".');
    expect(rejectedMessage('depositCredit', { ...deposit, chainTransactionId: 'tx 1&2' })).toMatch(
      /^"chainTransactionId" must be/,
    );
  });

  it.each([
    ['too short', accountKey.slice(1)],
    ['no padding', `${accountKey.slice(0, 43)}A`],
    ['two pads', `${accountKey.slice(0, 42)}==`],
    ['url-safe alphabet', accountKey.replace(/\+/g, '-').replace(/\//g, '_')],
    ['hex', 'ea9a6c63e29c520abef5507b132ec5f9'],
    ['non-canonical padding bits', `${accountKey.slice(0, 42)}x=`],
    ['spaces', ` ${accountKey.slice(1)}`],
  ])('rejects an account that is not the base64 of 32 bytes (%s)', (_name, account) => {
    expect(rejectedMessage('depositCredit', { ...deposit, account })).toMatch(
      /^"account" must be the (canonical )?base64 of a 32-byte public key\.$/,
    );
  });

  it('parses withdrawal settlements', () => {
    expect(accepted('withdrawalComplete', { withdrawalId: '3', chainTransactionId: 'sig' })).toEqual({
      kind: 'withdrawalComplete',
      withdrawalId: 3,
      chainTransactionId: 'sig',
    });
    expect(accepted('withdrawalFail', { withdrawalId: '3', reason: 'address rejected by chain' })).toEqual({
      kind: 'withdrawalFail',
      withdrawalId: 3,
      reason: 'address rejected by chain',
    });
    expect(rejectedMessage('withdrawalFail', { withdrawalId: '3' })).toBe('withdrawalFail requires "reason".');
    expect(rejectedMessage('withdrawalComplete', { withdrawalId: '-3', chainTransactionId: 'sig' })).toBe(
      '"withdrawalId" must be an unsigned integer.',
    );
  });

  it('parses assetList with decimals 0..18 and a symbol without "_"', () => {
    expect(accepted('assetList', { symbol: 'SOL', decimals: '9' })).toEqual({
      kind: 'assetList',
      symbol: 'SOL',
      decimals: 9,
    });
    expect(accepted('assetList', { symbol: 'BTC', decimals: '0' })).toMatchObject({ decimals: 0 });
    expect(accepted('assetList', { symbol: 'ETH', decimals: '18' })).toMatchObject({ decimals: 18 });
    expect(rejectedMessage('assetList', { symbol: 'ETH', decimals: '19' })).toBe('"decimals" is out of range.');
    expect(rejectedMessage('assetList', { symbol: 'SOL_USDC', decimals: '9' })).toBe(
      'An asset symbol cannot contain "_".',
    );
    expect(rejectedMessage('assetList', { symbol: 'sol', decimals: '9' })).toBe('"symbol" is not a valid symbol.');
  });

  const market = solUsdcListingParams;

  it('parses marketList', () => {
    expect(accepted('marketList', market)).toEqual({ kind: 'marketList', ...market, makerFeeBps: 2, takerFeeBps: 5 });
  });

  it.each(Object.keys(market))('requires %s in marketList', (key) => {
    const params: Record<string, string> = { ...market };
    delete params[key];
    expect(rejectedMessage('marketList', params)).toBe(`marketList requires "${key}".`);
  });

  it('bounds fees at 10000 basis points in syntax (the listing rule is tighter)', () => {
    expect(accepted('marketList', { ...market, takerFeeBps: '10000' })).toMatchObject({ takerFeeBps: 10_000 });
    expect(rejectedMessage('marketList', { ...market, takerFeeBps: '10001' })).toBe('"takerFeeBps" is out of range.');
  });
});

describe('queries', () => {
  it.each([...queryInstructions])('%s parses as a query and keeps its free-form parameters', (name) => {
    const parsed = accepted(name, { symbol: 'SOL_USDC', limit: '5', anything: 'goes' });
    expect(parsed.kind).toBe('query');
    if (parsed.kind === 'query') {
      expect(parsed.name).toBe(name);
      expect([...parsed.params]).toEqual([
        ['symbol', 'SOL_USDC'],
        ['limit', '5'],
        ['anything', 'goes'],
      ]);
    }
  });

  it('parses a query with no parameters', () => {
    expect(accepted('balanceQuery', {})).toMatchObject({ kind: 'query', name: 'balanceQuery' });
  });

  const unknownNames = ['borrowLendRepay', 'quoteSubmit', 'orderexecute', 'toString', 'constructor', '__proto__'];
  it.each(unknownNames)('rejects the unknown instruction %j', (name) => {
    expect(rejectedMessage(name, {})).toBe(`Unknown instruction "${name}".`);
  });
});

describe('prototype pollution', () => {
  afterEach(() => {
    delete (Object.prototype as Record<string, unknown>).polluted;
  });

  it.each(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'])(
    'treats the key %s as unknown',
    (key) => {
      for (const [instruction, params] of [
        ['orderExecute', limitBid],
        ['orderCancelAll', { symbol: 'SOL_USDC' }],
        ['withdraw', { address: 'x', blockchain: 'Solana', quantity: '1', symbol: 'USDC' }],
      ] as const) {
        const entries: Array<[string, string]> = [...Object.entries(params), [key, '{"polluted":true}']];
        expect(rejectedMessage(instruction, entries)).toBe(`${instruction} does not take "${key}".`);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype.toString.call({})).toBe('[object Object]');
    },
  );

  it('never reads defaults from the prototype chain', () => {
    (Object.prototype as Record<string, unknown>).polluted = 'yes';
    // A plain-object reader would see inherited keys; the Map-based reader does not.
    expect(accepted('orderExecute', limitBid)).toMatchObject({ orders: [{ timeInForce: 'GTC' }] });
  });

  it('keeps hostile keys inside the query parameter map, through the full signing-string path', () => {
    const bytes = new TextEncoder().encode(
      'instruction=orderQueryAll&constructor=1&polluted=1&timestamp=1&window=5000',
    );
    const parsed = parseSigningString(bytes);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const instruction = parseInstruction(parsed.value.groups);
    expect(instruction.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(typeof ({} as { constructor: unknown }).constructor).toBe('function');
    // `__proto__` never gets this far: it fails the key pattern of the signing string.
    expect(
      parseSigningString(new TextEncoder().encode('instruction=orderQueryAll&__proto__=1&timestamp=1&window=5000')).ok,
    ).toBe(false);
  });
});
