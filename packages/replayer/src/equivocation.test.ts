/**
 * The equivocation hole, closed: an operator re-signs a fake attestation of a
 * fake tree for an existing sequence (one user's balance lowered) and hands
 * that user the proof under it. Every tool refuses it once it has the log or
 * the published attestations, and reports the two signed statements as
 * operator equivocation; with neither, it says that only the signature was
 * checked. Also a forked head, and a log whose record is false.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  attestationDigestHex,
  encodeAndHashEntry,
  encodeAttestationJson,
  encodeExportTrailer,
  genesisHash,
  isValidSignature,
  signAttestationRecord,
  verifyAttestationSignature,
  verifyInclusionProof,
  type Attestation,
  type InclusionProof,
  type LogEntry,
} from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecordedLog, fakeProof, forkAt, type RecordedLog } from '../test/recorded-log.js';
import { assembleExport, attestationLines } from '../test/test-log.js';
import { exitCodes, main } from './cli.js';
import { checkInclusionProof } from './inclusion-proof-check.js';
import { replayLog } from './replay-log.js';
import { SignatureVerifierPool } from './signature-verifier-pool.js';

let log: RecordedLog;
let pool: SignatureVerifierPool;
let directory: string;
let target: Attestation;
let fake: { attestation: Attestation; proof: InclusionProof; loweredSymbol: string };
let realProof: InclusionProof;
const file = (name: string): string => path.join(directory, name);

async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  pool = await SignatureVerifierPool.start(1);
  log = buildRecordedLog(41, 160, 30);
  // An attestation in the middle of the log, with its record right after it.
  target = log.attestations[1]!;
  fake = fakeProof(log, target.sequence);
  realProof = log.proofs.get(target.sequence)!;
  directory = mkdtempSync(path.join(tmpdir(), 'replayer-equivocation-'));
  writeFileSync(file('log.vexlog'), log.bytes);
  writeFileSync(file('attestations.jsonl'), attestationLines(log.attestations));
  writeFileSync(file('real-proof.json'), JSON.stringify(realProof));
  writeFileSync(file('fake-proof.json'), JSON.stringify(fake.proof));
  writeFileSync(file('fake-attestation.jsonl'), attestationLines([fake.attestation]));
}, 60_000);

afterAll(async () => {
  await pool.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('the equivocation attack', () => {
  it('is a real attack: the fake proof verifies under the operator signature and shows a lower balance', () => {
    const verdict = verifyInclusionProof(fake.proof, log.genesis.operatorKeys);
    expect(verdict.ok).toBe(true);
    const real = verifyInclusionProof(realProof, log.genesis.operatorKeys);
    if (!verdict.ok || !real.ok) throw new Error('unexpected');
    const index = verdict.balances.findIndex((balance) => balance.symbol === fake.loweredSymbol);
    expect(verdict.balances[index]!.claim).toBeLessThan(real.balances[index]!.claim);
    expect(fake.attestation.sequence).toBe(target.sequence);
    expect(attestationDigestHex(fake.attestation)).not.toBe(attestationDigestHex(target));
  });

  it('the log records every attestation: a full replay checks each record', async () => {
    const report = await replayLog({ log: log.bytes, attestations: log.attestations, pool });
    expect(report).toMatchObject({
      verified: true,
      recordsChecked: log.attestations.length,
      attestationsChecked: log.attestations.length,
    });
  });

  it('replayLog: the fake attestation against the log is operator equivocation, with both signed statements', async () => {
    const report = await replayLog({
      log: log.bytes,
      otherAttestations: [{ attestation: fake.attestation, source: 'the proof' }],
      pool,
    });
    expect(report.verified).toBe(false);
    if (report.verified) return;
    const { divergence } = report;
    expect(divergence).toMatchObject({ sequence: target.sequence, check: 'equivocation' });
    const { first, second } = divergence.equivocation!;
    // The log's record, signed by the operator, carrying the real digest.
    expect(first.kind).toBe('attestation-record');
    expect(first.digest).toBe(attestationDigestHex(target));
    if (first.kind !== 'attestation-record') return;
    expect(first.entrySequence).toBe(target.sequence + 1);
    expect(first.publicKey).toBe(log.operator.accountId);
    expect(
      isValidSignature(
        Buffer.from(first.publicKey, 'base64'),
        new TextEncoder().encode(first.message),
        Buffer.from(first.signature, 'base64'),
      ),
    ).toBe(true);
    // The fake, signed by the operator too: anyone can check both.
    expect(second.kind).toBe('attestation');
    if (second.kind !== 'attestation') return;
    expect(second.attestationJson).toBe(encodeAttestationJson(fake.attestation));
    expect(
      verifyAttestationSignature(JSON.parse(second.attestationJson) as Attestation, log.genesis.operatorKeys),
    ).toBe(true);
    expect(second.digest).toBe(attestationDigestHex(fake.attestation));
  });

  it('replayLog: two attestation lists that disagree are equivocation even without the record', async () => {
    const others = log.attestations.map((attestation) => ({
      attestation: attestation.sequence === target.sequence ? fake.attestation : attestation,
      source: 'list 2',
    }));
    const report = await replayLog({ log: log.bytes, attestations: log.attestations, otherAttestations: others, pool });
    expect(report.verified === false && report.divergence.check).toBe('equivocation');
  });

  it('checkInclusionProof: refused with the log, with the published attestations, and with both; signature-only says so', async () => {
    const withLog = await checkInclusionProof({ proof: fake.proof, log: log.bytes, workers: 1 });
    expect(withLog).toMatchObject({ ok: false });
    expect(!withLog.ok && withLog.equivocation?.sequence).toBe(target.sequence);
    const withAttestations = await checkInclusionProof({
      proof: fake.proof,
      operatorKeys: log.genesis.operatorKeys,
      attestations: log.attestations,
    });
    expect(!withAttestations.ok && withAttestations.equivocation?.second.digest).toBe(
      attestationDigestHex(fake.attestation),
    );
    const withBoth = await checkInclusionProof({
      proof: fake.proof,
      log: log.bytes,
      attestations: log.attestations,
      workers: 1,
    });
    expect(!withBoth.ok && withBoth.reason).toMatch(/equivocation/);
    const signatureOnly = await checkInclusionProof({ proof: fake.proof, operatorKeys: log.genesis.operatorKeys });
    expect(signatureOnly).toMatchObject({ ok: true, basis: 'signature-only' });
    // The honest proof stands on the log and on the published attestation.
    expect(await checkInclusionProof({ proof: realProof, log: log.bytes, workers: 1 })).toMatchObject({
      ok: true,
      basis: 'log',
    });
    expect(
      await checkInclusionProof({
        proof: realProof,
        operatorKeys: log.genesis.operatorKeys,
        attestations: log.attestations,
      }),
    ).toMatchObject({
      ok: true,
      basis: 'published-attestation',
    });
    // A leaf that is not the replayed one, under the real attestation, is refused.
    const otherLeaf = { ...realProof, salt: 'ab'.repeat(32) };
    expect((await checkInclusionProof({ proof: otherLeaf, log: log.bytes, workers: 1 })).ok).toBe(false);
  });

  it('pnpm replay --proof: exit 4 with both signed messages printed; exit 5 when only the signature was checked', async () => {
    const withLog = await cli(['--proof', file('fake-proof.json'), '--log', file('log.vexlog'), '--workers', '1']);
    expect(withLog.code).toBe(exitCodes.equivocation);
    expect(withLog.stdout).toContain(`OPERATOR EQUIVOCATION at sequence ${target.sequence}`);
    expect(withLog.stdout).toContain(
      `signed message: instruction=attestationRecord&digest=${attestationDigestHex(target)}&sequence=${target.sequence}&`,
    );
    expect(withLog.stdout).toContain(`signed attestation: ${encodeAttestationJson(fake.attestation)}`);
    const withAttestations = await cli([
      '--proof',
      file('fake-proof.json'),
      '--attestations',
      file('attestations.jsonl'),
      '--operator-key',
      log.operator.accountId,
    ]);
    expect(withAttestations.code).toBe(exitCodes.equivocation);
    expect(withAttestations.stdout).toContain(`signed attestation: ${encodeAttestationJson(target)}`);
    const signatureOnly = await cli(['--proof', file('fake-proof.json'), '--operator-key', log.operator.accountId]);
    expect(signatureOnly.code).toBe(exitCodes.signatureOnly);
    expect(signatureOnly.stdout).toContain("ONLY THE OPERATOR'S SIGNATURE WAS CHECKED");
    const honest = await cli(['--proof', file('real-proof.json'), '--log', file('log.vexlog'), '--workers', '1']);
    expect(honest.code).toBe(exitCodes.verified);
    expect(honest.stdout).toContain('checked against the log');
  });

  it('pnpm replay with a second attestation list holding the fake: exit 4', async () => {
    const run = await cli([
      file('log.vexlog'),
      '--attestations',
      file('attestations.jsonl'),
      '--attestations',
      file('fake-attestation.jsonl'),
      '--workers',
      '1',
    ]);
    expect(run.code).toBe(exitCodes.equivocation);
    expect(run.stdout).toContain(`OPERATOR EQUIVOCATION at sequence ${target.sequence}`);
  });
});

describe('a forked head', () => {
  it('an attestation of a fork is refused and reported against the log, and the forked log against the published attestations', async () => {
    const fork = forkAt(log, target.sequence);
    expect(fork.attestation.headHash).not.toBe(target.headHash);
    const againstLog = await replayLog({
      log: log.bytes,
      otherAttestations: [{ attestation: fork.attestation, source: 'a forked attestation' }],
      pool,
    });
    expect(againstLog.verified === false && againstLog.divergence.check).toBe('equivocation');
    writeFileSync(file('fork.vexlog'), fork.bytes);
    const run = await cli([file('fork.vexlog'), '--attestations', file('attestations.jsonl'), '--workers', '1']);
    expect(run.code).toBe(exitCodes.equivocation);
    expect(run.stdout).toContain(`OPERATOR EQUIVOCATION at sequence ${target.sequence}`);
    expect(run.stdout).toContain(`"headHash":"${target.headHash}"`);
  });
});

describe('a false record', () => {
  it('a record whose digest is not the replayed attestation is a divergence at the record entry', async () => {
    const recordIndex = target.sequence; // entry target.sequence + 1, zero-based
    const wrongDigest = { ...target, liabilitiesRoot: 'ab'.repeat(32) };
    const entries: LogEntry[] = log.entries.map((entry, index) =>
      index === recordIndex
        ? {
            logTimeMs: entry.logTimeMs,
            transaction: signAttestationRecord(wrongDigest, entry.logTimeMs, log.operator.seed),
          }
        : entry,
    );
    let previousHash = genesisHash(log.genesis);
    const encodings = entries.map((entry, index) => {
      const { encoding, entryHash } = encodeAndHashEntry({
        sequence: index + 1,
        logTimeMs: entry.logTimeMs,
        previousHash,
        transaction: entry.transaction,
      });
      previousHash = entryHash;
      return encoding.slice();
    });
    const bytes = assembleExport(log.genesis, encodings, encodeExportTrailer(encodings.length, previousHash));
    const report = await replayLog({ log: bytes, pool });
    expect(report.verified === false && report.divergence).toMatchObject({
      sequence: target.sequence + 1,
      check: 'attestation-record',
      computed: attestationDigestHex(target),
    });
  });
});
