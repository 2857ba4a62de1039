/**
 * Exports: the log as an export file (docs/log-format.md, "Export files"),
 * the attestations as JSON Lines, and the latest snapshot record, streamed to
 * a writable in pieces of about exportChunkBytes with back-pressure.
 */
import { once } from 'node:events';
import { LogFormatError, encodeExportFrame, encodeExportHeader, encodeExportTrailer } from '@vex/engine';
import { readStoredAttestations } from './attestation-store.js';
import type { LedgerDatabase } from './database.js';
import type { LevelLogStore } from './level-log-store.js';
import { exportChunkBytes } from './node-options.js';
import type { StoredSnapshot } from './node-types.js';
import { sequenceOfKey, snapshotKey, snapshotRange } from './storage-format.js';

/**
 * Waits until `destination` can take more data. A reader that goes away
 * mid-export (an HTTP client disconnecting) closes the stream instead of
 * draining it; waiting for `drain` alone would then hang forever and keep a
 * LevelDB iterator open, so a close or error ends the export with an error.
 */
export async function waitForDrain(destination: NodeJS.WritableStream): Promise<void> {
  const emitter = destination as unknown as NodeJS.EventEmitter & { destroyed?: boolean };
  if (emitter.destroyed === true) throw new Error('the export destination closed before the export finished');
  const controller = new AbortController();
  const drained = once(emitter, 'drain', { signal: controller.signal });
  const closed = once(emitter, 'close', { signal: controller.signal }).then(() => {
    throw new Error('the export destination closed before the export finished');
  });
  // The loser of the race is aborted below; its rejection is expected.
  drained.catch(() => undefined);
  closed.catch(() => undefined);
  try {
    await Promise.race([drained, closed]);
  } finally {
    controller.abort();
  }
}

/** Collects output pieces and writes them out about exportChunkBytes at a time. */
class ChunkedWriter {
  private readonly pieces: Uint8Array[] = [];
  private bytes = 0;

  constructor(private readonly destination: NodeJS.WritableStream) {}

  async add(piece: Uint8Array): Promise<void> {
    this.pieces.push(piece);
    this.bytes += piece.length;
    if (this.bytes >= exportChunkBytes) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pieces.length === 0) return;
    const chunk = Buffer.concat(this.pieces, this.bytes);
    this.pieces.length = 0;
    this.bytes = 0;
    if (!this.destination.write(chunk)) await waitForDrain(this.destination);
  }
}

export interface LogExportSource {
  readonly store: LevelLogStore;
  readonly genesisHash: Uint8Array;
  readonly canonicalGenesis: Uint8Array;
  /** The durable head when the export starts: the export ends there. */
  readonly headSequence: number;
}

/**
 * Streams the log from `fromSequence` to the source's head as an export file
 * (docs/log-format.md). Does not end `destination`.
 */
export async function exportLog(
  source: LogExportSource,
  destination: NodeJS.WritableStream,
  fromSequence: number,
): Promise<void> {
  if (!Number.isSafeInteger(fromSequence) || fromSequence < 1) {
    throw new RangeError(`fromSequence must be a positive integer, got ${fromSequence}`);
  }
  const last = source.headSequence;
  if (fromSequence > last + 1) throw new RangeError(`fromSequence ${fromSequence} is beyond the head ${last} + 1`);
  const anchorHash = fromSequence > 1 ? await source.store.entryHashAt(fromSequence - 1) : source.genesisHash;
  const writer = new ChunkedWriter(destination);
  await writer.add(encodeExportHeader(source.canonicalGenesis, fromSequence, anchorHash));
  let count = 0;
  let lastHash = anchorHash;
  if (fromSequence <= last) {
    for await (const { raw, entry } of source.store.entries(fromSequence, last)) {
      if (!Buffer.from(entry.previousHash).equals(lastHash)) {
        throw new LogFormatError(`entry ${entry.sequence} does not chain to entry ${entry.sequence - 1}`);
      }
      lastHash = entry.entryHash;
      count += 1;
      await writer.add(encodeExportFrame(raw));
    }
  }
  await writer.add(encodeExportTrailer(count, lastHash));
  await writer.flush();
}

/**
 * Writes the durable attestations from `fromSequence` to `throughSequence`
 * (the last durable one; 0 for none) as JSON Lines: each one's stored
 * canonical JSON and a newline, in sequence order. Does not end
 * `destination`. Resolves with the number written.
 */
export async function exportAttestations(
  db: LedgerDatabase,
  throughSequence: number,
  destination: NodeJS.WritableStream,
  fromSequence: number,
): Promise<number> {
  if (!Number.isSafeInteger(fromSequence) || fromSequence < 1) {
    throw new RangeError(`fromSequence must be a positive integer, got ${fromSequence}`);
  }
  if (throughSequence === 0) return 0;
  let count = 0;
  let pending = '';
  for await (const stored of readStoredAttestations(db, fromSequence, throughSequence)) {
    pending += `${stored.json}\n`;
    count += 1;
    if (pending.length >= exportChunkBytes) {
      const chunk = pending;
      pending = '';
      if (!destination.write(chunk)) await waitForDrain(destination);
    }
  }
  if (pending.length > 0 && !destination.write(pending)) await waitForDrain(destination);
  return count;
}

/** The most recent stored snapshot record at or before `headSequence`, byte for byte. */
export async function readLatestSnapshot(
  db: LedgerDatabase,
  headSequence: number,
): Promise<StoredSnapshot | undefined> {
  if (headSequence < 1) return undefined;
  const range = { gte: snapshotRange.gte, lte: snapshotKey(headSequence), reverse: true, limit: 1 };
  for await (const [key, record] of db.iterator(range)) {
    const sequence = sequenceOfKey(key);
    if (sequence === undefined) throw new LogFormatError(`a snapshot key has ${key.length} bytes instead of 9`);
    return { sequence, record };
  }
  return undefined;
}
