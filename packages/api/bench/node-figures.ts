/**
 * Measurements for node.bench.ts: CPU times of the server's threads (from
 * /proc) and of the whole machine, the moments the sequencer spent writing a
 * snapshot, and latency split by whether a snapshot fell inside a request's
 * time in the system.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { getPriority, setPriority } from 'node:os';
import { type PhaseSummary, percentile, runLoad, type SignedRequest } from '../test/load-generator.js';

export interface CpuTimes {
  readonly userMs: number;
  readonly systemMs: number;
  /** The thread's name (its `comm`): `node` for most of Node's threads, `vex-snapshots` for the snapshot follower. */
  readonly name?: string;
}

export interface ThreadTimes {
  readonly main: CpuTimes;
  readonly other: Map<number, CpuTimes>;
  /**
   * The main thread's context switches so far: voluntary (it waited, e.g. in epoll for the next request) and
   * involuntary (the scheduler took its core for another runnable thread while it had work).
   */
  readonly mainSwitches: ContextSwitches;
}

export interface ContextSwitches {
  readonly voluntary: number;
  readonly involuntary: number;
}

/** A thread's context switches, from /proc/<pid>/task/<tid>/status; zeros where that is not readable. */
function contextSwitches(pid: number, tid: number): ContextSwitches {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  } catch {
    return { voluntary: 0, involuntary: 0 };
  }
  const count = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { voluntary: count('voluntary_ctxt_switches'), involuntary: count('nonvoluntary_ctxt_switches') };
}

/**
 * An experiment's switch (the bench server's UV_POOL_NICENESS): lowers the priority of libuv's pool threads by
 * `steps` nice steps. They are found by running readlink of /proc/thread-self on them (fs.promises runs it on the
 * pool), 64 at once, so that each pool thread very likely runs one. In the half-load phase the pool thread that writes
 * each group commit was one of the two threads that most often preempted the main thread (docs/benchmarks.md, tail13).
 */
export async function lowerPoolThreads(steps: number): Promise<void> {
  if (!Number.isSafeInteger(steps) || steps < 0 || steps > 39)
    throw new RangeError(`UV_POOL_NICENESS must be an integer from 0 to 39, got ${steps}`);
  const links = await Promise.all(Array.from({ length: 64 }, () => readlink('/proc/thread-self')));
  const threadIds = new Set(links.map((link) => Number(link.split('/').at(-1))));
  for (const threadId of threadIds) setPriority(threadId, Math.min(19, getPriority(threadId) + steps));
}

/** The main thread's context switches per request between two readings, as the phase's detail line prints them. */
export function switchesText(after: ThreadTimes, before: ThreadTimes, requests: number): string {
  const per = (count: number): string => (count / Math.max(1, requests)).toFixed(2);
  const voluntary = after.mainSwitches.voluntary - before.mainSwitches.voluntary;
  const involuntary = after.mainSwitches.involuntary - before.mainSwitches.involuntary;
  return `main thread context switches per request: ${per(voluntary)} waiting, ${per(involuntary)} preempted`;
}

const clockTicks = 100; // USER_HZ on Linux

/** CPU times of each thread of process `pid`, the main thread apart. */
export function threadTimes(pid: number): ThreadTimes {
  const other = new Map<number, CpuTimes>();
  let main: CpuTimes = { userMs: 0, systemMs: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const times = {
      userMs: (Number(fields[11]) * 1000) / clockTicks,
      systemMs: (Number(fields[12]) * 1000) / clockTicks,
      name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    };
    if (Number(tid) === pid) main = { userMs: times.userMs, systemMs: times.systemMs };
    else other.set(Number(tid), times);
  }
  return { main, other, mainSwitches: contextSwitches(pid, pid) };
}

/**
 * Bytes process `pid` has written so far (/proc/<pid>/io): `written`, every write(2) (wchar: the log, LevelDB's
 * files and compactions, snapshots, sockets), and `toStorage`, what it dirtied in the page cache of files
 * (write_bytes, counted as pages are dirtied). A sync waits for the storage writes of other files too, on ext4
 * (docs/benchmarks.md, "The half-load tail"), so the second is a cause of slow group commits.
 */
export function writtenBytes(pid: number): { readonly written: number; readonly toStorage: number } {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return { written: 0, toStorage: 0 }; // not readable here
  }
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { written: field('wchar'), toStorage: field('write_bytes') };
}

export function difference(after: CpuTimes, before: CpuTimes | undefined): CpuTimes {
  return {
    userMs: after.userMs - (before?.userMs ?? 0),
    systemMs: after.systemMs - (before?.systemMs ?? 0),
    ...(after.name === undefined ? {} : { name: after.name }),
  };
}

export const totalMs = (times: CpuTimes): number => times.userMs + times.systemMs;

/** Whole-machine CPU time (all cores), busy and total, in ms. */
export function machineTimes(): { busyMs: number; totalMs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = line.reduce((sum, value) => sum + value, 0);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  return { busyMs: ((total - idle) * 1000) / clockTicks, totalMs: (total * 1000) / clockTicks };
}

/** Milliseconds of the monotonic clock, which process.hrtime shares with the other processes of the machine. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * Watches the sequenced head every millisecond and records, for each
 * snapshot sequence it passes, the interval between the check before and the
 * check that saw it: the sequencer's thread is this thread, so the snapshot's
 * work (and anything else that blocked the loop then) lies inside it.
 */
export function watchSnapshots(
  sequencedHead: () => number,
  snapshotEveryEntries: number,
): { readonly windows: Array<[number, number]>; stop(): void } {
  const windows: Array<[number, number]> = [];
  let lastCheckMs = monotonicMs();
  let lastSnapshot = Math.floor(sequencedHead() / snapshotEveryEntries);
  const timer = setInterval(() => {
    const nowMs = monotonicMs();
    const snapshot = Math.floor(sequencedHead() / snapshotEveryEntries);
    if (snapshot !== lastSnapshot) windows.push([lastCheckMs, nowMs]);
    lastSnapshot = snapshot;
    lastCheckMs = nowMs;
  }, 1);
  timer.unref();
  return { windows, stop: () => clearInterval(timer) };
}

export interface LatencyFigures {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Latency (done − due) of the requests whose time in the system overlaps a
 * snapshot window, and of the others.
 */
export function latencyBySnapshots(
  samples: ReadonlyArray<readonly [number, number]>,
  windows: ReadonlyArray<readonly [number, number]>,
): { readonly withSnapshot: LatencyFigures; readonly withoutSnapshot: LatencyFigures } {
  const withSnapshot: number[] = [];
  const withoutSnapshot: number[] = [];
  for (const [dueMs, doneMs] of samples) {
    const overlaps = windows.some(([startMs, endMs]) => dueMs <= endMs && doneMs >= startMs);
    (overlaps ? withSnapshot : withoutSnapshot).push(doneMs - dueMs);
  }
  const figures = (latencies: number[]): LatencyFigures => {
    latencies.sort((a, b) => a - b);
    return { count: latencies.length, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
  };
  return { withSnapshot: figures(withSnapshot), withoutSnapshot: figures(withoutSnapshot) };
}

/** Sends `requests` (deposits) over 32 keep-alive connections; every one must be acknowledged. */
export async function fundInParallel(url: string, requests: readonly SignedRequest[]): Promise<void> {
  const run = runLoad(requests, { url, connections: 32, mode: { kind: 'closed' }, deadlineMs: 120_000 });
  const results = await run.done;
  const failed = results.filter((result) => result.status < 200 || result.status >= 300);
  if (failed.length > 0 || results.length !== requests.length)
    throw new Error(
      `funding: ${failed.length} of ${requests.length} deposits failed (${failed[0]?.body ?? 'none sent'})`,
    );
}

/** What the cost report needs of a phase. */
export interface CostPhase {
  readonly summary: PhaseSummary;
  readonly serverProcessCpuMs: number | undefined;
  readonly samples: ReadonlyArray<readonly [number, number]>;
  readonly snapshotWindows: ReadonlyArray<readonly [number, number]>;
}

export interface NodeCostFigures {
  readonly serverCpuUsPerOrder: number;
  readonly verifyCpuUs: number;
  readonly cpuRatio: number;
  readonly batchOrdersPerSec: number;
  readonly batchRatio: number;
  readonly p99WithSnapshotMs: number;
  readonly p99WithoutSnapshotMs: number;
  /** Refused requests over requests sent at the max rate (a refusal's CPU is charged to the acknowledged ones). */
  readonly refusedShare: number;
}

/** Refused over sent, and the refusals by code. */
function refusals(summary: PhaseSummary): { share: number; text: string } {
  const refused = Object.values(summary.rejections).reduce((total, count) => total + count, 0);
  const share = refused / Math.max(1, summary.issued);
  return {
    share,
    text: `${(share * 100).toFixed(2)} % (${refused} of ${summary.issued}: ${JSON.stringify(summary.rejections)})`,
  };
}

const fixed = (value: number, digits: number): number => Number(value.toFixed(digits));

/**
 * The node's own cost (issue 15, part 3): the server process's CPU per
 * acknowledged signed request at the max rate over one node:crypto
 * verification's CPU; batched orders per second beside the single-order
 * rate; the paced phase's latency with and without a snapshot in the window.
 */
export function reportNodeCost(
  maxRate: CostPhase,
  paced: CostPhase,
  batches: CostPhase,
  nodeCryptoCpuMicrosPerVerify: number,
): NodeCostFigures {
  const serverCpuUsPerOrder = ((maxRate.serverProcessCpuMs ?? Number.NaN) * 1000) / maxRate.summary.acknowledged;
  const cpuRatio = serverCpuUsPerOrder / nodeCryptoCpuMicrosPerVerify;
  const batchSeconds = batches.summary.durationMs / 1000;
  const batchOrdersPerSec = batches.summary.batchedOrders.accepted / batchSeconds;
  const batchRatio = batchOrdersPerSec / maxRate.summary.acknowledgedPerSec;
  const batchCpuUs = ((batches.serverProcessCpuMs ?? Number.NaN) * 1000) / batches.summary.batchedOrders.accepted;
  const split = latencyBySnapshots(paced.samples, paced.snapshotWindows);
  const maxRateRefusals = refusals(maxRate.summary);
  const batchedRefused = Object.values(batches.summary.batchedOrders.refused).reduce(
    (total, count) => total + count,
    0,
  );
  const batchedShare = batchedRefused / Math.max(1, batchedRefused + batches.summary.batchedOrders.accepted);
  console.log(
    `refused share: max rate ${maxRateRefusals.text}; paced ${refusals(paced.summary).text}; ` +
      `batched orders ${(batchedShare * 100).toFixed(2)} %`,
  );
  const number = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
  console.log(
    `server CPU per acknowledged signed request at max rate (process.cpuUsage in the server, every thread): ` +
      `${number(serverCpuUsPerOrder)} µs; one node:crypto verification ${number(nodeCryptoCpuMicrosPerVerify)} µs; ` +
      `cpuRatio ${number(cpuRatio, 2)} (target ≤ 1.5: ${cpuRatio <= 1.5 ? 'met' : 'missed'})`,
  );
  console.log(
    `batched orders: ${number(batchOrdersPerSec, 0)} accepted orders/s in batches ` +
      `(refused ${JSON.stringify(batches.summary.batchedOrders.refused)}), ` +
      `${number(batchCpuUs)} µs server CPU per order; ` +
      `${number(batchRatio, 2)}× the single-order rate (target ≥ 5: ${batchRatio >= 5 ? 'met' : 'missed'})`,
  );
  console.log(
    `paced phase latency: ${split.withSnapshot.count} requests with a snapshot in their window ` +
      `(${paced.snapshotWindows.length} snapshots in all): p50 ${number(split.withSnapshot.p50Ms, 2)} ms, ` +
      `p99 ${number(split.withSnapshot.p99Ms, 2)} ms; ${split.withoutSnapshot.count} without: ` +
      `p50 ${number(split.withoutSnapshot.p50Ms, 2)} ms, p99 ${number(split.withoutSnapshot.p99Ms, 2)} ms`,
  );
  return {
    serverCpuUsPerOrder: fixed(serverCpuUsPerOrder, 1),
    verifyCpuUs: fixed(nodeCryptoCpuMicrosPerVerify, 1),
    cpuRatio: fixed(cpuRatio, 3),
    batchOrdersPerSec: Math.round(batchOrdersPerSec),
    batchRatio: fixed(batchRatio, 2),
    p99WithSnapshotMs: fixed(split.withSnapshot.p99Ms, 3),
    p99WithoutSnapshotMs: fixed(split.withoutSnapshot.p99Ms, 3),
    refusedShare: fixed(maxRateRefusals.share, 4),
  };
}
