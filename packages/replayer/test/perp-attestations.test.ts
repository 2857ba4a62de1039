/**
 * The replayer recomputes attestations over perpetual positions: each
 * account's leaf counts its positions' PnL and funding pending at the
 * attested state's marks and funding indexes (docs/attestation.md,
 * "Perpetual positions in the leaves"), so the signed root must include them.
 */
import {
  apply,
  createState,
  genesisHash,
  LiabilitiesTree,
  pendingPerpUnitsByAsset,
  signAttestation,
  type Attestation,
} from '@vex/engine';
import { describe, expect, it } from 'vitest';
import { replayLog } from '../src/replay-log.js';
import { scenarioEntries, scenarioSigners, scenarioText, verifierPoolForTests } from './scenario-log.js';
import { attest, chainLog, testGenesis } from './test-log.js';

const operator = scenarioSigners.get('operator')!;
const genesis = testGenesis(operator);
const pool = verifierPoolForTests();

/** The perpetual funding-and-borrow scenario's log, attested after every entry; with each entry's pending gains. */
function attestedPerpLog(): { bytes: Uint8Array; attestations: Attestation[]; pendingGains: bigint[] } {
  const text = ['setup.scenario', 'perp-funding-and-borrow.scenario'].map(scenarioText).join('\n');
  const entries = scenarioEntries(text);
  const chained = chainLog(genesis, entries);
  const state = createState(genesis);
  const tree = LiabilitiesTree.build(state);
  const pendingGains: bigint[] = [];
  const attestations = entries.map((entry, index) => {
    if (!apply(state, entry).accepted) throw new Error(`entry ${index + 1} was rejected`);
    let gains = 0n;
    for (const account of state.accountList) {
      const pending = pendingPerpUnitsByAsset(state, account)?.[0] ?? 0n;
      if (pending > 0n) gains += pending;
    }
    pendingGains.push(gains);
    return attest(state, tree, index + 1, chained.entryHashes[index]!, genesisHash(genesis), operator);
  });
  return { bytes: chained.bytes, attestations, pendingGains };
}

describe('attestations over perpetual positions', () => {
  it('replay cleanly, with the pending PnL and funding the engine folds into the leaves', async () => {
    const { bytes, attestations, pendingGains } = attestedPerpLog();
    // Some attestations carry pending gains (carol's long after SOL rose to 140, before she signs again).
    expect(pendingGains.some((gain) => gain > 0n)).toBe(true);
    const report = await replayLog({ log: bytes, attestations, pool: pool() });
    expect(report.verified).toBe(true);
    expect(report.attestationsChecked).toBe(attestations.length);
  });

  it('catch an attestation whose claims leave out a pending gain', async () => {
    const { bytes, attestations, pendingGains } = attestedPerpLog();
    const index = pendingGains.findIndex((gain) => gain > 0n);
    const original = attestations[index]!;
    const { operatorKey: _key, signature: _signature, ...fields } = original;
    const claims = BigInt(fields.assets[0]!.claims) - pendingGains[index]!;
    const assets = fields.assets.map((asset, position) => (position === 0 ? { ...asset, claims: `${claims}` } : asset));
    const forged = [...attestations];
    forged[index] = signAttestation({ ...fields, assets }, operator.seed);
    const report = await replayLog({ log: bytes, attestations: forged, pool: pool() });
    expect(report.verified).toBe(false);
    if (report.verified) return;
    expect(report.divergence).toMatchObject({ sequence: original.sequence });
    expect(report.divergence.message).toMatch(/claims/);
  });
});
