/**
 * The benchmark's log: a seeded, realistic exchange log of `entries` signed,
 * accepted entries with operator attestations, written as an export file and
 * a JSON Lines attestations file under os.tmpdir(), so that reruns skip
 * generating it. The cache key (benchLogPaths) holds the seed, size and
 * attestation interval, and a digest of everything else that decides the
 * files' bytes: the generator's version, the state encoding, entry encoding
 * and export format versions, the genesis hash, and the attestation of a
 * short probe log planned with the same engine (so that a change to the
 * engine's rules, its state commitment or its liabilities tree that no
 * version number records still misses the stale cache instead of failing
 * the replay at attestation 1).
 *
 * Generation, in three passes:
 *   1. plan: a seeded workload (traders joining with deposits, limit, market,
 *      IOC and FOK orders around a mid price, cancels of their own open
 *      orders, cancel-alls, withdrawals and their completion, reserve
 *      statements) is applied with the engine as it is generated, and only
 *      accepted transactions are kept, as the sequencer would. Operator
 *      transactions are signed at once, because a deposit's signature seeds
 *      the new account's salt and so enters the state; traders' signatures
 *      cannot change the state, so they wait for pass 2. At each attested
 *      sequence the attestation's fields are taken from the state then;
 *   2. sign: the traders' messages are signed in worker threads;
 *   3. write: the entries are chained into the export, and each attestation
 *      gets its head hash and the operator's signature.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import {
  LiabilitiesTree,
  apply,
  attestationFieldsOf,
  bytesToLowerHex,
  canonicalGenesisBytes,
  createState,
  encodeAndHashEntry,
  encodeAttestationJson,
  encodeExportFrame,
  encodeExportHeader,
  encodeExportTrailer,
  encodeSigningStringBytes,
  entryEncodingVersion,
  exportFormatVersion,
  genesisHash,
  publicKeyFromSeed,
  signAttestation,
  signMessage,
  stateEncodingVersion,
  type AttestationFields,
  type ApplyOutcome,
  type Genesis,
} from '@vex/engine';
import { demoListing, seededRandom, signerFromByte } from '../../engine/test/random-log.js';
import { startTypeScriptWorker } from '../src/typescript-worker.js';
import type { SigningReply, SigningRequest } from './signing-worker.js';

/** Bump when the workload changes, so that cached files of the old workload are not reused. */
const generatorVersion = 2;

export interface BenchLogOptions {
  readonly seed: number;
  readonly entries: number;
  readonly attestEvery: number;
  /** Signing threads; default os.availableParallelism(). */
  readonly workers?: number;
  readonly log?: (line: string) => void;
}

export interface BenchLogFiles {
  readonly logPath: string;
  readonly attestationsPath: string;
  /** False when the files came from the cache. */
  readonly generated: boolean;
}

interface Signer {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly accountId: string;
}

interface PlannedEntry {
  readonly signerIndex: number;
  readonly logTimeMs: number;
  readonly message: Uint8Array;
  /** Operator entries are signed while planning; traders' entries in pass 2. */
  signature: Uint8Array | undefined;
}

interface PlannedAttestation {
  readonly sequence: number;
  readonly fields: AttestationFields;
}

/** Entries of the probe log whose attestation enters the cache key: deposits, trades, cancels and withdrawals. */
const probeEntries = 600;

/**
 * A digest of what decides the files' bytes beyond the options: versions of
 * the generator and the formats, the genesis, and the last attestation of a
 * probe log of `probeEntries` entries planned with this engine (which covers
 * the state hash and liabilities root as the engine now computes them).
 */
function cacheDigest(seed: number): string {
  const probe = planLog({ seed, entries: probeEntries, attestEvery: probeEntries });
  const key = {
    generatorVersion,
    stateEncodingVersion,
    entryEncodingVersion,
    exportFormatVersion,
    genesisHash: bytesToLowerHex(genesisHash(probe.genesis)),
    probeAttestation: probe.attestations.at(-1)?.fields,
  };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
}

export function benchLogPaths(options: Pick<BenchLogOptions, 'seed' | 'entries' | 'attestEvery'>): {
  logPath: string;
  attestationsPath: string;
} {
  const name = `vex-replay-bench-seed${options.seed}-entries${options.entries}-attest${options.attestEvery}`;
  const base = path.join(tmpdir(), `${name}-${cacheDigest(options.seed)}`);
  return { logPath: `${base}.vexlog`, attestationsPath: `${base}.attestations.jsonl` };
}

/** The cached files, generated first when they are missing. */
export async function benchLog(options: BenchLogOptions): Promise<BenchLogFiles> {
  const paths = benchLogPaths(options);
  if (existsSync(paths.logPath) && existsSync(paths.attestationsPath)) return { ...paths, generated: false };
  const say = options.log ?? (() => undefined);
  const startedMs = performance.now();
  const plan = planLog(options);
  say(`  planned ${plan.entries.length.toLocaleString('en-US')} accepted entries in ${seconds(startedMs)} s`);
  const signStartedMs = performance.now();
  await signTraderEntries(plan.signers, plan.entries, options.workers ?? availableParallelism());
  say(`  signed them in ${seconds(signStartedMs)} s`);
  const writeStartedMs = performance.now();
  await writeFiles(plan, paths);
  say(`  wrote ${paths.logPath} in ${seconds(writeStartedMs)} s`);
  return { ...paths, generated: true };
}

function seconds(startedMs: number): string {
  return ((performance.now() - startedMs) / 1000).toFixed(1);
}

// ---------------------------------------------------------------------------
// Pass 1: plan.

interface Plan {
  readonly genesis: Genesis;
  readonly operator: Signer;
  readonly signers: readonly Signer[];
  readonly entries: PlannedEntry[];
  readonly attestations: PlannedAttestation[];
}

function traderSigner(seed: number, index: number): Signer {
  const secret = new Uint8Array(createHash('sha256').update(`vex-replay-bench/trader/${seed}/${index}`).digest());
  const publicKey = publicKeyFromSeed(secret);
  return { seed: secret, publicKey, accountId: Buffer.from(publicKey).toString('base64') };
}

/** Formats `units` of 10^-decimals as an exact decimal. */
function decimal(units: bigint, decimals: number): string {
  const text = units.toString().padStart(decimals + 1, '0');
  const whole = text.slice(0, text.length - decimals);
  const fraction = text.slice(text.length - decimals).replace(/0+$/, '');
  return fraction.length > 0 ? `${whole}.${fraction}` : whole;
}

function planLog(options: Pick<BenchLogOptions, 'seed' | 'entries' | 'attestEvery'>): Plan {
  const next = seededRandom(options.seed);
  const operator = signerFromByte(200);
  const genesis: Genesis = {
    exchangeName: 'replay-bench',
    operatorKeys: [operator.accountId],
    feeAccount: operator.accountId,
  };
  const state = createState(genesis);
  const tree = LiabilitiesTree.build(state);
  const genesisDigest = genesisHash(genesis);
  const zeroHash = new Uint8Array(32);
  const placeholderSignature = new Uint8Array(64);
  const signers: Signer[] = [operator];
  const traderIndexes: number[] = [];
  const openOrders = new Map<number, number[]>();
  const pendingWithdrawals: number[] = [];
  const entries: PlannedEntry[] = [];
  const attestations: PlannedAttestation[] = [];
  let time = 1_800_000_000_000;

  const submit = (
    signerIndex: number,
    instruction: string,
    params: Record<string, string>,
  ): ApplyOutcome | undefined => {
    if (entries.length >= options.entries) return undefined;
    const signer = signers[signerIndex]!;
    const message = encodeSigningStringBytes([{ instruction, params: Object.entries(params) }], time, 5_000, {
      percentEncode: (next() & 1) === 0,
    });
    const signature = signerIndex === 0 ? signMessage(signer.seed, message) : undefined;
    const outcome = apply(
      state,
      {
        logTimeMs: time,
        transaction: { message, publicKey: signer.publicKey, signature: signature ?? placeholderSignature },
      },
      { signatureVerified: true },
    );
    if (!outcome.accepted) return outcome;
    entries.push({ signerIndex, logTimeMs: time, message, signature });
    const sequence = entries.length;
    if (sequence % options.attestEvery === 0 || sequence === options.entries) {
      attestations.push({
        sequence,
        fields: attestationFieldsOf(state, tree.update(state), sequence, zeroHash, genesisDigest),
      });
    }
    return outcome;
  };

  const addTrader = (): void => {
    const signerIndex = signers.length;
    const trader = traderSigner(options.seed, signerIndex);
    signers.push(trader);
    traderIndexes.push(signerIndex);
    openOrders.set(signerIndex, []);
    for (const [symbol, quantity] of [
      ['SOL', '100000'],
      ['BTC', '1000'],
      ['USDC', '100000000'],
    ] as const) {
      submit(0, 'depositCredit', {
        account: trader.accountId,
        symbol,
        quantity,
        blockchain: 'Solana',
        chainTransactionId: `${symbol}-${signerIndex}`,
      });
    }
  };

  /**
   * The operator states reserves equal to what it owes (deposits less
   * completed withdrawals), after each new trader's deposits; in every third
   * stretch of 100,000 steps it states 10 % less BTC, so that the
   * attestations of that stretch are flagged (short in BTC).
   */
  let shortInBtc = false;
  const stateReserves = (): void => {
    for (const asset of state.assets) {
      let units = asset.depositedUnits - asset.withdrawnUnits;
      if (shortInBtc && asset.symbol === 'BTC') units = (units * 9n) / 10n;
      submit(0, 'reservesStatement', { symbol: asset.symbol, quantity: decimal(units, asset.decimals) });
    }
  };

  const remember = (signerIndex: number, outcome: ApplyOutcome | undefined): void => {
    if (outcome === undefined || !outcome.accepted) return;
    for (const result of outcome.results) {
      if (!result.ok) continue;
      const value = result.value;
      if (value.kind === 'order' && (value.order.status === 'New' || value.order.status === 'PartiallyFilled')) {
        const orders = openOrders.get(signerIndex)!;
        orders.push(value.order.orderId);
        if (orders.length > 64) orders.shift();
      } else if (value.kind === 'withdrawal' && value.withdrawal.status === 'Pending') {
        pendingWithdrawals.push(value.withdrawal.withdrawalId);
      }
    }
  };

  for (const [instruction, params] of demoListing) submit(0, instruction, params);
  for (let index = 0; index < 32; index += 1) addTrader();
  stateReserves();

  const markets = [
    {
      symbol: 'SOL_USDC',
      midTicks: 10_000,
      ticksPerUnit: 100,
      priceDecimals: 2,
      quantity: () => decimal(BigInt(1 + (next() % 500)), 2),
    },
    {
      symbol: 'BTC_USDC',
      midTicks: 600_000,
      ticksPerUnit: 10,
      priceDecimals: 1,
      quantity: () => decimal(BigInt(1 + (next() % 900)), 5),
    },
  ] as const;
  let step = 0;
  while (entries.length < options.entries) {
    step += 1;
    time += next() % 3;
    if (step % 100_000 === 0) {
      shortInBtc = step % 300_000 === 200_000;
      stateReserves();
    }
    if (step % 2_000 === 0) {
      addTrader();
      stateReserves();
    }
    if (step % 50 === 0 && pendingWithdrawals.length > 0) {
      const withdrawalId = pendingWithdrawals.shift()!;
      submit(0, 'withdrawalComplete', {
        withdrawalId: String(withdrawalId),
        chainTransactionId: `payout-${withdrawalId}`,
      });
    }
    const signerIndex = traderIndexes[next() % traderIndexes.length]!;
    const market = markets[next() % markets.length]!;
    const priceTicks = market.midTicks + (next() % 41) - 20;
    const price = (priceTicks / market.ticksPerUnit).toFixed(market.priceDecimals);
    const side = (next() & 1) === 0 ? 'Bid' : 'Ask';
    const roll = next() % 100;
    const orders = openOrders.get(signerIndex)!;
    if (roll < 25 && orders.length > 0) {
      const orderId = orders.splice(next() % orders.length, 1)[0]!;
      submit(signerIndex, 'orderCancel', { symbol: market.symbol, orderId: String(orderId) });
    } else if (roll < 27) {
      remember(signerIndex, submit(signerIndex, 'orderCancelAll', { symbol: market.symbol }));
      orders.length = 0;
    } else if (roll < 29) {
      remember(
        signerIndex,
        submit(signerIndex, 'withdraw', {
          symbol: 'USDC',
          quantity: String(1 + (next() % 100)),
          address: `addr-${next() % 1000}`,
          blockchain: 'Solana',
        }),
      );
    } else if (roll < 37) {
      remember(
        signerIndex,
        submit(signerIndex, 'orderExecute', {
          symbol: market.symbol,
          side,
          orderType: 'Market',
          quantity: market.quantity(),
        }),
      );
    } else {
      const timeInForce = roll < 42 ? 'IOC' : roll < 45 ? 'FOK' : 'GTC';
      const params: Record<string, string> = {
        symbol: market.symbol,
        side,
        orderType: 'Limit',
        price,
        quantity: market.quantity(),
        timeInForce,
      };
      if (roll % 4 === 0) params.clientId = String(next() % 100_000);
      remember(signerIndex, submit(signerIndex, 'orderExecute', params));
    }
  }
  return { genesis, operator, signers, entries, attestations };
}

// ---------------------------------------------------------------------------
// Pass 2: sign in worker threads.

const signingBatchEntries = 8_192;

async function signTraderEntries(
  signers: readonly Signer[],
  entries: PlannedEntry[],
  workerCount: number,
): Promise<void> {
  const seeds = new Uint8Array(signers.length * 32);
  signers.forEach((signer, index) => seeds.set(signer.seed, index * 32));
  const workers = Array.from({ length: workerCount }, () =>
    startTypeScriptWorker(new URL('./signing-worker.ts', import.meta.url), { seeds }),
  );
  try {
    const unsigned: number[] = [];
    entries.forEach((entry, index) => {
      if (entry.signature === undefined) unsigned.push(index);
    });
    const waiting = new Map<number, { resolve: (reply: SigningReply) => void; reject: (error: Error) => void }>();
    for (const worker of workers) {
      worker.on('message', (reply: SigningReply) => {
        waiting.get(reply.id)?.resolve(reply);
        waiting.delete(reply.id);
      });
      worker.on('error', (error) => {
        for (const waiter of waiting.values()) waiter.reject(error);
        waiting.clear();
      });
    }
    let nextId = 0;
    const signBatch = (indexes: readonly number[], worker: (typeof workers)[number]): Promise<void> => {
      let messageLength = 0;
      for (const index of indexes) messageLength += entries[index]!.message.length;
      const messageBytes = new Uint8Array(messageLength);
      const messageOffsets = new Uint32Array(indexes.length + 1);
      const signerIndexes = new Uint32Array(indexes.length);
      let offset = 0;
      indexes.forEach((entryIndex, position) => {
        const entry = entries[entryIndex]!;
        signerIndexes[position] = entry.signerIndex;
        messageBytes.set(entry.message, offset);
        offset += entry.message.length;
        messageOffsets[position + 1] = offset;
      });
      const id = nextId++;
      const request: SigningRequest = { id, count: indexes.length, signerIndexes, messageBytes, messageOffsets };
      return new Promise<SigningReply>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage(request, [messageBytes.buffer, messageOffsets.buffer, signerIndexes.buffer]);
      }).then((reply) => {
        indexes.forEach((entryIndex, position) => {
          entries[entryIndex]!.signature = reply.signatures.slice(position * 64, (position + 1) * 64);
        });
      });
    };
    // Two batches per worker at a time: each always has its next batch queued, and memory stays bounded.
    const round = 2 * workers.length;
    for (let start = 0; start < unsigned.length; start += round * signingBatchEntries) {
      const batches: Promise<void>[] = [];
      for (let batch = 0; batch < round; batch += 1) {
        const from = start + batch * signingBatchEntries;
        if (from >= unsigned.length) break;
        batches.push(signBatch(unsigned.slice(from, from + signingBatchEntries), workers[batch % workers.length]!));
      }
      await Promise.all(batches);
    }
    // node:crypto and the engine's signMessage must agree: check a sample.
    for (const index of unsigned.slice(0, 16)) {
      const entry = entries[index]!;
      const expected = signMessage(signers[entry.signerIndex]!.seed, entry.message);
      if (Buffer.compare(Buffer.from(expected), Buffer.from(entry.signature!)) !== 0)
        throw new Error(`the signing workers disagree with signMessage at entry ${index + 1}`);
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

// ---------------------------------------------------------------------------
// Pass 3: chain and write.

class ChunkedWriter {
  private readonly stream;
  private chunk = new Uint8Array(4 << 20);
  private length = 0;

  constructor(filePath: string) {
    this.stream = createWriteStream(filePath);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.length + bytes.length > this.chunk.length) await this.flush();
    if (bytes.length > this.chunk.length) {
      await this.push(bytes);
      return;
    }
    this.chunk.set(bytes, this.length);
    this.length += bytes.length;
  }

  private async push(bytes: Uint8Array): Promise<void> {
    if (!this.stream.write(bytes)) await once(this.stream, 'drain');
  }

  private async flush(): Promise<void> {
    if (this.length === 0) return;
    const full = this.chunk.subarray(0, this.length);
    this.chunk = new Uint8Array(this.chunk.length);
    this.length = 0;
    await this.push(full);
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

async function writeFiles(plan: Plan, paths: { logPath: string; attestationsPath: string }): Promise<void> {
  const temporaryLog = `${paths.logPath}.partial-${process.pid}`;
  const temporaryAttestations = `${paths.attestationsPath}.partial-${process.pid}`;
  try {
    const genesisDigest = genesisHash(plan.genesis);
    const log = new ChunkedWriter(temporaryLog);
    await log.write(encodeExportHeader(canonicalGenesisBytes(plan.genesis), 1, genesisDigest));
    const attestations = new ChunkedWriter(temporaryAttestations);
    let previousHash = genesisDigest;
    let nextAttestation = 0;
    for (let index = 0; index < plan.entries.length; index += 1) {
      const entry = plan.entries[index]!;
      const sequence = index + 1;
      const signer = plan.signers[entry.signerIndex]!;
      const { encoding, entryHash } = encodeAndHashEntry({
        sequence,
        logTimeMs: entry.logTimeMs,
        previousHash,
        transaction: { message: entry.message, publicKey: signer.publicKey, signature: entry.signature! },
      });
      await log.write(encodeExportFrame(encoding));
      previousHash = entryHash;
      const attestation = plan.attestations[nextAttestation];
      if (attestation !== undefined && attestation.sequence === sequence) {
        const signed = signAttestation(
          { ...attestation.fields, headHash: bytesToLowerHex(entryHash) },
          plan.operator.seed,
        );
        await attestations.write(new TextEncoder().encode(`${encodeAttestationJson(signed)}\n`));
        nextAttestation += 1;
      }
    }
    await log.write(encodeExportTrailer(plan.entries.length, previousHash));
    await log.close();
    await attestations.close();
    await rename(temporaryAttestations, paths.attestationsPath);
    await rename(temporaryLog, paths.logPath);
  } finally {
    await rm(temporaryLog, { force: true });
    await rm(temporaryAttestations, { force: true });
  }
}
