/**
 * The export readers that give whole entries (StoredEntry: previous and entry
 * hash as arrays of their own), over LogExportBatchReader (log-format.ts),
 * which reads and checks the export in batches of views.
 */
import {
  LogExportBatchReader,
  LogFormatError,
  hashLengthBytes,
  type LogExport,
  type LogExportEntry,
  type LogExportHeader,
  type LogExportSource,
  type StoredEntry,
} from './log-format.js';

/** A fresh 32-byte array holding the hash whose hex is given. */
function hashBytesFromHex(hash: string): Uint8Array {
  const bytes = new Uint8Array(hashLengthBytes);
  Buffer.from(bytes.buffer, 0, hashLengthBytes).write(hash, 'hex');
  return bytes;
}

/**
 * A streaming reader of an export file, one checked entry at a time (see
 * LogExportBatchReader for the checks, which it runs). The transaction's
 * fields are views into the bytes read, not copies; previousHash and
 * entryHash are arrays of their own.
 */
export class LogExportReader {
  private consumed = false;

  private constructor(
    private readonly reader: LogExportBatchReader,
    readonly header: LogExportHeader,
  ) {}

  static async open(source: LogExportSource): Promise<LogExportReader> {
    const { reader, header } = await LogExportBatchReader.open(source);
    return new LogExportReader(reader, header);
  }

  /** The entries in order, each checked; the trailer is checked after the last. Iterate once. */
  async *entries(): AsyncGenerator<StoredEntry, { entryCount: number; lastHash: Uint8Array }, undefined> {
    if (this.consumed) throw new LogFormatError('the entries of an export can be read once');
    this.consumed = true;
    const reader = this.reader;
    let previousHash = this.header.anchorHash;
    try {
      for (let batch = await reader.read(); batch !== undefined; batch = await reader.read()) {
        for (let index = 0; index < batch.length; index += 1) {
          const entry = toStoredEntry(batch[index]!, previousHash);
          yield entry;
          previousHash = entry.entryHash;
        }
      }
      return reader.trailer;
    } finally {
      await reader.close();
    }
  }
}

function toStoredEntry(entry: LogExportEntry, previousHash: Uint8Array): StoredEntry {
  return {
    sequence: entry.sequence,
    logTimeMs: entry.logTimeMs,
    previousHash,
    transaction: entry.transaction,
    entryHash: hashBytesFromHex(entry.entryHash),
  };
}

/**
 * Reads and checks a whole export (see LogExportBatchReader) into memory. For
 * very large logs use LogExportReader or LogExportBatchReader instead.
 */
export async function readLogExport(source: LogExportSource): Promise<LogExport> {
  const { reader, header } = await LogExportBatchReader.open(source);
  const entries: StoredEntry[] = [];
  let previousHash = header.anchorHash;
  try {
    for (let batch = await reader.read(); batch !== undefined; batch = await reader.read()) {
      for (let index = 0; index < batch.length; index += 1) {
        const entry = toStoredEntry(batch[index]!, previousHash);
        entries.push(entry);
        previousHash = entry.entryHash;
      }
    }
  } finally {
    await reader.close();
  }
  return { ...header, entries, lastHash: reader.trailer.lastHash };
}
