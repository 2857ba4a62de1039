/**
 * What makes the paced phase's latency tail (node.bench.ts): the server
 * records the moments its main thread was paused by V8's garbage collector
 * and the group-commit writes that took long, on the monotonic clock the load
 * generator's samples use; the report then splits the paced phase's latency by
 * whether a request's time in the system overlaps such a window.
 */
import { constants, PerformanceObserver, performance } from 'node:perf_hooks';
import { latencyBySnapshots, monotonicMs, type LatencyFigures } from './node-figures.js';

/** GC pauses at least this long are recorded (shorter ones cannot make a tail of several ms). */
const gcPauseMinimumMs = 2;
/** Group-commit writes (LevelDB batch and fsync) at least this long are recorded. */
const slowCommitMinimumMs = 5;

export interface PauseWindows {
  /** [start, end] of each main-thread GC pause of at least gcPauseMinimumMs, in monotonic ms. */
  readonly gc: Array<[number, number]>;
  /** The collector of each of `gc`'s pauses: scavenge, mark-compact, incremental marking or weak callbacks. */
  readonly gcKinds: string[];
  /** [start, end] of each group-commit write of at least slowCommitMinimumMs. */
  readonly slowCommits: Array<[number, number]>;
  /** [start, end] of every group-commit write: what the requests that overlap neither kind of window wait for. */
  readonly commits: Array<[number, number]>;
}

function gcKindName(kind: number | undefined): string {
  if (kind === constants.NODE_PERFORMANCE_GC_MINOR) return 'scavenge';
  if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) return 'mark-compact';
  if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) return 'incremental marking';
  if (kind === constants.NODE_PERFORMANCE_GC_WEAKCB) return 'weak callbacks';
  return `kind ${kind}`;
}

/** Starts recording in the server process; `subscribeCommits` is the node's. */
export function watchPauses(
  subscribeCommits: (listener: (batch: { readonly durationMs: number }) => void) => unknown,
): PauseWindows {
  const windows: PauseWindows = { gc: [], gcKinds: [], slowCommits: [], commits: [] };
  // performance.now() and the monotonic clock differ by a constant within a process.
  const offsetMs = monotonicMs() - performance.now();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration < gcPauseMinimumMs) continue;
      const startMs = entry.startTime + offsetMs;
      windows.gc.push([startMs, startMs + entry.duration]);
      windows.gcKinds.push(gcKindName((entry as { detail?: { kind?: number } }).detail?.kind));
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  subscribeCommits(({ durationMs }) => {
    const endMs = monotonicMs();
    windows.commits.push([endMs - durationMs, endMs]);
    if (durationMs >= slowCommitMinimumMs) windows.slowCommits.push([endMs - durationMs, endMs]);
  });
  return windows;
}

export interface TailFigures {
  readonly withGcPause: LatencyFigures;
  readonly withSlowCommit: LatencyFigures;
  readonly withNeither: LatencyFigures;
}

/** Splits the samples ([due, done] ms) by GC pauses and slow commits in their window, and prints the figures. */
export function reportTail(
  samples: ReadonlyArray<readonly [number, number]>,
  windows: PauseWindows | undefined,
): TailFigures | undefined {
  if (windows === undefined) return undefined;
  const byGc = latencyBySnapshots(samples, windows.gc);
  const byCommit = latencyBySnapshots(samples, windows.slowCommits);
  const neither = latencyBySnapshots(samples, [...windows.gc, ...windows.slowCommits]).withoutSnapshot;
  const text = (figures: LatencyFigures): string =>
    `${figures.count} requests, p50 ${figures.p50Ms.toFixed(2)} ms, p99 ${figures.p99Ms.toFixed(2)} ms`;
  const inPhase = (list: ReadonlyArray<readonly [number, number]>): ReadonlyArray<readonly [number, number]> => {
    const first = samples.reduce((minimum, [due]) => Math.min(minimum, due), Number.POSITIVE_INFINITY);
    const last = samples.reduce((maximum, [, done]) => Math.max(maximum, done), Number.NEGATIVE_INFINITY);
    return list.filter(([start, end]) => end >= first && start <= last);
  };
  const gcInPhase = inPhase(windows.gc);
  const commitsInPhase = inPhase(windows.slowCommits);
  const longest = (list: ReadonlyArray<readonly [number, number]>): string =>
    list.reduce((maximum, [start, end]) => Math.max(maximum, end - start), 0).toFixed(1);
  console.log(
    `paced phase tail: ${gcInPhase.length} GC pauses ≥ ${gcPauseMinimumMs} ms ` +
      `(longest ${longest(gcInPhase)} ms), ${commitsInPhase.length} group-commit writes ≥ ${slowCommitMinimumMs} ms ` +
      `(longest ${longest(commitsInPhase)} ms); requests with a GC pause in their window: ` +
      `${text(byGc.withSnapshot)}; ` +
      `with a slow write: ${text(byCommit.withSnapshot)}; with neither: ${text(neither)}`,
  );
  console.log(`paced phase tail, details: ${tailDetails(samples, windows, inPhase)}`);
  return { withGcPause: byGc.withSnapshot, withSlowCommit: byCommit.withSnapshot, withNeither: neither };
}

/** The value at `share` (0 to 1) of `sorted` (ascending), or 0 when it is empty. */
export function quantile(sorted: readonly number[], share: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

/**
 * The GC pauses by collector; every group-commit write of the phase (count, p50, p90, p99 of its duration); and for
 * the slowest 1 % of the requests whose window holds neither a GC pause nor a slow write, how many writes their
 * window overlaps and for how long (medians): whether they waited through several writes just under the threshold.
 */
function tailDetails(
  samples: ReadonlyArray<readonly [number, number]>,
  windows: PauseWindows,
  inPhase: (list: ReadonlyArray<readonly [number, number]>) => ReadonlyArray<readonly [number, number]>,
): string {
  // Per collector: pauses ≥ gcPauseMinimumMs, their total, and how many of them were ≥ 5 ms.
  const kinds = new Map<string, { count: number; totalMs: number; fromFiveMs: number }>();
  const gcInPhase = new Set(inPhase(windows.gc));
  windows.gc.forEach((window, index) => {
    if (!gcInPhase.has(window)) return;
    const kind = windows.gcKinds[index]!;
    const figures = kinds.get(kind) ?? { count: 0, totalMs: 0, fromFiveMs: 0 };
    figures.count += 1;
    figures.totalMs += window[1] - window[0];
    if (window[1] - window[0] >= 5) figures.fromFiveMs += 1;
    kinds.set(kind, figures);
  });
  const commits = inPhase(windows.commits);
  const durations = commits.map(([start, end]) => end - start).sort((a, b) => a - b);
  const paused = [...windows.gc, ...windows.slowCommits];
  const neither = samples.filter(([due, done]) => !paused.some(([start, end]) => due <= end && done >= start));
  const latencies = neither.map(([due, done]) => done - due).sort((a, b) => a - b);
  const slowest = neither.filter(([due, done]) => done - due >= quantile(latencies, 0.99));
  const overlapCounts: number[] = [];
  const overlapMs: number[] = [];
  for (const [due, done] of slowest) {
    let count = 0;
    let totalMs = 0;
    for (const [start, end] of commits) {
      if (due > end || done < start) continue;
      count += 1;
      totalMs += Math.min(end, done) - Math.max(start, due);
    }
    overlapCounts.push(count);
    overlapMs.push(totalMs);
  }
  overlapCounts.sort((a, b) => a - b);
  overlapMs.sort((a, b) => a - b);
  const gcText =
    [...kinds]
      .map(
        ([kind, { count, totalMs, fromFiveMs }]) => `${count} ${kind} (${totalMs.toFixed(1)} ms; ${fromFiveMs} ≥ 5 ms)`,
      )
      .join(', ') || 'none';
  return (
    `GC pauses ≥ ${gcPauseMinimumMs} ms by collector: ${gcText}; ${durations.length} group-commit writes, ` +
    `p50 ${quantile(durations, 0.5).toFixed(2)} ms, p90 ${quantile(durations, 0.9).toFixed(2)} ms, ` +
    `p99 ${quantile(durations, 0.99).toFixed(2)} ms; the slowest 1 % with neither (${slowest.length} requests, ` +
    `≥ ${quantile(latencies, 0.99).toFixed(2)} ms) overlap a median of ${quantile(overlapCounts, 0.5)} writes ` +
    `for ${quantile(overlapMs, 0.5).toFixed(2)} ms`
  );
}
