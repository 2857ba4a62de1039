/**
 * Upgrading a ledger of an earlier storage format in place, before recovery
 * opens it (docs/log-format.md, "Storage format versions").
 *
 * Version 1 → 2: a version-1 ledger has no borrow/lend history records
 * (keyspace 0x17) for its entries and holds version-1 attestations. The
 * attestations stay as they are: they are what the operator signed, the log's
 * attestation records carry their digests, and the store reads both versions.
 * The history is derived data that recovery rewrites for every entry it
 * replays, so the upgrade deletes the snapshots (a cache of the state that
 * the log rebuilds) and stores the new format version, in one synced batch;
 * recovery then finds no snapshot and replays the whole log from the
 * genesis, checking every entry and writing every history record. A crash
 * during that replay leaves a version-2 ledger without snapshots, which the
 * next start replays from the genesis in the same way, so the upgrade needs
 * no marker of its own.
 *
 * Version 2 → 3 (and 1 → 3 at once): version 3 adds the perpetuals' funding
 * and mark price history (keyspaces 0x18, 0x19), rebuilt the same way.
 *
 * Version 3 → 4 (and 1 or 2 → 4 at once): version 4 adds the perpetuals'
 * per-account funding payments, settlements and closed positions (keyspaces
 * 0x1a–0x1c), rebuilt the same way.
 *
 * Version 4 → 5 (and any older one → 5 at once): version 5's order-by-id
 * records (0x12) name the order's account instead of holding a copy of the
 * order. Every order's record is written by the entry that accepted it, so
 * the same replay from the genesis rewrites every one of them; a node of
 * format 4, which would read them as orders, refuses the ledger by its format.
 *
 * Version 5 → 6 (and any older one → 6 at once): version 6's fill (0x10) and
 * public trade (0x15) records are JSON arrays instead of objects. Every fill
 * and public trade is written by the entry that made the trade, under the
 * same key, so the same replay rewrites every one of them. Version 6 also
 * keeps one order-by-id record (0x12) per entry, under the entry's first
 * order id, holding the pointers of every order the entry accepted: the
 * upgrade deletes every older 0x12 record in its batch (under any other id it
 * would be read as that order's), and the replay writes the new ones. A node
 * of format 5, which would read either kind the old way, refuses the ledger
 * by its format.
 *
 * Version 6 → 7 (and any older one → 7 at once): version 7 writes one record
 * per account and entry under the account keys: the account's fills of the
 * entry in one 0x10 record keyed by the entry's sequence, the ids of the
 * orders the entry accepted for it in one 0x11 record keyed by the least of
 * them, and every order's latest status under its id (0x1d) instead of under
 * its account. The upgrade deletes every 0x10 and 0x11 record in its batch
 * (an old one, under its key of another length, would be misread as a new
 * one) and the replay writes the new ones: every fill was written by the
 * entry that made it, every order's ids by the entry that accepted it, and
 * every order's last change is in some entry. A node of format 6 refuses the
 * ledger by its format.
 *
 * Version 7 → 8 (and any older one → 8 at once): version 8's order status
 * (0x1d), fill (0x10) and public trade (0x15) records are binary instead of
 * JSON arrays, under the same keys, and its order pointers (0x12) name each
 * run of one account's orders once. The replay writes every one of them
 * again under the same key (each is written by an entry of the log: the
 * trade's, the accepting one, the order's last change), so none of format
 * 7's would survive it; the upgrade's batch deletes them anyway, so that what
 * a format-8 ledger holds under those keyspaces never depends on that.
 * A node of format 7 refuses the ledger by its format.
 */
import { bytesToLowerHex } from '@vex/engine';
import type { Logger } from 'pino';
import { writeBatch, type BatchOperation, type LedgerDatabase } from './database.js';
import { RecoveryError } from './errors.js';
import {
  formatMetaKey,
  genesisMetaKey,
  keyspaces,
  prefixRange,
  snapshotRange,
  storageFormatVersion,
} from './storage-format.js';

/**
 * The records an older format wrote differently under keys of these keyspaces: the replay writes format 8's, and an
 * old one left would be misread (an order-by-id record of formats 1 to 5 under an id that is not its entry's first
 * as that order's pointers; a fill or order record of formats 1 to 6 as a format-7 fill or order-ids record), or
 * is one the replay overwrites under the same key (format 7's JSON status, fill and trade records, its pointers).
 */
const rewrittenKeyspaces = [
  keyspaces.fillByAccount,
  keyspaces.orderByAccount,
  keyspaces.orderById,
  keyspaces.orderStatusById,
  keyspaces.tradeByMarket,
];

/** The oldest storage format this code upgrades. */
export const oldestUpgradableStorageFormat = 1;

/** What was done: nothing (a new or current ledger), or the upgrade from `from`. */
export type StorageUpgrade =
  | { readonly upgraded: false }
  | { readonly upgraded: true; readonly from: number; readonly snapshotsDropped: number };

/**
 * Upgrades the ledger in `db` to storageFormatVersion when it is of an older
 * format this code knows; does nothing for a new ledger (no genesis stored)
 * or a current one. Throws RecoveryError for a format it cannot open: a newer
 * one (written by a later version of the node), or one it does not know.
 */
export async function upgradeStorageFormat(
  db: LedgerDatabase,
  location: string,
  logger: Logger,
): Promise<StorageUpgrade> {
  if ((await db.get(genesisMetaKey)) === undefined) return { upgraded: false };
  const stored = await db.get(formatMetaKey);
  const format = stored !== undefined && stored.length === 1 ? stored[0]! : undefined;
  if (format === storageFormatVersion) return { upgraded: false };
  if (format === undefined || format < oldestUpgradableStorageFormat || format > storageFormatVersion) {
    const found = stored === undefined ? 'missing' : `0x${bytesToLowerHex(stored)}`;
    const advice =
      format !== undefined && format > storageFormatVersion
        ? 'it was written by a newer version of the node: run that version, or restore a backup made before it ran'
        : 'this node cannot read it: restore the ledger directory from a backup, or rebuild it from a verified export';
    throw new RecoveryError(
      'storage-format',
      location,
      undefined,
      `the storage format is ${found}, this node reads formats ${oldestUpgradableStorageFormat} ` +
        `to ${storageFormatVersion} (${advice})`,
    );
  }
  const operations: BatchOperation[] = [];
  for await (const key of db.keys(snapshotRange)) operations.push({ type: 'del', key });
  const snapshotsDropped = operations.length;
  // The records the replay rewrites in format 8's kind go in the same batch (rewrittenKeyspaces).
  for (const space of rewrittenKeyspaces)
    for await (const key of db.keys(prefixRange(Uint8Array.of(space)))) operations.push({ type: 'del', key });
  const historyRecordsDropped = operations.length - snapshotsDropped;
  operations.push({ type: 'put', key: formatMetaKey, value: Uint8Array.of(storageFormatVersion) });
  await writeBatch(db, [operations], { sync: true });
  logger.warn(
    { location, fromFormat: format, toFormat: storageFormatVersion, snapshotsDropped, historyRecordsDropped },
    `ledger upgraded from storage format ${format} to ${storageFormatVersion}: ` +
      `${snapshotsDropped} snapshots dropped, the log is replayed from the genesis to rebuild the history`,
  );
  return { upgraded: true, from: format, snapshotsDropped };
}
