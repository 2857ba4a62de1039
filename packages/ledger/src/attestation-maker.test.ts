/**
 * The node's attestations with a real LevelDB in a temporary directory: when
 * they are made (every N entries, by log time, by the idle timer, at a clean
 * stop, at the recovered head), that each is in the batch of the entry it
 * follows, that they are signed by the operator key and equal what a fresh
 * engine replay computes, that proofs verify, and that recovery keeps them
 * consistent with the log (torn tail, stray or wrong attestations).
 */
import { PassThrough } from 'node:stream';
import {
  LiabilitiesTree,
  apply,
  attestationDigestHex,
  attestationFieldsOf,
  createState,
  decodeSnapshot,
  encodeAttestationJson,
  genesisHash,
  signAttestationRecord,
  verifyAttestationSignature,
  verifyInclusionProof,
  verifySignature,
  type Attestation,
  type AttestationFields,
  type ExchangeState,
  type StoredEntry,
} from '@vex/engine';
import { describe, expect, test } from 'vitest';
import { collect, fixture, signerFromByte, submitInWaves } from '../test/helpers.js';
import { createDatabase } from './database.js';
import { RecoveryError } from './errors.js';
import type { ExchangeNode, ProofAnswer } from './exchange-node.js';
import { attestationKey, entryKey, keyspaces, sequenceOfKey } from './storage-format.js';
import { nodeTestSetup } from './test-support.js';

const { entries, operator, traders, genesis } = fixture(31, 400);
const engineRule = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verifySignature(publicKey, message, signature) === 'valid';
/** Never due by time: only the entry count decides. */
const neverByTime = Number.MAX_SAFE_INTEGER;
const { newDirectory, openNode } = nodeTestSetup(genesis, entries[0]!.logTimeMs, {
  attestationSigningSeed: operator.seed,
});

/** Records the keys each synced batch write carries (the node writes through the chained batch). */
function recordBatches(node: ExchangeNode): Array<{ entries: number[]; attestations: number[] }> {
  const db = node.database;
  const batches: Array<{ entries: number[]; attestations: number[] }> = [];
  const realBatch = db.batch.bind(db) as () => ReturnType<typeof db.batch>;
  (db as unknown as { batch: unknown }).batch = () => {
    const chained = realBatch();
    const carried = { entries: [] as number[], attestations: [] as number[] };
    const put = chained.put.bind(chained);
    chained.put = (key: Uint8Array, value: Uint8Array) => {
      if (key[0] === keyspaces.entry) carried.entries.push(sequenceOfKey(key)!);
      if (key[0] === keyspaces.attestation) carried.attestations.push(sequenceOfKey(key)!);
      return put(key, value);
    };
    const write = chained.write.bind(chained);
    (chained as unknown as { write: (options?: { sync?: boolean }) => Promise<void> }).write = async (options) => {
      await write(options ?? {});
      batches.push(carried);
    };
    return chained;
  };
  return batches;
}

/** The node's stored attestations, each checked to be version 2 (these ledgers were never upgraded from format 1). */
async function readVersion2(node: ExchangeNode): Promise<Attestation[]> {
  return (await node.readAttestations(1, 1000)).map((attestation) => {
    if (attestation.version !== 2) throw new Error(`attestation ${attestation.sequence} is version 1`);
    return attestation;
  });
}

function fieldsOf(attestation: Attestation): AttestationFields {
  const { version: _version, operatorKey: _operatorKey, signature: _signature, ...fields } = attestation;
  return fields;
}

/**
 * Replays the stored entries with the engine from the genesis and, at each
 * attested sequence, computes the attestation fields from scratch (a new tree
 * over the replayed state): they must equal the stored attestation's.
 */
function expectRecomputedByReplay(stored: readonly StoredEntry[], attestations: readonly Attestation[]): void {
  const bySequence = new Map(attestations.map((attestation) => [attestation.sequence, attestation]));
  const state = createState(genesis);
  let checked = 0;
  for (const entry of stored) {
    const outcome = apply(state, { logTimeMs: entry.logTimeMs, transaction: entry.transaction });
    expect(outcome.accepted).toBe(true);
    const attestation = bySequence.get(entry.sequence);
    if (attestation === undefined) continue;
    const root = LiabilitiesTree.build(state).root();
    expect(fieldsOf(attestation)).toEqual(
      attestationFieldsOf(state, root, entry.sequence, entry.entryHash, genesisHash(genesis)),
    );
    checked += 1;
  }
  expect(checked).toBe(attestations.length);
}

function expectSignedByOperator(attestations: readonly Attestation[]): void {
  for (const attestation of attestations) {
    expect(attestation.operatorKey).toBe(operator.accountId);
    expect(verifyAttestationSignature(attestation, genesis.operatorKeys, engineRule)).toBe(true);
    // And not under keys the verifier does not trust.
    expect(verifyAttestationSignature(attestation, [traders[0]!.accountId], engineRule)).toBe(false);
  }
}

/** Whether the node logged exactly this message. */
function logged(lines: readonly { msg: string }[], message: string): boolean {
  return lines.some((line) => line.msg === message);
}

/** The state the stored entries lead to, replayed with the engine directly. */
function replayed(stored: readonly StoredEntry[]): ExchangeState {
  const state = createState(genesis);
  for (const entry of stored) apply(state, { logTimeMs: entry.logTimeMs, transaction: entry.transaction });
  return state;
}

/**
 * A served proof: found, of `attestation`, verified (after a JSON round trip)
 * for `accountId`, claiming what the account holds in `attestedState` (each
 * asset's available + locked + pending). Returns the proof, or undefined when
 * an expectation failed.
 */
function expectVerifiedProof(
  answer: ProofAnswer,
  attestation: Attestation,
  accountId: string,
  attestedState: ExchangeState,
): (ProofAnswer & { found: true })['proof'] | undefined {
  expect(answer.found).toBe(true);
  if (!answer.found) return undefined;
  expect(answer.proof.attestation).toEqual(attestation);
  const verdict = verifyInclusionProof(JSON.parse(JSON.stringify(answer.proof)), genesis.operatorKeys, {
    verifySignature: engineRule,
  });
  expect(verdict).toMatchObject({ ok: true, account: accountId });
  if (!verdict.ok) return undefined;
  const held = attestedState.accounts.get(accountId)!;
  expect(verdict.balances.map((balance) => balance.claim)).toEqual(
    attestedState.assets.map((asset) => {
      const balance = held.balances[asset.index];
      return balance === undefined ? 0n : balance.available + balance.locked + balance.pendingWithdrawal;
    }),
  );
  return answer.proof;
}

describe('attestations', () => {
  test('every N entries, each in the batch of the entry it follows, signed, and equal to a fresh replay', async () => {
    const directory = await newDirectory();
    const { node, clock, close } = await openNode(directory, { attestEveryEntries: 25, attestEveryMs: neverByTime });
    const batches = recordBatches(node);
    await submitInWaves(node, clock.set, entries, 16);
    const head = node.head().sequence;
    expect(head).toBeGreaterThan(200);
    const attestations = await readVersion2(node);
    expect(attestations.map((attestation) => attestation.sequence)).toEqual(
      Array.from({ length: Math.floor(head / 25) }, (_, index) => 25 * (index + 1)),
    );
    expect(node.latestAttestation()).toEqual(attestations.at(-1));
    for (const batch of batches) {
      for (const sequence of batch.attestations) {
        expect(batch.entries).toContain(sequence);
        // The attestation record follows its attestation at once, in the same batch.
        expect(batch.entries).toContain(sequence + 1);
      }
    }
    const stored = await collect(node.readEntries(1));
    for (const attestation of attestations)
      expect(new TextDecoder().decode(stored[attestation.sequence]!.transaction.message)).toMatch(
        new RegExp(
          `^instruction=attestationRecord&digest=${attestationDigestHex(attestation)}&sequence=${attestation.sequence}&`,
        ),
      );
    expectSignedByOperator(attestations);
    expectRecomputedByReplay(await collect(node.readEntries(1)), attestations);

    // A clean stop attests the head, in a batch of its own with its record, unless it was just attested (or is a record).
    const unattested = head % 25 !== 0 && head % 25 !== 1;
    await close();
    const reopened = await openNode(directory, { attestEveryEntries: 25, attestEveryMs: neverByTime });
    const latest = reopened.node.latestAttestation()!;
    expect(latest.sequence).toBe(head % 25 === 1 ? head - 1 : head);
    if (unattested) {
      expect(batches.at(-1)).toEqual({ entries: [head + 1], attestations: [head] });
      expect(reopened.node.head().sequence).toBe(head + 1);
    }
    const afterRestart = await readVersion2(reopened.node);
    expect(afterRestart.slice(0, attestations.length)).toEqual(attestations);
    expectSignedByOperator(afterRestart);
    expectRecomputedByReplay(await collect(reopened.node.readEntries(1)), afterRestart);
    expect(await reopened.node.attestationAt(25)).toEqual(attestations[0]);
    expect(await reopened.node.attestationAt(26)).toBeUndefined();
  });

  test('by log time: due once the log time is attestEveryMs past the last attestation', async () => {
    const directory = await newDirectory();
    // No idle timer here (its own test is below): on a loaded machine it could fire while the next
    // submission is still being verified, after the clock was set forward, and attest the head early.
    const noTimer = { runSoon: (callback: () => void) => void setImmediate(callback), runAfter: () => () => undefined };
    const { node, clock } = await openNode(directory, {
      attestEveryEntries: 1_000_000,
      attestEveryMs: 350,
      scheduler: noTimer,
    });
    const expected: number[] = [];
    let lastAttestedMs = 0;
    for (const [index, entry] of entries.slice(0, 40).entries()) {
      // About 100 ms of log time between entries (within every signed 5 s window): attested at every fourth or so,
      // and at the first, against the genesis time 0.
      clock.set(entry.logTimeMs + 100 * index);
      const result = await node.submit(entry.transaction);
      if (!result.outcome.accepted) continue;
      if (result.logTimeMs - lastAttestedMs >= 350) {
        expected.push(result.sequence!);
        lastAttestedMs = result.logTimeMs;
      }
    }
    const attestations = await readVersion2(node);
    expect(attestations.map((attestation) => attestation.sequence).slice(0, expected.length)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(5);
    expectSignedByOperator(attestations);
  });

  test('an idle node attests its head by the timer, in a batch of its own', async () => {
    const directory = await newDirectory();
    const { node, clock } = await openNode(directory, { attestEveryEntries: 1_000_000, attestEveryMs: 150 });
    const batches = recordBatches(node);
    const start = entries[0]!.logTimeMs;
    await submitInWaves(node, clock.set, entries.slice(0, 3), 1); // the first is attested (against the genesis time)
    const first = node.latestAttestation()!;
    expect(first.sequence).toBe(1);
    // Entry 2 is the first attestation's record.
    const before = node.head();
    expect(before.sequence).toBe(4);
    const attested = new Promise<Attestation>((resolve) => node.subscribeAttestations(resolve));
    clock.set(start + 150);
    const idle = await attested;
    expect(idle.sequence).toBe(4);
    expect(idle.logTimeMs).toBe(before.logTimeMs);
    expect(node.latestAttestation()).toEqual(idle);
    // The idle attestation and its record (entry 5), in a batch of their own; the record is never attested itself.
    expect(batches.at(-1)).toEqual({ entries: [5], attestations: [4] });
    expect(node.head().sequence).toBe(5);
    expectSignedByOperator([first, idle]);
    expectRecomputedByReplay(await collect(node.readEntries(1)), [first, idle]);
  });

  test('proofs of the latest attestation verify, for every account; sequences without an attestation and unknown accounts are refused', async () => {
    const directory = await newDirectory();
    const { node, clock } = await openNode(directory, { attestEveryEntries: 40, attestEveryMs: neverByTime });
    await submitInWaves(node, clock.set, entries, 16);
    const latest = node.latestAttestation()!;
    expect(latest.sequence % 40).toBe(0);
    // The balances of the attested state, from a replay up to the attestation.
    const attestedState = replayed(await collect(node.readEntries(1, latest.sequence)));
    for (const account of [operator, ...traders]) {
      const proof = expectVerifiedProof(await node.proof(account.accountId), latest, account.accountId, attestedState);
      if (proof === undefined) continue;
      // Tampering with a balance breaks the proof.
      const tampered = JSON.parse(JSON.stringify(proof)) as { balances: Array<{ claim: string }> };
      tampered.balances[0]!.claim = String(BigInt(tampered.balances[0]!.claim) + 1n);
      expect(verifyInclusionProof(tampered, genesis.operatorKeys, { verifySignature: engineRule }).ok).toBe(false);
    }
    expect(await node.proof(traders[0]!.accountId, latest.sequence)).toMatchObject({ found: true });
    const between = await node.proof(traders[0]!.accountId, latest.sequence - 39);
    expect(between).toMatchObject({ found: false, reason: 'not-attested' });
    expect(between.found ? '' : between.message).toMatch(
      new RegExp(
        `no attestation at sequence ${latest.sequence - 39}; proofs are served under the attestations from sequence 40 to ${latest.sequence}`,
      ),
    );
    expect(await node.proof(traders[0]!.accountId, latest.sequence + 1)).toMatchObject({
      found: false,
      reason: 'not-attested',
    });
    expect(await node.proof(traders[0]!.accountId, 0)).toMatchObject({ found: false, reason: 'not-attested' });
    expect(await node.proof(signerFromByte(0xee).accountId)).toMatchObject({ found: false, reason: 'unknown-account' });
  });

  test('proofs under older attestations verify against a replay up to them; beyond the history budget they are too old', async () => {
    const directory = await newDirectory();
    const { node, clock, close } = await openNode(directory, { attestEveryEntries: 40, attestEveryMs: neverByTime });
    await submitInWaves(node, clock.set, entries, 16);
    const latest = node.latestAttestation()!;
    const stored = await collect(node.readEntries(1, latest.sequence));
    const older = (await readVersion2(node)).filter((attestation) => attestation.sequence < latest.sequence);
    expect(older.length).toBeGreaterThanOrEqual(5);
    let checked = 0;
    for (const attestation of older) {
      const attestedState = replayed(stored.slice(0, attestation.sequence));
      for (const account of [operator, ...traders]) {
        const answer = await node.proof(account.accountId, attestation.sequence);
        if (!attestedState.accounts.has(account.accountId)) {
          expect(answer).toMatchObject({ found: false, reason: 'unknown-account' });
          continue;
        }
        if (expectVerifiedProof(answer, attestation, account.accountId, attestedState) === undefined) continue;
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(20);
    await close();

    // Without history, only the latest attestation's proofs are served.
    const restarted = await openNode(directory, {
      attestEveryEntries: 40,
      attestEveryMs: neverByTime,
      proofHistoryBytes: 0,
    });
    const head = restarted.node.latestAttestation()!;
    const tooOld = await restarted.node.proof(traders[0]!.accountId, older[0]!.sequence);
    expect(tooOld).toMatchObject({ found: false, reason: 'too-old' });
    expect(tooOld.found ? '' : tooOld.message).toMatch(
      new RegExp(
        `sequence ${older[0]!.sequence} is too old for a proof: proofs are served under the latest attestation \\(sequence ${head.sequence}\\) only`,
      ),
    );
    expect(await restarted.node.proof(traders[0]!.accountId, head.sequence)).toMatchObject({ found: true });
  });

  test('a node without a signing seed makes none, still serves stored ones, and has no proofs; with one it attests the recovered head', async () => {
    const directory = await newDirectory();
    const first = await openNode(directory, { attestEveryEntries: 10, attestEveryMs: neverByTime });
    await submitInWaves(first.node, first.clock.set, entries.slice(0, 35), 8);
    const attested = first.node.latestAttestation()!;
    // Every 10th accepted entry is attested (some of the 35 are refused).
    expect(attested.sequence).toBe(Math.floor(first.node.head().sequence / 10) * 10);
    expect(attested.sequence).toBeGreaterThanOrEqual(20);
    // A clean stop attests the head; then a node without a seed takes over.
    await first.close();

    const unsigned = await openNode(directory, { attestationSigningSeed: undefined });
    const cleanStop = unsigned.node.latestAttestation()!;
    // The head is the clean stop attestation's record.
    expect(cleanStop.sequence).toBe(unsigned.node.head().sequence - 1);
    await submitInWaves(unsigned.node, unsigned.clock.set, entries.slice(35, 60), 8);
    expect(unsigned.node.latestAttestation()).toEqual(cleanStop);
    expect(await unsigned.node.proof(traders[0]!.accountId)).toMatchObject({ found: false, reason: 'no-attestations' });
    const head = unsigned.node.head().sequence;
    expect(head).toBeGreaterThan(cleanStop.sequence);
    await unsigned.close();

    const signed = await openNode(directory, { attestEveryEntries: 10, attestEveryMs: neverByTime });
    const recoveredHead = signed.node.latestAttestation()!;
    expect(recoveredHead.sequence).toBe(head);
    expect(logged(signed.lines, 'ledger: attested the recovered head')).toBe(true);
    expectSignedByOperator([recoveredHead]);
    expectRecomputedByReplay(await collect(signed.node.readEntries(1)), await readVersion2(signed.node));
    const answer = await signed.node.proof(traders[1]!.accountId);
    expect(answer.found && verifyInclusionProof(answer.proof, genesis.operatorKeys).ok).toBe(true);
  });

  test('exports: attestations as JSON Lines of their stored canonical JSON, and the latest snapshot record', async () => {
    const directory = await newDirectory();
    const { node, clock } = await openNode(directory, {
      attestEveryEntries: 30,
      attestEveryMs: neverByTime,
      snapshotEveryEntries: 50,
    });
    const none = new PassThrough();
    expect(await node.exportLatestSnapshot(none)).toBeUndefined();
    await submitInWaves(node, clock.set, entries.slice(0, 130), 16);
    const attestations = await readVersion2(node);
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    expect(await node.exportAttestations(sink)).toBe(attestations.length);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(
      attestations.map((attestation) => `${encodeAttestationJson(attestation)}\n`).join(''),
    );
    chunks.length = 0;
    expect(await node.exportAttestations(sink, 61)).toBe(
      attestations.filter((attestation) => attestation.sequence >= 61).length,
    );
    expect(Buffer.concat(chunks).toString('utf8').split('\n')[0]).toBe(
      encodeAttestationJson(attestations.find((attestation) => attestation.sequence >= 61)!),
    );

    const snapshotSink = new PassThrough();
    const snapshotChunks: Buffer[] = [];
    snapshotSink.on('data', (chunk: Buffer) => snapshotChunks.push(chunk));
    const sequence = await node.exportLatestSnapshot(snapshotSink);
    expect(sequence).toBe(Math.floor(node.head().sequence / 50) * 50);
    const record = decodeSnapshot(new Uint8Array(Buffer.concat(snapshotChunks)));
    expect(record.sequence).toBe(sequence);
    expect(Buffer.from((await node.readLatestSnapshot())!.record).equals(Buffer.concat(snapshotChunks))).toBe(true);
  });

  test('an attestation record submitted from outside is refused: only the node writes them', async () => {
    const directory = await newDirectory();
    const { node, clock } = await openNode(directory, { attestEveryEntries: 5, attestEveryMs: neverByTime });
    await submitInWaves(node, clock.set, entries.slice(0, 7), 4);
    const head = node.head().sequence;
    const forged = signAttestationRecord(node.latestAttestation()!, clock.clock(), operator.seed);
    const result = await node.submit(forged);
    expect(result.outcome).toMatchObject({ accepted: false, rejection: { code: 'INVALID_INSTRUCTION' } });
    expect(node.head().sequence).toBe(head);
  });

  test('a seed that is not a genesis operator key is refused before the ledger is touched', async () => {
    const directory = await newDirectory();
    await expect(openNode(directory, { attestationSigningSeed: traders[0]!.seed })).rejects.toThrow(
      /is not a genesis operator key/,
    );
    await expect(openNode(directory, { attestationSigningSeed: new Uint8Array(31) })).rejects.toThrow(
      /32-byte Ed25519 seed/,
    );
  });
});

describe('attestations in recovery', () => {
  /** Builds a ledger attested at every entry (each followed by its record, the head), and closes it. */
  async function attestedLedger(count: number): Promise<{ directory: string; head: number; attested: number }> {
    const directory = await newDirectory();
    const { node, clock, close } = await openNode(directory, { attestEveryEntries: 1, attestEveryMs: neverByTime });
    await submitInWaves(node, clock.set, entries.slice(0, count), 8);
    const head = node.head().sequence;
    expect(node.latestAttestation()!.sequence).toBe(head - 1);
    await close();
    return { directory, head, attested: head - 1 };
  }

  async function rawDatabase(directory: string) {
    const db = createDatabase(`${directory}/ledger`);
    await db.open();
    return db;
  }

  test('a torn tail takes its attestations with it', async () => {
    const { directory, head, attested } = await attestedLedger(60);
    const db = await rawDatabase(directory);
    // The attested entry and its record are torn; the entry before them is the previous attestation's record.
    await db.put(entryKey(attested), Uint8Array.of(1, 2, 3));
    await db.put(entryKey(head), Uint8Array.of(1, 2, 3));
    await db.close();
    const { node, lines } = await openNode(directory, { attestEveryEntries: 1, attestEveryMs: neverByTime });
    expect(node.head().sequence).toBe(head - 2);
    expect(node.latestAttestation()!.sequence).toBe(head - 3);
    expect(await node.attestationAt(attested)).toBeUndefined();
    expect(await node.database.get(attestationKey(attested))).toBeUndefined();
    const warning = lines.find((line) => typeof line.msg === 'string' && line.msg.includes('dropped a torn tail'));
    expect(warning?.droppedAttestations).toEqual([attested]);
    // Nothing was attested anew: the kept head was already attested, and the tree matched it.
    expect(logged(lines, 'ledger: attested the recovered head')).toBe(false);
    expect(logged(lines, 'ledger: recorded the latest attestation')).toBe(false);
    expectRecomputedByReplay(await collect(node.readEntries(1)), await readVersion2(node));
  });

  test('an attestation whose record did not reach the disk is recorded at start-up', async () => {
    const { directory, head, attested } = await attestedLedger(20);
    const db = await rawDatabase(directory);
    await db.del(entryKey(head));
    await db.close();
    const { node, lines } = await openNode(directory, { attestEveryEntries: 1, attestEveryMs: neverByTime });
    expect(node.head().sequence).toBe(head);
    expect(node.latestAttestation()!.sequence).toBe(attested);
    expect(node.state.attestedSequence).toBe(attested);
    expect(Buffer.from(node.state.attestationDigest).toString('hex')).toBe(
      attestationDigestHex(node.latestAttestation()!),
    );
    expect(logged(lines, 'ledger: recorded the latest attestation')).toBe(true);
    expect(logged(lines, 'ledger: attested the recovered head')).toBe(false);
    expectRecomputedByReplay(await collect(node.readEntries(1)), await readVersion2(node));
  });

  test('an attestation beyond the last entry, outside a torn tail, stops start-up', async () => {
    const { directory, head, attested } = await attestedLedger(30);
    const db = await rawDatabase(directory);
    const stray = await db.get(attestationKey(attested));
    await db.put(attestationKey(head + 5), stray!);
    await db.close();
    const error = await openNode(directory).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RecoveryError);
    expect((error as RecoveryError).problem).toBe('attestation-mismatch');
    expect((error as RecoveryError).sequence).toBe(head + 5);
  });

  test('an unreadable stored attestation stops start-up', async () => {
    const { directory, attested } = await attestedLedger(20);
    const db = await rawDatabase(directory);
    await db.put(attestationKey(attested), new TextEncoder().encode('{"version":1,"sequence":'));
    await db.close();
    const error = await openNode(directory).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RecoveryError);
    expect((error as RecoveryError).problem).toBe('attestation-mismatch');
    expect((error as RecoveryError).detail).toMatch(new RegExp(`attestation ${attested} in the ledger cannot be read`));
  });

  test('an attestation at the head (or recorded by it) that does not attest the recovered state stops start-up', async () => {
    const { directory, attested } = await attestedLedger(30);
    const db = await rawDatabase(directory);
    const stored = JSON.parse(Buffer.from((await db.get(attestationKey(attested)))!).toString('utf8')) as Attestation;
    const wrong = { ...stored, liabilitiesRoot: 'ab'.repeat(32) };
    await db.put(attestationKey(attested), new TextEncoder().encode(encodeAttestationJson(wrong)));
    await db.close();
    const error = await openNode(directory).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RecoveryError);
    expect((error as RecoveryError).problem).toBe('attestation-mismatch');
    expect((error as RecoveryError).detail).toMatch(/liabilities root abab/);
    expect((error as RecoveryError).detail).toMatch(/but the log records/);
  });
});
