/**
 * Where a request's time goes inside the server (`pnpm bench:node --stages`): the half-load tail's next question
 * (docs/benchmarks.md, "The half-load tail: the main thread's cost per request"). The load generator times a request
 * from when it was due to its answer; this splits the part the server sees, per phase:
 *
 * - the HTTP span: from fastify's `onRequest` (the main thread has read the request's head) to `onResponse` (the
 *   answer is handed to the socket). What the load generator sees beyond it is the time before the main thread
 *   read the request (the socket's queue while the thread ran other work or was paused) and the answer's delivery,
 *   and the load generator's own lateness.
 * - the node's span of each submitted transaction, from `submit()` to the settling of its promise, in four stages:
 *   `verification` (until the main thread has the signature's verdict; the transaction is sequenced at once
 *   then), `queued` (until the write of the group commit that holds it starts: the write in flight before it, and the
 *   turn of the event loop that gathers a batch), `write` (its batch's LevelDB write and sync) and `answer` (from
 *   durability to the promise's settling on the main thread).
 *
 * The node's figures reach into its private signature verifier to time the verdict (bench only: the node has no such
 * hook, and a production node should not pay for one). Records go into preallocated typed arrays, not objects, so
 * that recording adds little garbage for the young generation, whose pauses are part of what is measured (two promise
 * reactions and a WeakMap entry per request). Refused transactions (no sequence) are counted, not split. Off by
 * default: the figures of a run without --stages carry none of this.
 */
import type { ExchangeNode } from '@vex/ledger';
import type { FastifyInstance } from 'fastify';
import { quantile } from './tail-windows.js';

/** Per transaction: submit, verdict, answer (performance.now ms) and sequence (NaN: refused or failed). */
const transactionFields = 4;
/** Per group-commit write: start, end (ms) and the last sequence it made durable. */
const commitFields = 3;

class Records {
  values: Float64Array;
  count = 0;
  constructor(
    readonly fields: number,
    capacity: number,
  ) {
    this.values = new Float64Array(fields * capacity);
  }
  /** Index of a new record's first field. */
  add(): number {
    if ((this.count + 1) * this.fields > this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.count += 1;
    return (this.count - 1) * this.fields;
  }
}

export interface StageFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface StageSummary {
  readonly httpRequests: number;
  readonly http: StageFigures;
  readonly transactions: number;
  readonly refused: number;
  readonly node: StageFigures;
  /** Medians of each stage over all sequenced transactions, and over the slowest 1 % by the node's span. */
  readonly medianMs: Readonly<Record<StageName, number>>;
  readonly slowestMedianMs: Readonly<Record<StageName, number>>;
  /** The slowest 1 %'s count, and how many of them waited for a write that had started before their submit. */
  readonly slowest: number;
  readonly slowestBehindEarlierWrite: number;
}

type StageName = 'verification' | 'queued' | 'write' | 'answer';
const stageNames: readonly StageName[] = ['verification', 'queued', 'write', 'answer'];

function medians(rows: ReadonlyArray<Readonly<Record<StageName, number>>>): Record<StageName, number> {
  const result = {} as Record<StageName, number>;
  for (const name of stageNames) {
    const sorted = rows.map((row) => row[name]).sort((left, right) => left - right);
    result[name] = Number(quantile(sorted, 0.5).toFixed(3));
  }
  return result;
}

/**
 * Starts recording in the server process (before it listens). Returns a function that summarises what was recorded
 * since its previous call (the bench calls it once per phase boundary, with its statistics).
 */
export function watchStages(node: ExchangeNode, app: FastifyInstance): () => StageSummary {
  const http = new Records(2, 1 << 16);
  const transactions = new Records(transactionFields, 1 << 16);
  const commits = new Records(commitFields, 1 << 14);
  const arrivedMs = new WeakMap<object, number>();
  app.addHook('onRequest', (request, _reply, done) => {
    arrivedMs.set(request, performance.now());
    done();
  });
  app.addHook('onResponse', (request, _reply, done) => {
    const at = http.add();
    http.values[at] = arrivedMs.get(request) ?? Number.NaN;
    http.values[at + 1] = performance.now();
    done();
  });

  // The verifier's promise for the transaction being submitted: submit() calls verify() synchronously.
  const pool = (node as unknown as { pool: { verify(transaction: unknown): Promise<unknown> } }).pool;
  const verify = pool.verify.bind(pool);
  let current = -1;
  pool.verify = (transaction) => {
    const at = current;
    const verdict = verify(transaction);
    // Registered before the node's own handler, so it runs just before the transaction is sequenced.
    if (at >= 0) void verdict.then(() => (transactions.values[at + 1] = performance.now()), ignore);
    return verdict;
  };
  const submit = node.submit.bind(node);
  node.submit = (transaction) => {
    const at = transactions.add();
    const values = transactions.values;
    values[at] = performance.now();
    values[at + 1] = Number.NaN;
    values[at + 3] = Number.NaN;
    current = at;
    let answer: ReturnType<typeof submit>;
    try {
      answer = submit(transaction);
    } finally {
      current = -1;
    }
    answer.then(
      (result) => {
        transactions.values[at + 2] = performance.now();
        transactions.values[at + 3] = result.sequence ?? Number.NaN;
      },
      () => (transactions.values[at + 2] = performance.now()),
    );
    return answer;
  };
  node.subscribeCommits(({ durationMs, sequence }) => {
    const endMs = performance.now();
    const at = commits.add();
    commits.values[at] = endMs - durationMs;
    commits.values[at + 1] = endMs;
    commits.values[at + 2] = sequence;
  });

  let httpFrom = 0;
  let transactionsFrom = 0;
  let commitsFrom = 0;
  return () => {
    const httpSpans: number[] = [];
    for (let index = httpFrom; index < http.count; index += 1) {
      const span = http.values[index * 2 + 1]! - http.values[index * 2]!;
      if (!Number.isNaN(span)) httpSpans.push(span);
    }
    httpFrom = http.count;
    httpSpans.sort((left, right) => left - right);

    // The commits by last sequence, ascending: a transaction's batch is the first whose last sequence ≥ its own.
    // Look back one commit before this phase's first, for transactions of the phase written in it.
    const commitStart = Math.max(0, commitsFrom - 1);
    const commitValues = commits.values;
    const batchOf = (sequence: number): number => {
      let low = commitStart;
      let high = commits.count;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (commitValues[middle * commitFields + 2]! < sequence) low = middle + 1;
        else high = middle;
      }
      return low < commits.count ? low : -1;
    };
    const rows: Array<Record<StageName, number> & { spanMs: number; behindEarlierWrite: boolean }> = [];
    let refused = 0;
    const values = transactions.values;
    for (let index = transactionsFrom; index < transactions.count; index += 1) {
      const at = index * transactionFields;
      const submittedMs = values[at]!;
      const verifiedMs = values[at + 1]!;
      const answeredMs = values[at + 2]!;
      const sequence = values[at + 3]!;
      if (Number.isNaN(sequence) || Number.isNaN(verifiedMs) || Number.isNaN(answeredMs)) {
        refused += 1;
        continue;
      }
      const batch = batchOf(sequence);
      if (batch < 0) continue;
      const writeStartMs = commitValues[batch * commitFields]!;
      const writeEndMs = commitValues[batch * commitFields + 1]!;
      const previousEndMs = batch > 0 ? commitValues[(batch - 1) * commitFields + 1]! : Number.NEGATIVE_INFINITY;
      rows.push({
        verification: verifiedMs - submittedMs,
        queued: writeStartMs - verifiedMs,
        write: writeEndMs - writeStartMs,
        answer: answeredMs - writeEndMs,
        spanMs: answeredMs - submittedMs,
        behindEarlierWrite: previousEndMs > verifiedMs,
      });
    }
    const transactionCount = transactions.count - transactionsFrom;
    transactionsFrom = transactions.count;
    commitsFrom = commits.count;
    const spans = rows.map((row) => row.spanMs).sort((left, right) => left - right);
    const threshold = quantile(spans, 0.99);
    const slowest = rows.filter((row) => row.spanMs >= threshold);
    return {
      httpRequests: httpSpans.length,
      http: { p50Ms: Number(quantile(httpSpans, 0.5).toFixed(3)), p99Ms: Number(quantile(httpSpans, 0.99).toFixed(3)) },
      transactions: transactionCount,
      refused,
      node: { p50Ms: Number(quantile(spans, 0.5).toFixed(3)), p99Ms: Number(threshold.toFixed(3)) },
      medianMs: medians(rows),
      slowestMedianMs: medians(slowest),
      slowest: slowest.length,
      slowestBehindEarlierWrite: slowest.filter((row) => row.behindEarlierWrite).length,
    };
  };
}

function ignore(): void {}

/** One line for a phase. */
export function describeStages(name: string, summary: StageSummary): string {
  const stages = (figures: Readonly<Record<StageName, number>>): string =>
    stageNames.map((stage) => `${stage} ${figures[stage].toFixed(2)}`).join(', ');
  return (
    `  ${name}, inside the server (--stages): HTTP span (onRequest to onResponse) of ${summary.httpRequests} ` +
    `requests p50 ${summary.http.p50Ms.toFixed(2)} ms, p99 ${summary.http.p99Ms.toFixed(2)} ms; node span ` +
    `(submit to answer) of ${summary.transactions} transactions (${summary.refused} refused) p50 ` +
    `${summary.node.p50Ms.toFixed(2)} ms, p99 ${summary.node.p99Ms.toFixed(2)} ms; ` +
    `medians ms: ${stages(summary.medianMs)}; ` +
    `the slowest 1 % (${summary.slowest}, ${summary.slowestBehindEarlierWrite} of them verified while an earlier ` +
    `write was in flight): ${stages(summary.slowestMedianMs)}`
  );
}
