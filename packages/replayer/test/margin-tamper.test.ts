/**
 * Tamper tests for the margin transactions the replayer must re-check
 * (issue 12; docs/replayer.md): forged index prices and unjustified
 * liquidations spliced into logs built from the engine's scenarios, with the
 * hash chain recomputed so that only the signature rule or the engine's own
 * rules can catch them. Each must be refused with a divergence that names the
 * entry and says why.
 */
import { coveragePoolAccountId, type LogEntry } from '@vex/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { replayLog, type ReplayDiverged, type ReplayReport } from '../src/replay-log.js';
import {
  scenarioEntries,
  scenarioEntry as entry,
  scenarioSigners,
  scenarioText,
  verifierPoolForTests,
} from './scenario-log.js';
import { signedEntry, type Signer } from '../../engine/test/random-log.js';
import { alteredEntry, chainLog, instructionOf, testGenesis } from './test-log.js';

const operator = scenarioSigners.get('operator')!;
const carol = scenarioSigners.get('carol')!;
const genesis = testGenesis(operator);

const pool = verifierPoolForTests();

/** The signer of a scenario entry, by its public key. */
function signerOf(logged: LogEntry): Signer {
  const key = Buffer.from(logged.transaction.publicKey);
  return [...scenarioSigners.values()].find((signer) => key.equals(signer.publicKey))!;
}

/**
 * A scenario's accepted rows as a log. Rows repeated at one log time (the
 * keeper's liquidation steps) are re-signed with a wider window each, so
 * that the log's replay protection sees distinct messages, as a keeper's
 * would be.
 */
function scenarioLog(name: string): LogEntry[] {
  const seen = new Set<string>();
  return scenarioEntries(`${scenarioText('setup.scenario')}\n${scenarioText(name)}`).map((logged) => {
    const text = Buffer.from(logged.transaction.message).toString('utf8');
    const repeated = seen.has(text);
    seen.add(text);
    return repeated ? resigned(logged, seen.size) : logged;
  });
}

/** The same instruction signed again by its signer with window 5000 + `extraMs` (the scenario default is 5000). */
function resigned(logged: LogEntry, extraMs: number): LogEntry {
  const { instruction, params } = instructionOf(logged);
  const windowMs = 5_000 + extraMs;
  return signedEntry(signerOf(logged), instruction, Object.fromEntries(params), logged.logTimeMs, { windowMs });
}

/** A keeper's validly signed liquidation of `account`, with a window no scenario row uses. */
function keeperLiquidation(account: string, timeMs: number): LogEntry {
  return resigned(entry('keeper', 'liquidate', [`account=${account}`], timeMs), 999);
}

async function replay(log: readonly LogEntry[]): Promise<ReplayReport> {
  return replayLog({ log: chainLog(genesis, log).bytes, pool: pool() });
}

async function diverged(log: readonly LogEntry[]): Promise<ReplayDiverged['divergence']> {
  const report = await replay(log);
  if (report.verified)
    throw new Error(`expected a divergence, but the log verified (${report.entriesApplied} entries)`);
  return report.divergence;
}

/** The index of the `occurrence`-th entry (from 0) whose signed message contains `text`. */
function indexOf(log: readonly LogEntry[], text: string, occurrence = 0): number {
  const indexes = log.flatMap((logged, index) =>
    Buffer.from(logged.transaction.message).toString('utf8').includes(text) ? [index] : [],
  );
  expect(indexes.length).toBeGreaterThan(occurrence);
  return indexes[occurrence]!;
}

/** A refusal by the engine's rules at entry `sequence` (instruction `instruction`), with its code:reason and words. */
function expectRefused(
  divergence: ReplayDiverged['divergence'],
  sequence: number,
  instruction: string,
  codeAndReason: string,
  words: RegExp,
) {
  expect(divergence).toMatchObject({ sequence, check: 'transition', expected: 'accepted' });
  expect(divergence.computed).toMatch(new RegExp(`^rejected: ${codeAndReason} \\(`));
  expect(divergence.message).toContain(`the engine rejects entry ${sequence} (${instruction}): ${codeAndReason}: `);
  expect(divergence.message).toMatch(words);
}

describe('a forged index price', () => {
  let log: LogEntry[];
  let index: number;
  beforeAll(() => {
    log = scenarioLog('liquidation-through-book.scenario');
    index = indexOf(log, 'price=65');
  });

  it('the untampered log verifies', async () => {
    expect((await replay(log)).verified).toBe(true);
  });

  const signatureForgeries: Array<[string, () => LogEntry]> = [
    [
      'a price whose signature bytes are altered',
      () => {
        const original = log[index]!;
        const signature = original.transaction.signature.slice();
        signature[7]! ^= 0x01;
        return { ...original, transaction: { ...original.transaction, signature } };
      },
    ],
    [
      "a price moved to 30 under the operator's untouched signature",
      () => {
        const original = log[index]!;
        const forged = alteredEntry(original, 'price', '30', operator);
        return { ...forged, transaction: { ...forged.transaction, signature: original.transaction.signature } };
      },
    ],
    [
      "a price signed by a trader's key but naming the operator's key",
      () => alteredEntry(log[index]!, 'price', '30', carol, operator.publicKey),
    ],
  ];
  it.each(signatureForgeries)('refuses %s: the signature check', async (_name, forge) => {
    const forged = [...log];
    forged[index] = forge();
    const divergence = await diverged(forged);
    expect(divergence).toMatchObject({ sequence: index + 1, check: 'signature', expected: 'valid' });
    expect(divergence.message).toContain(`entry ${index + 1} is not valid`);
  });

  // The price before it is 100.1, published at 999; the entry's log time is 1000.
  const ruleForgeries: Array<[string, string[], string, RegExp]> = [
    ['beyond the listing maximum move (0.5)', ['symbol=SOL', 'price=50', 'publishedAtMs=1000'], 'moveTooLarge', /move/],
    ['published before the previous price', ['symbol=SOL', 'price=65', 'publishedAtMs=998'], 'outOfOrder', /999/],
    ['published after its own log time', ['symbol=SOL', 'price=65', 'publishedAtMs=1001'], 'outOfOrder', /log time/],
    ['for the settlement asset', ['symbol=USDC', 'price=1', 'publishedAtMs=1000'], 'settlementAsset', /USDC/],
  ];
  it.each(ruleForgeries)('refuses a price re-signed by the operator %s', async (_name, params, reason, words) => {
    const forged = [...log];
    forged[index] = entry('operator', 'indexPriceUpdate', params, 1000);
    expectRefused(await diverged(forged), index + 1, 'indexPriceUpdate', `PRICE_REJECTED:${reason}`, words);
  });
});

describe('an unjustified liquidation, validly signed by a keeper', () => {
  let log: LogEntry[];
  beforeAll(() => {
    log = scenarioLog('gradual-liquidation-steps.scenario');
  });

  it('the untampered log, with its three steps, verifies', async () => {
    expect((await replay(log)).verified).toBe(true);
  });

  it('refuses a step on an account the step before restored above maintenance, not initial margin', async () => {
    // After step 2 Bob's net equity is 45.308: above maintenance (29.6852), below initial (59.3704).
    const after = indexOf(log, 'liquidate', 1) + 1;
    const forged = [...log];
    forged.splice(after, 0, keeperLiquidation('bob', 1000));
    expectRefused(await diverged(forged), after + 1, 'liquidate', 'NOT_LIQUIDATABLE:aboveMaintenance', /maintenance/);
  });

  it('refuses a step on a healthy account put in place of a justified one', async () => {
    const index = indexOf(log, 'liquidate', 0);
    const forged = [...log];
    forged[index] = keeperLiquidation('erin', 1000);
    expectRefused(await diverged(forged), index + 1, 'liquidate', 'NOT_LIQUIDATABLE:noDebt', /maintenance/);
  });

  it('refuses a step on an account whose debt the backstop already closed', async () => {
    const forged = [...log, keeperLiquidation('bob', 1001)];
    expectRefused(await diverged(forged), forged.length, 'liquidate', 'NOT_LIQUIDATABLE:noDebt', /maintenance/);
  });
});

describe('an unjustified liquidation of perpetual positions or ADL, validly signed by a keeper', () => {
  let log: LogEntry[];
  beforeAll(() => {
    log = scenarioLog('perp-liquidation-backstop-adl.scenario');
  });

  it('the untampered log, with its backstop and its ADL, verifies', async () => {
    expect((await replay(log)).verified).toBe(true);
  });

  it('refuses an ADL moved before the price fall that justified it', async () => {
    // At 75 bob's long 50 is healthy (equity 600, maintenance 187.5): deleveraging dave then is unjustified.
    const before = indexOf(log, 'price=60');
    const forged = [...log];
    forged.splice(before, 0, keeperLiquidation('bob', log[before]!.logTimeMs));
    expectRefused(await diverged(forged), before + 1, 'liquidate', 'NOT_LIQUIDATABLE:aboveMaintenance', /maintenance/);
  });

  it('refuses the liquidation of the profitable short the ADL ranked first', async () => {
    const forged = [...log, keeperLiquidation('dave', log.at(-1)!.logTimeMs)];
    expectRefused(
      await diverged(forged),
      forged.length,
      'liquidate',
      'NOT_LIQUIDATABLE:aboveMaintenance',
      /maintenance/,
    );
  });

  it("refuses a liquidation of the coverage pool's account, which holds the position it took over", async () => {
    const keeper = scenarioSigners.get('keeper')!;
    const timeMs = log.at(-1)!.logTimeMs;
    const forged = [...log, signedEntry(keeper, 'liquidate', { account: coveragePoolAccountId }, timeMs)];
    expectRefused(await diverged(forged), forged.length, 'liquidate', 'NOT_LIQUIDATABLE:coveragePool', /coverage pool/);
  });

  it('refuses a second step on a position the pool already took over', async () => {
    const backstop = indexOf(log, 'liquidate', 0);
    const forged = [...log];
    forged.splice(backstop + 1, 0, keeperLiquidation('erin', log[backstop]!.logTimeMs));
    expectRefused(await diverged(forged), backstop + 2, 'liquidate', 'NOT_LIQUIDATABLE:noDebt', /maintenance/);
  });
});
