/**
 * The simulator's command line (`pnpm sim`).
 *
 *   pnpm sim --seed 7 --entries 2000     one seed
 *   pnpm sim --seeds 100 --entries 5000  100 seeds from a random first seed (printed)
 *   pnpm sim --seeds 20 --seed 1000      seeds 1000…1019
 *
 * Options: --no-faults (a fault-free disk), --verbose (print every event),
 * --replayer-spacing <entries> (see SimulationOptions). A failing run prints
 * its seed, step, the events before the failure and the command that runs it
 * again, and the command exits with status 1.
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SignatureVerifierPool } from '@vex/replayer';
import { checkNames, type CheckName } from './log-auditor.js';
import { SimulationFailure, faultKinds, runSimulation, type FaultKind, type SimulationReport } from './simulation.js';

function integerOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value))
    throw new Error(`--${name} must be a whole number, not ${text}`);
  return value;
}

function sumOf<K extends string>(
  reports: readonly SimulationReport[],
  keys: readonly K[],
  pick: (report: SimulationReport) => Readonly<Record<K, number>>,
): Record<K, number> {
  const totals = Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
  for (const report of reports) for (const key of keys) totals[key] += pick(report)[key];
  return totals;
}

function formatCounts(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      entries: { type: 'string' },
      'no-faults': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      'replayer-spacing': { type: 'string' },
    },
  });
  const entries = integerOption('entries', values.entries, 1_000);
  const seedCount = integerOption('seeds', values.seeds, 1);
  // Without --seed, explore: a random first seed, printed so that any run can be repeated.
  const firstSeed = integerOption('seed', values.seed, randomInt(0, 2 ** 31));
  const replayerSpacingEntries =
    values['replayer-spacing'] === undefined
      ? undefined
      : integerOption('replayer-spacing', values['replayer-spacing'], 0);
  process.stdout.write(
    `simulating ${seedCount} seed(s) from ${firstSeed}, ${entries} entries each${values['no-faults'] ? ', no faults' : ''}\n`,
  );

  const replayerPool = await SignatureVerifierPool.start(1);
  const reports: SimulationReport[] = [];
  const started = performance.now();
  try {
    for (let seed = firstSeed; seed < firstSeed + seedCount; seed += 1) {
      const seedStarted = performance.now();
      const report = await runSimulation({
        seed,
        entries,
        faults: !values['no-faults'],
        replayerPool,
        ...(replayerSpacingEntries === undefined ? {} : { replayerSpacingEntries }),
        ...(values.verbose ? { trace: (line: string) => process.stdout.write(`  ${line}\n`) } : {}),
      });
      reports.push(report);
      const crashes = faultKinds.reduce((sum, kind) => sum + report.faults[kind], 0);
      process.stdout.write(
        `seed ${seed}: ${report.entriesLogged} entries, ${report.steps} steps, ${crashes} faults, ${report.recoveries} opens, ` +
          `lost ${report.entriesLost}, digest ${report.digest.slice(0, 16)} (${((performance.now() - seedStarted) / 1_000).toFixed(1)} s)\n`,
      );
    }
  } catch (error) {
    if (!(error instanceof SimulationFailure)) throw error;
    process.stdout.write(
      `\n${error.message}\n  cause: ${error.cause instanceof Error ? error.cause.stack : String(error.cause)}\n  last events:\n`,
    );
    for (const line of error.recentEvents) process.stdout.write(`    ${line}\n`);
    return 1;
  } finally {
    await replayerPool.close();
  }

  const faults = sumOf<FaultKind>(reports, faultKinds, (report) => report.faults);
  const checks = sumOf<CheckName>(reports, checkNames, (report) => report.checks);
  const total = (pick: (report: SimulationReport) => number): number =>
    reports.reduce((sum, report) => sum + pick(report), 0);
  const lines = [
    '',
    `seeds:                 ${reports.length} (${firstSeed}…${firstSeed + reports.length - 1})`,
    `steps:                 ${total((report) => report.steps)} (${total((report) => report.events)} scheduling events)`,
    `submissions:           ${total((report) => report.submissions)} (${total((report) => report.outcomesUnknown)} with unknown outcome)`,
    `entries logged:        ${total((report) => report.entriesLogged)}`,
    `entries acknowledged:  ${total((report) => report.entriesAcknowledged)}`,
    `entries lost:          ${total((report) => report.entriesLost)}`,
    `faults injected:       ${formatCounts(faults)}`,
    `recoveries:            ${total((report) => report.recoveries)} opens, ${total((report) => report.failedOpens)} failed opens, ${total((report) => report.cleanRestarts)} clean restarts`,
    `writes lost:           ${total((report) => report.unsyncedWritesLost)} unsynced, ${total((report) => report.inFlightWritesLost)} in flight; ` +
      `${total((report) => report.tornEntries)} torn entries, ${total((report) => report.tornTailsDropped)} torn tails dropped`,
    `replayer:              ${total((report) => report.replayerRuns)} runs; last runs checked ${total((report) => report.attestations)} attestations (${total((report) => report.flaggedAttestations)} flagged)`,
    `margin:                ${['index-price', 'lend', 'borrow', 'margin-order', 'liquidate', 'coverage-deposit']
      .map((kind) => `${total((report) => report.acknowledged[kind] ?? 0)} ${kind}`)
      .join(', ')} acknowledged; ${total((report) => report.stressedAttestations)} attestations with a stress figure`,
    `perps:                 ${total((report) => report.acknowledged['perp-order'] ?? 0)} perp-order acknowledged; ` +
      `final states: ${total((report) => report.perps.openPositions)} open positions, ` +
      `${total((report) => report.perps.fundingIndexesMoved)} funding indexes moved`,
    `checks run:            ${Object.values(checks).reduce((sum, count) => sum + count, 0)} (${formatCounts(checks)})`,
    `time:                  ${((performance.now() - started) / 1_000).toFixed(1)} s`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 2;
  },
);
