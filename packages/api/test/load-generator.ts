/**
 * Load generation against a running exchange server, shared by the crash test
 * (test/crash.test.ts, in-process) and the HTTP benchmark
 * (bench/node.bench.ts, which runs this module as a separate child process so
 * that the load never shares the server's event loop or the benchmark's).
 *
 * - Keys sign with node:crypto (OpenSSL Ed25519: deterministic, byte-identical
 *   to the engine's noble signing, and ~20x faster), so thousands of requests
 *   can be signed just before a timed phase.
 * - OrderFlow is a seeded, realistic trader workload on one market: resting
 *   limit orders around a mid price, crossing limit/IOC orders, and cancels by
 *   clientId of the trader's own earlier resting orders. Every request has a
 *   fresh clientId, so no two requests are the same signed message.
 * - Requests are signed exactly as the Rust client signs (raw values; the
 *   values used here are identical in every percent-encoded form, so the
 *   server has exactly one signing-string candidate and leaves the signature
 *   to the node's verifier threads).
 * - Two HTTP/1.1 keep-alive transports: 'raw' (pre-encoded request bytes on
 *   net.Socket, one request in flight per connection, Content-Length
 *   responses: a few µs per request, so the generator takes as little CPU as
 *   possible from a small machine) and 'node-http' (node:http with a
 *   keep-alive Agent, maxSockets = connections).
 * - Two drivers: closed loop (every connection sends its next request as soon
 *   as the previous one is answered) and open loop (requests are released at a
 *   fixed rate whatever the server does; latency is counted from the moment a
 *   request was due, so queueing is not hidden: no coordinated omission).
 *
 * Every loop is bounded by a request count and a deadline; only the URL given
 * (127.0.0.1) is ever contacted.
 *
 * Child mode (`node --import tsx packages/api/test/load-generator.ts`, started
 * with an IPC channel by the benchmark): see `childMain` for the protocol. The
 * child draws its requests from BookFlow (book-flow.ts: market makers with a
 * bounded number of quotes each, takers only for liquidity the book holds).
 *
 * The pieces live in test/load/: signing.ts (keys, PRNG, signed requests),
 * order-flow.ts (the workload), transports.ts, drivers.ts, summaries.ts,
 * server-process.ts and child-process.ts; this module re-exports them.
 */
import { serveParent, runIfEntryModule } from './load/child-process.js';
import { type LoadMode, runLoad } from './load/drivers.js';
import { BookFlow } from './load/book-flow.js';
import { Ed25519Key, type SignedRequest } from './load/signing.js';
import { type PhaseSummary, summarize } from './load/summaries.js';
import { type ClientKind, encodeHttpRequest, targetOf } from './load/transports.js';

export * from './load/book-flow.js';
export * from './load/child-process.js';
export * from './load/drivers.js';
export * from './load/order-flow.js';
export * from './load/server-process.js';
export * from './load/signing.js';
export * from './load/summaries.js';
export * from './load/transports.js';

// ---------------------------------------------------------------------------
// Child mode: the benchmark's load process.
//
// Parent → child (IPC):
//   {type: 'setup', url, traderSeeds: base64[], flowSeed, connections, client, batchTraderSeeds?: base64[]}
//       (batches are drawn from a flow of their own over batchTraderSeeds when given)
//   {type: 'prepare', phase, count, batchSize?}    sign `count` requests now (timestamps = now, X-Window 60000),
//       encode them; with batchSize, `count` batches of that many orders (POST /api/v1/orders)
//   {type: 'run', phase, mode, deadlineMs}
//   {type: 'exit'}
// Child → parent:
//   {type: 'ready'} after setup; {type: 'prepared', phase, signMs, encodeMs};
//   {type: 'result', phase, summary, cpuMs, samples} (samples: [due, done] in ms of the monotonic clock, which
//       process.hrtime shares across processes, of each acknowledged request of an open-loop phase)
//   {type: 'error', message}

type ParentMessage =
  | {
      type: 'setup';
      url: string;
      traderSeeds: string[];
      flowSeed: number;
      connections: number;
      client: ClientKind;
      batchTraderSeeds?: string[];
    }
  | { type: 'prepare'; phase: string; count: number; batchSize?: number }
  | { type: 'run'; phase: string; mode: LoadMode; deadlineMs: number }
  | { type: 'exit' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'prepared'; phase: string; signMs: number; encodeMs: number; averageMessageBytes: number }
  | {
      type: 'result';
      phase: string;
      summary: PhaseSummary;
      cpuUserMs: number;
      cpuSystemMs: number;
      samples: Array<[number, number]>;
    }
  | { type: 'error'; message: string };

function childMain(): void {
  let setup: Extract<ParentMessage, { type: 'setup' }> | undefined;
  let flow: BookFlow | undefined;
  let batchFlow: BookFlow | undefined;
  const prepared = new Map<string, { requests: SignedRequest[]; encoded: Buffer[] }>();
  // Bounded: the child exits if the parent goes away or after an hour at most.
  serveParent<ParentMessage, ChildMessage>(
    'load-generator.ts (the benchmark starts it)',
    3_600_000,
    async (message, send) => {
      switch (message.type) {
        case 'setup':
          setup = message;
          flow = new BookFlow({
            seed: message.flowSeed,
            traders: message.traderSeeds.map((seed) => Ed25519Key.fromSecret(seed)),
          });
          batchFlow =
            message.batchTraderSeeds === undefined
              ? flow
              : new BookFlow({
                  seed: message.flowSeed + 1,
                  traders: message.batchTraderSeeds.map((seed) => Ed25519Key.fromSecret(seed)),
                  // No cancels in batches: quotes only in the touch, filled by the batches' takers (book-flow.ts).
                  depthShare: 0,
                  takeShare: 0.55,
                });
          send({ type: 'ready' });
          break;
        case 'prepare': {
          if (setup === undefined || flow === undefined) throw new Error('prepare before setup');
          const t0 = performance.now();
          const requests =
            message.batchSize === undefined
              ? flow.batch(message.count, Date.now())
              : (batchFlow ?? flow).batches(message.count, message.batchSize, Date.now());
          const t1 = performance.now();
          const target = targetOf(setup.url);
          const encoded = requests.map((request) => encodeHttpRequest(request, target));
          const t2 = performance.now();
          prepared.set(message.phase, { requests, encoded });
          const averageMessageBytes =
            requests.reduce((total, request) => total + request.message.length, 0) / Math.max(1, requests.length);
          send({ type: 'prepared', phase: message.phase, signMs: t1 - t0, encodeMs: t2 - t1, averageMessageBytes });
          break;
        }
        case 'run': {
          if (setup === undefined) throw new Error('run before setup');
          const phase = prepared.get(message.phase);
          if (phase === undefined) throw new Error(`phase ${message.phase} was not prepared`);
          prepared.delete(message.phase);
          const cpuBefore = process.cpuUsage();
          const run = runLoad(phase.requests, {
            url: setup.url,
            connections: setup.connections,
            client: setup.client,
            mode: message.mode,
            deadlineMs: message.deadlineMs,
            encoded: phase.encoded,
          });
          const results = await run.done;
          const cpu = process.cpuUsage(cpuBefore);
          send({
            type: 'result',
            phase: message.phase,
            summary: summarize(phase.requests, results),
            cpuUserMs: cpu.user / 1000,
            cpuSystemMs: cpu.system / 1000,
            samples:
              message.mode.kind === 'open'
                ? results
                    .filter((result) => result.status >= 200 && result.status < 300)
                    .map((result) => [Number(result.dueNs) / 1e6, Number(result.doneNs) / 1e6])
                : [],
          });
          break;
        }
        case 'exit':
          break;
      }
    },
  );
}

runIfEntryModule(import.meta.url, 'load generator', childMain);
