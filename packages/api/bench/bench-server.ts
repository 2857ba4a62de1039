/**
 * `pnpm bench:node --role server` (node.bench.ts starts it as a child process): main.ts's start-up without rate
 * limits, plus statistics on SIGUSR2, which the bench reads at each phase's boundaries.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { lowerPoolThreads, watchSnapshots } from './node-figures.js';
import { watchStages } from './request-stages.js';
import { watchPauses } from './tail-windows.js';

export async function serverRole(): Promise<void> {
  const { pino } = await import('pino');
  const { ExchangeNode } = await import('@vex/ledger');
  const { applyListings } = await import('../src/bootstrap.js');
  const { assetInfoOf, demoConfig, genesisOf } = await import('../src/config.js');
  const { loadOrCreateOperatorKey } = await import('../src/operator-key.js');
  const { buildServer } = await import('../src/server.js');
  const dataDirectory = resolve(process.env.DATA_DIR ?? './data');
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const config = demoConfig();
  await mkdir(dataDirectory, { recursive: true });
  const operator = await loadOrCreateOperatorKey(dataDirectory);
  const snapshotEveryEntries = Number(process.env.SNAPSHOT_EVERY ?? '10000');
  const node = await ExchangeNode.open({
    dataDirectory,
    genesis: genesisOf(config, operator.key.publicKey),
    logger,
    snapshotEveryEntries,
    // SNAPSHOTS_ON_SEQUENCER=1: the snapshots built on the sequencer thread, as before the snapshot worker, to compare.
    snapshotsOnSequencer: process.env.SNAPSHOTS_ON_SEQUENCER === '1',
    // SNAPSHOT_FOLLOW_MS=n: durable entries gathered for n ms per message to the snapshot worker (0: per batch).
    ...(process.env.SNAPSHOT_FOLLOW_MS === undefined
      ? {}
      : { snapshotFollowIntervalMs: Number(process.env.SNAPSHOT_FOLLOW_MS) }),
    // SNAPSHOT_WORKER_NICENESS=n: the snapshot worker n nice steps below the node (default 10), to compare settings.
    ...(process.env.SNAPSHOT_WORKER_NICENESS === undefined
      ? {}
      : { snapshotWorkerNiceness: Number(process.env.SNAPSHOT_WORKER_NICENESS) }),
    // VERIFIER_THREADS=n: signature threads (default: one fewer than the cores, at least one), to compare settings.
    ...(process.env.VERIFIER_THREADS === undefined ? {} : { verifierThreads: Number(process.env.VERIFIER_THREADS) }),
    // INLINE_VERIFY_MAX=n: signatures verified on the main thread when a flush holds at most n (to compare settings).
    ...(process.env.INLINE_VERIFY_MAX === undefined
      ? {}
      : { inlineVerificationMaximum: Number(process.env.INLINE_VERIFY_MAX) }),
  });
  await applyListings(node, operator.key, config);
  // UV_POOL_NICENESS=n: libuv's pool threads (LevelDB's synced writes among them) n nice steps lower, to compare.
  if (process.env.UV_POOL_NICENESS !== undefined) await lowerPoolThreads(Number(process.env.UV_POOL_NICENESS));
  // All load comes from 127.0.0.1: no per-IP bounds (the benchmark measures the node, not the guards).
  const app = buildServer({ node, logger, assets: assetInfoOf(config), rateLimits: false, connectionLimits: false });
  // STAGES=1 (--stages): each phase's requests timed inside the server, stage by stage (request-stages.ts).
  const stages = process.env.STAGES === '1' ? watchStages(node, app) : undefined;
  await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? '0') });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const snapshots = watchSnapshots(() => node.state.headSequence, snapshotEveryEntries);
  const pauses = watchPauses((listener) => node.subscribeCommits(listener));
  const statistics = (): void => {
    const utilization = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    // Event-loop delay since the previous report: how long the main thread was blocked at worst.
    const loopDelay = { p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
    delay.reset();
    process.stdout.write(
      `bench-server statistics ${JSON.stringify({
        node: node.statistics(),
        eventLoop: { idleMs: utilization.idle, activeMs: utilization.active, ...loopDelay },
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        snapshotWindows: snapshots.windows,
        pauses,
        stages: stages?.(),
        atMs: performance.now(),
      })}\n`,
    );
  };
  process.on('SIGUSR2', statistics);
  const shutdown = async (): Promise<void> => {
    statistics();
    await app.close();
    await node.close();
    logger.flush();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.stdout.write(
    `exchange listening on http://127.0.0.1:${port}\noperator public key ${operator.key.publicKey}\n`,
  );
}
