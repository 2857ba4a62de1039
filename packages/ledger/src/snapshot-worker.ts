/**
 * The snapshot worker thread (snapshot-taker.ts): holds its own copy of the
 * exchange state, applies every durable entry the node sends it, and encodes
 * a snapshot record at each multiple of the snapshot interval, so that the
 * sequencer thread never encodes or hashes the whole state.
 *
 * Messages in: `entries` (packed durable entries: per entry a u32 length and
 * the entry encoding, in sequence order; and their replay-protection digests,
 * which the sequencer computed, 32 latin1 characters each) and `flush`
 * (answered once every message before it is done). Messages out: `snapshot` (sequence and record),
 * `flushed`, and `failed` (the copy cannot follow the log: the node halts).
 *
 * The copy starts from the state the node recovered (sent encoded as
 * workerData) and applies each entry exactly as recovery does: the engine,
 * signatures already verified, with the digest the sequencer applied it with
 * (apply's messageDigest option, which must equal the engine's own). Determinism makes its state at a sequence the
 * sequencer's state at that sequence, byte for byte.
 */
import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import {
  apply,
  checkInvariants,
  decodeState,
  encodeSnapshot,
  encodeState,
  hashEntryEncoding,
  sha256,
  viewEntry,
  type ExchangeState,
} from '@vex/engine';
import { lowerThisThreadPriority } from './thread-priority.js';

export interface SnapshotWorkerData {
  readonly stateEncoding: Uint8Array;
  /** The sequence the state is at. */
  readonly sequence: number;
  readonly snapshotEveryEntries: number;
  /** The genesis' custodians, which the state encoding leaves out (docs/protocol.md): the copy must know them too. */
  readonly custodians?: Readonly<Record<string, string>>;
  /** Nice steps below the node's priority that this thread runs at (thread-priority.ts; 0: the same priority). */
  readonly nicenessIncrement: number;
}

export type SnapshotWorkerRequest =
  | {
      readonly kind: 'entries';
      readonly packed: Uint8Array;
      /** Each entry's messageDigest, concatenated: entry i's is characters 32i … 32i + 31. */
      readonly digests: string;
    }
  | { readonly kind: 'flush'; readonly id: number };

export type SnapshotWorkerReply =
  | { readonly kind: 'snapshot'; readonly sequence: number; readonly record: Uint8Array }
  | { readonly kind: 'flushed'; readonly id: number }
  | { readonly kind: 'failed'; readonly message: string };

class StateFollower {
  private readonly state: ExchangeState;
  private sequence: number;

  constructor(private readonly data: SnapshotWorkerData) {
    this.state = decodeState(data.stateEncoding, data.custodians);
    this.sequence = data.sequence;
  }

  /** Applies the packed entries; returns the snapshot records due among them. */
  follow(packed: Uint8Array, digests: string): Array<{ sequence: number; record: Uint8Array }> {
    const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
    const snapshots: Array<{ sequence: number; record: Uint8Array }> = [];
    let offset = 0;
    let index = 0;
    while (offset < packed.length) {
      const length = view.getUint32(offset);
      const encoding = packed.subarray(offset + 4, offset + 4 + length);
      offset += 4 + length;
      const sequence = this.sequence + 1;
      const entry = viewOf(encoding, sequence);
      if (entry.sequence !== sequence)
        throw new Error(`the snapshot worker was sent entry ${entry.sequence} after entry ${sequence - 1}`);
      // Views into this thread's own message, never written again (log-format.ts, viewEntry).
      const outcome = apply(this.state, entry, {
        signatureVerified: true,
        messageDigest: digests.substring(index * 32, index * 32 + 32),
      });
      index += 1;
      if (!outcome.accepted) {
        throw new Error(
          `the snapshot worker's copy refuses entry ${sequence} ` +
            `(${outcome.rejection.code}: ${outcome.rejection.message})`,
        );
      }
      this.sequence = sequence;
      if (sequence % this.data.snapshotEveryEntries === 0)
        snapshots.push({ sequence, record: this.snapshot(hashEntryEncoding(encoding)) });
    }
    return snapshots;
  }

  /** The snapshot record of the state right after the current entry (docs/log-format.md, "Snapshots"). */
  private snapshot(entryHash: Uint8Array): Uint8Array {
    checkInvariants(this.state);
    const stateEncoding = encodeState(this.state);
    const stateHash = sha256(stateEncoding);
    // Nothing reads the liabilities tree's list of changed accounts here: empty it so that it does not grow.
    for (const account of this.state.changedAccounts) account.leafStale = false;
    this.state.changedAccounts.length = 0;
    return encodeSnapshot({ sequence: this.sequence, entryHash, stateHash, stateEncoding });
  }
}

/** viewEntry(encoding), with a refusal named as the worker's (the node sends only entries it encoded: a bug). */
function viewOf(encoding: Uint8Array, sequence: number): ReturnType<typeof viewEntry> {
  try {
    return viewEntry(encoding);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`the snapshot worker was sent a malformed entry after entry ${sequence - 1} (${reason})`);
  }
}

/**
 * Names this thread `vex-snapshots` where Linux lets a thread name itself (its comm, shown by `top -H`, `ps -L` and
 * /proc/<pid>/task/<tid>/comm), so that its CPU can be told from the signature threads' (docs/operator.md, "Thread
 * priorities"). Elsewhere nothing changes.
 */
function nameThisThread(): void {
  try {
    writeFileSync('/proc/thread-self/comm', 'vex-snapshots');
  } catch {
    // No per-thread names here: the thread keeps its process's name.
  }
}

function run(): void {
  const port = parentPort;
  if (port === null) throw new Error('snapshot-worker.ts runs as a worker thread');
  // Before any work: the follower is background work, behind the threads requests wait for (docs/operator.md).
  lowerThisThreadPriority((workerData as SnapshotWorkerData).nicenessIncrement);
  nameThisThread();
  let follower: StateFollower | undefined;
  let failed = false;
  port.on('message', (request: SnapshotWorkerRequest) => {
    if (failed) return;
    try {
      follower ??= new StateFollower(workerData as SnapshotWorkerData);
      if (request.kind === 'flush') {
        port.postMessage({ kind: 'flushed', id: request.id } satisfies SnapshotWorkerReply);
        return;
      }
      for (const { sequence, record } of follower.follow(request.packed, request.digests)) {
        port.postMessage({ kind: 'snapshot', sequence, record } satisfies SnapshotWorkerReply, [
          record.buffer as ArrayBuffer,
        ]);
      }
    } catch (error) {
      failed = true;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      port.postMessage({ kind: 'failed', message } satisfies SnapshotWorkerReply);
    }
  });
}

run();
