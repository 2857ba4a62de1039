/** Small helpers shared by the margin benchmarks (margin.bench.ts, stress.bench.ts, margin-attest.bench.ts). */
import { execute, type ExchangeState, type Instruction } from '../src/index.js';

/** What timedExecution measured: wall and CPU seconds (all threads, GC included), accepted entries and liquidations. */
export interface ExecutionTiming {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly accepted: number;
  readonly liquidations: number;
}

/** Runs the stream through execute(), timed by the wall clock and the process's CPU time. */
export function timedExecution(
  state: ExchangeState,
  stream: ReadonlyArray<readonly [string, Instruction, number]>,
): ExecutionTiming {
  let accepted = 0;
  let liquidations = 0;
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  for (const [signer, instruction, timeMs] of stream) {
    const outcome = execute(state, signer, instruction, timeMs);
    if (outcome.accepted) {
      accepted += 1;
      if (instruction.kind === 'liquidate') liquidations += 1;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStarted);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, accepted, liquidations };
}

/** The positive integer after `--<name>` on the command line, or `fallback`. */
export function positiveIntegerArgument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`bad --${name}`);
  return value;
}

/** A distinct 32-byte account key (base64) for each index: the index + 1, big-endian, then zeros. */
export function indexedKey(index: number): string {
  const bytes = Buffer.alloc(32);
  bytes.writeUInt32BE(index + 1, 0);
  return bytes.toString('base64');
}

/** Executes a set-up instruction that must be accepted. */
export function mustExecute(state: ExchangeState, signer: string, instruction: Instruction, timeMs: number): void {
  const outcome = execute(state, signer, instruction, timeMs);
  if (!outcome.accepted)
    throw new Error(`setup ${instruction.kind}: ${outcome.rejection.code} ${outcome.rejection.message}`);
}

/** The lending parameters both margin benchmarks list their assets with (weights, IMF/MMF and moves apart). */
export const benchListing = {
  haircutPenalty: '0',
  imfFactor: '0',
  mmfFactor: '0',
  minimumBorrowRate: '0.01',
  optimalUtilization: '0.8',
  optimalBorrowRate: '0.1',
  maximumBorrowRate: '1',
  maxUtilization: '0.95',
  lendFee: '0.1',
  liquidationFee: '0.01',
  liquidationBand: '0.05',
  stressShock: '0.3',
  coveragePoolWithdrawalDelayMs: 1000,
};

/** The median of `values` (the upper one of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Wall clock and process CPU (all threads) of one call, in milliseconds. */
export function timeCall(run: () => unknown): { wallMs: number; cpuMs: number } {
  const cpu = process.cpuUsage();
  const started = performance.now();
  run();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}
