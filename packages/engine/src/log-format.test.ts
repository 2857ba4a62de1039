import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { signerFromByte } from '../test/random-log.js';
import {
  LogExportReader,
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
  parseCanonicalGenesis,
  readLogExport,
  type EntryRecord,
} from './log-format.js';

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
});

describe('genesis', () => {
  test('canonical JSON has sorted keys, no whitespace, and a tagged hash', () => {
    const json = canonicalGenesisJson({ ...genesis, extra: 'ignored' } as typeof genesis);
    expect(json).toBe(`{"exchangeName":"format-test","feeAccount":"${operator.accountId}","operatorKeys":["${operator.accountId}"]}`);
    const expected = createHash('sha256').update('vex-ledger/genesis/v1\0').update(json).digest();
    expect(Buffer.from(genesisHash(genesis))).toEqual(expected);
    expect(parseCanonicalGenesis(new TextEncoder().encode(json))).toEqual(genesis);
  });

  test('non-canonical genesis JSON is refused', () => {
    const spaced = JSON.stringify(JSON.parse(canonicalGenesisJson(genesis)), null, 1);
    expect(() => parseCanonicalGenesis(new TextEncoder().encode(spaced))).toThrow(/not canonical/);
    const reordered = JSON.stringify({ feeAccount: genesis.feeAccount, exchangeName: genesis.exchangeName, operatorKeys: genesis.operatorKeys });
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
    const bytewise = await readLogExport(Readable.from((function* () {
      for (const byte of bytes) yield Buffer.of(byte);
    })()));
    expect(bytewise).toEqual(whole);
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
