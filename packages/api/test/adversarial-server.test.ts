/**
 * The adversarial suite, part 2 (`pnpm test:adversarial`, and part of `pnpm test`): the attacks on a server
 * process started as `pnpm start` (idle sockets, SIGTERM with silent sockets, replays after restart and
 * snapshot). Scale, helpers and the table of outcomes: adversarial-support.ts; the attacks on an in-process
 * node: adversarial.test.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeSigningString } from '@vex/engine';
import { readOperatorKey } from '../src/operator-key.js';
import { deposit, freshTimestamp, signedRequest, TestKey } from '../src/test-support.js';
import { percentile, ServerProcess } from './load-generator.js';
import type { IdleSocketChildMessage, IdleSocketParentMessage, IdleSocketReport } from './idle-socket-generator.js';

import {
  full,
  scale,
  serverConnectionsPerIp,
  repositoryRoot,
  generatorModule,
  attack,
  printAttackTable,
  requestFrom,
  signatureHeaders,
  restingBid,
  openSilentSocket,
  openDescriptors,
  openFileLimitOf,
  waitFor,
  exchangeHandleOf,
} from './adversarial-support.js';

afterAll(printAttackTable);

// ---- attacks on a server process ----------------------------------------------------

describe('attacks on a server process (pnpm start)', { timeout: full ? 900_000 : 120_000 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  it('idle sockets, SIGTERM with silent sockets, replays after restart and snapshot', async () => {
    const dataDirectory = await mkdtemp(join(tmpdir(), 'vex-adversarial-'));
    cleanups.push(() => rm(dataDirectory, { recursive: true, force: true }));
    const start = (logName: string): Promise<ServerProcess> =>
      ServerProcess.start({
        args: ['--import', 'tsx', 'packages/api/src/main.ts'],
        cwd: repositoryRoot,
        env: {
          PORT: '0',
          DATA_DIR: dataDirectory,
          LOG_LEVEL: 'info',
          CONFIG: '',
          SNAPSHOT_EVERY: '5',
          MAX_CONNECTIONS_PER_IP: String(serverConnectionsPerIp),
        },
        logFile: join(dataDirectory, logName),
      });
    let server = await start('first.log');
    cleanups.push(async () => void server.kill('SIGKILL'));
    const operator = await readOperatorKey(join(dataDirectory, 'operator-key.json'));
    const exchange = exchangeHandleOf(server.url, operator);
    const trader = TestKey.random();
    await deposit(exchange, trader.apiKey, 'USDC', '1000000');
    const port = Number(new URL(server.url).port);

    // 1. Idle sockets from other processes, spread over loopback source addresses, while an honest trader trades.
    let replayable: { body: string; headers: Record<string, string> } | undefined;
    await attack(
      `1 idle sockets (${scale.idleSockets.toLocaleString('en')} from ${scale.idleGenerators} processes, ` +
        `${scale.idleSourceAddresses} addresses)`,
      async () => {
        const reports = new Map<number, IdleSocketReport>();
        const generators: ChildProcess[] = [];
        const perGenerator = Math.ceil(scale.idleSockets / scale.idleGenerators);
        for (let index = 0; index < scale.idleGenerators; index += 1) {
          const child = fork(generatorModule, [], {
            execArgv: ['--import', 'tsx'],
            stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
          });
          generators.push(child);
          child.on('message', (message: IdleSocketChildMessage | { type: 'error'; message: string }) => {
            if (message.type === 'report') reports.set(index, message);
          });
          // Each generator has addresses of its own: 127.0.0.(10 + n).
          const sourceAddresses = Array.from(
            { length: Math.max(1, Math.floor(scale.idleSourceAddresses / scale.idleGenerators)) },
            (_, offset) =>
              `127.0.0.${10 + index * Math.ceil(scale.idleSourceAddresses / scale.idleGenerators) + offset}`,
          );
          child.send({
            type: 'open',
            host: '127.0.0.1',
            port,
            count: perGenerator,
            sourceAddresses,
            reconnectDelayMs: 5_000,
          } satisfies IdleSocketParentMessage);
        }
        cleanups.push(async () => {
          for (const child of generators) child.kill('SIGKILL');
        });
        const held = (): number => [...reports.values()].reduce((total, report) => total + report.open, 0);
        const expectedHeld = Math.min(scale.idleSockets, scale.idleSourceAddresses * serverConnectionsPerIp);
        await waitFor(
          () => reports.size === scale.idleGenerators && held() >= expectedHeld * 0.9,
          120_000,
          'the idle sockets to be opened',
        );

        // The honest trader: place and cancel, one request at a time, from 127.0.0.1.
        const latenciesMs: number[] = [];
        const statuses = new Map<number, number>();
        let peakDescriptors = 0;
        let peakHeld = 0;
        const tradingEnds = Date.now() + scale.honestTradingMs;
        let previousPairStartedMs = -Infinity;
        for (let clientId = 1; Date.now() < tradingEnds; clientId += 1) {
          // Paced at 50 requests a second, well inside its own key's limit (100 a second), as an honest bot would be.
          const waitMs = previousPairStartedMs + 40 - performance.now();
          if (waitMs > 0) await new Promise((resolvePace) => setTimeout(resolvePace, waitMs));
          previousPairStartedMs = performance.now();
          const started = performance.now();
          const placed = await signedRequest(exchange, trader, 'POST', '/api/v1/order', 'orderExecute', {
            body: restingBid(clientId),
            window: '60000',
          });
          latenciesMs.push(performance.now() - started);
          statuses.set(placed.status, (statuses.get(placed.status) ?? 0) + 1);
          if (placed.status !== 200) continue;
          const cancelStarted = performance.now();
          const cancelled = await signedRequest(exchange, trader, 'DELETE', '/api/v1/order', 'orderCancel', {
            body: { symbol: 'SOL_USDC', orderId: placed.body.id },
          });
          latenciesMs.push(performance.now() - cancelStarted);
          statuses.set(cancelled.status, (statuses.get(cancelled.status) ?? 0) + 1);
          peakDescriptors = Math.max(peakDescriptors, openDescriptors(server.pid));
          peakHeld = Math.max(peakHeld, held());
        }
        // One more order, kept for the replay after the restart (a 60 s window, so it is still fresh then).
        const timestampMs = freshTimestamp();
        const body = JSON.stringify(restingBid(999_999));
        const signingString = encodeSigningString(
          [
            {
              instruction: 'orderExecute',
              params: Object.entries(restingBid(999_999)).map(([key, value]) => [key, String(value)]),
            },
          ],
          timestampMs,
          60_000,
        );
        replayable = { body, headers: signatureHeaders(trader, signingString, timestampMs, '60000') };
        const kept = await requestFrom(server.url, '127.0.0.1', 'POST', '/api/v1/order', replayable.headers, body);
        expect(kept.status, JSON.stringify(kept.body)).toBe(200);

        const refusedAnswers = [...reports.values()].reduce((total, report) => total + report.refusedAnswers, 0);
        const closedByServer = [...reports.values()].reduce((total, report) => total + report.closed, 0);
        for (const child of generators) child.send({ type: 'exit' } satisfies IdleSocketParentMessage);
        const status = (await (await fetch(`${server.url}/api/v1/status`)).json()) as Record<string, unknown>;
        latenciesMs.sort((left, right) => left - right);
        const requests = latenciesMs.length;
        // Every honest request answered 200, none slow, and the node never halted.
        expect([...statuses.keys()]).toEqual([200]);
        expect(requests).toBeGreaterThan(10);
        // Generous: the attacker's processes and other test suites share the two cores with the server.
        expect(percentile(latenciesMs, 0.99)).toBeLessThan(full ? 10_000 : 5_000);
        expect(status).toMatchObject({ status: 'Ok' });
        expect(server.logText()).not.toMatch(/ledger halted/);
        // The server holds no more attack connections than the per-IP bound allows, and stays far from its
        // descriptor limit. (The attacker's own count includes connections the kernel completed that wait
        // in the accept queue, or that the server is about to refuse; the server's descriptors are the truth.)
        const attackBound = scale.idleSourceAddresses * serverConnectionsPerIp;
        expect(peakDescriptors).toBeLessThanOrEqual(attackBound + 300);
        return {
          outcome: 'bounded; honest trading continued',
          figures:
            `attacker saw ≤ ${peakHeld} connected (bound ${attackBound}: ${serverConnectionsPerIp}/IP), ` +
            `${refusedAnswers} refusals, ${closedByServer} closed by server; ` +
            `server fds peak ${peakDescriptors} of ${openFileLimitOf(server.pid)}; ` +
            `honest ${requests} requests all 200, ` +
            `p50 ${percentile(latenciesMs, 0.5).toFixed(0)} ms, p99 ${percentile(latenciesMs, 0.99).toFixed(0)} ms, ` +
            `max ${latenciesMs.at(-1)!.toFixed(0)} ms; no halt`,
        };
      },
    );

    // 6. SIGTERM with silent sockets open: exit 0 after a short grace, with a clean close and a final attestation.
    await attack(`6 SIGTERM with ${scale.silentSocketsAtShutdown} silent sockets`, async () => {
      const sockets = await Promise.all(
        Array.from({ length: scale.silentSocketsAtShutdown }, () => openSilentSocket(port)),
      );
      const started = Date.now();
      const exit = await server.stop('SIGTERM', 25_000);
      const tookMs = Date.now() - started;
      for (const socket of sockets) socket.destroy();
      const log = server.logText();
      expect(exit).toEqual({ code: 0, signal: null });
      expect(tookMs).toBeLessThan(15_000);
      expect(log).toMatch(/"msg":"ledger closed"/);
      expect(log).toMatch(/"msg":"stopped"/);
      const destroyed = /"destroyed":(\d+)[^\n]*grace period/.exec(log)?.[1] ?? '0';
      return {
        outcome: 'exit 0, clean close',
        figures:
          `stopped in ${(tookMs / 1000).toFixed(1)} s (3 s grace, ${destroyed} sockets destroyed after it), ` +
          'ledger closed',
      };
    });

    // Held: replays after a restart that recovered from a snapshot (SNAPSHOT_EVERY=5).
    await attack('held: replay after restart and snapshot', async () => {
      server = await start('second.log');
      const status = (await (await fetch(`${server.url}/api/v1/status`)).json()) as { sequence: number };
      const latest = (await (await fetch(`${server.url}/api/v1/attestations`)).json()) as Array<{ sequence: number }>;
      // The clean stop attested the head; the attestation's record (docs/attestation.md) is the entry after it.
      expect(latest[0]?.sequence).toBe(status.sequence - 1);
      expect(server.logText()).toMatch(/ledger recovered \d+ entries \(\d+ replayed after snapshot \d+\)/);
      const replay = await requestFrom(
        server.url,
        '127.0.0.1',
        'POST',
        '/api/v1/order',
        replayable!.headers,
        replayable!.body,
      );
      // Within its 60 s window it is a duplicate; a slow restart may have let the window pass instead.
      expect([
        ['409', 'DUPLICATE_REQUEST'],
        ['400', 'INVALID_TIMESTAMP'],
      ]).toContainEqual([String(replay.status), replay.body.code]);
      const after = (await (await fetch(`${server.url}/api/v1/status`)).json()) as { sequence: number };
      expect(after.sequence).toBe(status.sequence);
      const exit = await server.stop('SIGTERM');
      expect(exit.code).toBe(0);
      return {
        outcome: `refused (${replay.status})`,
        figures:
          `${replay.body.code} after recovery from a snapshot at ${status.sequence}; ` +
          'final attestation at the head',
      };
    });
  });
});
