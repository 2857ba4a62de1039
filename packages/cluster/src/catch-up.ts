/**
 * Catching a member's own LevelDB log up with the etcd log (docs/cluster.md,
 * "Standby and takeover"): the entries after the local head, read from etcd
 * checked (contiguous, chained to the local head), written as entry records
 * in synced batches. Nothing else is written: when the node opens on this
 * ledger, recovery verifies every entry after the latest snapshot (signatures
 * included), re-applies it with the engine and rebuilds its history records,
 * so a member trusts nothing it did not check.
 */
import { canonicalGenesisBytes, hashEntryEncoding, type Genesis } from '@vex/engine';
import {
  entryKey,
  formatMetaKey,
  genesisMetaKey,
  storageFormatVersion,
  type BatchOperation,
  type EncodedEntry,
  type LedgerDatabase,
  type LogPosition,
  type LogReader,
} from '@vex/ledger';

/**
 * Makes an empty ledger a ledger of `genesis` (what the node's first start
 * does), so entries caught up from etcd can be written before the node opens;
 * a ledger of another genesis is refused.
 */
export async function initialiseLedger(db: LedgerDatabase, genesis: Genesis): Promise<void> {
  const canonical = canonicalGenesisBytes(genesis);
  const stored = await db.get(genesisMetaKey);
  if (stored !== undefined) {
    if (!Buffer.from(stored).equals(Buffer.from(canonical)))
      throw new Error('this ledger was created with another genesis');
    return;
  }
  const operations: BatchOperation[] = [
    { type: 'put', key: genesisMetaKey, value: canonical },
    { type: 'put', key: formatMetaKey, value: Uint8Array.of(storageFormatVersion) },
  ];
  await db.batch(operations, { sync: true });
}

/** The last entry in a ledger's entry keyspace (0 and `genesisHash` when it has none). */
export async function localHead(db: LedgerDatabase, genesisHash: Uint8Array): Promise<LogPosition> {
  const range = { gte: entryKey(1), lte: entryKey(Number.MAX_SAFE_INTEGER), reverse: true, limit: 1 };
  for await (const [key, value] of db.iterator(range)) {
    const sequence = Number(Buffer.from(key).readBigUInt64BE(1));
    return { sequence, entryHash: hashEntryEncoding(value) };
  }
  return { sequence: 0, entryHash: genesisHash };
}

/**
 * Writes the entries of `log` after `from` up to `to` (default: its head) into
 * `db`. Resolves with the new local head. Throws LogOutsideWindowError when etcd
 * no longer holds them (catch up from another member's export first), and
 * LogContinuityError when they do not chain to `from` (this ledger forked from
 * the log: it must not be used).
 */
export async function catchUp(
  db: LedgerDatabase,
  log: LogReader,
  from: LogPosition,
  to?: number,
): Promise<LogPosition> {
  let head = from;
  const last = to ?? (await log.head()).sequence;
  if (last <= from.sequence) return head;
  for await (const batch of log.read(from.sequence + 1, last, from)) head = await writeEntries(db, batch);
  return head;
}

/** Writes checked entries (contiguous, chained to the ledger's head) in one synced batch; resolves with the head. */
export async function writeEntries(db: LedgerDatabase, batch: readonly EncodedEntry[]): Promise<LogPosition> {
  const operations: BatchOperation[] = batch.map((entry) => ({
    type: 'put',
    key: entryKey(entry.sequence),
    value: entry.encoding,
  }));
  await db.batch(operations, { sync: true });
  const end = batch[batch.length - 1]!;
  return { sequence: end.sequence, entryHash: end.entryHash };
}
