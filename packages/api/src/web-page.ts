/**
 * The proof-of-reserves page (packages/web, docs/web.md), served by the node:
 * its built index.html at `/` (a plain GET; a WebSocket upgrade at `/` is
 * still the stream endpoint, websocket.ts) and its hashed files under
 * /assets/. The page is built by `pnpm install` / `pnpm build`
 * (scripts/build.mjs); a node whose page was never built answers `/` with 503
 * and says how to build it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from './errors.js';

/** packages/web/dist, found through the @vex/web package. */
export const webPageDirectory = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@vex/web/package.json')),
  'dist',
);

const contentTypes: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The page's own scripts and styles only; fetches may go to this node and to
 * the custody chain's JSON-RPC endpoint, wherever GET /api/v1/custody says it is.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http: https:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

async function readPageFile(file: string): Promise<Buffer> {
  try {
    return await readFile(path.join(webPageDirectory, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (file === 'index.html') {
      throw new ApiError(
        'SERVICE_UNAVAILABLE',
        'The proof-of-reserves page is not built: run `pnpm build` (or `pnpm install`).',
      );
    }
    throw new ApiError('RESOURCE_NOT_FOUND', `No page file ${file}.`);
  }
}

/** Answers GET / with the page. */
export async function sendWebPage(reply: FastifyReply): Promise<FastifyReply> {
  const page = await readPageFile('index.html');
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('content-security-policy', contentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .send(page);
}

/** GET /assets/<file>: the page's built files, named by their content hash, so cached for good. */
export function registerWebPageAssets(app: FastifyInstance): void {
  app.get(
    '/assets/:file',
    {
      schema: {
        summary: "The proof-of-reserves page's built files (docs/web.md)",
        tags: ['page'],
        params: {
          type: 'object',
          required: ['file'],
          properties: { file: { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', maxLength: 200 } },
        },
      },
    },
    async (request, reply) => {
      const { file } = request.params as { file: string };
      const type = contentTypes[path.extname(file)];
      if (type === undefined) throw new ApiError('RESOURCE_NOT_FOUND', `No page file ${file}.`);
      const content = await readPageFile(path.join('assets', file));
      return reply
        .type(type)
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .send(content);
    },
  );
}
