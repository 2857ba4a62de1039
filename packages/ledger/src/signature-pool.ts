/**
 * Signature checks off the sequencing thread: worker threads running the
 * engine's verifySignature, each fed through shared memory (signature-ring.ts)
 * or, with the hand-off 'messages', a piscina pool.
 *
 * Requests are gathered for one turn of the event loop (or until a chunk is
 * full) and sent as a few packed tasks (each a slot of a ring's shared buffer,
 * or one transferable buffer), so that the per-task cost is shared by many
 * signatures. Verdicts come back per task and resolve their requests in
 * request order within the task.
 *
 * Packing: count u32, then per transaction publicKeyLength u32,
 * signatureLength u32, messageLength u32, publicKey, signature, message (all
 * big-endian). Lengths are sent as they are, so a wrong length gets the
 * engine's own 'bad-length' verdict.
 *
 * The worker entry is a small .mjs file: worker threads inherit
 * process.execArgv, so under tsx they load .ts directly; elsewhere (vitest,
 * plain node) the .mjs imports the TypeScript task through tsx's scoped loader.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { verifySignature, type SignatureVerdict, type SignedTransaction } from '@vex/engine';
import { packedTransactionBytes, writeTransactions } from './signature-packing.js';
import { SignatureRing } from './signature-ring.js';

/** What the node and recovery need from a signature checker: the pool, or the inline checker. */
export interface SignatureVerifier {
  readonly threads: number;
  verify(transaction: SignedTransaction): Promise<SignatureVerdict>;
  close(): Promise<void>;
  /** For metrics: the workers' busy ratio since start (0 to 1; 0 inline) and tasks waiting for a worker. */
  usage?(): { readonly utilization: number; readonly queuedTasks: number };
}

/**
 * Checks signatures on the calling thread, with no workers: the simulator's
 * choice (NodeOptions.verifySignaturesInline), because worker replies arrive
 * in an order the simulator cannot control, while an inline verdict settles
 * in the microtask after the call, the same way in every run.
 */
export class InlineSignatureVerifier implements SignatureVerifier {
  readonly threads = 0;
  private closed = false;

  verify(transaction: SignedTransaction): Promise<SignatureVerdict> {
    if (this.closed) return Promise.reject(new Error('the signature verifier is closed'));
    return Promise.resolve(verifySignature(transaction.publicKey, transaction.message, transaction.signature));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

interface PendingVerification {
  readonly transaction: SignedTransaction;
  readonly resolve: (verdict: SignatureVerdict) => void;
  readonly reject: (error: unknown) => void;
}

/** Transactions per worker task at most. */
const maximumTaskTransactions = 512;
/**
 * A task carries at least this many transactions when there are enough of
 * them (small flushes are not split across every thread): each task costs a
 * message to a worker, a wake-up and a reply, tens of µs on the sequencing
 * thread and in the worker, more than half a verification when tasks carry
 * one or two transactions, which is what moderate load produces.
 */
const minimumTaskTransactions = 4;

/**
 * A flush of at most this many transactions is verified on the calling
 * thread (libsodium's verification, about 47 µs, where it loads) instead of
 * being handed to a worker: a task's message, the worker's wake-up and the
 * reply cost the process more CPU than that when a task carries one or two
 * signatures, which is what light and moderate load produce. Larger flushes
 * go to the workers, so the sequencing thread is not the limit under heavy
 * load. Measured with `pnpm bench:node` (docs/benchmarks.md).
 */
export const defaultInlineVerificationMaximum = 2;

/**
 * Signature threads when the caller does not choose: one fewer than the cores, and at least one. The sequencing
 * thread (HTTP, authentication, the engine, the group commit) is the node's busiest and needs a core of its own;
 * a verifier thread on every core as well oversubscribes the machine (beside the snapshot worker, V8's and
 * LevelDB's threads), and every thread then spends more CPU per request. On 2 cores one verifier thread took less
 * server CPU per single order than two in 12 of 13 alternating `pnpm bench:node` pairs (per batched order, one
 * signature for 20 orders, the pairs disagree: docs/benchmarks.md, branch nodecpu6); one thread verifies about
 * 20,000 signatures a second, far above what the sequencing thread sequences.
 */
export function defaultVerifierThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

// From source, the .mjs entry loads the .ts worker (it says how); compiled
// (dist/, scripts/build.mjs), the worker is plain JavaScript beside this module.
const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './signature-worker.mjs' : './signature-worker.js',
  import.meta.url,
).href;
const ringWorkerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './signature-ring-worker.mjs' : './signature-ring-worker.js',
  import.meta.url,
).href;

/** How tasks reach the verifier threads: shared memory (signature-ring.ts), or piscina's messages. */
export type SignatureHandoff = 'ring' | 'messages';

/**
 * The shared-memory ring unless SIGNATURE_HANDOFF=messages (piscina) is set. In `signature-handoff.bench.ts` the
 * ring's hand-off cost the process about half of piscina's per signature (12 against 22 to 27 µs for a flush of
 * one signature, whose wake-ups dominate): no message is cloned, posted or dispatched per task in either direction,
 * and a thread still busy with one task takes the next without a wake-up. In `pnpm bench:node` the server's CPU
 * per single order was lower in 4 of 6 alternating pairs (12.5 µs on average), at the edge of that bench's noise
 * (docs/benchmarks.md, branch node8a).
 */
export function defaultSignatureHandoff(): SignatureHandoff {
  const setting = process.env.SIGNATURE_HANDOFF;
  if (setting === undefined || setting === '' || setting === 'ring') return 'ring';
  if (setting === 'messages') return 'messages';
  throw new RangeError(`SIGNATURE_HANDOFF must be ring or messages, not ${setting}`);
}

export class SignaturePool implements SignatureVerifier {
  private readonly pool: Piscina<Uint8Array, SignatureVerdict[]> | undefined;
  private readonly rings: SignatureRing[] = [];
  private pending: PendingVerification[] = [];
  private flushScheduled = false;
  private closed = false;
  readonly threads: number;
  /** Transactions verified on the calling thread, and those sent to the workers (for metrics and the benchmark). */
  readonly verifiedInline = { inline: 0, inWorkers: 0 };

  constructor(
    threads: number = defaultVerifierThreads(),
    private readonly inlineMaximum: number = defaultInlineVerificationMaximum,
    handoff: SignatureHandoff = defaultSignatureHandoff(),
  ) {
    if (!Number.isSafeInteger(threads) || threads < 1)
      throw new RangeError(`verifierThreads must be a positive integer, got ${threads}`);
    if (!Number.isSafeInteger(inlineMaximum) || inlineMaximum < 0)
      throw new RangeError(`inlineVerificationMaximum must be a non-negative integer, got ${inlineMaximum}`);
    this.threads = threads;
    if (handoff === 'ring') {
      for (let index = 0; index < threads; index += 1) this.rings.push(new SignatureRing(ringWorkerUrl));
      this.pool = undefined;
      return;
    }
    this.pool = new Piscina({
      filename: workerUrl,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 2 ** 31 - 1,
      stricterFIFO: true,
      // Tasks and replies go through the workers' message ports only. With piscina's default ('sync') every task
      // also costs an Atomics.notify here and an Atomics.wait there: futex calls and cross-thread wake-ups, dear on
      // a virtual machine. Measured with `pnpm bench:node` (docs/benchmarks.md): less server CPU per order.
      atomics: 'disabled',
    });
  }

  /** Resolves with the engine's verdict for the transaction. */
  verify(transaction: SignedTransaction): Promise<SignatureVerdict> {
    if (this.closed) return Promise.reject(new Error('the signature pool is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ transaction, resolve, reject });
      if (this.pending.length >= maximumTaskTransactions * this.threads) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  usage(): { readonly utilization: number; readonly queuedTasks: number } {
    if (this.pool === undefined) {
      let busy = 0;
      let queuedTasks = 0;
      for (const ring of this.rings) {
        const usage = ring.usage();
        busy += usage.utilization;
        queuedTasks += usage.queuedTasks;
      }
      return { utilization: busy / this.rings.length, queuedTasks };
    }
    return { utilization: this.pool.utilization, queuedTasks: this.pool.queueSize };
  }

  /** Verdicts for many transactions, in order. */
  verifyAll(transactions: readonly SignedTransaction[]): Promise<SignatureVerdict[]> {
    return Promise.all(transactions.map((transaction) => this.verify(transaction)));
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    if (batch.length <= this.inlineMaximum && !this.closed) {
      this.verifiedInline.inline += batch.length;
      this.verifyHere(batch);
      return;
    }
    this.verifiedInline.inWorkers += batch.length;
    // Spread the batch evenly over the threads, in chunks of at least minimumTaskTransactions
    // (when there are that many) and at most maximumTaskTransactions.
    const tasks = Math.max(
      Math.min(this.threads, Math.ceil(batch.length / minimumTaskTransactions)),
      Math.ceil(batch.length / maximumTaskTransactions),
    );
    const perTask = Math.ceil(batch.length / tasks);
    for (let start = 0; start < batch.length; start += perTask) this.runTask(batch.slice(start, start + perTask));
  }

  /**
   * Verifies on this thread: small flushes, and (with the ring) a lone transaction too large for a slot, which
   * only a malformed one can be (a signing string is at most 16 KiB, a slot 256 KiB).
   */
  private verifyHere(requests: readonly PendingVerification[]): void {
    for (const request of requests) {
      const { publicKey, message, signature } = request.transaction;
      let verdict: SignatureVerdict;
      try {
        verdict = verifySignature(publicKey, message, signature);
      } catch (error) {
        request.reject(error);
        continue;
      }
      request.resolve(verdict);
    }
  }

  private runTask(requests: PendingVerification[]): void {
    if (this.pool === undefined) {
      // A thread that failed is replaced, as piscina replaces a worker that exits.
      for (const [index, ring] of this.rings.entries())
        if (ring.failed) this.rings[index] = new SignatureRing(ringWorkerUrl);
      let ring = this.rings[0]!;
      for (const other of this.rings) if (other.pendingTasks < ring.pendingTasks) ring = other;
      let fits: boolean;
      try {
        fits = ring.fits(requests);
        if (fits) ring.run(requests);
      } catch (error) {
        // Sizing or packing threw (a transaction whose parts are not byte arrays): nothing was published.
        for (const request of requests) request.reject(error);
        return;
      }
      if (fits) return;
      if (requests.length > 1) {
        const half = Math.ceil(requests.length / 2);
        this.runTask(requests.slice(0, half));
        this.runTask(requests.slice(half));
      } else this.verifyHere(requests);
      return;
    }
    let packed: Uint8Array;
    try {
      packed = pack(requests);
    } catch (error) {
      for (const request of requests) request.reject(error);
      return;
    }
    this.pool.run(packed, { transferList: [packed.buffer as ArrayBuffer] }).then(
      (verdicts) => {
        for (let index = 0; index < requests.length; index += 1) {
          const verdict = verdicts[index];
          if (verdict === undefined)
            requests[index]!.reject(new Error('the signature worker returned too few verdicts'));
          else requests[index]!.resolve(verdict);
        }
      },
      (error: unknown) => {
        for (const request of requests) request.reject(error);
      },
    );
  }

  /** Waits for queued checks, then stops the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    await Promise.all(this.rings.map((ring) => ring.close()));
    await this.pool?.close();
  }
}

function pack(requests: readonly PendingVerification[]): Uint8Array {
  const packed = new Uint8Array(4 + packedTransactionBytes(requests));
  const view = new DataView(packed.buffer);
  view.setUint32(0, requests.length);
  writeTransactions(view, packed, 4, requests);
  return packed;
}
