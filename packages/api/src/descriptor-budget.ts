/**
 * The file-descriptor budget: how many connections the process can afford
 * while keeping descriptors for its storage.
 *
 * Node raises its soft RLIMIT_NOFILE to the hard limit at start-up (it has
 * no setrlimit for us to call, and needs none), so the soft limit read here
 * is already as high as the host allows; raising the hard limit is the
 * operator's step (LimitNOFILE= in a systemd unit, `ulimit -Hn` in a shell,
 * --ulimit nofile= in Docker; docs/operator.md). LevelDB keeps up to 1,000
 * table files open (its max_open_files) plus its log, manifest and lock;
 * worker threads, stdio and the listening socket take a few more. The
 * connection bound is the limit minus that reserve, so sockets can never take
 * the descriptors the ledger needs.
 */
import { readFileSync } from 'node:fs';

/** Descriptors kept for LevelDB (1,000 table files and its own few) and the rest of the process. */
export const defaultDescriptorReserve = 1_200;
/** Fewer connections than this is not a usable server. */
export const minimumConnectionBudget = 64;

export interface OpenFileLimit {
  readonly soft: number;
  readonly hard: number;
}

/** The `Max open files` line of /proc/<pid>/limits; undefined where there is no such file (not Linux) or it says unlimited. */
export function parseOpenFileLimit(limitsText: string): OpenFileLimit | undefined {
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limitsText);
  if (match === null) return undefined;
  const soft = match[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[1]);
  const hard = match[2] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[2]);
  return { soft, hard };
}

export function readOpenFileLimit(): OpenFileLimit | undefined {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The total connection bound: the configured one, lowered to what the
 * descriptor limit leaves after the reserve. Throws if that is fewer than
 * minimumConnectionBudget, with what to change.
 */
export function connectionBudget(limit: OpenFileLimit | undefined, reserve: number, configured: number): number {
  if (limit === undefined) return configured;
  const available = limit.soft - reserve;
  if (available < minimumConnectionBudget) {
    throw new RangeError(
      `The open-file limit (RLIMIT_NOFILE ${limit.soft}, hard ${limit.hard}) leaves ${Math.max(0, available)} descriptors for connections ` +
        `after the ${reserve} reserved for storage; at least ${minimumConnectionBudget} are needed. ` +
        'Raise the hard limit (systemd LimitNOFILE=, ulimit -Hn, docker --ulimit nofile=) or lower DESCRIPTOR_RESERVE.',
    );
  }
  return Math.min(configured, available);
}
