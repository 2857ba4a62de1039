/**
 * Test helpers for the ledger: temporary directories, a settable clock, a
 * logger that records its lines, and realistic signed transactions from the
 * engine's seeded generator.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { apply, createState, type ExchangeState, type Genesis, type LogEntry } from '@vex/engine';
import { pino, type Logger } from 'pino';
import { randomSignedLog, type Signer } from '../../engine/test/random-log.js';
import type { ExchangeNode, SubmitResult } from '../src/exchange-node.js';
import type { StoredEntry } from '@vex/engine';

export { randomSignedLog, signedEntry, signerFromByte, type Signer } from '../../engine/test/random-log.js';

export async function temporaryDirectory(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'vex-ledger-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function genesisOf(operator: Signer, exchangeName = 'ledger-test'): Genesis {
  return { exchangeName, operatorKeys: [operator.accountId], feeAccount: operator.accountId };
}

export interface RecordingLogger {
  readonly logger: Logger;
  readonly lines: Array<Record<string, unknown> & { level: number; msg: string }>;
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, destination), lines };
}

/** A clock that returns whatever it was last set to. */
export function settableClock(initial = 0): { clock: () => number; set: (timeMs: number) => void } {
  let now = initial;
  return { clock: () => now, set: (timeMs) => (now = timeMs) };
}

export function fixture(
  seed: number,
  count: number,
): { entries: LogEntry[]; operator: Signer; traders: Signer[]; genesis: Genesis } {
  const log = randomSignedLog(seed, count);
  return { ...log, genesis: genesisOf(log.operator) };
}

/** Applies stored entries to a fresh state with the engine directly; every one must be accepted. */
export function replayWithEngine(genesis: Genesis, entries: readonly StoredEntry[]): ExchangeState {
  const state = createState(genesis);
  for (const entry of entries) {
    const outcome = apply(state, { logTimeMs: entry.logTimeMs, transaction: entry.transaction });
    if (!outcome.accepted) throw new Error(`entry ${entry.sequence} rejected on replay: ${outcome.rejection.code}`);
  }
  return state;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/**
 * Submits entries in waves of concurrent submits, the clock set to each
 * wave's first entry time (so every timestamp is well within its window).
 * With one verifier thread the log order is the submission order.
 */
export async function submitInWaves(
  node: ExchangeNode,
  setClock: (timeMs: number) => void,
  entries: readonly LogEntry[],
  waveSize = 64,
): Promise<SubmitResult[]> {
  const results: SubmitResult[] = [];
  for (let start = 0; start < entries.length; start += waveSize) {
    const wave = entries.slice(start, start + waveSize);
    setClock(wave[0]!.logTimeMs);
    results.push(...(await Promise.all(wave.map((entry) => node.submit(entry.transaction)))));
  }
  return results;
}
