/**
 * End to end: a real node (LevelDB in a temporary directory, the real server
 * on loopback) takes a random order flow from several traders over
 * concurrent keep-alive connections, attesting every few entries, with
 * reserve statements before and after. Then, trusting only the genesis
 * operator key:
 *
 *   - the exported attestations (GET /api/v1/attestations/export) and log
 *     (GET /api/v1/log?from=1), with the latest snapshot
 *     (GET /api/v1/snapshot), are replayed by the replayer library: every
 *     entry is accepted, every attestation's root, totals and state hash
 *     match the replayed state, the snapshot matches, and the attestations it
 *     flags as short are exactly those the API serves with a `short` list;
 *   - every trader's proof (GET /wapi/v1/proof, fetched with the real client)
 *     verifies with verifyInclusionProof against the genesis operator key,
 *     and the proofs of all accounts add up to the attested totals.
 *
 * VERIFIABILITY_SEED=<n> repeats a run's workload (the seed is printed).
 */
import { decodeSnapshot, stateHashHex, type Attestation } from '@vex/engine';
import { ExchangeClient, verifyInclusionProof } from '@vex/client';
import { replayLog } from '@vex/replayer';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestExchange, type TestExchange } from '../src/test-support.js';
import {
  Ed25519Key,
  OrderFlow,
  Prng,
  fundingRequests,
  runLoad,
  sendSequentially,
  signedTransactionRequest,
} from './load-generator.js';

const seed =
  process.env.VERIFIABILITY_SEED !== undefined && process.env.VERIFIABILITY_SEED !== ''
    ? Number(process.env.VERIFIABILITY_SEED) >>> 0
    : (Date.now() ^ (process.pid << 16)) >>> 0;
const traderCount = 5;
const orderCount = 600;
const attestEveryEntries = 7;

describe('verifiability', { timeout: 300_000 }, () => {
  let exchange: TestExchange | undefined;
  afterAll(async () => {
    await exchange?.close();
  });

  it(`a replay of the exported log and attestations matches every root, and every trader's proof verifies (seed ${seed})`, async () => {
    process.stdout.write(`verifiability: seed ${seed} (VERIFIABILITY_SEED=${seed} repeats the workload)\n`);
    exchange = await startTestExchange({ attestEveryEntries, attestEveryMs: 3_600_000, snapshotEveryEntries: 250 });
    const { baseUrl } = exchange;
    const operatorPublicKey = exchange.operator.publicKey;
    const operator = Ed25519Key.fromSecret(exchange.operator.secret);
    const random = new Prng(seed);
    const traders = Array.from({ length: traderCount }, () => new Ed25519Key(random.bytes(32)));

    await sendSequentially(baseUrl, fundingRequests(operator, traders, Date.now(), { SOL: '5000', USDC: '600000' }));
    // USDC reserves cover the deposits (5 × 600,000); SOL is short until its statement after the order flow.
    await sendSequentially(baseUrl, [
      signedTransactionRequest(operator, 'reservesStatement', { symbol: 'USDC', quantity: '3000000.25' }, Date.now()),
    ]);
    const flow = new OrderFlow({ seed, traders, cancelLag: 30 });
    const requests = flow.batch(orderCount, Date.now());
    const results = await runLoad(requests, {
      url: baseUrl,
      connections: 8,
      mode: { kind: 'closed' },
      deadlineMs: 120_000,
    }).done;
    expect(results).toHaveLength(orderCount);
    expect(results.filter((result) => result.status === 200).length).toBeGreaterThan(orderCount / 2);
    // Only refusals the flow can cause (a cancel of an order that has filled meanwhile); never a server error.
    expect(results.filter((result) => result.status === 0 || result.status >= 500)).toEqual([]);
    // As many statements as entries between attestations, so the last attestation follows the first of them.
    const statedAtMs = Date.now();
    await sendSequentially(
      baseUrl,
      Array.from({ length: attestEveryEntries }, (_, index) =>
        signedTransactionRequest(
          operator,
          'reservesStatement',
          { symbol: 'SOL', quantity: '100000' },
          statedAtMs + index,
        ),
      ),
    );

    // Attestations first: the log exported after them covers every entry they attest.
    const attestationLines = (
      await fetch(`${baseUrl}/api/v1/attestations/export`).then((response) => response.text())
    ).split('\n');
    expect(attestationLines.pop()).toBe('');
    const attestations = attestationLines.map((line) => JSON.parse(line) as Attestation);
    const head = exchange.node.head();
    expect(attestations.length).toBeGreaterThanOrEqual(Math.floor(head.sequence / attestEveryEntries));
    const logResponse = await fetch(`${baseUrl}/api/v1/log?from=1`);
    const log = new Uint8Array(await logResponse.arrayBuffer());
    const snapshotResponse = await fetch(`${baseUrl}/api/v1/snapshot`);
    expect(snapshotResponse.status).toBe(200);
    const snapshot = decodeSnapshot(new Uint8Array(await snapshotResponse.arrayBuffer()));

    const report = await replayLog({
      log,
      logDescription: 'GET /api/v1/log?from=1',
      attestations,
      snapshot,
      workers: 2,
    });
    if (!report.verified) throw new Error(`the replay diverged: ${JSON.stringify(report.divergence)}`);
    expect(report.entriesApplied).toBe(head.sequence);
    expect(report.headHash).toBe(head.entryHash);
    expect(report.stateHash).toBe(stateHashHex(exchange.node.state));
    expect(report.attestationsChecked).toBe(attestations.length);
    expect(report.snapshotChecked).toBe(true);
    // The replayer flags exactly the attestations the API serves as short, with the same assets.
    const served = (await fetch(`${baseUrl}/api/v1/attestations?from=1&limit=1000`).then((response) =>
      response.json(),
    )) as Array<Attestation & { short: string[] }>;
    expect(served.map((attestation) => attestation.sequence)).toEqual(
      attestations.map((attestation) => attestation.sequence).slice(0, 1000),
    );
    expect(
      report.flaggedAttestations.map((flagged) => ({ sequence: flagged.sequence, short: [...flagged.shortAssets] })),
    ).toEqual(
      served
        .filter((attestation) => attestation.short.length > 0)
        .map((attestation) => ({ sequence: attestation.sequence, short: attestation.short })),
    );
    const shortLists = served.map((attestation) => attestation.short.join(','));
    expect(shortLists).toContain('SOL,USDC'); // funded, before any statement
    expect(shortLists).toContain('SOL'); // after the USDC statement, before SOL's
    expect(served.at(-1)!.short).toEqual([]); // by the end, both statements cover the liabilities

    // Every trader's proof, and the fee account's, under the latest attestation, against the genesis operator key only.
    const latest = attestations.at(-1)!;
    const totals = latest.assets.map(() => 0n);
    for (const key of [operator, ...traders]) {
      const client = new ExchangeClient({ baseUrl, secret: key.secret });
      const proof = await client.fetchProof();
      expect(proof.attestation.sequence).toBe(latest.sequence);
      const verdict = verifyInclusionProof(proof, [operatorPublicKey]);
      if (!verdict.ok) throw new Error(`the proof of ${key.apiKey} does not verify: ${verdict.reason}`);
      expect(verdict.account).toBe(key.apiKey);
      expect(verdict.attestation.liabilitiesRoot).toBe(latest.liabilitiesRoot);
      verdict.balances.forEach((balance, index) => (totals[index] = totals[index]! + balance.claim));
    }
    // Every account is a trader or the fee account, so their claims are the attested liabilities.
    expect(exchange.node.state.accountList.length).toBe(traderCount + 1);
    expect(totals.map(String)).toEqual(latest.assets.map((asset) => asset.claims));
  });
});
