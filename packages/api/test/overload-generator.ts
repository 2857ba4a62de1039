/**
 * The overload test's load process (test/overload.test.ts): a second process,
 * so that the load never shares the server's event loop or the test's.
 * Started as `node --import tsx packages/api/test/overload-generator.ts` with
 * an IPC channel; it talks only to the 127.0.0.1 URL it is given.
 *
 * It builds on load-generator.ts (node:crypto signing, the raw keep-alive
 * transport, closed- and open-loop drivers) and adds what the overload test
 * needs: the signature and signed message of every acknowledged request, so
 * the test can find each one in the exported log.
 *
 * The orders all cross the mid (half IOC, half GTC) and there are no cancels:
 * a cancel aimed at an order that was refused under overload would be
 * answered 404, and the test requires every answer to be 2xx, 429 or 503;
 * crossing orders keep the book shallow, so the state (and the cost of its
 * snapshots) does not grow between the capacity measured before the overload
 * and the one measured after it.
 *
 * Parent → child:
 *   {type: 'setup', url, traderSeeds: base64[], flowSeed}
 *   {type: 'prepare', phase, count}      sign `count` orders now (X-Window 60000) and encode them
 *   {type: 'run', phase, mode, connections, deadlineMs}
 *   {type: 'exit'}
 * Child → parent:
 *   {type: 'ready'}; {type: 'prepared', phase, signMs};
 *   {type: 'result', phase, summary, acknowledged: [signature, message][], cpuMs}; {type: 'error', message}
 */
import {
  Ed25519Key,
  OrderFlow,
  encodeHttpRequest,
  runIfEntryModule,
  runLoad,
  serveParent,
  summarize,
  targetOf,
  type LoadMode,
  type PhaseSummary,
  type SignedRequest,
} from './load-generator.js';

export type OverloadParentMessage =
  | { type: 'setup'; url: string; traderSeeds: string[]; flowSeed: number }
  | { type: 'prepare'; phase: string; count: number }
  | { type: 'run'; phase: string; mode: LoadMode; connections: number; deadlineMs: number }
  | { type: 'exit' };

export type OverloadChildMessage =
  | { type: 'ready' }
  | { type: 'prepared'; phase: string; signMs: number }
  | {
      type: 'result';
      phase: string;
      summary: PhaseSummary;
      /** Base64 signature and signed message (UTF-8) of every request answered 2xx. */
      acknowledged: Array<[string, string]>;
      cpuMs: number;
    }
  | { type: 'error'; message: string };

/** Every order crosses the mid: see the header. */
const crossingShare = 1;

function main(): void {
  let url: string | undefined;
  let flow: OrderFlow | undefined;
  const prepared = new Map<string, { requests: SignedRequest[]; encoded: Buffer[] }>();
  // Bounded: the child exits when the parent goes away, and after ten minutes at most.
  serveParent<OverloadParentMessage, OverloadChildMessage>(
    'overload-generator.ts (test/overload.test.ts starts it)',
    600_000,
    async (message, send) => {
      switch (message.type) {
        case 'setup':
          url = message.url;
          targetOf(url);
          flow = new OrderFlow({
            seed: message.flowSeed,
            traders: message.traderSeeds.map((seed) => Ed25519Key.fromSecret(seed)),
            cancelShare: 0,
            crossShare: crossingShare,
          });
          send({ type: 'ready' });
          break;
        case 'prepare': {
          if (url === undefined || flow === undefined) throw new Error('prepare before setup');
          const started = performance.now();
          const requests = flow.batch(message.count, Date.now());
          const target = targetOf(url);
          prepared.set(message.phase, {
            requests,
            encoded: requests.map((request) => encodeHttpRequest(request, target)),
          });
          send({ type: 'prepared', phase: message.phase, signMs: performance.now() - started });
          break;
        }
        case 'run': {
          if (url === undefined) throw new Error('run before setup');
          const phase = prepared.get(message.phase);
          if (phase === undefined) throw new Error(`phase ${message.phase} was not prepared`);
          prepared.delete(message.phase);
          const cpuBefore = process.cpuUsage();
          const results = await runLoad(phase.requests, {
            url,
            connections: message.connections,
            mode: message.mode,
            deadlineMs: message.deadlineMs,
            encoded: phase.encoded,
          }).done;
          const cpu = process.cpuUsage(cpuBefore);
          const acknowledged: Array<[string, string]> = [];
          for (const result of results) {
            if (result.status < 200 || result.status >= 300) continue;
            const request = phase.requests[result.index]!;
            acknowledged.push([request.signature, request.message]);
          }
          send({
            type: 'result',
            phase: message.phase,
            summary: summarize(phase.requests, results),
            acknowledged,
            cpuMs: (cpu.user + cpu.system) / 1000,
          });
          break;
        }
        case 'exit':
          break;
      }
    },
  );
}

runIfEntryModule(import.meta.url, 'overload generator', main);
