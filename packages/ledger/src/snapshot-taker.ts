/**
 * Snapshots off the sequencer thread (docs/log-format.md, "Snapshots";
 * docs/benchmarks.md). A worker thread (snapshot-worker.ts) holds its own
 * copy of the state, starting from the state the node recovered. After each
 * group-commit batch is durable the node sends it the batch's entries; at
 * each multiple of the snapshot interval the worker encodes the snapshot and
 * hands the record back, and the node writes it (with the deletion of the
 * snapshot it makes obsolete) as an item of the group commit of its own.
 *
 * So a snapshot is written only after its entry is durable, in a later batch:
 * a snapshot never exists without its entry, as recovery requires, and
 * recovery is unchanged. The cost on the sequencer thread is one copy of each
 * durable entry's bytes and one message per batch; the worker's apply and the
 * snapshot's encoding and hashing run on another core.
 *
 * The worker's copy follows the log by determinism (the same entries applied
 * by the same engine). If it cannot follow (the engine refuses an entry there,
 * or an invariant fails at a snapshot) the node halts, as it would had the
 * sequencer found it.
 */
import { Worker } from 'node:worker_threads';
import { encodeState, type ExchangeState } from '@vex/engine';
import type { BatchOperation } from './database.js';
import { snapshotsKept } from './node-options.js';
import type { SnapshotWorkerData, SnapshotWorkerReply, SnapshotWorkerRequest } from './snapshot-worker.js';
import { snapshotKey } from './storage-format.js';

// From source, the .mjs entry loads the .ts worker; compiled, the worker is plain JavaScript beside this module.
const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './snapshot-worker.mjs' : './snapshot-worker.js',
  import.meta.url,
);

export interface SnapshotWriter {
  /** Queues `operations` (a snapshot and the deletion it makes obsolete) to be written; resolves once durable. */
  write(operations: BatchOperation[]): Promise<void>;
  /** The worker failed: its copy no longer follows the log. The node halts. */
  failed(error: Error): void;
}

export class SnapshotTaker {
  private readonly worker: Worker;
  private readonly flushes = new Map<number, () => void>();
  private nextFlushId = 0;
  /** Settles once every snapshot handed back so far is written (or its write abandoned). */
  private written: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    state: ExchangeState,
    sequence: number,
    private readonly snapshotEveryEntries: number,
    private readonly writer: SnapshotWriter,
  ) {
    const stateEncoding = encodeState(state);
    const workerData: SnapshotWorkerData = {
      stateEncoding,
      sequence,
      snapshotEveryEntries,
      ...(state.genesis.custodians === undefined ? {} : { custodians: state.genesis.custodians }),
    };
    this.worker = new Worker(workerUrl, { workerData, transferList: [stateEncoding.buffer as ArrayBuffer] });
    this.worker.on('message', (reply: SnapshotWorkerReply) => this.received(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the snapshot worker exited (code ${code})`)));
    // Like the signature workers, it does not keep the process alive on its own (only while a flush waits).
    this.worker.unref();
  }

  /** Sends durable entries, in sequence order, to the worker (one message for all of them). */
  follow(encodings: readonly Uint8Array[]): void {
    if (this.stopped || encodings.length === 0) return;
    let length = 0;
    for (const encoding of encodings) length += 4 + encoding.length;
    const packed = new Uint8Array(length);
    const view = new DataView(packed.buffer);
    let offset = 0;
    for (const encoding of encodings) {
      view.setUint32(offset, encoding.length);
      packed.set(encoding, offset + 4);
      offset += 4 + encoding.length;
    }
    const request: SnapshotWorkerRequest = { kind: 'entries', packed };
    this.worker.postMessage(request, [packed.buffer]);
  }

  /** Resolves once every entry sent so far is applied and every snapshot due among them is durable. */
  async flush(): Promise<void> {
    if (!this.stopped) {
      const id = this.nextFlushId++;
      this.worker.ref();
      await new Promise<void>((resolve) => {
        this.flushes.set(id, resolve);
        this.worker.postMessage({ kind: 'flush', id } satisfies SnapshotWorkerRequest);
      });
      if (this.flushes.size === 0) this.worker.unref();
    }
    await this.written;
  }

  /** Stops the worker; snapshots not yet handed back are not written (recovery does not need them). */
  async close(): Promise<void> {
    this.stop();
    await this.worker.terminate();
  }

  private received(reply: SnapshotWorkerReply): void {
    if (reply.kind === 'flushed') {
      this.flushes.get(reply.id)?.();
      this.flushes.delete(reply.id);
    } else if (reply.kind === 'failed') {
      this.fail(new Error(`the snapshot worker's copy of the state cannot follow the log: ${reply.message}`));
    } else if (!this.stopped) {
      this.store(reply.sequence, reply.record);
    }
  }

  private store(sequence: number, record: Uint8Array): void {
    const operations: BatchOperation[] = [{ type: 'put', key: snapshotKey(sequence), value: record }];
    const obsolete = sequence - snapshotsKept * this.snapshotEveryEntries;
    if (obsolete > 0) operations.push({ type: 'del', key: snapshotKey(obsolete) });
    const write = this.writer.write(operations).catch(() => undefined);
    this.written = Promise.all([this.written, write]).then(() => undefined);
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.stop();
    this.writer.failed(error);
  }

  private stop(): void {
    this.stopped = true;
    for (const resolve of this.flushes.values()) resolve();
    this.flushes.clear();
  }
}
