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
 * durable entry's bytes and one message per group-commit batch (or per follow
 * interval, below); the worker's apply and the snapshot's encoding and hashing run on
 * another core.
 *
 * Durable entries are gathered until 32 are waiting, or for at most the
 * follow interval (NodeOptions.snapshotFollowIntervalMs, 50 ms by default),
 * and sent in one message, not one message per group-commit batch: each
 * message costs a cross-thread wake-up on both threads (a system call, dear
 * on a virtual machine) and the handling of a message event, about 80 µs of
 * the worker's CPU. At half load a batch holds about five entries and the
 * node writes about 400 batches a second: one message per batch cost the
 * worker about 29 µs of CPU per entry, against 13 to 14 µs with the interval
 * (docs/benchmarks.md, branch `node10a`). Under full load a batch holds 40 or
 * more entries, so it is sent at once as before. A batch holding a snapshot's
 * entry is also sent at once, so the snapshot is not delayed; flush() (which a
 * clean stop and readLatestSnapshot call) sends what is gathered first. An
 * interval of 0 sends one message per group-commit batch.
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

/** How long durable entries wait before they are sent to the worker (together); 0: one message per batch. */
export const defaultFollowIntervalMs = 50;
/**
 * Gathered entries are sent once this many wait, whatever the interval: a message's own cost is then at most a few
 * µs per entry, and a full-load batch (40 or more entries) is not held back.
 */
const followSendAtEntries = 32;
/**
 * Nice steps the snapshot worker runs below the rest of the node (thread-priority.ts): on busy cores the threads
 * requests wait for get a core first. 10 gives it about a tenth of the share of a thread at the node's priority when
 * both want the same core; it still has every idle cycle (docs/operator.md, "Thread priorities").
 */
export const defaultSnapshotWorkerNiceness = 10;

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
  /** Durable entries not yet sent to the worker, in sequence order, and the sequence of the last of them. */
  private gathered: Uint8Array[] = [];
  /** The gathered entries' replay-protection digests, one per entry. */
  private gatheredDigests: string[] = [];
  private gatheredSequence: number;
  private sendTimer: NodeJS.Timeout | undefined;

  constructor(
    state: ExchangeState,
    sequence: number,
    private readonly snapshotEveryEntries: number,
    private readonly writer: SnapshotWriter,
    private readonly followIntervalMs = defaultFollowIntervalMs,
    nicenessIncrement = defaultSnapshotWorkerNiceness,
  ) {
    this.gatheredSequence = sequence;
    const stateEncoding = encodeState(state);
    const workerData: SnapshotWorkerData = {
      stateEncoding,
      sequence,
      snapshotEveryEntries,
      nicenessIncrement,
      ...(state.genesis.custodians === undefined ? {} : { custodians: state.genesis.custodians }),
    };
    this.worker = new Worker(workerUrl, { workerData, transferList: [stateEncoding.buffer as ArrayBuffer] });
    this.worker.on('message', (reply: SnapshotWorkerReply) => this.received(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the snapshot worker exited (code ${code})`)));
    // Like the signature workers, it does not keep the process alive on its own (only while a flush waits).
    this.worker.unref();
  }

  /**
   * Hands durable entries, in sequence order, to the worker, with their replay-protection digests (the engine's
   * messageDigest, one per entry, which the worker's apply would otherwise compute again): gathered and sent within
   * the follow interval, at once when a snapshot is due among them. The encodings must not change afterwards (the
   * log's bytes do not).
   */
  follow(encodings: readonly Uint8Array[], digests: readonly string[]): void {
    if (this.stopped || encodings.length === 0) return;
    if (digests.length !== encodings.length) throw new Error('the snapshot worker needs one digest per entry');
    const before = this.gatheredSequence;
    this.gatheredSequence += encodings.length;
    for (const encoding of encodings) this.gathered.push(encoding);
    for (const digest of digests) this.gatheredDigests.push(digest);
    const snapshotDue =
      Math.floor(this.gatheredSequence / this.snapshotEveryEntries) > Math.floor(before / this.snapshotEveryEntries);
    if (snapshotDue || this.gathered.length >= followSendAtEntries || this.followIntervalMs === 0) this.send();
    else this.sendTimer ??= setTimeout(() => this.send(), this.followIntervalMs).unref();
  }

  /** Sends the gathered entries to the worker (one message for all of them). */
  private send(): void {
    if (this.sendTimer !== undefined) clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    const encodings = this.gathered;
    if (this.stopped || encodings.length === 0) return;
    // The digests travel as one latin1 string (32 characters per entry), which a message copies in one piece.
    const digests = this.gatheredDigests.join('');
    this.gathered = [];
    this.gatheredDigests = [];
    const packed = packEntries(encodings);
    const request: SnapshotWorkerRequest = { kind: 'entries', packed, digests };
    this.worker.postMessage(request, [packed.buffer]);
  }

  /** Resolves once every entry sent so far is applied and every snapshot due among them is durable. */
  async flush(): Promise<void> {
    if (!this.stopped) {
      this.send();
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
    if (this.sendTimer !== undefined) clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    this.gathered = [];
    this.gatheredDigests = [];
    for (const resolve of this.flushes.values()) resolve();
    this.flushes.clear();
  }
}

/** Entry encodings as the worker's `entries` message carries them: per entry a u32 length, then the encoding. */
export function packEntries(encodings: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
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
  return packed;
}
