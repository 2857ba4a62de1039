/**
 * Crash test: real server processes, real LevelDB, no mocks.
 *
 * The server (`node --import tsx packages/api/src/main.ts`) runs on a fresh
 * temporary DATA_DIR. A few traders are funded with operator deposits signed
 * by the key the server wrote to operator-key.json. Then, CRASH_POINTS times
 * (default 8):
 *
 *   1. a load of concurrent signed order and cancel requests runs (64
 *      connections, all busy), and after a random number of answers (seeded
 *      PRNG: the seed is printed; CRASH_SEED=<seed> repeats a run) the server
 *      gets SIGKILL while requests are in flight; every 2xx answer is kept
 *      with its request (the seed fixes the workload and the kill points,
 *      counted in answers, not the exact timing);
 *   2. the server is restarted on the same DATA_DIR (a recovery error fails
 *      the test with its message) and, before anything else is submitted:
 *      (a) every request acknowledged so far, in this or an earlier life, is
 *          in the exported log (GET /api/v1/log?from=1, read with
 *          readLogExport), matched by its signature, with exactly the signed
 *          message bytes and key, and the replayed outcome agrees with the
 *          answer the client got (order id, clientId, status; the sequence of
 *          operator transactions);
 *      (b) the chain is intact: readLogExport checks every previousHash, the
 *          trailer and the genesis hash; sequences are 1..N; the head matches
 *          GET /api/v1/status and the recovery log line;
 *      (c) the state hash the node recovered (its "ledger recovered" log
 *          line; GET /api/v1/status does not expose it) equals stateHashHex of
 *          an in-process replay of the export from createState(genesis),
 *          every entry accepted, signatures checked by the engine. The replay
 *          is incremental (so that hundreds of crash points stay affordable):
 *          the state is kept from the previous check, the export's entry at
 *          the previous check's head must still have the hash verified then
 *          (the chain makes the whole prefix identical), and only the entries
 *          after it are applied; the final check also replays the whole
 *          export afresh;
 *      and nothing is in the log twice (signature, and public key + message);
 *      unacknowledged requests may or may not be there;
 *   3. a sample of the unacknowledged requests is sent again (a client
 *      retrying after the outage): one that is in the log must be refused as
 *      DUPLICATE_REQUEST, one that is not must not be.
 *
 * Finally SIGTERM must shut the server down cleanly (exit 0), and a restart
 * after it repeats every check. The data directory is removed on success and kept (its
 * path printed) on failure. The last line is a JSON object of the figures.
 *
 * Env: CRASH_POINTS (default 8), CRASH_SEED, CRASH_REQUESTS (per life, default
 * 1,200), CRASH_CONNECTIONS (default 64). Past 10,000 entries (about 18 crash
 * points) recovery starts from a snapshot instead of the genesis. `pnpm
 * test:crash` is the full run: 200 crash points.
 *
 * The server keeps its default rate limits (3,000 requests per 10 s per IP,
 * 1,000 per API key), so each life stays well below them.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apply, createState, messageDigest, stateHashHex, type ExchangeState } from '@vex/engine';
import { readLogExport, type LogExport } from '@vex/engine';
import {
  Ed25519Key,
  OrderFlow,
  Prng,
  ServerProcess,
  fundingRequests,
  runLoad,
  sendSequentially,
  type RequestResult,
  type SignedRequest,
} from './load-generator.js';

const repositoryRoot = resolve(import.meta.dirname, '../../..');
const crashPoints = positiveEnv('CRASH_POINTS', 8);
const requestsPerLife = positiveEnv('CRASH_REQUESTS', 1_200);
const connections = positiveEnv('CRASH_CONNECTIONS', 64);
const seed =
  process.env.CRASH_SEED !== undefined && process.env.CRASH_SEED !== ''
    ? Number(process.env.CRASH_SEED) >>> 0
    : (Date.now() ^ (process.pid << 16)) >>> 0;
const traderCount = 6;
const resubmitPerCrash = 100;

function positiveEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not ${text}`);
  return value;
}

interface Acknowledged {
  readonly request: SignedRequest;
  readonly answer: Record<string, unknown>;
  readonly life: number;
}

interface LogIndexEntry {
  readonly sequence: number;
  readonly message: string;
  readonly publicKey: string;
  /** The order the entry's first instruction placed or cancelled, as the replay gives it; undefined for other results. */
  readonly order: { readonly id: string; readonly clientId: number | null; readonly status: string } | undefined;
  /** Why the first instruction has no order, for the failure message. */
  readonly firstResult: string;
}

interface Verified {
  readonly entries: number;
  readonly bySignature: ReadonlyMap<string, LogIndexEntry>;
  /** Entries this check replayed (those added since the previous check). */
  readonly replayed: number;
}

const b64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

async function fetchExport(url: string): Promise<LogExport> {
  const response = await fetch(`${url}/api/v1/log?from=1`, { signal: AbortSignal.timeout(120_000) });
  if (response.status !== 200) throw new Error(`GET /api/v1/log answered ${response.status}: ${await response.text()}`);
  return readLogExport(new Uint8Array(await response.arrayBuffer()));
}

/** The JSON of the server's "ledger recovered" line in this life's output. */
function recoveryLine(logText: string): {
  entries: number;
  stateHash: string;
  headHash: string;
  replayed: number;
  snapshot: number | null;
} {
  const lines = logText.split('\n');
  let index = lines.length - 1;
  while (index >= 0 && !lines[index]!.includes('"ledger recovered')) index -= 1;
  if (index < 0) throw new Error('the restarted server logged no "ledger recovered" line');
  const recovered = JSON.parse(lines[index]!) as {
    entries: number;
    stateHash: string;
    headHash: string;
    replayed: number;
    snapshot: number | null;
  };
  // Start-up may then append the record of the latest attestation (docs/attestation.md, "Attestation records"): the head is that record.
  const recordLine = lines.slice(index + 1).find((line) => line.includes('"ledger: recorded the latest attestation'));
  if (recordLine === undefined) return recovered;
  const record = JSON.parse(recordLine) as { sequence: number; entryHash: string; stateHash: string };
  return { ...recovered, entries: record.sequence, stateHash: record.stateHash, headHash: record.entryHash };
}

/**
 * Checks (a) to (c) and uniqueness on each freshly restarted server. The
 * replay is incremental, so that hundreds of crash points stay affordable:
 * the export is fetched and chain-checked whole every time, its prefix up to
 * the previous check's head must end in the very entry hash that check
 * verified (the chain then makes the whole prefix identical), and only the
 * entries after it are applied, signatures checked, to the state kept from
 * the previous check. That state is thus exactly a fresh replay of the whole
 * export from createState(genesis); `replayFromGenesis` redoes it from
 * scratch for the final check.
 */
class LogVerifier {
  private state: ExchangeState | undefined;
  private readonly bySignature = new Map<string, LogIndexEntry>();
  private readonly digests = new Set<string>();
  private verifiedEntries = 0;
  private verifiedHeadHash = '';

  async verify(
    server: ServerProcess,
    operatorPublicKey: string,
    acknowledged: readonly Acknowledged[],
    life: number,
  ): Promise<Verified> {
    const status = (await (await fetch(`${server.url}/api/v1/status`)).json()) as {
      sequence: number;
      entryHash: string;
    };
    const exported = await fetchExport(server.url);
    const recovered = recoveryLine(await readFile(server.logFile, 'utf8'));

    // (b) The chain: readLogExport checked the genesis hash, every previousHash and the trailer.
    expect(exported.firstSequence).toBe(1);
    expect(exported.genesis.operatorKeys).toEqual([operatorPublicKey]);
    expect(exported.genesis.feeAccount).toBe(operatorPublicKey);
    const entries = exported.entries;
    for (let index = 0; index < entries.length; index += 1) {
      if (entries[index]!.sequence !== index + 1)
        throw new Error(`life ${life}: the export's entry ${index + 1} says it is entry ${entries[index]!.sequence}`);
      if (index > 0 && hex(entries[index]!.previousHash) !== hex(entries[index - 1]!.entryHash)) {
        throw new Error(`life ${life}: entry ${index + 1} does not chain to entry ${index}`);
      }
    }
    expect(status.sequence).toBe(entries.length);
    expect(recovered.entries).toBe(entries.length);
    expect(status.entryHash).toBe(hex(exported.lastHash));
    expect(recovered.headHash).toBe(hex(exported.lastHash));
    // Durable entries never go away: the previous check's head is still there, with the same hash.
    if (this.verifiedEntries > 0) {
      if (entries.length < this.verifiedEntries)
        throw new Error(
          `life ${life}: the log has ${entries.length} entries, fewer than the ${this.verifiedEntries} verified before`,
        );
      const previousHead = hex(entries[this.verifiedEntries - 1]!.entryHash);
      if (previousHead !== this.verifiedHeadHash)
        throw new Error(`life ${life}: entry ${this.verifiedEntries} changed since it was verified`);
    }

    // (c) Replay, signatures checked by the engine, every entry accepted; nothing twice.
    this.state ??= createState(exported.genesis);
    const firstNew = this.verifiedEntries;
    for (const entry of entries.slice(firstNew)) this.index(this.state, entry, life);
    this.verifiedEntries = entries.length;
    this.verifiedHeadHash = hex(exported.lastHash);
    expect(stateHashHex(this.state)).toBe(recovered.stateHash);

    // (a) Every acknowledged request, with what its answer said.
    for (const { request, answer, life: ackLife } of acknowledged) {
      const entry = this.bySignature.get(request.signature);
      if (entry === undefined)
        throw new Error(
          `life ${life}: a request acknowledged in life ${ackLife} is missing from the log: ${request.message}`,
        );
      const differences: string[] = [];
      if (entry.message !== request.message) differences.push(`message ${entry.message}`);
      if (entry.publicKey !== request.publicKey) differences.push(`public key ${entry.publicKey}`);
      if (request.kind === 'transaction') {
        if (answer.sequence !== entry.sequence)
          differences.push(`sequence ${entry.sequence}, answered ${String(answer.sequence)}`);
      } else if (entry.order === undefined) {
        differences.push(`replays to ${entry.firstResult}`);
      } else {
        const order = entry.order;
        if (answer.id !== order.id) differences.push(`order id ${order.id}, answered ${String(answer.id)}`);
        if (answer.clientId !== order.clientId)
          differences.push(`clientId ${order.clientId}, answered ${String(answer.clientId)}`);
        if (answer.status !== order.status)
          differences.push(`status ${order.status}, answered ${String(answer.status)}`);
        if (request.kind === 'cancel' && order.status !== 'Cancelled')
          differences.push(`a cancel that left the order ${order.status}`);
      }
      if (differences.length > 0) {
        throw new Error(
          `life ${life}: entry ${entry.sequence} (${request.kind}, acknowledged in life ${ackLife}) differs from its answer: ${differences.join('; ')}`,
        );
      }
    }
    return { entries: entries.length, bySignature: this.bySignature, replayed: entries.length - firstNew };
  }

  /** The whole export replayed afresh from the genesis: its state hash. */
  static replayFromGenesis(exported: LogExport): string {
    const state = createState(exported.genesis);
    for (const entry of exported.entries) {
      const outcome = apply(state, { logTimeMs: entry.logTimeMs, transaction: entry.transaction });
      if (!outcome.accepted)
        throw new Error(`entry ${entry.sequence} is rejected on a fresh replay: ${outcome.rejection.code}`);
    }
    return stateHashHex(state);
  }

  private index(state: ExchangeState, entry: LogExport['entries'][number], life: number): void {
    const outcome = apply(state, { logTimeMs: entry.logTimeMs, transaction: entry.transaction });
    if (!outcome.accepted)
      throw new Error(
        `life ${life}: entry ${entry.sequence} is rejected on replay: ${outcome.rejection.code} ${outcome.rejection.message}`,
      );
    const signature = b64(entry.transaction.signature);
    const digest = messageDigest(entry.transaction.publicKey, entry.transaction.message);
    // Nothing twice: neither the same signature nor the same signed message of the same key.
    if (this.bySignature.has(signature))
      throw new Error(
        `life ${life}: signature ${signature} is in the log twice (entries ${this.bySignature.get(signature)!.sequence} and ${entry.sequence})`,
      );
    if (this.digests.has(digest))
      throw new Error(`life ${life}: entry ${entry.sequence} repeats an earlier signed message`);
    this.digests.add(digest);
    const result = outcome.results[0];
    const order = result !== undefined && result.ok && result.value.kind === 'order' ? result.value.order : undefined;
    this.bySignature.set(signature, {
      sequence: entry.sequence,
      message: Buffer.from(entry.transaction.message).toString('utf8'),
      publicKey: b64(entry.transaction.publicKey),
      order:
        order === undefined
          ? undefined
          : { id: String(order.orderId), clientId: order.clientId ?? null, status: order.status },
      firstResult:
        result === undefined
          ? 'no result'
          : result.ok
            ? `a ${result.value.kind} result`
            : `the rejection ${result.rejection.code}`,
    });
  }
}

function isAcknowledged(result: RequestResult): boolean {
  return result.status >= 200 && result.status < 300;
}

describe('crash recovery of the node behind the HTTP API', () => {
  let dataRoot: string | undefined;
  let server: ServerProcess | undefined;
  let failed = true;

  afterAll(async () => {
    if (server !== undefined && !server.hasExited) await server.stop('SIGKILL');
    if (dataRoot !== undefined) {
      if (failed) console.log(`crash test: kept ${dataRoot} for inspection (seed ${seed})`);
      else await rm(dataRoot, { recursive: true, force: true });
    }
  });

  it(
    `keeps every acknowledged request across ${crashPoints} SIGKILLs (CRASH_SEED=${seed})`,
    async () => {
      console.log(
        `crash test: seed ${seed} (repeat with CRASH_SEED=${seed}), ${crashPoints} crash points, ${requestsPerLife} requests per life, ${connections} connections`,
      );
      const startedAt = performance.now();
      const loadAtStart = loadavg()[0]!;
      const verifier = new LogVerifier();
      let recoveredFromSnapshot = 0;
      dataRoot = await mkdtemp(join(tmpdir(), 'vex-crash-'));
      const dataDirectory = join(dataRoot, 'data');
      let life = 0;
      const start = async (): Promise<ServerProcess> => {
        life += 1;
        return ServerProcess.start({
          args: ['--import', 'tsx', 'packages/api/src/main.ts'],
          cwd: repositoryRoot,
          env: { PORT: '0', DATA_DIR: dataDirectory, LOG_LEVEL: 'info' },
          logFile: join(dataRoot!, `server-${life}.log`),
        });
      };

      server = await start();
      const keyFile = JSON.parse(await readFile(join(dataDirectory, 'operator-key.json'), 'utf8')) as {
        secret: string;
        publicKey: string;
      };
      const operator = Ed25519Key.fromSecret(keyFile.secret);
      expect(operator.apiKey).toBe(keyFile.publicKey);
      expect(server.operatorPublicKey).toBe(keyFile.publicKey);

      const random = new Prng(seed);
      const traders = Array.from({ length: traderCount }, () => new Ed25519Key(random.bytes(32)));
      const flow = new OrderFlow({ seed: random.nextUint32(), traders, cancelLag: 150 });
      const acknowledged: Acknowledged[] = [];
      const funding = fundingRequests(operator, traders, Date.now());
      const fundingAnswers = await sendSequentially(server.url, funding);
      funding.forEach((request, index) =>
        acknowledged.push({ request, answer: JSON.parse(fundingAnswers[index]!.body), life }),
      );

      const totals = {
        acknowledged: 0,
        unacknowledged: 0,
        unacknowledgedInLog: 0,
        resubmitted: 0,
        duplicatesRefused: 0,
        resubmittedAccepted: 0,
        inFlightAtKill: 0,
      };
      for (let point = 1; point <= crashPoints; point += 1) {
        // 1. Load, and SIGKILL after a random number of answers.
        const requests = flow.batch(requestsPerLife, Date.now());
        const killAfter = 1 + random.below(Math.floor(requestsPerLife * 0.85));
        const victim = server;
        let killedAt: number | undefined;
        let answered = 0;
        const run = runLoad(requests, {
          url: victim.url,
          connections,
          mode: { kind: 'closed' },
          deadlineMs: 60_000,
          onResult: (result) => {
            if (result.status !== 0) answered += 1;
            if (killedAt === undefined && answered >= killAfter) {
              killedAt = answered;
              victim.kill('SIGKILL');
              run.stop();
            }
          },
        });
        const results = await run.done;
        const exit = await victim.exited;
        if (killedAt === undefined)
          throw new Error(
            `crash point ${point}: the load finished (${results.length} answers) before the kill after ${killAfter}`,
          );
        expect(exit.signal).toBe('SIGKILL');
        const acknowledgedNow = results.filter(isAcknowledged);
        for (const result of acknowledgedNow) {
          acknowledged.push({
            request: requests[result.index]!,
            answer: JSON.parse(result.body) as Record<string, unknown>,
            life,
          });
        }
        const unacknowledged = results
          .filter((result) => !isAcknowledged(result))
          .map((result) => requests[result.index]!);
        const failedInFlight = results.filter((result) => result.status === 0).length;
        const rateLimited = results.filter((result) => result.status === 429).length;
        expect(rateLimited).toBe(0);

        // 2. Restart and check everything before any new request.
        server = await start();
        const verified = await verifier.verify(server, operator.apiKey, acknowledged, life);
        const unacknowledgedInLog = unacknowledged.filter((request) =>
          verified.bySignature.has(request.signature),
        ).length;
        const recovered = recoveryLine(server.logText());
        if (recovered.snapshot !== null) recoveredFromSnapshot += 1;
        console.log(
          `crash point ${point}: killed after ${killedAt} answers; ${acknowledgedNow.length} acknowledged, ${failedInFlight} without an answer ` +
            `(in flight or not yet sent), ${unacknowledged.length - failedInFlight} refused; log has ${verified.entries} entries ` +
            `(${unacknowledgedInLog} unacknowledged requests made it into the log); recovered ${recovered.snapshot === null ? 'from the genesis' : `from snapshot ${recovered.snapshot}`}, ` +
            `${recovered.replayed} replayed, state ${recovered.stateHash.slice(0, 16)}… ` +
            `= replay of the export (${verified.replayed} new entries); all ${acknowledged.length} acknowledged requests so far present`,
        );

        // 3. Clients retry some unanswered requests: the ones already logged are duplicates, the others are not.
        const retry = unacknowledged.filter((request) => request.kind !== 'transaction').slice(0, resubmitPerCrash);
        const retryRun = runLoad(retry, {
          url: server.url,
          connections: 16,
          mode: { kind: 'closed' },
          deadlineMs: 30_000,
        });
        for (const result of await retryRun.done) {
          const request = retry[result.index]!;
          const wasLogged = verified.bySignature.has(request.signature);
          const code =
            result.status === 0
              ? `error ${result.error}`
              : ((JSON.parse(result.body) as { code?: string }).code ?? 'ok');
          if (wasLogged) {
            expect(result.status, `a logged request sent again: ${request.message}`).toBe(409);
            expect(code).toBe('DUPLICATE_REQUEST');
            totals.duplicatesRefused += 1;
          } else {
            expect(result.status).not.toBe(0);
            expect(code).not.toBe('DUPLICATE_REQUEST');
            if (isAcknowledged(result)) {
              acknowledged.push({ request, answer: JSON.parse(result.body) as Record<string, unknown>, life });
              totals.resubmittedAccepted += 1;
            }
          }
        }
        totals.acknowledged += acknowledgedNow.length;
        totals.unacknowledged += unacknowledged.length;
        totals.unacknowledgedInLog += unacknowledgedInLog;
        totals.inFlightAtKill += failedInFlight;
        totals.resubmitted += retry.length;
      }

      // Last: a clean shutdown (SIGTERM, exit 0) keeps everything too, including the retries of the last life.
      expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      server = await start();
      const final = await verifier.verify(server, operator.apiKey, acknowledged, life);
      // Once, the whole log replayed afresh from the genesis, independently of the incremental checks.
      const finalExport = await fetchExport(server.url);
      const freshStateHash = LogVerifier.replayFromGenesis(finalExport);
      expect(freshStateHash).toBe(recoveryLine(server.logText()).stateHash);
      expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      const lost = acknowledged.filter(({ request }) => !final.bySignature.has(request.signature)).length;
      const duplicates = finalExport.entries.length - final.bySignature.size;
      expect(lost).toBe(0);
      expect(duplicates).toBe(0);
      console.log(
        `crash test: ${crashPoints} crash points, seed ${seed}: ${acknowledged.length} acknowledged requests checked ` +
          `(${funding.length} deposits, ${totals.acknowledged} under load, ${totals.resubmittedAccepted} retries), none lost; ` +
          `${totals.unacknowledged} unacknowledged (${totals.inFlightAtKill} without an answer), ${totals.unacknowledgedInLog} of them in the log; ` +
          `${totals.resubmitted} retried after restarts, ${totals.duplicatesRefused} refused as duplicates; final log ${final.entries} entries, no repeats`,
      );
      console.log(
        JSON.stringify({
          seed,
          crashPointsSurvived: crashPoints,
          requestsPerLife,
          acknowledged: acknowledged.length,
          unacknowledged: totals.unacknowledged,
          unacknowledgedInLog: totals.unacknowledgedInLog,
          retriesRefusedAsDuplicates: totals.duplicatesRefused,
          entries: final.entries,
          recoveredFromSnapshot,
          lost,
          duplicates,
          freshReplayStateHash: freshStateHash,
          seconds: Math.round((performance.now() - startedAt) / 1000),
          loadAverage: [Number(loadAtStart.toFixed(2)), Number(loadavg()[0]!.toFixed(2))],
        }),
      );
      failed = false;
    },
    120_000 + crashPoints * 60_000,
  );
});
