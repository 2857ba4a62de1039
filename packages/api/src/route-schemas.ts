/**
 * Builders for the shapes the routes' JSON schemas repeat: a strict query
 * string, an array, an object of text fields, a documented GET route. Each
 * builds the very schema the routes spelled out by hand, so the OpenAPI
 * document and the validation stay as they were.
 */
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { parseInteger } from './context.js';
import { ApiError } from './errors.js';
import { errorResponses, symbolString } from './schemas.js';

export const text = { type: 'string' } as const;
export const integer = { type: 'integer' } as const;

/** `{ a: text, b: text, … }`: properties that are all plain strings, in the order named. */
export function textProperties<const Name extends string>(...names: Name[]): Record<Name, typeof text> {
  return Object.fromEntries(names.map((name) => [name, text])) as Record<Name, typeof text>;
}

export function arrayOf<const Items>(items: Items): { readonly type: 'array'; readonly items: Items } {
  return { type: 'array', items };
}

/** A query string that takes these parameters and no other; the `required` ones must be present. */
export function strictQuery<const Properties extends object>(properties: Properties, required?: readonly string[]) {
  return required === undefined
    ? ({ type: 'object', additionalProperties: false, properties } as const)
    : ({ type: 'object', additionalProperties: false, required, properties } as const);
}

/** A query string with a required `symbol` and, optionally, these other parameters. */
export function symbolQuery<const Properties extends object>(properties?: Properties) {
  return strictQuery({ symbol: symbolString, ...properties }, ['symbol']);
}

export interface GetRouteSchema {
  readonly summary: string;
  readonly tags: readonly string[];
  /** signedSecurity for a signed route. */
  readonly security?: ReadonlyArray<Readonly<Record<string, readonly string[]>>>;
  readonly querystring: object;
  /** The schema of the 200 answer. */
  readonly ok: object;
  /** The error answers listed beside it: errorResponses(...errors); none when absent. */
  readonly errors?: readonly number[];
}

/** Registers a GET route whose schema is `{summary, tags, security?, querystring, response: {200, errors…}}`. */
export function getRoute(app: FastifyInstance, path: string, route: GetRouteSchema, handler: RouteHandlerMethod): void {
  const { summary, tags, security, querystring, ok, errors } = route;
  const response = { 200: ok, ...(errors === undefined ? {} : errorResponses(...errors)) };
  const schema = { summary, tags, ...(security === undefined ? {} : { security }), querystring, response };
  app.get(path, { schema }, handler);
}

/** The `limit` of a query: `fallback` when absent, else a whole number from 1 to `maximum`. */
export function queryLimit(query: { readonly limit?: string }, fallback: number, maximum: number): number {
  const limit = parseInteger(query.limit, 'limit') ?? fallback;
  if (limit < 1 || limit > maximum) throw new ApiError('INVALID_CLIENT_REQUEST', `limit must be from 1 to ${maximum}.`);
  return limit;
}
