/**
 * The scheduling priority of one thread. On Linux the nice value is a per-thread attribute (setpriority(2), "BUGS":
 * the process id names one thread, its thread id), so a worker thread can run at a lower priority than the rest of
 * its process. The node uses it for the snapshot worker (snapshot-taker.ts): its work is background work that no
 * request waits for, while the sequencing thread, the signature verifiers and libuv's pool thread in its synced
 * write are on every request's path. On a machine whose cores are busy the scheduler then gives those a core first
 * (docs/operator.md, "Thread priorities"; the measurements are in docs/benchmarks.md).
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The nice values Linux allows: −20 (first) to 19 (last). */
const leastPriorityNiceness = 19;

/** The calling thread's id (Linux: /proc/thread-self links to <pid>/task/<tid>); undefined elsewhere. */
export function currentThreadId(): number | undefined {
  try {
    const id = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    return Number.isSafeInteger(id) && id > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

export type NicenessOutcome =
  | { readonly applied: true; readonly threadId: number; readonly niceness: number }
  | { readonly applied: false; readonly reason: string };

/**
 * Lowers the calling thread's priority by `increment` nice steps (capped at 19), relative to what it has now, which a
 * new thread inherits from its process: a node started with `nice -n -5` keeps the difference. Lowering a priority
 * needs no privilege. Where threads have no nice value of their own (not Linux), nothing changes and the outcome says
 * why: the node then runs as before, only without the preference.
 */
export function lowerThisThreadPriority(increment: number): NicenessOutcome {
  if (!Number.isSafeInteger(increment) || increment < 0)
    throw new RangeError(`a niceness increment must be a non-negative integer, got ${increment}`);
  if (increment === 0) return { applied: false, reason: 'the increment is 0' };
  const threadId = currentThreadId();
  if (threadId === undefined) return { applied: false, reason: 'this system gives threads no nice value of their own' };
  try {
    const niceness = Math.min(leastPriorityNiceness, getPriority(threadId) + increment);
    setPriority(threadId, niceness);
    return { applied: true, threadId, niceness };
  } catch (error) {
    return { applied: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
