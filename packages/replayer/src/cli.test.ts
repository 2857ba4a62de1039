import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationLines, buildTestLog, signerFromByte, type TestLog } from '../test/test-log.js';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cliPath = fileURLToPath(new URL('./cli.ts', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI as a user would, in its own process. */
function runCli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', cliPath, ...args], { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let directory: string;
let log: TestLog;
const file = (name: string): string => path.join(directory, name);

beforeAll(() => {
  directory = mkdtempSync(path.join(tmpdir(), 'replayer-cli-'));
  log = buildTestLog(23, 150, 50);
  writeFileSync(file('good.vexlog'), log.bytes);
  writeFileSync(file('attestations.jsonl'), attestationLines(log.attestations));
  const tampered = log.bytes.slice();
  // A byte inside the signature of the last entry: only the signature check can notice it.
  tampered[tampered.length - 44 - log.encodings.at(-1)!.length + 81 + 10]! ^= 0x04;
  writeFileSync(file('tampered.vexlog'), tampered);
  writeFileSync(file('garbage.bin'), 'this is not a log export\n');
  writeFileSync(file('snapshot.bin'), log.snapshot);
  const wrongSnapshot = log.snapshot.slice();
  wrongSnapshot[wrongSnapshot.length - 1]! ^= 1;
  writeFileSync(file('wrong-snapshot.bin'), wrongSnapshot);
  writeFileSync(file('proof.json'), JSON.stringify(log.proof));
  const claim = log.proof.balances[0]!.claim;
  const wrongProof = {
    ...log.proof,
    balances: log.proof.balances.map((balance, index) =>
      index === 0 ? { ...balance, claim: String(BigInt(claim) + 1n) } : balance,
    ),
  };
  writeFileSync(file('wrong-proof.json'), JSON.stringify(wrongProof));
});

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe('pnpm replay', () => {
  it('exits 0 with a summary for a good log and its attestations', async () => {
    const run = await runCli([file('good.vexlog'), '--attestations', file('attestations.jsonl'), '--workers', '2']);
    // npx may warn about its own configuration on stderr; the replayer itself must not complain.
    expect(run.stderr).not.toMatch(/replay:/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`verified: ${log.entries.length} entries of exchange "replayer-test"`);
    expect(run.stdout).toContain(
      `attestations checked: ${log.attestations.length}, flagged (short of reserves): ${log.flaggedSequences.length}`,
    );
    expect(run.stdout).toContain(`state hash: ${log.finalStateHash}`);
    expect(run.stdout).toMatch(/entries\/s, 2 signature workers/);
  });

  it('exits 1 naming the sequence for a tampered log, and prints JSON with --json', async () => {
    const run = await runCli([file('tampered.vexlog'), '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      verified: false,
      divergence: { sequence: log.entries.length, check: 'signature', expected: 'valid' },
    });
    const text = await runCli([file('tampered.vexlog')]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`DIVERGENCE at sequence ${log.entries.length}: signature`);
  });

  it('exits 2 for a garbage file, a missing file and bad usage', async () => {
    const garbage = await runCli([file('garbage.bin')]);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/bad input: .*bad magic/);
    const missing = await runCli([file('missing.vexlog')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);
    const usage = await runCli(['--workers', 'many', file('good.vexlog')]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--workers must be a positive integer/);
    const unknownOption = await runCli(['--fast', file('good.vexlog')]);
    expect(unknownOption.code).toBe(2);
  });

  it("reads the log and the attestations from a node's URL", async () => {
    const server = createServer((request, response) => {
      if (request.url === '/api/v1/log?from=1') response.end(readFileSync(file('good.vexlog')));
      else if (request.url === '/api/v1/attestations/export') response.end(readFileSync(file('attestations.jsonl')));
      else {
        response.statusCode = 404;
        response.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const run = await runCli([`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        verified: true,
        entriesApplied: log.entries.length,
        attestationsChecked: log.attestations.length,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('checks a snapshot with --from-snapshot: 0 when it matches, 1 when it does not', async () => {
    const good = await runCli(['--from-snapshot', file('snapshot.bin'), file('good.vexlog')]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`snapshot at sequence ${log.snapshotSequence}: matches the replay`);
    const wrong = await runCli(['--from-snapshot', file('wrong-snapshot.bin'), file('good.vexlog')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain(`DIVERGENCE at sequence ${log.snapshotSequence}: snapshot-state-hash`);
  });

  it("verifies an inclusion proof with --proof against the log's genesis or given keys", async () => {
    const withLog = await runCli(['--proof', file('proof.json'), '--log', file('good.vexlog')]);
    expect(withLog.code).toBe(0);
    expect(withLog.stdout).toContain(`proof verified: account ${log.traders[0]!.accountId}`);
    expect(withLog.stdout).toContain('checked against the log');
    // Against the operator's signature alone: valid, and said to be no more than that (exit 5).
    const withKey = await runCli(['--proof', file('proof.json'), '--operator-key', log.operator.accountId]);
    expect(withKey.code).toBe(5);
    expect(withKey.stdout).toContain("ONLY THE OPERATOR'S SIGNATURE WAS CHECKED");
    const withAttestations = await runCli([
      '--proof',
      file('proof.json'),
      '--attestations',
      file('attestations.jsonl'),
      '--operator-key',
      log.operator.accountId,
    ]);
    expect(withAttestations.code).toBe(0);
    expect(withAttestations.stdout).toContain('checked against the published attestations');
    const wrongKey = await runCli(['--proof', file('proof.json'), '--operator-key', signerFromByte(99).accountId]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toMatch(/proof INVALID: .*not a trusted operator key/);
    const wrongProof = await runCli(['--proof', file('wrong-proof.json'), '--log', file('good.vexlog')]);
    expect(wrongProof.code).toBe(1);
    const noKeys = await runCli(['--proof', file('proof.json')]);
    expect(noKeys.code).toBe(2);
  });
});
