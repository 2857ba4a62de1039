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
import { ExchangeNode, LogOutsideWindowError, type LogPosition, type NodeHead } from '@vex/ledger';
import type { Logger } from 'pino';
import type { EtcdLogFollower } from './etcd-follower.js';
import { sleep, type EtcdLogStore } from './etcd-log-store.js';
import { catchUpFromPeer, joinFromSnapshot, ledgerIsEmpty, SnapshotNotYetConfirmedError } from './peer-catch-up.js';

/** How often a joiner asks a peer whose latest snapshot no attestation confirms yet, and how long apart. */
const unconfirmedSnapshotAttempts = 10;
const unconfirmedSnapshotRetryMs = 1_000;

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
  /** Entries between the replica's snapshots (the node's snapshotEveryEntries). */
  readonly snapshotEveryEntries?: number;
  /**
   * Base URLs of other members, asked in order: an empty ledger joins from the first one's latest snapshot, and a
   * replica behind the etcd window catches up from their log export. Without it neither happens.
   */
  readonly peers?: () => Promise<readonly string[]>;
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
  /** Set while the replica catches up from a peer's export (it fell behind the etcd window). */
  private catchingUp: string | undefined;
  /** Catch-ups from a peer's export (fell behind the window), and joins from a peer's snapshot. */
  peerCatchUps = 0;
  joinedFrom: { readonly peerUrl: string; readonly sequence: number } | undefined;

  private constructor(
    readonly node: ExchangeNode,
    private readonly options: ReadReplicaOptions,
  ) {}

  /** Opens the node read-only (recovery checks the ledger) and starts following the log from its head. */
  static async open(options: ReadReplicaOptions): Promise<ReadReplica> {
    const joinedFrom = await ReadReplica.join(options);
    const node = await ExchangeNode.open({
      dataDirectory: options.dataDirectory,
      genesis: options.genesis,
      logger: options.logger,
      readReplica: true,
      ...(options.attestationSigningSeed === undefined
        ? {}
        : { attestationSigningSeed: options.attestationSigningSeed }),
      ...(options.snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries: options.snapshotEveryEntries }),
    });
    const replica = new ReadReplica(node, options);
    replica.joinedFrom = joinedFrom;
    replica.start();
    return replica;
  }

  /**
   * An empty ledger (a new member) joins from a peer's latest snapshot instead of replaying the log from the
   * genesis; a peer whose data is refused is logged and the next one asked. Without a peer that has a snapshot,
   * the replica follows the log from the genesis (or, behind the window, catches up from an export).
   */
  private static async join(options: ReadReplicaOptions): Promise<ReadReplica['joinedFrom']> {
    const seed = options.attestationSigningSeed;
    if (options.peers === undefined || seed === undefined) return undefined;
    if (!(await ledgerIsEmpty(options.dataDirectory, options.genesis))) return undefined;
    for (const peerUrl of await options.peers().catch(() => [])) {
      for (let attempt = 1; ; attempt += 1) {
        try {
          const joined = await joinFromSnapshot({
            dataDirectory: options.dataDirectory,
            genesis: options.genesis,
            attestationSigningSeed: seed,
            peerUrl,
            logger: options.logger,
            ...(options.snapshotEveryEntries === undefined
              ? {}
              : { snapshotEveryEntries: options.snapshotEveryEntries }),
          });
          if (joined === undefined) break;
          options.logger.info({ peerUrl, sequence: joined.sequence }, 'read replica: joined from a peer snapshot');
          return { peerUrl, sequence: joined.sequence };
        } catch (error) {
          // A snapshot taken just before we asked has no attestation after it yet: one follows within the
          // operator's attestation interval (1 s by default), so wait for it rather than replay from the genesis.
          if (error instanceof SnapshotNotYetConfirmedError && attempt < unconfirmedSnapshotAttempts) {
            options.logger.info(
              { peerUrl, attempt },
              'read replica: the peer snapshot is not attested yet; asking again',
            );
            await sleep(unconfirmedSnapshotRetryMs);
            continue;
          }
          options.logger.warn({ err: error, peerUrl }, 'read replica: could not join from this peer');
          break;
        }
      }
    }
    return undefined;
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
    this.followed = this.followAndCatchUp().catch((error: unknown) => {
      if (this.following.signal.aborted) return;
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.options.logger.error({ err: error }, 'read replica: following the etcd log failed');
    });
  }

  /**
   * Follows the etcd log; whenever the entries after the head are no longer in etcd's window, catches up from a
   * peer's export (retrying every second until a peer serves them) and follows again from the new head.
   */
  private async followAndCatchUp(): Promise<void> {
    const { store, peers, genesis, logger } = this.options;
    for (;;) {
      this.follower = store.follower(positionOf(this.node.head()));
      try {
        await this.follow(this.follower);
        return;
      } catch (error) {
        if (!(error instanceof LogOutsideWindowError) || peers === undefined) throw error;
        this.catchingUp = error.message;
      }
      while (this.catchingUp !== undefined && !this.following.signal.aborted) {
        for (const peerUrl of await peers().catch(() => [])) {
          try {
            const head = await catchUpFromPeer(this.node, peerUrl, genesis);
            this.peerCatchUps += 1;
            this.catchingUp = undefined;
            logger.info({ peerUrl, sequence: head.sequence }, 'read replica: caught up from a peer export');
            await store.reportProgress(this.options.memberId, head.sequence).catch(() => undefined);
            break;
          } catch (error) {
            if (this.node.haltedBy !== undefined) throw error;
            logger.warn({ err: error, peerUrl }, 'read replica: could not catch up from this peer');
          }
        }
        if (this.catchingUp !== undefined) await sleep(1_000, this.following.signal);
      }
      if (this.following.signal.aborted) return;
    }
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
    else if (this.catchingUp !== undefined)
      notReadyReason = `behind the etcd window, catching up from a peer's export: ${this.catchingUp}`;
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
