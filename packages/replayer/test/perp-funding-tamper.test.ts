/**
 * Tamper tests for a forged funding payment (issue 13; docs/replayer.md,
 * docs/perps.md section 5). The log holds no funding payment: the engine
 * computes each one from the index prices (operator-signed entries), the
 * log times (which cross funding boundaries) and the signed orders that
 * touch a position. So a forger who wants a trader to pay more (or less)
 * funding must change one of those inputs, or attest a state in which the
 * payment differs. The log is the `perp-funding-and-borrow` scenario's:
 * three hourly boundaries pass, then carol's fill at 10,800,001 settles her
 * funding (15 × 0.00375 = 0.05625 USDC) into her USDC. Each forgery below is
 * refused with a divergence that names the entry (or attestation) and why;
 * what a forger could change without detection is said in docs/replayer.md.
 */
import {
  apply,
  type Attestation,
  createState,
  genesisHash,
  LiabilitiesTree,
  type LogEntry,
  signAttestation,
} from '@vex/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { signedEntry } from '../../engine/test/random-log.js';
import { replayLog, type ReplayDiverged } from '../src/replay-log.js';
import { scenarioEntries, scenarioSigners, scenarioText, verifierPoolForTests } from './scenario-log.js';
import { alteredEntry, attest, chainLog, instructionOf, testGenesis } from './test-log.js';

const operator = scenarioSigners.get('operator')!;
const carol = scenarioSigners.get('carol')!;
const genesis = testGenesis(operator);
const pool = verifierPoolForTests();
const hourMs = 3_600_000;

function fundingLog(): LogEntry[] {
  return scenarioEntries(['setup.scenario', 'perp-funding-and-borrow.scenario'].map(scenarioText).join('\n'));
}

/** The index of the entry whose signed message contains `text`. */
function indexOf(log: readonly LogEntry[], text: string): number {
  const index = log.findIndex((logged) => Buffer.from(logged.transaction.message).toString('utf8').includes(text));
  expect(index).toBeGreaterThanOrEqual(0);
  return index;
}

async function divergence(
  log: readonly LogEntry[],
  attestations?: Attestation[],
): Promise<ReplayDiverged['divergence']> {
  const report = await replayLog({ log: chainLog(genesis, log).bytes, attestations, pool: pool() });
  if (report.verified)
    throw new Error(`expected a divergence, but the log verified (${report.entriesApplied} entries)`);
  return report.divergence;
}

describe('a forged funding payment', () => {
  let log: LogEntry[];
  /** carol's market buy at 10,800,001: the fill that settles her funding of three intervals. */
  let carolFill: number;
  /** The index price of 140 at 10,800,002, after which erin's close is realised. */
  let risingPrice: number;
  beforeAll(() => {
    log = fundingLog();
    carolFill = log.findIndex(
      (logged) => logged.logTimeMs === 10_800_001 && Buffer.from(logged.transaction.publicKey).equals(carol.publicKey),
    );
    risingPrice = indexOf(log, 'price=140');
  });

  it('the untampered log verifies', async () => {
    const report = await replayLog({ log: chainLog(genesis, log).bytes, pool: pool() });
    expect(report.verified).toBe(true);
  });

  it("refuses carol's order moved an hour later, past one more funding boundary: its signed window", async () => {
    // The same signed bytes at a later log time would make carol pay a fourth interval; every entry after it moves
    // too, so the log's times stay in order and only the order's own window can catch it.
    const forged = log.map((logged, index) =>
      index >= carolFill ? { ...logged, logTimeMs: logged.logTimeMs + hourMs } : logged,
    );
    const found = await divergence(forged);
    expect(found).toMatchObject({ sequence: carolFill + 1, check: 'transition', expected: 'accepted' });
    expect(found.message).toContain(`entry ${carolFill + 1}`);
    expect(found.computed).toMatch(/^rejected: INVALID_TIMESTAMP/);
  });

  it('refuses a funding boundary slipped in by an operator entry dated before the entry it follows', async () => {
    // An extra operator price at the next boundary, placed before carol's fill, would pay one more interval first.
    const extra = signedEntry(
      operator,
      'indexPriceUpdate',
      { symbol: 'SOL', price: '100', publishedAtMs: String(4 * hourMs) },
      4 * hourMs,
    );
    const forged = [...log.slice(0, carolFill), extra, ...log.slice(carolFill)];
    const found = await divergence(forged);
    expect(found).toMatchObject({ sequence: carolFill + 2, check: 'entry-log-time', expected: '10800001' });
  });

  it("refuses the rising index price changed under the operator's untouched signature", async () => {
    const original = log[risingPrice]!;
    const altered = alteredEntry(original, 'price', '160', operator);
    const forged = [...log];
    forged[risingPrice] = {
      ...altered,
      transaction: { ...altered.transaction, signature: original.transaction.signature },
    };
    const found = await divergence(forged);
    expect(found).toMatchObject({ sequence: risingPrice + 1, check: 'signature', expected: 'valid' });
  });

  it('refuses an operator-signed index price beyond the maximum move (to inflate mark and funding)', async () => {
    const forged = [...log];
    forged[risingPrice] = alteredEntry(log[risingPrice]!, 'price', '400', operator);
    expect(instructionOf(forged[risingPrice]!).instruction).toBe('indexPriceUpdate');
    const found = await divergence(forged);
    expect(found).toMatchObject({ sequence: risingPrice + 1, check: 'transition', expected: 'accepted' });
    expect(found.computed).toMatch(/^rejected: PRICE_REJECTED/);
  });

  /** The honest attestation after carol's fill, and one of the state in which her funding was given back. */
  function attestationsAfterCarolsFill(): { honest: Attestation; forged: Attestation; bytes: Uint8Array } {
    const chained = chainLog(genesis, log);
    const state = createState(genesis);
    for (const [index, entry] of log.slice(0, carolFill + 1).entries())
      if (!apply(state, entry).accepted) throw new Error(`entry ${index + 1} was rejected`);
    const headHash = chained.entryHashes[carolFill]!;
    const honest = attest(state, LiabilitiesTree.build(state), carolFill + 1, headHash, genesisHash(genesis), operator);
    // The forger gives carol back the 0.05625 USDC of funding she paid, and attests that state.
    const position = state.accounts.get(carol.accountId)!;
    position.balance(state.assetsBySymbol.get('USDC')!).available += 56_250n;
    const forged = attest(state, LiabilitiesTree.build(state), carolFill + 1, headHash, genesisHash(genesis), operator);
    expect(forged.assets[0]!.claims).not.toBe(honest.assets[0]!.claims);
    return { honest, forged, bytes: chained.bytes };
  }

  it("refuses an attestation of a state in which carol's funding was not paid: the state hash", async () => {
    const { honest, forged, bytes } = attestationsAfterCarolsFill();
    const found = await divergence(log, [forged]);
    expect(found).toMatchObject({ sequence: carolFill + 1, check: 'state-hash', computed: honest.stateHash });
    // The honest attestation of the same entry verifies.
    const report = await replayLog({ log: bytes, attestations: [honest], pool: pool() });
    expect(report.verified).toBe(true);
  });

  it('refuses the honest state hash with the liabilities of that state: the liabilities check', async () => {
    const { honest, forged } = attestationsAfterCarolsFill();
    const { operatorKey: _key, signature: _signature, ...fields } = honest;
    const mixed = signAttestation(
      { ...fields, liabilitiesRoot: forged.liabilitiesRoot, assets: forged.assets },
      operator.seed,
    );
    const found = await divergence(log, [mixed]);
    expect(found).toMatchObject({
      sequence: carolFill + 1,
      check: 'liabilities-root',
      computed: honest.liabilitiesRoot,
    });
  });
});
