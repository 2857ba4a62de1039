/** Mutations of a signed query's parameters (GET routes), unsigned or re-signed. */
import type { SeededRandom } from './seeded-random.js';
import {
  type MutationChoices,
  type Route,
  routes,
  type SignedSpec,
  signedText,
  type WireRequest,
  wireOf,
} from './wire.js';

const label = (name: string): string => `query:${name}`;

interface QueryTarget {
  readonly random: SeededRandom;
  readonly spec: SignedSpec;
  readonly request: WireRequest;
  readonly payload: Record<string, unknown>;
  /** The request with another query string, unsigned. */
  readonly withQuery: (query: string) => WireRequest;
  /** The request with `extra` parameters, re-signed. */
  readonly resignedWith: (extra: Record<string, unknown>) => WireRequest;
  /** The signed query string, without its `?`. */
  readonly existing: string;
  /** `?` and the signed query string, ready for one more parameter. */
  readonly prefix: string;
}

function queryTargetOf(random: SeededRandom, spec: SignedSpec, request: WireRequest): QueryTarget {
  const payload = spec.payload as Record<string, unknown>;
  const withQuery = (query: string): WireRequest => ({ ...request, path: `${spec.route.path}${query}` });
  const resignedWith = (extra: Record<string, unknown>): WireRequest => {
    const changed = { ...payload, ...extra };
    return wireOf({ ...spec, payload: changed, signedPayload: changed });
  };
  const existing = new URLSearchParams(
    Object.entries(payload).map(([key, value]): [string, string] => [key, signedText(value)]),
  ).toString();
  const prefix = existing === '' ? '?' : `?${existing}&`;
  return { random, spec, request, payload, withQuery, resignedWith, existing, prefix };
}

function parameterMutations(target: QueryTarget): MutationChoices {
  const { random, payload, withQuery, resignedWith, existing, prefix } = target;
  return [
    () => {
      const key = random.pick(['extra', '__proto__', 'constructor', 'prototype', 'toString', 'isAdmin']);
      return {
        label: label('unknownParameter'),
        request: resignedWith({ [key]: '1' }),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const key = random.pick(['__proto__', 'constructor', 'prototype', 'hasOwnProperty']);
      return {
        label: label('prototypeParameterUnsigned'),
        request: withQuery(`${prefix}${key}=1`),
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE'],
      };
    },
    () => {
      const key = Object.keys(payload)[0];
      if (key === undefined) return undefined;
      return {
        label: label('repeatedParameter'),
        request: withQuery(`?${existing}&${key}=${encodeURIComponent(signedText(payload[key]))}`),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
  ];
}

function valueMutations(target: QueryTarget): MutationChoices {
  const { random, spec, request, resignedWith } = target;
  return [
    () => {
      const paged: readonly Route[] = [routes.fills, routes.orderHistory, routes.deposits, routes.withdrawals];
      if (!paged.includes(spec.route)) return undefined;
      const limit = random.pick(['0', '1001', '99999999999999999', '-1', '1e3', '9007199254740993', 'abc', '']);
      return { label: label('hostileLimit'), request: resignedWith({ limit }), codes: ['INVALID_CLIENT_REQUEST'] };
    },
    () => {
      if (spec.route.path !== routes.order.path) return undefined;
      const orderId = random.pick(['9007199254740993', '99999999999999999', '-1', '1.5', '0x10', '']);
      return {
        label: label('hostileOrderId'),
        request: resignedWith({ orderId }),
        codes: ['INVALID_CLIENT_REQUEST'],
      };
    },
    () => {
      const symbol = random.pick([
        'sol_usdc',
        'SOL-USDC',
        'DOGE_USDC',
        '__proto__',
        'SOL_USDC\u0000',
        'x'.repeat(41),
        '',
      ]);
      return {
        label: label('hostileSymbol'),
        request: resignedWith({ symbol }),
        codes: ['INVALID_CLIENT_REQUEST', 'INVALID_MARKET'],
      };
    },
    () => ({
      label: label('bodyOnGetIsRefused'),
      request: {
        ...request,
        method: 'POST',
        headers: [...request.headers, ['content-type', 'application/json']],
        body: '{}',
      },
      codes: ['INVALID_CLIENT_REQUEST', 'INVALID_SIGNATURE', 'NOT_FOUND'],
    }),
  ];
}

/** The query mutations of a signed GET, in a fixed order (a FUZZ_SEED picks among them by index). */
export function queryMutations(random: SeededRandom, spec: SignedSpec, request: WireRequest): MutationChoices {
  const target = queryTargetOf(random, spec, request);
  return [...parameterMutations(target), ...valueMutations(target)];
}
