/**
 * Mutations of a signed JSON body (orders, batches, cancels, withdrawals): wrong types, extra fields, prototype
 * keys, deep nesting, huge or malformed bodies, hostile values re-signed as a client would sign them, other routes.
 */
import type { SeededRandom } from './seeded-random.js';
import {
  type MutationChoices,
  type Payload,
  routes,
  type SignedSpec,
  signedText,
  type WireRequest,
  wireOf,
  withBody,
} from './wire.js';

const label = (name: string): string => `body:${name}`;

/** Decimal strings a client may sign that the exact parser must refuse (or a later rule must). */
const hostileDecimals = [
  '-100',
  '+100',
  '1e2',
  '1E2',
  '100.0000001',
  '0',
  '0.00',
  '00100',
  '100.',
  '.5',
  ' 100',
  '100 ',
  '１００',
  '0x64',
  'NaN',
  'Infinity',
  '-0',
  '1,000',
  '1_000',
  '9'.repeat(48),
  '9'.repeat(49),
  `0.${'0'.repeat(40)}1`,
  `1${'0'.repeat(20)}`,
  '9007199254740993',
  '100.0000000000000000001',
  '%31%30%30',
  '100%',
  '10&0',
  '=100',
];
/** JSON number literals that JSON.parse may change, or String() may not give back as written. */
const hostileNumberLiterals = [
  '1e21',
  '1e-7',
  '9007199254740993',
  '-5',
  '1e400',
  '-1e400',
  '0.000000001',
  '100.0000001',
  '-0.01',
  '123456789012345678901234567890',
];

/** The request under mutation, and the ways to change its first (or every) order. */
interface BodyTarget {
  readonly random: SeededRandom;
  readonly spec: SignedSpec;
  readonly request: WireRequest;
  readonly isBatch: boolean;
  /** The payload, or a batch's first order. */
  readonly first: Record<string, unknown>;
  readonly replaceFirst: (changed: Record<string, unknown>) => Payload;
  /** The body with `first` changed, still under the old signature. */
  readonly tampered: (changed: Record<string, unknown>) => WireRequest;
  /** The body with `first` changed, re-signed. */
  readonly resigned: (changed: Record<string, unknown>) => WireRequest;
  /** The body with every order changed, re-signed. */
  readonly resignedEach: (change: Record<string, unknown>) => WireRequest;
  readonly anyKey: () => string;
  readonly decimalKeys: readonly string[];
}

function bodyTargetOf(random: SeededRandom, spec: SignedSpec, request: WireRequest): BodyTarget {
  const isBatch = Array.isArray(spec.payload);
  const first = (isBatch ? (spec.payload as Array<Record<string, unknown>>)[0]! : spec.payload) as Record<
    string,
    unknown
  >;
  const replaceFirst = (changed: Record<string, unknown>): Payload =>
    isBatch ? [changed, ...(spec.payload as Array<Record<string, unknown>>).slice(1)] : changed;
  const tampered = (changed: Record<string, unknown>): WireRequest =>
    withBody(request, JSON.stringify(replaceFirst(changed)));
  const resigned = (changed: Record<string, unknown>): WireRequest => {
    const payload = replaceFirst(changed);
    return wireOf({ ...spec, payload, signedPayload: payload });
  };
  // A batch is accepted when any one order is (docs/protocol.md §9), so a change that only
  // execution refuses (a price, a market) must be made to every order of a batch.
  const resignedEach = (change: Record<string, unknown>): WireRequest => {
    const payload = isBatch
      ? (spec.payload as Array<Record<string, unknown>>).map((element) => ({ ...element, ...change }))
      : { ...first, ...change };
    return wireOf({ ...spec, payload, signedPayload: payload });
  };
  const keys = Object.keys(first);
  const anyKey = (): string => random.pick(keys);
  const decimalKeys = keys.filter((key) => key === 'price' || key === 'quantity');
  return { random, spec, request, isBatch, first, replaceFirst, tampered, resigned, resignedEach, anyKey, decimalKeys };
}

/** Wrong types, extra fields and prototype keys. */
function fieldMutations(target: BodyTarget): MutationChoices {
  const { random, request, first, replaceFirst, tampered, resigned, anyKey } = target;
  return [
    () => {
      const key = anyKey();
      const value = random.pick<unknown>([
        true,
        false,
        null,
        [],
        {},
        [first[key]],
        { $gt: '' },
        [[[[[]]]]],
        { a: { b: { c: 1 } } },
        -1,
        1e21,
        'x'.repeat(300),
      ]);
      if (signedText(value) === signedText(first[key]) && typeof value !== 'object') return undefined;
      return { label: label('wrongType'), request: tampered({ ...first, [key]: value }) };
    },
    () => {
      const key = random.pick([
        'leverage',
        'isAdmin',
        'constructor',
        'prototype',
        'toString',
        'hasOwnProperty',
        'valueOf',
        'triggerPriceTicks',
        'autoLiquidate',
        'Symbol',
        'symbol ',
        'a'.repeat(70),
        'é',
      ]);
      const value = random.pick<unknown>(['10', true, {}, { prototype: { polluted: true } }, 1]);
      return {
        label: label('extraField'),
        request: random.chance(50) ? tampered({ ...first, [key]: value }) : resigned({ ...first, [key]: value }),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const text = JSON.stringify(replaceFirst(first));
      const payload = random.pick([
        '"__proto__":{"isAdmin":true}',
        '"constructor":{"prototype":{"isAdmin":true}}',
        '"__proto__":[]',
        '"a":{"__proto__":{"x":1}}',
        '"constructor":{"prototype":null}',
      ]);
      const at = text.indexOf('{') + 1;
      const body = `${text.slice(0, at)}${payload},${text.slice(at)}`;
      return {
        label: label('prototypePollution'),
        request: withBody(request, body),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
  ];
}

/** Deep nesting, huge strings, oversized bodies. */
function sizeMutations(target: BodyTarget): MutationChoices {
  const { random, request, first, replaceFirst, tampered, anyKey } = target;
  return [
    () => {
      const depth = 1_000 + random.below(25_000);
      const nested = random.chance(50)
        ? `${'['.repeat(depth)}${']'.repeat(depth)}`
        : `${'{"a":'.repeat(Math.floor(depth / 5))}1${'}'.repeat(Math.floor(depth / 5))}`;
      const key = anyKey();
      const text = JSON.stringify(replaceFirst({ ...first, [key]: '__nested__' })).replace('"__nested__"', nested);
      return {
        label: label('deepNesting'),
        request: withBody(request, text),
        codes: ['INVALID_CLIENT_REQUEST', 'REQUEST_TOO_LARGE'],
      };
    },
    () => {
      const key = anyKey();
      const huge = random.pick(['x', 'é', '9', '\u0000', '😀']).repeat(10_000 + random.below(20_000));
      return {
        label: label('hugeString'),
        request: tampered({ ...first, [key]: huge }),
        codes: ['INVALID_CLIENT_REQUEST', 'REQUEST_TOO_LARGE'],
      };
    },
    () => {
      const padding = 'x'.repeat(64 * 1024 + random.below(200_000));
      return {
        label: label('oversizedBody'),
        request: withBody(request, JSON.stringify(replaceFirst({ ...first, padding }))),
        codes: ['REQUEST_TOO_LARGE'],
      };
    },
  ];
}

/** Malformed JSON and wrong content types. */
function syntaxMutations(target: BodyTarget): MutationChoices {
  const { random, request } = target;
  return [
    () => {
      const text = request.body!;
      const broken = random.pick([
        () => text.slice(0, random.below(text.length)),
        () => `${text}x`,
        () => text.replace(/"/g, "'"),
        () => text.replace(/}$/, ',}').replace(/]$/, ',]'),
        () => `${text}${text}`,
        () => text.replace(':', ': NaN, "x":'),
        () => `/* comment */${text}`,
        () => text.replace(/"([^"]*)"/, '"$1\\x"'),
        () => '',
        () => 'null',
        () => '"a string"',
        () => '12',
        () => 'true',
      ])();
      return { label: label('malformedJson'), request: withBody(request, broken), codes: ['INVALID_CLIENT_REQUEST'] };
    },
    () => {
      const contentType = random.pick([
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonp',
        'text/json',
        'application/octet-stream',
      ]);
      return {
        label: label('wrongContentType'),
        request: withBody(request, request.body!, contentType),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
  ];
}

/** Hostile decimals, numbers and client ids, re-signed. */
function valueMutations(target: BodyTarget): MutationChoices {
  const { random, spec, isBatch, first, resigned, resignedEach, decimalKeys } = target;
  return [
    () => {
      if (decimalKeys.length === 0 && !('quantity' in first)) return undefined;
      const key = decimalKeys.length > 0 ? random.pick(decimalKeys) : 'quantity';
      return {
        label: label('hostileDecimal'),
        request: resignedEach({ [key]: random.pick(hostileDecimals) }),
        codes: [
          'INVALID_PRICE',
          'INVALID_QUANTITY',
          'INVALID_CLIENT_REQUEST',
          'INVALID_SIGNATURE',
          'INSUFFICIENT_FUNDS',
          'ORDER_VALUE_TOO_SMALL',
          'ORDER_WOULD_NOT_FILL',
        ],
      };
    },
    () => {
      // A JSON number the client signs as it wrote it; JSON.parse may change it, or String() may not give it back.
      if (decimalKeys.length === 0 && !('quantity' in first)) return undefined;
      const key = decimalKeys.length > 0 ? random.pick(decimalKeys) : 'quantity';
      const literal = random.pick(hostileNumberLiterals);
      const each = (value: string): Payload =>
        isBatch
          ? (spec.payload as Array<Record<string, unknown>>).map((element) => ({ ...element, [key]: value }))
          : { ...first, [key]: value };
      const text = JSON.stringify(each('__number__')).replaceAll('"__number__"', literal);
      return {
        label: label('hostileNumber'),
        request: withBody(wireOf({ ...spec, signedPayload: each(literal) }), text),
        codes: ['INVALID_PRICE', 'INVALID_QUANTITY', 'INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
      };
    },
    () => {
      if (spec.route.instruction !== 'orderExecute' && spec.route.instruction !== 'orderCancel') return undefined;
      const clientId = random.pick<unknown>([
        -1,
        4_294_967_296,
        '4294967296',
        '007',
        1.5,
        '1e3',
        '',
        2 ** 53 + 2,
        '-1',
        ' 7',
      ]);
      return {
        label: label('hostileClientId'),
        request: resigned({ ...first, clientId }),
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
      };
    },
  ];
}

/** Orders and withdrawals the instruction's rules refuse, re-signed. */
function instructionMutations(target: BodyTarget): MutationChoices {
  const { random, spec, first, resigned, resignedEach } = target;
  return [
    () => {
      if (spec.route.instruction !== 'orderExecute') return undefined;
      const change = random.pick<Record<string, unknown>>([
        { side: 'bid' },
        { side: 'Buy' },
        { side: '' },
        { orderType: 'limit' },
        { orderType: 'Stop' },
        { timeInForce: 'gtc' },
        { timeInForce: 'GTD' },
        { selfTradePrevention: 'None' },
        { reduceOnly: true },
        { postOnly: true, timeInForce: 'IOC' },
        { orderType: 'Market' },
        { quoteQuantity: '10' },
        { symbol: 'sol_usdc' },
        { symbol: 'SOL' },
        { symbol: 'DOGE_USDC' },
        { postOnly: 'true' },
        { symbol: 'ＳＯＬ_USDC' },
      ]);
      return {
        label: label('invalidOrder'),
        request: resignedEach(change),
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_MARKET', 'INVALID_SIGNATURE'],
      };
    },
    () => {
      if (spec.route.instruction !== 'withdraw') return undefined;
      const change = random.pick<Record<string, unknown>>([
        { address: 'a%20b' },
        { address: 'a&b' },
        { address: 'a=b' },
        { address: 'é' },
        { address: 'a'.repeat(257) },
        { address: '\u0007' },
        { address: '\ud800' },
        { blockchain: 'Sol ana' },
        { blockchain: '1Solana' },
        { symbol: 'SOL_USDC' },
        { symbol: 'DOGE' },
        { quantity: '1000000000' },
        { quantity: '0.0000001' },
      ]);
      return {
        label: label('invalidWithdrawal'),
        request: resigned({ ...first, ...change }),
        codes: [
          'INVALID_CLIENT_REQUEST',
          'INVALID_ASSET',
          'INVALID_QUANTITY',
          'INSUFFICIENT_FUNDS',
          'INVALID_SIGNATURE',
        ],
      };
    },
  ];
}

/** Malformed batches, and values changed after signing. */
function batchAndSigningMutations(target: BodyTarget): MutationChoices {
  const { random, spec, request, isBatch, first, tampered, anyKey } = target;
  return [
    () => {
      if (spec.route !== routes.placeBatch) return undefined;
      const body = random.pick([
        () => '[]',
        () => JSON.stringify(Array.from({ length: 51 }, () => first)),
        () => JSON.stringify([first, 'x']),
        () => JSON.stringify([first, null]),
        () => JSON.stringify([[first]]),
        () => JSON.stringify(first),
      ])();
      return { label: label('malformedBatch'), request: withBody(request, body), codes: ['INVALID_CLIENT_REQUEST'] };
    },
    () => {
      if (spec.route !== routes.placeBatch) return undefined;
      // One element with an order-level syntax error refuses the whole batch. (Not `reduceOnly`: it is an order
      // flag now, refused per order on a spot market by the engine, docs/perps.md section 4a.)
      const payload = [...(spec.payload as Array<Record<string, unknown>>), { ...first, orderType: 'Sideways' }];
      return {
        label: label('batchWithInvalidOrder'),
        request: wireOf({ ...spec, payload, signedPayload: payload }),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const key = anyKey();
      const changed = { ...first, [key]: `${signedText(first[key])}1` };
      return {
        label: label('valueChangedAfterSigning'),
        request: tampered(changed),
        codes: ['INVALID_SIGNATURE', 'INVALID_CLIENT_REQUEST', 'INVALID_PRICE', 'INVALID_QUANTITY'],
      };
    },
    () => {
      const key = anyKey();
      const rest = { ...first };
      delete rest[key];
      return {
        label: label('fieldRemovedAfterSigning'),
        request: tampered(rest),
        codes: ['INVALID_SIGNATURE', 'INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      // The signed value first, another one last: JSON keeps the last, so the signature no longer matches.
      const key = anyKey();
      const decoy = JSON.stringify(signedText(first[key]) === 'Bid' ? 'Ask' : `${signedText(first[key])}9`);
      const objectText = JSON.stringify(first);
      const withDuplicate = `${objectText.slice(0, -1)},${JSON.stringify(key)}:${decoy}}`;
      const body = isBatch ? JSON.stringify(spec.payload).replace(objectText, withDuplicate) : withDuplicate;
      return {
        label: label('duplicateKeyLastDiffers'),
        request: withBody(request, body),
        codes: ['INVALID_SIGNATURE', 'INVALID_CLIENT_REQUEST'],
      };
    },
  ];
}

/** The body sent to another route, method or path. */
function routeMutations(target: BodyTarget): MutationChoices {
  const { random, spec, request } = target;
  return [
    () => ({
      label: label('queryStringOnBodyRoute'),
      request: { ...request, path: `${request.path}?symbol=SOL_USDC` },
      codes: ['INVALID_CLIENT_REQUEST'],
    }),
    () => {
      const target = random.pick(
        Object.values(routes).filter((route) => route.method !== 'GET' && route.path !== spec.route.path),
      );
      return {
        label: label('otherRoute'),
        request: { ...request, method: target.method, path: target.path },
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
      };
    },
    () => {
      const method = random.pick(['PUT', 'PATCH']);
      return { label: label('otherMethod'), request: { ...request, method }, codes: ['NOT_FOUND'] };
    },
    () => ({
      label: label('unknownRoute'),
      request: {
        ...request,
        path: random.pick(['/api/v1/orderz', '/api/v1/order/', '/API/V1/ORDER', '/api/v1//order', '/api/v2/order']),
      },
      codes: ['NOT_FOUND', 'INVALID_CLIENT_REQUEST', 'INVALID_INSTRUCTION', 'INVALID_SIGNATURE'],
    }),
  ];
}

/** The body mutations of a signed request, in a fixed order (a FUZZ_SEED picks among them by index). */
export function bodyMutations(random: SeededRandom, spec: SignedSpec, request: WireRequest): MutationChoices {
  const target = bodyTargetOf(random, spec, request);
  return [
    ...fieldMutations(target),
    ...sizeMutations(target),
    ...syntaxMutations(target),
    ...valueMutations(target),
    ...instructionMutations(target),
    ...batchAndSigningMutations(target),
    ...routeMutations(target),
  ];
}
