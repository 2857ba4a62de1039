import {
  decodeEntry,
  decodeSnapshot,
  encodeAndHashEntry,
  encodeExportTrailer,
  encodeSnapshot,
  genesisHash,
  signAttestation,
  type Attestation,
  type LogEntry,
} from '@vex/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../engine/test/random-log.js';
import { ReplayInputError } from '../src/replay-input-error.js';
import { replayLog, type ReplayDiverged, type ReplayOptions, type ReplayReport } from '../src/replay-log.js';
import { SignatureVerifierPool } from '../src/signature-verifier-pool.js';
import {
  alteredEntry,
  assembleExport,
  buildTestLog,
  chainLog,
  instructionOf,
  signerFromByte,
  type TestLog,
} from './test-log.js';
import { liabilitiesWithoutLastAccount } from './liabilities-without-account.js';

let pool: SignatureVerifierPool;
let log: TestLog;

beforeAll(async () => {
  pool = await SignatureVerifierPool.start(2);
  log = buildTestLog(11, 300, 40);
});
afterAll(async () => {
  await pool.close();
});

/** Replays with the shared pool and small batches, so that even a short log spreads over several batches in flight. */
function replay(options: Omit<ReplayOptions, 'pool'>): Promise<ReplayReport> {
  return replayLog({ batchEntries: 32, ...options, pool });
}

function diverged(report: ReplayReport): ReplayDiverged {
  if (report.verified)
    throw new Error(`expected a divergence, but the log verified (${report.entriesApplied} entries)`);
  return report;
}

/** Yields the bytes in pieces of random sizes, as a network or file stream would. */
async function* inPieces(bytes: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  const next = seededRandom(seed);
  for (let offset = 0; offset < bytes.length; ) {
    const size = 1 + (next() % 700);
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

function rechained(entries: readonly LogEntry[]): Uint8Array {
  return chainLog(log.genesis, entries).bytes;
}

/** The index of the first entry (after `from`) whose instruction is `name`. */
function indexOfInstruction(name: string, from = 0): number {
  const index = log.entries.findIndex(
    (entry, position) => position >= from && instructionOf(entry).instruction === name,
  );
  if (index < 0) throw new Error(`the test log has no ${name} after ${from}`);
  return index;
}

describe('a clean log', () => {
  it('replays with every attestation, root and hash matching', async () => {
    const progress: number[] = [];
    const report = await replay({
      log: log.bytes,
      attestations: log.attestations,
      onProgress: (step) => progress.push(step.entriesApplied),
    });
    if (!report.verified) throw new Error(report.divergence.message);
    expect(report.entriesApplied).toBe(log.entries.length);
    expect(report.headSequence).toBe(log.entries.length);
    expect(report.headHash).toBe(Buffer.from(log.entryHashes.at(-1)!).toString('hex'));
    expect(report.stateHash).toBe(log.finalStateHash);
    expect(report.genesisHash).toBe(Buffer.from(genesisHash(log.genesis)).toString('hex'));
    expect(report.attestationsChecked).toBe(log.attestations.length);
    expect(log.attestations.length).toBeGreaterThan(5);
    expect(report.flaggedAttestations.map((flagged) => flagged.sequence)).toEqual(log.flaggedSequences);
    expect(log.flaggedSequences.length).toBeGreaterThan(0);
    expect(log.flaggedSequences.length).toBeLessThan(log.attestations.length);
    expect(report.flaggedAttestations[0]!.shortAssets).toEqual(['BTC']);
    expect(progress.at(-1)).toBe(log.entries.length);
  });

  it('replays the same from a stream of odd-sized chunks and from JSON attestations in an async iterable', async () => {
    async function* attestationObjects(): AsyncGenerator<unknown> {
      for (const attestation of log.attestations) yield JSON.parse(JSON.stringify(attestation));
    }
    const report = await replay({ log: inPieces(log.bytes, 5), attestations: attestationObjects() });
    expect(report.verified).toBe(true);
    expect(report.attestationsChecked).toBe(log.attestations.length);
  });

  it('replays without attestations, and with a checked snapshot', async () => {
    const report = await replay({ log: log.bytes, snapshot: decodeSnapshot(log.snapshot) });
    expect(report.verified).toBe(true);
    expect(report.snapshotChecked).toBe(true);
    expect(report.attestationsChecked).toBe(0);
  });
});

describe('tampering with the log', () => {
  it('catches one flipped byte at 300 random offsets: a divergence or bad input, never success', async () => {
    const next = seededRandom(2024);
    const outcomes = new Map<string, number>();
    for (let trial = 0; trial < 300; trial += 1) {
      const tampered = log.bytes.slice();
      const offset = next() % tampered.length;
      tampered[offset]! ^= 1 << (next() % 8);
      let outcome: string;
      try {
        const report = await replay({ log: tampered });
        if (report.verified) throw new Error(`a flipped bit at byte ${offset} went unnoticed`);
        outcome = report.divergence.check;
      } catch (error) {
        if (!(error instanceof ReplayInputError)) throw error;
        outcome = 'bad input';
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // Most flips land in messages and signatures, which the signature check catches first.
    expect(outcomes.get('signature')).toBeGreaterThan(100);
    expect([...outcomes.keys()].sort()).toEqual(expect.arrayContaining(['bad input', 'chain', 'signature']));
  });

  it('catches a dropped entry', async () => {
    const dropped = 57;
    const encodings = log.encodings.filter((_, index) => index !== dropped);
    const tampered = assembleExport(
      log.genesis,
      encodings,
      encodeExportTrailer(log.encodings.length, log.entryHashes.at(-1)!),
    );
    const { divergence } = diverged(await replay({ log: tampered }));
    expect(divergence).toMatchObject({
      sequence: dropped + 1,
      check: 'entry-sequence',
      expected: String(dropped + 2),
      computed: String(dropped + 1),
    });
  });

  it('catches a dropped last entry through the trailer', async () => {
    const encodings = log.encodings.slice(0, -1);
    const tampered = assembleExport(
      log.genesis,
      encodings,
      encodeExportTrailer(log.encodings.length, log.entryHashes.at(-1)!),
    );
    const { divergence } = diverged(await replay({ log: tampered }));
    expect(divergence).toMatchObject({
      sequence: log.entries.length,
      check: 'trailer',
      expected: `${log.entries.length} entries`,
    });
  });

  it('catches a trailer whose last hash is wrong', async () => {
    const tampered = assembleExport(
      log.genesis,
      log.encodings,
      encodeExportTrailer(log.encodings.length, log.entryHashes.at(-2)!),
    );
    const { divergence } = diverged(await replay({ log: tampered }));
    expect(divergence).toMatchObject({ sequence: log.entries.length, check: 'trailer' });
  });

  it('catches a dropped entry when the chain is recomputed, at the next attestation', async () => {
    const dropped = 57;
    const tampered = rechained(log.entries.filter((_, index) => index !== dropped));
    const { divergence } = diverged(await replay({ log: tampered, attestations: log.attestations }));
    expect(['transition', 'head-hash']).toContain(divergence.check);
    expect(divergence.sequence).toBeGreaterThan(dropped);
  });

  it('catches two swapped entries', async () => {
    const encodings = [...log.encodings];
    [encodings[80], encodings[81]] = [encodings[81]!, encodings[80]!];
    const tampered = assembleExport(
      log.genesis,
      encodings,
      encodeExportTrailer(encodings.length, log.entryHashes.at(-1)!),
    );
    const { divergence } = diverged(await replay({ log: tampered }));
    expect(divergence).toMatchObject({ sequence: 81, check: 'entry-sequence', expected: '82', computed: '81' });
  });

  it('catches two swapped entries when the chain is recomputed', async () => {
    const entries = [...log.entries];
    [entries[80], entries[120]] = [entries[120]!, entries[80]!];
    const { divergence } = diverged(await replay({ log: rechained(entries), attestations: log.attestations }));
    // Entry 121 is later than entry 81, so the swap puts a later log time first.
    expect(log.entries[120]!.logTimeMs).toBeGreaterThan(log.entries[81]!.logTimeMs);
    expect(divergence).toMatchObject({ sequence: 82, check: 'entry-log-time' });
  });

  it('catches an entry whose previous hash is altered', async () => {
    const encodings = [...log.encodings];
    const bad = encodings[99]!.slice();
    bad[17]! ^= 0x80;
    encodings[99] = bad;
    const tampered = assembleExport(
      log.genesis,
      encodings,
      encodeExportTrailer(encodings.length, log.entryHashes.at(-1)!),
    );
    const { divergence } = diverged(await replay({ log: tampered }));
    expect(divergence).toMatchObject({
      sequence: 100,
      check: 'chain',
      computed: Buffer.from(log.entryHashes[98]!).toString('hex'),
    });
  });

  it('catches an altered order re-signed by its own trader when the chain is not recomputed: the next entry breaks the chain', async () => {
    const index = indexOfInstruction('orderExecute', 60);
    const original = log.entries[index]!;
    const trader = log.traders.find(
      (candidate) => Buffer.compare(candidate.publicKey, original.transaction.publicKey) === 0,
    )!;
    const altered = alteredEntry(original, 'quantity', '0.01', trader);
    const previous = decodeEntry(log.encodings[index]!).previousHash;
    const encodings = [...log.encodings];
    encodings[index] = encodeAndHashEntry({
      sequence: index + 1,
      logTimeMs: altered.logTimeMs,
      previousHash: previous,
      transaction: altered.transaction,
    }).encoding.slice();
    const tampered = assembleExport(
      log.genesis,
      encodings,
      encodeExportTrailer(encodings.length, log.entryHashes.at(-1)!),
    );
    const { divergence } = diverged(await replay({ log: tampered }));
    expect(divergence).toMatchObject({ sequence: index + 2, check: 'chain' });
  });

  it('catches a deposit whose amount is altered and re-signed by another key, with the chain recomputed: the signature check', async () => {
    const index = indexOfInstruction('depositCredit');
    const trader = log.traders[1]!;
    const entries = [...log.entries];
    // The entry still names the operator's key, but a trader signed it.
    entries[index] = alteredEntry(entries[index]!, 'quantity', '999999', trader, log.operator.publicKey);
    const { divergence } = diverged(await replay({ log: rechained(entries), attestations: log.attestations }));
    expect(divergence).toMatchObject({
      sequence: index + 1,
      check: 'signature',
      expected: 'valid',
      computed: 'invalid',
    });
  });

  it("catches a deposit whose amount is altered and re-signed by a trader under the trader's own key: the authorisation check", async () => {
    const index = indexOfInstruction('depositCredit');
    const entries = [...log.entries];
    entries[index] = alteredEntry(entries[index]!, 'quantity', '999999', log.traders[1]!);
    const { divergence } = diverged(await replay({ log: rechained(entries), attestations: log.attestations }));
    expect(divergence).toMatchObject({ sequence: index + 1, check: 'transition', expected: 'accepted' });
    expect(divergence.computed).toMatch(/^rejected: UNAUTHORIZED/);
  });

  it('catches a log time that goes backwards even with the chain recomputed', async () => {
    const entries = [...log.entries];
    const index = 150;
    entries[index] = { ...entries[index]!, logTimeMs: entries[index - 1]!.logTimeMs - 1 };
    const { divergence } = diverged(await replay({ log: rechained(entries) }));
    expect(divergence).toMatchObject({ sequence: index + 1, check: 'entry-log-time' });
  });
});

describe('tampering with attestations', () => {
  const checkedAt = 3; // the fourth attestation, in the middle of the log

  function withAttestation(replacement: unknown): unknown[] {
    return log.attestations.map((attestation, index) => (index === checkedAt ? replacement : attestation));
  }

  it('catches a forged attestation signed by a key that is not an operator key', async () => {
    const forged = signAttestation(log.attestations[checkedAt]!, signerFromByte(77).seed);
    const { divergence } = diverged(await replay({ log: log.bytes, attestations: withAttestation(forged) }));
    expect(divergence).toMatchObject({
      sequence: log.attestations[checkedAt]!.sequence,
      check: 'attestation-signature',
      attestationNumber: checkedAt + 1,
    });
    expect(divergence.computed).toMatch(/not a genesis operator key/);
  });

  it("catches a signature by another key under the operator's key", async () => {
    const forged = {
      ...signAttestation(log.attestations[checkedAt]!, signerFromByte(77).seed),
      operatorKey: log.operator.accountId,
    };
    const { divergence } = diverged(await replay({ log: log.bytes, attestations: withAttestation(forged) }));
    expect(divergence).toMatchObject({ check: 'attestation-signature', computed: 'the signature does not verify' });
  });

  const original = (): Attestation => log.attestations[checkedAt]!;
  const flipHex = (text: string): string => (text[0] === '0' ? '1' : '0') + text.slice(1);
  const alterations: ReadonlyArray<readonly [string, () => Attestation, string]> = [
    ['sequence', () => ({ ...original(), sequence: original().sequence - 1 }), 'head-hash'],
    ['logTimeMs', () => ({ ...original(), logTimeMs: original().logTimeMs + 1 }), 'log-time'],
    ['genesisHash', () => ({ ...original(), genesisHash: flipHex(original().genesisHash) }), 'genesis-hash'],
    ['headHash', () => ({ ...original(), headHash: flipHex(original().headHash) }), 'head-hash'],
    ['stateHash', () => ({ ...original(), stateHash: flipHex(original().stateHash) }), 'state-hash'],
    [
      'liabilitiesRoot',
      () => ({ ...original(), liabilitiesRoot: flipHex(original().liabilitiesRoot) }),
      'liabilities-root',
    ],
    ['accountCount', () => ({ ...original(), accountCount: original().accountCount + 1 }), 'account-count'],
    [
      'an asset symbol',
      () => ({
        ...original(),
        assets: original().assets.map((asset, index) => (index === 1 ? { ...asset, symbol: 'ETH' } : asset)),
      }),
      'asset-list',
    ],
    ['the asset list (one left out)', () => ({ ...original(), assets: original().assets.slice(0, -1) }), 'asset-list'],
    [
      'claims',
      () => ({
        ...original(),
        assets: original().assets.map((asset, index) =>
          index === 2 ? { ...asset, claims: String(BigInt(asset.claims) - 1n) } : asset,
        ),
      }),
      'claims',
    ],
    [
      'debts',
      () => ({
        ...original(),
        assets: original().assets.map((asset, index) => (index === 0 ? { ...asset, debts: '1' } : asset)),
      }),
      'debts',
    ],
    [
      'reserves',
      () => ({
        ...original(),
        assets: original().assets.map((asset, index) =>
          index === 0 ? { ...asset, reserves: String(BigInt(asset.reserves) + 1n) } : asset,
        ),
      }),
      'reserves',
    ],
  ];

  for (const [field, alter, check] of alterations) {
    it(`catches an altered ${field}, whether or not the operator re-signs it`, async () => {
      const altered = alter();
      const resigned = signAttestation(altered, log.operator.seed);
      for (const attestation of [altered, resigned]) {
        const { divergence } = diverged(await replay({ log: log.bytes, attestations: withAttestation(attestation) }));
        expect(divergence).toMatchObject({ sequence: attestation.sequence, check, attestationNumber: checkedAt + 1 });
      }
    });
  }

  it('catches a liabilities root computed over a tree that leaves out one account, though the operator signed it', async () => {
    const honest = original();
    const { honestRoot, rootWithout, omittedClaims } = liabilitiesWithoutLastAccount(log, honest.sequence);
    // The independent computation agrees with the engine's tree on the honest root, so the lie below is the only difference.
    expect(honestRoot).toBe(honest.liabilitiesRoot);
    expect(omittedClaims.some((claim) => claim > 0n)).toBe(true);
    const lying = signAttestation(
      {
        ...honest,
        liabilitiesRoot: rootWithout.hash,
        accountCount: rootWithout.accountCount,
        assets: honest.assets.map((asset, index) => ({
          ...asset,
          claims: String(BigInt(asset.claims) - omittedClaims[index]!),
        })),
      },
      log.operator.seed,
    );
    const { divergence } = diverged(await replay({ log: log.bytes, attestations: withAttestation(lying) }));
    expect(divergence).toMatchObject({
      sequence: honest.sequence,
      check: 'liabilities-root',
      expected: rootWithout.hash,
      computed: honest.liabilitiesRoot,
    });
  });

  it('reports attestations out of order, repeated, or beyond the end of the log', async () => {
    const swapped = [...log.attestations];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    const outOfOrder = diverged(await replay({ log: log.bytes, attestations: swapped })).divergence;
    expect(outOfOrder).toMatchObject({
      sequence: log.attestations[2]!.sequence,
      check: 'attestation-sequence',
      attestationNumber: 4,
    });

    const repeated = [...log.attestations.slice(0, 3), log.attestations[2]!, ...log.attestations.slice(3)];
    expect(diverged(await replay({ log: log.bytes, attestations: repeated })).divergence).toMatchObject({
      check: 'attestation-sequence',
      attestationNumber: 4,
    });

    const shortLog = rechained(log.entries.slice(0, 100));
    const beyond = diverged(await replay({ log: shortLog, attestations: log.attestations })).divergence;
    expect(beyond).toMatchObject({
      check: 'attestation-sequence',
      sequence: log.attestations.find((attestation) => attestation.sequence > 100)!.sequence,
      computed: 'the log ends at 100',
    });
  });

  it('refuses a malformed attestation as bad input, naming its place', async () => {
    const { version: _version, ...withoutVersion } = original();
    await expect(replay({ log: log.bytes, attestations: withAttestation(withoutVersion) })).rejects.toThrow(
      /attestation 4 is malformed: version/,
    );
    await expect(replay({ log: log.bytes, attestations: withAttestation('not an object') })).rejects.toBeInstanceOf(
      ReplayInputError,
    );
  });
});

describe('snapshots', () => {
  it('catches a snapshot whose state differs from the replay, or that belongs elsewhere', async () => {
    const record = decodeSnapshot(log.snapshot);
    const encoding = record.stateEncoding.slice();
    encoding[encoding.length - 1]! ^= 1;
    const inconsistent = { ...record, stateEncoding: encoding };
    expect(diverged(await replay({ log: log.bytes, snapshot: inconsistent })).divergence).toMatchObject({
      sequence: record.sequence,
      check: 'snapshot-state-hash',
    });

    const other = decodeSnapshot(encodeSnapshot({ ...record, sequence: record.sequence + 1 }));
    expect(diverged(await replay({ log: log.bytes, snapshot: other })).divergence).toMatchObject({
      sequence: record.sequence + 1,
      check: 'snapshot-entry-hash',
    });

    const beyond = { ...record, sequence: log.entries.length + 5 };
    expect(diverged(await replay({ log: log.bytes, snapshot: beyond })).divergence).toMatchObject({
      check: 'snapshot-sequence',
    });
  });
});

describe('bad input', () => {
  it('refuses garbage, a truncated export and a partial export with ReplayInputError', async () => {
    await expect(replay({ log: new TextEncoder().encode('hello, not a log') })).rejects.toThrow(/bad magic/);
    await expect(replay({ log: log.bytes.subarray(0, log.bytes.length - 1000) })).rejects.toThrow(/truncated/);
    const partial = log.bytes.slice();
    // firstSequence is the u64 after magic, version, length and genesis.
    const genesisLength = new DataView(partial.buffer).getUint32(9);
    partial[13 + genesisLength + 7] = 2;
    await expect(replay({ log: partial })).rejects.toThrow(/needs an export from entry 1/);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield log.bytes.subarray(0, 5000);
      throw new Error('connection reset');
    }
    await expect(replay({ log: failing(), logDescription: 'http://node' })).rejects.toThrow(
      /cannot read http:\/\/node: connection reset/,
    );
  });
});
