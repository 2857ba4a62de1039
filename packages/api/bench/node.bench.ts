import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  Ed25519Key,
  OrderFlow,
  Prng,
  ServerProcess,
  fundingRequests,
  type ClientKind,
  type LoadMode,
  type PhaseSummary,
} from '../test/load-generator.js';
import { serverRole } from './bench-server.js';
import { analyseProfile, type CpuProfile } from './cpu-profile.js';
import { describeFloor, measureFloor } from './fastify-floor.js';
import { LoadChild } from './load-child.js';
import { describeGcTrace, mainIsolateOf } from './gc-trace.js';
import { describeStages, type StageSummary } from './request-stages.js';
import { reportTail, type PauseWindows } from './tail-windows.js';
import {
  type CpuTimes,
  difference,
  fundInParallel,
  machineTimes,
  monotonicMs,
  reportNodeCost,
  switchesText,
  threadTimes,
  totalMs,
  writtenBytes,
} from './node-figures.js';

const repositoryRoot = resolve(import.meta.dirname, '../../..');
const thisFile = new URL(import.meta.url).pathname;

const { values: options } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    connections: { type: 'string', default: '128' },
    traders: { type: 'string', default: '256' },
    seconds: { type: 'string', default: '10' },
    client: { type: 'string', default: 'raw' },
    'log-level': { type: 'string', default: 'warn' },
    server: { type: 'string', default: 'bench' },
    profile: { type: 'boolean', default: false },
    /** Where each phase's requests spend their time inside the server (request-stages.ts). */
    stages: { type: 'boolean', default: false },
    'verify-messages': { type: 'string', default: '20000' },
    'verify-rounds': { type: 'string', default: '3' },
    seed: { type: 'string', default: '20240611' },
    'snapshot-every': { type: 'string', default: '10000' },
    /** A second warm-up of single orders, and one of batches, before the measured phases (0: neither). */
    'warm-up-seconds': { type: 'string', default: '4' },
    fraction: { type: 'string', default: '0.5' },
    'batch-size': { type: 'string', default: '20' },
    'batch-traders': { type: 'string', default: '2000' },
    /** Extra flags for the server's node process (space-separated), to compare settings such as V8's heap sizes. */
    'server-node-flags': { type: 'string', default: '' },
  },
  allowPositionals: false,
});

function integerOption(name: keyof typeof options, minimum: number, maximum: number): number {
  const value = Number(options[name]);
  if (!Number.isSafeInteger(value) || value < minimum || value > maximum)
    throw new Error(`--${name} must be an integer from ${minimum} to ${maximum}`);
  return value;
}

// ---------------------------------------------------------------------------
// Measurements of the server process.

interface ServerStatistics {
  readonly node: {
    sequencedEntries: number;
    durableSequence: number;
    rejectedTransactions: number;
    batchesWritten: number;
    entriesWritten: number;
    sequencingMs: number;
    /** The node's signature worker threads (0: verified inline). */
    signatureThreads: number;
  };
  readonly eventLoop: { idleMs: number; activeMs: number; p99Ms: number; maxMs: number };
  /** process.cpuUsage() of the server: every thread of the process, the signature workers included. */
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** Intervals of the monotonic clock (ms) in which the sequencer wrote a snapshot, since the start. */
  readonly snapshotWindows: Array<[number, number]>;
  /** GC pauses of the main thread and slow group-commit writes (tail-windows.ts). */
  readonly pauses: PauseWindows;
  /** With --stages: the requests since the previous statistics, stage by stage. */
  readonly stages?: StageSummary;
  readonly atMs: number;
}

async function serverStatistics(server: ServerProcess, supported: boolean): Promise<ServerStatistics | undefined> {
  if (!supported) return undefined;
  const before = server.logText().split('bench-server statistics ').length;
  server.kill('SIGUSR2');
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const parts = server.logText().split('bench-server statistics ');
    // A long line can be read before its end is written: parse it once its newline is there.
    const last = parts.at(-1)!;
    if (parts.length > before && last.includes('\n')) return JSON.parse(last.split('\n', 1)[0]!) as ServerStatistics;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}

interface PhaseMeasure {
  readonly name: string;
  readonly summary: PhaseSummary;
  readonly loadCpuMs: number;
  readonly serverMain: CpuTimes;
  readonly serverOther: CpuTimes;
  /** CPU of the 8 busiest non-main threads (signature and snapshot workers, V8 platform threads), busiest first. */
  readonly serverTopOther: CpuTimes[];
  /** The main thread's context switches per request (node-figures.ts, switchesText). */
  readonly mainSwitches: string;
  /** Bytes the server wrote in the phase: every write(2), and what it dirtied in files (node-figures.ts, writtenBytes). */
  readonly written: { readonly written: number; readonly toStorage: number };
  readonly machineBusyShare: number;
  readonly wallMs: number;
  readonly eventLoopUtilization: number | undefined;
  readonly batches: number | undefined;
  readonly entries: number | undefined;
  readonly sequencingMs: number | undefined;
  /** Event-loop delay of the server main thread during the phase. */
  readonly loopDelayMs: { readonly p99: number; readonly max: number } | undefined;
  readonly snapshots: number | undefined;
  readonly mode: LoadMode;
  /** CPU of the whole server process in the phase (process.cpuUsage() in the server), in ms. */
  readonly serverProcessCpuMs: number | undefined;
  /** [due, done] of each acknowledged request (open loop only), in ms of the monotonic clock. */
  readonly samples: Array<[number, number]>;
  readonly snapshotWindows: Array<[number, number]>;
  readonly pauses: PauseWindows | undefined;
  /** When the phase's load ran, in µs of the monotonic clock (a CPU profile's clock), to read --profile per phase. */
  readonly windowMicros: readonly [number, number];
  readonly stages: StageSummary | undefined;
  /** With --server-node-flags=--trace-gc-nvp: the main thread's collections in the phase (gc-trace.ts). */
  readonly gcTrace: string | undefined;
}

// ---------------------------------------------------------------------------
// Verification limit.

interface VerifyFigures {
  readonly allCoresPerSec: number;
  readonly oneCorePerSec: number;
  /** Process CPU time per verification on one thread (user + system), in µs: hardly affected by other load. */
  readonly cpuMicrosPerVerify: number;
  /** The same with node:crypto evaluating the rule's equation: the fixed reference of cpuRatio. */
  readonly nodeCryptoCpuMicrosPerVerify: number;
  readonly workers: number;
  readonly averageMessageBytes: number;
}

async function measureVerifyLimit(
  traders: readonly Ed25519Key[],
  count: number,
  rounds: number,
): Promise<VerifyFigures> {
  const { VerifyPool, verdictNames } = await import('../../engine/bench/verify-worker.js');
  const { verifySignature, verifySignatureWithNodeCrypto } = await import('@vex/engine');
  const flow = new OrderFlow({ seed: 0x5eed, traders });
  const items = flow.batch(count, Date.now()).map((request) => ({
    publicKey: new Uint8Array(Buffer.from(request.publicKey, 'base64')),
    message: new Uint8Array(Buffer.from(request.message, 'utf8')),
    signature: new Uint8Array(Buffer.from(request.signature, 'base64')),
  }));
  const averageMessageBytes = items.reduce((total, item) => total + item.message.length, 0) / items.length;
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

  // One core, on this thread, as a reference (a fifth of the messages): the node's verifier (libsodium where it
  // loads) and node:crypto, both under the rule, alternating round by round.
  const sample = items.slice(0, Math.max(1, Math.floor(items.length / 5)));
  const oneCore: number[] = [];
  const cpuPerVerify: number[] = [];
  const nodeCryptoCpuPerVerify: number[] = [];
  const timeOneCore = (verify: typeof verifySignature): { perSec: number; cpuMicros: number } => {
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    let valid = 0;
    for (const item of sample) if (verify(item.publicKey, item.message, item.signature) === 'valid') valid += 1;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (valid !== sample.length) throw new Error(`${sample.length - valid} signatures did not verify`);
    const cpu = process.cpuUsage(cpuBefore);
    return { perSec: sample.length / seconds, cpuMicros: (cpu.user + cpu.system) / sample.length };
  };
  for (let round = 0; round <= rounds; round += 1) {
    const fastest = timeOneCore(verifySignature);
    const nodeCrypto = timeOneCore(verifySignatureWithNodeCrypto);
    if (round > 0) {
      oneCore.push(fastest.perSec);
      cpuPerVerify.push(fastest.cpuMicros);
      nodeCryptoCpuPerVerify.push(nodeCrypto.cpuMicros);
    }
  }

  const workers = availableParallelism();
  const pool = await VerifyPool.start(workers);
  try {
    const preloaded = await pool.preload(items);
    const validCode = verdictNames.indexOf('valid');
    const allCores: number[] = [];
    for (let round = 0; round <= rounds; round += 1) {
      const started = process.hrtime.bigint();
      const { verdicts } = await pool.verifyPreloaded(preloaded);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const valid = verdicts.reduce((total, code) => total + (code === validCode ? 1 : 0), 0);
      if (valid !== items.length) throw new Error(`${items.length - valid} signatures did not verify in the workers`);
      if (round > 0) allCores.push(items.length / seconds); // round 0 warms up
    }
    pool.drop(preloaded);
    return {
      allCoresPerSec: median(allCores),
      oneCorePerSec: median(oneCore),
      cpuMicrosPerVerify: median(cpuPerVerify),
      nodeCryptoCpuMicrosPerVerify: median(nodeCryptoCpuPerVerify),
      workers,
      averageMessageBytes,
    };
  } finally {
    await pool.close();
  }
}

// ---------------------------------------------------------------------------
// The benchmark.

const format = (value: number, digits = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';

const cpuText = (times: CpuTimes, requests: number): string =>
  `${times.name === undefined ? '' : `${times.name} `}${format((times.userMs * 1000) / Math.max(1, requests))}+${format((times.systemMs * 1000) / Math.max(1, requests))} µs`;

async function bench(): Promise<void> {
  const connections = integerOption('connections', 1, 1024);
  const traderCount = integerOption('traders', 1, 1000);
  const seconds = integerOption('seconds', 2, 40);
  const verifyMessages = integerOption('verify-messages', 1000, 200_000);
  const verifyRounds = integerOption('verify-rounds', 1, 20);
  const seed = integerOption('seed', 0, 2 ** 32 - 1);
  const client = options.client as ClientKind;
  if (client !== 'raw' && client !== 'node-http') throw new Error('--client is raw or node-http');
  const serverKind = options.server;
  if (serverKind !== 'bench' && serverKind !== 'main') throw new Error('--server is bench or main');
  const logLevel = options['log-level']!;
  const snapshotEvery = integerOption('snapshot-every', 1, 1_000_000_000);
  const batchSize = integerOption('batch-size', 1, 50);
  const batchTraderCount = integerOption('batch-traders', 1, 100_000);
  const fraction = Number(options.fraction);
  if (!(fraction > 0 && fraction <= 1)) throw new Error('--fraction is a number in (0, 1]');
  if (serverKind === 'main' && snapshotEvery !== 10_000)
    throw new Error('--snapshot-every needs --server bench (main.ts uses the node default, 10,000)');

  const cores = availableParallelism();
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  const loadAtStart = loadavg();
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '));
  const temporary = tmpdir();
  const mount = mounts
    .filter((fields) => fields[1] !== undefined && temporary.startsWith(fields[1]))
    .sort((a, b) => b[1]!.length - a[1]!.length)[0];
  console.log(
    `node end to end: node ${process.version}, ${cpuModel}, availableParallelism ${cores}, ${format(totalmem() / 2 ** 30, 1)} GiB, Linux ${release()}`,
  );
  console.log(
    `data directory on ${temporary} (${mount?.[2] ?? '?'} on ${mount?.[0] ?? '?'}); load average at start ${loadAtStart.map((value) => value.toFixed(2)).join(' ')}`,
  );

  const random = new Prng(seed);
  const traders = Array.from({ length: traderCount }, () => new Ed25519Key(random.bytes(32)));

  // 1. The verification limit.
  const measureVerify = async (when: string): Promise<VerifyFigures> => {
    process.stdout.write(
      `verify limit ${when}: ${verifyMessages} messages, ${cores} workers, median of ${verifyRounds} … `,
    );
    const figures = await measureVerifyLimit(traders, verifyMessages, verifyRounds);
    console.log(
      `${format(figures.allCoresPerSec)}/s (one core ${format(figures.oneCorePerSec)}/s, ${format(figures.cpuMicrosPerVerify, 1)} µs CPU each; ` +
        `node:crypto ${format(figures.nodeCryptoCpuMicrosPerVerify, 1)} µs CPU each)`,
    );
    return figures;
  };
  const verifyBefore = await measureVerify('before');

  // 2. The server.
  const root = await mkdtemp(join(temporary, 'vex-bench-node-'));
  const dataDirectory = join(root, 'data');
  const profileDirectory = join(root, 'profile');
  const serverArgs = serverKind === 'bench' ? [thisFile, '--role', 'server'] : ['packages/api/src/main.ts'];
  let server: ServerProcess | undefined;
  let load: LoadChild | undefined;
  try {
    server = await ServerProcess.start({
      args: [
        ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDirectory}`, '--cpu-prof-interval=250'] : []),
        // As `pnpm start` (package.json): a 64 MiB young generation; --server-node-flags come after and override it.
        '--max-semi-space-size=64',
        ...options['server-node-flags'].split(' ').filter((flag) => flag !== ''),
        '--import',
        'tsx',
        ...serverArgs,
      ],
      cwd: repositoryRoot,
      env: {
        PORT: '0',
        DATA_DIR: dataDirectory,
        LOG_LEVEL: logLevel,
        RATE_LIMITS: 'off',
        MAX_CONNECTIONS_PER_IP: '4096',
        SNAPSHOT_EVERY: String(snapshotEvery),
        ...(options.stages ? { STAGES: '1' } : {}),
      },
      logFile: join(root, 'server.log'),
    });
    const keyFile = JSON.parse(await readFile(join(dataDirectory, 'operator-key.json'), 'utf8')) as { secret: string };
    const operator = Ed25519Key.fromSecret(keyFile.secret);

    // 3. Funding.
    await fundInParallel(server.url, fundingRequests(operator, traders, Date.now()));
    // The batch phase's traders, many so that none reaches the market's open-order limit (200): funded in parallel.
    const batchTraders = Array.from({ length: batchTraderCount }, () => new Ed25519Key(random.bytes(32)));
    await fundInParallel(server.url, fundingRequests(operator, batchTraders, Date.now(), {}, 'fund-batch'));

    // 4. Load.
    load = LoadChild.start();
    await load.ask(
      {
        type: 'setup',
        url: server.url,
        traderSeeds: traders.map((trader) => trader.secret),
        flowSeed: random.nextUint32(),
        connections,
        client,
        batchTraderSeeds: batchTraders.map((trader) => trader.secret),
      },
      'ready',
      60_000,
    );

    // The server's signature threads as its node reports them (the default depends on the cores: signature-pool.ts).
    let signatureThreads: number | undefined;
    const runPhase = async (
      name: string,
      count: number,
      mode: LoadMode,
      deadlineMs: number,
      batchSize?: number,
    ): Promise<PhaseMeasure> => {
      await load!.ask({ type: 'prepare', phase: name, count, batchSize }, 'prepared', 120_000);
      const statisticsBefore = await serverStatistics(server!, serverKind === 'bench');
      const logBefore = server!.logText().length;
      const threadsBefore = threadTimes(server!.pid);
      const writtenBefore = writtenBytes(server!.pid);
      const machineBefore = machineTimes();
      const wallBefore = performance.now();
      const startedMicros = monotonicMs() * 1000;
      const result = await load!.ask({ type: 'run', phase: name, mode, deadlineMs }, 'result', deadlineMs + 60_000);
      const wallMs = performance.now() - wallBefore;
      const windowMicros = [startedMicros, monotonicMs() * 1000] as const;
      const machineAfter = machineTimes();
      const threadsAfter = threadTimes(server!.pid);
      const writtenAfter = writtenBytes(server!.pid);
      const statisticsAfter = await serverStatistics(server!, serverKind === 'bench');
      // The phase's part of the server's log: its GC trace, if --server-node-flags asked for one (gc-trace.ts).
      const logText = server!.logText();
      const gcTrace = describeGcTrace(name, logText.slice(logBefore), mainIsolateOf(logText));
      signatureThreads = statisticsAfter?.node.signatureThreads ?? signatureThreads;
      const others = [...threadsAfter.other]
        .map(([tid, times]) => difference(times, threadsBefore.other.get(tid)))
        .sort((a, b) => totalMs(b) - totalMs(a));
      const utilization =
        statisticsBefore !== undefined && statisticsAfter !== undefined
          ? (statisticsAfter.eventLoop.activeMs - statisticsBefore.eventLoop.activeMs) /
            (statisticsAfter.eventLoop.activeMs -
              statisticsBefore.eventLoop.activeMs +
              statisticsAfter.eventLoop.idleMs -
              statisticsBefore.eventLoop.idleMs)
          : undefined;
      const rateLimited = result.summary.rejections.TOO_MANY_REQUESTS ?? 0;
      if (rateLimited > 0) {
        console.log(
          `  ${name}: ${rateLimited} requests were rate limited (429): the server applies its rate limits; use --server bench`,
        );
      }
      return {
        name,
        summary: result.summary,
        loadCpuMs: result.cpuUserMs + result.cpuSystemMs,
        serverMain: difference(threadsAfter.main, threadsBefore.main),
        serverOther: others.reduce(
          (sum, times) => ({ userMs: sum.userMs + times.userMs, systemMs: sum.systemMs + times.systemMs }),
          { userMs: 0, systemMs: 0 },
        ),
        serverTopOther: others.slice(0, 8),
        mainSwitches: switchesText(threadsAfter, threadsBefore, result.summary.issued),
        written: {
          written: writtenAfter.written - writtenBefore.written,
          toStorage: writtenAfter.toStorage - writtenBefore.toStorage,
        },
        machineBusyShare: (machineAfter.busyMs - machineBefore.busyMs) / (machineAfter.totalMs - machineBefore.totalMs),
        wallMs,
        eventLoopUtilization: utilization,
        batches:
          statisticsAfter && statisticsBefore
            ? statisticsAfter.node.batchesWritten - statisticsBefore.node.batchesWritten
            : undefined,
        entries:
          statisticsAfter && statisticsBefore
            ? statisticsAfter.node.entriesWritten - statisticsBefore.node.entriesWritten
            : undefined,
        sequencingMs:
          statisticsAfter && statisticsBefore
            ? statisticsAfter.node.sequencingMs - statisticsBefore.node.sequencingMs
            : undefined,
        loopDelayMs:
          statisticsAfter === undefined
            ? undefined
            : { p99: statisticsAfter.eventLoop.p99Ms, max: statisticsAfter.eventLoop.maxMs },
        snapshots:
          statisticsAfter && statisticsBefore
            ? Math.floor(statisticsAfter.node.durableSequence / snapshotEvery) -
              Math.floor(statisticsBefore.node.durableSequence / snapshotEvery)
            : undefined,
        mode,
        serverProcessCpuMs:
          statisticsAfter && statisticsBefore
            ? statisticsAfter.cpuUserMs +
              statisticsAfter.cpuSystemMs -
              statisticsBefore.cpuUserMs -
              statisticsBefore.cpuSystemMs
            : undefined,
        samples: result.samples,
        snapshotWindows: statisticsAfter?.snapshotWindows ?? [],
        pauses: statisticsAfter?.pauses,
        stages: statisticsAfter?.stages,
        gcTrace,
        windowMicros,
      };
    };

    const warmup = await runPhase('warm-up', 4_000, { kind: 'closed' }, 30_000);
    // V8 goes on compiling the server's hot paths for seconds after its first requests (TurboFan, on its helper
    // threads): after only the 4,000 above, that one-time work was about 10 µs of each order of the max-rate phase,
    // and the batch phase began with its own burst (docs/benchmarks.md, "The JIT's warm-up"). So a second warm-up of
    // single orders and one of batches keep it out of the measured phases, as a server running for hours has it.
    const warmUpSeconds = integerOption('warm-up-seconds', 0, 20);
    const warmupRate = Math.max(200, warmup.summary.answeredPerSec);
    const jitWarmup =
      warmUpSeconds === 0
        ? undefined
        : await runPhase('warm-up 2', Math.round(warmupRate * warmUpSeconds), { kind: 'closed' }, 45_000);
    const estimate = Math.max(200, (jitWarmup ?? warmup).summary.answeredPerSec);
    // Sized to last about `seconds`; the deadline keeps every request inside its 60 s window.
    const maxCount = Math.min(400_000, Math.max(2_000, Math.round(estimate * seconds * 1.2)));
    const phase1 = await runPhase('max rate', maxCount, { kind: 'closed' }, Math.min(45_000, seconds * 3_000));
    const ordersPerSec = phase1.summary.acknowledgedPerSec;
    const halfRate = Math.max(1, Math.round(phase1.summary.answeredPerSec * fraction));
    const phase2 = await runPhase(
      fraction === 0.5 ? 'half load' : `${format(fraction * 100)} % load`,
      Math.max(100, halfRate * seconds),
      { kind: 'open', ratePerSec: halfRate },
      Math.min(45_000, seconds * 1_000 + 15_000),
    );
    // Batches: closed loop, sized for about `seconds` at 5 times the single-order rate, and at most 9 turns per
    // batch trader (about 150 resting orders each, below the limit of 200).
    const batchTurns = batchTraderCount * 9;
    // About a second of batches at the target rate, before the timed phase: its turns count against the same limit.
    const batchWarmupCount =
      warmUpSeconds === 0 ? 0 : Math.min(Math.floor(batchTurns / 5), Math.round((ordersPerSec * 5) / batchSize) + 1);
    const batchWarmup =
      batchWarmupCount === 0
        ? undefined
        : await runPhase('batch warm-up', batchWarmupCount, { kind: 'closed' }, 30_000, batchSize);
    const batchCount = Math.min(
      batchTurns - batchWarmupCount,
      Math.max(200, Math.round((ordersPerSec * 5 * seconds) / batchSize)),
    );
    const batchPhase = await runPhase(
      `batches of ${batchSize}`,
      batchCount,
      { kind: 'closed' },
      Math.min(45_000, seconds * 3_000),
      batchSize,
    );

    load.stop();
    load = undefined;
    const exit = await server.stop('SIGTERM');
    server = undefined;
    if (exit.code !== 0) console.log(`the server exited with ${JSON.stringify(exit)}`);
    // The floor: a bare fastify route, sent single orders like phase 1's, on the same cores, and paced as phase 2.
    const floor = await measureFloor(traders, root, { ratePerSec: halfRate, seconds, connections });
    // Measured again with the server gone: other processes on the machine disturb this the most, so the better of the two is the limit.
    const verifyAfter = await measureVerify('after');
    const verify = verifyAfter.allCoresPerSec > verifyBefore.allCoresPerSec ? verifyAfter : verifyBefore;

    // 5. Report.
    const phases = [warmup, jitWarmup, phase1, phase2, batchWarmup, batchPhase].filter(
      (phase): phase is PhaseMeasure => phase !== undefined,
    );
    console.log('');
    console.log(
      `${connections} keep-alive connections (${client} client), ${traderCount} traders, LOG_LEVEL=${logLevel}, server ${serverKind === 'bench' ? 'bench role (main.ts start-up, rate limits off)' : 'main.ts'}, ` +
        `snapshot every ${format(snapshotEvery)} entries; ` +
        `group commit: synced LevelDB batches, ${signatureThreads ?? 'unknown'} verifier threads; average signed message ${format(verify.averageMessageBytes)} bytes`,
    );
    const header = [
      'phase',
      'mode',
      'sent',
      '2xx',
      'refused',
      'errors',
      'seconds',
      '2xx/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'max ms',
      'srv main',
      'srv other',
      'loadgen',
      'machine',
      'ELU',
      'entries/batch',
    ];
    const rows = phases.map((phase) => {
      const s = phase.summary;
      const refused = Object.values(s.rejections).reduce((a, b) => a + b, 0);
      const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
      const perRequest = (ms: number): string => `${format((ms * 1000) / Math.max(1, s.issued))} µs`;
      return [
        phase.name,
        phase.mode.kind === 'closed' ? 'closed' : `open ${format(phase.mode.ratePerSec)}/s`,
        format(s.issued),
        format(s.acknowledged),
        format(refused),
        format(errors),
        format(s.durationMs / 1000, 2),
        format(s.acknowledgedPerSec),
        format(s.latencyMs.p50, 2),
        format(s.latencyMs.p90, 2),
        format(s.latencyMs.p99, 2),
        format(s.latencyMs.max, 1),
        perRequest(totalMs(phase.serverMain)),
        perRequest(totalMs(phase.serverOther)),
        perRequest(phase.loadCpuMs),
        `${format(phase.machineBusyShare * 100)} %`,
        phase.eventLoopUtilization === undefined ? 'n/a' : `${format(phase.eventLoopUtilization * 100)} %`,
        phase.batches === undefined || phase.batches === 0 ? 'n/a' : format(phase.entries! / phase.batches, 1),
      ];
    });
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    const line = (cells: string[]): string =>
      cells
        .map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  ');
    console.log(line(header));
    for (const row of rows) console.log(line(row));
    console.log(
      '  (2xx/s: acknowledged orders and cancels per second of wall time; latency of 2xx answers, from the moment a request was due; ' +
        "srv main / srv other / loadgen: CPU per request sent of the server main thread, the server's other threads (verifiers, LevelDB, GC) and the load generator; " +
        'machine: busy share of all cores; ELU: event-loop utilisation of the server main thread)',
    );
    for (const phase of phases) {
      const s = phase.summary;
      const notes = [
        Object.keys(s.rejections).length > 0 ? `refusals ${JSON.stringify(s.rejections)}` : '',
        Object.keys(s.errors).length > 0 ? `errors ${JSON.stringify(s.errors)}` : '',
        `orders ${s.counts.orders}, cancels ${s.counts.cancels}`,
        `service time p50 ${format(s.serviceMs.p50, 2)} ms p99 ${format(s.serviceMs.p99, 2)} ms`,
        phase.sequencingMs === undefined
          ? ''
          : `sequencer ${format((phase.sequencingMs * 1000) / Math.max(1, s.issued), 1)} µs per request`,
        phase.loopDelayMs === undefined
          ? ''
          : `server event-loop delay p99 ${format(phase.loopDelayMs.p99, 1)} ms, max ${format(phase.loopDelayMs.max, 1)} ms`,
        phase.snapshots === undefined
          ? ''
          : `snapshots written ${phase.snapshots} (every ${format(snapshotEvery)} entries)`,
        // For `perf record -k mono` of the server (or any other sampler on the monotonic clock): the phase's span.
        `monotonic clock ${format(phase.windowMicros[0] / 1e6, 3)} to ${format(phase.windowMicros[1] / 1e6, 3)} s`,
        `CPU per request (user+system): server main ${cpuText(phase.serverMain, s.issued)}, busiest ${phase.serverTopOther.length} other threads ` +
          `${phase.serverTopOther.map((times) => cpuText(times, s.issued)).join(', ')}, all other threads ${cpuText(phase.serverOther, s.issued)}`,
        phase.mainSwitches,
        `bytes written per request ${format(phase.written.written / Math.max(1, s.issued))} ` +
          `(files and sockets), ${format(phase.written.toStorage / Math.max(1, s.issued))} of them to files`,
      ].filter((note) => note !== '');
      console.log(`  ${phase.name}: ${notes.join('; ')}`);
      if (phase.stages !== undefined) console.log(describeStages(phase.name, phase.stages));
      if (phase.gcTrace !== undefined) console.log(phase.gcTrace);
    }

    const ratio = ordersPerSec / verify.allCoresPerSec;
    const p50Ms = phase2.summary.latencyMs.p50;
    const p99Ms = phase2.summary.latencyMs.p99;
    console.log('');
    console.log(
      `verify limit (all ${cores} cores, verifySignature in worker threads): ${format(verify.allCoresPerSec)}/s ` +
        `(before ${format(verifyBefore.allCoresPerSec)}/s, after ${format(verifyAfter.allCoresPerSec)}/s; the better is used); one core ${format(verify.oneCorePerSec)}/s`,
    );
    const cpuPerRequest =
      ((totalMs(phase1.serverMain) + totalMs(phase1.serverOther) + phase1.loadCpuMs) * 1000) /
      Math.max(1, phase1.summary.acknowledged);
    const cpuPerVerify = Math.min(verifyBefore.cpuMicrosPerVerify, verifyAfter.cpuMicrosPerVerify);
    console.log(
      `CPU-normalised (little affected by other processes): a verification costs ${format(cpuPerVerify, 1)} µs of CPU, an acknowledged request ` +
        `${format(cpuPerRequest, 1)} µs end to end in phase 1 (server ${format((totalMs(phase1.serverMain) * 1000) / Math.max(1, phase1.summary.acknowledged), 1)} µs main thread + ` +
        `${format((totalMs(phase1.serverOther) * 1000) / Math.max(1, phase1.summary.acknowledged), 1)} µs other threads, load generator ${format((phase1.loadCpuMs * 1000) / Math.max(1, phase1.summary.acknowledged), 1)} µs): ` +
        `at 100 % of ${cores} cores that is ${format((cores * 1e6) / cpuPerRequest)} vs ${format((cores * 1e6) / cpuPerVerify)} verifications/s, ratio ${format((cpuPerVerify / cpuPerRequest) * 100, 1)} %`,
    );
    console.log(
      `max rate (phase 1): ${format(ordersPerSec)} acknowledged/s = ${format(ratio * 100, 1)} % of the verify limit (target ≥ 70 %: ${ratio >= 0.7 ? 'met' : 'missed'})`,
    );
    console.log(
      `${fraction === 0.5 ? 'half load' : `${format(fraction * 100)} % load`} (phase 2, ${format(halfRate)}/s open loop): p50 ${format(p50Ms, 2)} ms, p99 ${format(p99Ms, 2)} ms (target p99 < 10 ms: ${p99Ms < 10 ? 'met' : 'missed'})`,
    );
    console.log(
      `load average at the end ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );

    const cost = reportNodeCost(
      phase1,
      phase2,
      batchPhase,
      Math.min(verifyBefore.nodeCryptoCpuMicrosPerVerify, verifyAfter.nodeCryptoCpuMicrosPerVerify),
    );
    const tail = reportTail(phase2.samples, phase2.pauses);
    const floorRatio = floor.cpuUsPerRequest / cost.verifyCpuUs;
    for (const line of describeFloor(floor, { ...cost, p50Ms, p99Ms }, format)) console.log(line);

    if (options.profile) {
      const files = existsSync(profileDirectory)
        ? readdirSync(profileDirectory).filter((file) => file.endsWith('.cpuprofile'))
        : [];
      const profiles = files
        .map((file) => ({
          file,
          profile: JSON.parse(readFileSync(join(profileDirectory, file), 'utf8')) as CpuProfile,
        }))
        .map(({ file, profile }) => ({
          file,
          profile,
          isMain: profile.nodes.some((node) => node.callFrame.url.includes('/fastify/')),
        }))
        .sort((a, b) => Number(b.isMain) - Number(a.isMain));
      for (const { file, profile, isMain } of profiles) {
        console.log('');
        const analysis = analyseProfile(profile);
        console.log(
          `CPU profile ${file} (${isMain ? 'server main thread' : 'worker thread'}), whole server life, ${format(analysis.totalMs)} ms sampled:`,
        );
        if (isMain) printMainThreadProfile(analysis, (ms) => `${format(ms).padStart(8)} ms`);
        else printWorkerProfile(analysis);
      }
      // The same profiles inside each measured phase, per request sent: where one request's CPU goes.
      for (const phase of [phase1, phase2, batchPhase]) {
        const requests = Math.max(1, phase.summary.issued);
        const perRequest = (ms: number): string => `${format((ms * 1000) / requests, 1).padStart(8)} µs`;
        console.log('');
        console.log(`CPU profiles inside the phase "${phase.name}", per request sent (${format(requests)} requests):`);
        for (const { file, profile, isMain } of profiles) {
          const analysis = analyseProfile(profile, phase.windowMicros);
          const idle = analysis.byCategory.find(([category]) => category.startsWith('idle'))?.[1] ?? 0;
          if (isMain) {
            console.log(`  server main thread (${file}):`);
            printMainThreadProfile(analysis, perRequest);
          } else {
            const top = analysis.byCategory
              .filter(([category]) => !category.startsWith('idle'))
              .slice(0, 4)
              .map(([category, ms]) => `${category} ${format((ms * 1000) / requests, 1)}`)
              .join(', ');
            console.log(`  worker ${file}: busy ${perRequest(analysis.totalMs - idle).trim()} (${top})`);
          }
        }
      }
      console.log(`profiles kept in ${profileDirectory}`);
    }

    console.log(
      JSON.stringify({
        ordersPerSec: Math.round(ordersPerSec),
        p50Ms: Number(p50Ms.toFixed(3)),
        p99Ms: Number(p99Ms.toFixed(3)),
        verifyLimitPerSec: Math.round(verify.allCoresPerSec),
        ratio: Number(ratio.toFixed(3)),
        ...cost,
        floorCpuUs: Number(floor.cpuUsPerRequest.toFixed(1)),
        floorRatio: Number(floorRatio.toFixed(3)),
        ...(floor.paced === undefined ? {} : { floorP99Ms: Number(floor.paced.p99Ms.toFixed(3)) }),
        p99WithGcPauseMs: tail === undefined ? null : Number(tail.withGcPause.p99Ms.toFixed(3)),
        p99WithSlowCommitMs: tail === undefined ? null : Number(tail.withSlowCommit.p99Ms.toFixed(3)),
        p99WithNeitherMs: tail === undefined ? null : Number(tail.withNeither.p99Ms.toFixed(3)),
      }),
    );
  } finally {
    load?.stop();
    if (server !== undefined) await server.stop('SIGKILL');
    // BENCH_SERVER_LOG=file: the server's log kept there (its GC trace, when --server-node-flags asked for one).
    if (process.env.BENCH_SERVER_LOG !== undefined && existsSync(join(root, 'server.log')))
      await copyFile(join(root, 'server.log'), process.env.BENCH_SERVER_LOG);
    if (!options.profile) await rm(root, { recursive: true, force: true });
  }
}

/** The main thread's profile: self time by area, inclusive time of key steps, top functions. */
function printMainThreadProfile(analysis: ReturnType<typeof analyseProfile>, amount: (ms: number) => string): void {
  const idle = analysis.byCategory.find(([category]) => category.startsWith('idle'))?.[1] ?? 0;
  const busy = analysis.totalMs - idle;
  const share = (ms: number): string => `${format((ms / Math.max(busy, 1e-9)) * 100, 1).padStart(5)} % of busy`;
  console.log(
    `  self time by area (busy ${amount(busy).trim()}, idle ${amount(idle).trim()}; on an oversubscribed machine a sample also lands where the thread was preempted):`,
  );
  for (const [category, ms] of analysis.byCategory.filter(
    ([category, ms]) => !category.startsWith('idle') && ms >= busy / 1000,
  ))
    console.log(`    ${category.padEnd(58)}${amount(ms)} ${share(ms)}`);
  console.log('  inclusive time of key steps:');
  for (const [label, ms] of analysis.inclusive) console.log(`    ${label.padEnd(58)}${amount(ms)} ${share(ms)}`);
  console.log('  top self time:');
  for (const [name, ms] of analysis.topSelf) console.log(`    ${amount(ms)}  ${name}`);
}

function printWorkerProfile(analysis: ReturnType<typeof analyseProfile>): void {
  for (const [category, ms] of analysis.byCategory.slice(0, 5))
    console.log(
      `  ${category.padEnd(58)}${format(ms).padStart(8)} ms ${format((ms / analysis.totalMs) * 100, 1).padStart(5)} %`,
    );
}

if (options.role === 'server') {
  serverRole().catch((error: unknown) => {
    process.stderr.write(`bench server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
} else {
  bench().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `bench:node failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
