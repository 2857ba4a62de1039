/** Sending a fuzzer request: through fetch, or as raw bytes on a socket for malformed HTTP. */
import { connect } from 'node:net';
import type { WireRequest } from './wire.js';

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

export function answerOf(status: number, text: string): Answer {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the oracle reports it.
  }
  return { status, body, text };
}

/** Writes raw bytes and reads the first response until the server closes the connection. */
async function sendRaw(baseUrl: string, raw: string): Promise<Answer> {
  const port = Number(new URL(baseUrl).port);
  const received = await new Promise<string>((resolve) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(raw));
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(received);
  if (status === null) return answerOf(0, received.slice(0, 300));
  const headerEnd = received.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, headerEnd));
  const body = received.slice(headerEnd + 4, length === null ? undefined : headerEnd + 4 + Number(length[1]));
  return answerOf(Number(status[1]), Buffer.from(body, 'latin1').toString('utf8'));
}

export async function send(baseUrl: string, request: WireRequest): Promise<Answer> {
  if (request.raw !== undefined) return sendRaw(baseUrl, request.raw);
  const response = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers.map(([name, value]) => [name, value] as [string, string]),
    ...(request.body !== undefined ? { body: request.body } : {}),
    signal: AbortSignal.timeout(60_000),
  });
  return answerOf(response.status, await response.text());
}
