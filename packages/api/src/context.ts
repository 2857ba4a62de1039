/**
 * What every route handler shares: the node, the clock, the stream feed and
 * the display metadata of assets, plus the two ways a signed request is
 * handled (a query answered from the node's state and history, or a
 * transaction submitted to the node).
 */
import type { FastifyRequest } from 'fastify';
import type { ExchangeState, Market } from '@vex/engine';
import { ApiError } from './errors.js';
import type { CustodyInfo } from './custody-config.js';
import type { ExportSlots } from './export-slots.js';
import { countsAgainstKey, type VerifiedKeyRateLimit } from './key-rate-limit.js';
import type { MarketFeed } from './market-feed.js';
import type { ExchangeNodePort, Page } from './node-port.js';
import { defaultPageSize, maximumPageOffset, maximumPageSize, type PageQuery } from './schemas.js';
import { authenticate, type AuthenticatedRequest } from './signed-request.js';
import { submitTransaction, type Committed } from './submission.js';

/** Metadata the engine does not hold: how an asset is named and which chains carry it. */
export interface AssetInfo {
  readonly displayName?: string;
  /** Blockchain names as Backpack spells them (Solana, Ethereum, Bitcoin, …), for ccxt's network mapping. */
  readonly blockchains?: readonly string[];
}

export interface ApiContext {
  readonly node: ExchangeNodePort;
  readonly clock: () => number;
  readonly feed: MarketFeed;
  readonly assets: Readonly<Record<string, AssetInfo>>;
  /** Deposit address per blockchain (config `depositAddresses`). */
  readonly depositAddresses: Readonly<Record<string, string>>;
  readonly version: string;
  /** The per-key limit, counted only for verified requests; undefined when rate limits are off. */
  readonly keyRateLimit?: VerifiedKeyRateLimit;
  /** The bound on exports in progress. */
  readonly exports: ExportSlots;
  /** The custody contract, served by GET /api/v1/custody; undefined: none configured. */
  readonly custody?: CustodyInfo;
}

/** Verifies a signed query (signature and timestamp against the server clock); it is never logged. */
export function signedQuery(context: ApiContext, request: FastifyRequest, signedPath?: string): AuthenticatedRequest {
  const authenticated = authenticate(request, {
    kind: 'query',
    clock: context.clock,
    ...(signedPath !== undefined ? { signedPath } : {}),
  });
  context.keyRateLimit?.take(authenticated.account);
  return authenticated;
}

/** Verifies a signed query of a native GET route that signs `instruction` over its query (see AuthenticateOptions.instruction). */
export function signedNativeQuery(
  context: ApiContext,
  request: FastifyRequest,
  instruction: string,
): AuthenticatedRequest {
  const authenticated = authenticate(request, { kind: 'query', clock: context.clock, instruction });
  context.keyRateLimit?.take(authenticated.account);
  return authenticated;
}

/** Submits a signed, state-changing request; resolves once the entry is durable. */
export async function signedTransaction(
  context: ApiContext,
  request: FastifyRequest,
): Promise<{ account: string; committed: Committed }> {
  const authenticated = authenticate(request, { kind: 'transaction', clock: context.clock });
  // The node verifies a transaction's signature, so it counts against the key only once the node has answered.
  context.keyRateLimit?.refuseIfSpent(authenticated.account);
  let committed: Committed;
  try {
    committed = await submitTransaction(context.node, authenticated.transaction, request.log);
  } catch (error) {
    if (countsAgainstKey(error)) context.keyRateLimit?.count(authenticated.account);
    throw error;
  }
  context.keyRateLimit?.count(authenticated.account);
  return { account: authenticated.account, committed };
}

export function requireMarket(state: ExchangeState, symbol: string): Market {
  const market = state.marketsBySymbol.get(symbol);
  if (market === undefined) throw new ApiError('INVALID_MARKET', `Market ${symbol.slice(0, 40)} does not exist.`);
  return market;
}

export function parseInteger(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new ApiError('INVALID_CLIENT_REQUEST', `${what} is out of range.`);
  return value;
}

export function parsePage(query: PageQuery & { readonly symbol?: string }, state: ExchangeState): Page {
  const limit = parseInteger(query.limit, 'limit') ?? defaultPageSize;
  if (limit < 1 || limit > maximumPageSize)
    throw new ApiError('INVALID_CLIENT_REQUEST', `limit must be from 1 to ${maximumPageSize}.`);
  const offset = parseInteger(query.offset, 'offset') ?? 0;
  // Deep offsets scan the whole history; page by time (from/to) instead.
  if (offset > maximumPageOffset)
    throw new ApiError(
      'INVALID_CLIENT_REQUEST',
      `offset must be at most ${maximumPageOffset}; page by from/to instead.`,
    );
  const fromMs = parseInteger(query.from, 'from');
  const toMs = parseInteger(query.to, 'to');
  if (query.symbol !== undefined) requireMarket(state, query.symbol);
  return {
    limit,
    offset,
    ...(query.symbol !== undefined ? { market: query.symbol } : {}),
    ...(fromMs !== undefined ? { fromMs } : {}),
    ...(toMs !== undefined ? { toMs } : {}),
  };
}
