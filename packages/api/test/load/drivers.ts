/**
 * Drivers: closed loop (every connection sends its next request as soon as
 * the previous one is answered) and open loop (requests are released at a
 * fixed rate whatever the server does; latency is counted from the moment a
 * request was due, so queueing is not hidden: no coordinated omission).
 */
import type { SignedRequest } from './signing.js';
import {
  type ClientKind,
  type HttpAnswer,
  nodeHttpTransport,
  rawTransport,
  type Transport,
  targetOf,
} from './transports.js';

export interface RequestResult {
  readonly index: number;
  /** HTTP status, or 0 when no complete answer arrived. */
  readonly status: number;
  readonly body: string;
  readonly error?: string;
  /** process.hrtime.bigint() when the request was due (open loop) or taken (closed loop). */
  readonly dueNs: bigint;
  readonly sentNs: bigint;
  readonly doneNs: bigint;
}

export type LoadMode = { readonly kind: 'closed' } | { readonly kind: 'open'; readonly ratePerSec: number };

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly mode: LoadMode;
  /** Stop issuing requests after this many ms (the phase's hard bound). */
  readonly deadlineMs: number;
  readonly client?: ClientKind;
  /** Pre-encoded request bytes (raw client), to keep encoding out of the timed phase. */
  readonly encoded?: readonly Buffer[];
  /** Called for every finished request, in completion order. */
  readonly onResult?: (result: RequestResult) => void;
}

export interface LoadRun {
  /** Issue nothing more; requests in flight still complete (or fail). */
  stop(): void;
  /** Every request that was issued, in completion order, once all of them finished. */
  readonly done: Promise<RequestResult[]>;
  /** Requests answered so far. */
  readonly completed: () => number;
}

/** One run's shared state: the next request to issue, whether to stop, and how to perform one request. */
interface LoadState {
  stopped: boolean;
  next: number;
  readonly count: number;
  readonly connections: number;
  readonly started: bigint;
  readonly deadlineNs: bigint;
  readonly perform: (slot: number, index: number, dueNs: bigint) => Promise<void>;
}

/** Performs request `index` on connection `slot`, recording its result (an error as status 0). */
function performerOf(
  transport: Transport,
  results: RequestResult[],
  onResult: ((result: RequestResult) => void) | undefined,
): LoadState['perform'] {
  return async (slot, index, dueNs) => {
    const sentNs = process.hrtime.bigint();
    let result: RequestResult;
    try {
      const answer = await transport.send(slot, index);
      result = { index, status: answer.status, body: answer.body, dueNs, sentNs, doneNs: process.hrtime.bigint() };
    } catch (error) {
      result = {
        index,
        status: 0,
        body: '',
        error: (error as Error).message,
        dueNs,
        sentNs,
        doneNs: process.hrtime.bigint(),
      };
    }
    results.push(result);
    onResult?.(result);
  };
}

/** Every connection sends its next request as soon as the previous one is answered. */
function closedLoop(state: LoadState): Promise<void> {
  const worker = async (slot: number): Promise<void> => {
    while (!state.stopped && state.next < state.count && process.hrtime.bigint() < state.deadlineNs) {
      const index = state.next;
      state.next += 1;
      await state.perform(slot, index, process.hrtime.bigint());
    }
  };
  return Promise.all(Array.from({ length: state.connections }, (_, slot) => worker(slot))).then(() => undefined);
}

/** Requests are released at `ratePerSec` whatever the server does; each is timed from when it was due. */
function openLoop(state: LoadState, ratePerSec: number): Promise<void> {
  const { connections, started } = state;
  const intervalNs = 1e9 / ratePerSec;
  const idle: number[] = Array.from({ length: connections }, (_, slot) => connections - 1 - slot);
  const due: number[] = [];
  let active = 0;
  let resolveDone: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const dueNsOf = (index: number): bigint => started + BigInt(Math.round(index * intervalNs));
  const pump = (): void => {
    while (due.length > 0 && idle.length > 0) {
      const index = due.shift()!;
      const slot = idle.pop()!;
      active += 1;
      void state.perform(slot, index, dueNsOf(index)).then(() => {
        active -= 1;
        idle.push(slot);
        pump();
      });
    }
    if ((state.stopped || state.next >= state.count) && due.length === 0 && active === 0) resolveDone();
  };
  const tick = (): void => {
    const now = process.hrtime.bigint();
    if (!state.stopped && now >= state.deadlineNs) state.stopped = true;
    if (!state.stopped) {
      const dueCount = Math.min(state.count, Math.floor(Number(now - started) / intervalNs) + 1);
      while (state.next < dueCount) due.push(state.next++);
    }
    if (state.stopped) due.length = 0;
    pump();
    if (!state.stopped && state.next < state.count) setTimeout(tick, 1);
  };
  tick();
  return done;
}

export function runLoad(requests: readonly SignedRequest[], options: LoadOptions): LoadRun {
  const target = targetOf(options.url);
  const connections = Math.max(1, Math.min(options.connections, 4096));
  const transport: Transport =
    (options.client ?? 'raw') === 'raw'
      ? rawTransport(requests, target, connections, options.encoded)
      : nodeHttpTransport(requests, target, connections);
  const results: RequestResult[] = [];
  const started = process.hrtime.bigint();
  const state: LoadState = {
    stopped: false,
    next: 0,
    count: requests.length,
    connections,
    started,
    deadlineNs: started + BigInt(Math.round(options.deadlineMs * 1e6)),
    perform: performerOf(transport, results, options.onResult),
  };
  const done = options.mode.kind === 'closed' ? closedLoop(state) : openLoop(state, options.mode.ratePerSec);
  return {
    stop: () => {
      state.stopped = true;
    },
    done: done.then(() => {
      transport.close();
      return results;
    }),
    completed: () => results.length,
  };
}

/** Sends requests one after another (setup: funding), failing on anything but 2xx. */
export async function sendSequentially(
  url: string,
  requests: readonly SignedRequest[],
  timeoutMs = 30_000,
): Promise<HttpAnswer[]> {
  const answers: HttpAnswer[] = [];
  for (const request of requests) {
    const response = await fetch(`${url}${request.path}`, {
      method: request.method,
      headers: { ...request.headers, 'content-type': 'application/json' },
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    if (response.status < 200 || response.status >= 300)
      throw new Error(`${request.path} answered ${response.status}: ${body.slice(0, 300)}`);
    answers.push({ status: response.status, body });
  }
  return answers;
}
