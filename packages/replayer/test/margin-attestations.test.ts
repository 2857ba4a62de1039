/**
 * The replayer recomputes attestations over margin positions: the liabilities
 * root, with lent funds in the claims and borrows in the debts at interest
 * accrued to each attestation's log time, must be the signed one.
 */
import { apply, createState, genesisHash, LiabilitiesTree, signAttestation, type Attestation } from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLog } from '../src/replay-log.js';
import { SignatureVerifierPool } from '../src/signature-verifier-pool.js';
import { scenarioEntries, scenarioSigners, scenarioText } from './scenario-log.js';
import { attest, chainLog, testGenesis } from './test-log.js';

const operator = scenarioSigners.get('operator')!;
const genesis = testGenesis(operator);
let pool: SignatureVerifierPool;

beforeAll(async () => {
  pool = await SignatureVerifierPool.start(1);
});
afterAll(async () => {
  await pool.close();
});

/** The interest scenario's log, attested after every entry by the engine as the node does. */
function attestedInterestLog(): { bytes: Uint8Array; attestations: Attestation[] } {
  const text = ['setup.scenario', 'interest-and-kink.scenario'].map(scenarioText).join('\n');
  const entries = scenarioEntries(text);
  const chained = chainLog(genesis, entries);
  const state = createState(genesis);
  const tree = LiabilitiesTree.build(state);
  const attestations = entries.map((entry, index) => {
    if (!apply(state, entry).accepted) throw new Error(`entry ${index + 1} was rejected`);
    return attest(state, tree, index + 1, chained.entryHashes[index]!, genesisHash(genesis), operator);
  });
  return { bytes: chained.bytes, attestations };
}

describe('attestations over lend and borrow positions', () => {
  it('replay cleanly, with the debts and interest-accrued claims the engine attests', async () => {
    const { bytes, attestations } = attestedInterestLog();
    const withDebts = attestations.filter((attestation) => attestation.assets.some((asset) => asset.debts !== '0'));
    expect(withDebts.length).toBeGreaterThan(1);
    // A year after bob's borrow of 400 USDC, 420 is owed (docs/margin.md, 5.3).
    expect(attestations.some((attestation) => attestation.assets[0]!.debts === '420000000')).toBe(true);
    const report = await replayLog({ log: bytes, attestations, pool });
    expect(report.verified).toBe(true);
    expect(report.attestationsChecked).toBe(attestations.length);
    // The reserves report at the last attestation: bob still owes USDC he no longer holds.
    if (!report.verified) return;
    const last = attestations.at(-1)!;
    expect(report.reserves?.sequence).toBe(last.sequence);
    const usdc = report.reserves!.assets[0]!;
    expect(usdc).toMatchObject({ symbol: 'USDC', claims: last.assets[0]!.claims, debts: last.assets[0]!.debts });
    expect(BigInt(usdc.liabilities)).toBe(BigInt(usdc.claims) - BigInt(usdc.debts));
    expect(BigInt(usdc.borrowLendHole)).toBeGreaterThan(0n);
    expect(BigInt(usdc.borrowLendHole)).toBeLessThanOrEqual(BigInt(usdc.debts));
    expect(BigInt(usdc.holeCollateralValue)).toBeGreaterThan(0n);
  });

  it('catch an attestation whose debts leave out the interest', async () => {
    const { bytes, attestations } = attestedInterestLog();
    const index = attestations.findIndex((attestation) => attestation.assets[0]!.debts === '420000000');
    const forged = [...attestations];
    const original = attestations[index]!;
    const { operatorKey: _key, signature: _signature, ...fields } = original;
    const assets = fields.assets.map((asset, position) => (position === 0 ? { ...asset, debts: '400000000' } : asset));
    forged[index] = signAttestation({ ...fields, assets }, operator.seed);
    const report = await replayLog({ log: bytes, attestations: forged, pool });
    expect(report.verified).toBe(false);
    if (report.verified) return;
    expect(report.divergence).toMatchObject({ sequence: original.sequence });
    expect(report.divergence.message).toMatch(/debts/);
  });
});
