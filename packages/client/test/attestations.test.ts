/**
 * The SDK's verification methods and the CLI's attestation, reserves, proof
 * and export commands against a real exchange: `pnpm start`'s main.ts as a
 * child process on a temporary DATA_DIR and a free loopback port, attesting
 * every two entries (ATTEST_EVERY_ENTRIES=2). The CLI runs as a child process
 * too; proofs are checked with the engine's verifier the SDK re-exports.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountCommitment,
  attestationDigestHex,
  decodeSnapshot,
  encodeAttestationJson,
  encodeSums,
  leafHash,
  nodeHash,
  signAttestation,
  verifySignature,
  type Attestation,
  type InclusionProof,
} from '@vex/engine';
import {
  ClientInputError,
  ExchangeClient,
  ExchangeError,
  generateKeyPair,
  parseAttestation,
  verifyAttestationSignature,
  verifyInclusionProof,
  type KeyPair,
} from '../src/index.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'exchange-attestations-'));
const dataDirectory = path.join(work, 'data');
const engineRule = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verifySignature(publicKey, message, signature) === 'valid';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/client/src/cli.ts', ...args],
      // PORT=9 (discard): a command that should not contact the exchange reaches nothing.
      { cwd: root, env: { ...process.env, PORT: '9', DATA_DIR: dataDirectory }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
  });
}

/**
 * The equivocation attack: the operator lowers one claim of a proof's leaf,
 * recomputes the path's sums and hashes up to a new root, and re-signs an
 * attestation of that fake tree for the same sequence. The result verifies
 * under the operator's signature.
 */
function forgeProof(proof: InclusionProof, operatorSeed: Uint8Array): InclusionProof {
  const lowered = proof.balances.findIndex((balance) => BigInt(balance.claim) > 0n);
  const balances = proof.balances.map((balance, index) =>
    index === lowered ? { ...balance, claim: String(BigInt(balance.claim) - 1n) } : balance,
  );
  const sums = (items: ReadonlyArray<{ claim: string; debt: string }>) =>
    encodeSums(items.map((item) => ({ claim: BigInt(item.claim), debt: BigInt(item.debt) })));
  let hash = leafHash(
    accountCommitment(Buffer.from(proof.account, 'base64'), Buffer.from(proof.salt, 'hex')),
    sums(balances),
  );
  let current = balances.map((balance) => ({ claim: balance.claim, debt: balance.debt }));
  let index = proof.leafIndex;
  for (const sibling of proof.path) {
    const siblingHash = Buffer.from(sibling.hash, 'hex');
    hash =
      index % 2 === 0
        ? nodeHash(hash, sums(current), siblingHash, sums(sibling.sums))
        : nodeHash(siblingHash, sums(sibling.sums), hash, sums(current));
    current = current.map((pair, position) => ({
      claim: String(BigInt(pair.claim) + BigInt(sibling.sums[position]!.claim)),
      debt: String(BigInt(pair.debt) + BigInt(sibling.sums[position]!.debt)),
    }));
    index = Math.floor(index / 2);
  }
  const {
    version: _version,
    operatorKey: _operatorKey,
    signature: _signature,
    ...fields
  } = proof.attestation as Attestation & { short?: unknown };
  delete (fields as { short?: unknown }).short;
  const attestation = signAttestation(
    {
      ...fields,
      liabilitiesRoot: Buffer.from(hash).toString('hex'),
      assets: fields.assets.map((asset, position) => ({ ...asset, claims: current[position]!.claim })),
    },
    operatorSeed,
  );
  return { ...proof, attestation, balances };
}

let server: ChildProcess | undefined;
let baseUrl = '';
let operator: KeyPair;
const alice = generateKeyPair();
const bob = generateKeyPair();
const aliceKeyFile = path.join(work, 'alice.json');

beforeAll(async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/api/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      DATA_DIR: dataDirectory,
      LOG_LEVEL: 'warn',
      CONFIG: '',
      ATTEST_EVERY_ENTRIES: '2',
      ATTEST_EVERY_MS: '3600000',
      SNAPSHOT_EVERY: '6',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server printed no URL:\n${output}`)), 60_000);
    child.stdout!.on('data', () => {
      const match = /exchange listening on (http:\/\/\S+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', () => reject(new Error(`the server exited:\n${output}`)));
  });
  operator = JSON.parse(readFileSync(path.join(dataDirectory, 'operator-key.json'), 'utf8')) as KeyPair;
  writeFileSync(aliceKeyFile, JSON.stringify(alice));
  const operatorClient = new ExchangeClient({ baseUrl, secret: operator.secret });
  let chainTransaction = 0;
  for (const [account, symbol, quantity] of [
    [alice, 'USDC', '1000'],
    [alice, 'SOL', '10'],
    [bob, 'USDC', '500'],
  ] as const) {
    chainTransaction += 1;
    await operatorClient.creditDeposit({
      account: account.publicKey,
      symbol,
      quantity,
      blockchain: 'Solana',
      chainTransactionId: `attestation-test-${chainTransaction}`,
    });
  }
}, 120_000);

afterAll(async () => {
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
});

describe('SDK', () => {
  it('fetchGenesis, fetchAttestation and fetchAttestations: signed by the genesis operator key', async () => {
    const client = new ExchangeClient({ baseUrl });
    const genesis = await client.fetchGenesis();
    expect(genesis.operatorKeys).toEqual([operator.publicKey]);
    const status = await client.status();
    const latest = (await client.fetchAttestation())!;
    // 5 listings and 3 deposits: attested at 1 (the first entry, an hour of log time past the genesis), 3, 5, 7, and 8 … every second entry after 1.
    expect(latest.sequence).toBe(status.sequence - ((status.sequence - 1) % 2));
    expect(latest.genesisHash).toBe(genesis.genesisHash);
    expect(verifyAttestationSignature(parseAttestation(latest), genesis.operatorKeys, engineRule)).toBe(true);
    expect(latest.short).toEqual(['SOL', 'USDC']);
    expect(await client.fetchAttestation(3)).toMatchObject({ sequence: 3 });
    expect(await client.fetchAttestation(2)).toBeUndefined();
    const all = await client.fetchAttestations(1);
    expect(all.map((attestation) => attestation.sequence)).toEqual(
      Array.from({ length: (latest.sequence + 1) / 2 }, (_, index) => 2 * index + 1),
    );
    expect(await client.fetchAttestations(2, 1)).toMatchObject([{ sequence: 3 }]);
    await expect(client.fetchAttestation(0)).rejects.toThrow(ClientInputError);
  });

  it('fetchProof: the signer’s proof verifies under the genesis operator key with the re-exported verifier', async () => {
    const client = new ExchangeClient({ baseUrl, secret: alice.secret });
    const proof = await client.fetchProof();
    const verdict = verifyInclusionProof(proof, [operator.publicKey]);
    expect(verdict).toMatchObject({ ok: true, account: alice.publicKey });
    if (!verdict.ok) return;
    expect(verdict.balances.map((balance) => [balance.symbol, balance.claim])).toEqual([
      ['SOL', 10_000_000_000n],
      ['BTC', 0n],
      ['USDC', 1_000_000_000n],
    ]);
    expect(verifyInclusionProof(proof, [bob.publicKey]).ok).toBe(false);
    const latest = await client.fetchProof(proof.attestation.sequence);
    expect(latest.leafIndex).toBe(proof.leafIndex);
    const older = await client.fetchProof(1).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(older).toBeInstanceOf(ExchangeError);
    expect(older).toMatchObject({ code: 'RESOURCE_NOT_FOUND', status: 404 });
    expect(() => new ExchangeClient({ baseUrl }).fetchProof()).toThrow(ClientInputError);
  });

  it('verifyProof: the proof must be the published attestation’s; a re-signed fake tree is operator equivocation', async () => {
    const client = new ExchangeClient({ baseUrl, secret: alice.secret });
    const proof = await client.fetchProof();
    expect(await new ExchangeClient({ baseUrl }).verifyProof(proof)).toMatchObject({
      ok: true,
      basis: 'published-attestation',
      account: alice.publicKey,
    });
    const forged = forgeProof(proof, Buffer.from(operator.secret, 'base64'));
    // The attack works against the signature alone…
    expect(verifyInclusionProof(forged, [operator.publicKey])).toMatchObject({ ok: true });
    // …and not against the published attestation.
    const refused = await new ExchangeClient({ baseUrl }).verifyProof(forged);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.reason).toMatch(/^Operator equivocation/);
    expect(refused.equivocation?.first.digest).toBe(attestationDigestHex(parseAttestation(proof.attestation)));
    expect(refused.equivocation?.second.digest).toBe(attestationDigestHex(forged.attestation));
  });
});

describe('CLI', () => {
  const run = (args: readonly string[]): Promise<Run> => cli([...args, '--url', baseUrl]);

  it('reserves: states them with the operator key, then shows them against the attested liabilities', async () => {
    const stated = await run(['reserves', '--symbol', 'usdc', '--quantity', '1200']);
    expect(stated.code, stated.stderr).toBe(0);
    expect(JSON.parse(stated.stdout)).toMatchObject({
      results: [{ ok: true, kind: 'reserves', symbol: 'USDC', quantity: '1200' }],
    });
    // The statement is entry 21, attested (two entries after the attestation at 19; each attestation's record follows it).
    // The demo's four listings (two spot, two perpetual) come before it.
    expect(JSON.parse(stated.stdout).sequence).toBe(21);
    const shown = await run(['reserves']);
    expect(shown.code, shown.stderr).toBe(0);
    const reserves = JSON.parse(shown.stdout) as { short: string[]; assets: Array<Record<string, unknown>> };
    expect(reserves.assets.find((asset) => asset.symbol === 'USDC')).toMatchObject({
      reserves: '1200',
      liabilities: '1500',
      difference: '-300',
      short: true,
    });
    expect(reserves.assets.find((asset) => asset.symbol === 'SOL')).toMatchObject({
      reserves: '0',
      liabilities: '10',
      difference: '-10',
      short: true,
    });
    expect(reserves.short).toEqual(['SOL', 'USDC']);
    const incomplete = await run(['reserves', '--symbol', 'USDC']);
    expect(incomplete.code).toBe(2);
    expect(incomplete.stderr).toMatch(/missing required option --quantity/);
  });

  it('proof --out, then verify-proof offline with --operator-key, or with the keys of --url', async () => {
    const file = path.join(work, 'alice-proof.json');
    const fetched = await run(['proof', '--key', aliceKeyFile, '--out', file]);
    expect(fetched.code, fetched.stderr).toBe(0);
    const proof = JSON.parse(readFileSync(file, 'utf8')) as {
      account: string;
      attestation: { sequence: number };
      balances: Array<{ claim: string }>;
    };
    expect(JSON.parse(fetched.stdout)).toMatchObject({
      file,
      account: alice.publicKey,
      sequence: proof.attestation.sequence,
    });

    // The operator key alone checks only the signature, and says so (exit 5).
    const offline = await cli(['verify-proof', '--proof', file, '--operator-key', operator.publicKey]);
    expect(offline.code, offline.stderr).toBe(5);
    expect(JSON.parse(offline.stdout)).toMatchObject({
      valid: true,
      basis: 'signature-only',
      account: alice.publicKey,
      sequence: proof.attestation.sequence,
      operatorKey: operator.publicKey,
    });
    expect(offline.stderr).toMatch(/only the operator's signature was checked/);
    const viaUrl = await run(['verify-proof', '--proof', file]);
    expect(viaUrl.code, viaUrl.stderr).toBe(0);
    expect(JSON.parse(viaUrl.stdout)).toMatchObject({ valid: true, basis: 'published-attestation' });

    // The equivocation attack, refused against the node's published attestation, an attestations export and the log.
    const forgedFile = path.join(work, 'forged-proof.json');
    writeFileSync(
      forgedFile,
      JSON.stringify(forgeProof(proof as unknown as InclusionProof, Buffer.from(operator.secret, 'base64'))),
    );
    expect((await cli(['verify-proof', '--proof', forgedFile, '--operator-key', operator.publicKey])).code).toBe(5);
    const forgedViaUrl = await run(['verify-proof', '--proof', forgedFile]);
    expect(forgedViaUrl.code).toBe(4);
    expect(forgedViaUrl.stderr).toMatch(/^OPERATOR_EQUIVOCATION: /);
    expect(JSON.parse(forgedViaUrl.stdout)).toMatchObject({
      valid: false,
      equivocation: { sequence: proof.attestation.sequence },
    });
    const attestationsFile = path.join(work, 'proof-attestations.jsonl');
    expect((await run(['export-attestations', '--out', attestationsFile])).code).toBe(0);
    expect(
      (
        await cli([
          'verify-proof',
          '--proof',
          forgedFile,
          '--attestations',
          attestationsFile,
          '--operator-key',
          operator.publicKey,
        ])
      ).code,
    ).toBe(4);
    expect(
      (
        await cli([
          'verify-proof',
          '--proof',
          file,
          '--attestations',
          attestationsFile,
          '--operator-key',
          operator.publicKey,
        ])
      ).code,
    ).toBe(0);
    const logFile = path.join(work, 'proof-log.vexlog');
    expect((await run(['export-log', '--out', logFile])).code).toBe(0);
    const forgedAgainstLog = await cli(['verify-proof', '--proof', forgedFile, '--log', logFile]);
    expect(forgedAgainstLog.code, forgedAgainstLog.stderr).toBe(4);
    expect(JSON.parse(forgedAgainstLog.stdout).equivocation.first).toMatchObject({ kind: 'attestation-record' });
    const honestAgainstLog = await cli(['verify-proof', '--proof', file, '--log', logFile]);
    expect(honestAgainstLog.code, honestAgainstLog.stderr).toBe(0);
    expect(JSON.parse(honestAgainstLog.stdout)).toMatchObject({ valid: true, basis: 'log' });

    const refused = await cli(['verify-proof', '--proof', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/verify-proof needs the operator key it is to trust: pass --operator-key <base64>/);
    const untrusted = await cli(['verify-proof', '--proof', file, '--operator-key', bob.publicKey]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      /^INVALID_PROOF: The attestation is signed by a key that is not a trusted operator key/,
    );
    const tamperedFile = path.join(work, 'tampered-proof.json');
    proof.balances[0]!.claim = String(BigInt(proof.balances[0]!.claim) + 1n);
    writeFileSync(tamperedFile, JSON.stringify(proof));
    const tampered = await cli(['verify-proof', '--proof', tamperedFile, '--operator-key', operator.publicKey]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/^INVALID_PROOF: /);
  });

  it('attestation, export-attestations and export-snapshot', async () => {
    const latest = await run(['attestation']);
    expect(latest.code, latest.stderr).toBe(0);
    const attestation = JSON.parse(latest.stdout) as { sequence: number };
    const missing = await run(['attestation', '--sequence', '2']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^RESOURCE_NOT_FOUND: There is no attestation at sequence 2/);

    const out = path.join(work, 'attestations.jsonl');
    const exported = await run(['export-attestations', '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(JSON.parse(exported.stdout)).toEqual({ file: out, bytes: Buffer.byteLength(text) });
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    const sequences = lines.map((line) => parseAttestation(JSON.parse(line)).sequence);
    expect(sequences.at(-1)).toBeGreaterThanOrEqual(attestation.sequence);
    expect(sequences).toEqual([...sequences].sort((left, right) => left - right));
    for (const line of lines) expect(encodeAttestationJson(parseAttestation(JSON.parse(line)))).toBe(line);
    const again = await run(['export-attestations', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; pass --force/);

    const snapshotFile = path.join(work, 'snapshot.bin');
    const snapshot = await run(['export-snapshot', '--out', snapshotFile]);
    expect(snapshot.code, snapshot.stderr).toBe(0);
    const record = decodeSnapshot(new Uint8Array(readFileSync(snapshotFile)));
    expect(record.sequence % 6).toBe(0);
    expect(JSON.parse(snapshot.stdout)).toEqual({
      file: snapshotFile,
      bytes: readFileSync(snapshotFile).length,
      sequence: record.sequence,
    });
  });
});
