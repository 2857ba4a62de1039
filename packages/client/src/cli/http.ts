/** The CLI's own HTTP: plain fetch with refusals as ExchangeError, signed GETs the SDK has no method for, downloads. */
import { constants as fsConstants } from 'node:fs';
import { access, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { ExchangeError, errorFromResponse, isErrorBody } from '../errors.js';
import { Signer, defaultWindowMs, signedHeaders, sortedParameters, type InstructionParameters } from '../signing.js';
import { UsageError, required, type Context } from './command.js';

/** fetch, with network failures and refusals turned into ExchangeError. */
export async function request(url: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? ` (${cause.message})` : '';
    throw new ExchangeError(
      'NETWORK_ERROR',
      `${init.method ?? 'GET'} ${url} failed: ${(error as Error).message}${detail}`,
      0,
    );
  }
  if (!response.ok) throw errorFromResponse(response.status, response.statusText, await response.text());
  return response;
}

/**
 * A signed GET of a native route the SDK has no method for: the signing
 * string is built by the SDK's signer, exactly as for Backpack's routes.
 */
export async function signedGet(
  context: Context,
  secret: string,
  route: string,
  instruction: string,
  query: InstructionParameters,
): Promise<unknown> {
  const signed = new Signer(secret).sign([{ instruction, params: query }], {
    timestampMs: Date.now(),
    windowMs: context.windowMs ?? defaultWindowMs,
  });
  const pairs = sortedParameters(query).map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
  const url = `${context.url.replace(/\/+$/, '')}${route}${pairs.length > 0 ? `?${pairs.join('&')}` : ''}`;
  const response = await request(url, {
    method: 'GET',
    headers: { Accept: 'application/json', ...signedHeaders(signed) },
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text.length === 0 ? null : JSON.parse(text);
  } catch {
    throw new ExchangeError(
      'INVALID_RESPONSE',
      `GET ${route} answered with something other than JSON.`,
      response.status,
      text,
    );
  }
  if (isErrorBody(parsed)) throw errorFromResponse(response.status, response.statusText, text);
  return parsed;
}

/**
 * Streams GET `route` to --out byte for byte: first to <out>.partial, renamed
 * once the download is complete, so a broken download never leaves a file
 * that looks whole. An existing --out is kept unless --force.
 */
export async function download(
  context: Context,
  route: string,
  accept: string,
  what: string,
): Promise<{ result: { file: string; bytes: number }; response: Response }> {
  const out = required(context.values, 'out');
  if (context.values.force !== true) {
    const exists = await stat(out).then(
      () => true,
      () => false,
    );
    if (exists) throw new UsageError(`${out} already exists; pass --force to replace it.`);
  }
  try {
    await access(path.dirname(path.resolve(out)), fsConstants.W_OK);
  } catch {
    throw new UsageError(`cannot write to the directory of ${out}.`);
  }
  const url = `${context.url.replace(/\/+$/, '')}${route}`;
  const response = await request(url, { method: 'GET', headers: { Accept: accept } });
  const partial = `${out}.partial`;
  // Created exclusively and without following links: a <out>.partial planted in a shared
  // directory (a symlink to a file of the user's) is refused, never written through.
  let handle;
  try {
    handle = await open(
      partial,
      fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
      0o644,
    );
  } catch (error) {
    await response.body?.cancel().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ELOOP') {
      throw new UsageError(
        `${partial} already exists (left by a broken download, or put there by someone else); remove it and try again.`,
      );
    }
    throw new UsageError(`cannot write ${partial}: ${(error as Error).message}`);
  }
  try {
    if (response.body === null) await handle.close();
    else await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), handle.createWriteStream());
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(partial).catch(() => undefined);
    throw new ExchangeError(
      'NETWORK_ERROR',
      `the ${what} from ${url} broke off: ${(error as Error).message}`,
      response.status,
    );
  }
  await rename(partial, out);
  const { size } = await stat(out);
  return { result: { file: out, bytes: size }, response };
}
