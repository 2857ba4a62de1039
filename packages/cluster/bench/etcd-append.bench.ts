/**
 * Appends to the etcd log on a local three-member etcd cluster: entries and
 * bytes per second and append latency (call to quorum-durable
 * acknowledgement), with the group-commit shape the node will use (several
 * batches in flight, several per txn).
 *
 *   npx tsx packages/cluster/bench/etcd-append.bench.ts [--seconds 10] [--batch 64] [--in-flight 8] [--message 250]
 *
 * Only the etcd side of issue 16's `pnpm bench:cluster`: the comparison with
 * the local LevelDB log in the same run, and failover time, need the node
 * integration. The last line is one JSON object with the figures.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { EtcdLogStore, LocalEtcdCluster, ensureEtcd } from '../src/index.js';
import { EntryMaker, testGenesisHash } from '../test/entries.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    batch: { type: 'string', default: '64' },
    'in-flight': { type: 'string', default: '8' },
    message: { type: 'string', default: '250' },
  },
});
const seconds = Number(values.seconds);
const batchEntries = Number(values.batch);
const inFlight = Number(values['in-flight']);
const messageBytes = Number(values.message);

const etcd = ensureEtcd();
if (!etcd.available) {
  console.error(etcd.reason);
  process.exit(1);
}
const cluster = await LocalEtcdCluster.start({ members: 3 });
const store = await EtcdLogStore.open({ endpoints: cluster.endpoints, prefix: 'bench/', genesisHash: testGenesisHash });
try {
  const appender = await store.campaign({
    sequencerId: 'bench',
    leaseTtlSeconds: 5,
    window: { maximumBytes: 64 * 1024 * 1024 },
  });
  const maker = new EntryMaker(appender.durableHead());
  const latenciesMs: number[] = [];
  let bytes = 0;
  const started = performance.now();
  const deadline = started + seconds * 1_000;
  async function lane(): Promise<void> {
    while (performance.now() < deadline) {
      const batch = maker.next(batchEntries, messageBytes, 'bench');
      for (const encoding of batch) bytes += encoding.length;
      const sent = performance.now();
      await appender.append(batch);
      latenciesMs.push(performance.now() - sent);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, () => lane()));
  const elapsedSeconds = (performance.now() - started) / 1_000;
  latenciesMs.sort((left, right) => left - right);
  const percentile = (fraction: number): number =>
    latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(fraction * latenciesMs.length))]!;
  const statistics = appender.statistics;
  const figures = {
    entriesPerSecond: Math.round(statistics.entries / elapsedSeconds),
    mebibytesPerSecond: Number((bytes / elapsedSeconds / 2 ** 20).toFixed(2)),
    appendLatencyP50Ms: Number(percentile(0.5).toFixed(1)),
    appendLatencyP99Ms: Number(percentile(0.99).toFixed(1)),
    txns: statistics.txns,
    batchesPerTxn: Number((statistics.chunks / statistics.txns).toFixed(2)),
    trims: statistics.trims,
    batchEntries,
    inFlight,
    messageBytes,
    loadAverage: loadavg()[0]!.toFixed(2),
  };
  console.log(
    `etcd log: ${figures.entriesPerSecond} entries/s, ${figures.mebibytesPerSecond} MiB/s, append p50 ${figures.appendLatencyP50Ms} ms, p99 ${figures.appendLatencyP99Ms} ms, ${figures.batchesPerTxn} batches per txn (load average ${figures.loadAverage})`,
  );
  console.log(JSON.stringify(figures));
  await appender.close();
} finally {
  store.close();
  await cluster.stop();
}
