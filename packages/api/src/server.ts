/**
 * buildServer: the fastify application in front of an ExchangeNode.
 *
 * Every route has a JSON schema; ajv runs without coercion, defaults or
 * removal of unknown fields, so what is validated is exactly what was signed.
 * Every error is answered as `{code, message}` with a code from the one
 * catalogue. Requests are rate limited per client IP and, when they carry an
 * X-API-Key, per key as well.
 */
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import type { Logger } from 'pino';
import type { AssetInfo, ApiContext } from './context.js';
import { ApiError, type ErrorBody } from './errors.js';
import { MarketFeed } from './market-feed.js';
import type { ExchangeNodePort } from './node-port.js';
import { registerAccountRoutes } from './routes-account.js';
import { registerNativeRoutes } from './routes-native.js';
import { registerOrderRoutes } from './routes-orders.js';
import { registerPublicRoutes } from './routes-public.js';
import { registerVerificationRoutes } from './routes-verification.js';
import { overloadRetryAfterSeconds } from './submission.js';
import { defaultWebSocketLimits, registerWebSocketRoutes, type WebSocketLimits } from './websocket.js';

export interface RateLimit {
  /** Requests allowed per window. */
  readonly max: number;
  readonly timeWindowMs: number;
}

export interface RateLimits {
  /** Every request, keyed by client IP. */
  readonly perIp: RateLimit;
  /** Requests carrying X-API-Key, keyed by that key (on top of the per-IP limit). */
  readonly perApiKey: RateLimit;
}

export const defaultRateLimits: RateLimits = {
  perIp: { max: 3000, timeWindowMs: 10_000 },
  perApiKey: { max: 1000, timeWindowMs: 10_000 },
};

export interface BuildServerOptions {
  readonly node: ExchangeNodePort;
  /** A pino logger; false (or absent) logs nothing. */
  readonly logger?: Logger | false;
  /** Server clock in ms for signed queries and timestamps; defaults to Date.now. */
  readonly clock?: () => number;
  /** false turns rate limiting off. */
  readonly rateLimits?: Partial<RateLimits> | false;
  /** Display names and blockchains of assets (GET /api/v1/assets). */
  readonly assets?: Readonly<Record<string, AssetInfo>>;
  /** Deposit address per blockchain, for GET /wapi/v1/capital/deposit/address (config `depositAddresses`). */
  readonly depositAddresses?: Readonly<Record<string, string>>;
  readonly bodyLimitBytes?: number;
  readonly webSocketLimits?: Partial<WebSocketLimits>;
}

export const defaultBodyLimitBytes = 64 * 1024;

const packageVersion = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Maps any error fastify or a handler raises to the answer the client gets. */
export function errorAnswer(error: FastifyError | Error): { status: number; body: ErrorBody } {
  if (error instanceof ApiError) return { status: error.statusCode, body: { code: error.code, message: error.message } };
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return { status: 400, body: { code: 'INVALID_CLIENT_REQUEST', message: fastifyError.message } };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { code: 'REQUEST_TOO_LARGE', message: `The request body exceeds the limit: ${fastifyError.message}` } };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        status: 400,
        body: { code: 'INVALID_CLIENT_REQUEST', message: 'The body is not valid JSON, or it holds a forbidden __proto__ or constructor.prototype key.' },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { code: 'INVALID_CLIENT_REQUEST', message: 'Send request bodies as application/json.' } };
    default:
      break;
  }
  const status = fastifyError.statusCode;
  if (error instanceof SyntaxError || (status !== undefined && status >= 400 && status < 500)) {
    const resolved = status ?? 400;
    const code = resolved === 404 ? 'NOT_FOUND' : resolved === 413 ? 'REQUEST_TOO_LARGE' : resolved === 429 ? 'TOO_MANY_REQUESTS' : 'INVALID_CLIENT_REQUEST';
    return { status: resolved, body: { code, message: error.message } };
  }
  if (status === 503) return { status, body: { code: 'SERVICE_UNAVAILABLE', message: error.message } };
  return { status: 500, body: { code: 'SERVER_ERROR', message: 'An unexpected server error.' } };
}

function apiKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers['x-api-key'];
  return typeof key === 'string' && key.length > 0 ? key.slice(0, 64) : undefined;
}

type Limiter = (request: FastifyRequest) => Promise<{ isAllowed: boolean; isExceeded?: boolean; ttlInSeconds?: number }>;

/**
 * Requests that Node's HTTP parser refuses (a bad request line or header,
 * duplicated Content-Length, headers over the size limit) never reach a
 * route or the error handler; they get the catalogue's {code, message} shape
 * here too, and the connection is closed since its framing is unknown.
 */
function answerMalformedHttp(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify(
    tooLarge
      ? { code: 'REQUEST_TOO_LARGE', message: 'The request headers are larger than the server accepts.' }
      : { code: 'INVALID_CLIENT_REQUEST', message: 'The request is not well-formed HTTP.' },
  );
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function buildServer(options: BuildServerOptions): FastifyInstance {
  const clock = options.clock ?? Date.now;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimitBytes ?? defaultBodyLimitBytes,
    connectionTimeout: 120_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 65_000,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Shutdown answers new requests itself, as {code, message} (see the onRequest hook).
    return503OnClosing: false,
    clientErrorHandler: answerMalformedHttp,
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allowUnionTypes: true,
        allErrors: false,
      },
    },
  }) as unknown as FastifyInstance;

  // Bodies are JSON only: no text/plain parser.
  app.removeContentTypeParser('text/plain');
  const feed = new MarketFeed(options.node, app.log, clock);
  const context: ApiContext = {
    node: options.node,
    clock,
    feed,
    assets: options.assets ?? {},
    depositAddresses: options.depositAddresses ?? {},
    version: packageVersion,
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body } = errorAnswer(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.code, status }, body.message);
    // A 429 without its own Retry-After is the node's overload refusal (the rate limiter sets its own).
    if (status === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(overloadRetryAfterSeconds));
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'NOT_FOUND', message: `No route ${request.method} ${request.url.split('?', 1)[0]!.slice(0, 200)}.` }),
  );

  let closing = false;
  const limits = options.rateLimits === false ? undefined : {
    perIp: { ...defaultRateLimits.perIp, ...options.rateLimits?.perIp },
    perApiKey: { ...defaultRateLimits.perApiKey, ...options.rateLimits?.perApiKey },
  };
  let limiters: { perIp: Limiter; perApiKey: Limiter } | undefined;

  if (limits !== undefined) app.register(rateLimit, { global: false });
  app.addHook('onRequest', async (request, reply) => {
    if (closing) throw new ApiError('SERVICE_UNAVAILABLE', 'The server is shutting down.');
    if (limits === undefined) return;
    if (limiters === undefined) {
      const create = (app as unknown as { createRateLimit(options: object): Limiter }).createRateLimit;
      limiters = {
        perIp: create({ max: limits.perIp.max, timeWindow: limits.perIp.timeWindowMs }),
        perApiKey: create({
          max: limits.perApiKey.max,
          timeWindow: limits.perApiKey.timeWindowMs,
          keyGenerator: (keyed: FastifyRequest) => `key:${apiKeyOf(keyed) ?? ''}`,
        }),
      };
    }
    const checks: Array<[Limiter, string]> = [[limiters.perIp, 'this address']];
    if (apiKeyOf(request) !== undefined) checks.push([limiters.perApiKey, 'this API key']);
    for (const [limiter, what] of checks) {
      const verdict = await limiter(request);
      if (!verdict.isAllowed && verdict.isExceeded === true) {
        reply.header('retry-after', String(Math.max(1, verdict.ttlInSeconds ?? 1)));
        throw new ApiError('TOO_MANY_REQUESTS', `Too many requests from ${what}; retry in ${verdict.ttlInSeconds ?? 1} s.`);
      }
    }
  });
  // Once closing, every response closes its connection, so server.close() is not held up
  // by keep-alive connections whose last request was still in flight when shutdown began.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('preClose', (done) => {
    closing = true;
    feed.stop();
    done();
  });

  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Verifiable exchange API',
        description: 'Backpack-compatible REST API of a verifiable exchange, plus native log endpoints. See docs/api.md.',
        version: packageVersion,
      },
      components: {
        securitySchemes: {
          backpackApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          backpackSignature: { type: 'apiKey', in: 'header', name: 'X-Signature' },
          backpackTimestamp: { type: 'apiKey', in: 'header', name: 'X-Timestamp' },
        },
      },
    },
  });
  app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  app.register(async (instance) => {
    registerPublicRoutes(instance, context);
    registerOrderRoutes(instance, context);
    registerAccountRoutes(instance, context);
    registerNativeRoutes(instance, context);
    registerVerificationRoutes(instance, context);
    registerWebSocketRoutes(instance, context, { ...defaultWebSocketLimits, ...options.webSocketLimits });
  });
  feed.start();
  return app;
}

