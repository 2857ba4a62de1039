/**
 * Logs built from the engine's margin scenarios (packages/engine/test/scenarios):
 * the accepted instruction rows of a scenario text as signed entries, signed
 * by the scenario's named keys.
 */
import { readFileSync } from 'node:fs';
import type { LogEntry } from '@vex/engine';
import { signedEntry, signerFromByte, type Signer } from '../../engine/test/random-log.js';
import { afterAll, beforeAll } from 'vitest';
import { SignatureVerifierPool } from '../src/signature-verifier-pool.js';

const names = ['operator', 'alice', 'bob', 'carol', 'dave', 'erin', 'keeper'];
export const scenarioSigners = new Map<string, Signer>(names.map((name, index) => [name, signerFromByte(index + 1)]));
const scenarios = new URL('../../engine/test/scenarios/', import.meta.url);

/** The text of a scenario file. */
export function scenarioText(name: string): string {
  return readFileSync(new URL(name, scenarios), 'utf8');
}

/** The accepted instruction rows of a scenario text as signed entries. */
export function scenarioEntries(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const raw of text.split('\n')) {
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '' || content.startsWith('expect') || !content.endsWith('-> ok')) continue;
    const [time, signer, instruction, ...rest] = content.replace(/\s*-> ok$/, '').split(/\s+/);
    entries.push(scenarioEntry(signer!, instruction!, rest, Number(time)));
  }
  return entries;
}

/** One entry signed by a scenario signer; `account=<name>` is replaced by that name's key. */
export function scenarioEntry(
  signer: string,
  instruction: string,
  words: readonly string[],
  logTimeMs: number,
): LogEntry {
  const params: Record<string, string> = {};
  for (const word of words) {
    const [key, value] = word.split('=') as [string, string];
    params[key] = key === 'account' ? scenarioSigners.get(value)!.accountId : value;
  }
  return signedEntry(scenarioSigners.get(signer)!, instruction, params, logTimeMs);
}

/** One signature verifier pool (one worker) for a test file's replays, started before its tests and closed after. */
export function verifierPoolForTests(): () => SignatureVerifierPool {
  let pool: SignatureVerifierPool | undefined;
  beforeAll(async () => {
    pool = await SignatureVerifierPool.start(1);
  });
  afterAll(async () => {
    await pool?.close();
  });
  return () => pool!;
}
