/**
 * The simulated disk: a storage model of what survives a crash, under the
 * database handles the node sees (SimulatedDatabase).
 *
 * It keeps three things apart:
 *   - the durable image: what every future boot sees, whatever happens;
 *   - unsynced writes: completed writes made without sync, oldest first. They
 *     are in the page cache: a process crash keeps them, a power loss keeps
 *     only a prefix of them (the write-ahead log is appended in order);
 *   - writes in flight: handed to the disk, not completed. The simulator
 *     completes them one at a time (in order, as LevelDB's writer queue
 *     does), fails them, or crashes while they are in flight.
 *
 * A write becomes visible to reads when it completes (LevelDB applies a batch
 * to the memtable after its log record is written), and a synced write makes
 * itself and everything written before it durable.
 *
 * Faults, each within what LevelDB and the node promise (docs/testing.md):
 *   - process crash: in-flight writes reach the page cache or not (all or
 *     nothing: LevelDB drops a half-written log record), unsynced writes stay;
 *   - power loss: as a process crash, but a suffix of the unsynced writes is
 *     lost;
 *   - torn write: a power loss in the middle of the oldest in-flight write:
 *     that batch is on disk except that its last entries are cut short or
 *     garbled. Only an in-flight batch can be torn, so nothing acknowledged
 *     is ever damaged (the node acknowledges a batch only once it completed);
 *   - failed fsync: the write completes into the page cache but reports an
 *     error, so it may or may not survive the next crash;
 *   - full disk: the write fails and nothing of it is written, for the next
 *     few writes (including those of recovery).
 */
import { MemoryLevel } from 'memory-level';
import type { BatchOperation } from '../src/database.js';
import { keyspaces, sequenceOfKey } from '../src/storage-format.js';
import type { SeededRandom } from './seeded-random.js';
import { SimulatedDatabase } from './simulated-database.js';

export type CrashKind = 'process-crash' | 'power-loss' | 'torn-write';
export type WriteFault = 'fsync-failure' | 'disk-full';

export interface CrashOutcome {
  readonly unsyncedWritesLost: number;
  /** In-flight writes that never reached the disk. */
  readonly inFlightWritesLost: number;
  /** Set for a torn write: the first entry damaged; recovery must drop it and everything after. */
  readonly tornFromSequence: number | undefined;
  readonly tornEntries: number;
}

export type WriteCompletion = 'written' | WriteFault;

interface PendingWrite {
  readonly database: SimulatedDatabase;
  readonly operations: readonly BatchOperation[];
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface StoredRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface SimulatedDiskOptions {
  /**
   * false makes sync a lie: synced writes are treated as unsynced, as a disk
   * with a volatile write cache would. Only for testing that the simulator
   * notices lost acknowledged entries. Default true.
   */
  readonly honestSync?: boolean;
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function diskError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export class SimulatedDisk {
  private readonly durable = new Map<string, StoredRecord>();
  private unsynced: Array<readonly BatchOperation[]> = [];
  private inFlight: PendingWrite[] = [];
  private current: SimulatedDatabase | undefined;
  private failingWritesLeft = 0;
  private readonly honestSync: boolean;
  private boots = 0;

  constructor(
    private readonly random: SeededRandom,
    options: SimulatedDiskOptions = {},
  ) {
    this.honestSync = options.honestSync ?? true;
  }

  /** Starts a process: a fresh database holding exactly what is on the disk now. Any earlier handle is dead. */
  async boot(): Promise<SimulatedDatabase> {
    if (this.current !== undefined) throw new Error('boot() while a process is running; crash or shut it down first');
    const memory = new MemoryLevel<Uint8Array, Uint8Array>({
      keyEncoding: 'view',
      valueEncoding: 'view',
      storeEncoding: 'view',
    });
    await memory.open();
    const image: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = [];
    for (const record of this.durable.values())
      image.push({ type: 'put', key: record.key, value: new Uint8Array(record.value) });
    if (image.length > 0) await memory.batch(image);
    this.boots += 1;
    this.current = new SimulatedDatabase(this, memory, this.boots);
    return this.current;
  }

  /** Called by SimulatedDatabase: queues a write for the simulator to complete. */
  enqueueWrite(database: SimulatedDatabase, operations: readonly BatchOperation[], sync: boolean): Promise<void> {
    // A dead process's writes never happen, and it never hears back.
    if (database !== this.current) return new Promise<void>(() => undefined);
    const copies = operations.map(
      (operation): BatchOperation =>
        operation.type === 'put'
          ? { type: 'put', key: new Uint8Array(operation.key), value: new Uint8Array(operation.value) }
          : { type: 'del', key: new Uint8Array(operation.key) },
    );
    return new Promise<void>((resolve, reject) => {
      this.inFlight.push({ database, operations: copies, sync, resolve, reject });
    });
  }

  hasWriteInFlight(): boolean {
    return this.inFlight.length > 0;
  }

  /** Whether the oldest in-flight write carries log entries (so that tearing it means something). */
  oldestWriteCarriesEntries(): boolean {
    const write = this.inFlight[0];
    return (
      write !== undefined &&
      write.operations.some((operation) => operation.type === 'put' && operation.key[0] === keyspaces.entry)
    );
  }

  /** The next `writes` writes fail with ENOSPC, writing nothing. */
  fillUp(writes: number): void {
    this.failingWritesLeft = Math.max(this.failingWritesLeft, writes);
  }

  /** Space is freed: no more writes fail for a full disk. */
  freeSpace(): void {
    this.failingWritesLeft = 0;
  }

  /** Completes the oldest in-flight write, or fails it with `fault`; a full disk fails it regardless. */
  async completeNextWrite(fault?: WriteFault): Promise<WriteCompletion> {
    const write = this.inFlight.shift();
    if (write === undefined) throw new Error('completeNextWrite() with no write in flight');
    if (this.failingWritesLeft > 0 || fault === 'disk-full') {
      this.failingWritesLeft = Math.max(0, this.failingWritesLeft - 1);
      write.reject(diskError('simulated full disk: no space left on device', 'ENOSPC'));
      return 'disk-full';
    }
    const memory = write.database.memory;
    // The node closes its database only once no write is outstanding; anything else is a bug in it.
    if (memory.status !== 'open') throw new Error('a write was still in flight when the node closed its database');
    await memory.batch(write.operations.map((operation) => ({ ...operation })));
    if (fault === 'fsync-failure' && write.sync) {
      // The data went to the page cache, but the disk did not confirm it: it may or may not survive a crash.
      this.unsynced.push(write.operations);
      write.reject(diskError('simulated fsync failure: input/output error', 'EIO'));
      return 'fsync-failure';
    }
    if (write.sync && this.honestSync) {
      for (const operations of this.unsynced) this.applyDurably(operations);
      this.unsynced = [];
      this.applyDurably(write.operations);
    } else {
      this.unsynced.push(write.operations);
    }
    write.resolve();
    return 'written';
  }

  /** The running process stops: cleanly (everything written stays in the page cache) or in a crash. */
  crash(kind: CrashKind | 'shutdown'): CrashOutcome {
    const database = this.current;
    this.current = undefined;
    database?.die();
    const inFlight = this.inFlight;
    this.inFlight = [];
    let unsyncedWritesLost = 0;
    let inFlightWritesLost = inFlight.length;
    let tornFromSequence: number | undefined;
    let tornEntries = 0;
    if (kind === 'power-loss') {
      const kept = this.random.between(0, this.unsynced.length);
      unsyncedWritesLost = this.unsynced.length - kept;
      this.unsynced = this.unsynced.slice(0, kept);
    }
    // The page cache is written back (a process crash or shutdown), or the kept prefix survived the power loss.
    for (const operations of this.unsynced) this.applyDurably(operations);
    this.unsynced = [];
    const oldest = inFlight[0];
    if (kind === 'torn-write' && oldest !== undefined) {
      const torn = this.tear(oldest.operations);
      tornFromSequence = torn.fromSequence;
      tornEntries = torn.entries;
      inFlightWritesLost -= 1;
    } else if (kind !== 'torn-write' && oldest !== undefined && unsyncedWritesLost === 0 && this.random.chance(0.5)) {
      // The batch's log record made it out of the process whole; LevelDB replays it at the next open.
      this.applyDurably(oldest.operations);
      inFlightWritesLost -= 1;
    }
    return { unsyncedWritesLost, inFlightWritesLost, tornFromSequence, tornEntries };
  }

  /**
   * Writes a batch whose last entries are damaged: a random suffix of its
   * entries (at least one) is cut short or has bytes changed.
   */
  private tear(operations: readonly BatchOperation[]): { fromSequence: number | undefined; entries: number } {
    const entryIndexes: number[] = [];
    operations.forEach((operation, index) => {
      if (operation.type === 'put' && operation.key[0] === keyspaces.entry) entryIndexes.push(index);
    });
    const damagedCount = entryIndexes.length === 0 ? 0 : this.random.between(1, Math.min(3, entryIndexes.length));
    const damaged = new Set(entryIndexes.slice(entryIndexes.length - damagedCount));
    const written = operations.map((operation, index): BatchOperation => {
      if (!damaged.has(index) || operation.type !== 'put') return operation;
      return { type: 'put', key: operation.key, value: this.damage(operation.value) };
    });
    this.applyDurably(written);
    const first = entryIndexes[entryIndexes.length - damagedCount];
    return {
      fromSequence: first === undefined ? undefined : sequenceOfKey(operations[first]!.key),
      entries: damagedCount,
    };
  }

  private damage(value: Uint8Array): Uint8Array {
    if (this.random.chance(0.5) || value.length < 49) {
      // Cut short: the tail of the record never reached the platter.
      return value.slice(0, this.random.below(value.length));
    }
    // Garbled: bytes of the previous-hash field changed, so it decodes but does not chain.
    const garbled = new Uint8Array(value);
    const offset = 17 + this.random.below(32);
    garbled[offset] = garbled[offset]! ^ (1 + this.random.below(255));
    return garbled;
  }

  private applyDurably(operations: readonly BatchOperation[]): void {
    for (const operation of operations) {
      const id = hexOf(operation.key);
      if (operation.type === 'put') this.durable.set(id, { key: operation.key, value: operation.value });
      else this.durable.delete(id);
    }
  }

  /** How many keys are durable: for the summary. */
  get durableKeys(): number {
    return this.durable.size;
  }
}
