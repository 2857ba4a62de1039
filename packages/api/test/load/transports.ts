/** HTTP/1.1 keep-alive transports: pre-encoded bytes on net.Socket ('raw'), or node:http with an Agent. */
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { SignedRequest } from './signing.js';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export type ClientKind = 'raw' | 'node-http';

export interface Target {
  readonly host: string;
  readonly port: number;
}

export function targetOf(url: string): Target {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') throw new Error(`only http:// targets, not ${url}`);
  if (parsed.hostname !== '127.0.0.1')
    throw new Error(`the load generator only talks to 127.0.0.1, not ${parsed.hostname}`);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** The whole HTTP/1.1 request as bytes, for the raw transport. */
export function encodeHttpRequest(request: SignedRequest, target: Target): Buffer {
  const body = Buffer.from(request.body, 'utf8');
  let head =
    `${request.method} ${request.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
  for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]);
}

const headerEnd = Buffer.from('\r\n\r\n');

/** One keep-alive connection with at most one request in flight. Reconnects lazily after a close. */
class RawConnection {
  private socket: Socket | undefined;
  private connected: Promise<Socket> | undefined;
  private chunks: Buffer[] = [];
  private received = 0;
  private waiter: { resolve: (answer: HttpAnswer) => void; reject: (error: Error) => void } | undefined;
  private closed = false;

  constructor(private readonly target: Target) {}

  private connect(): Promise<Socket> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    this.connected ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.target.host, port: this.target.port, noDelay: true });
      const onConnectError = (error: Error): void => {
        this.connected = undefined;
        reject(error);
      };
      socket.once('error', onConnectError);
      socket.once('connect', () => {
        socket.off('error', onConnectError);
        socket.setKeepAlive(true);
        socket.on('data', (chunk: Buffer) => this.onData(chunk));
        socket.on('error', (error) => this.fail(error));
        socket.on('close', () => this.fail(new Error('the server closed the connection')));
        this.socket = socket;
        resolve(socket);
      });
    });
    return this.connected;
  }

  private fail(error: Error): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.connected = undefined;
    this.chunks = [];
    this.received = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.received += chunk.length;
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.received);
    this.chunks = [data];
    const end = data.indexOf(headerEnd);
    if (end < 0) return;
    const head = data.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const lengthAt = lower.indexOf('\r\ncontent-length:');
    if (lengthAt < 0) {
      this.fail(
        new Error(`response without Content-Length (status ${status}); the raw client does not read chunked bodies`),
      );
      return;
    }
    const length = parseInt(lower.slice(lengthAt + 17, lower.indexOf('\r\n', lengthAt + 2)), 10);
    const total = end + 4 + length;
    if (data.length < total) return;
    const body = data.toString('utf8', end + 4, total);
    this.chunks = [];
    this.received = 0;
    if (data.length > total) {
      this.fail(new Error('unexpected bytes after a response'));
      return;
    }
    const closeAfter = lower.includes('\r\nconnection: close');
    const waiter = this.waiter;
    this.waiter = undefined;
    if (closeAfter) {
      this.socket?.destroy();
      this.socket = undefined;
      this.connected = undefined;
    }
    waiter?.resolve({ status, body });
  }

  async request(bytes: Buffer): Promise<HttpAnswer> {
    if (this.waiter !== undefined) throw new Error('one request at a time per connection');
    const socket = this.socket ?? (await this.connect());
    return new Promise<HttpAnswer>((resolve, reject) => {
      this.waiter = { resolve, reject };
      socket.write(bytes);
    });
  }

  close(): void {
    this.closed = true;
    this.fail(new Error('connection closed'));
  }
}

export interface Transport {
  /** Sends request `index` on connection `slot` (the node:http agent picks its own socket). */
  send(slot: number, index: number): Promise<HttpAnswer>;
  close(): void;
}

export function rawTransport(
  requests: readonly SignedRequest[],
  target: Target,
  connections: number,
  encoded?: readonly Buffer[],
): Transport {
  const pool = Array.from({ length: connections }, () => new RawConnection(target));
  return {
    send: (slot, index) => pool[slot]!.request(encoded?.[index] ?? encodeHttpRequest(requests[index]!, target)),
    close: () => pool.forEach((connection) => connection.close()),
  };
}

export function nodeHttpTransport(requests: readonly SignedRequest[], target: Target, connections: number): Transport {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  return {
    send: (_slot, index) =>
      new Promise<HttpAnswer>((resolve, reject) => {
        const request = requests[index]!;
        const body = Buffer.from(request.body, 'utf8');
        const outgoing = httpRequest(
          {
            host: target.host,
            port: target.port,
            method: request.method,
            path: request.path,
            agent,
            headers: { ...request.headers, 'content-type': 'application/json', 'content-length': body.length },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
            );
            response.on('error', reject);
          },
        );
        outgoing.on('error', reject);
        outgoing.end(body);
      }),
    close: () => agent.destroy(),
  };
}
