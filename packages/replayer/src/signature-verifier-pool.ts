/**
 * A pool of worker threads that verify signature batches under the engine's
 * signature rule, so that verification, the replay's dominant cost, runs on
 * every core while the main thread reads and applies entries.
 *
 * Each batch goes whole to one worker, the one with the fewest signatures
 * outstanding; callers keep several batches in flight so that every worker
 * always has its next batch queued. Replies resolve in any order; the caller
 * matches them to its batches.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import {
  signatureBatchBuffers,
  SignatureBatchBuilder,
  type SignatureBatch,
  type SignatureEquation,
} from './signature-batch.js';
import type { SignatureWorkerReply, SignatureWorkerRequest } from './signature-worker-protocol.js';
import { startTypeScriptWorker } from './typescript-worker.js';

export interface BatchVerdicts {
  /** One verdict code per signature, in batch order (see verdictNames). */
  readonly verdicts: Uint8Array;
  /** Time the worker spent verifying, in nanoseconds. */
  readonly verifyNs: number;
  /** From verify(): every item's message digest, concatenated (signature-batch.ts, batchMessageDigests). */
  readonly digests?: string;
}

/** A batch already moved into one worker (preload), verified later with verifyPreloaded. */
export interface PreloadedSignatureBatch {
  readonly id: number;
  readonly count: number;
  readonly workerIndex: number;
}

/** Thrown when a worker fails: the pool cannot give a verdict, which is neither bad input nor a divergence. */
export class SignatureWorkerError extends Error {
  override readonly name = 'SignatureWorkerError';
}

interface Waiter {
  readonly count: number;
  readonly resolve: (reply: SignatureWorkerReply) => void;
  readonly reject: (error: Error) => void;
}

class PoolWorker {
  private readonly waiters = new Map<number, Waiter>();
  /** Signatures sent and not yet answered: the pool gives the next batch to the least loaded worker. */
  outstandingSignatures = 0;
  private failure: Error | undefined;

  constructor(readonly worker: Worker) {
    worker.on('message', (reply: SignatureWorkerReply) => {
      const waiter = this.waiters.get(reply.id);
      if (waiter === undefined) return;
      this.waiters.delete(reply.id);
      if (reply.type !== 'loaded') this.outstandingSignatures -= waiter.count;
      if (reply.type === 'failed')
        waiter.reject(new SignatureWorkerError(`a signature worker failed: ${reply.message}`));
      else waiter.resolve(reply);
    });
    worker.on('error', (error) =>
      this.failAll(new SignatureWorkerError(`a signature worker failed: ${error.message}`)),
    );
    worker.on('exit', (code) => this.failAll(new SignatureWorkerError(`a signature worker exited with code ${code}`)));
  }

  private failAll(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }

  /** Sends a request; `count` signatures are counted as outstanding until the reply (not for 'load'). */
  request(message: SignatureWorkerRequest, count: number, transfer: ArrayBuffer[]): Promise<SignatureWorkerReply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<SignatureWorkerReply>((resolve, reject) => {
      this.waiters.set(message.id, { count, resolve, reject });
      if (message.type !== 'load') this.outstandingSignatures += count;
      this.worker.postMessage(message, transfer);
    });
  }

  send(message: SignatureWorkerRequest): void {
    if (this.failure === undefined) this.worker.postMessage(message);
  }
}

function verdictsOf(reply: SignatureWorkerReply, count: number): BatchVerdicts {
  if (reply.type !== 'verdicts')
    throw new SignatureWorkerError(`a signature worker answered ${reply.type} instead of verdicts`);
  if (reply.verdicts.length !== count) {
    throw new SignatureWorkerError(
      `a signature worker returned ${reply.verdicts.length} verdicts for ${count} signatures`,
    );
  }
  if (reply.digests !== undefined && reply.digests.length !== count * 32) {
    throw new SignatureWorkerError(
      `a signature worker returned ${reply.digests.length / 32} digests for ${count} items`,
    );
  }
  return { verdicts: reply.verdicts, verifyNs: reply.verifyNs, digests: reply.digests };
}

export class SignatureVerifierPool {
  private nextId = 1;
  private closed = false;

  private constructor(private readonly workers: readonly PoolWorker[]) {}

  /** The number of worker threads. */
  get size(): number {
    return this.workers.length;
  }

  /**
   * Starts `size` workers (default: os.availableParallelism()) and waits until each has loaded its code.
   * `equation` chooses the library behind the rule's equation (signature-batch.ts); the default is the fastest.
   */
  static async start(
    size: number = availableParallelism(),
    equation: SignatureEquation = 'fastest',
  ): Promise<SignatureVerifierPool> {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new RangeError(`the pool needs at least one worker, got ${size}`);
    // Compiled (dist/, scripts/build.mjs), the worker module is the .js beside this one.
    const moduleUrl = new URL(
      import.meta.url.endsWith('.ts') ? './signature-worker.ts' : './signature-worker.js',
      import.meta.url,
    );
    const workers = Array.from({ length: size }, () => new PoolWorker(startTypeScriptWorker(moduleUrl, { equation })));
    const pool = new SignatureVerifierPool(workers);
    // A round trip with an empty batch proves that each worker's module graph loaded.
    try {
      await Promise.all(pool.workers.map((worker) => pool.send(worker, new SignatureBatchBuilder(1).finish())));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  private leastLoaded(): PoolWorker {
    let chosen = this.workers[0]!;
    for (const worker of this.workers) if (worker.outstandingSignatures < chosen.outstandingSignatures) chosen = worker;
    return chosen;
  }

  private async send(worker: PoolWorker, batch: SignatureBatch): Promise<BatchVerdicts> {
    const reply = await worker.request(
      { type: 'verify', id: this.nextId++, batch },
      batch.count,
      signatureBatchBuffers(batch),
    );
    return verdictsOf(reply, batch.count);
  }

  /**
   * Transfers the batch (its buffers become unusable here) to the least loaded worker and resolves with its
   * verdicts and its items' message digests.
   */
  verify(batch: SignatureBatch): Promise<BatchVerdicts> {
    if (this.closed) return Promise.reject(new SignatureWorkerError('the signature pool is closed'));
    return this.send(this.leastLoaded(), batch);
  }

  /** Moves a batch into a worker (chosen round-robin by the caller's order) without verifying it yet. */
  async preload(batch: SignatureBatch, workerIndex: number): Promise<PreloadedSignatureBatch> {
    const worker = this.workers[workerIndex % this.workers.length]!;
    const id = this.nextId++;
    await worker.request({ type: 'load', id, batch }, batch.count, signatureBatchBuffers(batch));
    return { id, count: batch.count, workerIndex: workerIndex % this.workers.length };
  }

  /** Verifies a preloaded batch; only a small message crosses threads. */
  async verifyPreloaded(preloaded: PreloadedSignatureBatch): Promise<BatchVerdicts> {
    const reply = await this.workers[preloaded.workerIndex]!.request(
      { type: 'run', id: preloaded.id },
      preloaded.count,
      [],
    );
    return verdictsOf(reply, preloaded.count);
  }

  /** Frees a preloaded batch in its worker. */
  drop(preloaded: PreloadedSignatureBatch): void {
    this.workers[preloaded.workerIndex]!.send({ type: 'drop', id: preloaded.id });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((worker) => worker.worker.terminate()));
  }
}
