/**
 * buildServer: the fastify application in front of an ExchangeNode.
 *
 * Every route has a JSON schema; ajv runs without coercion, defaults or
 * removal of unknown fields, so what is validated is exactly what was signed.
 * Every error is answered as `{code, message}` with a code from the one
 * catalogue. Requests are rate limited per client IP and, once their
 * signature verified, per key as well (key-rate-limit.ts). Connections are
 * bounded per IP and in total (connection-guard.ts), and every timeout is set
 * here on purpose (serverTimeouts).
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerFactory,
} from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import type { Logger } from 'pino';
import { isDescriptorExhaustion } from '@vex/ledger';
import {
  answerAndDestroy,
  ConnectionGuard,
  defaultConnectionLimits,
  jsonHttpAnswer,
  type ConnectionLimits,
  type ConnectionStatistics,
} from './connection-guard.js';
import type { AssetInfo, ApiContext } from './context.js';
import { ApiError, type ErrorBody } from './errors.js';
import { defaultExportLimits, ExportSlots, type ExportLimits } from './export-slots.js';
import { VerifiedKeyRateLimit } from './key-rate-limit.js';
import { MarketFeed } from './market-feed.js';
import type { ExchangeNodePort } from './node-port.js';
import { registerAccountRoutes } from './routes-account.js';
import { registerCustodyRoutes } from './routes-custody.js';
import type { CustodyInfo } from './custody-config.js';
import { registerNativeRoutes } from './routes-native.js';
import { registerMarginRoutes } from './routes-margin.js';
import { registerOrderRoutes } from './routes-orders.js';
import { registerPublicRoutes } from './routes-public.js';
import { registerVerificationRoutes } from './routes-verification.js';
import { NodeMetrics, singleNodeStatus, type ClusterStatus } from './metrics.js';
import { registerOperationsRoutes } from './routes-operations.js';
import { refuseWrites, type ReadOnlyMode } from './read-only.js';
import { overloadRetryAfterSeconds } from './submission.js';
import { defaultWebSocketLimits, registerWebSocketRoutes, type StreamHub, type WebSocketLimits } from './websocket.js';
import { registerWebPageAssets, sendWebPage } from './web-page.js';

export interface RateLimit {
  /** Requests allowed per window. */
  readonly max: number;
  readonly timeWindowMs: number;
}

export interface RateLimits {
  /** Every request, keyed by client IP. */
  readonly perIp: RateLimit;
  /**
   * Signed requests, keyed by the signing key (on top of the per-IP limit),
   * counted only once their signature verified (key-rate-limit.ts).
   */
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
  /** The custody contract GET /api/v1/custody serves (config `custody`); absent: that route answers 404. */
  readonly custody?: CustodyInfo;
  readonly bodyLimitBytes?: number;
  readonly webSocketLimits?: Partial<WebSocketLimits>;
  /** Open connections per IP and in total; false turns the bounds off (benchmarks). */
  readonly connectionLimits?: Partial<ConnectionLimits> | false;
  /** Concurrent exports (log, attestations, snapshot) in total and per IP. */
  readonly exportLimits?: Partial<ExportLimits>;
  /** On close: how long connections may finish their requests before they are destroyed. Default 3,000 ms. */
  readonly shutdownGraceMs?: number;
  /** false serves no GET /metrics (default: served; docs/operator.md). */
  readonly metrics?: boolean;
  /** The node's place in a cluster, for metrics and readiness; default: a single node. */
  readonly clusterStatus?: () => ClusterStatus;
  /** Fastify's serverFactory: a cluster member hands the API its already listening server at takeover. */
  readonly serverFactory?: FastifyServerFactory;
  /** A read replica: every write is refused, naming the sequencer (read-only.ts). */
  readonly readOnly?: ReadOnlyMode;
}

export const defaultBodyLimitBytes = 64 * 1024;
export const defaultShutdownGraceMs = 3_000;

/**
 * The server's timeouts, chosen so that no connection holds a descriptor
 * for long without doing something:
 * - headersTimeoutMs: a request's headers, including a new connection's
 *   first request, must arrive within this (slow and silent clients);
 * - requestTimeoutMs: the whole request, body included;
 * - keepAliveTimeoutMs: an idle keep-alive connection is closed after this;
 * - connectionTimeoutMs: a socket with no traffic at all in either direction
 *   (an export whose reader stopped reading) is destroyed after this;
 * - connectionsCheckingIntervalMs: how often Node checks the first two.
 * A connection that breaks a timeout is answered (408) and destroyed.
 */
export const serverTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 10_000,
  connectionTimeoutMs: 60_000,
  connectionsCheckingIntervalMs: 1_000,
} as const;

/** What a test or an operator can see of the server's bounds at work. */
export interface ServerStatistics {
  readonly connections: ConnectionStatistics | undefined;
  readonly exportsInProgress: number;
  readonly webSocket: ReturnType<StreamHub['statistics']> | undefined;
  readonly keysWithRateWindow: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's bounds at work: open connections, exports, WebSocket hub entries, per-key windows. */
    serverStatistics(): ServerStatistics;
  }
}

const packageVersion = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Maps any error fastify or a handler raises to the answer the client gets. */
export function errorAnswer(error: FastifyError | Error): { status: number; body: ErrorBody } {
  if (error instanceof ApiError)
    return { status: error.statusCode, body: { code: error.code, message: error.message } };
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return { status: 400, body: { code: 'INVALID_CLIENT_REQUEST', message: fastifyError.message } };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: { code: 'REQUEST_TOO_LARGE', message: `The request body exceeds the limit: ${fastifyError.message}` },
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        status: 400,
        body: {
          code: 'INVALID_CLIENT_REQUEST',
          message: 'The body is not valid JSON, or it holds a forbidden __proto__ or constructor.prototype key.',
        },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: { code: 'INVALID_CLIENT_REQUEST', message: 'Send request bodies as application/json.' },
      };
    default:
      break;
  }
  const status = fastifyError.statusCode;
  if (error instanceof SyntaxError || (status !== undefined && status >= 400 && status < 500)) {
    const resolved = status ?? 400;
    const code =
      resolved === 404
        ? 'NOT_FOUND'
        : resolved === 413
          ? 'REQUEST_TOO_LARGE'
          : resolved === 429
            ? 'TOO_MANY_REQUESTS'
            : 'INVALID_CLIENT_REQUEST';
    return { status: resolved, body: { code, message: error.message } };
  }
  if (status === 503) return { status, body: { code: 'SERVICE_UNAVAILABLE', message: error.message } };
  // A read that found no free file descriptor (LevelDB's "Too many open files") is back-pressure: retry later.
  if (isDescriptorExhaustion(error))
    return {
      status: 503,
      body: { code: 'SERVICE_UNAVAILABLE', message: 'The server is short of file descriptors; retry shortly.' },
    };
  return { status: 500, body: { code: 'SERVER_ERROR', message: 'An unexpected server error.' } };
}

type Limiter = (
  request: FastifyRequest,
) => Promise<{ isAllowed: boolean; isExceeded?: boolean; ttlInSeconds?: number }>;

/**
 * Requests that Node's HTTP parser refuses (a bad request line or header,
 * duplicated Content-Length, headers over the size limit) and requests that
 * broke a timeout never reach a route or the error handler; they get the
 * catalogue's {code, message} shape here too. The connection is then
 * destroyed, not just ended: its framing is unknown, and a peer that keeps its
 * side of an ended socket open would otherwise hold the descriptor.
 */
function answerMalformedHttp(error: NodeJS.ErrnoException, socket: Duplex): void {
  const response = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || response?.headersSent === true) {
    socket.destroy();
    return;
  }
  let answer: string;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    answer = jsonHttpAnswer('431 Request Header Fields Too Large', {
      code: 'REQUEST_TOO_LARGE',
      message: 'The request headers are larger than the server accepts.',
    });
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    answer = jsonHttpAnswer('408 Request Timeout', {
      code: 'INVALID_CLIENT_REQUEST',
      message: 'The request did not arrive in time.',
    });
  } else {
    answer = jsonHttpAnswer('400 Bad Request', {
      code: 'INVALID_CLIENT_REQUEST',
      message: 'The request is not well-formed HTTP.',
    });
  }
  answerAndDestroy(socket as Socket, answer);
}

export function buildServer(options: BuildServerOptions): FastifyInstance {
  const clock = options.clock ?? Date.now;
  const app = createFastify(options);
  const feed = new MarketFeed(options.node, app.log, clock);
  const limits =
    options.rateLimits === false
      ? undefined
      : {
          perIp: { ...defaultRateLimits.perIp, ...options.rateLimits?.perIp },
          perApiKey: { ...defaultRateLimits.perApiKey, ...options.rateLimits?.perApiKey },
        };
  const keyRateLimit = limits === undefined ? undefined : new VerifiedKeyRateLimit(limits.perApiKey);
  const context: ApiContext = {
    node: options.node,
    clock,
    feed,
    assets: options.assets ?? {},
    depositAddresses: options.depositAddresses ?? {},
    version: packageVersion,
    exports: new ExportSlots({ ...defaultExportLimits, ...options.exportLimits }),
    ...(keyRateLimit !== undefined ? { keyRateLimit } : {}),
    ...(options.custody !== undefined ? { custody: options.custody } : {}),
  };
  const guard =
    options.connectionLimits === false
      ? undefined
      : new ConnectionGuard(app.server, { ...defaultConnectionLimits, ...options.connectionLimits });
  let hub: StreamHub | undefined;
  app.decorate(
    'serverStatistics',
    (): ServerStatistics => ({
      connections: guard?.statistics(),
      exportsInProgress: context.exports.inProgress,
      webSocket: hub?.statistics(),
      keysWithRateWindow: keyRateLimit?.size ?? 0,
    }),
  );

  const cluster = options.clusterStatus ?? singleNodeStatus;
  const metrics = options.metrics === false ? undefined : new NodeMetrics(options.node, clock, cluster);
  setErrorAnswers(app);
  addLifecycleHooks(app, {
    limits,
    feed,
    guard,
    metrics,
    shutdownGraceMs: options.shutdownGraceMs ?? defaultShutdownGraceMs,
  });
  registerOpenApi(app);
  app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  app.register(async (instance) => {
    registerPublicRoutes(instance, context);
    registerOrderRoutes(instance, context);
    registerAccountRoutes(instance, context);
    registerMarginRoutes(instance, context);
    registerNativeRoutes(instance, context);
    registerVerificationRoutes(instance, context);
    registerCustodyRoutes(instance, context);
    registerOperationsRoutes(instance, { node: options.node, metrics, cluster });
    registerWebPageAssets(instance);
    hub = registerWebSocketRoutes(
      instance,
      context,
      { ...defaultWebSocketLimits, ...options.webSocketLimits },
      sendWebPage,
    );
  });
  feed.start();
  return app;
}

/** The fastify instance with the server's limits, timeouts and strict JSON parsing. */
function createFastify(options: BuildServerOptions): FastifyInstance {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimitBytes ?? defaultBodyLimitBytes,
    connectionTimeout: serverTimeouts.connectionTimeoutMs,
    requestTimeout: serverTimeouts.requestTimeoutMs,
    keepAliveTimeout: serverTimeouts.keepAliveTimeoutMs,
    http: {
      headersTimeout: serverTimeouts.headersTimeoutMs,
      connectionsCheckingInterval: serverTimeouts.connectionsCheckingIntervalMs,
    },
    ...(options.serverFactory !== undefined ? { serverFactory: options.serverFactory } : {}),
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
  if (options.readOnly !== undefined) refuseWrites(app, options.readOnly);
  return app;
}

/** Errors answer as {code, message} from the one catalogue, with Retry-After on refusals to retry. */
function setErrorAnswers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body } = errorAnswer(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.code, status }, body.message);
    // A 429 without its own Retry-After is the node's overload refusal (the rate limiters set their own).
    if (error instanceof ApiError && error.retryAfterSeconds !== undefined)
      reply.header('retry-after', String(error.retryAfterSeconds));
    else if (status === 429 && !reply.hasHeader('retry-after'))
      reply.header('retry-after', String(overloadRetryAfterSeconds));
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      code: 'NOT_FOUND',
      message: `No route ${request.method} ${request.url.split('?', 1)[0]!.slice(0, 200)}.`,
    }),
  );
}

interface LifecycleParts {
  readonly limits: { readonly perIp: { max: number; timeWindowMs: number } } | undefined;
  readonly feed: MarketFeed;
  readonly guard: ConnectionGuard | undefined;
  readonly metrics: NodeMetrics | undefined;
  readonly shutdownGraceMs: number;
}

/** The per-address limit on every request, and shutdown: refuse new requests, close connections, then destroy. */
function addLifecycleHooks(app: FastifyInstance, parts: LifecycleParts): void {
  const { limits, feed, guard } = parts;
  let closing = false;
  let perIpLimiter: Limiter | undefined;

  // Without per-address limits the hook is synchronous: no promise per request (the signed routes' hot path).
  if (limits === undefined) {
    app.addHook('onRequest', (_request, _reply, done) => {
      done(closing ? new ApiError('SERVICE_UNAVAILABLE', 'The server is shutting down.') : undefined);
    });
  } else {
    app.register(rateLimit, { global: false });
    app.addHook('onRequest', async (request, reply) => {
      if (closing) throw new ApiError('SERVICE_UNAVAILABLE', 'The server is shutting down.');
      // Every request counts against its address here, signed or not; the per-key limit
      // is applied by the signed routes, after the signature verified (context.ts).
      perIpLimiter ??= (app as unknown as { createRateLimit(options: object): Limiter }).createRateLimit({
        max: limits.perIp.max,
        timeWindow: limits.perIp.timeWindowMs,
      });
      const verdict = await perIpLimiter(request);
      if (!verdict.isAllowed && verdict.isExceeded === true) {
        reply.header('retry-after', String(Math.max(1, verdict.ttlInSeconds ?? 1)));
        throw new ApiError(
          'TOO_MANY_REQUESTS',
          `Too many requests from this address; retry in ${verdict.ttlInSeconds ?? 1} s.`,
        );
      }
    });
  }
  // Once closing, every response closes its connection, so server.close() is not held up
  // by keep-alive connections whose last request was still in flight when shutdown began.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  // Connections get a short grace to finish their requests; then those that linger (silent
  // sockets, slow readers, keep-alive peers) are destroyed, so close() always completes.
  let graceTimer: NodeJS.Timeout | undefined;
  app.addHook('preClose', (done) => {
    closing = true;
    feed.stop();
    if (guard !== undefined) {
      graceTimer = setTimeout(() => {
        const destroyed = guard.destroyAll();
        if (destroyed > 0)
          app.log.warn({ destroyed }, 'shutdown: destroyed connections still open after the grace period');
      }, parts.shutdownGraceMs);
      graceTimer.unref();
    }
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearTimeout(graceTimer);
    parts.metrics?.stop();
    done();
  });
}

function registerOpenApi(app: FastifyInstance): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Verifiable exchange API',
        description:
          'Backpack-compatible REST API of a verifiable exchange, plus native log endpoints. See docs/api.md.',
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
}
