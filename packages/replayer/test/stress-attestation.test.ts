/**
 * The replayer recomputes each attestation's stress shortfalls
 * (docs/attestation.md, "Stress figure") at the attested sequence: an honest
 * attestation of a log with a borrower verifies, and one whose stress figure
 * was forged and re-signed by the operator is a `stress-shortfall`
 * divergence, even when the log's own attestation record carries the forged
 * digest (the operator's node computed it wrongly).
 */
import {
  LiabilitiesTree,
  apply,
  attestationFieldsOf,
  createState,
  genesisHash,
  signAttestation,
  signAttestationRecord,
  type AttestationFields,
  type LogEntry,
} from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLog, type ReplayReport } from '../src/replay-log.js';
import { SignatureVerifierPool } from '../src/signature-verifier-pool.js';
import { scenarioEntries, scenarioSigners, scenarioText } from './scenario-log.js';
import { chainLog, testGenesis } from './test-log.js';

const operator = scenarioSigners.get('operator')!;
const genesis = testGenesis(operator);
let pool: SignatureVerifierPool;
let entries: LogEntry[];
/** The honest attestation fields after the last entry. */
let honest: AttestationFields;

beforeAll(async () => {
  pool = await SignatureVerifierPool.start(1);
  // The keeper ends owing 20 SOL against 1000 USDC and 20 SOL: a 200 USDC stress shortfall on SOL.
  entries = scenarioEntries(`${scenarioText('setup.scenario')}\n${scenarioText('borrow-refused-by-margin.scenario')}`);
  const state = createState(genesis);
  for (const entry of entries) expect(apply(state, entry).accepted).toBe(true);
  const chained = chainLog(genesis, entries);
  const root = LiabilitiesTree.build(state).root();
  const headHash = chained.entryHashes[entries.length - 1]!;
  honest = attestationFieldsOf(state, root, entries.length, headHash, genesisHash(genesis));
});
afterAll(async () => {
  await pool.close();
});

function withStress(fields: AttestationFields, symbol: string, stressShortfall: string): AttestationFields {
  return {
    ...fields,
    assets: fields.assets.map((asset) => (asset.symbol === symbol ? { ...asset, stressShortfall } : asset)),
  };
}

function replay(log: readonly LogEntry[], attested: AttestationFields): Promise<ReplayReport> {
  return replayLog({
    log: chainLog(genesis, log).bytes,
    attestations: [signAttestation(attested, operator.seed)],
    pool,
  });
}

describe('the stress figure, checked by the replayer', () => {
  it('verifies the honest figure', async () => {
    expect(honest.assets.find((asset) => asset.symbol === 'SOL')?.stressShortfall).toBe('200000000');
    const report = await replay(entries, honest);
    expect(report.verified).toBe(true);
    expect(report.attestationsChecked).toBe(1);
  });

  it('catches a forged figure, re-signed by the operator', async () => {
    const report = await replay(entries, withStress(honest, 'SOL', '0'));
    expect(report.verified).toBe(false);
    if (report.verified) return;
    expect(report.divergence).toMatchObject({
      sequence: entries.length,
      check: 'stress-shortfall',
      expected: '0',
      computed: '200000000',
      attestationNumber: 1,
    });
    expect(report.divergence.message).toMatch(/SOL stress shortfall/);
  });

  it('catches a forged figure that the log records too', async () => {
    const forged = withStress(honest, 'USDC', '1');
    const logTimeMs = entries.at(-1)!.logTimeMs;
    const record = { logTimeMs, transaction: signAttestationRecord(forged, logTimeMs, operator.seed) };
    const report = await replay([...entries, record], forged);
    expect(report.verified).toBe(false);
    if (report.verified) return;
    expect(report.divergence).toMatchObject({ check: 'stress-shortfall', expected: '1', computed: '0' });
  });
});
