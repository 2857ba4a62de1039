/**
 * Signature checks off the sequencing thread: a few worker threads running
 * the engine's verifySignature (signature-worker.ts), each sent packed tasks
 * as plain messages.
 *
 * Requests are gathered for one turn of the event loop (or until a chunk is
 * full) and sent as a few packed tasks, each one transferable buffer, so that
 * the per-task cost of the pool is shared by many signatures. Verdicts come
 * back per task and resolve their requests in request order within the task.
 *
 * Packing: count u32, then per transaction publicKeyLength u32,
 * signatureLength u32, messageLength u32, publicKey, signature, message (all
 * big-endian). Lengths are sent as they are, so a wrong length gets the
 * engine's own 'bad-length' verdict.
 *
 * A task is one message with the packed buffer (transferred, not copied) and
 * one reply with its verdicts; a worker answers its messages in the order it
 * received them, so each thread keeps its unanswered tasks in a queue. This
 * replaced a piscina pool: piscina wraps every task in objects, an async
 * resource and a message of its own on both threads, which cost the node
 * about 10 to 20 µs of CPU per order (docs/benchmarks.md, branch `node4`).
 *
 * The worker entry is a small .mjs file: worker threads inherit
 * process.execArgv, so under tsx they load .ts directly; elsewhere (vitest,
 * plain node) the .mjs imports the TypeScript module through tsx's scoped loader.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { verifySignature, type SignatureVerdict, type SignedTransaction } from '@vex/engine';
import { signatureWorkerMarker, type SignatureWorkerReply } from './signature-worker.js';

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

// From source, the .mjs entry loads the .ts worker (it says how); compiled
// (dist/, scripts/build.mjs), the worker is plain JavaScript beside this module.
const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './signature-worker.mjs' : './signature-worker.js',
  import.meta.url,
);

/** One worker thread of the pool and the tasks it has not answered yet, oldest first. */
interface VerifierThread {
  readonly worker: Worker;
  readonly tasks: PendingVerification[][];
  /** Set once the thread failed or exited: its tasks were rejected and a new thread took its place. */
  failed: boolean;
  /** When the thread last went from idle to busy (performance.now()), and its busy time before that, in ms. */
  busySinceMs: number;
  busyMs: number;
}

export class SignaturePool implements SignatureVerifier {
  private readonly workers: VerifierThread[];
  private pending: PendingVerification[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly startedMs = performance.now();
  /** Called when no task is in flight any more (close() waits for it). */
  private drainedWaiters: Array<() => void> = [];
  readonly threads: number;
  /** Transactions verified on the calling thread, and those sent to the workers (for metrics and the benchmark). */
  readonly verifiedInline = { inline: 0, inWorkers: 0 };

  constructor(
    threads: number = availableParallelism(),
    private readonly inlineMaximum: number = defaultInlineVerificationMaximum,
  ) {
    if (!Number.isSafeInteger(threads) || threads < 1)
      throw new RangeError(`verifierThreads must be a positive integer, got ${threads}`);
    if (!Number.isSafeInteger(inlineMaximum) || inlineMaximum < 0)
      throw new RangeError(`inlineVerificationMaximum must be a non-negative integer, got ${inlineMaximum}`);
    this.threads = threads;
    this.workers = Array.from({ length: threads }, () => this.startThread());
  }

  private startThread(): VerifierThread {
    const worker = new Worker(workerUrl, { workerData: { [signatureWorkerMarker]: true } });
    const thread: VerifierThread = { worker, tasks: [], failed: false, busySinceMs: 0, busyMs: 0 };
    worker.on('message', (reply: SignatureWorkerReply) => this.answered(thread, reply));
    worker.on('error', (error) => this.threadFailed(thread, error));
    worker.on('exit', (code) => this.threadFailed(thread, new Error(`a signature worker exited (code ${code})`)));
    // An idle worker does not keep the process alive; one with tasks in flight does (runTask refs it).
    worker.unref();
    return thread;
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
    const now = performance.now();
    let busyMs = 0;
    let queuedTasks = 0;
    for (const thread of this.workers) {
      busyMs += thread.busyMs + (thread.tasks.length > 0 ? now - thread.busySinceMs : 0);
      queuedTasks += Math.max(0, thread.tasks.length - 1);
    }
    const elapsedMs = (now - this.startedMs) * this.threads;
    return { utilization: elapsedMs > 0 ? Math.min(1, busyMs / elapsedMs) : 0, queuedTasks };
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
      for (const request of batch) {
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

  private runTask(requests: PendingVerification[]): void {
    let packed: Uint8Array;
    try {
      packed = pack(requests);
    } catch (error) {
      for (const request of requests) request.reject(error);
      return;
    }
    // The thread with the fewest unanswered tasks (the first of them on a tie).
    let thread = this.workers[0]!;
    for (const candidate of this.workers) if (candidate.tasks.length < thread.tasks.length) thread = candidate;
    if (thread.tasks.length === 0) {
      thread.busySinceMs = performance.now();
      thread.worker.ref();
    }
    thread.tasks.push(requests);
    thread.worker.postMessage(packed, [packed.buffer as ArrayBuffer]);
  }

  /** The reply to the thread's oldest unanswered task. */
  private answered(thread: VerifierThread, reply: SignatureWorkerReply): void {
    const requests = thread.tasks.shift();
    if (requests === undefined) return;
    this.becameIdle(thread);
    if (!Array.isArray(reply)) {
      const error = new Error(`a signature worker failed: ${reply.failed}`);
      for (const request of requests) request.reject(error);
      return;
    }
    for (let index = 0; index < requests.length; index += 1) {
      const verdict = reply[index];
      if (verdict === undefined) requests[index]!.reject(new Error('the signature worker returned too few verdicts'));
      else requests[index]!.resolve(verdict);
    }
  }

  private becameIdle(thread: VerifierThread): void {
    if (thread.tasks.length > 0) return;
    thread.busyMs += performance.now() - thread.busySinceMs;
    thread.worker.unref();
    if (this.workers.every((each) => each.tasks.length === 0)) {
      const waiters = this.drainedWaiters;
      this.drainedWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }

  /** A worker failed or exited: its unanswered tasks fail, and (unless the pool is closing) a new thread replaces it. */
  private threadFailed(thread: VerifierThread, error: Error): void {
    if (thread.failed) return;
    thread.failed = true;
    const tasks = thread.tasks.splice(0);
    if (tasks.length > 0) this.becameIdle(thread);
    for (const requests of tasks) for (const request of requests) request.reject(error);
    if (this.closed) return;
    const index = this.workers.indexOf(thread);
    if (index >= 0) this.workers[index] = this.startThread();
  }

  /** Waits for queued checks, then stops the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    if (this.workers.some((thread) => thread.tasks.length > 0))
      await new Promise<void>((resolve) => this.drainedWaiters.push(resolve));
    await Promise.all(this.workers.map((thread) => thread.worker.terminate()));
  }
}

function pack(requests: readonly PendingVerification[]): Uint8Array {
  let length = 4;
  for (const { transaction } of requests) {
    length += 12 + transaction.publicKey.length + transaction.signature.length + transaction.message.length;
  }
  const packed = new Uint8Array(length);
  const view = new DataView(packed.buffer);
  view.setUint32(0, requests.length);
  let offset = 4;
  for (const { transaction } of requests) {
    const { publicKey, signature, message } = transaction;
    view.setUint32(offset, publicKey.length);
    view.setUint32(offset + 4, signature.length);
    view.setUint32(offset + 8, message.length);
    offset += 12;
    packed.set(publicKey, offset);
    offset += publicKey.length;
    packed.set(signature, offset);
    offset += signature.length;
    packed.set(message, offset);
    offset += message.length;
  }
  return packed;
}
