/**
 * A signature thread fed through shared memory instead of messages: the hand-off of SignaturePool when
 * `handoff` is 'ring' (signature-pool.ts).
 *
 * The thread owns `slotCount` slots of one SharedArrayBuffer. The sequencing thread writes a task (packed as
 * signature-pool.ts packs one) into the next free slot, in order, publishes it by raising the `published`
 * counter and wakes the thread with Atomics.notify; the thread, blocked in Atomics.wait while it has nothing to
 * do, verifies every task published since its last one, writes one verdict byte per transaction (the index in
 * signatureVerdicts) into the slot, raises `completed` and notifies. The sequencing thread learns of completions
 * through Atomics.waitAsync on `completed`, armed only while tasks are outstanding. No message is posted per
 * task in either direction, and a thread that is still busy when the next task is published takes it without
 * sleeping in between.
 *
 * The counters are int32 words that wrap (a node verifying 10,000 tasks a second passes 2^31 in under three
 * days), so both sides count with `| 0` and compare for equality only, and each side keeps its own slot cursor
 * (task n's slot, n modulo the slot count, would not survive the wrap for a slot count that does not divide 2^32).
 *
 * Slot layout: transactions u32, then `maximumSlotTransactions` verdict bytes, then the packed transactions
 * (publicKeyLength u32, signatureLength u32, messageLength u32, publicKey, signature, message; big-endian).
 */
import { Worker } from 'node:worker_threads';
import { signatureVerdicts, type SignatureVerdict, type SignedTransaction } from '@vex/engine';
import { packedTransactionBytes, writeTransactions } from './signature-packing.js';

/** Atomics.waitAsync (ES2024, in Node since 16); the TypeScript library this repository targets predates it. */
type WaitAsyncResult =
  | { readonly async: false; readonly value: 'not-equal' | 'timed-out' }
  | { readonly async: true; readonly value: Promise<'ok' | 'timed-out'> };
const atomicsWithWaitAsync = Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): WaitAsyncResult;
};

/** Indices into the control words (an Int32Array at the start of the shared buffer). */
export const ringControl = { published: 0, completed: 1, stop: 2 } as const;
/** The control words (16 bytes), then the thread's busy milliseconds as a float64 (for metrics), then the slots. */
const controlBytes = 16;
export const busyMsOffset = controlBytes;
const headerBytes = controlBytes + 16;
/** Transactions one slot holds at most (the pool's tasks are no larger). */
export const maximumSlotTransactions = 512;
const slotHeaderBytes = 4 + maximumSlotTransactions;

export interface RingRequest {
  readonly transaction: SignedTransaction;
  readonly resolve: (verdict: SignatureVerdict) => void;
  readonly reject: (error: unknown) => void;
}

interface PublishedTask {
  readonly slot: number;
  readonly requests: readonly RingRequest[];
}

export interface RingLayout {
  readonly shared: SharedArrayBuffer;
  readonly slotCount: number;
  readonly slotBytes: number;
}

/** Byte offset of a slot in the shared buffer. */
export function slotOffset(layout: RingLayout, slot: number): number {
  return headerBytes + slot * layout.slotBytes;
}

export class SignatureRing {
  private readonly control: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly layout: RingLayout;
  private readonly worker: Worker;
  /** Tasks published and not yet answered, oldest first, each with its slot. */
  private readonly outstanding: PublishedTask[] = [];
  /** Tasks waiting for a free slot. */
  private readonly backlog: (readonly RingRequest[])[] = [];
  /** Tasks published and answered so far, as the wrapping int32 counters of the control words. */
  private published: number;
  private answered: number;
  /** The slot the next published task takes (the thread's own cursor follows the same sequence). */
  private nextSlot = 0;
  private waiting = false;
  private failure: Error | undefined;
  private readonly exited: Promise<void>;
  private readonly busyMs: Float64Array;
  private readonly startedMs = performance.now();

  /** `firstTaskNumber` (an int32) is where both counters start: 0, except in the test of their wrap. */
  constructor(workerUrl: string, slotCount = 8, slotBytes = 1 << 18, firstTaskNumber = 0) {
    const shared = new SharedArrayBuffer(headerBytes + slotCount * slotBytes);
    this.layout = { shared, slotCount, slotBytes };
    this.control = new Int32Array(shared, 0, controlBytes / 4);
    this.published = firstTaskNumber | 0;
    this.answered = this.published;
    // Before the thread starts, which takes its first task number from `completed`.
    this.control[ringControl.published] = this.published;
    this.control[ringControl.completed] = this.published;
    this.bytes = new Uint8Array(shared);
    this.view = new DataView(shared);
    this.busyMs = new Float64Array(shared, busyMsOffset, 1);
    this.worker = new Worker(new URL(workerUrl), { workerData: this.layout });
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', (error) => this.fail(error instanceof Error ? error : new Error(String(error))));
    this.worker.on('exit', (code) => {
      if (Atomics.load(this.control, ringControl.stop) === 0)
        this.fail(new Error(`the signature thread exited (code ${code})`));
    });
  }

  /** The bytes a task of these requests needs; a task must fit one slot (the pool splits larger ones). */
  fits(requests: readonly RingRequest[]): boolean {
    return (
      slotHeaderBytes + packedTransactionBytes(requests) <= this.layout.slotBytes &&
      requests.length <= maximumSlotTransactions
    );
  }

  /** Whether the thread failed (it threw or exited); its requests were rejected and it takes no more. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Transactions handed over and not yet answered. */
  get pendingTasks(): number {
    return this.outstanding.length + this.backlog.length;
  }

  /**
   * For metrics: the thread's busy share since it started (0 to 1), and the tasks not yet taken by it. The busy
   * time is a plain float the thread writes; a read racing its write may be off by one task's time.
   */
  usage(): { readonly utilization: number; readonly queuedTasks: number } {
    const elapsedMs = performance.now() - this.startedMs;
    const started = Atomics.load(this.control, ringControl.completed) !== this.published ? 1 : 0;
    return {
      utilization: elapsedMs > 0 ? Math.min(1, this.busyMs[0]! / elapsedMs) : 0,
      queuedTasks: this.outstanding.length - started + this.backlog.length,
    };
  }

  run(requests: readonly RingRequest[]): void {
    if (this.failure !== undefined) {
      for (const request of requests) request.reject(this.failure);
      return;
    }
    if (this.outstanding.length >= this.layout.slotCount) this.backlog.push(requests);
    else this.publish(requests);
    this.arm();
  }

  private publish(requests: readonly RingRequest[]): void {
    const slot = this.nextSlot;
    const start = slotOffset(this.layout, slot);
    const { view, bytes } = this;
    view.setUint32(start, requests.length);
    writeTransactions(view, bytes, start + slotHeaderBytes, requests);
    this.outstanding.push({ slot, requests });
    this.nextSlot = (slot + 1) % this.layout.slotCount;
    this.published = (this.published + 1) | 0;
    // The store publishes the slot's bytes (Atomics are sequentially consistent); the thread may be running and
    // see it without a wake-up, so notify costs a system call only when it sleeps.
    Atomics.store(this.control, ringControl.published, this.published);
    Atomics.notify(this.control, ringControl.published);
  }

  /** Waits (without blocking this thread) for the thread to complete more tasks, while any are outstanding. */
  private arm(): void {
    if (this.waiting || this.outstanding.length === 0) return;
    const result = atomicsWithWaitAsync.waitAsync(this.control, ringControl.completed, this.answered);
    if (!result.async) {
      this.collect();
      return;
    }
    this.waiting = true;
    // While tasks are outstanding the thread keeps the process alive (a waitAsync does not).
    this.worker.ref();
    void result.value.then(() => {
      this.waiting = false;
      this.collect();
    });
  }

  /** Resolves every completed task's requests, refills freed slots from the backlog, and re-arms. */
  private collect(): void {
    const completed = Atomics.load(this.control, ringControl.completed);
    while (this.answered !== completed) {
      const task = this.outstanding.shift()!;
      this.answered = (this.answered + 1) | 0;
      const verdictStart = slotOffset(this.layout, task.slot) + 4;
      for (let index = 0; index < task.requests.length; index += 1) {
        const verdict = signatureVerdicts[this.bytes[verdictStart + index]!];
        if (verdict === undefined) task.requests[index]!.reject(new Error('the signature thread wrote no verdict'));
        else task.requests[index]!.resolve(verdict);
      }
    }
    while (this.backlog.length > 0 && this.outstanding.length < this.layout.slotCount)
      this.publish(this.backlog.shift()!);
    if (this.outstanding.length === 0) this.worker.unref();
    this.arm();
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const task of this.outstanding.splice(0)) for (const request of task.requests) request.reject(error);
    for (const requests of this.backlog.splice(0)) for (const request of requests) request.reject(error);
    this.worker.unref();
  }

  /** Lets outstanding tasks finish, then stops the thread. */
  async close(): Promise<void> {
    while (this.pendingTasks > 0 && this.failure === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      this.arm();
    }
    // Referenced until it has exited, so that the process waits for it.
    this.worker.ref();
    Atomics.store(this.control, ringControl.stop, 1);
    Atomics.notify(this.control, ringControl.published);
    await this.exited;
  }
}
