/**
 * A tiny real HTTP server for wire-format tests: it records every request
 * (method, URL, headers, body) and answers with whatever the test's handler
 * says. It implements none of the exchange's logic; tests use it to check
 * what the client puts on the wire, and what it makes of what comes back.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The body as text ('' when none). */
  readonly body: string;
}

export type Reply =
  | { readonly status?: number; readonly json: unknown }
  | { readonly status: number; readonly text: string; readonly contentType?: string }
  | { readonly status?: number; readonly bytes: Uint8Array; readonly contentType?: string };

export type Handler = (request: RecordedRequest) => Reply | Promise<Reply>;

export interface Recorder {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  handler: Handler;
  close(): Promise<void>;
}

function send(response: ServerResponse, reply: Reply): void {
  if ('json' in reply) {
    const body = JSON.stringify(reply.json);
    response.writeHead(reply.status ?? 200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  } else if ('bytes' in reply) {
    response.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/octet-stream' });
    // Several chunks, so the client really has to stream.
    const chunk = 16_384;
    for (let offset = 0; offset < reply.bytes.length; offset += chunk)
      response.write(reply.bytes.subarray(offset, offset + chunk));
    response.end();
  } else {
    response.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/plain' });
    response.end(reply.text);
  }
}

export async function startRecorder(handler: Handler = () => ({ json: {} })): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const recorder: Recorder = {
    baseUrl: '',
    requests,
    handler,
    close: () => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '/';
      const parsed = new URL(url, 'http://recorder.invalid');
      const recorded: RecordedRequest = {
        method: request.method ?? 'GET',
        url,
        path: parsed.pathname,
        query: parsed.searchParams,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      Promise.resolve()
        .then(() => recorder.handler(recorded))
        .then(
          (reply) => send(response, reply),
          (error: unknown) =>
            send(response, { status: 500, json: { code: 'TEST_HANDLER_FAILED', message: String(error) } }),
        );
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (recorder as { baseUrl: string }).baseUrl = `http://127.0.0.1:${port}`;
  return recorder;
}
