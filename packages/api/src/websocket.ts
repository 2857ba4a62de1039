/**
 * The WebSocket API at /ws (and /): Backpack's SUBSCRIBE/UNSUBSCRIBE
 * protocol over the streams the MarketFeed produces from committed entries.
 *
 *   {"method":"SUBSCRIBE","params":["depth.SOL_USDC","trade.SOL_USDC"]}
 *   (also ticker.<market>, bookTicker.<market>, kline.<interval>.<market>,
 *   markPrice.<market>, openInterest.<market>, liquidation)
 *   {"method":"SUBSCRIBE","params":["account.orderUpdate"],
 *    "signature":["<apiKey>","<sig>","<timestamp>","<window>"]}
 *
 * Private streams are signed over `instruction=subscribe&timestamp=…&window=…`
 * and bind the connection to that account. Slow consumers are cut off rather
 * than buffered without bound.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { isCandleInterval, isCanonicalAccountId, isWithinWindow, maximumWindowMs, verifySignature } from '@vex/engine';
import type { ApiContext } from './context.js';
import { ApiError, httpStatusFor } from './errors.js';
import type { StreamMessage } from './market-feed.js';
import { isPositionStream, positionSnapshot } from './perp-position-snapshot.js';

export interface WebSocketLimits {
  /** Streams one connection may hold. */
  readonly maximumStreams: number;
  /** Open connections per client IP. */
  readonly maximumConnectionsPerIp: number;
  /** Bytes queued for one client before it is disconnected as too slow. */
  readonly maximumBufferedBytes: number;
  /** Client messages per second before the connection is closed. */
  readonly maximumMessagesPerSecond: number;
  /** Ping interval; a client that misses a pong is disconnected. */
  readonly heartbeatMs: number;
}

export const defaultWebSocketLimits: WebSocketLimits = {
  maximumStreams: 100,
  maximumConnectionsPerIp: 50,
  maximumBufferedBytes: 4 * 1024 * 1024,
  maximumMessagesPerSecond: 50,
  heartbeatMs: 30_000,
};

/** The private streams; each also comes per market, `<stream>.<market>`. */
const privateStreamNames = ['account.orderUpdate', 'account.positionUpdate'];
const isPrivateStream = (stream: string): boolean =>
  privateStreamNames.some((name) => stream === name || stream.startsWith(`${name}.`));
/** Public streams of one market: `<kind>.<market>`. */
const perpStreamKinds = new Set(['markPrice', 'openInterest']);
const marketStreamKinds = new Set(['depth', 'trade', 'ticker', 'bookTicker', ...perpStreamKinds]);
const utf8 = new TextEncoder();

class Connection {
  readonly publicStreams = new Set<string>();
  readonly privateStreams = new Set<string>();
  account: string | undefined;
  alive = true;
  windowStartMs = 0;
  messagesInWindow = 0;
  constructor(
    readonly socket: WebSocket,
    readonly ip: string,
  ) {}
}

class WebSocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function fail(code: string, message: string): never {
  throw new WebSocketError(code, message);
}

/** Removes a subscriber, and the map's entry with its last subscriber, so the maps never outgrow the open connections. */
function removeSubscriber(subscribers: Map<string, Set<Connection>>, key: string, connection: Connection): void {
  const set = subscribers.get(key);
  if (set === undefined) return;
  set.delete(connection);
  if (set.size === 0) subscribers.delete(key);
}

export class StreamHub {
  private readonly connections = new Set<Connection>();
  private readonly connectionsPerIp = new Map<string, number>();
  private readonly publicSubscribers = new Map<string, Set<Connection>>();
  private readonly privateSubscribers = new Map<string, Set<Connection>>();
  private readonly stopFeed: () => void;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly context: ApiContext,
    private readonly limits: WebSocketLimits,
  ) {
    this.stopFeed = context.feed.onMessage((message) => this.dispatch(message));
    // Asked for every candle interval of every trade: no lookup (no hash of the stream's name) while nobody watches.
    context.feed.isWatched = (stream) =>
      this.publicSubscribers.size > 0 && (this.publicSubscribers.get(stream)?.size ?? 0) > 0;
    context.feed.isAccountWatched = (account) => this.privateSubscribers.has(account);
    context.feed.isAnyAccountWatched = () => this.privateSubscribers.size > 0;
    this.heartbeat = setInterval(() => this.beat(), limits.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Entries held: every map entry dies with its last connection, so each is
   * bounded by the connections open now (a test checks it).
   */
  statistics(): { connections: number; addresses: number; publicStreams: number; privateAccounts: number } {
    return {
      connections: this.connections.size,
      addresses: this.connectionsPerIp.size,
      publicStreams: this.publicSubscribers.size,
      privateAccounts: this.privateSubscribers.size,
    };
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.stopFeed();
    for (const connection of this.connections) connection.socket.close(1001, 'server shutting down');
  }

  connect(socket: WebSocket, request: FastifyRequest): void {
    const ip = request.ip;
    const open = this.connectionsPerIp.get(ip) ?? 0;
    if (open >= this.limits.maximumConnectionsPerIp) {
      socket.close(1008, 'too many connections');
      return;
    }
    this.connectionsPerIp.set(ip, open + 1);
    const connection = new Connection(socket, ip);
    this.connections.add(connection);
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('message', (data, isBinary) => this.receive(connection, data, isBinary));
    socket.on('close', () => this.disconnect(connection));
    socket.on('error', () => this.disconnect(connection));
  }

  private disconnect(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const open = (this.connectionsPerIp.get(connection.ip) ?? 1) - 1;
    if (open <= 0) this.connectionsPerIp.delete(connection.ip);
    else this.connectionsPerIp.set(connection.ip, open);
    for (const stream of connection.publicStreams) removeSubscriber(this.publicSubscribers, stream, connection);
    if (connection.account !== undefined) removeSubscriber(this.privateSubscribers, connection.account, connection);
  }

  private beat(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        this.disconnect(connection);
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  private send(connection: Connection, text: string): void {
    if (connection.socket.readyState !== 1) return;
    if (connection.socket.bufferedAmount > this.limits.maximumBufferedBytes) {
      connection.socket.terminate();
      this.disconnect(connection);
      return;
    }
    connection.socket.send(text);
  }

  private dispatch(message: StreamMessage): void {
    if (message.account === undefined) {
      const subscribers = this.publicSubscribers.get(message.stream);
      if (subscribers === undefined || subscribers.size === 0) return;
      const text = JSON.stringify({ stream: message.stream, data: message.data });
      for (const connection of subscribers) this.send(connection, text);
      return;
    }
    const subscribers = this.privateSubscribers.get(message.account);
    if (subscribers === undefined) return;
    const specific = `${message.stream}.${message.market}`;
    for (const connection of subscribers) {
      if (connection.privateStreams.has(message.stream))
        this.send(connection, JSON.stringify({ stream: message.stream, data: message.data }));
      if (connection.privateStreams.has(specific))
        this.send(connection, JSON.stringify({ stream: specific, data: message.data }));
    }
  }

  private receive(connection: Connection, data: unknown, isBinary: boolean): void {
    const now = Date.now();
    if (now - connection.windowStartMs >= 1000) {
      connection.windowStartMs = now;
      connection.messagesInWindow = 0;
    }
    connection.messagesInWindow += 1;
    if (connection.messagesInWindow > this.limits.maximumMessagesPerSecond) {
      connection.socket.close(1008, 'too many messages');
      return;
    }
    let id: unknown = null;
    try {
      if (isBinary) fail('INVALID_CLIENT_REQUEST', 'Messages must be JSON text.');
      let message: unknown;
      try {
        message = JSON.parse(String(data));
      } catch {
        fail('INVALID_CLIENT_REQUEST', 'Messages must be JSON.');
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message))
        fail('INVALID_CLIENT_REQUEST', 'A message must be a JSON object.');
      const fields = message as Record<string, unknown>;
      if (Object.hasOwn(fields, 'id')) id = fields.id;
      for (const key of Object.keys(fields)) {
        if (key !== 'method' && key !== 'params' && key !== 'signature' && key !== 'id')
          fail('INVALID_CLIENT_REQUEST', `Unknown field ${key.slice(0, 40)}.`);
      }
      if (id !== null && typeof id !== 'number' && !(typeof id === 'string' && id.length <= 64))
        fail('INVALID_CLIENT_REQUEST', 'id must be a number or a short string.');
      const method = fields.method;
      if (method !== 'SUBSCRIBE' && method !== 'UNSUBSCRIBE')
        fail('INVALID_CLIENT_REQUEST', 'method must be SUBSCRIBE or UNSUBSCRIBE.');
      const params = fields.params;
      if (
        !Array.isArray(params) ||
        params.length === 0 ||
        params.length > this.limits.maximumStreams ||
        !params.every((param) => typeof param === 'string')
      ) {
        fail('INVALID_CLIENT_REQUEST', `params must list 1 to ${this.limits.maximumStreams} stream names.`);
      }
      const streams = params as string[];
      for (const stream of streams) this.checkStream(stream);
      if (method === 'SUBSCRIBE') this.subscribe(connection, streams, fields.signature);
      else this.unsubscribe(connection, streams);
      if (id !== null) this.send(connection, JSON.stringify({ id, result: null }));
      if (method === 'SUBSCRIBE') this.sendPositionSnapshots(connection, streams);
    } catch (error) {
      const code = error instanceof WebSocketError || error instanceof ApiError ? error.code : 'SERVER_ERROR';
      const message = error instanceof Error ? error.message : String(error);
      this.send(connection, JSON.stringify({ id, error: { code: httpStatusFor(code), resultCode: code, message } }));
    }
  }

  private checkStream(stream: string): void {
    const state = this.context.node.state;
    if (privateStreamNames.includes(stream) || stream === 'liquidation') return;
    const dot = stream.indexOf('.');
    const kind = dot < 0 ? stream : stream.slice(0, stream.lastIndexOf('.'));
    const symbol = stream.slice(stream.lastIndexOf('.') + 1);
    const known =
      marketStreamKinds.has(kind) ||
      privateStreamNames.includes(kind) ||
      (kind.startsWith('kline.') && isCandleInterval(kind.slice('kline.'.length)));
    if (!known) fail('INVALID_CLIENT_REQUEST', `Unknown stream ${stream.slice(0, 80)}.`);
    const market = state.marketsBySymbol.get(symbol);
    if (market === undefined) fail('INVALID_MARKET', `Market ${symbol.slice(0, 40)} does not exist.`);
    if (perpStreamKinds.has(kind) && market.perp === undefined)
      fail('INVALID_CLIENT_REQUEST', `Stream ${stream.slice(0, 80)} needs a perpetual market.`);
  }

  private subscribe(connection: Connection, streams: readonly string[], signature: unknown): void {
    const wantsPrivate = streams.some(isPrivateStream);
    if (wantsPrivate) {
      const account = this.verifySubscription(signature);
      if (connection.account !== undefined && connection.account !== account) {
        fail('UNAUTHORIZED', 'This connection already streams another account.');
      }
      connection.account = account;
    }
    const total = connection.publicStreams.size + connection.privateStreams.size + streams.length;
    if (total > this.limits.maximumStreams)
      fail('INVALID_CLIENT_REQUEST', `A connection holds at most ${this.limits.maximumStreams} streams.`);
    for (const stream of streams) {
      if (isPrivateStream(stream)) {
        connection.privateStreams.add(stream);
        let subscribers = this.privateSubscribers.get(connection.account!);
        if (subscribers === undefined) {
          subscribers = new Set();
          this.privateSubscribers.set(connection.account!, subscribers);
        }
        subscribers.add(connection);
      } else {
        connection.publicStreams.add(stream);
        let subscribers = this.publicSubscribers.get(stream);
        if (subscribers === undefined) {
          subscribers = new Set();
          this.publicSubscribers.set(stream, subscribers);
        }
        subscribers.add(connection);
      }
    }
  }

  /** After the acknowledgement: the current positions of each position stream just subscribed to. */
  private sendPositionSnapshots(connection: Connection, streams: readonly string[]): void {
    for (const stream of streams.filter(isPositionStream)) {
      for (const message of positionSnapshot(this.context.node.state, connection.account!, stream))
        this.send(connection, JSON.stringify(message));
    }
  }

  private unsubscribe(connection: Connection, streams: readonly string[]): void {
    for (const stream of streams) {
      if (isPrivateStream(stream)) connection.privateStreams.delete(stream);
      else {
        connection.publicStreams.delete(stream);
        removeSubscriber(this.publicSubscribers, stream, connection);
      }
    }
    if (connection.privateStreams.size === 0 && connection.account !== undefined) {
      removeSubscriber(this.privateSubscribers, connection.account, connection);
    }
  }

  /** `signature: [apiKey, signature, timestamp, window]` over `instruction=subscribe&timestamp=…&window=…`. */
  private verifySubscription(signature: unknown): string {
    if (!Array.isArray(signature) || signature.length !== 4 || !signature.every((part) => typeof part === 'string')) {
      fail('UNAUTHORIZED', 'Private streams need "signature": [apiKey, signature, timestamp, window].');
    }
    const [apiKey, signatureText, timestamp, window] = signature as [string, string, string, string];
    if (!isCanonicalAccountId(apiKey)) fail('UNAUTHORIZED', 'The API key must be the base64 of a 32-byte public key.');
    const signatureBytes = Buffer.from(signatureText, 'base64');
    if (signatureBytes.length !== 64 || signatureBytes.toString('base64') !== signatureText)
      fail('INVALID_SIGNATURE', 'The signature must be the base64 of 64 bytes.');
    if (!/^(0|[1-9][0-9]{0,15})$/.test(timestamp))
      fail('INVALID_TIMESTAMP', 'The timestamp must be whole milliseconds.');
    if (!/^[1-9][0-9]{0,15}$/.test(window) || Number(window) > maximumWindowMs)
      fail('INVALID_WINDOW', `The window must be from 1 to ${maximumWindowMs} ms.`);
    const message = utf8.encode(`instruction=subscribe&timestamp=${timestamp}&window=${window}`);
    if (
      verifySignature(new Uint8Array(Buffer.from(apiKey, 'base64')), message, new Uint8Array(signatureBytes)) !==
      'valid'
    ) {
      fail('INVALID_SIGNATURE', 'The subscription signature does not verify.');
    }
    const now = this.context.clock();
    if (!isWithinWindow(now, Number(timestamp), Number(window)))
      fail('INVALID_TIMESTAMP', `The timestamp is not within ${window} ms of the server time.`);
    return apiKey;
  }
}

/** `rootPage` answers a plain GET / (the proof-of-reserves page, web-page.ts); without it GET / answers 426 as /ws does. */
export function registerWebSocketRoutes(
  app: FastifyInstance,
  context: ApiContext,
  limits: WebSocketLimits,
  rootPage?: (reply: FastifyReply) => Promise<FastifyReply>,
): StreamHub {
  const hub = new StreamHub(context, limits);
  app.addHook('preClose', (done) => {
    hub.close();
    done();
  });
  const wsHandler = (socket: WebSocket, request: FastifyRequest): void => hub.connect(socket, request);
  for (const url of ['/ws', '/']) {
    app.route({
      method: 'GET',
      url,
      schema: { hide: true },
      handler: async (_request, reply) => {
        if (url === '/' && rootPage !== undefined) return rootPage(reply);
        throw new ApiError(
          'INVALID_CLIENT_REQUEST',
          'This is the WebSocket endpoint; connect with an upgrade request.',
          426,
        );
      },
      wsHandler,
    });
  }
  return hub;
}
