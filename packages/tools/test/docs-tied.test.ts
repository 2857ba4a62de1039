/**
 * Docs tied to the code, as fastify ties its error catalogue to its docs:
 * the result-code table of docs/protocol.md, the status map of docs/api.md
 * and the engine's catalogue (with the API's status for each code) say the
 * same; every instruction the engine parses is documented; every route the
 * server registers is in docs/api.md and in the OpenAPI document, and the
 * OpenAPI document has no route the server lacks.
 *
 * After the margin work's instruction catalogue lands in packages/engine,
 * `engineInstructionNames` should read it instead of the parser's switch.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { buildServer, demoConfig, genesisOf, httpStatusFor } from '@vex/api';
import { operatorInstructionKinds, queryInstructions, resultCodes } from '@vex/engine';
import { ExchangeNode } from '@vex/ledger';
import { repositoryRoot } from './source-tree.js';

const readDoc = (name: string): Promise<string> => readFile(path.join(repositoryRoot, 'docs', name), 'utf8');

/** The rows of the Markdown table that follows `heading` (a line starting with it): cells, header and rule dropped. */
function tableAfter(text: string, heading: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith(heading));
  expect(start, `heading "${heading}"`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    const trimmed = line.trim();
    if (trimmed.startsWith('|')) {
      inTable = true;
      rows.push(
        trimmed
          .slice(1, -1)
          .split('|')
          .map((cell) => cell.trim()),
      );
    } else if (inTable) {
      break;
    }
  }
  return rows.slice(2);
}

const codesIn = (cell: string): string[] => [...cell.matchAll(/`([A-Z][A-Z_]+)`/g)].map((match) => match[1]!);

describe('result codes: one catalogue, three places', () => {
  it('docs/protocol.md §10 lists exactly the engine catalogue, with the status the API answers', async () => {
    const rows = tableAfter(await readDoc('protocol.md'), '## 10. Result codes');
    const documented = rows.map((row) => ({ code: codesIn(row[0]!)[0], status: Number(row.at(-1)) }));
    expect(documented.map((row) => row.code)).toEqual(Object.keys(resultCodes));
    for (const { code, status } of documented) expect(status, code).toBe(httpStatusFor(code!));
  });

  it("docs/api.md's status map gives every code the status the API answers", async () => {
    const rows = tableAfter(await readDoc('api.md'), '- **Errors**');
    const statusOf = new Map<string, number>();
    for (const row of rows) {
      // A cell's codes with a parenthesis after them are special cases of another status (431, 415, 426).
      const plain = row[1]!.replace(/\s*\([^)]*\)/g, '');
      const isSpecialCase = row[1]!.trim().startsWith('`') && codesIn(plain).length === 1 && /\(/.test(row[1]!);
      for (const code of codesIn(plain)) {
        if (isSpecialCase && statusOf.has(code)) continue;
        if (isSpecialCase && httpStatusFor(code) !== Number(row[0])) continue;
        statusOf.set(code, Number(row[0]));
      }
    }
    expect([...statusOf.keys()].sort()).toEqual(Object.keys(resultCodes).sort());
    for (const [code, status] of statusOf) expect(status, code).toBe(httpStatusFor(code));
  });

  it('every code named in docs/ is in the catalogue', async () => {
    // docs/client.md also names the SDK's own codes (INVALID_RESPONSE), which never come from the server.
    for (const name of ['protocol.md', 'api.md', 'matching.md']) {
      const text = await readDoc(name);
      const named = [...text.matchAll(/`([A-Z]+(?:_[A-Z]+)+)`/g)].map((match) => match[1]!);
      const codeShaped = named.filter((code) =>
        /^(INVALID|ORDER|DUPLICATE|RESOURCE|INSUFFICIENT|REQUEST|SERVICE|SERVER|TOO|NOT|ALREADY)_/.test(code),
      );
      expect(
        codeShaped.filter((code) => !(code in resultCodes)),
        name,
      ).toEqual([]);
    }
  });
});

/** The instruction names the engine's parser accepts: its switch's cases, the queries and the operator instructions. */
async function engineInstructionNames(): Promise<string[]> {
  const file = path.join(repositoryRoot, 'packages/engine/src/instruction.ts');
  const source = ts.createSourceFile(file, await readFile(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const names = new Set<string>([...queryInstructions, ...operatorInstructionKinds]);
  const visit = (node: ts.Node): void => {
    if (ts.isSwitchStatement(node) && node.expression.getText(source).endsWith('.instruction')) {
      for (const clause of node.caseBlock.clauses) {
        if (ts.isCaseClause(clause) && ts.isStringLiteral(clause.expression)) names.add(clause.expression.text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...names].sort();
}

describe('instructions', () => {
  it('every instruction the engine parses is defined in docs/protocol.md §4 (a query in §4.4)', async () => {
    const protocol = await readDoc('protocol.md');
    const queriesStart = protocol.indexOf('### 4.4 Queries');
    const queriesSection = protocol.slice(queriesStart, protocol.indexOf('\n## ', queriesStart));
    const queries: ReadonlySet<string> = new Set(queryInstructions);
    const names = await engineInstructionNames();
    expect(names.length).toBeGreaterThan(20);
    const documented = (name: string): boolean =>
      queries.has(name) ? queriesSection.includes(`\`${name}\``) : protocol.includes(`**${name}**`);
    expect(names.filter((name) => !documented(name))).toEqual([]);
  });

  it("docs/matching.md's list of operator instructions is the engine's", async () => {
    const matching = await readDoc('matching.md');
    const sentence = /Operator instructions \(([^)]*)\)/.exec(matching.replace(/\n/g, ' '));
    expect(sentence).not.toBeNull();
    expect(codesOrNames(sentence![1]!).sort()).toEqual([...operatorInstructionKinds].sort());
  });
});

const codesOrNames = (text: string): string[] => [...text.matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1]!);

interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
}

/** Builds the real server over a real node and records every route it registers. */
async function registeredRoutes(): Promise<{ routes: RegisteredRoute[]; openApi: { paths: Record<string, object> } }> {
  const dataDirectory = await mkdtemp(path.join(tmpdir(), 'vex-docs-tied-'));
  const node = await ExchangeNode.open({
    dataDirectory,
    genesis: genesisOf(demoConfig(), Buffer.from(randomBytes(32)).toString('base64')),
    verifierThreads: 1,
    logger: pino({ level: 'silent' }),
  });
  const app = buildServer({ node, logger: false, rateLimits: false });
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method, url: route.url });
  });
  try {
    await app.ready();
    return { routes, openApi: app.swagger() as unknown as { paths: Record<string, object> } };
  } finally {
    await app.close();
    await node.close();
    await rm(dataDirectory, { recursive: true, force: true });
  }
}

describe('routes', () => {
  it('every route the server registers is in docs/api.md and in the OpenAPI document, and no other', async () => {
    const { routes, openApi } = await registeredRoutes();
    const api = await readDoc('api.md');
    const headings = api.split('\n').filter((line) => line.startsWith('#'));
    // HEAD routes fastify adds beside each GET are implied; the explicit HEAD routes are documented with their GET.
    const explicit = routes.filter(
      (route) => route.method !== 'HEAD' || !routes.some((other) => other.method === 'GET' && other.url === route.url),
    );
    expect(explicit.length).toBeGreaterThan(30);
    const undocumented = explicit.filter((route) => {
      if (route.url === '/ws' || route.url === '/')
        return !api.includes(`ws://<host>${route.url === '/' ? '/ws` (or `/`)' : '/ws'}`);
      const method = route.method === 'HEAD' ? 'GET' : route.method;
      return !headings.some((heading) =>
        new RegExp(`\\b${method} ${route.url.replaceAll('/', '\\/')}(?![\\w/])`).test(heading),
      );
    });
    expect(undocumented).toEqual([]);
    const openApiRoutes = Object.entries(openApi.paths).flatMap(([url, methods]) =>
      // OpenAPI writes a path parameter as {name}, fastify as :name.
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${url.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const served = new Set(routes.map((route) => `${route.method} ${route.url}`));
    const notInOpenApi = explicit
      .filter((route) => route.url !== '/ws' && route.url !== '/')
      .map((route) => `${route.method} ${route.url}`)
      .filter((route) => !openApiRoutes.includes(route));
    expect(notInOpenApi).toEqual([]);
    expect(openApiRoutes.filter((route) => !served.has(route))).toEqual([]);
  });
});
