import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RequestSigningError,
  instructionForRoute,
  requestGroups,
  signedRoutes,
  signingStringCandidateTexts,
  signingStringCandidates,
  stringifyParameterValue,
} from './request-signing.js';
import { publicKeyFromSeed, signMessage, verifySignature } from './signature.js';
import { parseSigningString } from './signing-string.js';

const none = new URLSearchParams();

function texts(
  method: string,
  path: string,
  query: URLSearchParams | Record<string, string>,
  body: unknown,
  window: string | undefined = '5000',
): string[] {
  return signingStringCandidateTexts(method, path, query, body, '1795250316509', window);
}

function signingError(run: () => unknown): RequestSigningError {
  try {
    run();
  } catch (error) {
    if (error instanceof RequestSigningError) return error;
    throw error;
  }
  throw new Error('expected a RequestSigningError');
}

describe('instructionForRoute', () => {
  it('maps every signed route of the Backpack table', () => {
    const table: Array<[string, string, string]> = [
      ['GET', '/api/v1/capital', 'balanceQuery'],
      ['POST', '/api/v1/order', 'orderExecute'],
      ['POST', '/api/v1/orders', 'orderExecute'],
      ['DELETE', '/api/v1/order', 'orderCancel'],
      ['GET', '/api/v1/order', 'orderQuery'],
      ['GET', '/api/v1/orders', 'orderQueryAll'],
      ['DELETE', '/api/v1/orders', 'orderCancelAll'],
      ['GET', '/wapi/v1/history/fills', 'fillHistoryQueryAll'],
      ['GET', '/wapi/v1/history/orders', 'orderHistoryQueryAll'],
      ['GET', '/wapi/v1/capital/deposits', 'depositQueryAll'],
      ['GET', '/wapi/v1/capital/withdrawals', 'withdrawalQueryAll'],
      ['POST', '/wapi/v1/capital/withdrawals', 'withdraw'],
      ['GET', '/wapi/v1/capital/deposit/address', 'depositAddressQuery'],
      ['GET', '/api/v1/account', 'accountQuery'],
      ['GET', '/api/v1/position', 'positionQuery'],
      ['POST', '/api/v1/borrowLend', 'borrowLendExecute'],
      ['PATCH', '/api/v1/account', 'accountUpdate'],
      ['GET', '/api/v1/borrowLend/positions', 'borrowLendPositionQuery'],
      ['GET', '/api/v1/capital/collateral', 'collateralQuery'],
      ['GET', '/api/v1/account/limits/borrow', 'maxBorrowQuantity'],
      ['GET', '/api/v1/account/limits/withdrawal', 'maxWithdrawalQuantity'],
      ['GET', '/api/v1/account/limits/order', 'maxOrderQuantity'],
      ['GET', '/wapi/v1/history/borrowLend', 'borrowHistoryQueryAll'],
      ['GET', '/wapi/v1/history/interest', 'interestHistoryQueryAll'],
      ['GET', '/wapi/v1/history/borrowLend/positions', 'borrowPositionHistoryQueryAll'],
      ['GET', '/wapi/v1/history/funding', 'fundingHistoryQueryAll'],
      ['GET', '/wapi/v1/history/settlement', 'settlementHistoryQueryAll'],
      ['GET', '/wapi/v1/history/position', 'positionHistoryQueryAll'],
    ];
    expect(signedRoutes).toHaveLength(table.length);
    for (const [method, path, instruction] of table)
      expect(instructionForRoute(method, path), `${method} ${path}`).toBe(instruction);
  });

  it('normalizes the method case, a missing leading slash and a query string', () => {
    expect(instructionForRoute('delete', 'api/v1/order')).toBe('orderCancel');
    expect(instructionForRoute('GET', '/api/v1/orders?symbol=SOL_USDC')).toBe('orderQueryAll');
  });

  it('knows nothing of public or unknown routes', () => {
    for (const [method, path] of [
      ['GET', '/api/v1/depth'],
      ['GET', '/api/v1/markets'],
      ['PUT', '/api/v1/order'],
      ['POST', '/api/v1/capital'],
      ['GET', '/api/v1/order/'],
      ['GET', '/API/V1/ORDER'],
    ] as const) {
      expect(instructionForRoute(method, path)).toBeUndefined();
    }
  });
});

describe('stringifyParameterValue', () => {
  it('stringifies as clients do', () => {
    expect(stringifyParameterValue('k', 'text')).toBe('text');
    expect(stringifyParameterValue('k', true)).toBe('true');
    expect(stringifyParameterValue('k', false)).toBe('false');
    expect(stringifyParameterValue('k', 1001)).toBe('1001');
    expect(stringifyParameterValue('k', 0)).toBe('0');
    expect(stringifyParameterValue('k', -0)).toBe('0');
    expect(stringifyParameterValue('k', 0.5)).toBe('0.5');
    expect(stringifyParameterValue('k', 101.25)).toBe('101.25');
    expect(stringifyParameterValue('k', Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(stringifyParameterValue('k', 4_294_967_295)).toBe('4294967295');
  });

  it.each([
    ['an integer beyond 2^53 − 1', JSON.parse('9007199254740993')],
    ['1e21', JSON.parse('1e21')],
    ['an exponent form', JSON.parse('0.0000001')],
    ['Infinity from 1e999', JSON.parse('1e999')],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['NaN', Number.NaN],
    ['null', null],
    ['undefined', undefined],
    ['an object', { a: 1 }],
    ['an array', ['1']],
    ['a bigint', 1n],
    ['an unpaired surrogate', JSON.parse('"a\\ud800b"')],
    ['a lone low surrogate', JSON.parse('"\\udc00"')],
  ])('refuses %s', (_name, value) => {
    expect(signingError(() => stringifyParameterValue('k', value)).code).toBe('INVALID_CLIENT_REQUEST');
  });

  it('keeps a well-formed astral character', () => {
    expect(stringifyParameterValue('k', JSON.parse('"\\ud83d\\ude00"'))).toBe('😀');
  });
});

describe('requestGroups', () => {
  it('signs the query of a GET, keys sorted', () => {
    expect(
      requestGroups(
        'GET',
        '/wapi/v1/history/fills',
        new URLSearchParams('symbol=SOL_USDC&limit=5&fillType=User'),
        undefined,
      ),
    ).toEqual([
      {
        instruction: 'fillHistoryQueryAll',
        params: [
          ['fillType', 'User'],
          ['limit', '5'],
          ['symbol', 'SOL_USDC'],
        ],
      },
    ]);
    expect(requestGroups('GET', '/api/v1/order', { symbol: 'SOL_USDC', orderId: '111' }, undefined)).toEqual([
      {
        instruction: 'orderQuery',
        params: [
          ['orderId', '111'],
          ['symbol', 'SOL_USDC'],
        ],
      },
    ]);
    expect(requestGroups('GET', '/api/v1/capital', none, undefined)).toEqual([
      { instruction: 'balanceQuery', params: [] },
    ]);
  });

  it('signs the top-level keys of a JSON body, with booleans and numbers stringified', () => {
    const body = JSON.parse(
      '{"symbol":"SOL_USDC","side":"Bid","orderType":"Limit","price":"100","quantity":0.5,"postOnly":true,"clientId":1001}',
    );
    expect(requestGroups('POST', '/api/v1/order', none, body)).toEqual([
      {
        instruction: 'orderExecute',
        params: [
          ['clientId', '1001'],
          ['orderType', 'Limit'],
          ['postOnly', 'true'],
          ['price', '100'],
          ['quantity', '0.5'],
          ['side', 'Bid'],
          ['symbol', 'SOL_USDC'],
        ],
      },
    ]);
  });

  it('signs one orderExecute group per element of a batch', () => {
    const body = [
      { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '99', quantity: '1' },
      { symbol: 'SOL_USDC', side: 'Ask', orderType: 'Limit', price: '102', quantity: '1', clientId: 7 },
    ];
    const groups = requestGroups('POST', '/api/v1/orders', none, body);
    expect(groups.map((group) => group.instruction)).toEqual(['orderExecute', 'orderExecute']);
    expect(groups[1]?.params[0]).toEqual(['clientId', '7']);
  });

  it('treats an absent body of a POST or DELETE as no parameters', () => {
    expect(requestGroups('DELETE', '/api/v1/orders', none, undefined)).toEqual([
      { instruction: 'orderCancelAll', params: [] },
    ]);
  });

  it.each([
    ['a nested object in an order', 'POST', '/api/v1/order', none, { symbol: 'SOL_USDC', trigger: { price: '1' } }],
    ['an array value', 'POST', '/api/v1/order', none, { symbol: ['SOL_USDC'] }],
    ['a null value', 'POST', '/api/v1/order', none, { clientId: null }],
    ['an array body on the single-order route', 'POST', '/api/v1/order', none, [{ symbol: 'SOL_USDC' }]],
    ['a string body', 'POST', '/api/v1/order', none, 'symbol=SOL_USDC'],
    ['an object body on the batch route', 'POST', '/api/v1/orders', none, { symbol: 'SOL_USDC' }],
    ['an empty batch', 'POST', '/api/v1/orders', none, []],
    ['a nested array in a batch', 'POST', '/api/v1/orders', none, [[{ symbol: 'SOL_USDC' }]]],
    ['a null batch element', 'POST', '/api/v1/orders', none, [null]],
    ['a body on a GET', 'GET', '/api/v1/capital', none, {}],
    ['a query on a POST', 'POST', '/api/v1/order', new URLSearchParams('symbol=SOL_USDC'), { side: 'Bid' }],
    ['a repeated query key', 'GET', '/api/v1/orders', new URLSearchParams('symbol=A&symbol=B'), undefined],
    ['a key with "&"', 'POST', '/api/v1/order', none, { 'a&b': '1' }],
    ['a key with "="', 'POST', '/api/v1/order', none, { 'a=b': '1' }],
    ['a key with "%"', 'POST', '/api/v1/order', none, { 'a%62': '1' }],
    ['an empty key', 'POST', '/api/v1/order', none, { '': '1' }],
    ['a __proto__ key', 'POST', '/api/v1/order', none, JSON.parse('{"__proto__":{"polluted":"yes"}}')],
  ])('refuses %s', (_name, method, path, query, body) => {
    expect(signingError(() => requestGroups(method, path, query, body)).code).toBe('INVALID_CLIENT_REQUEST');
  });

  it('refuses an unsigned route with INVALID_INSTRUCTION', () => {
    expect(signingError(() => requestGroups('GET', '/api/v1/depth', none, undefined)).code).toBe('INVALID_INSTRUCTION');
  });

  describe('prototype pollution', () => {
    afterEach(() => {
      delete (Object.prototype as Record<string, unknown>).polluted;
    });
    it('never writes client keys into objects', () => {
      expect(() =>
        requestGroups('POST', '/api/v1/order', none, JSON.parse('{"__proto__":{"polluted":"yes"},"symbol":"X"}')),
      ).toThrow(RequestSigningError);
      expect(() =>
        requestGroups('GET', '/api/v1/orders', new URLSearchParams('__proto__=1&constructor=2'), undefined),
      ).toThrow(RequestSigningError);
      const groups = requestGroups('GET', '/api/v1/orders', new URLSearchParams('constructor=2&toString=1'), undefined);
      expect(groups[0]?.params).toEqual([
        ['constructor', '2'],
        ['toString', '1'],
      ]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });
});

describe('signingStringCandidates', () => {
  it('gives a single candidate when every value is unreserved', () => {
    expect(texts('DELETE', '/api/v1/order', none, { orderId: '111', symbol: 'SOL_USDC' })).toEqual([
      'instruction=orderCancel&orderId=111&symbol=SOL_USDC&timestamp=1795250316509&window=5000',
    ]);
  });

  it('gives the raw and the percent-encoded form of a withdrawal address', () => {
    expect(
      texts('POST', '/wapi/v1/capital/withdrawals', none, {
        symbol: 'USDC',
        quantity: '1.5',
        blockchain: 'Solana',
        address: 'a b:c/d+e',
      }),
    ).toEqual([
      'instruction=withdraw&address=a b:c/d+e&blockchain=Solana&quantity=1.5&symbol=USDC&timestamp=1795250316509&window=5000',
      'instruction=withdraw&address=a%20b%3Ac%2Fd%2Be&blockchain=Solana&quantity=1.5&symbol=USDC&timestamp=1795250316509&window=5000',
    ]);
  });

  it('gives exactly the forms that differ, as rendering the raw, encodeURIComponent and strict forms would', () => {
    // The candidates are rendered once when every value is unreserved; this checks that shortcut against all
    // three renderings with repeats left out, for values mixing unreserved and escaped characters.
    const strict = (value: string): string =>
      encodeURIComponent(value).replace(
        /[!'()*]/g,
        (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
      );
    const value = fc
      .array(fc.constantFrom(..."aZ09-._~!*()' %&+/:é".split('')), { minLength: 1, maxLength: 6 })
      .map((characters) => characters.join(''));
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('address', 'blockchain', 'quantity', 'symbol'), value), (body) => {
        const keys = Object.keys(body).sort();
        const render = (encode: (text: string) => string): string =>
          ['instruction=withdraw', ...keys.map((key) => `${key}=${encode(body[key]!)}`)]
            .concat('timestamp=1795250316509', 'window=5000')
            .join('&');
        const rawUsable = keys.every((key) => !body[key]!.includes('%') && !body[key]!.includes('&'));
        const forms = [...(rawUsable ? [render((text) => text)] : []), render(encodeURIComponent), render(strict)];
        expect(texts('POST', '/wapi/v1/capital/withdrawals', none, body)).toEqual([...new Set(forms)]);
      }),
      { numRuns: 2_000 },
    );
  });

  it("adds the strict RFC 3986 form (ccxt's qs) when it differs from encodeURIComponent", () => {
    expect(texts('GET', '/api/v1/orders', new URLSearchParams({ memo: "f(x)!*'" }), undefined)).toEqual([
      "instruction=orderQueryAll&memo=f(x)!*'&timestamp=1795250316509&window=5000",
      'instruction=orderQueryAll&memo=f%28x%29%21%2A%27&timestamp=1795250316509&window=5000',
    ]);
  });

  it('leaves out the raw form when a value holds % or &, which the raw form cannot carry', () => {
    for (const address of ['100%', 'a%20b', 'x&blockchain=Evil']) {
      const candidates = texts('POST', '/wapi/v1/capital/withdrawals', none, {
        address,
        quantity: '1',
        symbol: 'USDC',
      });
      expect(candidates).toEqual([
        `instruction=withdraw&address=${encodeURIComponent(address)}&quantity=1&symbol=USDC&timestamp=1795250316509&window=5000`,
      ]);
    }
  });

  it('signs window 5000 when X-Window is absent, and passes header digits through for the engine to judge', () => {
    expect(signingStringCandidateTexts('GET', '/api/v1/capital', none, undefined, '17', undefined)).toEqual([
      'instruction=balanceQuery&timestamp=17&window=5000',
    ]);
    expect(signingStringCandidateTexts('GET', '/api/v1/capital', none, undefined, 17, 60_000)).toEqual([
      'instruction=balanceQuery&timestamp=17&window=60000',
    ]);
    expect(signingStringCandidateTexts('GET', '/api/v1/capital', none, undefined, '017', '05000')).toEqual([
      'instruction=balanceQuery&timestamp=017&window=05000',
    ]);
    for (const [timestamp, window] of [
      ['', '5000'],
      ['1.5', '5000'],
      ['-1', '5000'],
      ['1&x=y', '5000'],
      ['1', 'abc'],
      ['1', ''],
      ['1', '5000&instruction=withdraw'],
    ] as const) {
      expect(
        signingError(() => signingStringCandidates('GET', '/api/v1/capital', none, undefined, timestamp, window)).code,
      ).toBe('INVALID_CLIENT_REQUEST');
    }
  });

  it('returns UTF-8 bytes of the texts', () => {
    const body = { address: 'é 😀', blockchain: 'Solana', quantity: '1', symbol: 'USDC' };
    const bytes = signingStringCandidates('POST', '/wapi/v1/capital/withdrawals', none, body, 1, 1);
    const asText = signingStringCandidateTexts('POST', '/wapi/v1/capital/withdrawals', none, body, 1, 1);
    expect(bytes.map((candidate) => Buffer.from(candidate).toString('utf8'))).toEqual(asText);
    expect(asText).toHaveLength(2);
  });

  const seed = new Uint8Array(32).fill(0x07);
  const publicKey = publicKeyFromSeed(seed);

  it.each([
    ['raw', (value: string) => value],
    ['encodeURIComponent', encodeURIComponent],
    [
      'qs (RFC 3986)',
      (value: string) =>
        encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    ],
  ])('verifies a client that signs the %s form', (_name, encode) => {
    const body = { address: "O'Brien (vault) #1 / x+y: z!*", blockchain: 'Solana', quantity: '2', symbol: 'SOL' };
    const keys = Object.keys(body).sort() as Array<keyof typeof body>;
    const message = `instruction=withdraw&${keys.map((key) => `${key}=${encode(body[key])}`).join('&')}&timestamp=1000&window=5000`;
    const signature = signMessage(seed, new TextEncoder().encode(message));
    const candidates = signingStringCandidates('POST', '/wapi/v1/capital/withdrawals', none, body, '1000', '5000');
    expect(candidates).toHaveLength(3);
    const verdicts = candidates.map((candidate) => verifySignature(publicKey, candidate, signature));
    expect(verdicts.filter((verdict) => verdict === 'valid')).toHaveLength(1);
  });

  it('every candidate parses back to exactly the request parameters', () => {
    const key = fc
      .stringMatching(/^[a-z][A-Za-z0-9]{0,8}$/)
      .filter((name) => !['instruction', 'timestamp', 'window'].includes(name));
    const value = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
      fc.string({
        unit: fc.constantFrom(' ', '%', '&', '=', '+', '/', ':', '!', "'", '(', ')', '*', '~', 'a', '€'),
        minLength: 1,
        maxLength: 10,
      }),
      fc.boolean(),
      fc.integer(),
      fc
        .double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 })
        .filter((number) => !String(number).includes('e')),
    );
    const order = fc.dictionary(key, value, { minKeys: 0, maxKeys: 6 });
    fc.assert(
      fc.property(
        fc.oneof(
          order.map((body) => ({ path: '/api/v1/order', body: body as unknown })),
          fc
            .array(order, { minLength: 1, maxLength: 4 })
            .map((body) => ({ path: '/api/v1/orders', body: body as unknown })),
        ),
        ({ path, body }) => {
          const groups = requestGroups('POST', path, none, body);
          const candidates = signingStringCandidates('POST', path, none, body, 1_000, 5_000);
          expect(candidates.length).toBeGreaterThan(0);
          expect(new Set(candidates.map((candidate) => Buffer.from(candidate).toString('hex'))).size).toBe(
            candidates.length,
          );
          for (const candidate of candidates) {
            const parsed = parseSigningString(candidate);
            if (!parsed.ok) {
              // Only an empty string value makes a candidate unparseable; the engine rejects it.
              expect(groups.some((group) => group.params.some(([, text]) => text === ''))).toBe(true);
              continue;
            }
            expect(
              parsed.value.groups.map((group) => ({ instruction: group.instruction, params: [...group.params] })),
            ).toEqual(groups);
            expect(parsed.value.timestampMs).toBe(1_000);
            expect(parsed.value.windowMs).toBe(5_000);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
