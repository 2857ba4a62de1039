import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { seededRandom, signerFromByte } from '../test/random-log.js';
import {
  LogChainError,
  LogExportBatchReader,
  LogFormatError,
  canonicalGenesisBytes,
  canonicalGenesisJson,
  decodeEntry,
  encodeAndHashEntry,
  encodeEntry,
  encodeExportFrame,
  encodeExportHeader,
  encodeExportTrailer,
  entryHeaderLengthBytes,
  genesisHash,
  hashEntryEncoding,
  hashGenesisBytes,
  parseCanonicalGenesis,
  viewEntry,
  type EntryRecord,
} from './log-format.js';
import { LogExportReader, readLogExport } from './log-export-reader.js';

const operator = signerFromByte(200);
const genesis = { operatorKeys: [operator.accountId], feeAccount: operator.accountId, exchangeName: 'format-test' };

function sampleEntry(sequence: number, previousHash: Uint8Array, messageText = `message ${sequence}`): EntryRecord {
  return {
    sequence,
    logTimeMs: 1_800_000_000_000 + sequence,
    previousHash,
    transaction: {
      message: new TextEncoder().encode(messageText),
      publicKey: new Uint8Array(32).fill(sequence & 0xff),
      signature: new Uint8Array(64).fill(0xa0 + (sequence & 0x0f)),
    },
  };
}

/** A valid export of `count` chained entries (the entries need not carry valid signatures here). */
function buildExport(count: number): { bytes: Uint8Array; encodings: Uint8Array[] } {
  let previous = genesisHash(genesis);
  const encodings: Uint8Array[] = [];
  for (let sequence = 1; sequence <= count; sequence += 1) {
    const encoding = encodeEntry(sampleEntry(sequence, previous));
    encodings.push(encoding);
    previous = hashEntryEncoding(encoding);
  }
  const bytes = Buffer.concat([
    encodeExportHeader(canonicalGenesisBytes(genesis), 1, genesisHash(genesis)),
    ...encodings.map(encodeExportFrame),
    encodeExportTrailer(count, previous),
  ]);
  return { bytes: new Uint8Array(bytes), encodings };
}

describe('entry encoding', () => {
  test('round-trips and has the documented layout', () => {
    const entry = sampleEntry(258, new Uint8Array(32).fill(7));
    const encoding = encodeEntry(entry);
    expect(encoding.length).toBe(entryHeaderLengthBytes + entry.transaction.message.length);
    expect(encoding[0]).toBe(1);
    expect(Buffer.from(encoding.subarray(1, 9)).readBigUInt64BE()).toBe(258n);
    expect(Buffer.from(encoding.subarray(9, 17)).readBigUInt64BE()).toBe(BigInt(entry.logTimeMs));
    expect(Buffer.from(encoding.subarray(145, 149)).readUInt32BE()).toBe(entry.transaction.message.length);
    expect(decodeEntry(encoding)).toEqual(entry);
  });

  test('the entry hash is SHA-256 of the tag and the encoding', () => {
    const entry = sampleEntry(1, new Uint8Array(32));
    const encoding = encodeEntry(entry);
    const expected = createHash('sha256').update('vex-ledger/entry/v1\0').update(encoding).digest();
    expect(Buffer.from(hashEntryEncoding(encoding))).toEqual(expected);
    // The sequencer's one-step variant gives the same bytes and hash.
    const both = encodeAndHashEntry(entry);
    expect(Buffer.from(both.encoding)).toEqual(Buffer.from(encoding));
    expect(Buffer.from(both.entryHash)).toEqual(expected);
  });

  test('refuses malformed encodings', () => {
    const encoding = encodeEntry(sampleEntry(1, new Uint8Array(32)));
    expect(() => decodeEntry(encoding.subarray(0, encoding.length - 1))).toThrow(LogFormatError);
    expect(() => decodeEntry(Buffer.concat([encoding, Uint8Array.of(0)]))).toThrow(LogFormatError);
    const badVersion = encoding.slice();
    badVersion[0] = 2;
    expect(() => decodeEntry(badVersion)).toThrow(/version/);
    const zeroSequence = encoding.slice();
    zeroSequence.fill(0, 1, 9);
    expect(() => decodeEntry(zeroSequence)).toThrow(/zero/);
    expect(() => decodeEntry(new Uint8Array(10))).toThrow(LogFormatError);
    expect(() => encodeEntry({ ...sampleEntry(1, new Uint8Array(32)), sequence: 0 })).toThrow(LogFormatError);
    expect(() => encodeEntry({ ...sampleEntry(1, new Uint8Array(31)) })).toThrow(LogFormatError);
  });

  test('viewEntry reads what decodeEntry reads, as views into the encoding, and refuses the same encodings', () => {
    const entry = sampleEntry(258, new Uint8Array(32).fill(7));
    const encoding = encodeEntry(entry);
    const viewed = viewEntry(encoding);
    expect(viewed).toEqual({ sequence: 258, logTimeMs: entry.logTimeMs, transaction: entry.transaction });
    // Views: a byte changed in the encoding shows in the entry (which is why only an owner of the buffer may use it).
    encoding[entryHeaderLengthBytes] = encoding[entryHeaderLengthBytes]! ^ 1;
    expect(viewed.transaction.message[0]).toBe(encoding[entryHeaderLengthBytes]);
    const fresh = encodeEntry(entry);
    const badVersion = fresh.slice();
    badVersion[0] = 2;
    const zeroSequence = fresh.slice();
    zeroSequence.fill(0, 1, 9);
    const malformed = [
      fresh.subarray(0, fresh.length - 1),
      Buffer.concat([fresh, Uint8Array.of(0)]),
      badVersion,
      zeroSequence,
      new Uint8Array(10),
    ];
    for (const bytes of malformed) {
      expect(() => decodeEntry(bytes)).toThrow(LogFormatError);
      expect(() => viewEntry(bytes)).toThrow(LogFormatError);
    }
  });
});

describe('genesis', () => {
  test('canonical JSON has sorted keys, no whitespace, and a tagged hash', () => {
    const json = canonicalGenesisJson({ ...genesis, extra: 'ignored' } as typeof genesis);
    expect(json).toBe(
      `{"exchangeName":"format-test","feeAccount":"${operator.accountId}","operatorKeys":["${operator.accountId}"]}`,
    );
    const expected = createHash('sha256').update('vex-ledger/genesis/v1\0').update(json).digest();
    expect(Buffer.from(genesisHash(genesis))).toEqual(expected);
    expect(parseCanonicalGenesis(new TextEncoder().encode(json))).toEqual(genesis);
  });

  test('non-canonical genesis JSON is refused', () => {
    const spaced = JSON.stringify(JSON.parse(canonicalGenesisJson(genesis)), null, 1);
    expect(() => parseCanonicalGenesis(new TextEncoder().encode(spaced))).toThrow(/not canonical/);
    const reordered = JSON.stringify({
      feeAccount: genesis.feeAccount,
      exchangeName: genesis.exchangeName,
      operatorKeys: genesis.operatorKeys,
    });
    expect(() => parseCanonicalGenesis(new TextEncoder().encode(reordered))).toThrow(/not canonical/);
    expect(() => parseCanonicalGenesis(new TextEncoder().encode('[]'))).toThrow(LogFormatError);
  });
});

describe('export reader', () => {
  test('reads a whole buffer and a stream of 1-byte chunks alike', async () => {
    const { bytes, encodings } = buildExport(5);
    const whole = await readLogExport(bytes);
    expect(whole.genesis).toEqual(genesis);
    expect(whole.firstSequence).toBe(1);
    expect(whole.entries.map((entry) => entry.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(whole.entries.map((entry) => Buffer.from(entry.entryHash).toString('hex'))).toEqual(
      encodings.map((encoding) => Buffer.from(hashEntryEncoding(encoding)).toString('hex')),
    );
    const bytewise = await readLogExport(
      Readable.from(
        (function* () {
          for (const byte of bytes) yield Buffer.of(byte);
        })(),
      ),
    );
    expect(bytewise).toEqual(whole);
  });

  test('reads chunks that split frames anywhere alike (a frame across two chunks is copied, the rest left in place)', async () => {
    const { bytes } = buildExport(12);
    const whole = await readLogExport(bytes);
    for (const chunkBytes of [2, 3, 7, 50, 199, 256, 1000, bytes.length - 1]) {
      const chunked = await readLogExport(
        Readable.from(
          (function* () {
            for (let start = 0; start < bytes.length; start += chunkBytes)
              yield Buffer.from(bytes.subarray(start, start + chunkBytes));
          })(),
        ),
      );
      expect(chunked).toEqual(whole);
    }
  });

  test('an empty export is valid', async () => {
    const { bytes } = buildExport(0);
    const read = await readLogExport(bytes);
    expect(read.entries).toEqual([]);
    expect(read.lastHash).toEqual(genesisHash(genesis));
  });

  test('a changed byte anywhere in an entry breaks the chain or the hashes', async () => {
    const { bytes } = buildExport(4);
    const header = encodeExportHeader(canonicalGenesisBytes(genesis), 1, genesisHash(genesis)).length;
    // Flip one byte inside the message of entry 2 (frames are 4 + encoding bytes).
    const frameLength = Buffer.from(bytes.subarray(header, header + 4)).readUInt32BE() + 4;
    const tampered = bytes.slice();
    tampered[header + frameLength + 4 + entryHeaderLengthBytes]! ^= 1;
    await expect(readLogExport(tampered)).rejects.toThrow(/entry 3: its previous hash .* is not the hash/);
    // Changing the last entry is caught by the trailer.
    const last = bytes.slice();
    last[last.length - 44 - 1]! ^= 1;
    await expect(readLogExport(last)).rejects.toThrow(/trailer's last hash/);
  });

  test('truncation, trailing bytes, a wrong count, a wrong genesis anchor and bad magic are refused', async () => {
    const { bytes } = buildExport(3);
    await expect(readLogExport(bytes.subarray(0, bytes.length - 10))).rejects.toThrow(/truncated/);
    await expect(readLogExport(Buffer.concat([bytes, Uint8Array.of(0)]))).rejects.toThrow(/trailing bytes/);
    const wrongCount = bytes.slice();
    wrongCount[wrongCount.length - 33] = 9;
    await expect(readLogExport(wrongCount)).rejects.toThrow(/counts 9 entries/);
    const badMagic = bytes.slice();
    badMagic[0] = 0;
    await expect(readLogExport(badMagic)).rejects.toThrow(/magic/);
    const wrongAnchor = Buffer.concat([
      encodeExportHeader(canonicalGenesisBytes(genesis), 1, new Uint8Array(32)),
      encodeExportTrailer(0, new Uint8Array(32)),
    ]);
    await expect(readLogExport(wrongAnchor)).rejects.toThrow(/not the genesis hash/);
  });

  test('a partial export starts from its anchor', async () => {
    const { encodings } = buildExport(6);
    const anchor = hashEntryEncoding(encodings[2]!);
    const bytes = Buffer.concat([
      encodeExportHeader(canonicalGenesisBytes(genesis), 4, anchor),
      ...encodings.slice(3).map(encodeExportFrame),
      encodeExportTrailer(3, hashEntryEncoding(encodings[5]!)),
    ]);
    const reader = await LogExportReader.open(bytes);
    expect(reader.header.firstSequence).toBe(4);
    expect(reader.header.anchorHash).toEqual(anchor);
    const sequences: number[] = [];
    for await (const entry of reader.entries()) sequences.push(entry.sequence);
    expect(sequences).toEqual([4, 5, 6]);
  });
});

/**
 * A reference reader written straight from docs/log-format.md, slow and
 * simple (whole buffer, decodeEntry, copies): the optimised reader above must
 * reach the same verdict at the same entry. 'ok', 'trailer', 'entry N' or
 * 'malformed'.
 */
function referenceVerdict(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes);
  let offset = 0;
  /** What a failure now is called: 'malformed' in the header, frame lengths and trailer, 'entry N' inside entry N's frame. */
  let where = 'malformed';
  const need = (length: number): void => {
    if (offset + length > buffer.length) throw new Error('truncated');
  };
  const u64 = (): number => {
    need(8);
    const value = buffer.readBigUInt64BE(offset);
    offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('beyond 2^53 − 1');
    return Number(value);
  };
  try {
    need(13);
    if (!buffer.subarray(0, 8).equals(Buffer.from('VEX-LOG\n')) || buffer[8] !== 1) return 'malformed';
    const genesisLength = buffer.readUInt32BE(9);
    offset = 13;
    need(genesisLength);
    const canonical = buffer.subarray(offset, offset + genesisLength);
    parseCanonicalGenesis(canonical);
    offset += genesisLength;
    const firstSequence = u64();
    if (firstSequence < 1) return 'malformed';
    need(32);
    let previous = Buffer.from(buffer.subarray(offset, offset + 32));
    offset += 32;
    if (firstSequence === 1 && !previous.equals(hashGenesisBytes(canonical))) return 'malformed';
    let expected = firstSequence;
    let previousLogTime = 0;
    let count = 0;
    for (;;) {
      where = 'malformed';
      need(4);
      const length = buffer.readUInt32BE(offset);
      offset += 4;
      if (length === 0) break;
      where = `entry ${expected}`;
      need(length);
      const encoding = buffer.subarray(offset, offset + length);
      offset += length;
      const entry = decodeEntry(encoding);
      if (entry.sequence !== expected || !previous.equals(entry.previousHash) || entry.logTimeMs < previousLogTime)
        return `entry ${expected}`;
      previous = Buffer.from(hashEntryEncoding(encoding));
      previousLogTime = entry.logTimeMs;
      expected += 1;
      count += 1;
    }
    const trailerCount = u64();
    need(32);
    if (trailerCount !== count || !previous.equals(buffer.subarray(offset, offset + 32))) return 'trailer';
    return offset + 32 === buffer.length ? 'ok' : 'malformed';
  } catch {
    return where;
  }
}

async function* inPieces(bytes: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  const next = seededRandom(seed);
  for (let offset = 0; offset < bytes.length; ) {
    const size = 1 + (next() % 400);
    yield bytes.slice(offset, offset + size);
    offset += size;
  }
}

async function readInBatches(
  source: Uint8Array | AsyncIterable<Uint8Array>,
): Promise<Array<{ sequence: number; entryHash: string }>> {
  const { reader } = await LogExportBatchReader.open(source);
  const entries: Array<{ sequence: number; entryHash: string }> = [];
  for (let batch = await reader.read(); batch !== undefined; batch = await reader.read()) entries.push(...batch);
  return entries;
}

/** The batch reader's verdict, from its structured errors. */
async function batchVerdict(bytes: Uint8Array, seed: number): Promise<string> {
  try {
    await readInBatches(inPieces(bytes, seed));
    return 'ok';
  } catch (error) {
    if (error instanceof LogChainError)
      return error.check.startsWith('trailer') ? 'trailer' : `entry ${error.sequence}`;
    if (error instanceof LogFormatError) return /entry (\d+)/.exec(error.message)?.[0] ?? 'malformed';
    throw error;
  }
}

/** readLogExport's verdict, from its messages. */
async function messageVerdict(bytes: Uint8Array): Promise<string> {
  try {
    await readLogExport(bytes);
    return 'ok';
  } catch (error) {
    if (!(error instanceof LogFormatError)) throw error;
    if (/^the trailer(?: counts|'s last hash)/.test(error.message)) return 'trailer';
    return /entry (\d+)/.exec(error.message)?.[0] ?? 'malformed';
  }
}

describe('export reader against a reference reader', () => {
  const { bytes: clean } = buildExport(120);

  test('the batches hold exactly the entries and hashes, however the bytes are chunked', async () => {
    const whole = await readLogExport(clean);
    for (const seed of [1, 2, 3]) {
      const entries = await readInBatches(inPieces(clean, seed));
      expect(entries.map((entry) => entry.sequence)).toEqual(whole.entries.map((entry) => entry.sequence));
      expect(entries.map((entry) => entry.entryHash)).toEqual(
        whole.entries.map((entry) => Buffer.from(entry.entryHash).toString('hex')),
      );
    }
    expect(referenceVerdict(clean)).toBe('ok');
  });

  test("reaches the reference reader's verdict, at the same entry, on 400 corrupted files", async () => {
    const next = seededRandom(77);
    const verdicts = new Set<string>();
    for (let trial = 0; trial < 400; trial += 1) {
      let bytes = clean.slice();
      const offset = next() % bytes.length;
      const kind = next() % 4;
      if (kind === 0)
        bytes = bytes.slice(0, offset); // truncated
      else if (kind === 1)
        bytes = Uint8Array.from([...bytes.subarray(0, offset), next() & 0xff, ...bytes.subarray(offset)]); // a byte inserted
      else bytes[offset]! ^= 1 << (next() % 8); // a flipped bit, twice as often
      const reference = referenceVerdict(bytes);
      expect({ trial, offset, kind, verdict: await batchVerdict(bytes, trial) }).toEqual({
        trial,
        offset,
        kind,
        verdict: reference,
      });
      expect({ trial, offset, kind, verdict: await messageVerdict(bytes) }).toEqual({
        trial,
        offset,
        kind,
        verdict: reference,
      });
      verdicts.add(reference === 'ok' || reference === 'trailer' || reference === 'malformed' ? reference : 'entry');
    }
    // The corruptions reach every kind of failure. None reads fine: even a flip in a signature changes that
    // entry's hash, so the next entry's previous hash (or the trailer) no longer matches.
    expect([...verdicts].sort()).toEqual(['entry', 'malformed', 'trailer']);
  });

  test('returns the entries before a failure first, and the failure on the next read', async () => {
    const { bytes: original, encodings } = buildExport(60);
    const bytes = original.slice();
    // The previous hash of entry 40: the chain breaks there.
    const entry40 =
      bytes.length - 44 - encodings.slice(39).reduce((total, encoding) => total + 4 + encoding.length, 0) + 4;
    bytes[entry40 + 17]! ^= 1;
    const { reader } = await LogExportBatchReader.open(
      (async function* () {
        yield bytes;
      })(),
    );
    const first = await reader.read();
    expect(first?.map((entry) => entry.sequence)).toEqual(Array.from({ length: 39 }, (_, index) => index + 1));
    await expect(reader.read()).rejects.toMatchObject({ name: 'LogFormatError', check: 'chain', sequence: 40 });
    await expect(reader.read()).rejects.toThrow(/entry 40: its previous hash .* is not the hash/);
  });
});
