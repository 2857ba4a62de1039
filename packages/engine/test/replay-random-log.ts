/**
 * Applies a seeded random signed log and prints its fingerprint: the final
 * state hash and a hash of every outcome. Run as its own process by the
 * determinism test: `tsx replay-random-log.ts <seed> <entries>`.
 */
import { createHash } from 'node:crypto';
import { apply } from '../src/apply.js';
import { createState } from '../src/state.js';
import { stateHashHex } from '../src/state-codec.js';
import { randomSignedLog } from './random-log.js';

export function fingerprint(
  seed: number,
  entryCount: number,
): { stateHash: string; outcomesHash: string; accepted: number } {
  const { entries, operator } = randomSignedLog(seed, entryCount);
  const state = createState({
    exchangeName: 'determinism',
    operatorKeys: [operator.accountId],
    feeAccount: operator.accountId,
  });
  const outcomes = createHash('sha256');
  let accepted = 0;
  for (const entry of entries) {
    const outcome = apply(state, entry);
    if (outcome.accepted) accepted += 1;
    outcomes.update(
      JSON.stringify(outcome, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value)),
    );
  }
  return { stateHash: stateHashHex(state), outcomesHash: outcomes.digest('hex'), accepted };
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [seed, entries] = process.argv.slice(2).map(Number);
  process.stdout.write(JSON.stringify(fingerprint(seed ?? 1, entries ?? 1000)) + '\n');
}
