/**
 * The log replicated by etcd: every reader's view (head, range reads,
 * follow), the election that makes one sequencer the appender, and the
 * replicas' progress that bounds the rolling window. docs/cluster.md is the
 * design; etcd-appender.ts is the fenced writer, etcd-follower.ts the
 * follower.
 */
import { Etcd3, type IKeyValue, type IRangeRequest, type Lease } from 'etcd3';
import { EtcdLogAppender, type EtcdAppenderOptions } from './etcd-appender.js';
import { EtcdLogFollower, type FollowerOptions } from './etcd-follower.js';
import { decodeHead, encodeHead, EtcdLogKeys } from './etcd-keys.js';
import { checkContinuation, decodeChunk } from './log-chunk.js';
import {
  LogContinuityError,
  LogOutsideWindowError,
  type EncodedEntry,
  type LogPosition,
  type LogReader,
} from './log-store.js';

export interface EtcdLogStoreOptions {
  /** Client URLs of the etcd members, e.g. http://127.0.0.1:2379. */
  readonly endpoints: readonly string[];
  /** Every key of this log starts with it; one exchange per prefix. Path-like, ending in "/". */
  readonly prefix: string;
  /** The genesis hash: the anchor of entry 1. A store initialised with another genesis is refused. */
  readonly genesisHash: Uint8Array;
  /** Deadline of each unary etcd call (default 5,000 ms); streams (watch, keep-alive) have none. */
  readonly callTimeoutMs?: number;
}

/** Chunks fetched per range read. */
const rangeChunkLimit = 32;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class EtcdLogStore implements LogReader {
  readonly keys: EtcdLogKeys;
  readonly client: Etcd3;
  private readonly genesisHash: Uint8Array;

  private constructor(client: Etcd3, keys: EtcdLogKeys, genesisHash: Uint8Array) {
    this.client = client;
    this.keys = keys;
    this.genesisHash = genesisHash;
  }

  /**
   * Connects and makes sure the log is initialised for this genesis: the
   * first caller creates the genesis and head keys (head: entry 0, the
   * genesis hash) in one txn; everyone else checks the stored genesis.
   */
  static async open(options: EtcdLogStoreOptions): Promise<EtcdLogStore> {
    if (options.endpoints.length === 0) throw new RangeError('at least one etcd endpoint is needed');
    if (options.genesisHash.length !== 32) throw new RangeError('the genesis hash is 32 bytes');
    const callTimeoutMs = options.callTimeoutMs ?? 5_000;
    const client = new Etcd3({
      hosts: [...options.endpoints],
      dialTimeout: callTimeoutMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    });
    const store = new EtcdLogStore(client, new EtcdLogKeys(options.prefix), new Uint8Array(options.genesisHash));
    try {
      await store.initialise();
    } catch (error) {
      client.close();
      throw error;
    }
    return store;
  }

  private async initialise(): Promise<void> {
    const genesis = Buffer.from(this.genesisHash);
    const response = await this.client.kv.txn({
      compare: [{ key: this.keys.genesis, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [
        { request_put: { key: this.keys.genesis, value: genesis } },
        { request_put: { key: this.keys.head, value: encodeHead({ sequence: 0, entryHash: this.genesisHash }) } },
      ],
      failure: [{ request_range: { key: this.keys.genesis } }],
    });
    if (response.succeeded) return;
    const stored = response.responses[0]?.response_range.kvs[0]?.value;
    if (stored === undefined || !Buffer.from(stored).equals(genesis)) {
      throw new Error(
        `the etcd log under ${JSON.stringify(this.keys.prefix)} belongs to another genesis ` +
          `(stored ${stored === undefined ? 'nothing' : Buffer.from(stored).toString('hex')}, configured ${genesis.toString('hex')})`,
      );
    }
  }

  close(): void {
    this.client.close();
  }

  /** The durable head: a linearizable read (it goes through the etcd leader's quorum). */
  async head(): Promise<LogPosition> {
    return (await this.headWithRevision()).head;
  }

  /** The head and the etcd revision it was read at. */
  async headWithRevision(): Promise<{ head: LogPosition; revision: number }> {
    const response = await this.client.kv.range({ key: this.keys.head });
    const value = response.kvs[0]?.value;
    if (value === undefined) throw new Error('the etcd log has no head key: it was not initialised or was deleted');
    return { head: decodeHead(value), revision: Number(response.header.revision) };
  }

  /**
   * The chunk holding entry `sequence` and the chunks after it (up to
   * rangeChunkLimit), read at one revision. The chunk key names the chunk's
   * first entry, so the chunk holding `sequence` is the last key at or before
   * chunk(sequence).
   */
  async readChunksFrom(sequence: number, revision?: number): Promise<{ chunks: IKeyValue[]; revision: number }> {
    const atRevision: Partial<IRangeRequest> = revision === undefined ? {} : { revision };
    const before = await this.client.kv.range({
      key: this.keys.chunkPrefix,
      range_end: Buffer.concat([this.keys.chunk(sequence), Buffer.from([0])]),
      sort_order: 'Descend',
      sort_target: 'Key',
      limit: 1,
      ...atRevision,
    });
    const readRevision = Number(before.header.revision);
    const start = before.kvs[0]?.key ?? this.keys.chunk(sequence);
    const response = await this.client.kv.range({
      key: start,
      range_end: this.keys.chunkRangeEnd,
      sort_order: 'Ascend',
      sort_target: 'Key',
      limit: rangeChunkLimit,
      revision: readRevision,
    });
    return { chunks: response.kvs, revision: readRevision };
  }

  /**
   * Decodes chunks read in key order and continues `position` with them:
   * entries at or before `position` are skipped (the first chunk may start
   * before it), the rest must be contiguous and chained. A chunk that starts
   * after position + 1 means the entries between are gone (trimmed): a
   * LogOutsideWindowError.
   */
  continueWith(
    position: LogPosition,
    chunks: readonly IKeyValue[],
    toSequence = Number.MAX_SAFE_INTEGER,
  ): { entries: EncodedEntry[]; position: LogPosition } {
    const entries: EncodedEntry[] = [];
    let current = position;
    for (const kv of chunks) {
      if (current.sequence >= toSequence) break;
      const keySequence = this.keys.firstSequenceOfChunk(kv.key);
      const chunk = decodeChunk(kv.value, `chunk ${Buffer.from(kv.key).toString('latin1')}`);
      if (keySequence !== chunk.firstSequence) {
        throw new LogContinuityError(
          'malformed',
          current.sequence + 1,
          `the chunk under key ${Buffer.from(kv.key).toString('latin1')} starts at entry ${chunk.firstSequence}`,
        );
      }
      const lastSequence = chunk.firstSequence + chunk.encodings.length - 1;
      if (lastSequence <= current.sequence) continue;
      if (chunk.firstSequence > current.sequence + 1) {
        if (entries.length === 0) throw new LogOutsideWindowError(current.sequence + 1, chunk.firstSequence);
        throw new LogContinuityError(
          'gap',
          current.sequence + 1,
          `the next chunk starts at entry ${chunk.firstSequence}`,
        );
      }
      const skip = current.sequence + 1 - chunk.firstSequence;
      const take = Math.min(chunk.encodings.length, toSequence - chunk.firstSequence + 1);
      const checked = checkContinuation(current, chunk.encodings.slice(skip, take));
      for (const entry of checked) entries.push(entry);
      const last = checked[checked.length - 1];
      if (last !== undefined) current = { sequence: last.sequence, entryHash: last.entryHash };
    }
    return { entries, position: current };
  }

  async *read(
    fromSequence: number,
    toSequence?: number,
    anchor?: LogPosition,
  ): AsyncGenerator<EncodedEntry[], void, undefined> {
    if (!Number.isSafeInteger(fromSequence) || fromSequence < 1)
      throw new RangeError(`fromSequence must be a positive safe integer, not ${fromSequence}`);
    const { head, revision } = await this.headWithRevision();
    const last = Math.min(toSequence ?? head.sequence, head.sequence);
    if (fromSequence > last) return;
    // Entry 1 is anchored to the genesis; otherwise, without an anchor, the first entry's previous hash is taken on trust and the chain is checked from there on.
    let position: LogPosition | undefined =
      anchor ?? (fromSequence === 1 ? { sequence: 0, entryHash: this.genesisHash } : undefined);
    if (position !== undefined && position.sequence !== fromSequence - 1)
      throw new RangeError(`the anchor must be entry ${fromSequence - 1}, not ${position.sequence}`);
    while ((position?.sequence ?? fromSequence - 1) < last) {
      const next = (position?.sequence ?? fromSequence - 1) + 1;
      const { chunks } = await this.readChunksFrom(next, revision);
      if (chunks.length === 0) throw new LogOutsideWindowError(next, undefined);
      if (position === undefined) position = this.anchorFromChunks(next, chunks);
      const continued = this.continueWith(position, chunks, last);
      if (continued.entries.length === 0) throw new LogContinuityError('gap', next, 'no entries were read');
      position = continued.position;
      yield continued.entries;
    }
  }

  /** Takes entry `next`'s recorded previous hash as the anchor, for an unanchored read. */
  private anchorFromChunks(next: number, chunks: readonly IKeyValue[]): LogPosition {
    const first = chunks[0]!;
    const chunk = decodeChunk(first.value, 'the first chunk');
    const index = next - chunk.firstSequence;
    if (index < 0) throw new LogOutsideWindowError(next, chunk.firstSequence);
    const encoding = chunk.encodings[index];
    if (encoding === undefined)
      throw new LogContinuityError('gap', next, `the chunk at entry ${chunk.firstSequence} ends before it`);
    // previousHash is bytes 17..49 of the entry encoding (docs/log-format.md); checkContinuation validates the rest.
    return { sequence: next - 1, entryHash: new Uint8Array(encoding.subarray(17, 49)) };
  }

  follow(
    after: LogPosition,
    options: FollowerOptions & { readonly signal?: AbortSignal } = {},
  ): AsyncIterable<EncodedEntry[]> {
    return new EtcdLogFollower(this, after, options).batches(options.signal);
  }

  /** A follower with its statistics, for replicas (and tests) that want them. */
  follower(after: LogPosition, options: FollowerOptions = {}): EtcdLogFollower {
    return new EtcdLogFollower(this, after, options);
  }

  /**
   * Records that replica `replicaId` holds every entry through `sequence` in
   * its own durable log: the window is trimmed only past the minimum over
   * all replicas (or past its byte bound).
   */
  async reportProgress(replicaId: string, sequence: number): Promise<void> {
    await this.client.kv.put({ key: this.keys.progress(replicaId), value: Buffer.from(String(sequence)) });
  }

  /** Removes a replica from the window's bookkeeping (it will no longer hold the window back). */
  async forgetReplica(replicaId: string): Promise<void> {
    await this.client.kv.deleteRange({ key: this.keys.progress(replicaId) });
  }

  /** Every replica's reported progress. */
  async replicaProgress(): Promise<Map<string, number>> {
    const response = await this.client.kv.range({
      key: this.keys.progressPrefix,
      range_end: this.keys.progressRangeEnd,
    });
    const progress = new Map<string, number>();
    for (const kv of response.kvs) {
      const id = Buffer.from(kv.key).subarray(this.keys.progressPrefix.length).toString('latin1');
      const sequence = Number(Buffer.from(kv.value).toString('latin1'));
      if (Number.isSafeInteger(sequence) && sequence >= 0) progress.set(id, sequence);
    }
    return progress;
  }

  /** The first entry still held in etcd, or undefined if the window is empty. */
  async firstHeldSequence(): Promise<number | undefined> {
    const response = await this.client.kv.range({
      key: this.keys.chunkPrefix,
      range_end: this.keys.chunkRangeEnd,
      limit: 1,
      keys_only: true,
    });
    const key = response.kvs[0]?.key;
    return key === undefined ? undefined : this.keys.firstSequenceOfChunk(key);
  }

  /**
   * Becomes the log's only appender: grants a lease of `leaseTtlSeconds`
   * (kept alive in the background) and creates the leader key on it, waiting
   * while another sequencer holds it. The leader key's create revision and
   * the lease are the fence every append compares. Resolves with the
   * appender, which starts from the head read in the winning txn.
   */
  async campaign(
    options: EtcdAppenderOptions & {
      readonly sequencerId: string;
      /** Where the sequencer serves, stored in the leader key so read replicas can name it. */
      readonly url?: string;
      readonly signal?: AbortSignal;
      readonly pollIntervalMs?: number;
    },
  ): Promise<EtcdLogAppender> {
    const ttlSeconds = options.leaseTtlSeconds ?? 5;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)
      throw new RangeError(`the lease TTL is a positive number of whole seconds, not ${ttlSeconds}`);
    const pollIntervalMs = options.pollIntervalMs ?? Math.min(250, ttlSeconds * 250);
    const lease: Lease = this.client.lease(ttlSeconds);
    let leaseId: string;
    try {
      leaseId = await lease.grant();
    } catch (error) {
      await lease.revoke().catch(() => undefined);
      throw error;
    }
    const leader = {
      sequencerId: options.sequencerId,
      leaseId,
      ...(options.url === undefined ? {} : { url: options.url }),
    };
    const leaderValue = Buffer.from(JSON.stringify(leader));
    try {
      for (;;) {
        if (options.signal?.aborted === true) throw new Error('the campaign was aborted');
        if (lease.revoked()) throw new Error('the campaign lease was lost before the election was won');
        let won: { createRevision: string; head: LogPosition } | undefined;
        try {
          const response = await this.client.kv.txn({
            compare: [{ key: this.keys.leader, target: 'Create', result: 'Equal', create_revision: 0 }],
            success: [
              { request_put: { key: this.keys.leader, value: leaderValue, lease: leaseId } },
              { request_range: { key: this.keys.head } },
            ],
            failure: [],
          });
          if (response.succeeded) {
            const head = response.responses[1]?.response_range.kvs[0]?.value;
            if (head === undefined) throw new Error('the etcd log has no head key');
            won = { createRevision: response.header.revision, head: decodeHead(head) };
          }
        } catch {
          // Outcome unknown: the leader key says whether this campaign won.
          won = await this.findOwnLeadership(leaseId);
          if (won === undefined) await sleep(pollIntervalMs, options.signal);
        }
        if (won !== undefined) {
          return new EtcdLogAppender(
            this,
            lease,
            { leaseId, createRevision: won.createRevision, sequencerId: options.sequencerId },
            won.head,
            options,
          );
        }
        await sleep(pollIntervalMs, options.signal);
      }
    } catch (error) {
      await lease.revoke().catch(() => undefined);
      throw error;
    }
  }

  private async findOwnLeadership(leaseId: string): Promise<{ createRevision: string; head: LogPosition } | undefined> {
    try {
      const response = await this.client.kv.txn({
        compare: [],
        success: [{ request_range: { key: this.keys.leader } }, { request_range: { key: this.keys.head } }],
        failure: [],
      });
      const leader = response.responses[0]?.response_range.kvs[0];
      const head = response.responses[1]?.response_range.kvs[0]?.value;
      if (leader === undefined || head === undefined || String(leader.lease) !== String(leaseId)) return undefined;
      return { createRevision: leader.create_revision, head: decodeHead(head) };
    } catch {
      return undefined;
    }
  }

  /** Who holds the log now (the leader key's value), or undefined. */
  async currentLeader(): Promise<
    { sequencerId: string; leaseId: string; url?: string; createRevision: string } | undefined
  > {
    const response = await this.client.kv.range({ key: this.keys.leader });
    const kv = response.kvs[0];
    if (kv === undefined) return undefined;
    const parsed = JSON.parse(Buffer.from(kv.value).toString('utf8')) as {
      sequencerId: string;
      leaseId: string;
      url?: string;
    };
    return { ...parsed, createRevision: kv.create_revision };
  }
}

export { sleep };
