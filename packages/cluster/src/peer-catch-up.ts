/**
 * Joining and falling behind (docs/cluster.md, "Joining from a snapshot, and
 * catching up from an export"): what a member takes from another member over
 * HTTP when the etcd window does not hold what it lacks, in the node's own
 * export formats (GET /api/v1/snapshot, GET /api/v1/log?from=), and how it
 * checks it. Nothing a peer sends is trusted:
 *
 * - an export must be of our genesis, start where asked, chain (every entry's
 *   previous hash is the hash of the one before; the reader checks it and the
 *   trailer) from the anchor we hold, and every entry must be in the canonical
 *   encoding; the node then verifies every signature, applies every entry
 *   with the engine and re-makes every attestation the log records;
 * - a snapshot must hash to its state hash, decode (the engine validates the
 *   state and its invariants), follow an entry the export gives (entry hash),
 *   and be confirmed by the operator: the export after it must hold an
 *   attestation record, and the attestation the joiner makes from the state
 *   it reached there must be the one the record carries (its digest binds the
 *   state hash the operator signed). A doctored state can be self-consistent;
 *   it cannot reach the operator's attestation.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  bytesToLowerHex,
  decodeEntry,
  decodeSnapshot,
  decodeState,
  encodeEntry,
  genesisHash,
  hashEntryEncoding,
  isAttestationRecordMessage,
  readLogExport,
  sha256,
  type Genesis,
} from '@vex/engine';
import {
  createDatabase,
  entryKey,
  ExchangeNode,
  snapshotKey,
  type EncodedEntry,
  type LogPosition,
  type NodeHead,
} from '@vex/ledger';
import type { Logger } from 'pino';
import { initialiseLedger, localHead } from './catch-up.js';

/** A peer's snapshot or export that does not check out: nothing of it was kept. */
export class PeerDataRefusedError extends Error {
  override readonly name: string = 'PeerDataRefusedError';
}

/**
 * The peer's latest snapshot checks out so far, but no attestation record after
 * it confirms it yet (the operator attests at most attestEveryMs after an entry,
 * so a snapshot taken just now has none): the joiner asks the same peer again
 * shortly rather than fall back to replaying from the genesis.
 */
export class SnapshotNotYetConfirmedError extends PeerDataRefusedError {
  override readonly name = 'SnapshotNotYetConfirmedError';
}

/** Entries handed to the node per applyFromLog call. */
const applyBatchEntries = 256;
const fetchTimeoutMs = 60_000;

/** GETs `url` as bytes; undefined on 404 (no snapshot yet). */
async function fetchBytes(url: string): Promise<Uint8Array | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(fetchTimeoutMs) });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** An error's message followed by its causes' (a halted node's error says why only in its cause). */
function describeWithCauses(error: unknown): string {
  const messages: string[] = [];
  for (let current: unknown = error; current instanceof Error && messages.length < 4; current = current.cause)
    messages.push(current.message);
  return messages.length === 0 ? String(error) : messages.join(': ');
}

function refuse(peerUrl: string, what: string): never {
  throw new PeerDataRefusedError(`refused what ${peerUrl} sent: ${what}`);
}

/**
 * A peer's log from `from` to its head, checked: our genesis, the first entry
 * `from`, chained to `anchor` when given (our own head's hash), each entry
 * chained to the one before and in the canonical encoding.
 */
export async function fetchCheckedExport(
  peerUrl: string,
  genesis: Genesis,
  from: number,
  anchor?: Uint8Array,
): Promise<EncodedEntry[]> {
  const bytes = await fetchBytes(`${peerUrl}/api/v1/log?from=${from}`);
  if (bytes === undefined) refuse(peerUrl, 'no log export');
  let exported: Awaited<ReturnType<typeof readLogExport>>;
  try {
    exported = await readLogExport(bytes);
  } catch (error) {
    refuse(peerUrl, `the log export does not read: ${(error as Error).message}`);
  }
  if (bytesToLowerHex(exported.genesisHash) !== bytesToLowerHex(genesisHash(genesis)))
    refuse(peerUrl, 'the log export is of another genesis');
  if (exported.firstSequence !== from)
    refuse(peerUrl, `the log export starts at ${exported.firstSequence}, not ${from}`);
  if (anchor !== undefined && bytesToLowerHex(exported.anchorHash) !== bytesToLowerHex(anchor))
    refuse(peerUrl, `the log export's entry ${from} does not chain to this member's entry ${from - 1}`);
  return exported.entries.map((entry) => {
    const encoding = encodeEntry(entry);
    const entryHash = hashEntryEncoding(encoding);
    if (bytesToLowerHex(entryHash) !== bytesToLowerHex(entry.entryHash))
      refuse(peerUrl, `entry ${entry.sequence} of the log export is not in the canonical encoding`);
    return { sequence: entry.sequence, encoding, entryHash };
  });
}

/** Applies checked entries through the read-replica node (signatures, engine, attestation records); the new head. */
export async function applyEntries(node: ExchangeNode, entries: readonly EncodedEntry[]): Promise<NodeHead> {
  let head = node.head();
  for (let start = 0; start < entries.length; start += applyBatchEntries)
    head = await node.applyFromLog(entries.slice(start, start + applyBatchEntries));
  return head;
}

/**
 * Catches an open read-replica node up from a peer's export, from its head + 1
 * to the peer's head (the node halts if an entry fails its checks).
 */
export async function catchUpFromPeer(node: ExchangeNode, peerUrl: string, genesis: Genesis): Promise<NodeHead> {
  const head = node.head();
  const anchor = new Uint8Array(Buffer.from(head.entryHash, 'hex'));
  const entries = await fetchCheckedExport(peerUrl, genesis, head.sequence + 1, anchor);
  return applyEntries(node, entries);
}

export interface JoinOptions {
  readonly dataDirectory: string;
  readonly genesis: Genesis;
  /** The operator's seed: the joiner re-makes the attestation that confirms the snapshot. */
  readonly attestationSigningSeed: Uint8Array;
  readonly peerUrl: string;
  readonly logger: Logger;
  readonly snapshotEveryEntries?: number;
}

/** Whether the member's ledger holds no entry yet (a new member, or a wiped directory). */
export async function ledgerIsEmpty(dataDirectory: string, genesis: Genesis): Promise<boolean> {
  const db = createDatabase(join(dataDirectory, 'ledger'));
  try {
    await db.open();
    return (await localHead(db, genesisHash(genesis))).sequence === 0;
  } finally {
    await db.close();
  }
}

/**
 * Makes an empty ledger a copy of a peer's from its latest snapshot on: the
 * snapshot and its entry are written, the node opens on them (recovery checks
 * the snapshot again), and the peer's log after the snapshot is applied up to
 * its head. Resolves with the head reached, or undefined when the peer has no
 * snapshot yet. On any failure the ledger is removed again and the error
 * thrown (PeerDataRefusedError when the peer's data did not check out).
 */
export async function joinFromSnapshot(options: JoinOptions): Promise<LogPosition | undefined> {
  const { peerUrl, genesis } = options;
  const bytes = await fetchBytes(`${peerUrl}/api/v1/snapshot`);
  if (bytes === undefined) return undefined;
  let record: ReturnType<typeof decodeSnapshot>;
  try {
    record = decodeSnapshot(bytes);
    decodeState(record.stateEncoding);
  } catch (error) {
    refuse(peerUrl, `the snapshot does not decode: ${(error as Error).message}`);
  }
  if (bytesToLowerHex(sha256(record.stateEncoding)) !== bytesToLowerHex(record.stateHash))
    refuse(peerUrl, `the snapshot's state does not hash to its state hash`);
  const entries = await fetchCheckedExport(peerUrl, genesis, record.sequence);
  const [first, ...after] = entries;
  if (first === undefined || bytesToLowerHex(first.entryHash) !== bytesToLowerHex(record.entryHash))
    refuse(peerUrl, `the log export's entry ${record.sequence} is not the one the snapshot follows`);
  if (!after.some((entry) => isAttestationRecordMessage(decodeEntry(entry.encoding).transaction.message)))
    throw new SnapshotNotYetConfirmedError(
      `refused what ${peerUrl} sent: ` +
        `no attestation after the snapshot (entry ${record.sequence}) confirms its state yet`,
    );
  const location = join(options.dataDirectory, 'ledger');
  try {
    const db = createDatabase(location);
    await db.open();
    try {
      await initialiseLedger(db, genesis);
      await db.batch(
        [
          { type: 'put', key: snapshotKey(record.sequence), value: bytes },
          { type: 'put', key: entryKey(record.sequence), value: first.encoding },
        ],
        { sync: true },
      );
    } finally {
      await db.close();
    }
    const node = await ExchangeNode.open({
      dataDirectory: options.dataDirectory,
      genesis,
      logger: options.logger,
      readReplica: true,
      attestationSigningSeed: options.attestationSigningSeed,
      ...(options.snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries: options.snapshotEveryEntries }),
    });
    try {
      const head = await applyEntries(node, after);
      return { sequence: head.sequence, entryHash: new Uint8Array(Buffer.from(head.entryHash, 'hex')) };
    } finally {
      await node.close();
    }
  } catch (error) {
    await rm(location, { recursive: true, force: true });
    if (error instanceof PeerDataRefusedError) throw error;
    refuse(peerUrl, `its snapshot and log did not replay: ${describeWithCauses(error)}`);
  }
}
