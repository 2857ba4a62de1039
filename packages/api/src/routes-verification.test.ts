/**
 * The verification endpoints over real HTTP against a real node (LevelDB in
 * a temporary directory), attesting after every entry: the genesis,
 * attestations (latest, by sequence, paged, exported as JSON Lines),
 * reserves against the attested liabilities, signed inclusion proofs, and
 * the latest snapshot record.
 */
import {
  bytesToLowerHex,
  decodeSnapshot,
  encodeAttestationJson,
  encodeSigningString,
  genesisHash,
  parseAttestation,
  verifyAttestationSignature,
  verifyInclusionProof,
  verifySignature,
  type Attestation,
} from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deposit,
  freshTimestamp,
  operatorTransaction,
  signedRequest,
  startTestExchange,
  TestKey,
  units,
  type TestExchange,
} from './test-support.js';

const engineRule = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verifySignature(publicKey, message, signature) === 'valid';

async function getJson(exchange: TestExchange, path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${exchange.baseUrl}${path}`);
  return { status: response.status, body: await response.json() };
}

describe('verification endpoints', { timeout: 120_000 }, () => {
  let exchange: TestExchange;
  const alice = TestKey.random();
  const bob = TestKey.random();

  beforeAll(async () => {
    exchange = await startTestExchange({ attestEveryEntries: 1, attestEveryMs: 3_600_000, snapshotEveryEntries: 8 });
    await deposit(exchange, alice.apiKey, 'SOL', '20');
    await deposit(exchange, alice.apiKey, 'USDC', '5000');
    await deposit(exchange, bob.apiKey, 'USDC', '5000');
    const order = await signedRequest(exchange, alice, 'POST', '/api/v1/order', 'orderExecute', {
      body: { symbol: 'SOL_USDC', side: 'Ask', orderType: 'Limit', price: '100', quantity: '2' },
    });
    expect(order.status).toBe(200);
    const taker = await signedRequest(exchange, bob, 'POST', '/api/v1/order', 'orderExecute', {
      body: { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '100', quantity: '0.5' },
    });
    expect(taker.status).toBe(200);
  });

  afterAll(async () => {
    await exchange?.close();
  });

  it('GET /api/v1/genesis gives the operator keys and the genesis hash', async () => {
    const { status, body } = await getJson(exchange, '/api/v1/genesis');
    expect(status).toBe(200);
    const genesis = exchange.node.state.genesis;
    expect(body).toEqual({
      ...genesis,
      operatorKeys: [exchange.operator.publicKey],
      genesisHash: bytesToLowerHex(genesisHash(genesis)),
    });
  });

  it('GET /api/v1/attestations: the latest, one by sequence, pages; each signed and with its short list', async () => {
    const head = exchange.node.head().sequence;
    const latest = await getJson(exchange, '/api/v1/attestations');
    expect(latest.status).toBe(200);
    expect(latest.body).toHaveLength(1);
    const served = latest.body[0] as Attestation & { short: string[] };
    // Every entry is attested in its own batch, followed by its attestation record (the head), so the latest is at the entry before the head.
    expect(served.sequence).toBe(head - 1);
    expect(parseAttestation(served)).toEqual(exchange.node.latestAttestation());
    expect(verifyAttestationSignature(parseAttestation(served), [exchange.operator.publicKey], engineRule)).toBe(true);
    // No reserves stated yet: every asset with liabilities is short.
    expect(served.short).toEqual(['SOL', 'USDC']);

    const one = await getJson(exchange, '/api/v1/attestations?sequence=3');
    expect(one.body.map((attestation: Attestation) => attestation.sequence)).toEqual([3]);
    expect(await getJson(exchange, `/api/v1/attestations?sequence=${head + 10}`)).toEqual({ status: 200, body: [] });

    const page = await getJson(exchange, '/api/v1/attestations?from=2&limit=3');
    expect(page.body.map((attestation: Attestation) => attestation.sequence)).toEqual([3, 5, 7]);
    const all = await getJson(exchange, '/api/v1/attestations?from=1');
    // Records are never attested: every other entry.
    expect(all.body.map((attestation: Attestation) => attestation.sequence)).toEqual(
      Array.from({ length: head / 2 }, (_, index) => 2 * index + 1),
    );
    for (const attestation of all.body as Attestation[]) {
      expect(verifyAttestationSignature(parseAttestation(attestation), [exchange.operator.publicKey], engineRule)).toBe(
        true,
      );
    }

    for (const query of [
      'sequence=1&from=1',
      'limit=3',
      'from=1&limit=0',
      'from=1&limit=1001',
      'sequence=0',
      'from=0',
      'sequence=x',
      'other=1',
    ]) {
      const refused = await getJson(exchange, `/api/v1/attestations?${query}`);
      expect(refused.status, query).toBe(400);
      expect(refused.body.code, query).toBe('INVALID_CLIENT_REQUEST');
    }
  });

  it('GET /api/v1/attestations/export streams JSON Lines of the stored canonical JSON', async () => {
    const response = await fetch(`${exchange.baseUrl}/api/v1/attestations/export`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const text = await response.text();
    const attestations = await exchange.node.readAttestations(1, 1000);
    expect(text).toBe(attestations.map((attestation) => `${encodeAttestationJson(attestation)}\n`).join(''));
    const tail = await fetch(`${exchange.baseUrl}/api/v1/attestations/export?from=4`).then((answer) => answer.text());
    expect(
      tail
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line).sequence)[0],
    ).toBe(5);
    expect((await fetch(`${exchange.baseUrl}/api/v1/attestations/export?from=0`)).status).toBe(400);
  });

  it('GET /api/v1/reserves sets the stated reserves against the attested liabilities, and flags a short asset', async () => {
    const statement = await operatorTransaction(exchange, 'reservesStatement', { symbol: 'USDC', quantity: '4000' });
    expect(statement.status).toBe(200);
    expect(statement.body).toMatchObject({
      results: [{ ok: true, kind: 'reserves', symbol: 'USDC', quantity: '4000' }],
    });
    const short = await getJson(exchange, '/api/v1/reserves');
    expect(short.status).toBe(200);
    expect(short.body.sequence).toBe(statement.body.sequence);
    const usdc = short.body.assets.find((asset: { symbol: string }) => asset.symbol === 'USDC');
    // 10,000 USDC deposited; trading and fees move it between accounts, never out.
    expect(usdc).toEqual({
      symbol: 'USDC',
      reserves: '4000',
      reservesAttestedBy: 'operator',
      liabilities: '10000',
      claims: '10000',
      debts: '0',
      difference: '-6000',
      short: true,
    });
    expect(short.body.short).toEqual(['SOL', 'USDC']);
    const latest = await getJson(exchange, '/api/v1/attestations');
    expect(latest.body[0].short).toEqual(['SOL', 'USDC']);

    await operatorTransaction(exchange, 'reservesStatement', { symbol: 'USDC', quantity: '10000.5' });
    await operatorTransaction(exchange, 'reservesStatement', { symbol: 'SOL', quantity: '20' });
    const covered = await getJson(exchange, '/api/v1/reserves');
    expect(covered.body.short).toEqual([]);
    expect(covered.body.assets.find((asset: { symbol: string }) => asset.symbol === 'USDC')).toMatchObject({
      reserves: '10000.5',
      difference: '0.5',
      short: false,
    });
    expect(covered.body.assets.find((asset: { symbol: string }) => asset.symbol === 'SOL')).toMatchObject({
      reserves: '20',
      liabilities: '20',
      difference: '0',
    });
  });

  it('GET /wapi/v1/proof answers the signer’s proof, which verifies and holds its balances', async () => {
    const answer = await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'proofQuery');
    expect(answer.status).toBe(200);
    const proof = answer.body;
    expect(proof.account).toBe(alice.apiKey);
    expect(proof.attestation.sequence).toBe(exchange.node.latestAttestation()!.sequence);
    expect(Array.isArray(proof.attestation.short)).toBe(true);
    const verdict = verifyInclusionProof(proof, [exchange.operator.publicKey], { verifySignature: engineRule });
    expect(verdict.ok).toBe(true);
    // Claims are all of the account's funds: available + locked (+ pending withdrawals).
    const balances = await signedRequest(exchange, alice, 'GET', '/api/v1/capital', 'balanceQuery');
    for (const [symbol, decimals] of [
      ['SOL', 9],
      ['USDC', 6],
    ] as const) {
      const balance = balances.body[symbol] as { available: string; locked: string; pendingWithdrawal: string };
      const expected =
        units(balance.available, decimals) +
        units(balance.locked, decimals) +
        units(balance.pendingWithdrawal, decimals);
      expect(proof.balances.find((item: { symbol: string }) => item.symbol === symbol).claim).toBe(String(expected));
    }
    // Not under another operator key.
    expect(verifyInclusionProof(proof, [bob.apiKey]).ok).toBe(false);

    const atLatest = await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'proofQuery', {
      query: { sequence: String(proof.attestation.sequence) },
    });
    expect(atLatest.status).toBe(200);
  });

  it('GET /wapi/v1/proof?sequence= answers under recent older attestations too, and refuses those too old', async () => {
    const head = exchange.node.latestAttestation()!.sequence;
    // Every entry but the records is attested; the last few (orders, reserves statements) follow the deposits, after the last asset listing.
    for (const sequence of [head - 2, head - 4, head - 6]) {
      const answer = await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'proofQuery', {
        query: { sequence: String(sequence) },
      });
      expect(answer.status, String(sequence)).toBe(200);
      expect(answer.body.attestation.sequence).toBe(sequence);
      const stored = await getJson(exchange, `/api/v1/attestations?sequence=${sequence}`);
      expect(answer.body.attestation).toEqual(stored.body[0]);
      const verdict = verifyInclusionProof(answer.body, [exchange.operator.publicKey], { verifySignature: engineRule });
      expect(verdict).toMatchObject({ ok: true, account: alice.apiKey });
    }
    // The asset listings rebuilt the tree: the attestations before the last one are no longer held.
    const tooOld = await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'proofQuery', {
      query: { sequence: '1' },
    });
    expect(tooOld.status).toBe(404);
    expect(tooOld.body.code).toBe('RESOURCE_NOT_FOUND');
    expect(tooOld.body.message).toMatch(
      new RegExp(
        `sequence 1 is too old for a proof: proofs are served under the attestations from sequence \\d+ to ${head}`,
      ),
    );
    const future = await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'proofQuery', {
      query: { sequence: String(head + 5) },
    });
    expect(future.status).toBe(404);
    expect(future.body.message).toMatch(new RegExp(`There is no attestation at sequence ${head + 5}`));
  });

  it('GET /wapi/v1/proof refuses unknown accounts, other instructions and bad signatures', async () => {
    const stranger = TestKey.random();
    const unknown = await signedRequest(exchange, stranger, 'GET', '/wapi/v1/proof', 'proofQuery');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/has no leaf/);
    const otherInstruction = await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'balanceQuery');
    expect(otherInstruction).toMatchObject({ status: 401, body: { code: 'INVALID_SIGNATURE' } });
    const timestampMs = freshTimestamp();
    const forged = await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'proofQuery', {
      timestampMs,
      signingString: encodeSigningString(
        [{ instruction: 'proofQuery', params: [['sequence', '1']] }],
        timestampMs,
        5000,
      ),
    });
    expect(forged).toMatchObject({ status: 401, body: { code: 'INVALID_SIGNATURE' } });
    const unsigned = await fetch(`${exchange.baseUrl}/wapi/v1/proof`);
    expect(unsigned.status).toBe(401);
    const stale = await signedRequest(exchange, alice, 'GET', '/wapi/v1/proof', 'proofQuery', {
      timestampMs: Date.now() - 60_000,
    });
    expect(stale).toMatchObject({ status: 400, body: { code: 'INVALID_TIMESTAMP' } });
  });

  it('GET /api/v1/snapshot answers the latest snapshot record byte for byte', async () => {
    const response = await fetch(`${exchange.baseUrl}/api/v1/snapshot`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = new Uint8Array(await response.arrayBuffer());
    const stored = (await exchange.node.readLatestSnapshot())!;
    expect(Buffer.from(bytes).equals(Buffer.from(stored.record))).toBe(true);
    expect(decodeSnapshot(bytes).sequence).toBe(stored.sequence);
    expect(Number(response.headers.get('x-snapshot-sequence'))).toBe(stored.sequence);
    expect(stored.sequence % 8).toBe(0);
  });

  it('the OpenAPI document lists the new routes', async () => {
    const { body } = await getJson(exchange, '/api/v1/openapi.json');
    for (const path of [
      '/api/v1/genesis',
      '/api/v1/attestations',
      '/api/v1/attestations/export',
      '/api/v1/reserves',
      '/wapi/v1/proof',
      '/api/v1/snapshot',
    ]) {
      expect(body.paths[path], path).toBeDefined();
    }
  });
});

describe('a young node', () => {
  it('has attested its first entry, and has no snapshot yet', async () => {
    const exchange = await startTestExchange({ attestEveryEntries: 1_000_000, attestEveryMs: 3_600_000 });
    try {
      // The listings on start: the first entry is attested (its log time is an hour past the genesis time 0).
      expect(
        (await getJson(exchange, '/api/v1/attestations')).body.map((attestation: Attestation) => attestation.sequence),
      ).toEqual([1]);
      const snapshot = await fetch(`${exchange.baseUrl}/api/v1/snapshot`);
      expect(snapshot.status).toBe(404);
      expect(await snapshot.json()).toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
    } finally {
      await exchange.close();
    }
  });
});
