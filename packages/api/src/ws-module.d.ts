/**
 * The part of the `ws` package this package uses (the workspace has no
 * @types/ws). @fastify/websocket's own typings resolve `ws` to this too.
 */
declare module 'ws' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage } from 'node:http';

  namespace WebSocket {
    interface ServerOptions {
      maxPayload?: number;
      [option: string]: unknown;
    }
    type RawData = Buffer | ArrayBuffer | Buffer[];
    class Server extends EventEmitter {
      constructor(options?: ServerOptions);
      readonly clients: Set<WebSocket>;
      close(callback?: (error?: Error) => void): void;
    }
    export { WebSocket, Server as WebSocketServer, Server };
  }

  class WebSocket extends EventEmitter {
    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSING: 2;
    static readonly CLOSED: 3;
    constructor(
      address: string,
      options?: { headers?: Record<string, string>; maxPayload?: number; localAddress?: string },
    );
    readonly readyState: 0 | 1 | 2 | 3;
    readonly bufferedAmount: number;
    send(data: string | Buffer, callback?: (error?: Error) => void): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
    ping(data?: Buffer): void;
    on(event: 'message', listener: (data: WebSocket.RawData, isBinary: boolean) => void): this;
    on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'open' | 'pong' | 'ping', listener: () => void): this;
    on(event: 'unexpected-response', listener: (request: unknown, response: IncomingMessage) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export = WebSocket;
}
