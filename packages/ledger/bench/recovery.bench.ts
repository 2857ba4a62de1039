/**
 * `pnpm bench:recovery`: how long the node takes to open after a crash, with
 * a long log and the default snapshot interval, and that this follows the
 * snapshot interval rather than the log's length.
 *
 *   npx tsx packages/ledger/bench/recovery.bench.ts [--sizes 200000,1000000] [--rounds 3]
 *       [--snapshot-every 10000]
 *
 * For each size a writer child process (this file, `--role writer`) builds a
 * ledger of `size + snapshot-every − 1` entries, the worst case: the last
 * snapshot is snapshot-every − 1 entries back, all of which recovery must
 * replay. The entries are signed orders and cancels of six traders (node:crypto
 * signatures over the Backpack signing string), sequenced by the node's own
 * Sequencer (entry encoding, history records, a snapshot every snapshot-every
 * entries) and written to LevelDB in unsynced batches, the last one synced;
 * then the writer kills itself with SIGKILL, the LevelDB never closed: a crash.
 * This process then opens the ledger with ExchangeNode.open (default settings,
 * two verifier threads) --rounds times: the first open is the one after the
 * crash (LevelDB replays its own journal too), the later ones after a clean
 * close. Each open's wall time and this process's CPU time (verifier threads
 * included) are printed, with the recovery log line's fields, and the
 * recovered state hash is checked against the writer's.
 *
 * Last line: {"entries200k":…, "recoveryMs200k":…, "entries1m":…, "recoveryMs1m":…, "ratio":…,
 *   "recoveryCpuMs200k":…, "recoveryCpuMs1m":…, "cpuRatio":…, "replayed":…, "snapshotEvery":…}
 * (medians of the opens; ratio = 1M ÷ 200k, about 1 when recovery is bounded by the interval).
 */
import { fork } from 'node:child_process';
import { createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createState, encodeSigningStringBytes, genesisHash, stateHashHex, type Genesis } from '@vex/engine';
import { pino } from 'pino';
import { randomSignedLog, type Signer } from '../../engine/test/random-log.js';
import { type BatchOperation, createDatabase, writeBatch } from '../src/database.js';
import { ExchangeNode } from '../src/exchange-node.js';
import { defaultSnapshotEveryEntries } from '../src/node-options.js';
import { Sequencer } from '../src/sequencer.js';
import { entryKey } from '../src/storage-format.js';
import { genesisOf, settableClock, temporaryDirectory } from '../test/helpers.js';

const { values: options } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    sizes: { type: 'string', default: '200000,1000000' },
    rounds: { type: 'string', default: '3' },
    'snapshot-every': { type: 'string', default: String(defaultSnapshotEveryEntries) },
    directory: { type: 'string' },
    entries: { type: 'string' },
  },
});

const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
const keyOf = (signer: Signer): KeyObject =>
  createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, signer.seed]), format: 'der', type: 'pkcs8' });

/**
 * Order k of a trader rests (a bid below the mid), and is cancelled by its clientId one turn later; 10 ms of
 * log time apart, so the replay protection remembers at most 6,000 messages (60 s windows) and the state
 * has the same size whatever the log's length.
 */
function* tradingTransactions(traders: readonly Signer[], startMs: number) {
  const keys = traders.map(keyOf);
  for (let index = 0, timeMs = startMs; ; index += 1, timeMs += 10) {
    const trader = index % traders.length;
    const turn = Math.floor(index / traders.length);
    const clientId = String(Math.floor(turn / 2) + 1);
    const group =
      turn % 2 === 0
        ? {
            instruction: 'orderExecute',
            params: Object.entries({
              symbol: 'SOL_USDC',
              side: 'Bid',
              orderType: 'Limit',
              price: String(90 + (index % 97) / 10),
              quantity: '1',
              clientId,
            }),
          }
        : { instruction: 'orderCancel', params: Object.entries({ symbol: 'SOL_USDC', clientId }) };
    const message = encodeSigningStringBytes([group], timeMs, 60_000);
    const signature = new Uint8Array(cryptoSign(null, message, keys[trader]!));
    yield { logTimeMs: timeMs, transaction: { message, publicKey: traders[trader]!.publicKey, signature } };
  }
}

/** The writer child: builds the ledger, then crashes. */
async function writerRole(directory: string, entryCount: number, snapshotEvery: number): Promise<void> {
  const { entries: setup, operator, traders } = randomSignedLog(1, 0);
  const genesis: Genesis = genesisOf(operator);
  const logger = pino({ level: 'warn' });
  // The node creates the ledger (genesis, storage format); the entries are written below as it writes them.
  await (await ExchangeNode.open({ dataDirectory: directory, genesis, logger })).close();
  const db = createDatabase(join(directory, 'ledger'));
  await db.open();
  const clock = settableClock(setup[0]!.logTimeMs);
  const sequencer = new Sequencer(
    createState(genesis),
    { sequence: 0, entryHash: genesisHash(genesis) },
    clock.clock,
    snapshotEvery,
    undefined,
  );
  const started = performance.now();
  const trading = tradingTransactions(traders, setup.at(-1)!.logTimeMs + 1);
  let lists: BatchOperation[][] = [];
  while (sequencer.sequence < entryCount) {
    const entry = sequencer.sequence < setup.length ? setup[sequencer.sequence]! : trading.next().value!;
    clock.set(entry.logTimeMs);
    const result = sequencer.apply(entry.transaction, sequencer.nextLogTime());
    if (!('committed' in result))
      throw new Error(`entry ${sequencer.sequence + 1} refused: ${JSON.stringify(result.outcome)}`);
    lists.push([{ type: 'put', key: entryKey(result.committed.sequence), value: result.encoding }, ...result.records]);
    if (lists.length === 4_096) {
      await writeBatch(db, lists, { sync: false });
      lists = [];
    }
  }
  await writeBatch(db, lists, { sync: true });
  const line = {
    entries: sequencer.sequence,
    stateHash: stateHashHex(sequencer.state),
    writeMs: performance.now() - started,
  };
  process.stdout.write(`writer ${JSON.stringify(line)}\n`, () => process.kill(process.pid, 'SIGKILL'));
}

interface WriterLine {
  readonly entries: number;
  readonly stateHash: string;
  readonly writeMs: number;
}

function runWriter(directory: string, entries: number, snapshotEvery: number): Promise<WriterLine> {
  const child = fork(
    import.meta.filename,
    [
      '--role',
      'writer',
      '--directory',
      directory,
      '--entries',
      String(entries),
      '--snapshot-every',
      String(snapshotEvery),
    ],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      const line = output.split('\n').find((text) => text.startsWith('writer '));
      if (signal !== 'SIGKILL' || line === undefined)
        reject(new Error(`the writer ended with ${code ?? signal} and said: ${output.slice(-500)}`));
      else resolve(JSON.parse(line.slice('writer '.length)) as WriterLine);
    });
  });
}

interface OpenFigures {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly recoveryLine: Record<string, unknown>;
  readonly stateHash: string;
}

async function timedOpen(directory: string, genesis: Genesis): Promise<OpenFigures> {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  });
  const logger = pino({ level: 'info' }, destination);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const node = await ExchangeNode.open({ dataDirectory: directory, genesis, logger });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const stateHash = stateHashHex(node.state);
  await node.close();
  const recoveryLine = lines.find((line) => String(line.msg).startsWith('ledger recovered')) ?? {};
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, recoveryLine, stateHash };
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function bench(): Promise<void> {
  const sizes = options.sizes!.split(',').map(Number);
  const rounds = Number(options.rounds);
  const snapshotEvery = Number(options['snapshot-every']);
  console.log(
    `recovery after a crash: snapshot every ${snapshotEvery} entries, ${rounds} opens per size; ` +
      `load average at start ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
  );
  const genesis = genesisOf(randomSignedLog(1, 0).operator);
  const results: Array<{ entries: number; medianMs: number; medianCpuMs: number; replayed: number }> = [];
  for (const size of sizes) {
    const directory = await temporaryDirectory();
    try {
      const entries = size + snapshotEvery - 1;
      const written = await runWriter(directory.path, entries, snapshotEvery);
      console.log(
        `${entries} entries written in ${(written.writeMs / 1000).toFixed(1)} s (signing, sequencing, LevelDB), ` +
          'then the writer was killed (SIGKILL)',
      );
      const opens: OpenFigures[] = [];
      for (let round = 0; round < rounds; round += 1) {
        const opened = await timedOpen(directory.path, genesis);
        if (opened.stateHash !== written.stateHash)
          throw new Error(`recovered state ${opened.stateHash} differs from the written ${written.stateHash}`);
        opens.push(opened);
        const { snapshot, replayed, durationMs, stateHash } = opened.recoveryLine;
        console.log(
          `  open ${round + 1}${round === 0 ? ' (after the crash)' : ' (after a clean close)'}: ` +
            `${opened.wallMs.toFixed(0)} ms wall, ${opened.cpuMs.toFixed(0)} ms CPU; ` +
            `recovery line: snapshot ${snapshot}, ` +
            `replayed ${replayed}, durationMs ${durationMs}, stateHash ${stateHash} (same as written)`,
        );
      }
      results.push({
        entries,
        medianMs: median(opens.map((open) => open.wallMs)),
        medianCpuMs: median(opens.map((open) => open.cpuMs)),
        replayed: Number(opens[0]!.recoveryLine.replayed),
      });
    } finally {
      await directory.remove();
    }
  }
  const first = results[0]!;
  const last = results.at(-1)!;
  const ratio = last.medianMs / first.medianMs;
  const cpuRatio = last.medianCpuMs / first.medianCpuMs;
  console.log(
    `median open: ${results.map((result) => `${result.entries} entries ${result.medianMs.toFixed(0)} ms`).join(', ')}` +
      '; ' +
      `ratio ${ratio.toFixed(2)} (CPU ${cpuRatio.toFixed(2)}) ` +
      `for ${(last.entries / first.entries).toFixed(1)}× the entries ` +
      `(bounded by the snapshot interval: about 1); load average at the end ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
  );
  console.log(
    JSON.stringify({
      entries200k: first.entries,
      recoveryMs200k: Math.round(first.medianMs),
      entries1m: last.entries,
      recoveryMs1m: Math.round(last.medianMs),
      ratio: Number(ratio.toFixed(3)),
      recoveryCpuMs200k: Math.round(first.medianCpuMs),
      recoveryCpuMs1m: Math.round(last.medianCpuMs),
      cpuRatio: Number(cpuRatio.toFixed(3)),
      replayed: last.replayed,
      snapshotEvery,
    }),
  );
}

const main =
  options.role === 'writer'
    ? () => writerRole(options.directory!, Number(options.entries), Number(options['snapshot-every']))
    : bench;
// The writer ends by killing itself (a crash); the bench exits when done.
main().then(
  () => {
    if (options.role !== 'writer') process.exit(0);
  },
  (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`recovery.bench.ts (${options.role}): ${text}\n`);
    process.exit(1);
  },
);
