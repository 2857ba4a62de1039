/**
 * Signed log entries from the engine's scenario texts (packages/engine/test/
 * scenarios, format in scenario-runner.ts): each accepted instruction row
 * becomes an entry signed by the row's signer, at the row's log time.
 */
import type { LogEntry } from '@vex/engine';
import { signedEntry, signerFromByte, type Signer } from '../../engine/test/random-log.js';

const names = ['operator', 'alice', 'bob', 'carol', 'dave', 'erin', 'keeper'];
/** The scenario names' signers: the same keys as the engine's scenario runner. */
export const scenarioSigners = new Map<string, Signer>(names.map((name, index) => [name, signerFromByte(index + 1)]));
export const scenarioDirectory = new URL('../../engine/test/scenarios/', import.meta.url);

/** The accepted instruction rows of a scenario text as signed entries. */
export function entriesOf(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const raw of text.split('\n')) {
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '' || content.startsWith('expect') || !content.endsWith('-> ok')) continue;
    const [time, signer, instruction, ...rest] = content.replace(/\s*-> ok$/, '').split(/\s+/);
    entries.push(scenarioEntry(signer!, instruction!, rest, Number(time)));
  }
  return entries;
}

/** One row's entry: `account=<name>` is replaced by that name's key. */
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
