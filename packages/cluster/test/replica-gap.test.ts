/**
 * A read replica fed a gap or a reordered batch (docs/cluster.md, "Failure
 * cases"), through the replica itself on a real etcd: the entries are real
 * (listings and deposits sequenced by a node), a forger writes chunks past the
 * fence straight into etcd. The replica's follower refuses a chunk that skips
 * an entry and one whose entries are out of order (it stops following and the
 * replica reports not ready), and its node refuses a reordered batch handed to
 * it directly (it halts); in every case the replica's head stays where it was.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSigningString, genesisHash, hashEntryEncoding, signMessage } from '@vex/engine';
import { applyListings, demoConfig, genesisOf, operatorKeyFromSeed } from '@vex/api';
import { createDatabase, entryKey, ExchangeNode, type EncodedEntry } from '@vex/ledger';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeChunk, encodeHead, EtcdLogStore } from '../src/index.js';
import { ReadReplica } from '../src/read-replica.js';
import { uniquePrefix } from './entries.js';
import { describeWithEtcd, useThreeMemberCluster } from './etcd-fixture.js';
import { sleep } from './member-processes.js';

const seed = new Uint8Array(32).fill(3);
const operator = operatorKeyFromSeed(seed);
const genesis = genesisOf(demoConfig(), operator.publicKey);
const logger = pino({ level: 'silent' });

describeWithEtcd('a read replica fed a gap or a reordered batch', () => {
  const { cluster } = useThreeMemberCluster();
  const cleanups: Array<() => Promise<void> | void> = [];
  let root = '';
  /** The first six real entries of a log (listings, operator deposits), sequenced by a node of the same genesis. */
  let entries: EncodedEntry[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vex-replica-gap-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const dataDirectory = join(root, 'source');
    const node = await ExchangeNode.open({ dataDirectory, genesis, logger, verifierThreads: 1 });
    await applyListings(node, operator, demoConfig());
    for (let index = 1; index <= 6; index += 1) {
      const params: Array<[string, string]> = [
        ['account', operator.publicKey],
        ['blockchain', 'Solana'],
        ['chainTransactionId', `gap-${index}`],
        ['quantity', '1'],
        ['symbol', 'USDC'],
      ];
      const message = new TextEncoder().encode(
        encodeSigningString([{ instruction: 'depositCredit', params }], Date.now(), 60_000),
      );
      const publicKey = new Uint8Array(Buffer.from(operator.publicKey, 'base64'));
      const result = await node.submit({ message, publicKey, signature: signMessage(seed, message) });
      expect(result.outcome.accepted).toBe(true);
    }
    await node.close();
    const db = createDatabase(join(dataDirectory, 'ledger'));
    await db.open();
    for (let sequence = 1; sequence <= 6; sequence += 1) {
      const encoding = (await db.get(entryKey(sequence)))!;
      entries.push({ sequence, encoding, entryHash: hashEntryEncoding(encoding) });
    }
    await db.close();
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    entries = [];
  });

  /** A log in etcd holding entries 1..3, a replica following it at 3, and a forger's put of one chunk. */
  async function replicaAtThree(
    label: string,
  ): Promise<{ replica: ReadReplica; forge: (firstSequence: number, chunk: EncodedEntry[]) => Promise<void> }> {
    const store = await EtcdLogStore.open({
      endpoints: cluster().endpoints,
      prefix: uniquePrefix(label),
      genesisHash: genesisHash(genesis),
    });
    cleanups.push(() => store.close());
    const appender = await store.campaign({ sequencerId: 'sequencer', leaseTtlSeconds: 5 });
    cleanups.push(() => appender.close());
    await appender.append(entries.slice(0, 3).map((entry) => entry.encoding));
    const replica = await ReadReplica.open({
      memberId: label,
      dataDirectory: join(root, label),
      genesis,
      store,
      logger,
      headPollMs: 100,
    });
    cleanups.push(() => replica.close());
    await until(() => replica.node.head().sequence === 3 && replica.lagEntries() === 0);
    /** Puts a chunk saying it starts at `firstSequence`, and a head at its highest entry, past the fence. */
    const forge = async (firstSequence: number, chunk: EncodedEntry[]): Promise<void> => {
      const value = encodeChunk(
        firstSequence,
        chunk.map((entry) => entry.encoding),
      );
      const last = chunk.reduce((highest, entry) => (entry.sequence > highest.sequence ? entry : highest));
      await store.client.kv.put({ key: store.keys.chunk(firstSequence), value: Buffer.from(value) });
      await store.client.kv.put({ key: store.keys.head, value: encodeHead(last) });
    };
    return { replica, forge };
  }

  async function until(condition: () => boolean): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!condition()) {
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(50);
    }
  }

  it('a chunk that skips an entry: the replica stops following, reports it, and stays at its head', async () => {
    const { replica, forge } = await replicaAtThree('gap');
    await forge(5, entries.slice(4, 6));
    await until(() => replica.status().notReadyReason !== undefined);
    expect(replica.status().notReadyReason).toMatch(/not following the log/);
    await sleep(500);
    expect(replica.node.head().sequence).toBe(3);
    expect(replica.node.haltedBy).toBeUndefined();
  }, 120_000);

  it('a reordered chunk is refused by the follower; a reordered batch handed to the node halts it', async () => {
    const { replica, forge } = await replicaAtThree('reordered');
    await forge(4, [entries[4]!, entries[3]!]);
    await until(() => replica.status().notReadyReason !== undefined);
    expect(replica.status().notReadyReason).toMatch(/not following the log/);
    expect(replica.node.head().sequence).toBe(3);

    await expect(replica.node.applyFromLog([entries[4]!, entries[3]!])).rejects.toThrow();
    const cause = replica.node.haltedBy?.cause;
    expect(cause).toBeInstanceOf(Error);
    expect((cause as Error).message).toMatch(/entry 5 where entry 4 was due/);
    expect(replica.node.head().sequence).toBe(3);
  }, 120_000);
});
