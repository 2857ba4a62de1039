/**
 * Joining and falling behind the etcd window (docs/cluster.md, "Joining from
 * a snapshot, and catching up from an export"), with member processes on a
 * real three-member etcd: the sequencer takes a snapshot every 40 entries and
 * keeps a 12 KiB window, so etcd soon lacks the log's beginning. A member
 * started with an empty directory joins from the sequencer's snapshot (its
 * ledger never holds entry 1) and reaches the sequencer's attestations; stopped
 * while the window moves past its head, it catches up from the sequencer's
 * export when it returns. A doctored snapshot or export is refused and leaves
 * nothing behind.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeSnapshot,
  encodeExportFrame,
  encodeExportHeader,
  encodeExportTrailer,
  encodeSnapshot,
  genesisHash,
  hashEntryEncoding,
  isAttestationRecordMessage,
  readLogExport,
  sha256,
  canonicalGenesisBytes,
  encodeEntry,
} from '@vex/engine';
import { createDatabase, entryKey } from '@vex/ledger';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { EtcdLogStore } from '../src/index.js';
import {
  fetchCheckedExport,
  joinFromSnapshot,
  PeerDataRefusedError,
  SnapshotNotYetConfirmedError,
} from '../src/peer-catch-up.js';
import { uniquePrefix } from './entries.js';
import { describeWithEtcd, useThreeMemberCluster } from './etcd-fixture.js';
import { MemberProcesses, postTransaction, sleep, type MemberProcess } from './member-processes.js';

describeWithEtcd('joining from a snapshot, catching up from an export', () => {
  const { cluster } = useThreeMemberCluster();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  let counter = 0;
  /** `count` deposits through the sequencer, four at a time, each retried until acknowledged. */
  async function deposits(members: MemberProcesses, sequencer: MemberProcess, count: number): Promise<void> {
    const lane = async (): Promise<void> => {
      while (counter < count) {
        counter += 1;
        const { body } = members.depositBody(`join-${counter}`);
        for (let attempt = 0; ; attempt += 1) {
          const { status } = await postTransaction(sequencer, body);
          if (status === 200) break;
          expect(attempt).toBeLessThan(50);
          await sleep(200);
        }
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
  }

  /** Waits until `member` is a ready read replica at the sequencer's head (or later). */
  async function caughtUp(members: MemberProcesses, member: MemberProcess, sequencer: MemberProcess): Promise<number> {
    const target = (await members.readiness(sequencer)).sequence ?? 0;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ready = await members.readiness(member);
      if (ready.status === 200 && ready.role === 'replica' && (ready.sequence ?? 0) >= target) return target;
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(250);
    }
  }

  /** The latest attestation a member made (GET /api/v1/attestations), and the sequencer's at the same sequence. */
  async function sameAttestation(replica: MemberProcess, sequencer: MemberProcess): Promise<unknown> {
    const [made] = (await (await fetch(`${replica.url}/api/v1/attestations`)).json()) as Array<{ sequence: number }>;
    expect(made).toBeDefined();
    const url = `${sequencer.url}/api/v1/attestations?sequence=${made!.sequence}`;
    const [original] = (await (await fetch(url)).json()) as unknown[];
    expect(made).toEqual(original);
    return made;
  }

  async function holdsEntry(member: MemberProcess, sequence: number): Promise<boolean> {
    const db = createDatabase(join(member.directory, 'ledger'));
    await db.open();
    try {
      return (await db.get(entryKey(sequence))) !== undefined;
    } finally {
      await db.close();
    }
  }

  it('an empty member joins from a snapshot; one behind the window catches up from an export', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vex-member-join-'));
    const members = new MemberProcesses(root, ['a', 'b'], () => cluster().endpoints, uniquePrefix('join'), 5);
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    cleanups.push(() => members.killAll());
    members.environment = { SNAPSHOT_EVERY: '40', WINDOW_BYTES: String(12 * 1024) };
    await members.writeKey();
    const [a, b] = members.members as [MemberProcess, MemberProcess];
    await members.start(a);
    await members.waitForSequencer();
    const store = await EtcdLogStore.open({
      endpoints: cluster().endpoints,
      prefix: members.prefix,
      genesisHash: genesisHash(members.genesis),
    });
    cleanups.push(() => store.close());

    // The window moves on: etcd no longer holds the log's beginning.
    await deposits(members, a, 200);
    expect(await store.firstHeldSequence()).toBeGreaterThan(1);

    // b starts with an empty directory: it joins from a's snapshot, then follows etcd.
    await members.start(b);
    const joinedAt = await caughtUp(members, b, a);
    const joined = await sameAttestation(b, a);

    // b stops; the window moves past its head; b returns and catches up from a's export.
    await members.stop(b, 'SIGTERM');
    expect(await holdsEntry(b, 1)).toBe(false);
    await deposits(members, a, 400);
    const behind = (await store.firstHeldSequence()) ?? 0;
    expect(behind).toBeGreaterThan(joinedAt + 1);
    await members.start(b);
    const caughtUpAt = await caughtUp(members, b, a);
    const later = await sameAttestation(b, a);
    console.log(
      `member join: joined at ${joinedAt} from a snapshot (entry 1 not held), attestation ` +
        `${JSON.stringify(joined).slice(0, 80)}…; ` +
        `etcd's window then began at ${behind}; caught up from the export to ${caughtUpAt}; ` +
        `attestation at ${(later as { sequence: number }).sequence} equal`,
    );
    await members.stop(b, 'SIGTERM');
    expect(await holdsEntry(b, 1)).toBe(false);
    expect(await holdsEntry(b, caughtUpAt)).toBe(true);

    // Doctored data, served by a fake peer that passes everything else through to a.
    const snapshotBytes = new Uint8Array(await (await fetch(`${a.url}/api/v1/snapshot`)).arrayBuffer());
    const record = decodeSnapshot(snapshotBytes);
    const exported = await readLogExport(
      new Uint8Array(await (await fetch(`${a.url}/api/v1/log?from=${record.sequence}`)).arrayBuffer()),
    );
    let served: { snapshot: Uint8Array; log: Uint8Array } = { snapshot: snapshotBytes, log: new Uint8Array() };
    const fake: Server = createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0];
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(Buffer.from(path === '/api/v1/snapshot' ? served.snapshot : served.log));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => fake.close(() => resolve())));
    const address = fake.address();
    if (typeof address !== 'object' || address === null) throw new Error('no address');
    const peerUrl = `http://127.0.0.1:${address.port}`;
    const exportOf = (entries: typeof exported.entries, lastHash?: Uint8Array): Uint8Array => {
      const header = encodeExportHeader(canonicalGenesisBytes(members.genesis), record.sequence, exported.anchorHash);
      const frames = entries.map((entry) => encodeExportFrame(encodeEntry(entry)));
      const last = lastHash ?? hashEntryEncoding(encodeEntry(entries[entries.length - 1]!));
      return Buffer.concat([header, ...frames, encodeExportTrailer(entries.length, last)]);
    };
    const joinInto = async (label: string): Promise<unknown> => {
      const dataDirectory = join(root, label);
      const outcome = await joinFromSnapshot({
        dataDirectory,
        genesis: members.genesis,
        attestationSigningSeed: members.seed,
        peerUrl,
        logger: pino({ level: 'silent' }),
      }).then(
        () => 'joined',
        (error: unknown) => error,
      );
      // Nothing of a refused peer's data is kept; a join keeps the ledger.
      if (outcome === 'joined') expect((await stat(join(dataDirectory, 'ledger'))).isDirectory()).toBe(true);
      else await expect(stat(join(dataDirectory, 'ledger'))).rejects.toThrow();
      return outcome;
    };

    // The untouched data joins (the fake peer itself is sound).
    served = { snapshot: snapshotBytes, log: exportOf(exported.entries, exported.lastHash) };
    expect(await joinInto('sound')).toBe('joined');
    await rm(join(root, 'sound', 'ledger'), { recursive: true, force: true });

    // A state byte changed: the snapshot no longer hashes to its state hash.
    const flipped = new Uint8Array(snapshotBytes);
    flipped[flipped.length - 1]! ^= 1;
    served = { snapshot: flipped, log: exportOf(exported.entries, exported.lastHash) };
    expect(await joinInto('flipped')).toBeInstanceOf(PeerDataRefusedError);

    // A changed state with its state hash recomputed: refused by the state's own checks (decoding, invariants) or,
    // when it passes them, by the attestation record after it.
    const stateEncoding = new Uint8Array(record.stateEncoding);
    stateEncoding[stateEncoding.length - 1]! ^= 1;
    const recomputed = encodeSnapshot({ ...record, stateEncoding, stateHash: sha256(stateEncoding) });
    served = { snapshot: recomputed, log: exportOf(exported.entries, exported.lastHash) };
    const recomputedOutcome = await joinInto('recomputed');
    expect(recomputedOutcome).toBeInstanceOf(PeerDataRefusedError);
    console.log(`member join: a recomputed doctored snapshot: ${(recomputedOutcome as Error).message}`);

    // The export's last entry with another signature, the trailer recomputed: the chain holds, the signature not.
    const entries = [...exported.entries];
    const lastEntry = entries[entries.length - 1]!;
    const signature = new Uint8Array(lastEntry.transaction.signature);
    signature[0]! ^= 1;
    entries[entries.length - 1] = { ...lastEntry, transaction: { ...lastEntry.transaction, signature } };
    served = { snapshot: snapshotBytes, log: exportOf(entries) };
    const forged = await joinInto('forged');
    expect(forged).toBeInstanceOf(PeerDataRefusedError);
    expect((forged as Error).message).toMatch(/signature/);

    // A snapshot no attestation confirms yet (the export ends before the first attestation record after it): not
    // refused for good but "not yet", which the read replica answers by asking the same peer again a second later.
    const firstRecord = exported.entries.findIndex(
      (entry, index) => index > 0 && isAttestationRecordMessage(entry.transaction.message),
    );
    expect(firstRecord).toBeGreaterThan(0);
    const unconfirmed = exported.entries.slice(0, firstRecord);
    served = { snapshot: snapshotBytes, log: exportOf(unconfirmed) };
    expect(await joinInto('unconfirmed')).toBeInstanceOf(SnapshotNotYetConfirmedError);

    // An export that does not continue the member's head is refused before anything is applied.
    served = { snapshot: snapshotBytes, log: exportOf(exported.entries, exported.lastHash) };
    const wrongAnchor = new Uint8Array(32).fill(7);
    await expect(fetchCheckedExport(peerUrl, members.genesis, record.sequence, wrongAnchor)).rejects.toThrow(
      PeerDataRefusedError,
    );
    await members.stop(a, 'SIGTERM');
  }, 600_000);
});
