/** A phase's figures: statuses, latency percentiles, throughput. */
import type { RequestResult } from './drivers.js';
import type { SignedRequest } from './signing.js';

export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

export interface PhaseSummary {
  readonly requests: number;
  readonly issued: number;
  readonly acknowledged: number;
  readonly byStatus: Record<string, number>;
  readonly rejections: Record<string, number>;
  readonly errors: Record<string, number>;
  /** From the first request sent to the last answer. */
  readonly durationMs: number;
  readonly acknowledgedPerSec: number;
  readonly answeredPerSec: number;
  /** Latency of acknowledged requests: from due time (open loop: includes any wait for a free connection). */
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
    readonly mean: number;
  };
  /** Latency of acknowledged requests from the moment they were written to the socket. */
  readonly serviceMs: { readonly p50: number; readonly p99: number };
  readonly counts: { readonly orders: number; readonly cancels: number };
  /** Orders inside batches (POST /api/v1/orders): accepted, and refused by code (one result per order). */
  readonly batchedOrders: { readonly accepted: number; readonly refused: Record<string, number> };
}

/** Counts the orders of one answered batch: its body is one result per order, a refusal carrying a code. */
function countBatchedOrders(
  request: SignedRequest,
  result: RequestResult,
  counts: { accepted: number; refused: Record<string, number> },
): void {
  const refuse = (code: string, orders: number): void => {
    counts.refused[code] = (counts.refused[code] ?? 0) + orders;
  };
  let body: unknown;
  try {
    body = JSON.parse(result.body);
  } catch {
    body = undefined;
  }
  if (result.status >= 200 && result.status < 300 && Array.isArray(body)) {
    for (const element of body as Array<{ code?: string }>) {
      if (typeof element.code === 'string') refuse(element.code, 1);
      else counts.accepted += 1;
    }
  } else if (result.status !== 0) {
    refuse((body as { code?: string } | undefined)?.code ?? `HTTP ${result.status}`, request.elements ?? 1);
  }
}

export function summarize(requests: readonly SignedRequest[], results: readonly RequestResult[]): PhaseSummary {
  const byStatus: Record<string, number> = {};
  const rejections: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const services: number[] = [];
  let first: bigint | undefined;
  let last: bigint | undefined;
  let acknowledged = 0;
  let orders = 0;
  let cancels = 0;
  const batchedOrders = { accepted: 0, refused: {} as Record<string, number> };
  for (const result of results) {
    if (requests[result.index]!.kind === 'batch') countBatchedOrders(requests[result.index]!, result, batchedOrders);
    byStatus[result.status] = (byStatus[result.status] ?? 0) + 1;
    if (first === undefined || result.sentNs < first) first = result.sentNs;
    if (last === undefined || result.doneNs > last) last = result.doneNs;
    if (requests[result.index]!.kind === 'cancel') cancels += 1;
    else orders += 1;
    if (result.status >= 200 && result.status < 300) {
      acknowledged += 1;
      latencies.push(Number(result.doneNs - result.dueNs) / 1e6);
      services.push(Number(result.doneNs - result.sentNs) / 1e6);
    } else if (result.status === 0) {
      const key = (result.error ?? 'error').slice(0, 80);
      errors[key] = (errors[key] ?? 0) + 1;
    } else {
      let code = `HTTP ${result.status}`;
      try {
        code = (JSON.parse(result.body) as { code?: string }).code ?? code;
      } catch {
        // not JSON
      }
      rejections[code] = (rejections[code] ?? 0) + 1;
    }
  }
  latencies.sort((a, b) => a - b);
  services.sort((a, b) => a - b);
  const durationMs = first === undefined || last === undefined ? 0 : Number(last - first) / 1e6;
  const mean =
    latencies.length === 0 ? Number.NaN : latencies.reduce((total, value) => total + value, 0) / latencies.length;
  return {
    requests: requests.length,
    issued: results.length,
    acknowledged,
    byStatus,
    rejections,
    errors,
    durationMs,
    acknowledgedPerSec: durationMs > 0 ? acknowledged / (durationMs / 1000) : 0,
    answeredPerSec:
      durationMs > 0 ? (results.length - Object.values(errors).reduce((a, b) => a + b, 0)) / (durationMs / 1000) : 0,
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      p999: percentile(latencies, 0.999),
      max: latencies.at(-1) ?? Number.NaN,
      mean,
    },
    serviceMs: { p50: percentile(services, 0.5), p99: percentile(services, 0.99) },
    counts: { orders, cancels },
    batchedOrders,
  };
}
