/**
 * What makes the paced phase's latency tail (node.bench.ts): the server
 * records the moments its main thread was paused by V8's garbage collector
 * and the group-commit writes that took long, on the monotonic clock the load
 * generator's samples use; the report then splits the paced phase's latency by
 * whether a request's time in the system overlaps such a window.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { latencyBySnapshots, monotonicMs, type LatencyFigures } from './node-figures.js';

/** GC pauses at least this long are recorded (shorter ones cannot make a tail of several ms). */
const gcPauseMinimumMs = 2;
/** Group-commit writes (LevelDB batch and fsync) at least this long are recorded. */
const slowCommitMinimumMs = 5;

export interface PauseWindows {
  /** [start, end] of each main-thread GC pause of at least gcPauseMinimumMs, in monotonic ms. */
  readonly gc: Array<[number, number]>;
  /** [start, end] of each group-commit write of at least slowCommitMinimumMs. */
  readonly slowCommits: Array<[number, number]>;
}

/** Starts recording in the server process; `subscribeCommits` is the node's. */
export function watchPauses(
  subscribeCommits: (listener: (batch: { readonly durationMs: number }) => void) => unknown,
): PauseWindows {
  const windows: PauseWindows = { gc: [], slowCommits: [] };
  // performance.now() and the monotonic clock differ by a constant within a process.
  const offsetMs = monotonicMs() - performance.now();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration < gcPauseMinimumMs) continue;
      const startMs = entry.startTime + offsetMs;
      windows.gc.push([startMs, startMs + entry.duration]);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  subscribeCommits(({ durationMs }) => {
    if (durationMs < slowCommitMinimumMs) return;
    const endMs = monotonicMs();
    windows.slowCommits.push([endMs - durationMs, endMs]);
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
  return { withGcPause: byGc.withSnapshot, withSlowCommit: byCommit.withSnapshot, withNeither: neither };
}
