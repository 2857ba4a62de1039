/**
 * Where the replayer's inputs come from: files or a node's HTTP API. A log
 * export is streamed as byte chunks (never read whole into memory); the
 * attestations are JSON Lines, one attestation object per line.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ReplayInputError, errorMessage } from './replay-input-error.js';

/** Bytes of a log export, with its size when it is known in advance (for a progress bar). */
export interface ByteSource {
  readonly chunks: AsyncIterable<Uint8Array>;
  readonly totalBytes: number | undefined;
  /** The file or URL, for messages. */
  readonly description: string;
  /** Stops reading (closes the file or the connection) when not every chunk is needed. */
  close(): void;
}

/** Files are read in large chunks: fewer, larger reads cost the main thread less per entry. */
const fileChunkBytes = 1 << 20;

export function isHttpUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** The export endpoint of a node, given the node's base URL (e.g. http://localhost:8080). */
export function logExportUrl(nodeUrl: string): string {
  return `${nodeUrl.replace(/\/+$/, '')}/api/v1/log?from=1`;
}

/** The attestations endpoint of a node, given the node's base URL. */
export function attestationsExportUrl(nodeUrl: string): string {
  return `${nodeUrl.replace(/\/+$/, '')}/api/v1/attestations/export`;
}

async function openFile(path: string): Promise<ByteSource> {
  let size: number;
  try {
    const stats = await stat(path);
    if (!stats.isFile()) throw new Error('not a regular file');
    size = stats.size;
  } catch (error) {
    throw new ReplayInputError(`cannot read ${path}: ${errorMessage(error)}`);
  }
  const stream = createReadStream(path, { highWaterMark: fileChunkBytes });
  return { chunks: stream, totalBytes: size, description: path, close: () => stream.destroy() };
}

async function openUrl(url: string): Promise<ByteSource> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    throw new ReplayInputError(
      `cannot fetch ${url}: ${errorMessage(error)}${cause !== undefined ? ` (${errorMessage(cause)})` : ''}`,
    );
  }
  if (!response.ok || response.body === null) {
    const text = await response.text().catch(() => '');
    throw new ReplayInputError(
      `${url} answered ${response.status} ${response.statusText}${text.length > 0 ? `: ${text.slice(0, 300)}` : ''}`,
    );
  }
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  return {
    chunks: bodyChunks(response),
    totalBytes: Number.isSafeInteger(length) ? length : undefined,
    description: url,
    close: () => void response.body?.cancel().catch(() => undefined),
  };
}

/**
 * The response's body, with the Response itself kept reachable until the body is read. Node's fetch (undici) cancels
 * a body that is not yet being read when its Response is garbage collected, so a source holding only `response.body`
 * could read an empty stream if a collection came before its first read: under load, a replay from a node's URL
 * failed so ("the export is truncated: the magic at byte 0 is incomplete").
 */
async function* bodyChunks(response: Response): AsyncGenerator<Uint8Array> {
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) yield chunk;
}

/** Opens a file path or an http(s) URL as a byte source. */
export function openByteSource(location: string): Promise<ByteSource> {
  return isHttpUrl(location) ? openUrl(location) : openFile(location);
}

/**
 * Passes chunks through, counting them, and turns any failure of the
 * underlying source (a file that vanished, a dropped connection) into a
 * ReplayInputError, so that callers can tell unreadable input from bugs.
 */
export class CountingByteSource implements AsyncIterable<Uint8Array> {
  bytesRead = 0;
  constructor(
    private readonly source: AsyncIterable<Uint8Array | string> | Uint8Array,
    private readonly description: string,
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.source instanceof Uint8Array) {
      this.bytesRead = this.source.length;
      yield this.source;
      return;
    }
    const iterator = this.source[Symbol.asyncIterator]();
    try {
      for (;;) {
        let step: IteratorResult<Uint8Array | string>;
        try {
          step = await iterator.next();
        } catch (error) {
          throw new ReplayInputError(`cannot read ${this.description}: ${errorMessage(error)}`);
        }
        if (step.done === true) return;
        if (typeof step.value === 'string')
          throw new ReplayInputError(`${this.description} yields text; read the export as bytes`);
        this.bytesRead += step.value.length;
        yield step.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
}

/**
 * Parses JSON Lines: one JSON value per line; blank lines (including a final
 * newline) are skipped. A line that is not JSON is a ReplayInputError naming
 * its line number.
 */
export async function* readJsonLines(
  chunks: AsyncIterable<Uint8Array | string>,
  description: string,
): AsyncGenerator<unknown> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  let lineNumber = 0;
  const parse = (line: string): unknown => {
    lineNumber += 1;
    try {
      return JSON.parse(line);
    } catch (error) {
      throw new ReplayInputError(`${description}, line ${lineNumber}: not JSON (${errorMessage(error)})`);
    }
  };
  try {
    for await (const chunk of chunks) {
      pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim().length > 0) yield parse(line);
        else lineNumber += 1;
        newline = pending.indexOf('\n');
      }
    }
    pending += decoder.decode();
  } catch (error) {
    if (error instanceof ReplayInputError) throw error;
    throw new ReplayInputError(`cannot read ${description}: ${errorMessage(error)}`);
  }
  if (pending.trim().length > 0) yield parse(pending);
}

/** Opens a JSON Lines file or URL of attestations; each item of `lines` is the parsed JSON of one line. */
export async function openAttestationLines(
  location: string,
): Promise<{ readonly lines: AsyncIterable<unknown>; close(): void }> {
  const source = await openByteSource(location);
  return { lines: readJsonLines(source.chunks, source.description), close: () => source.close() };
}
