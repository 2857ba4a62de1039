/**
 * Prometheus metrics (prom-client), served at GET /metrics; docs/operator.md,
 * "Metrics", lists them. Each server has its own registry (several can run in
 * one process, as in the tests). Counters that the node keeps cumulatively
 * are read at scrape time; the commit latency is observed per batch.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NodeStatistics } from '@vex/ledger';
import type { ExchangeNodePort } from './node-port.js';

/** What a node's place in a cluster looks like to metrics and readiness; a single node is always the writer. */
export interface ClusterStatus {
  /** single: the embedded LevelDB node; sequencer, standby or replica in cluster mode. */
  readonly role: 'single' | 'sequencer' | 'standby' | 'replica';
  /** True when this process may append to the log. */
  readonly leader: boolean;
  /** Entries the log holds beyond this node's durable head (0 for the writer). */
  readonly lagEntries: number;
  /** Errors from etcd calls since start (0 without etcd). */
  readonly etcdErrors: number;
  /** Why the node should take no traffic now (catching up, no leader), or undefined when it can. */
  readonly notReadyReason: string | undefined;
}

export const singleNodeStatus = (): ClusterStatus => ({
  role: 'single',
  leader: true,
  lagEntries: 0,
  etcdErrors: 0,
  notReadyReason: undefined,
});

const roles = ['single', 'sequencer', 'standby', 'replica'] as const;
/** Seconds; a group-commit batch is one synced LevelDB write (ms) or one etcd txn (tens of ms). */
const commitBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
const batchEntryBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];

type StatisticMetric = readonly [name: string, help: string, key: keyof NodeStatistics];

/** Counters read from the node's cumulative statistics at each scrape. */
const statisticCounters: readonly StatisticMetric[] = [
  ['vex_entries_committed_total', 'Log entries made durable.', 'entriesWritten'],
  ['vex_batches_committed_total', 'Group-commit batches made durable.', 'batchesWritten'],
  ['vex_transactions_rejected_total', 'Transactions rejected (never logged).', 'rejectedTransactions'],
  ['vex_admission_refusals_total', 'Submits refused at the in-flight bound (429).', 'overloadedTransactions'],
  ['vex_storage_busy_episodes_total', 'Batch writes retried for want of file descriptors.', 'storageBusyEpisodes'],
];

/** Gauges read from the node's statistics at each scrape. */
const statisticGauges: readonly StatisticMetric[] = [
  ['vex_pending_transactions', 'Transactions submitted and not yet answered.', 'pendingTransactions'],
  ['vex_signature_verifying_transactions', 'Transactions whose signature is being checked.', 'verifyingTransactions'],
  ['vex_signature_pool_threads', 'Signature worker threads (0: checked inline).', 'signatureThreads'],
  ['vex_signature_pool_utilisation_ratio', 'Signature workers busy since start (0 to 1).', 'signatureUtilization'],
  ['vex_signature_pool_queued_tasks', 'Signature tasks waiting for a worker.', 'signatureQueuedTasks'],
];

type MetricsNode = Pick<
  ExchangeNodePort,
  'statistics' | 'subscribeCommits' | 'head' | 'latestAttestation' | 'haltedBy'
>;

/** A counter whose value is a cumulative count kept elsewhere, read at each scrape. */
function cumulativeCounter(registry: Registry, name: string, help: string, read: () => number): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      if (value > reported) this.inc(value - reported);
      reported = Math.max(reported, value);
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: () => void;

  constructor(node: MetricsNode, clock: () => number, cluster: () => ClusterStatus = singleNodeStatus) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    const commitSeconds = new Histogram({
      name: 'vex_commit_duration_seconds',
      help: 'Time from the start of a group-commit batch write to its durability (synced, or committed in etcd).',
      buckets: commitBuckets,
      registers: [registry],
    });
    const batchEntries = new Histogram({
      name: 'vex_commit_batch_entries',
      help: 'Entries per group-commit batch.',
      buckets: batchEntryBuckets,
      registers: [registry],
    });
    this.unsubscribe = node.subscribeCommits((batch) => {
      commitSeconds.observe(batch.durationMs / 1_000);
      batchEntries.observe(batch.entries);
    });
    this.registerNodeMetrics(node, clock);
    this.registerClusterMetrics(cluster);
  }

  private registerNodeMetrics(node: MetricsNode, clock: () => number): void {
    const registry = this.registry;
    for (const [name, help, key] of statisticCounters) {
      cumulativeCounter(registry, name, help, () => node.statistics()[key]);
    }
    for (const [name, help, key] of statisticGauges) gauge(registry, name, help, () => node.statistics()[key]);
    const queueHelp = 'Sequenced entries waiting for, or in, a batch write.';
    gauge(registry, 'vex_queue_depth_entries', queueHelp, () => {
      const { queuedEntries, writingEntries } = node.statistics();
      return queuedEntries + writingEntries;
    });
    gauge(registry, 'vex_head_sequence', 'Sequence of the last durable entry.', () => node.head().sequence);
    const haltedHelp = '1 once the node has halted (restart it), else 0.';
    gauge(registry, 'vex_halted', haltedHelp, () => (node.haltedBy === undefined ? 0 : 1));
    const attested = () => node.latestAttestation()?.sequence ?? 0;
    gauge(registry, 'vex_attestation_sequence', 'Sequence the latest durable attestation follows (0: none).', attested);
    const ageHelp = "Wall-clock time since the latest attestation's log time (-1: none yet).";
    gauge(registry, 'vex_attestation_age_seconds', ageHelp, () => {
      const latest = node.latestAttestation();
      return latest === undefined ? -1 : Math.max(0, clock() - latest.logTimeMs) / 1_000;
    });
    const unattestedHelp = 'Durable entries after the latest attestation.';
    gauge(registry, 'vex_unattested_entries', unattestedHelp, () => node.head().sequence - attested());
  }

  private registerClusterMetrics(cluster: () => ClusterStatus): void {
    const registry = this.registry;
    gauge(registry, 'vex_leader', '1 while this process may append to the log (a single node always may).', () =>
      cluster().leader ? 1 : 0,
    );
    new Gauge({
      name: 'vex_role',
      help: "This process's role: 1 on the label of the current one.",
      labelNames: ['role'],
      registers: [registry],
      collect() {
        const role = cluster().role;
        for (const name of roles) this.set({ role: name }, name === role ? 1 : 0);
      },
    });
    gauge(
      registry,
      'vex_replica_lag_entries',
      "Entries in the log beyond this node's durable head.",
      () => cluster().lagEntries,
    );
    cumulativeCounter(
      registry,
      'vex_etcd_errors_total',
      'Failed etcd calls (each one retried or resolved by reading the head).',
      () => cluster().etcdErrors,
    );
  }

  /** The text exposition of every metric, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  stop(): void {
    this.unsubscribe();
  }
}
