/**
 * Bounds on open TCP connections, so that sockets cannot take the file
 * descriptors the ledger needs.
 *
 * Every connection holds a descriptor from accept() until it is destroyed.
 * Idle sockets cost an attacker nothing, so without a bound a few thousand
 * of them exhaust RLIMIT_NOFILE: new clients then get empty replies and
 * LevelDB fails to open its files. The guard counts connections per client
 * IP and in total; a connection over either bound is answered at once
 * (429 per IP, 503 in total) and destroyed, so it holds its descriptor for
 * microseconds, not for as long as the peer likes. The total bound is
 * computed from the descriptor limit minus a reserve for storage
 * (descriptor-budget.ts). The guard also knows every open socket, so that
 * shutdown can destroy those that linger.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** Open connections in total (HTTP and WebSocket); more are refused with 503 and closed at once. */
  readonly maximumConnections: number;
  /** Open connections per client IP; more are refused with 429 and closed at once. */
  readonly maximumConnectionsPerIp: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  maximumConnections: 10_000,
  maximumConnectionsPerIp: 256,
};

/** How long a refusal or an error answer may take to reach the kernel before its socket is destroyed anyway. */
const answerGraceMs = 1_000;

/**
 * Writes `answer` (a complete HTTP response) and destroys the socket once it
 * is flushed, or after a second if the peer does not read: end() alone
 * leaves a half-closed socket, and its descriptor, for as long as the peer
 * keeps its side open.
 */
export function answerAndDestroy(socket: Socket, answer: string): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), answerGraceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(answer, () => socket.destroy());
}

export function jsonHttpAnswer(statusLine: string, body: { code: string; message: string }, extraHeaders = ''): string {
  const text = JSON.stringify(body);
  return (
    `HTTP/1.1 ${statusLine}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
    `${extraHeaders}Connection: close\r\n\r\n${text}`
  );
}

export interface ConnectionStatistics {
  readonly open: number;
  readonly addresses: number;
  readonly refusedPerIp: number;
  readonly refusedTotal: number;
}

export class ConnectionGuard {
  private readonly sockets = new Set<Socket>();
  private readonly openPerIp = new Map<string, number>();
  private refusedPerIp = 0;
  private refusedTotal = 0;

  constructor(
    server: Server,
    private readonly limits: ConnectionLimits,
  ) {
    server.on('connection', (socket: Socket) => this.admit(socket));
  }

  statistics(): ConnectionStatistics {
    return {
      open: this.sockets.size,
      addresses: this.openPerIp.size,
      refusedPerIp: this.refusedPerIp,
      refusedTotal: this.refusedTotal,
    };
  }

  /** Destroys every open connection (shutdown, after its grace period). Returns how many there were. */
  destroyAll(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    return count;
  }

  private admit(socket: Socket): void {
    // A socket whose peer already went has no address; it is closing anyway.
    const ip = socket.remoteAddress;
    if (ip === undefined) {
      socket.destroy();
      return;
    }
    const openFromIp = this.openPerIp.get(ip) ?? 0;
    if (openFromIp >= this.limits.maximumConnectionsPerIp) {
      this.refusedPerIp += 1;
      answerAndDestroy(
        socket,
        jsonHttpAnswer(
          '429 Too Many Requests',
          {
            code: 'TOO_MANY_REQUESTS',
            message: `Too many open connections from this address (at most ${this.limits.maximumConnectionsPerIp}).`,
          },
          'Retry-After: 1\r\n',
        ),
      );
      return;
    }
    if (this.sockets.size >= this.limits.maximumConnections) {
      this.refusedTotal += 1;
      answerAndDestroy(
        socket,
        jsonHttpAnswer(
          '503 Service Unavailable',
          { code: 'SERVICE_UNAVAILABLE', message: 'The server has no room for another connection.' },
          'Retry-After: 1\r\n',
        ),
      );
      return;
    }
    this.sockets.add(socket);
    this.openPerIp.set(ip, openFromIp + 1);
    socket.once('close', () => {
      this.sockets.delete(socket);
      const left = (this.openPerIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.openPerIp.delete(ip);
      else this.openPerIp.set(ip, left);
    });
  }
}
