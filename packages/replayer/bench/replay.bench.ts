/**
 * How fast the replayer verifies a log, against the machine's limit for
 * verifying the same signatures on every core.
 *
 *   npx tsx packages/replayer/bench/replay.bench.ts [--entries 1000000] [--seed N] [--attest-every N] [--workers N]
 *   npx tsx packages/replayer/bench/replay.bench.ts --main-thread-only [--rounds 5] [--entries …]
 *
 * The log (bench-log.ts) has --entries signed, accepted entries and an
 * attestation every --attest-every entries (default: ten in all); it is
 * generated once and cached under os.tmpdir(). Then, with one pool of
 * --workers signature workers (default os.availableParallelism()):
 *
 *   verification limit   every signature of the log, packed in the replay's
 *                        batches and moved into the workers before timing,
 *                        verified with nothing else running; wall time from
 *                        "go" to the last verdict. Measured before and after
 *                        the replay (after an untimed warm-up on a few
 *                        batches); the limit is the mean of the two rates.
 *   replay               replayLog on the export file and the attestations
 *                        file, as `pnpm replay` runs it: read, chain-check,
 *                        verify in the workers, apply, check every
 *                        attestation. Must verify.
 *
 *   main thread alone    the same replay with every verdict given as valid
 *                        at once instead of verified (the limit runs found
 *                        every signature of the log valid), and the message
 *                        digests the workers send with the verdicts computed
 *                        before timing: the process's
 *                        CPU time per entry is then the main thread's cost
 *                        (reading, chain check, apply, attestation checks)
 *                        with V8's helper threads, undisturbed by the workers.
 *   node:crypto limit    the same as the verification limit, with the rule's
 *                        equation evaluated by node:crypto instead of the
 *                        default library (libsodium where it loads): the
 *                        fixed reference the faster path is judged by.
 *
 * With every core busy, rates stand in the inverse ratio of CPU time per
 * entry, so the bench also prints what the CPU figures predict: with V the
 * CPU per verification (all threads, verification only), N node:crypto's and
 * M the main thread's, the ratio is V / (V + M), the ratio to node:crypto
 * N / (V + M), and its ceiling (a free main thread) N / V; the rates' own
 * ceiling is verifyLimitPerSec / nodeCryptoLimitPerSec.
 *
 * With --main-thread-only, only the main-thread-alone phase runs, --rounds
 * times in one process (no pool, no limits): a quick and far less noisy
 * figure for changes to the main thread's work, with the final state hash of
 * each round. Its last line is one JSON object:
 *   {"entries":…,"mainThreadCpuUsPerEntry":[…],"stateHash":…}
 *
 * Otherwise the last line is one JSON object:
 *   {"entries":…,"entriesPerSec":…,"verifyLimitPerSec":…,"ratio":…,
 *    "nodeCryptoLimitPerSec":…,"ratioToNodeCrypto":…,"ceilingToNodeCrypto":…,
 *    "mainThreadCpuUsPerEntry":…,"verifyCpuUsPerEntry":…,"nodeCryptoCpuUsPerEntry":…,"stateHash":…}
 * where ratio = entriesPerSec / verifyLimitPerSec (target ≥ 0.85),
 * ratioToNodeCrypto = entriesPerSec / nodeCryptoLimitPerSec (target ≥ 1.6) and
 * ceilingToNodeCrypto = verifyLimitPerSec / nodeCryptoLimitPerSec (what
 * ratioToNodeCrypto would be with a main thread that cost nothing), and
 * stateHash is the replayed state's hash after the last entry (lower-case hex;
 * a pure speed-up leaves it unchanged).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { LogExportReader } from '@vex/engine';
import { readJsonLines } from '../src/input-source.js';
import { replayLog } from '../src/replay-log.js';
import {
  batchMessageDigests,
  SignatureBatchBuilder,
  validVerdictCode,
  type SignatureBatch,
} from '../src/signature-batch.js';
import { SignatureVerifierPool, type PreloadedSignatureBatch } from '../src/signature-verifier-pool.js';
import { benchLog } from './bench-log.js';

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

const { values } = parseArgs({
  options: {
    entries: { type: 'string' },
    seed: { type: 'string' },
    'attest-every': { type: 'string' },
    workers: { type: 'string' },
    'main-thread-only': { type: 'boolean' },
    rounds: { type: 'string' },
  },
  strict: true,
});
const entryCount = positiveInteger('entries', values.entries, 1_000_000);
const seed = positiveInteger('seed', values.seed, 20_251_121);
const attestEvery = positiveInteger('attest-every', values['attest-every'], Math.max(1, Math.floor(entryCount / 10)));
const workerCount = positiveInteger('workers', values.workers, availableParallelism());
const mainThreadOnly = values['main-thread-only'] === true;
const rounds = positiveInteger('rounds', values.rounds, 5);
if (!mainThreadOnly && values.rounds !== undefined) throw new Error('--rounds goes with --main-thread-only');
/** The replay's default batch size (replay-log.ts), so that the limit is measured on the same batches. */
const batchEntries = 1_024;

const loadText = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
const say = (line: string): void => console.log(line);
const loadAtStart = loadText();
say(
  `replay benchmark: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, availableParallelism ${availableParallelism()}, ${workerCount} workers`,
);

const generationStartedMs = performance.now();
const files = await benchLog({ seed, entries: entryCount, attestEvery, workers: workerCount, log: say });
say(
  files.generated
    ? `log generated in ${((performance.now() - generationStartedMs) / 1000).toFixed(1)} s (cached for reruns)`
    : `log from the cache: ${files.logPath}`,
);
const logBytes = (await stat(files.logPath)).size;

/**
 * The replay's main thread alone: every verdict given as valid (validVerdictCode is 0) without verifying, with
 * the message digests the workers compute beside the verdicts computed before timing (the workers' share).
 */
async function measureMainThreadAlone(): Promise<{ cpuMicrosecondsPerEntry: number; stateHash: string }> {
  const digestsByBatch: string[] = [];
  for await (const batch of logBatches()) digestsByBatch.push(batchMessageDigests(batch));
  let nextBatch = 0;
  const verdictsWithoutVerifying = {
    size: workerCount,
    verify: (batch: SignatureBatch) =>
      Promise.resolve({ verdicts: new Uint8Array(batch.count), verifyNs: 0, digests: digestsByBatch[nextBatch++] }),
  };
  const cpuBefore = process.cpuUsage();
  const mainOnly = await replayLog({
    log: createReadStream(files.logPath, { highWaterMark: 1 << 20 }),
    logDescription: files.logPath,
    attestations: readJsonLines(createReadStream(files.attestationsPath), files.attestationsPath),
    pool: verdictsWithoutVerifying,
    batchEntries,
  });
  const cpu = process.cpuUsage(cpuBefore);
  if (!mainOnly.verified) throw new Error(`the main-thread replay did not verify: ${mainOnly.divergence.message}`);
  return { cpuMicrosecondsPerEntry: (cpu.user + cpu.system) / entryCount, stateHash: mainOnly.stateHash };
}

if (mainThreadOnly) {
  const figures: number[] = [];
  let finalStateHash = '';
  for (let round = 1; round <= rounds; round += 1) {
    const { cpuMicrosecondsPerEntry, stateHash } = await measureMainThreadAlone();
    if (finalStateHash !== '' && stateHash !== finalStateHash)
      throw new Error(`round ${round} ends in state ${stateHash}, the one before in ${finalStateHash}`);
    finalStateHash = stateHash;
    figures.push(cpuMicrosecondsPerEntry);
    say(`main thread alone, round ${round}: ${cpuMicrosecondsPerEntry.toFixed(2)} µs CPU per entry`);
  }
  say(`final state hash ${finalStateHash}; load average ${loadAtStart} at start, ${loadText()} at end`);
  console.log(
    JSON.stringify({
      entries: entryCount,
      mainThreadCpuUsPerEntry: figures.map((figure) => Number(figure.toFixed(2))),
      stateHash: finalStateHash,
    }),
  );
  process.exit(0);
}

const pool = await SignatureVerifierPool.start(workerCount);

/** The log's signed messages in the replay's batches. */
async function* logBatches(): AsyncGenerator<SignatureBatch> {
  const reader = await LogExportReader.open(createReadStream(files.logPath, { highWaterMark: 1 << 20 }));
  let builder = new SignatureBatchBuilder(batchEntries);
  for await (const entry of reader.entries()) {
    builder.add(entry.transaction.publicKey, entry.transaction.signature, entry.transaction.message);
    if (builder.isFull) {
      yield builder.finish();
      builder = new SignatureBatchBuilder(batchEntries);
    }
  }
  if (builder.count > 0) yield builder.finish();
}

/** Every signature of the log, in the replay's batches, moved into the pool's workers (untimed). */
async function preloadLog(pool: SignatureVerifierPool): Promise<PreloadedSignatureBatch[]> {
  const loads: Promise<PreloadedSignatureBatch>[] = [];
  for await (const batch of logBatches()) loads.push(pool.preload(batch, loads.length));
  return Promise.all(loads);
}
const preloaded = await preloadLog(pool);
const preloadedCount = preloaded.reduce((total, batch) => total + batch.count, 0);
if (preloadedCount !== entryCount) throw new Error(`the log holds ${preloadedCount} entries, expected ${entryCount}`);

async function measureLimit(
  pool: SignatureVerifierPool,
  preloaded: readonly PreloadedSignatureBatch[],
): Promise<{ perSecond: number; seconds: number; cpuMicrosecondsPerEntry: number }> {
  const cpuBefore = process.cpuUsage();
  const startedMs = performance.now();
  const results = await Promise.all(preloaded.map((batch) => pool.verifyPreloaded(batch)));
  const seconds = (performance.now() - startedMs) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  for (const { verdicts } of results) {
    if (verdicts.some((code) => code !== validVerdictCode))
      throw new Error('a signature of the benchmark log did not verify');
  }
  return { perSecond: entryCount / seconds, seconds, cpuMicrosecondsPerEntry: (cpu.user + cpu.system) / entryCount };
}

// Warm-up, untimed: the workers' verification code is compiled by the time the timing starts.
await Promise.all(preloaded.slice(0, 8 * workerCount).map((batch) => pool.verifyPreloaded(batch)));

say('');
const limitBefore = await measureLimit(pool, preloaded);
say(
  `verification limit (before): ${Math.round(limitBefore.perSecond).toLocaleString('en-US')} signatures/s in ${limitBefore.seconds.toFixed(2)} s`,
);

const eluBefore = performance.eventLoopUtilization();
const cpuBefore = process.cpuUsage();
const report = await replayLog({
  log: createReadStream(files.logPath, { highWaterMark: 1 << 20 }),
  logDescription: files.logPath,
  attestations: readJsonLines(createReadStream(files.attestationsPath), files.attestationsPath),
  pool,
  batchEntries,
});
const replayCpu = process.cpuUsage(cpuBefore);
const elu = performance.eventLoopUtilization(eluBefore);
if (!report.verified) throw new Error(`the benchmark log did not verify: ${report.divergence.message}`);
if (report.entriesApplied !== entryCount)
  throw new Error(`replayed ${report.entriesApplied} entries, expected ${entryCount}`);
const expectedAttestations = Math.floor(entryCount / attestEvery) + (entryCount % attestEvery === 0 ? 0 : 1);
if (report.attestationsChecked !== expectedAttestations)
  throw new Error(`checked ${report.attestationsChecked} attestations, expected ${expectedAttestations}`);
say(
  `replay: ${Math.round(report.entriesPerSecond).toLocaleString('en-US')} entries/s in ${(report.elapsedMs / 1000).toFixed(2)} s ` +
    `(${report.attestationsChecked} attestations, ${report.flaggedAttestations.length} flagged)`,
);

const limitAfter = await measureLimit(pool, preloaded);
say(
  `verification limit (after):  ${Math.round(limitAfter.perSecond).toLocaleString('en-US')} signatures/s in ${limitAfter.seconds.toFixed(2)} s`,
);
for (const batch of preloaded) pool.drop(batch);
await pool.close();

const mainThreadAlone = await measureMainThreadAlone();
if (mainThreadAlone.stateHash !== report.stateHash)
  throw new Error(
    `the main-thread replay ends in state ${mainThreadAlone.stateHash}, the replay in ${report.stateHash}`,
  );
const mainThreadCpuMicrosecondsPerEntry = mainThreadAlone.cpuMicrosecondsPerEntry;
say(`main thread alone:           ${mainThreadCpuMicrosecondsPerEntry.toFixed(1)} µs CPU per entry`);

// The same limit with node:crypto behind the equation, warmed up the same way.
const nodeCryptoPool = await SignatureVerifierPool.start(workerCount, 'node:crypto');
const nodeCryptoPreloaded = await preloadLog(nodeCryptoPool);
await Promise.all(nodeCryptoPreloaded.slice(0, 8 * workerCount).map((batch) => nodeCryptoPool.verifyPreloaded(batch)));
const nodeCryptoLimit = await measureLimit(nodeCryptoPool, nodeCryptoPreloaded);
say(
  `node:crypto limit:           ${Math.round(nodeCryptoLimit.perSecond).toLocaleString('en-US')} signatures/s in ${nodeCryptoLimit.seconds.toFixed(2)} s`,
);
await nodeCryptoPool.close();
const ratioToNodeCrypto = report.entriesPerSecond / nodeCryptoLimit.perSecond;

const verifyLimitPerSec = (limitBefore.perSecond + limitAfter.perSecond) / 2;
const ratio = report.entriesPerSecond / verifyLimitPerSec;
const mainThreadMicrosecondsPerEntry = (elu.active * 1000) / entryCount;
const replayCpuMicrosecondsPerEntry = (replayCpu.user + replayCpu.system) / entryCount;
const limitCpuMicrosecondsPerEntry = (limitBefore.cpuMicrosecondsPerEntry + limitAfter.cpuMicrosecondsPerEntry) / 2;
const workerMicrosecondsPerVerification = (report.workerVerifyMs * 1000) / entryCount;
const nodeCryptoCpuMicrosecondsPerEntry = nodeCryptoLimit.cpuMicrosecondsPerEntry;
const ceilingToNodeCrypto = verifyLimitPerSec / nodeCryptoLimit.perSecond;
const cpuWithMainThread = limitCpuMicrosecondsPerEntry + mainThreadCpuMicrosecondsPerEntry;
/** The main thread's CPU per entry at which V / (V + M) is 0.85. */
const mainThreadBudget = limitCpuMicrosecondsPerEntry * (1 / 0.85 - 1);

say('');
say(
  `  entries                            ${entryCount.toLocaleString('en-US')} (${(logBytes / 1e6).toFixed(1)} MB export), ${report.attestationsChecked} attestations`,
);
say(`  replay                             ${Math.round(report.entriesPerSecond).toLocaleString('en-US')} entries/s`);
say(
  `  verification limit                 ${Math.round(verifyLimitPerSec).toLocaleString('en-US')} signatures/s (mean of before and after)`,
);
say(`  ratio                              ${ratio.toFixed(3)} (target ≥ 0.85)`);
say(
  `  node:crypto limit                  ${Math.round(nodeCryptoLimit.perSecond).toLocaleString('en-US')} signatures/s (the same rule, OpenSSL behind the equation)`,
);
say(`  ratio to node:crypto               ${ratioToNodeCrypto.toFixed(3)} (target ≥ 1.6)`);
say(
  `  main thread busy                   ${mainThreadMicrosecondsPerEntry.toFixed(2)} µs per entry (event loop utilisation ${(elu.utilization * 100).toFixed(0)} %)`,
);
say(`  process CPU, replay                ${replayCpuMicrosecondsPerEntry.toFixed(1)} µs per entry (all threads)`);
say(`  process CPU, verification only     ${limitCpuMicrosecondsPerEntry.toFixed(1)} µs per entry (all threads)`);
// On a machine with nothing else running, all cores are busy in both measurements, so the rates
// stand in the ratio of CPU time per entry; this figure is far less sensitive to other load.
say(
  `  ratio of CPU time                  ${(limitCpuMicrosecondsPerEntry / replayCpuMicrosecondsPerEntry).toFixed(3)} (verification only ÷ replay, per entry)`,
);
say(`  worker time per verification       ${workerMicrosecondsPerVerification.toFixed(1)} µs during the replay`);
say(`  main thread alone (M)              ${mainThreadCpuMicrosecondsPerEntry.toFixed(1)} µs CPU per entry`);
say(
  `  CPU per verification (V, N)        ${limitCpuMicrosecondsPerEntry.toFixed(1)} µs default library, ${nodeCryptoCpuMicrosecondsPerEntry.toFixed(1)} µs node:crypto (all threads)`,
);
say(
  `  predicted from CPU                 ratio V/(V+M) ${(limitCpuMicrosecondsPerEntry / cpuWithMainThread).toFixed(3)}, ` +
    `to node:crypto N/(V+M) ${(nodeCryptoCpuMicrosecondsPerEntry / cpuWithMainThread).toFixed(3)}`,
);
say(
  `  ceiling to node:crypto             ${ceilingToNodeCrypto.toFixed(3)} by rates (free main thread), ` +
    `N/V ${(nodeCryptoCpuMicrosecondsPerEntry / limitCpuMicrosecondsPerEntry).toFixed(3)} by CPU`,
);
say(`  final state hash                   ${report.stateHash}`);
say(`  main-thread budget for 0.85        ${mainThreadBudget.toFixed(1)} µs CPU per entry (V × (1/0.85 − 1))`);
say(
  `  load average                       ${loadAtStart} at start, ${loadText()} at end (other processes compete for the same cores)`,
);
say('');
console.log(
  JSON.stringify({
    entries: entryCount,
    entriesPerSec: Math.round(report.entriesPerSecond),
    verifyLimitPerSec: Math.round(verifyLimitPerSec),
    ratio: Number(ratio.toFixed(3)),
    nodeCryptoLimitPerSec: Math.round(nodeCryptoLimit.perSecond),
    ratioToNodeCrypto: Number(ratioToNodeCrypto.toFixed(3)),
    ceilingToNodeCrypto: Number(ceilingToNodeCrypto.toFixed(3)),
    mainThreadCpuUsPerEntry: Number(mainThreadCpuMicrosecondsPerEntry.toFixed(1)),
    verifyCpuUsPerEntry: Number(limitCpuMicrosecondsPerEntry.toFixed(1)),
    nodeCryptoCpuUsPerEntry: Number(nodeCryptoCpuMicrosecondsPerEntry.toFixed(1)),
    stateHash: report.stateHash,
  }),
);
