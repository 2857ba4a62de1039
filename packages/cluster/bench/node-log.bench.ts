/**
 * The exchange node on its two logs in the same run (issue 16's
 * `pnpm bench:cluster`, second part): acknowledged transactions per second
 * and acknowledgement latency with the local LevelDB log (a synced batch) and
 * with the etcd log in front of it (a fenced txn on a local three-member
 * cluster, then the local batch), alternating rounds; then the failover time
 * in process: from the sequencer's lease being abandoned (a crash) to the
 * standby, which catches up from etcd and opens its node, acknowledging its
 * first transaction.
 *
 *   npx tsx packages/cluster/bench/node-log.bench.ts [--entries 6000] [--rounds 2] [--wave 256] [--lease 2]
 *
 * The stream is the ledger tests' seeded signed log (listings, deposits,
 * orders), submitted in waves of concurrent submits. The last line is one
 * JSON object with the figures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { genesisHash, type Genesis, type LogEntry } from '@vex/engine';
import { ExchangeNode, createDatabase, type LogAppender } from '@vex/ledger';
import { pino } from 'pino';
import { fixture, settableClock } from '../../ledger/test/helpers.js';
import {
  EtcdLogStore,
  LocalEtcdCluster,
  ReplicatedLogWriter,
  catchUp,
  ensureEtcd,
  initialiseLedger,
  localHead,
} from '../src/index.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '6000' },
    rounds: { type: 'string', default: '2' },
    wave: { type: 'string', default: '256' },
    lease: { type: 'string', default: '2' },
  },
});
const entryCount = Number(values.entries);
const rounds = Number(values.rounds);
const waveSize = Number(values.wave);
const leaseTtlSeconds = Number(values.lease);

interface RoundFigures {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly accepted: number;
}

async function runStream(
  node: ExchangeNode,
  setClock: (timeMs: number) => void,
  entries: readonly LogEntry[],
): Promise<RoundFigures> {
  const latencies: number[] = [];
  let accepted = 0;
  const started = performance.now();
  for (let start = 0; start < entries.length; start += waveSize) {
    const wave = entries.slice(start, start + waveSize);
    setClock(wave[0]!.logTimeMs);
    await Promise.all(
      wave.map(async (entry) => {
        const sent = performance.now();
        const result = await node.submit(entry.transaction);
        latencies.push(performance.now() - sent);
        if (result.outcome.accepted) accepted += 1;
      }),
    );
  }
  const seconds = (performance.now() - started) / 1_000;
  latencies.sort((left, right) => left - right);
  const at = (fraction: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(fraction * latencies.length))]! * 10) / 10;
  return { perSecond: Math.round(accepted / seconds), p50Ms: at(0.5), p99Ms: at(0.99), accepted };
}

async function openNode(
  directory: string,
  genesis: Genesis,
  clock: () => number,
  appender?: LogAppender,
): Promise<ExchangeNode> {
  return ExchangeNode.open({
    dataDirectory: directory,
    genesis,
    clock,
    logger: pino({ level: 'silent' }),
    ...(appender === undefined ? {} : { logWriter: (local) => new ReplicatedLogWriter(appender, local) }),
  });
}

const etcd = ensureEtcd();
if (!etcd.available) {
  console.error(etcd.reason);
  process.exit(1);
}
const { entries, genesis } = fixture(5, entryCount);
const cluster = await LocalEtcdCluster.start({ members: 3 });
const root = await mkdtemp(join(tmpdir(), 'vex-node-log-bench-'));
const stores: EtcdLogStore[] = [];
const openStore = async (prefix: string) => {
  const store = await EtcdLogStore.open({ endpoints: cluster.endpoints, prefix, genesisHash: genesisHash(genesis) });
  stores.push(store);
  return store;
};
try {
  const figures: Record<string, RoundFigures[]> = { local: [], etcd: [] };
  for (let round = 1; round <= rounds; round += 1) {
    for (const mode of ['local', 'etcd'] as const) {
      const clock = settableClock(entries[0]!.logTimeMs);
      const appender =
        mode === 'etcd'
          ? await (await openStore(`bench-${round}/`)).campaign({ sequencerId: 'bench', leaseTtlSeconds: 5 })
          : undefined;
      const node = await openNode(join(root, `${mode}-${round}`), genesis, clock.clock, appender);
      const result = await runStream(node, clock.set, entries);
      await node.close();
      await appender?.close();
      figures[mode]!.push(result);
      console.log(
        `round ${round} ${mode.padEnd(5)} ${result.perSecond} acknowledged/s, ` +
          `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (${result.accepted} accepted)`,
      );
    }
  }

  // Failover in process: A sequences half the stream and "crashes" (stops renewing its lease); B waits in its campaign.
  const half = Math.floor(entries.length / 2);
  const storeA = await openStore('failover/');
  const storeB = await openStore('failover/');
  const appenderA = await storeA.campaign({ sequencerId: 'a', leaseTtlSeconds });
  const clockA = settableClock(entries[0]!.logTimeMs);
  const nodeA = await openNode(join(root, 'failover-a'), genesis, clockA.clock, appenderA);
  await runStream(nodeA, clockA.set, entries.slice(0, half));
  const crashed = performance.now();
  appenderA.abandonLeaseForTesting();
  const appenderB = await storeB.campaign({ sequencerId: 'b', leaseTtlSeconds, pollIntervalMs: 100 });
  const elected = performance.now();
  const directoryB = join(root, 'failover-b');
  const db = createDatabase(join(directoryB, 'ledger'));
  await db.open();
  await initialiseLedger(db, genesis);
  await catchUp(db, storeB, await localHead(db, genesisHash(genesis)), appenderB.durableHead().sequence);
  await db.close();
  const clockB = settableClock(entries[half]!.logTimeMs);
  const nodeB = await openNode(directoryB, genesis, clockB.clock, appenderB);
  await nodeB.submit(entries[half]!.transaction);
  const serving = performance.now();
  await nodeA.close().catch(() => undefined);
  await nodeB.close();
  await appenderB.close();
  const failover = {
    leaseTtlSeconds,
    entriesBefore: half,
    electedMs: Math.round(elected - crashed),
    firstAcknowledgementMs: Math.round(serving - crashed),
  };
  console.log(
    `failover: lease TTL ${leaseTtlSeconds} s; standby elected ${failover.electedMs} ms after the crash, ` +
      `first acknowledgement after ${failover.firstAcknowledgementMs} ms ` +
      `(catch-up and replay of ${half} entries included)`,
  );
  const best = (mode: string) => Math.max(...figures[mode]!.map((round) => round.perSecond));
  console.log(
    `ratio etcd / local (best rounds): ${(best('etcd') / best('local')).toFixed(2)}; ` +
      `load average ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(JSON.stringify({ entries: entries.length, waveSize, figures, failover, loadAverage: loadavg()[0] }));
} finally {
  for (const store of stores) store.close();
  await cluster.stop();
  await rm(root, { recursive: true, force: true });
}
