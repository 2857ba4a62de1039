/**
 * A pool of worker threads that check signatures under the exchange's rule
 * (verifySignature from src/signature.ts), off the thread that sequences.
 *
 * This module is both sides of the pool: imported on the main thread it
 * exports VerifyPool and the batch helpers; started as a worker it serves
 * requests. It lives in bench/ for now; the sequencer can take the same shape
 * later (issue: verify signatures off the sequencing thread):
 *
 *   - a batch is packed into four flat buffers (keys, signatures, message
 *     bytes, message offsets), so it crosses threads as a handful of
 *     transferable ArrayBuffers rather than thousands of small objects;
 *   - a batch is split into one contiguous share per worker; the verdicts
 *     come back as one byte per signature (an index into verdictNames), in
 *     the batch's order, so the caller can match them to its requests;
 *   - verify(batch) does all of that per call (the node's case); preload()
 *     followed by verifyPreloaded() moves the bytes first, so that a
 *     benchmark can time verification alone.
 *
 * Workers run TypeScript: see startWorker for how they load it under tsx on
 * Node 20.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  signatureVerdicts,
  verifySignature,
  verifySignatureWithNodeCrypto,
  type SignatureVerdict,
} from '../src/signature.js';

/** Which library evaluates the rule's equation: the engine's fastest (libsodium where it loads) or node:crypto. */
export type Equation = 'fastest' | 'node:crypto';

/** Verdict codes: the byte a worker returns is the index of the verdict here. */
export const verdictNames: readonly SignatureVerdict[] = signatureVerdicts;
const verdictCodes = new Map<SignatureVerdict, number>(verdictNames.map((name, index) => [name, index]));

export interface SignedItem {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** A batch packed for transfer. Keys are 32 bytes and signatures 64 bytes each; anything else is reported as 'bad-length'. */
export interface PackedBatch {
  readonly count: number;
  /** count × 32 bytes. */
  readonly publicKeys: Uint8Array;
  /** count × 64 bytes. */
  readonly signatures: Uint8Array;
  /** Item i's message is messageBytes[messageOffsets[i] … messageOffsets[i + 1]). */
  readonly messageBytes: Uint8Array;
  readonly messageOffsets: Uint32Array;
  /** 1 where the item's key or signature did not have the required length. */
  readonly badLength: Uint8Array;
}

const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

export function packBatch(items: readonly SignedItem[], start = 0, end = items.length): PackedBatch {
  const count = end - start;
  let messageTotal = 0;
  for (let index = start; index < end; index += 1) messageTotal += items[index]!.message.length;
  const publicKeys = new Uint8Array(count * KEY_BYTES);
  const signatures = new Uint8Array(count * SIGNATURE_BYTES);
  const messageBytes = new Uint8Array(messageTotal);
  const messageOffsets = new Uint32Array(count + 1);
  const badLength = new Uint8Array(count);
  let offset = 0;
  for (let index = 0; index < count; index += 1) {
    const item = items[start + index]!;
    if (item.publicKey.length === KEY_BYTES && item.signature.length === SIGNATURE_BYTES) {
      publicKeys.set(item.publicKey, index * KEY_BYTES);
      signatures.set(item.signature, index * SIGNATURE_BYTES);
    } else {
      badLength[index] = 1;
    }
    messageOffsets[index] = offset;
    messageBytes.set(item.message, offset);
    offset += item.message.length;
  }
  messageOffsets[count] = offset;
  return { count, publicKeys, signatures, messageBytes, messageOffsets, badLength };
}

function transferList(batch: PackedBatch): ArrayBuffer[] {
  return [batch.publicKeys, batch.signatures, batch.messageBytes, batch.messageOffsets, batch.badLength].map(
    (array) => array.buffer as ArrayBuffer,
  );
}

/** Verifies every item of a packed batch on the calling thread; one verdict code per item. */
export function verifyPacked(batch: PackedBatch, equation: Equation = 'fastest'): Uint8Array {
  const verify = equation === 'node:crypto' ? verifySignatureWithNodeCrypto : verifySignature;
  const verdicts = new Uint8Array(batch.count);
  const { publicKeys, signatures, messageBytes, messageOffsets, badLength } = batch;
  const badLengthCode = verdictCodes.get('bad-length')!;
  for (let index = 0; index < batch.count; index += 1) {
    if (badLength[index] === 1) {
      verdicts[index] = badLengthCode;
      continue;
    }
    const verdict = verify(
      publicKeys.subarray(index * KEY_BYTES, (index + 1) * KEY_BYTES),
      messageBytes.subarray(messageOffsets[index]!, messageOffsets[index + 1]!),
      signatures.subarray(index * SIGNATURE_BYTES, (index + 1) * SIGNATURE_BYTES),
    );
    verdicts[index] = verdictCodes.get(verdict)!;
  }
  return verdicts;
}

// ---------------------------------------------------------------------------
// Messages between the pool and its workers.

type Request =
  | { readonly type: 'load'; readonly id: number; readonly batch: PackedBatch }
  | { readonly type: 'run'; readonly id: number }
  | { readonly type: 'verify'; readonly id: number; readonly batch: PackedBatch }
  | { readonly type: 'drop'; readonly id: number };

type Reply =
  | { readonly type: 'loaded'; readonly id: number }
  | { readonly type: 'verdicts'; readonly id: number; readonly verdicts: Uint8Array; readonly verifyNs: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

function serve(): void {
  const port = parentPort!;
  const equation: Equation = (workerData as { equation?: Equation } | undefined)?.equation ?? 'fastest';
  const loaded = new Map<number, PackedBatch>();
  const answer = (id: number, batch: PackedBatch): void => {
    const started = process.hrtime.bigint();
    const verdicts = verifyPacked(batch, equation);
    const verifyNs = Number(process.hrtime.bigint() - started);
    const reply: Reply = { type: 'verdicts', id, verdicts, verifyNs };
    port.postMessage(reply, [verdicts.buffer as ArrayBuffer]);
  };
  port.on('message', (request: Request) => {
    try {
      switch (request.type) {
        case 'load':
          loaded.set(request.id, request.batch);
          port.postMessage({ type: 'loaded', id: request.id } satisfies Reply);
          break;
        case 'run': {
          const batch = loaded.get(request.id);
          if (batch === undefined) throw new Error(`no batch ${request.id} loaded`);
          answer(request.id, batch);
          break;
        }
        case 'verify':
          answer(request.id, request.batch);
          break;
        case 'drop':
          loaded.delete(request.id);
          break;
      }
    } catch (error) {
      port.postMessage({ type: 'failed', id: request.id, message: String(error) } satisfies Reply);
    }
  });
}

// ---------------------------------------------------------------------------
// The pool (main thread).

interface Pending {
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: Error) => void;
}

class PoolWorker {
  private readonly pending = new Map<number, Pending>();
  constructor(readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (waiter === undefined) return;
      this.pending.delete(reply.id);
      if (reply.type === 'failed') waiter.reject(new Error(reply.message));
      else waiter.resolve(reply);
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new Error(`verify worker exited with code ${code}`)));
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  request(message: Request, transfer: ArrayBuffer[] = []): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  send(message: Request): void {
    this.worker.postMessage(message);
  }
}

/** A preloaded batch: its shares already sit in the workers. */
export interface PreloadedBatch {
  readonly id: number;
  readonly count: number;
  /** [start, end) of each worker's share. */
  readonly shares: ReadonlyArray<readonly [number, number]>;
}

export interface VerifyResult {
  /** One verdict code per item, in batch order (see verdictNames). */
  readonly verdicts: Uint8Array;
  /** Time each worker spent verifying its share, in nanoseconds. */
  readonly workerVerifyNs: readonly number[];
}

/**
 * Starts a worker on this module. A compiled .js module is started directly.
 * A .ts module needs tsx's loader inside the worker, and on Node 20 the
 * loader hooks that `tsx` or `node --import tsx` install do not reach a
 * worker's entry module (inheriting execArgv, or passing `--import tsx`,
 * fails with ERR_UNKNOWN_FILE_EXTENSION); so the worker starts from a short
 * evaluated bootstrap that registers tsx in that thread and then imports the
 * module. tsx is resolved here, from this file, so the current directory
 * does not matter.
 */
function startWorker(moduleUrl: URL, equation: Equation): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, { workerData: { equation } });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then(({ register }) => { register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: { equation } });
}

export class VerifyPool {
  private nextId = 1;
  private constructor(private readonly workers: readonly PoolWorker[]) {}

  get size(): number {
    return this.workers.length;
  }

  /** Starts `size` workers (default: os.availableParallelism()) and waits until each has loaded. */
  static async start(size = availableParallelism(), equation: Equation = 'fastest'): Promise<VerifyPool> {
    const url = new URL(import.meta.url);
    const workers = Array.from({ length: size }, () => new PoolWorker(startWorker(url, equation)));
    const pool = new VerifyPool(workers);
    // A round trip proves the worker's module graph (tsx, signature.ts) loaded.
    const empty = packBatch([]);
    await Promise.all(
      workers.map((worker) => pool.request(worker, { type: 'verify', id: pool.nextId++, batch: empty }, [])),
    );
    return pool;
  }

  private request(worker: PoolWorker, message: Request, transfer: ArrayBuffer[]): Promise<Reply> {
    return worker.request(message, transfer);
  }

  private split(count: number): Array<[number, number]> {
    const shares: Array<[number, number]> = [];
    const size = this.workers.length;
    for (let index = 0; index < size; index += 1) {
      shares.push([Math.floor((count * index) / size), Math.floor((count * (index + 1)) / size)]);
    }
    return shares;
  }

  private static gather(
    count: number,
    shares: ReadonlyArray<readonly [number, number]>,
    replies: readonly Reply[],
  ): VerifyResult {
    const verdicts = new Uint8Array(count);
    const workerVerifyNs: number[] = [];
    replies.forEach((reply, index) => {
      if (reply.type !== 'verdicts') throw new Error(`unexpected reply ${reply.type}`);
      verdicts.set(reply.verdicts, shares[index]![0]);
      workerVerifyNs.push(reply.verifyNs);
    });
    return { verdicts, workerVerifyNs };
  }

  /** Packs, splits, transfers and verifies a batch: what the node would do per batch. */
  async verify(items: readonly SignedItem[]): Promise<VerifyResult> {
    const shares = this.split(items.length);
    const replies = await Promise.all(
      this.workers.map((worker, index) => {
        const [start, end] = shares[index]!;
        const batch = packBatch(items, start, end);
        return this.request(worker, { type: 'verify', id: this.nextId++, batch }, transferList(batch));
      }),
    );
    return VerifyPool.gather(items.length, shares, replies);
  }

  /** Moves each worker's share of the batch into the worker, ahead of verifyPreloaded. */
  async preload(items: readonly SignedItem[]): Promise<PreloadedBatch> {
    const id = this.nextId++;
    const shares = this.split(items.length);
    await Promise.all(
      this.workers.map((worker, index) => {
        const [start, end] = shares[index]!;
        const batch = packBatch(items, start, end);
        return this.request(worker, { type: 'load', id, batch }, transferList(batch));
      }),
    );
    return { id, count: items.length, shares };
  }

  /** Verifies a preloaded batch; only small messages cross threads. */
  async verifyPreloaded(preloaded: PreloadedBatch): Promise<VerifyResult> {
    const replies = await Promise.all(
      this.workers.map((worker) => this.request(worker, { type: 'run', id: preloaded.id }, [])),
    );
    return VerifyPool.gather(preloaded.count, preloaded.shares, replies);
  }

  drop(preloaded: PreloadedBatch): void {
    for (const worker of this.workers) worker.send({ type: 'drop', id: preloaded.id });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.worker.terminate()));
  }
}

if (!isMainThread) serve();
