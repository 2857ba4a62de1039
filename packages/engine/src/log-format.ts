/**
 * The log's byte formats: the entry encoding, the entry and genesis hashes,
 * and the portable export file. docs/log-format.md specifies all of them.
 *
 * This module is self-contained on purpose: it imports nothing but node:crypto
 * (and engine *types*, which are erased), never LevelDB or the rest of the
 * ledger, so that a verifier such as the replayer can read an exported log
 * without depending on the node. Keep it that way.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import type { SignedTransaction } from './apply.js';
import type { Genesis } from './state.js';

/** Thrown for any malformed, non-canonical or inconsistent log bytes. */
export class LogFormatError extends Error {
  override readonly name = 'LogFormatError';
}

// ---------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------

export const entryEncodingVersion = 1;
export const hashLengthBytes = 32;
export const publicKeyLengthBytes = 32;
export const signatureLengthBytes = 64;
/** Bytes before the message: version, sequence, log time, previous hash, key, signature, message length. */
export const entryHeaderLengthBytes = 1 + 8 + 8 + hashLengthBytes + publicKeyLengthBytes + signatureLengthBytes + 4;
/** The largest message an entry may carry (the engine itself refuses signing strings above 16 KiB). */
export const maximumMessageLengthBytes = 1 << 20;
export const maximumEntryLengthBytes = entryHeaderLengthBytes + maximumMessageLengthBytes;

/** Domain-separation tags, hashed before the bytes they tag. ASCII, each ending in a zero byte. */
export const entryHashTag: Uint8Array = new TextEncoder().encode('vex-ledger/entry/v1\0');
export const genesisHashTag: Uint8Array = new TextEncoder().encode('vex-ledger/genesis/v1\0');

/** One log entry as stored: everything that is hashed. */
export interface EntryRecord {
  /** 1, 2, 3, … without gaps. */
  readonly sequence: number;
  /** Assigned by the sequencer; never decreases along the log. */
  readonly logTimeMs: number;
  /** The entry hash of the previous entry; entry 1 carries the genesis hash. */
  readonly previousHash: Uint8Array;
  /** The signed transaction exactly as received. */
  readonly transaction: SignedTransaction;
}

/** An entry together with its own hash. */
export interface StoredEntry extends EntryRecord {
  readonly entryHash: Uint8Array;
}

function isSafeUnsigned(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function writeUint64(view: DataView, offset: number, value: number): void {
  // Through BigInt: the engine's determinism rules allow no division of numbers.
  view.setBigUint64(offset, BigInt(value));
}

function readUint64(view: DataView, offset: number, what: string): number {
  const high = view.getUint32(offset);
  const low = view.getUint32(offset + 4);
  if (high > 0x1f_ffff) throw new LogFormatError(`${what} exceeds 2^53 − 1`);
  return high * 0x1_0000_0000 + low;
}

/**
 * The entry encoding (version 1), all integers big-endian:
 * version u8 ‖ sequence u64 ‖ logTimeMs u64 ‖ previousHash[32] ‖ publicKey[32]
 * ‖ signature[64] ‖ messageLength u32 ‖ message.
 */
export function encodeEntry(entry: EntryRecord): Uint8Array {
  const { sequence, logTimeMs, previousHash, transaction } = entry;
  const { message, publicKey, signature } = transaction;
  if (!isSafeUnsigned(sequence) || sequence < 1) throw new LogFormatError(`sequence ${sequence} is not a positive safe integer`);
  if (!isSafeUnsigned(logTimeMs)) throw new LogFormatError(`log time ${logTimeMs} is not a non-negative safe integer`);
  if (previousHash.length !== hashLengthBytes) throw new LogFormatError('the previous hash is not 32 bytes');
  if (publicKey.length !== publicKeyLengthBytes) throw new LogFormatError('the public key is not 32 bytes');
  if (signature.length !== signatureLengthBytes) throw new LogFormatError('the signature is not 64 bytes');
  if (message.length > maximumMessageLengthBytes) throw new LogFormatError(`the message is longer than ${maximumMessageLengthBytes} bytes`);
  const bytes = new Uint8Array(entryHeaderLengthBytes + message.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = entryEncodingVersion;
  writeUint64(view, 1, sequence);
  writeUint64(view, 9, logTimeMs);
  bytes.set(previousHash, 17);
  bytes.set(publicKey, 49);
  bytes.set(signature, 81);
  view.setUint32(145, message.length);
  bytes.set(message, entryHeaderLengthBytes);
  return bytes;
}

/** Decodes an entry encoding; anything but exactly one well-formed version-1 entry is refused. */
export function decodeEntry(input: Uint8Array): EntryRecord {
  // A plain view, so that slice() copies even when the input is a Node Buffer.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < entryHeaderLengthBytes) throw new LogFormatError(`an entry is at least ${entryHeaderLengthBytes} bytes, got ${bytes.length}`);
  if (bytes[0] !== entryEncodingVersion) throw new LogFormatError(`unsupported entry version ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sequence = readUint64(view, 1, 'the sequence');
  if (sequence < 1) throw new LogFormatError('the sequence is zero');
  const logTimeMs = readUint64(view, 9, 'the log time');
  const messageLength = view.getUint32(145);
  if (messageLength > maximumMessageLengthBytes) throw new LogFormatError(`the message length ${messageLength} exceeds ${maximumMessageLengthBytes}`);
  if (bytes.length !== entryHeaderLengthBytes + messageLength) {
    throw new LogFormatError(`the entry is ${bytes.length} bytes but its message length says ${entryHeaderLengthBytes + messageLength}`);
  }
  // Copies, so a decoded entry never aliases a larger buffer it came from.
  return {
    sequence,
    logTimeMs,
    previousHash: bytes.slice(17, 49),
    transaction: {
      publicKey: bytes.slice(49, 81),
      signature: bytes.slice(81, 145),
      message: bytes.slice(entryHeaderLengthBytes),
    },
  };
}

/** entryHash = SHA-256(entryHashTag ‖ entry encoding). */
export function hashEntryEncoding(encoding: Uint8Array): Uint8Array {
  const tagged = Buffer.allocUnsafe(entryHashTag.length + encoding.length);
  tagged.set(entryHashTag, 0);
  tagged.set(encoding, entryHashTag.length);
  return sha256(tagged);
}

/** A fresh 32-byte array (never a view of Node's shared buffer pool). */
function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(oneShotHash('sha256', bytes, 'buffer'));
}

/** Writes a safe integer as 8 big-endian bytes (keys and the sequencer's hashing). */
export function putUint64(bytes: Uint8Array, offset: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setBigUint64(offset, BigInt(value));
}

/**
 * encodeEntry and hashEntryEncoding in one step, for the sequencer's hot
 * path: the encoding is built right after the tag in one buffer, so hashing
 * needs no second copy.
 */
export function encodeAndHashEntry(entry: EntryRecord): { encoding: Uint8Array; entryHash: Uint8Array } {
  const { sequence, logTimeMs, previousHash, transaction } = entry;
  const { message, publicKey, signature } = transaction;
  if (!isSafeUnsigned(sequence) || sequence < 1) throw new LogFormatError(`sequence ${sequence} is not a positive safe integer`);
  if (!isSafeUnsigned(logTimeMs)) throw new LogFormatError(`log time ${logTimeMs} is not a non-negative safe integer`);
  if (previousHash.length !== hashLengthBytes) throw new LogFormatError('the previous hash is not 32 bytes');
  if (publicKey.length !== publicKeyLengthBytes) throw new LogFormatError('the public key is not 32 bytes');
  if (signature.length !== signatureLengthBytes) throw new LogFormatError('the signature is not 64 bytes');
  if (message.length > maximumMessageLengthBytes) throw new LogFormatError(`the message is longer than ${maximumMessageLengthBytes} bytes`);
  const start = entryHashTag.length;
  const length = entryHeaderLengthBytes + message.length;
  const tagged = Buffer.allocUnsafe(start + length);
  tagged.set(entryHashTag, 0);
  tagged[start] = entryEncodingVersion;
  putUint64(tagged, start + 1, sequence);
  putUint64(tagged, start + 9, logTimeMs);
  tagged.set(previousHash, start + 17);
  tagged.set(publicKey, start + 49);
  tagged.set(signature, start + 81);
  const messageLength = message.length;
  tagged[start + 145] = messageLength >>> 24;
  tagged[start + 146] = (messageLength >>> 16) & 0xff;
  tagged[start + 147] = (messageLength >>> 8) & 0xff;
  tagged[start + 148] = messageLength & 0xff;
  tagged.set(message, start + entryHeaderLengthBytes);
  return { encoding: new Uint8Array(tagged.buffer, tagged.byteOffset + start, length), entryHash: sha256(tagged) };
}

// ---------------------------------------------------------------------------
// Genesis
// ---------------------------------------------------------------------------

/**
 * The canonical JSON of a genesis: exactly its three fields, keys in sorted
 * order (exchangeName, feeAccount, operatorKeys), operator keys in their
 * configured order, no whitespace, strings escaped as JSON.stringify does.
 */
export function canonicalGenesisJson(genesis: Genesis): string {
  return JSON.stringify({
    exchangeName: genesis.exchangeName,
    feeAccount: genesis.feeAccount,
    operatorKeys: [...genesis.operatorKeys],
  });
}

export function canonicalGenesisBytes(genesis: Genesis): Uint8Array {
  return new TextEncoder().encode(canonicalGenesisJson(genesis));
}

/** genesisHash = SHA-256(genesisHashTag ‖ canonical genesis JSON as UTF-8). */
export function hashGenesisBytes(canonicalJson: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(genesisHashTag).update(canonicalJson).digest());
}


export function genesisHash(genesis: Genesis): Uint8Array {
  return hashGenesisBytes(canonicalGenesisBytes(genesis));
}

/** Parses canonical genesis JSON; bytes that are not exactly canonical are refused. */
export function parseCanonicalGenesis(bytes: Uint8Array): Genesis {
  let text: string;
  let parsed: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LogFormatError(`the genesis is not UTF-8 JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const record = parsed as Record<string, unknown> | null;
  if (
    typeof record !== 'object' || record === null || Array.isArray(record) ||
    typeof record.exchangeName !== 'string' || typeof record.feeAccount !== 'string' ||
    !Array.isArray(record.operatorKeys) || !record.operatorKeys.every((key) => typeof key === 'string')
  ) {
    throw new LogFormatError('the genesis must be an object with string exchangeName, string feeAccount and string[] operatorKeys');
  }
  const genesis: Genesis = {
    exchangeName: record.exchangeName,
    feeAccount: record.feeAccount,
    operatorKeys: record.operatorKeys as string[],
  };
  if (canonicalGenesisJson(genesis) !== text) throw new LogFormatError('the genesis JSON is not canonical');
  return genesis;
}

// ---------------------------------------------------------------------------
// The export file
// ---------------------------------------------------------------------------

/** "VEX-LOG" and a newline: 8 bytes. */
export const exportMagic: Uint8Array = new TextEncoder().encode('VEX-LOG\n');
export const exportFormatVersion = 1;
/** Readers refuse a genesis longer than this. */
export const maximumGenesisLengthBytes = 1 << 20;

/**
 * magic[8] ‖ version u8 ‖ genesisLength u32 ‖ canonical genesis JSON ‖
 * firstSequence u64 ‖ anchorHash[32] (the hash of entry firstSequence − 1,
 * or the genesis hash when firstSequence is 1).
 */
export function encodeExportHeader(canonicalGenesis: Uint8Array, firstSequence: number, anchorHash: Uint8Array): Uint8Array {
  if (!isSafeUnsigned(firstSequence) || firstSequence < 1) throw new LogFormatError(`first sequence ${firstSequence} is not positive`);
  if (anchorHash.length !== hashLengthBytes) throw new LogFormatError('the anchor hash is not 32 bytes');
  const bytes = new Uint8Array(exportMagic.length + 1 + 4 + canonicalGenesis.length + 8 + hashLengthBytes);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  bytes.set(exportMagic, offset);
  offset += exportMagic.length;
  bytes[offset] = exportFormatVersion;
  offset += 1;
  view.setUint32(offset, canonicalGenesis.length);
  offset += 4;
  bytes.set(canonicalGenesis, offset);
  offset += canonicalGenesis.length;
  writeUint64(view, offset, firstSequence);
  offset += 8;
  bytes.set(anchorHash, offset);
  return bytes;
}

/** An entry frame: length u32 (never 0) ‖ entry encoding. */
export function encodeExportFrame(encoding: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + encoding.length);
  new DataView(bytes.buffer).setUint32(0, encoding.length);
  bytes.set(encoding, 4);
  return bytes;
}

/** The trailer: a zero length u32 ‖ entryCount u64 ‖ lastHash[32] (the anchor hash when there are no entries). */
export function encodeExportTrailer(entryCount: number, lastHash: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + 8 + hashLengthBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0);
  writeUint64(view, 4, entryCount);
  bytes.set(lastHash, 12);
  return bytes;
}

/** What the export header says, with the genesis hash recomputed. */
export interface LogExportHeader {
  readonly version: number;
  readonly genesis: Genesis;
  readonly canonicalGenesis: Uint8Array;
  readonly genesisHash: Uint8Array;
  readonly firstSequence: number;
  /**
   * The previous hash of the first entry. When firstSequence is 1 the reader
   * has checked that it is the genesis hash; otherwise a verifier must compare
   * it with a trusted hash of entry firstSequence − 1.
   */
  readonly anchorHash: Uint8Array;
}

export interface LogExport extends LogExportHeader {
  readonly entries: StoredEntry[];
  /** The hash of the last entry (the anchor hash when there are none). */
  readonly lastHash: Uint8Array;
}

export type LogExportSource = Uint8Array | AsyncIterable<Uint8Array | string>;

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index += 1) if (left[index] !== right[index]) return false;
  return true;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Reads exact byte counts from a chunked source. */
class ChunkedBytes {
  private readonly iterator: AsyncIterator<Uint8Array | string> | undefined;
  private buffer: Uint8Array;
  private offset = 0;
  /** Bytes consumed before `buffer`, for error messages. */
  private consumed = 0;
  private ended: boolean;

  constructor(source: LogExportSource) {
    if (source instanceof Uint8Array) {
      this.iterator = undefined;
      this.buffer = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
      this.ended = true;
    } else {
      this.iterator = source[Symbol.asyncIterator]();
      this.buffer = new Uint8Array(0);
      this.ended = false;
    }
  }

  get position(): number {
    return this.consumed + this.offset;
  }

  private async fill(needed: number): Promise<boolean> {
    while (this.buffer.length - this.offset < needed) {
      if (this.ended || this.iterator === undefined) return false;
      const next = await this.iterator.next();
      if (next.done === true) {
        this.ended = true;
        return false;
      }
      if (typeof next.value === 'string') throw new LogFormatError('the export source yields text; read the file as bytes (no encoding)');
      const chunk = next.value;
      const rest = this.buffer.subarray(this.offset);
      const joined = new Uint8Array(rest.length + chunk.length);
      joined.set(rest, 0);
      joined.set(chunk, rest.length);
      this.consumed += this.offset;
      this.buffer = joined;
      this.offset = 0;
    }
    return true;
  }

  async read(length: number, what: string): Promise<Uint8Array> {
    if (!(await this.fill(length))) throw new LogFormatError(`the export is truncated: ${what} at byte ${this.position} is incomplete`);
    const bytes = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  async close(): Promise<void> {
    await this.iterator?.return?.();
  }
}

function uint32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
}

function uint64(bytes: Uint8Array, what: string): number {
  return readUint64(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, what);
}

/**
 * A streaming reader of an export file. It trusts nothing: it recomputes the
 * genesis hash and every entry hash, checks that sequences run on without
 * gaps, that each entry's previous hash is the hash of the entry before (the
 * anchor for the first) and that log times never decrease, and checks the
 * trailer's count and last hash. It does not check signatures or apply the
 * entries; that is the replayer's work.
 */
export class LogExportReader {
  private consumed = false;

  private constructor(
    private readonly input: ChunkedBytes,
    readonly header: LogExportHeader,
  ) {}

  static async open(source: LogExportSource): Promise<LogExportReader> {
    const input = new ChunkedBytes(source);
    const magic = await input.read(exportMagic.length, 'the magic');
    if (!equalBytes(magic, exportMagic)) throw new LogFormatError('not a log export (bad magic)');
    const version = (await input.read(1, 'the version'))[0]!;
    if (version !== exportFormatVersion) throw new LogFormatError(`unsupported export version ${version}`);
    const genesisLength = uint32(await input.read(4, 'the genesis length'));
    if (genesisLength > maximumGenesisLengthBytes) throw new LogFormatError(`the genesis length ${genesisLength} is too large`);
    const canonicalGenesis = (await input.read(genesisLength, 'the genesis')).slice();
    const genesis = parseCanonicalGenesis(canonicalGenesis);
    const genesisDigest = hashGenesisBytes(canonicalGenesis);
    const firstSequence = uint64(await input.read(8, 'the first sequence'), 'the first sequence');
    if (firstSequence < 1) throw new LogFormatError('the first sequence is zero');
    const anchorHash = (await input.read(hashLengthBytes, 'the anchor hash')).slice();
    if (firstSequence === 1 && !equalBytes(anchorHash, genesisDigest)) {
      throw new LogFormatError(`the anchor hash ${hex(anchorHash)} is not the genesis hash ${hex(genesisDigest)}`);
    }
    return new LogExportReader(input, {
      version, genesis, canonicalGenesis, genesisHash: genesisDigest, firstSequence, anchorHash,
    });
  }

  /** The entries in order, each checked; the trailer is checked after the last. Iterate once. */
  async *entries(): AsyncGenerator<StoredEntry, { entryCount: number; lastHash: Uint8Array }, undefined> {
    if (this.consumed) throw new LogFormatError('the entries of an export can be read once');
    this.consumed = true;
    const input = this.input;
    let expectedSequence = this.header.firstSequence;
    let previousHash = this.header.anchorHash;
    let previousLogTimeMs = 0;
    let count = 0;
    try {
      for (;;) {
        const length = uint32(await input.read(4, 'a frame length'));
        if (length === 0) break;
        if (length > maximumEntryLengthBytes) throw new LogFormatError(`entry ${expectedSequence}: frame length ${length} is too large`);
        const encoding = (await input.read(length, `entry ${expectedSequence}`)).slice();
        let entry: EntryRecord;
        try {
          entry = decodeEntry(encoding);
        } catch (error) {
          throw new LogFormatError(`entry ${expectedSequence}: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (entry.sequence !== expectedSequence) throw new LogFormatError(`entry ${expectedSequence}: it says it is entry ${entry.sequence}`);
        if (!equalBytes(entry.previousHash, previousHash)) {
          throw new LogFormatError(`entry ${expectedSequence}: its previous hash ${hex(entry.previousHash)} is not the hash ${hex(previousHash)} of the entry before`);
        }
        if (entry.logTimeMs < previousLogTimeMs) {
          throw new LogFormatError(`entry ${expectedSequence}: log time ${entry.logTimeMs} precedes ${previousLogTimeMs}`);
        }
        const entryHash = hashEntryEncoding(encoding);
        yield { ...entry, entryHash };
        previousHash = entryHash;
        previousLogTimeMs = entry.logTimeMs;
        expectedSequence += 1;
        count += 1;
      }
      const entryCount = uint64(await input.read(8, 'the trailer count'), 'the trailer count');
      const lastHash = (await input.read(hashLengthBytes, 'the trailer hash')).slice();
      if (entryCount !== count) throw new LogFormatError(`the trailer counts ${entryCount} entries but the file holds ${count}`);
      if (!equalBytes(lastHash, previousHash)) throw new LogFormatError(`the trailer's last hash ${hex(lastHash)} is not the last entry's hash ${hex(previousHash)}`);
      if (!(await input.atEnd())) throw new LogFormatError(`trailing bytes after the trailer at byte ${input.position}`);
      return { entryCount, lastHash };
    } finally {
      await input.close();
    }
  }
}

/**
 * Reads and checks a whole export (see LogExportReader) into memory. For very
 * large logs use LogExportReader.open(source).entries() instead.
 */
export async function readLogExport(source: LogExportSource): Promise<LogExport> {
  const reader = await LogExportReader.open(source);
  const entries: StoredEntry[] = [];
  const iterator = reader.entries();
  let step = await iterator.next();
  while (step.done !== true) {
    entries.push(step.value);
    step = await iterator.next();
  }
  return { ...reader.header, entries, lastHash: step.value.lastHash };
}
