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
import type { LogEntry, SignedTransaction } from './apply.js';
import { canonicalCustodians, isStringRecord } from './genesis-custodians.js';
import type { Genesis } from './state.js';
import { bytesToLowerHex } from './hex.js';

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
  const length = checkEntryRecord(entry);
  const bytes = new Uint8Array(length);
  writeEntryAt(bytes, 0, entry);
  return bytes;
}

/** Refuses an entry the encoding cannot hold; returns the length of its encoding. */
function checkEntryRecord(entry: EntryRecord): number {
  const { sequence, logTimeMs, previousHash, transaction } = entry;
  const { message, publicKey, signature } = transaction;
  if (!isSafeUnsigned(sequence) || sequence < 1)
    throw new LogFormatError(`sequence ${sequence} is not a positive safe integer`);
  if (!isSafeUnsigned(logTimeMs)) throw new LogFormatError(`log time ${logTimeMs} is not a non-negative safe integer`);
  if (previousHash.length !== hashLengthBytes) throw new LogFormatError('the previous hash is not 32 bytes');
  if (publicKey.length !== publicKeyLengthBytes) throw new LogFormatError('the public key is not 32 bytes');
  if (signature.length !== signatureLengthBytes) throw new LogFormatError('the signature is not 64 bytes');
  if (message.length > maximumMessageLengthBytes)
    throw new LogFormatError(`the message is longer than ${maximumMessageLengthBytes} bytes`);
  return entryHeaderLengthBytes + message.length;
}

/** Writes a checked entry's encoding into `target` from `start` (checkEntryRecord's length of room). */
function writeEntryAt(target: Uint8Array, start: number, entry: EntryRecord): void {
  const { message, publicKey, signature } = entry.transaction;
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  target[start] = entryEncodingVersion;
  writeUint64(view, start + 1, entry.sequence);
  writeUint64(view, start + 9, entry.logTimeMs);
  target.set(entry.previousHash, start + 17);
  target.set(publicKey, start + 49);
  target.set(signature, start + 81);
  view.setUint32(start + 145, message.length);
  target.set(message, start + entryHeaderLengthBytes);
}

/** An entry encoding's checked header: anything but exactly one well-formed version-1 entry is refused. */
function checkedEntryHeader(input: Uint8Array): { bytes: Uint8Array; sequence: number; logTimeMs: number } {
  // A plain view, so that slice() copies even when the input is a Node Buffer.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < entryHeaderLengthBytes)
    throw new LogFormatError(`an entry is at least ${entryHeaderLengthBytes} bytes, got ${bytes.length}`);
  if (bytes[0] !== entryEncodingVersion) throw new LogFormatError(`unsupported entry version ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sequence = readUint64(view, 1, 'the sequence');
  if (sequence < 1) throw new LogFormatError('the sequence is zero');
  const logTimeMs = readUint64(view, 9, 'the log time');
  const messageLength = view.getUint32(145);
  if (messageLength > maximumMessageLengthBytes)
    throw new LogFormatError(`the message length ${messageLength} exceeds ${maximumMessageLengthBytes}`);
  if (bytes.length !== entryHeaderLengthBytes + messageLength) {
    throw new LogFormatError(
      `the entry is ${bytes.length} bytes but its message length says ${entryHeaderLengthBytes + messageLength}`,
    );
  }
  return { bytes, sequence, logTimeMs };
}

/** Decodes an entry encoding; anything but exactly one well-formed version-1 entry is refused. */
export function decodeEntry(input: Uint8Array): EntryRecord {
  const { bytes, sequence, logTimeMs } = checkedEntryHeader(input);
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

/**
 * decodeEntry's checks, and what apply() needs of the entry (no previous hash), with the transaction's parts as
 * views into `input` instead of copies. Only for a reader that owns the buffer, never writes it again, and keeps no
 * part of the entry past its apply (apply keeps none: the signer's key is copied where it is remembered, the message
 * becomes strings, the signature is hashed). The snapshot worker reads its messages so: the copies (the message's a
 * new buffer outside V8's heap) cost it 1 to 3 µs per entry with their garbage collection, against 0.3 to 0.5 µs
 * (docs/benchmarks.md, branch `follow13`).
 */
export function viewEntry(input: Uint8Array): { sequence: number } & LogEntry {
  const { bytes, sequence, logTimeMs } = checkedEntryHeader(input);
  return {
    sequence,
    logTimeMs,
    transaction: {
      publicKey: bytes.subarray(49, 81),
      signature: bytes.subarray(81, 145),
      message: bytes.subarray(entryHeaderLengthBytes),
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

/** SHA-256 on Node, the one the Node packages share: a fresh 32-byte array (never a view of Node's buffer pool). */
export function sha256(bytes: Uint8Array): Uint8Array {
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
  const length = checkEntryRecord(entry);
  const start = entryHashTag.length;
  const tagged = Buffer.allocUnsafe(start + length);
  tagged.set(entryHashTag, 0);
  writeEntryAt(tagged, start, entry);
  return { encoding: new Uint8Array(tagged.buffer, tagged.byteOffset + start, length), entryHash: sha256(tagged) };
}

// ---------------------------------------------------------------------------
// Genesis
// ---------------------------------------------------------------------------

/**
 * The canonical JSON of a genesis: exactly its three fields, keys in sorted
 * order (exchangeName, feeAccount, operatorKeys), operator keys in their
 * configured order, no whitespace, strings escaped as JSON.stringify does;
 * with deposit tokens, a fourth member custodians first (symbols sorted).
 */
export function canonicalGenesisJson(genesis: Genesis): string {
  const custodians = canonicalCustodians(genesis.custodians);
  return JSON.stringify({
    ...(custodians === undefined ? {} : { custodians }),
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
    throw new LogFormatError(
      `the genesis is not UTF-8 JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const record = parsed as Record<string, unknown> | null;
  if (
    typeof record !== 'object' ||
    record === null ||
    Array.isArray(record) ||
    typeof record.exchangeName !== 'string' ||
    typeof record.feeAccount !== 'string' ||
    !Array.isArray(record.operatorKeys) ||
    !record.operatorKeys.every((key) => typeof key === 'string') ||
    !(record.custodians === undefined || isStringRecord(record.custodians))
  ) {
    throw new LogFormatError(
      'the genesis must be an object with string exchangeName, string feeAccount, string[] operatorKeys ' +
        'and, optionally, an object custodians of strings',
    );
  }
  const genesis: Genesis = {
    exchangeName: record.exchangeName,
    feeAccount: record.feeAccount,
    operatorKeys: record.operatorKeys as string[],
    ...(record.custodians === undefined ? {} : { custodians: record.custodians as Record<string, string> }),
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
export function encodeExportHeader(
  canonicalGenesis: Uint8Array,
  firstSequence: number,
  anchorHash: Uint8Array,
): Uint8Array {
  if (!isSafeUnsigned(firstSequence) || firstSequence < 1)
    throw new LogFormatError(`first sequence ${firstSequence} is not positive`);
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

/**
 * One entry as the export reader returns it. Nothing is copied: the
 * transaction's fields are views into the bytes read (the caller's array, or
 * the source's chunk; the reader never writes to either). Copy them to keep
 * them apart from that buffer.
 */
export interface LogExportEntry {
  readonly sequence: number;
  readonly logTimeMs: number;
  readonly transaction: SignedTransaction;
  /**
   * Lower-case hex. Hex rather than bytes because OpenSSL's digest comes back
   * as a string about twice as fast as as a Buffer (which needs its own
   * ArrayBuffer).
   */
  readonly entryHash: string;
}

/** Which consistency check of the log an export failed. */
export type LogChainCheck = 'entry-sequence' | 'chain' | 'entry-log-time' | 'trailer-count' | 'trailer-hash';

/**
 * The export is well-formed but inconsistent: an entry's sequence, previous
 * hash or log time, or the trailer's count or last hash, does not match. A
 * LogFormatError (with the same messages as ever); the fields let a verifier
 * report the divergence without parsing the message.
 */
export class LogChainError extends LogFormatError {
  constructor(
    message: string,
    readonly check: LogChainCheck,
    /**
     * The entry concerned: the one that failed; for 'trailer-count' the first
     * entry missing or added at the end; for 'trailer-hash' the last entry.
     */
    readonly sequence: number,
    /** What the file says: a sequence, a hash in hex, a log time, an entry count. */
    readonly recorded: string,
    /** What the reader computed, in the same form. */
    readonly computed: string,
  ) {
    super(message);
  }
}

const largestSafeHighWord = 0x1f_ffff;

function readUint32At(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** A u64 as a number, or -1 when it exceeds 2^53 − 1. */
function readUint64At(bytes: Uint8Array, offset: number): number {
  const high = readUint32At(bytes, offset);
  if (high > largestSafeHighWord) return -1;
  return high * 0x1_0000_0000 + readUint32At(bytes, offset + 4);
}

function equalBytesAt(left: Uint8Array, leftOffset: number, right: Uint8Array, length: number): boolean {
  for (let index = 0; index < length; index += 1) if (left[leftOffset + index] !== right[index]) return false;
  return true;
}

/** Character codes of the lower-case hex digits. */
const hexDigitCodes = Uint8Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

/** Whether bytes[offset … offset + 32) are the hash whose lower-case hex is `hash`. */
function bytesMatchHex(bytes: Uint8Array, offset: number, hash: string): boolean {
  for (let index = 0; index < hashLengthBytes; index += 1) {
    const byte = bytes[offset + index]!;
    if (
      hash.charCodeAt(2 * index) !== hexDigitCodes[byte >>> 4] ||
      hash.charCodeAt(2 * index + 1) !== hexDigitCodes[byte & 0x0f]
    )
      return false;
  }
  return true;
}

/**
 * The export file reader: the one implementation of its checks, used by
 * LogExportReader and readLogExport and by the replayer's hot path.
 *
 * It trusts nothing: it recomputes the genesis hash and every entry hash,
 * checks that sequences run on without gaps, that each entry's previous hash
 * is the hash of the entry before (the anchor for the first) and that log
 * times never decrease, and checks the trailer's count and last hash and that
 * nothing follows. It does not check signatures or apply the entries; that is
 * the replayer's work. Malformed bytes throw LogFormatError, an inconsistent
 * log LogChainError.
 *
 * It is built for speed (about 1 µs per entry): read() parses every complete
 * frame of the bytes at hand synchronously and returns them as one array, so
 * a reader awaits once per chunk of the source, not once per entry; it copies
 * nothing (see LogExportEntry); entry hashes are hex.
 */
export class LogExportBatchReader {
  private readonly iterator: AsyncIterator<Uint8Array | string> | undefined;
  private bytes: Uint8Array;
  private offset = 0;
  /** Bytes dropped before `bytes`, so that messages can give file positions. */
  private consumed = 0;
  private ended: boolean;
  /** The part of the input's last chunk not yet in `bytes` (fill copies only a frame that straddles two chunks). */
  private unread: Uint8Array | undefined;
  private finished = false;
  /** A failure found after some entries of the same chunk: those are returned first, the failure on the next read. */
  private pendingError: Error | undefined;

  private expectedSequence = 1;
  /** Lower-case hex of the previous entry's hash (the anchor hash before the first entry). */
  private previousHash = '';
  private previousLogTimeMs = 0;
  private entryCount = 0;
  /** The entry hash tag followed by room for one entry encoding: one copy per entry, then one-shot SHA-256. */
  private hashInput = new Uint8Array(entryHashTag.length + 4096);
  private lastHashBytes: Uint8Array | undefined;

  private constructor(source: LogExportSource) {
    if (source instanceof Uint8Array) {
      this.iterator = undefined;
      this.bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
      this.ended = true;
    } else {
      this.iterator = source[Symbol.asyncIterator]();
      this.bytes = new Uint8Array(0);
      this.ended = false;
    }
    this.hashInput.set(entryHashTag, 0);
  }

  /** Reads and checks the header; on failure the source is closed. */
  static async open(source: LogExportSource): Promise<{ reader: LogExportBatchReader; header: LogExportHeader }> {
    const reader = new LogExportBatchReader(source);
    let header: LogExportHeader;
    try {
      header = await reader.readHeader();
    } catch (error) {
      await reader.close().catch(() => undefined);
      throw error;
    }
    reader.expectedSequence = header.firstSequence;
    reader.previousHash = bytesToLowerHex(header.anchorHash);
    return { reader, header };
  }

  private get position(): number {
    return this.consumed + this.offset;
  }

  /** Makes `needed` bytes available from `offset`; false at the end of the input. */
  private async fill(needed: number): Promise<boolean> {
    while (this.bytes.length - this.offset < needed) {
      let chunk = this.unread;
      this.unread = undefined;
      if (chunk === undefined) {
        if (this.ended || this.iterator === undefined) return false;
        const next = await this.iterator.next();
        if (next.done === true) {
          this.ended = true;
          return false;
        }
        const value = next.value;
        if (!(value instanceof Uint8Array))
          throw new LogFormatError('the export source yields text; read the file as bytes (no encoding)');
        // A plain Uint8Array view: its subarrays are cheaper to make than a Buffer's.
        chunk = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      }
      const rest = this.bytes.length - this.offset;
      this.consumed += this.offset;
      if (rest === 0) {
        this.bytes = chunk;
      } else {
        // Entries already returned keep their views into the old buffer, which is never written to again. Only
        // the bytes still needed are copied after the rest, the others kept unread in place: joining whole chunks
        // copied the whole log once more (about 2 % of the replay's main thread).
        const copied = needed - rest < chunk.length ? needed - rest : chunk.length;
        const joined = new Uint8Array(rest + copied);
        joined.set(this.bytes.subarray(this.offset), 0);
        joined.set(chunk.subarray(0, copied), rest);
        this.bytes = joined;
        if (copied < chunk.length) this.unread = chunk.subarray(copied);
      }
      this.offset = 0;
    }
    return true;
  }

  private async take(length: number, what: string): Promise<Uint8Array> {
    if (!(await this.fill(length)))
      throw new LogFormatError(`the export is truncated: ${what} at byte ${this.position} is incomplete`);
    const bytes = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }

  private async takeUint64(what: string): Promise<number> {
    const value = readUint64At(await this.take(8, what), 0);
    if (value < 0) throw new LogFormatError(`${what} exceeds 2^53 − 1`);
    return value;
  }

  private async readHeader(): Promise<LogExportHeader> {
    const magic = await this.take(exportMagic.length, 'the magic');
    if (!equalBytesAt(magic, 0, exportMagic, exportMagic.length))
      throw new LogFormatError('not a log export (bad magic)');
    const version = (await this.take(1, 'the version'))[0]!;
    if (version !== exportFormatVersion) throw new LogFormatError(`unsupported export version ${version}`);
    const genesisLength = readUint32At(await this.take(4, 'the genesis length'), 0);
    if (genesisLength > maximumGenesisLengthBytes)
      throw new LogFormatError(`the genesis length ${genesisLength} is too large`);
    const canonicalGenesis = (await this.take(genesisLength, 'the genesis')).slice();
    const genesis = parseCanonicalGenesis(canonicalGenesis);
    const genesisDigest = hashGenesisBytes(canonicalGenesis);
    const firstSequence = await this.takeUint64('the first sequence');
    if (firstSequence < 1) throw new LogFormatError('the first sequence is zero');
    const anchorHash = (await this.take(hashLengthBytes, 'the anchor hash')).slice();
    if (firstSequence === 1 && !equalBytesAt(anchorHash, 0, genesisDigest, hashLengthBytes)) {
      throw new LogFormatError(
        `the anchor hash ${bytesToLowerHex(anchorHash)} is not the genesis hash ${bytesToLowerHex(genesisDigest)}`,
      );
    }
    return { version, genesis, canonicalGenesis, genesisHash: genesisDigest, firstSequence, anchorHash };
  }

  /**
   * The next entries: every complete frame buffered (reading more of the
   * input when not even one is), at least one; undefined once the trailer
   * has been read and checked and nothing follows it.
   */
  async read(): Promise<LogExportEntry[] | undefined> {
    if (this.pendingError !== undefined) throw this.pendingError;
    if (this.finished) return undefined;
    for (;;) {
      const entries = this.parseBuffered();
      if (entries.length > 0) return entries;
      if (!(await this.fill(4)))
        throw new LogFormatError(`the export is truncated: a frame length at byte ${this.position} is incomplete`);
      const length = readUint32At(this.bytes, this.offset);
      if (length === 0) {
        await this.readTrailer();
        return undefined;
      }
      if (length > maximumEntryLengthBytes)
        throw new LogFormatError(`entry ${this.expectedSequence}: frame length ${length} is too large`);
      if (!(await this.fill(4 + length))) {
        throw new LogFormatError(
          `the export is truncated: entry ${this.expectedSequence} at byte ${this.position + 4} is incomplete`,
        );
      }
    }
  }

  /** The trailer's count and last hash, once read() has returned undefined. */
  get trailer(): { entryCount: number; lastHash: Uint8Array } {
    if (!this.finished || this.lastHashBytes === undefined)
      throw new LogFormatError('the trailer has not been read yet');
    return { entryCount: this.entryCount, lastHash: this.lastHashBytes };
  }

  /** Parses the complete frames at `offset`, stopping before an incomplete frame or the trailer. */
  private parseBuffered(): LogExportEntry[] {
    const entries: LogExportEntry[] = [];
    const bytes = this.bytes;
    const end = bytes.length;
    let offset = this.offset;
    while (end - offset >= 4) {
      const length = readUint32At(bytes, offset);
      if (length === 0 || length > maximumEntryLengthBytes || end - offset - 4 < length) break;
      try {
        entries.push(this.parseEntry(bytes, offset + 4, length));
      } catch (error) {
        // The entries before the failure are returned first: a verifier may find one of them diverging
        // earlier in the log.
        if (entries.length === 0 || !(error instanceof Error)) throw error;
        this.pendingError = error;
        return entries;
      }
      offset += 4 + length;
      // Kept in step, so that a failure in the next frame reports the right position.
      this.offset = offset;
    }
    return entries;
  }

  /** Checks one entry encoding (at `start`, `length` bytes): first that it decodes (as decodeEntry), then the chain. */
  private parseEntry(bytes: Uint8Array, start: number, length: number): LogExportEntry {
    const expected = this.expectedSequence;
    if (length < entryHeaderLengthBytes)
      throw new LogFormatError(
        `entry ${expected}: an entry is at least ${entryHeaderLengthBytes} bytes, got ${length}`,
      );
    if (bytes[start] !== entryEncodingVersion)
      throw new LogFormatError(`entry ${expected}: unsupported entry version ${bytes[start]}`);
    const sequence = readUint64At(bytes, start + 1);
    if (sequence < 0) throw new LogFormatError(`entry ${expected}: the sequence exceeds 2^53 − 1`);
    if (sequence === 0) throw new LogFormatError(`entry ${expected}: the sequence is zero`);
    const logTimeMs = readUint64At(bytes, start + 9);
    if (logTimeMs < 0) throw new LogFormatError(`entry ${expected}: the log time exceeds 2^53 − 1`);
    const messageLength = readUint32At(bytes, start + 145);
    if (messageLength > maximumMessageLengthBytes) {
      throw new LogFormatError(
        `entry ${expected}: the message length ${messageLength} exceeds ${maximumMessageLengthBytes}`,
      );
    }
    if (length !== entryHeaderLengthBytes + messageLength) {
      throw new LogFormatError(
        `entry ${expected}: the entry is ${length} bytes ` +
          `but its message length says ${entryHeaderLengthBytes + messageLength}`,
      );
    }
    if (sequence !== expected) {
      throw new LogChainError(
        `entry ${expected}: it says it is entry ${sequence}`,
        'entry-sequence',
        expected,
        String(sequence),
        String(expected),
      );
    }
    if (!bytesMatchHex(bytes, start + 17, this.previousHash)) {
      const recorded = bytesToLowerHex(bytes.subarray(start + 17, start + 49));
      throw new LogChainError(
        `entry ${expected}: its previous hash ${recorded} is not the hash ${this.previousHash} of the entry before`,
        'chain',
        expected,
        recorded,
        this.previousHash,
      );
    }
    if (logTimeMs < this.previousLogTimeMs) {
      throw new LogChainError(
        `entry ${expected}: log time ${logTimeMs} precedes ${this.previousLogTimeMs}`,
        'entry-log-time',
        expected,
        String(logTimeMs),
        String(this.previousLogTimeMs),
      );
    }
    const entryHash = this.hashEncoding(bytes, start, length);
    this.previousHash = entryHash;
    this.previousLogTimeMs = logTimeMs;
    this.expectedSequence = sequence + 1;
    this.entryCount += 1;
    return {
      sequence,
      logTimeMs,
      transaction: {
        publicKey: bytes.subarray(start + 49, start + 81),
        signature: bytes.subarray(start + 81, start + 145),
        message: bytes.subarray(start + entryHeaderLengthBytes, start + length),
      },
      entryHash,
    };
  }

  /** entryHash = SHA-256(tag ‖ encoding), in lower-case hex. */
  private hashEncoding(bytes: Uint8Array, start: number, length: number): string {
    const tagLength = entryHashTag.length;
    if (this.hashInput.length < tagLength + length) {
      this.hashInput = new Uint8Array(tagLength + length);
      this.hashInput.set(entryHashTag, 0);
    }
    this.hashInput.set(bytes.subarray(start, start + length), tagLength);
    return oneShotHash('sha256', this.hashInput.subarray(0, tagLength + length), 'hex');
  }

  private async readTrailer(): Promise<void> {
    this.offset += 4;
    const trailerCount = await this.takeUint64('the trailer count');
    const lastHash = (await this.take(hashLengthBytes, 'the trailer hash')).slice();
    const count = this.entryCount;
    const lastSequence = this.expectedSequence - 1;
    if (trailerCount !== count) {
      const firstDifferent = lastSequence - count + 1 + (trailerCount < count ? trailerCount : count);
      throw new LogChainError(
        `the trailer counts ${trailerCount} entries but the file holds ${count}`,
        'trailer-count',
        firstDifferent,
        String(trailerCount),
        String(count),
      );
    }
    if (!bytesMatchHex(lastHash, 0, this.previousHash)) {
      throw new LogChainError(
        `the trailer's last hash ${bytesToLowerHex(lastHash)} is not the last entry's hash ${this.previousHash}`,
        'trailer-hash',
        lastSequence,
        bytesToLowerHex(lastHash),
        this.previousHash,
      );
    }
    if (await this.fill(1)) throw new LogFormatError(`trailing bytes after the trailer at byte ${this.position}`);
    this.lastHashBytes = lastHash;
    this.finished = true;
  }

  /** Stops reading: closes the underlying source. */
  async close(): Promise<void> {
    await this.iterator?.return?.();
  }
}
