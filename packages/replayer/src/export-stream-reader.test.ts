import { readLogExport } from '@vex/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../engine/test/random-log.js';
import { buildTestLog, type TestLog } from '../test/test-log.js';
import { ExportStreamReader, LogDivergenceError, type ExportEntry } from './export-stream-reader.js';
import { ReplayInputError } from './replay-input-error.js';

let log: TestLog;
beforeAll(() => {
  log = buildTestLog(31, 120, 1000);
});

async function* inPieces(bytes: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  const next = seededRandom(seed);
  for (let offset = 0; offset < bytes.length; ) {
    const size = 1 + (next() % 400);
    yield bytes.slice(offset, offset + size);
    offset += size;
  }
}

async function readAll(bytes: Uint8Array, seed: number): Promise<ExportEntry[]> {
  const { reader } = await ExportStreamReader.open(inPieces(bytes, seed), 'test export');
  const entries: ExportEntry[] = [];
  for (let batch = await reader.read(); batch !== undefined; batch = await reader.read()) entries.push(...batch);
  return entries;
}

/** 'ok', or where the reader stopped: the entry number it names, or the kind of failure. */
async function verdictOfStreamReader(bytes: Uint8Array, seed: number): Promise<string> {
  try {
    await readAll(bytes, seed);
    return 'ok';
  } catch (error) {
    if (error instanceof LogDivergenceError) return error.divergence.check === 'trailer' ? 'trailer' : `entry ${error.divergence.sequence}`;
    if (error instanceof ReplayInputError) return /entry (\d+)/.exec(error.message)?.[0] ?? 'malformed';
    throw error;
  }
}

async function verdictOfEngineReader(bytes: Uint8Array): Promise<string> {
  try {
    await readLogExport(bytes);
    return 'ok';
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith('the trailer')) return 'trailer';
    return /entry (\d+)/.exec(message)?.[0] ?? 'malformed';
  }
}

describe('ExportStreamReader', () => {
  it('reads exactly the entries and hashes the engine\'s reader reads, however the bytes are chunked', async () => {
    const engine = await readLogExport(log.bytes);
    for (const seed of [1, 2, 3]) {
      const entries = await readAll(log.bytes, seed);
      expect(entries.length).toBe(engine.entries.length);
      entries.forEach((entry, index) => {
        const expected = engine.entries[index]!;
        expect(entry.sequence).toBe(expected.sequence);
        expect(entry.logTimeMs).toBe(expected.logTimeMs);
        expect(entry.entryHash).toBe(Buffer.from(expected.entryHash).toString('hex'));
        for (const field of ['publicKey', 'signature', 'message'] as const) {
          expect(Buffer.from(entry.transaction[field]).equals(Buffer.from(expected.transaction[field]))).toBe(true);
        }
      });
    }
  });

  it('reaches the engine reader\'s verdict, at the same entry, on 400 corrupted files', async () => {
    const next = seededRandom(77);
    const verdicts = new Set<string>();
    for (let trial = 0; trial < 400; trial += 1) {
      let bytes = log.bytes.slice();
      const offset = next() % bytes.length;
      const kind = next() % 4;
      if (kind === 0) bytes = bytes.slice(0, offset); // truncated
      else if (kind === 1) bytes = Uint8Array.from([...bytes.subarray(0, offset), next() & 0xff, ...bytes.subarray(offset)]); // a byte inserted
      else bytes[offset]! ^= 1 << (next() % 8); // a flipped bit, twice as often
      const engine = await verdictOfEngineReader(bytes);
      const stream = await verdictOfStreamReader(bytes, trial);
      expect({ trial, offset, kind, verdict: stream }).toEqual({ trial, offset, kind, verdict: engine });
      verdicts.add(engine === 'ok' || engine === 'trailer' || engine === 'malformed' ? engine : 'entry');
    }
    // The corruptions reach every kind of failure. None reads fine: even a flip in a signature changes that
    // entry's hash, so the next entry's previous hash (or the trailer) no longer matches.
    expect([...verdicts].sort()).toEqual(['entry', 'malformed', 'trailer']);
  });

  it('returns the entries before a failure first, and the failure on the next read', async () => {
    const bytes = log.bytes.slice();
    // The previous hash of entry 40: the chain breaks there.
    const entry40 = bytes.length - 44 - log.encodings.slice(39).reduce((total, encoding) => total + 4 + encoding.length, 0) + 4;
    bytes[entry40 + 17]! ^= 1;
    const { reader } = await ExportStreamReader.open((async function* () {
      yield bytes;
    })(), 'test export');
    const first = await reader.read();
    expect(first?.map((entry) => entry.sequence)).toEqual(Array.from({ length: 39 }, (_, index) => index + 1));
    await expect(reader.read()).rejects.toMatchObject({ divergence: { sequence: 40, check: 'chain' } });
  });
});
