/**
 * A read replica (docs/cluster.md, "Read replicas"): the exchange node opened
 * read-only on the member's own ledger, following the etcd log and applying
 * every entry through the engine as it arrives (signatures verified, history
 * records, snapshots and the log's attestations written), so it serves the
 * query routes, streams, proofs and exports as the sequencer does. It reports
 * its progress to etcd (the window keeps what it lacks), and its lag: the etcd
 * head, read every `headPollMs`, minus its own head.
 */
import type { Genesis } from '@vex/engine';
import type { ClusterStatus, WriteRefusal } from '@vex/api';
import { ExchangeNode, type LogPosition, type NodeHead } from '@vex/ledger';
import type { Logger } from 'pino';
import type { EtcdLogFollower } from './etcd-follower.js';
import type { EtcdLogStore } from './etcd-log-store.js';

export interface ReadReplicaOptions {
  readonly memberId: string;
  readonly dataDirectory: string;
  readonly genesis: Genesis;
  /** The operator's seed: the replica makes the attestations the log records (and so serves proofs). */
  readonly attestationSigningSeed?: Uint8Array;
  readonly store: EtcdLogStore;
  readonly logger: Logger;
  /** /ready answers 503 while the replica is more entries than this behind the log. Default 1,000. */
  readonly readyLagEntries?: number;
  /** How often the etcd head is read for the lag. Default 1,000 ms. */
  readonly headPollMs?: number;
}

export const defaultReadyLagEntries = 1_000;

/** A node head as a log position. */
export function positionOf(head: NodeHead): LogPosition {
  return { sequence: head.sequence, entryHash: new Uint8Array(Buffer.from(head.entryHash, 'hex')) };
}

export class ReadReplica {
  private readonly following = new AbortController();
  private follower: EtcdLogFollower | undefined;
  private followed: Promise<void> = Promise.resolve();
  private logHead = 0;
  private failure: Error | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private headErrors = 0;

  private constructor(
    readonly node: ExchangeNode,
    private readonly options: ReadReplicaOptions,
  ) {}

  /** Opens the node read-only (recovery checks the ledger) and starts following the log from its head. */
  static async open(options: ReadReplicaOptions): Promise<ReadReplica> {
    const node = await ExchangeNode.open({
      dataDirectory: options.dataDirectory,
      genesis: options.genesis,
      logger: options.logger,
      readReplica: true,
      ...(options.attestationSigningSeed === undefined
        ? {}
        : { attestationSigningSeed: options.attestationSigningSeed }),
    });
    const replica = new ReadReplica(node, options);
    replica.start();
    return replica;
  }

  private start(): void {
    const { store } = this.options;
    this.logHead = this.node.head().sequence;
    const pollHead = (): void => {
      store.head().then(
        (head) => {
          this.logHead = Math.max(this.logHead, head.sequence);
        },
        () => {
          this.headErrors += 1;
        },
      );
    };
    this.headTimer = setInterval(pollHead, this.options.headPollMs ?? 1_000);
    this.headTimer.unref();
    pollHead();
    this.follower = store.follower(positionOf(this.node.head()));
    this.followed = this.follow(this.follower).catch((error: unknown) => {
      if (this.following.signal.aborted) return;
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.options.logger.error({ err: error }, 'read replica: following the etcd log failed');
    });
  }

  private async follow(follower: EtcdLogFollower): Promise<void> {
    const { store, memberId } = this.options;
    for await (const batch of follower.batches(this.following.signal)) {
      if (this.following.signal.aborted) return;
      const head = await this.node.applyFromLog(batch);
      this.logHead = Math.max(this.logHead, head.sequence);
      await store.reportProgress(memberId, head.sequence).catch(() => undefined);
    }
  }

  /** Entries the log holds beyond this replica's head (as of the last etcd head read). */
  lagEntries(): number {
    return Math.max(0, this.logHead - this.node.head().sequence);
  }

  status(): ClusterStatus {
    const lagEntries = this.lagEntries();
    const statistics = this.follower?.statistics;
    const readyLag = this.options.readyLagEntries ?? defaultReadyLagEntries;
    const halted = this.node.haltedBy;
    let notReadyReason: string | undefined;
    if (halted !== undefined) notReadyReason = halted.message;
    else if (this.failure !== undefined) notReadyReason = `not following the log: ${this.failure.message}`;
    else if (lagEntries > readyLag) notReadyReason = `catching up: ${lagEntries} entries behind the log`;
    return {
      role: 'replica',
      leader: false,
      lagEntries,
      etcdErrors: this.headErrors + (statistics?.transientErrors ?? 0),
      notReadyReason,
    };
  }

  /** The answer to a write: which member is the sequencer now, and where (read from the leader key). */
  async writeRefusal(): Promise<WriteRefusal> {
    const { memberId, store } = this.options;
    const leader = await store.currentLeader().catch(() => undefined);
    const prefix = `Member ${memberId} is a read replica: it serves queries, streams and exports but takes no writes.`;
    if (leader === undefined)
      return { message: `${prefix} No sequencer holds the log right now (a failover); retry shortly.` };
    const where = leader.url === undefined ? '' : ` at ${leader.url}`;
    return {
      message: `${prefix} Send this request to the sequencer, member ${leader.sequencerId}${where}.`,
      ...(leader.url === undefined ? {} : { sequencerUrl: leader.url }),
    };
  }

  /** Stops following; then applies the log up to exactly `sequence` (a takeover's head) by range reads. */
  async catchUpTo(sequence: number): Promise<void> {
    await this.stopFollowing();
    const head = this.node.head();
    if (head.sequence >= sequence) return;
    for await (const batch of this.options.store.read(head.sequence + 1, sequence, positionOf(head)))
      await this.node.applyFromLog(batch);
  }

  private async stopFollowing(): Promise<void> {
    this.following.abort();
    clearInterval(this.headTimer);
    await this.followed;
  }

  async close(): Promise<void> {
    await this.stopFollowing();
    await this.node.close();
  }
}
