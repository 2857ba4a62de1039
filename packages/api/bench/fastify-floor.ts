/**
 * The physical floor of the node's cost per request (node.bench.ts): a bare
 * fastify server with one POST route and a JSON schema for the body, nothing
 * behind it, sent the same signed order requests (body and headers) over 32
 * keep-alive connections. Its process CPU per request is what HTTP, fastify
 * and JSON cost on this machine before the node does anything; beside one
 * node:crypto verification it shows how low cpuRatio can go at all.
 *
 * The same server, sent single orders open loop at the node's half-load rate
 * over as many connections, gives the latency floor: what the machine, HTTP
 * and the load generator alone put in the p99 before the node does anything.
 *
 * Run as a script it is the floor server (prints `exchange listening on …`,
 * answers SIGUSR2 with its process CPU); floorCost() drives it from the bench.
 */
import { threadTimes, totalMs } from './node-figures.js';

async function serve(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  // The order body's fields as the exchange's schema names them: strings, an optional number or boolean.
  const text = { type: 'string', maxLength: 64 };
  app.post(
    '/api/v1/order',
    {
      schema: {
        body: {
          type: 'object',
          required: ['symbol', 'side', 'orderType'],
          properties: {
            symbol: text,
            side: text,
            orderType: text,
            price: text,
            quantity: text,
            timeInForce: text,
            selfTradePrevention: text,
            clientId: { type: 'integer' },
            postOnly: { type: 'boolean' },
          },
        },
      },
    },
    // An answer of about an order's size.
    (request) => ({ id: '1', status: 'New', ...(request.body as Record<string, unknown>) }),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
  process.stdout.write(`exchange listening on http://127.0.0.1:${port}\n`);
}

export interface FloorFigures {
  /** The floor server's process CPU (all threads) per answered request, in µs. */
  readonly cpuUsPerRequest: number;
  readonly answered: number;
  /** Latency of the paced run (from when each request was due, as the node's half-load phase), if one was asked. */
  readonly paced?: {
    readonly ratePerSec: number;
    readonly connections: number;
    readonly answered: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
  };
}

/** An open-loop run at the node's half-load rate (node.bench.ts, phase 2): the latency floor. */
export interface PacedFloorRun {
  readonly ratePerSec: number;
  readonly connections: number;
  readonly requests: ReadonlyArray<import('../test/load-generator.js').SignedRequest>;
}

/**
 * Starts the floor server, sends it `requests` (single orders) closed loop, and measures its CPU per request; then,
 * if `paced` is given, sends its requests open loop at its rate and measures their latency.
 */
export async function floorCost(
  requests: ReadonlyArray<import('../test/load-generator.js').SignedRequest>,
  directory: string,
  paced?: PacedFloorRun,
): Promise<FloorFigures> {
  const { ServerProcess } = await import('../test/load-generator.js');
  const { summarize } = await import('../test/load/summaries.js');
  const { runLoad } = await import('../test/load/drivers.js');
  const server = await ServerProcess.start({
    args: ['--import', 'tsx', new URL(import.meta.url).pathname, '--role', 'floor'],
    cwd: process.cwd(),
    env: {},
    logFile: `${directory}/floor.log`,
  });
  try {
    const run = (count: number) =>
      runLoad(requests.slice(0, count), {
        url: server.url,
        connections: 32,
        mode: { kind: 'closed' },
        deadlineMs: 60_000,
      }).done;
    await run(Math.min(requests.length, 2_000)); // warm-up: fastify's and V8's compilers
    const processTimes = (): number => {
      const times = threadTimes(server.pid);
      return totalMs(times.main) + [...times.other.values()].reduce((sum, thread) => sum + totalMs(thread), 0);
    };
    const before = processTimes();
    const results = await run(requests.length);
    const cpuMs = processTimes() - before;
    const answered = results.filter((result) => result.status === 200).length;
    const figures = { cpuUsPerRequest: (cpuMs * 1000) / Math.max(1, answered), answered };
    if (paced === undefined) return figures;
    const pacedResults = await runLoad(paced.requests, {
      url: server.url,
      connections: paced.connections,
      mode: { kind: 'open', ratePerSec: paced.ratePerSec },
      deadlineMs: 60_000,
    }).done;
    // Summarised as the node's phases are: latency of the 2xx answers from when each request was due.
    const summary = summarize(paced.requests, pacedResults);
    return {
      ...figures,
      paced: {
        ratePerSec: paced.ratePerSec,
        connections: paced.connections,
        answered: summary.acknowledged,
        p50Ms: summary.latencyMs.p50,
        p99Ms: summary.latencyMs.p99,
      },
    };
  } finally {
    await server.stop('SIGTERM');
  }
}

if (process.argv.includes('--role') && process.argv[process.argv.indexOf('--role') + 1] === 'floor') {
  serve().catch((error: unknown) => {
    process.stderr.write(`fastify floor: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

/** Phase 2 of the node's run, which the paced floor run repeats: its rate, length and connections. */
export interface PacedPhase {
  readonly ratePerSec: number;
  readonly seconds: number;
  readonly connections: number;
}

/**
 * The floor's figures for node.bench.ts: 30,000 signed requests' orders closed loop (its CPU), then as many single
 * orders as phase 2 sent, paced as phase 2 (its latency).
 */
export async function measureFloor(
  traders: readonly import('../test/load-generator.js').Ed25519Key[],
  directory: string,
  phase: PacedPhase,
): Promise<FloorFigures> {
  const { OrderFlow } = await import('../test/load-generator.js');
  const requests = new OrderFlow({ seed: 0xf1004, traders })
    .batch(30_000, Date.now())
    .filter((request) => request.kind === 'order');
  const pacedCount = Math.max(100, phase.ratePerSec * phase.seconds);
  const pacedRequests = new OrderFlow({ seed: 0xf1005, traders })
    .batch(Math.ceil(pacedCount * 1.5), Date.now())
    .filter((request) => request.kind === 'order')
    .slice(0, pacedCount);
  return floorCost(requests, directory, { ...phase, requests: pacedRequests });
}

/** The report's lines on the floor, beside the node's cpuRatio and phase 2's latency. */
export function describeFloor(
  floor: FloorFigures,
  node: { readonly verifyCpuUs: number; readonly cpuRatio: number; readonly p50Ms: number; readonly p99Ms: number },
  format: (value: number, digits?: number) => string,
): string[] {
  const floorRatio = floor.cpuUsPerRequest / node.verifyCpuUs;
  const lines = [
    `fastify floor (a bare POST route with a JSON schema, ${format(floor.answered)} single orders, 32 connections): ` +
      `${format(floor.cpuUsPerRequest, 1)} µs of server CPU per request = ${format(floorRatio, 2)} node:crypto ` +
      `verifications; the node's cpuRatio less this floor: ${format(node.cpuRatio - floorRatio, 2)}`,
  ];
  if (floor.paced !== undefined)
    lines.push(
      `latency floor (the same bare route, ${format(floor.paced.answered)} single orders open loop at phase 2's ` +
        `${format(floor.paced.ratePerSec)}/s over ${floor.paced.connections} connections, timed as phase 2): ` +
        `p50 ${format(floor.paced.p50Ms, 2)} ms, p99 ${format(floor.paced.p99Ms, 2)} ms (the node: p50 ` +
        `${format(node.p50Ms, 2)} ms, p99 ${format(node.p99Ms, 2)} ms)`,
    );
  return lines;
}
