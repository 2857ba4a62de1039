import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, expect, test } from 'vitest';
import { fixture } from '../test/helpers.js';
import { checkNodeOptions } from './node-opening.js';
import { nodeTestSetup } from './test-support.js';
import { currentThreadId, lowerThisThreadPriority } from './thread-priority.js';

const { genesis, entries } = fixture(5, 10);
const { newDirectory, openNode } = nodeTestSetup(genesis, entries[0]!.logTimeMs);

/** The nice value of every thread of this process, by thread id. */
function nicenessOfThreads(): Map<number, number> {
  const niceness = new Map<number, number>();
  for (const name of readdirSync('/proc/self/task')) {
    try {
      niceness.set(Number(name), getPriority(Number(name)));
    } catch {
      // The thread ended between the listing and the question.
    }
  }
  return niceness;
}

/** Threads of this process whose nice value is `value`, waited for up to `timeoutMs` (a worker starts on its own). */
async function threadsAt(value: number, timeoutMs: number): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const found = [...nicenessOfThreads()].filter(([, niceness]) => niceness === value).map(([id]) => id);
    if (found.length > 0 || performance.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('thread priorities', () => {
  test('refuse a negative or fractional increment, and change nothing for 0', () => {
    expect(() => lowerThisThreadPriority(-1)).toThrow(RangeError);
    expect(() => lowerThisThreadPriority(1.5)).toThrow(RangeError);
    const before = nicenessOfThreads();
    expect(lowerThisThreadPriority(0)).toEqual({ applied: false, reason: 'the increment is 0' });
    expect(nicenessOfThreads()).toEqual(before);
    expect(() => checkNodeOptions({ dataDirectory: '/nowhere', genesis, snapshotWorkerNiceness: 40 })).toThrow(
      /snapshotWorkerNiceness must be an integer from 0 to 39, got 40/,
    );
    expect(() => checkNodeOptions({ dataDirectory: '/nowhere', genesis, snapshotWorkerNiceness: -1 })).toThrow(
      RangeError,
    );
  });

  // Linux gives each thread its own nice value; the node's snapshot worker lowers its own (the test's platform).
  test.runIf(currentThreadId() !== undefined)(
    "the snapshot worker runs the node's niceness below the rest of the node, and no other thread moves",
    async () => {
      const base = getPriority(currentThreadId()!);
      const increment = Math.min(7, 19 - base);
      expect(increment).toBeGreaterThan(0);
      const before = nicenessOfThreads();
      const { close } = await openNode(await newDirectory(), { snapshotWorkerNiceness: increment });
      const lowered = await threadsAt(base + increment, 10_000);
      expect(lowered).toHaveLength(1);
      expect(before.has(lowered[0]!)).toBe(false);
      // Every thread that was there before keeps its priority, this one included.
      for (const [id, niceness] of nicenessOfThreads()) if (before.has(id)) expect(niceness).toBe(before.get(id));
      await close();
    },
  );

  test.runIf(currentThreadId() !== undefined)('with 0 the snapshot worker keeps the node priority', async () => {
    const base = getPriority(currentThreadId()!);
    const { close } = await openNode(await newDirectory(), { snapshotWorkerNiceness: 0 });
    // Give the worker the time it took above to lower itself; nothing may be below the node's priority.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect([...nicenessOfThreads().values()].every((niceness) => niceness === base)).toBe(true);
    await close();
  });
});
