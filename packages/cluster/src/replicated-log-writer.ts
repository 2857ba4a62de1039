/**
 * The cluster sequencer's log writer (docs/cluster.md, "The sequencer node"):
 * each group-commit batch's entries are appended to the etcd log through the
 * fenced appender first, and only once that txn has committed (quorum-durable)
 * are the entries and their derived records (history, snapshot, attestation)
 * written to the node's own LevelDB. The node acknowledges after both, so an
 * acknowledged entry is in etcd; the local log is never ahead of etcd.
 *
 * While the appender waits on etcd (a txn unconfirmed for a second, or one
 * whose outcome is being resolved), `unavailable()` says so and the node
 * refuses new transactions at intake with 503 and Retry-After; what it had
 * already sequenced stays queued and is acknowledged once etcd confirms it.
 *
 * Any append error (deposed, outcome unknown) rejects the commit, and the node
 * halts: a sequencer that lost its lease never acknowledges again. A local
 * write that fails after the etcd commit also halts the node; the entries are
 * in etcd, and the next sequencer (or this one restarted) catches its local
 * log up from there (catch-up.ts).
 */
import type { LedgerLogWriter, LevelLogStore, LogAppender, LogCommitItem } from '@vex/ledger';

export class ReplicatedLogWriter implements LedgerLogWriter {
  constructor(
    /** The etcd appender (its `unavailable()` is asked at intake), or any other appender. */
    private readonly appender: LogAppender & { unavailable?(): string | undefined },
    private readonly local: LevelLogStore,
  ) {}

  async commit(items: readonly LogCommitItem[]): Promise<void> {
    const encodings: Uint8Array[] = [];
    for (const item of items) if (item.entry !== undefined) encodings.push(item.entry.encoding);
    if (encodings.length > 0) await this.appender.append(encodings);
    await this.local.commit(items);
  }

  /** While etcd cannot confirm writes the node refuses new transactions (503, Retry-After) instead of queueing them. */
  unavailable(): string | undefined {
    return this.appender.unavailable?.();
  }
}
