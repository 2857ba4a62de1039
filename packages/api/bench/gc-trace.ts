/**
 * V8's `--trace-gc-nvp` lines in the server's log (`--server-node-flags=--trace-gc-nvp`), per phase: the main
 * thread's pauses by collector and what each scavenge kept (node.bench.ts prints one line per phase). The workers
 * (signature threads, snapshot worker) are isolates of their own and print their own lines; only the main thread's
 * isolate is counted, and it is the one that prints first (the start-up allocates long before a worker starts).
 */
import { quantile } from './tail-windows.js';

/** `[pid:isolate]  time ms: pause=… gc=s …`: the isolate and the name=value pairs. */
const nvpLine = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: (pause=.*)$/;

interface Collection {
  readonly kind: string;
  readonly pauseMs: number;
  /** Bytes a scavenge copied within the young generation (survived once) and moved to the old one. */
  readonly survivedBytes: number;
  readonly promotedBytes: number;
  /** The pause's parts (ms), by V8's names: `scavenge.roots`, `scavenge.parallel`, `heap.external.epilogue`, …. */
  readonly partsMs: ReadonlyMap<string, number>;
}

function collections(text: string, isolate: string): Collection[] {
  const result: Collection[] = [];
  for (const line of text.split('\n')) {
    const match = nvpLine.exec(line);
    if (match === null || match[1] !== isolate) continue;
    const fields = new Map(match[2]!.split(' ').map((pair) => pair.split('=', 2) as [string, string]));
    result.push({
      kind: fields.get('gc') ?? '?',
      pauseMs: Number(fields.get('pause') ?? 0),
      survivedBytes: Number(fields.get('new_space_survived') ?? 0),
      promotedBytes: Number(fields.get('promoted') ?? 0),
      partsMs: new Map(
        [...fields]
          .filter(([name]) => name.startsWith('scavenge.') || name.startsWith('heap.') || name === 'time_to_safepoint')
          .map(([name, value]) => [name, Number(value)]),
      ),
    });
  }
  return result;
}

/** The main thread's isolate in a whole log, or undefined when the log holds no trace. */
export function mainIsolateOf(wholeLog: string): string | undefined {
  for (const line of wholeLog.split('\n')) {
    const match = nvpLine.exec(line);
    if (match !== null) return match[1];
  }
  return undefined;
}

/** One line for a phase's part of the log, or undefined without a trace. */
export function describeGcTrace(phase: string, text: string, isolate: string | undefined): string | undefined {
  if (isolate === undefined) return undefined;
  const list = collections(text, isolate);
  if (list.length === 0) return undefined;
  // gc=s: scavenge; gc=ms: mark-compact (its incremental marking steps ran earlier, inside the mutator's time).
  const kinds = [...new Set(list.map((collection) => collection.kind))].map((kind) => {
    const pauses = list.filter((collection) => collection.kind === kind).map((collection) => collection.pauseMs);
    const total = (minimumMs: number): string => {
      const long = pauses.filter((pauseMs) => pauseMs >= minimumMs);
      return `${long.length} ≥ ${minimumMs} ms (${long.reduce((sum, pauseMs) => sum + pauseMs, 0).toFixed(1)} ms)`;
    };
    const sum = pauses.reduce((total, pauseMs) => total + pauseMs, 0);
    const longest = Math.max(...pauses).toFixed(1);
    return `gc=${kind} ${pauses.length} (${sum.toFixed(1)} ms, longest ${longest}; ${total(2)}, ${total(5)})`;
  });
  const scavenges = list.filter((collection) => collection.kind === 's');
  const kilobytes = (values: number[]): string => {
    const sorted = [...values].sort((a, b) => a - b);
    return `p50 ${(quantile(sorted, 0.5) / 1024).toFixed(0)} KiB, max ${((sorted.at(-1) ?? 0) / 1024).toFixed(0)} KiB`;
  };
  // Where the scavenges' pauses went: the parts with the largest totals over the phase.
  const parts = new Map<string, number>();
  for (const { partsMs } of scavenges) {
    for (const [name, ms] of partsMs) parts.set(name, (parts.get(name) ?? 0) + ms);
  }
  const largestParts = [...parts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([name, ms]) => `${name} ${ms.toFixed(1)}`)
    .join(', ');
  return (
    `${phase}: main-thread GC (--trace-gc-nvp) ${kinds.join('; ')}; per scavenge survived ` +
    `${kilobytes(scavenges.map((collection) => collection.survivedBytes))}, promoted ` +
    `${kilobytes(scavenges.map((collection) => collection.promotedBytes))}; the scavenges' largest parts, ms in all: ` +
    largestParts
  );
}
