import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attestationsExportUrl,
  CountingByteSource,
  logExportUrl,
  openByteSource,
  readJsonLines,
} from './input-source.js';
import { ReplayInputError } from './replay-input-error.js';

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

async function* chunks(...parts: Array<string | number[]>): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? new TextEncoder().encode(part) : Uint8Array.from(part);
}

describe('readJsonLines', () => {
  it('parses one value per line across chunk boundaries, skipping blank lines, with or without a final newline', async () => {
    expect(await collect(readJsonLines(chunks('{"a":', '1}\n\n[2', ',3]\n"é', '"'), 'lines'))).toEqual([
      { a: 1 },
      [2, 3],
      'é',
    ]);
    // A multi-byte character split between chunks is decoded whole.
    expect(await collect(readJsonLines(chunks([0x22, 0xc3], [0xa9, 0x22, 0x0a]), 'lines'))).toEqual(['é']);
  });

  it('names the line that is not JSON, and refuses bytes that are not UTF-8', async () => {
    await expect(collect(readJsonLines(chunks('1\n\n{oops}\n'), 'attestations.jsonl'))).rejects.toThrow(
      'attestations.jsonl, line 3: not JSON',
    );
    await expect(collect(readJsonLines(chunks([0x31, 0xff, 0x0a]), 'bad'))).rejects.toBeInstanceOf(ReplayInputError);
  });
});

describe('sources', () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/api/v1/log?from=1') response.end(Buffer.from('log bytes'));
      else {
        response.statusCode = 404;
        response.end('{"code":"NOT_FOUND"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('builds the node endpoints from a base URL', () => {
    expect(logExportUrl('http://node:8080/')).toBe('http://node:8080/api/v1/log?from=1');
    expect(attestationsExportUrl('http://node:8080')).toBe('http://node:8080/api/v1/attestations/export');
  });

  it('streams a URL, and reports a failing status or a missing file as bad input', async () => {
    const source = await openByteSource(logExportUrl(baseUrl));
    const counted = new CountingByteSource(source.chunks, source.description);
    expect(Buffer.concat(await collect(counted)).toString()).toBe('log bytes');
    expect(counted.bytesRead).toBe(9);
    await expect(openByteSource(attestationsExportUrl(baseUrl))).rejects.toThrow(
      /answered 404 Not Found: \{"code":"NOT_FOUND"\}/,
    );
    await expect(openByteSource('/nonexistent/log.vexlog')).rejects.toThrow(/cannot read \/nonexistent\/log.vexlog/);
  });

  it('reads the whole body of a URL even when garbage is collected before the first read', async () => {
    // Node's fetch cancels a body nobody reads yet once its Response is collected: the source must keep the Response
    // reachable (a replay from a node's URL under load read an empty export so).
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    const source = await openByteSource(logExportUrl(baseUrl));
    for (let round = 0; round < 3; round += 1) {
      collectGarbage();
      // FinalizationRegistry callbacks run as tasks after a collection.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(Buffer.concat(await collect(source.chunks)).toString()).toBe('log bytes');
  });
});
