import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestKey, type TestExchange } from '../src/test-support.js';

export const full = process.env.ADVERSARIAL_SCALE === 'full';
export const scale = {
  idleSockets: full ? 20_000 : 500,
  idleGenerators: full ? 4 : 1,
  idleSourceAddresses: full ? 40 : 2,
  honestTradingMs: full ? 30_000 : 6_000,
  forgedRequests: full ? 1_000 : 200,
  headRequests: full ? 500 : 40,
  webSocketConnections: full ? 10_000 : 200,
  silentSocketsAtShutdown: 100,
  concurrentWithdrawals: 60,
};
/**
 * Verified requests per key in the in-process node's (long) window: small, so the victim can be shown reaching its
 * own limit.
 */
export const perKeyBudget = 100;
/**
 * Per-IP connection bound of the server process under attack (the default is 256; lower, so the small scale reaches
 * it).
 */
export const serverConnectionsPerIp = 100;

export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const generatorModule = resolve(repositoryRoot, 'packages/api/test/idle-socket-generator.ts');

export interface Row {
  readonly attack: string;
  readonly outcome: string;
  readonly figures: string;
}
export const rows: Row[] = [];

/** Runs one attack; its row says what happened, FAILED included. */
export async function attack(name: string, body: () => Promise<{ outcome: string; figures: string }>): Promise<void> {
  try {
    const { outcome, figures } = await body();
    rows.push({ attack: name, outcome, figures });
  } catch (error) {
    rows.push({
      attack: name,
      outcome: 'FAILED',
      figures: error instanceof Error ? error.message.split('\n', 1)[0]!.slice(0, 120) : String(error),
    });
    throw error;
  }
}

/** The table of outcomes, printed when a file of the suite ends. */
export function printAttackTable(): void {
  const widths = [
    Math.max(6, ...rows.map((row) => row.attack.length)),
    Math.max(7, ...rows.map((row) => row.outcome.length)),
  ];
  const line = (cells: readonly string[]): string =>
    `| ${cells[0]!.padEnd(widths[0]!)} | ${cells[1]!.padEnd(widths[1]!)} | ${cells[2]} |`;
  const table = [
    `adversarial suite, ${full ? 'full' : 'small'} scale (ADVERSARIAL_SCALE=${full ? 'full' : 'small'})`,
    line(['attack', 'outcome', 'figures']),
    line(['-'.repeat(widths[0]!), '-'.repeat(widths[1]!), '---']),
    ...rows.map((row) => line([row.attack, row.outcome, row.figures])),
  ].join('\n');
  process.stdout.write(`\n${table}\n\n`);
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
  readonly bytes: number;
}

/** One HTTP request from a chosen loopback source address, on a connection of its own. */
export function requestFrom(
  baseUrl: string,
  localAddress: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const url = new URL(path, baseUrl);
  return new Promise((resolveAnswer, rejectAnswer) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: `${url.pathname}${url.search}`,
        localAddress,
        agent: false,
        headers: {
          ...headers,
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
            : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolveAnswer({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: parsed,
            bytes: Buffer.concat(chunks).length,
          });
        });
        response.on('error', rejectAnswer);
      },
    );
    outgoing.on('error', rejectAnswer);
    outgoing.setTimeout(30_000, () => outgoing.destroy(new Error(`${method} ${path} timed out`)));
    outgoing.end(body);
  });
}

/** The headers of a request signed over `signingString` by `key`. */
export function signatureHeaders(
  key: TestKey,
  signingString: string,
  timestampMs: number,
  window = '5000',
): Record<string, string> {
  return {
    'x-api-key': key.apiKey,
    'x-signature': key.sign(signingString),
    'x-timestamp': String(timestampMs),
    'x-window': window,
  };
}

/**
 * A far-from-market post-only bid of 1 SOL at 1 USDC (the demo markets' minimum order value), so it rests and can be
 * cancelled.
 */
export function restingBid(clientId: number): Record<string, string | number | boolean> {
  return { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '1', quantity: '1', postOnly: true, clientId };
}

/**
 * A connection that sends nothing; with allowHalfOpen it also keeps its side open after the server ends, as an
 * attacker would.
 */
export function openSilentSocket(port: number, localAddress = '127.0.0.1', allowHalfOpen = false): Promise<Socket> {
  return new Promise((resolveSocket, rejectSocket) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress, allowHalfOpen });
    socket.once('connect', () => resolveSocket(socket));
    socket.once('error', rejectSocket);
  });
}

export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function openFileLimitOf(pid: number): string {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return match === null ? 'unknown' : `${match[1]}/${match[2]}`;
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 25));
  }
}

/**
 * A TestExchange-shaped handle on a server process, for the test-support helpers that only use its URL and operator
 * key.
 */
export function exchangeHandleOf(baseUrl: string, operator: { publicKey: string; seed: Uint8Array }): TestExchange {
  return { baseUrl, operator, operatorKey: new TestKey(operator.seed) } as unknown as TestExchange;
}
