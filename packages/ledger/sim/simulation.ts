/**
 * Deterministic simulation of the whole node (sequencer, ledger, engine,
 * attestations) in one process, in the style of TigerBeetle's VOPR: a seeded
 * workload of traders and the operator runs against ExchangeNode on a
 * simulated disk, with a simulated clock and scheduler, while faults are
 * injected: crashes at any point (also during recovery), loss of unsynced
 * writes, torn writes, failed fsyncs and a full disk. After each crash the
 * node is reopened on the same disk. After every step the simulator checks
 * the node against its own record of what was acknowledged and against an
 * independent replay of the log (log-auditor.ts), and the replayer verifies
 * the exported log and attestations after recoveries and at the end.
 *
 * Determinism: every choice comes from the seed (seeded-random.ts). The node
 * runs with inline signature checks and the simulator's scheduler, and the
 * disk completes writes only when the simulator says so; between two choices
 * the simulator lets every pending microtask run (one turn of the event loop,
 * with no real I/O or timers pending), so what happens next depends on
 * nothing but the choices. docs/testing.md has the rest.
 */
import { pino, type Logger } from 'pino';
import type { SignatureVerifierPool } from '@vex/replayer';
import { LedgerClosedError, LedgerHaltedError } from '../src/errors.js';
import { ExchangeNode, type SubmitResult } from '../src/exchange-node.js';
import { AuditFailure, LogAuditor, type CheckName } from './log-auditor.js';
import { checkWithReplayer } from './replayer-check.js';
import { RunDigest } from './run-digest.js';
import { SeededRandom } from './seeded-random.js';
import { SimulatedDisk, type CrashKind } from './simulated-disk.js';
import type { SimulatedDatabase } from './simulated-database.js';
import { SimulatedClock, SimulatedScheduler } from './simulated-time.js';
import { Workload, type SimulatedRequest } from './workload.js';

export type FaultKind = CrashKind | 'crash-during-recovery' | 'fsync-failure' | 'disk-full';
export const faultKinds: readonly FaultKind[] = [
  'process-crash',
  'power-loss',
  'torn-write',
  'crash-during-recovery',
  'fsync-failure',
  'disk-full',
];

export interface SimulationOptions {
  readonly seed: number;
  /** The run ends once the durable log holds this many entries. */
  readonly entries: number;
  /** Inject faults (default true); without them the run checks the node under a fault-free disk. */
  readonly faults?: boolean;
  /** false: the disk ignores sync (see SimulatedDiskOptions); only to test that the checks catch lost entries. */
  readonly honestSync?: boolean;
  /**
   * The replayer runs after a recovery once this many entries were logged
   * since it last ran, and always at the end. Default: 0 (after every
   * recovery) up to 1,000 entries, a quarter of the run's entries beyond.
   */
  readonly replayerSpacingEntries?: number;
  /** The replayer's signature workers: a running pool, shared by the runs of one process. */
  readonly replayerPool: SignatureVerifierPool;
  /** Called with every event of the run as it is recorded in the digest. */
  readonly trace?: (line: string) => void;
}

export interface SimulationConfiguration {
  readonly traders: number;
  readonly maximumBatchEntries: number;
  readonly snapshotEveryEntries: number;
  readonly attestEveryEntries: number;
  readonly attestEveryMs: number;
  /** Multiplies every fault probability. */
  readonly faultIntensity: number;
}

export interface SimulationReport {
  readonly seed: number;
  readonly configuration: SimulationConfiguration;
  readonly steps: number;
  /** Scheduler callbacks run, timers fired and writes completed. */
  readonly events: number;
  readonly submissions: number;
  readonly refusals: Readonly<Record<string, number>>;
  /** Submissions whose outcome the client never learnt (crash or halt), later retried or abandoned. */
  readonly outcomesUnknown: number;
  readonly entriesLogged: number;
  readonly entriesAcknowledged: number;
  /** The node's attestation records in the log (docs/attestation.md): logged, never submitted. */
  readonly attestationRecords: number;
  readonly entriesLost: number;
  /** Open orders at the end: the size of the books. */
  readonly openOrders: number;
  readonly faults: Readonly<Record<FaultKind, number>>;
  readonly recoveries: number;
  readonly cleanRestarts: number;
  readonly failedOpens: number;
  readonly unsyncedWritesLost: number;
  readonly inFlightWritesLost: number;
  readonly tornEntries: number;
  readonly tornTailsDropped: number;
  readonly replayerRuns: number;
  readonly attestations: number;
  readonly flaggedAttestations: number;
  /** Attestations whose stress figure (checked by the replayer) is not zero, and the largest figure, in USDC units. */
  readonly stressedAttestations: number;
  readonly largestStressShortfall: string;
  /**
   * The perpetuals in the final state (which the replayer reproduced): open
   * positions, and markets whose cumulative funding index moved.
   */
  readonly perps: { readonly openPositions: number; readonly fundingIndexesMoved: number };
  /** Acknowledged requests by kind (workload.ts): shows the margin paths were taken. */
  readonly acknowledged: Readonly<Record<string, number>>;
  readonly checks: Readonly<Record<CheckName, number>>;
  /** SHA-256 over the run's events: equal for every run of the seed. */
  readonly digest: string;
}

/** A failed run: names the seed and step, and how to run it again. */
export class SimulationFailure extends Error {
  override readonly name = 'SimulationFailure';

  constructor(
    readonly seed: number,
    readonly step: number,
    readonly entries: number,
    readonly reason: string,
    /** The last events before the failure, oldest first. */
    readonly recentEvents: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(
      `simulation failed: seed ${seed}, step ${step}: ${reason}\n  reproduce: pnpm sim --seed ${seed} --entries ${entries}`,
      options,
    );
  }
}

interface NodeProcess {
  readonly boot: number;
  readonly database: SimulatedDatabase;
  readonly scheduler: SimulatedScheduler;
  node: ExchangeNode | undefined;
}

interface Submission {
  readonly request: SimulatedRequest;
  settled: boolean;
}

interface FaultRates {
  /** Per scheduling event while the node runs. */
  readonly crash: number;
  /** Per scheduling event while the node recovers. */
  readonly crashDuringRecovery: number;
  /** Per completed write. */
  readonly fsyncFailure: number;
  readonly diskFull: number;
  /** Per step. */
  readonly cleanRestart: number;
}

const startTimeMs = 1_800_000_000_000;
const recentEventsKept = 40;
/** A single wait that takes more scheduling events than this is stuck. */
const maximumEventsPerWait = 100_000;
const maximumRestartAttempts = 50;

function hasErrorCode(error: unknown, code: string): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if ((current as { code?: unknown }).code === code) return true;
  }
  return false;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Lets every pending microtask run: with no real I/O and no real timers pending, the next macrotask is this one. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  return new Simulation(options).run();
}

class Simulation {
  private readonly seed: number;
  private readonly targetEntries: number;
  /** Whether faults are injected now: from the options, and off for the final checks. */
  private faultsActive: boolean;
  private readonly configuration: SimulationConfiguration;
  private readonly rates: FaultRates;
  private readonly replayerSpacingEntries: number;

  private readonly scheduleRandom: SeededRandom;
  private readonly faultRandom: SeededRandom;
  private readonly workloadRandom: SeededRandom;
  private readonly clock = new SimulatedClock(startTimeMs);
  private readonly disk: SimulatedDisk;
  private readonly workload: Workload;
  private readonly auditor: LogAuditor;
  private readonly digest = new RunDigest();
  private readonly logger: Logger;

  private process: NodeProcess | undefined;
  private outstanding: Submission[] = [];
  private uncertain: SimulatedRequest[] = [];
  /** Set by a torn write: the head the next recovery must come back with. */
  private expectedHeadAfterTear: number | undefined;
  /** A check that failed inside a promise callback, rethrown by the next wait. */
  private pendingFailure: unknown;
  private readonly recentEvents: string[] = [];
  private lastKnownHead = 0;
  private replayerHead = -1;

  private step = 0;
  private events = 0;
  private submissions = 0;
  private outcomesUnknown = 0;
  private readonly refusals: Record<string, number> = {};
  private readonly faults = Object.fromEntries(faultKinds.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  private recoveries = 0;
  private cleanRestarts = 0;
  private failedOpens = 0;
  private unsyncedWritesLost = 0;
  private inFlightWritesLost = 0;
  private tornEntries = 0;
  private tornTailsDropped = 0;
  private replayerRuns = 0;
  private attestations = 0;
  private flaggedAttestations = 0;
  private stressedAttestations = 0;
  private largestStressShortfall = 0n;
  private readonly acknowledged: Record<string, number> = {};
  private perps = { openPositions: 0, fundingIndexesMoved: 0 };
  private openOrders = 0;

  constructor(private readonly options: SimulationOptions) {
    if (!Number.isSafeInteger(options.seed) || options.seed < 0)
      throw new RangeError(`the seed must be a non-negative integer, got ${options.seed}`);
    if (!Number.isSafeInteger(options.entries) || options.entries < 1)
      throw new RangeError(`entries must be a positive integer, got ${options.entries}`);
    this.seed = options.seed;
    this.targetEntries = options.entries;
    this.faultsActive = options.faults ?? true;
    const configurationRandom = SeededRandom.stream(this.seed, 'configuration');
    this.scheduleRandom = SeededRandom.stream(this.seed, 'schedule');
    this.faultRandom = SeededRandom.stream(this.seed, 'faults');
    this.workloadRandom = SeededRandom.stream(this.seed, 'workload');
    this.workload = new Workload(this.workloadRandom, this.seed);
    // Small batches, snapshot and attestation intervals, so that every path (torn tails, snapshots, idle attestations) is taken often.
    this.configuration = {
      traders: this.workload.traders.length,
      maximumBatchEntries: configurationRandom.pick([1, 3, 16, 64, 2_048]),
      snapshotEveryEntries: configurationRandom.pick([5, 20, 100, 1_000]),
      attestEveryEntries: configurationRandom.pick([5, 25, 100, 500]),
      attestEveryMs: configurationRandom.pick([100, 500, 1_000, 5_000]),
      faultIntensity: configurationRandom.pick([0.5, 1, 2]),
    };
    const intensity = this.configuration.faultIntensity;
    this.rates = {
      crash: 0.008 * intensity,
      crashDuringRecovery: 0.1 * intensity,
      fsyncFailure: 0.003 * intensity,
      diskFull: 0.003 * intensity,
      cleanRestart: 0.005 * intensity,
    };
    // Each replayer run re-verifies every attestation, and each of those hashes the whole state: spaced out in long runs.
    this.replayerSpacingEntries =
      options.replayerSpacingEntries ?? (options.entries <= 1_000 ? 0 : Math.floor(options.entries / 4));
    this.disk = new SimulatedDisk(SeededRandom.stream(this.seed, 'disk'), { honestSync: options.honestSync ?? true });
    this.auditor = new LogAuditor(this.workload.genesis);
    // Warnings and worse are read for what recovery did; the lines carry real time, so they stay out of the digest.
    this.logger = pino(
      { level: 'warn' },
      {
        write: (line: string) => {
          if (line.includes('dropped a torn tail')) this.tornTailsDropped += 1;
        },
      },
    );
  }

  async run(): Promise<SimulationReport> {
    try {
      const configuration = this.configuration;
      this.record(
        `seed ${this.seed} entries ${this.targetEntries} traders ${configuration.traders} batch ${configuration.maximumBatchEntries} ` +
          `snapshot ${configuration.snapshotEveryEntries} attest ${configuration.attestEveryEntries}/${configuration.attestEveryMs}ms ` +
          `faults ${this.faultsActive ? configuration.faultIntensity : 0}`,
      );
      await this.start();
      const maximumSteps = this.targetEntries * 10 + 2_000;
      while (this.lastKnownHead < this.targetEntries) {
        this.step += 1;
        if (this.step > maximumSteps) {
          throw new AuditFailure(
            'nothing-stuck',
            `the log holds ${this.lastKnownHead} of ${this.targetEntries} entries after ${maximumSteps} steps`,
          );
        }
        await this.runStep();
      }
      await this.finish();
      return this.report();
    } catch (error) {
      throw this.failure(error);
    } finally {
      this.process?.scheduler.abandon();
    }
  }

  private record(line: string): void {
    this.digest.record(line);
    this.note(line);
  }

  /** An event for the trace and the failure report only: it depends on options, not just on the seed, so it stays out of the digest. */
  private note(line: string): void {
    this.recentEvents.push(line);
    if (this.recentEvents.length > recentEventsKept) this.recentEvents.shift();
    this.options.trace?.(line);
  }

  private failure(error: unknown): SimulationFailure {
    if (error instanceof SimulationFailure) return error;
    return new SimulationFailure(this.seed, this.step, this.targetEntries, describe(error), [...this.recentEvents], {
      cause: error,
    });
  }

  private runningNode(): ExchangeNode {
    const node = this.process?.node;
    if (node === undefined) throw new Error('no node is running');
    return node;
  }

  /** One step: time passes, a wave of requests arrives (more may arrive meanwhile), and the simulator waits for every answer. */
  private async runStep(): Promise<void> {
    const node = this.runningNode();
    this.clock.advance(
      this.scheduleRandom.chance(0.04) ? this.scheduleRandom.between(300, 3_000) : this.scheduleRandom.between(0, 25),
    );
    this.record(`step ${this.step} time ${this.clock.nowMs - startTimeMs}`);
    // Clients that never heard back retry some requests with the very same bytes.
    const requests: SimulatedRequest[] = this.uncertain
      .filter(() => this.workloadRandom.chance(0.5))
      .map((request) => ({ ...request, kind: 'resubmission' as const }));
    this.uncertain = [];
    for (let count = this.workloadRandom.between(1, 8); count > 0; count -= 1)
      requests.push(this.workload.next(node.state, this.clock.nowMs));
    for (const request of requests) this.submit(request);
    const outcome = await this.waitUntil(() => this.settled(), { crashRate: this.rates.crash, arrivals: 4 });
    if (outcome === 'crashed') {
      await this.start();
      return;
    }
    if (node.haltedBy !== undefined) {
      await this.restartHaltedNode();
      return;
    }
    await this.auditor.auditStep(node);
    const head = node.head();
    this.lastKnownHead = head.sequence;
    this.record(`head ${head.sequence} ${head.entryHash}`);
    if (this.faultsActive && this.faultRandom.chance(this.rates.cleanRestart)) {
      this.cleanRestarts += 1;
      this.record('clean restart');
      await this.shutDown();
      await this.start();
    }
  }

  /** Every submission answered, and nothing left for the node or the disk to do. */
  private settled(): boolean {
    this.outstanding = this.outstanding.filter((submission) => !submission.settled);
    return this.outstanding.length === 0 && !this.process!.scheduler.hasSoonWork() && !this.disk.hasWriteInFlight();
  }

  private submit(request: SimulatedRequest): void {
    const node = this.runningNode();
    const boot = this.process!.boot;
    const submission: Submission = { request, settled: false };
    this.outstanding.push(submission);
    this.submissions += 1;
    const handle = (body: () => void): void => {
      // A dead process's answers never reach the client.
      if (this.process?.boot !== boot) return;
      submission.settled = true;
      try {
        body();
      } catch (error) {
        this.pendingFailure ??= error;
      }
    };
    node.submit(request.transaction).then(
      (result) => handle(() => this.submitted(request, result)),
      (error: unknown) => handle(() => this.submitFailed(request, error)),
    );
  }

  private submitted(request: SimulatedRequest, result: SubmitResult): void {
    if (result.sequence !== undefined) {
      this.auditor.entryAcknowledged(result.sequence, request.transaction);
      this.record(`acknowledged ${result.sequence} ${request.kind}`);
      this.acknowledged[request.kind] = (this.acknowledged[request.kind] ?? 0) + 1;
      return;
    }
    const code = result.outcome.accepted ? 'ACCEPTED_WITHOUT_SEQUENCE' : result.outcome.rejection.code;
    this.refusals[code] = (this.refusals[code] ?? 0) + 1;
    this.record(`refused ${request.kind} ${code}`);
    if (code === 'DUPLICATE_REQUEST') this.auditor.duplicateClaimed(request.transaction);
    if (result.outcome.accepted)
      throw new AuditFailure('sequences-contiguous', 'an accepted transaction came back without a sequence');
  }

  private submitFailed(request: SimulatedRequest, error: unknown): void {
    if (!(error instanceof LedgerHaltedError) && !(error instanceof LedgerClosedError)) {
      throw new Error(`submit() failed with an unexpected error: ${describe(error)}`, { cause: error });
    }
    this.outcomesUnknown += 1;
    this.uncertain.push(request);
    this.record(`unknown ${request.kind} ${error.name}`);
  }

  /**
   * Drives the node until `done()`: each round lets microtasks run, then picks
   * one thing to happen (a scheduler callback, a due timer, the completion of
   * the oldest write, a new request, or a crash).
   */
  private async waitUntil(
    done: () => boolean,
    options: { crashRate: number; arrivals: number },
  ): Promise<'done' | 'crashed'> {
    let arrivals = options.arrivals;
    for (let round = 0; ; round += 1) {
      await yieldToEventLoop();
      if (this.pendingFailure !== undefined) throw this.pendingFailure;
      if (done()) return 'done';
      if (round > maximumEventsPerWait)
        throw new AuditFailure('nothing-stuck', `still waiting after ${maximumEventsPerWait} scheduling events`);
      const process = this.process!;
      if (this.faultsActive && this.faultRandom.chance(options.crashRate)) {
        this.crash(process.node === undefined);
        return 'crashed';
      }
      if (
        arrivals > 0 &&
        process.node !== undefined &&
        process.node.haltedBy === undefined &&
        this.scheduleRandom.chance(0.15)
      ) {
        arrivals -= 1;
        this.submit(this.workload.next(process.node.state, this.clock.nowMs));
        continue;
      }
      const choices: Array<'callback' | 'timer' | 'write'> = [];
      if (process.scheduler.hasSoonWork()) choices.push('callback');
      if (process.scheduler.hasDueTimer()) choices.push('timer');
      if (this.disk.hasWriteInFlight()) choices.push('write');
      this.auditor.checks['nothing-stuck'] += 1;
      if (choices.length === 0) {
        const waiting = this.outstanding.filter((submission) => !submission.settled).length;
        throw new AuditFailure(
          'nothing-stuck',
          `nothing can happen, yet the wait is not over (${waiting} submissions unanswered)`,
        );
      }
      this.events += 1;
      const choice = this.scheduleRandom.pick(choices);
      if (choice === 'callback') process.scheduler.runNextSoon();
      else if (choice === 'timer') process.scheduler.runNextDueTimer();
      else await this.completeWrite();
    }
  }

  private async completeWrite(): Promise<void> {
    let fault: 'fsync-failure' | undefined;
    if (this.faultsActive) {
      if (this.faultRandom.chance(this.rates.fsyncFailure)) fault = 'fsync-failure';
      else if (this.faultRandom.chance(this.rates.diskFull)) {
        const writes = this.faultRandom.between(1, 3);
        this.disk.fillUp(writes);
        this.faults['disk-full'] += 1;
        this.record(`disk full for ${writes} writes`);
      }
    }
    const completion = await this.disk.completeNextWrite(fault);
    if (completion === 'fsync-failure') this.faults['fsync-failure'] += 1;
    if (completion !== 'written') this.record(`write failed: ${completion}`);
  }

  /** The process dies now, wherever it is. */
  private crash(duringRecovery: boolean): void {
    const kind = this.faultRandom.weighted<CrashKind>([
      ['process-crash', 1],
      ['power-loss', 1],
      ['torn-write', this.disk.oldestWriteCarriesEntries() ? 2 : 0],
    ]);
    const outcome = this.disk.crash(kind);
    this.abandonProcess();
    this.faults[duringRecovery ? 'crash-during-recovery' : kind] += 1;
    this.unsyncedWritesLost += outcome.unsyncedWritesLost;
    this.inFlightWritesLost += outcome.inFlightWritesLost;
    this.tornEntries += outcome.tornEntries;
    if (outcome.tornFromSequence !== undefined) this.expectedHeadAfterTear = outcome.tornFromSequence - 1;
    this.record(
      `crash ${kind}${duringRecovery ? ' during recovery' : ''}: unsynced writes lost ${outcome.unsyncedWritesLost}, ` +
        `in-flight writes lost ${outcome.inFlightWritesLost}, torn entries ${outcome.tornEntries}` +
        (outcome.tornFromSequence === undefined ? '' : ` from ${outcome.tornFromSequence}`),
    );
  }

  /** Forgets the current process: its scheduled work never runs and its unanswered submissions stay unanswered. */
  private abandonProcess(): void {
    this.process?.scheduler.abandon();
    this.process = undefined;
    this.auditor.processCrashed();
    for (const submission of this.outstanding) {
      if (submission.settled) continue;
      this.outcomesUnknown += 1;
      this.uncertain.push(submission.request);
    }
    this.outstanding = [];
  }

  /**
   * The node halted (a failed write): the operator restarts it by closing
   * it, by killing it, or by rebooting the machine, which may also lose
   * the page cache (after a failed fsync, the data of the failed batch).
   */
  private async restartHaltedNode(): Promise<void> {
    const node = this.runningNode();
    const how = this.faultRandom.pick(['close', 'kill', 'reboot'] as const);
    this.record(`halted at ${node.head().sequence}; ${how}`);
    if (how === 'close') {
      await this.shutDown();
    } else {
      const outcome = this.disk.crash(how === 'kill' ? 'process-crash' : 'power-loss');
      this.unsyncedWritesLost += outcome.unsyncedWritesLost;
      this.abandonProcess();
    }
    await this.start();
  }

  /** Closes the node and stops the process cleanly. */
  private async shutDown(): Promise<void> {
    const node = this.runningNode();
    const closing = { done: false };
    node.close().then(
      () => (closing.done = true),
      (error: unknown) => (this.pendingFailure ??= error),
    );
    await this.waitUntil(() => closing.done && this.settled(), { crashRate: 0, arrivals: 0 });
    this.disk.crash('shutdown');
    this.abandonProcess();
  }

  /** Boots a process on the disk and opens the node, again and again until it opens; then audits the recovery. */
  private async start(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      if (attempt > maximumRestartAttempts)
        throw new AuditFailure('nothing-stuck', `the node did not open in ${maximumRestartAttempts} attempts`);
      const database = await this.disk.boot();
      const scheduler = new SimulatedScheduler(this.clock);
      const process: NodeProcess = { boot: database.boot, database, scheduler, node: undefined };
      this.process = process;
      // Filled in by the promise callbacks (an object, because TypeScript does not follow assignments made in callbacks).
      const opening: { node?: ExchangeNode; error?: unknown } = {};
      ExchangeNode.open({
        dataDirectory: `simulated-disk-${this.seed}`,
        genesis: this.workload.genesis,
        database,
        verifySignaturesInline: true,
        scheduler,
        clock: () => this.clock.nowMs,
        logger: this.logger,
        maximumBatchEntries: this.configuration.maximumBatchEntries,
        snapshotEveryEntries: this.configuration.snapshotEveryEntries,
        attestationSigningSeed: this.workload.operator.seed,
        attestEveryEntries: this.configuration.attestEveryEntries,
        attestEveryMs: this.configuration.attestEveryMs,
      }).then(
        (node) => (opening.node = node),
        (error: unknown) => (opening.error = error ?? new Error('open failed')),
      );
      const outcome = await this.waitUntil(
        () => (opening.node !== undefined || opening.error !== undefined) && this.settled(),
        {
          crashRate: this.rates.crashDuringRecovery,
          arrivals: 0,
        },
      );
      if (outcome === 'crashed') continue;
      const openError = opening.error;
      if (openError !== undefined) {
        // A full disk or a failed sync during recovery: the open fails and the operator tries again.
        if (hasErrorCode(openError, 'ENOSPC') || hasErrorCode(openError, 'EIO')) {
          this.failedOpens += 1;
          this.record(`open failed: ${hasErrorCode(openError, 'ENOSPC') ? 'disk full' : 'fsync failure'}`);
          this.disk.crash('process-crash');
          this.abandonProcess();
          continue;
        }
        throw new AuditFailure('recovery-succeeds', `the node refuses to open its own disk: ${describe(openError)}`);
      }
      const node = opening.node!;
      this.auditor.checks['recovery-succeeds'] += 1;
      process.node = node;
      node.subscribe((entry) => {
        if (this.process?.boot !== process.boot) return;
        this.auditor.entryPublished(entry);
      });
      this.recoveries += 1;
      const head = node.head();
      this.record(`opened boot ${process.boot} at ${head.sequence} ${head.entryHash}`);
      await this.auditor.auditRecovery(node, this.expectedHeadAfterTear);
      this.expectedHeadAfterTear = undefined;
      this.lastKnownHead = head.sequence;
      if (this.replayerHead < 0 || head.sequence - this.replayerHead >= Math.max(1, this.replayerSpacingEntries))
        await this.runReplayer(node);
      return;
    }
  }

  private async runReplayer(node: ExchangeNode): Promise<void> {
    this.auditor.checks['replayer-accepts-log-and-attestations'] += 1;
    const verdict = await checkWithReplayer(node, this.options.replayerPool);
    this.replayerRuns += 1;
    this.replayerHead = node.head().sequence;
    this.attestations = verdict.attestations;
    this.flaggedAttestations = verdict.flaggedAttestations;
    this.stressedAttestations = verdict.stressedAttestations;
    this.largestStressShortfall = verdict.largestStressShortfall;
    this.note(
      `replayer verified ${verdict.entries} entries and ${verdict.attestations} attestations (${verdict.flaggedAttestations} flagged)`,
    );
  }

  /**
   * The end: time passes so that the last entries are attested, the replayer
   * checks everything, and a clean restart must bring back the same log and
   * state.
   */
  private async finish(): Promise<void> {
    this.step += 1;
    this.record(`finish at step ${this.step}`);
    this.faultsActive = false;
    this.disk.freeSpace();
    this.clock.advance(this.configuration.attestEveryMs + 1);
    await this.waitUntil(() => this.settled() && !this.process!.scheduler.hasDueTimer(), { crashRate: 0, arrivals: 0 });
    let node = this.runningNode();
    await this.auditor.auditStep(node);
    await this.runReplayer(node);
    const before = node.head();
    await this.shutDown();
    await this.start();
    node = this.runningNode();
    const after = node.head();
    if (after.sequence !== before.sequence || after.entryHash !== before.entryHash) {
      throw new AuditFailure(
        'acknowledged-entries-survive',
        `a clean restart moved the head from ${before.sequence} to ${after.sequence}`,
      );
    }
    this.openOrders = node.state.orders.size;
    this.perps = {
      openPositions: node.state.accountList.reduce((sum, account) => sum + account.positions.size, 0),
      fundingIndexesMoved: node.state.markets.filter(
        (market) => (market.perp?.funding.cumulativeFundingIndex ?? 0n) !== 0n,
      ).length,
    };
    this.record(`final head ${after.sequence} ${after.entryHash} state ${this.auditor.replayStateHash()}`);
    await this.shutDown();
  }

  private report(): SimulationReport {
    return {
      seed: this.seed,
      configuration: this.configuration,
      steps: this.step,
      events: this.events,
      submissions: this.submissions,
      refusals: { ...this.refusals },
      outcomesUnknown: this.outcomesUnknown,
      entriesLogged: this.lastKnownHead,
      entriesAcknowledged: this.auditor.acknowledgedEntries,
      attestationRecords: this.auditor.attestationRecordEntries,
      entriesLost: this.auditor.entriesLost,
      openOrders: this.openOrders,
      faults: { ...this.faults },
      recoveries: this.recoveries,
      cleanRestarts: this.cleanRestarts,
      failedOpens: this.failedOpens,
      unsyncedWritesLost: this.unsyncedWritesLost,
      inFlightWritesLost: this.inFlightWritesLost,
      tornEntries: this.tornEntries,
      tornTailsDropped: this.tornTailsDropped,
      replayerRuns: this.replayerRuns,
      attestations: this.attestations,
      flaggedAttestations: this.flaggedAttestations,
      stressedAttestations: this.stressedAttestations,
      largestStressShortfall: this.largestStressShortfall.toString(),
      perps: this.perps,
      acknowledged: { ...this.acknowledged },
      checks: { ...this.auditor.checks },
      digest: this.digest.hex(),
    };
  }
}
