/**
 * The database handle one node process sees (NodeOptions.database): reads go
 * to an in-memory abstract-level store holding what this process can see;
 * writes go through the simulated disk, which decides when (and whether) they
 * complete. When the process crashes the handle dies: its writes never
 * complete and never report back, as for a killed process.
 */
import type { MemoryLevel } from 'memory-level';
import type {
  BatchOperation,
  LedgerChainedBatch,
  LedgerDatabase,
  LedgerIterator,
  LedgerRangeOptions,
} from '../src/database.js';
import type { SimulatedDisk } from './simulated-disk.js';

class SimulatedChainedBatch implements LedgerChainedBatch {
  private readonly operations: BatchOperation[] = [];
  private finished = false;

  constructor(private readonly database: SimulatedDatabase) {}

  get length(): number {
    return this.operations.length;
  }

  put(key: Uint8Array, value: Uint8Array): this {
    this.operations.push({ type: 'put', key, value });
    return this;
  }

  del(key: Uint8Array): this {
    this.operations.push({ type: 'del', key });
    return this;
  }

  write(options: { sync?: boolean } = {}): Promise<void> {
    if (this.finished) return Promise.reject(new Error('the batch was already written or closed'));
    this.finished = true;
    return this.database.write(this.operations, options.sync === true);
  }

  close(): Promise<void> {
    this.finished = true;
    return Promise.resolve();
  }
}

export class SimulatedDatabase implements LedgerDatabase {
  private alive = true;

  constructor(
    private readonly disk: SimulatedDisk,
    readonly memory: MemoryLevel<Uint8Array, Uint8Array>,
    /** Which boot of the disk this process is (1, 2, …). */
    readonly boot: number,
  ) {}

  /** Called by the disk when this process crashes. */
  die(): void {
    this.alive = false;
  }

  get status(): 'opening' | 'open' | 'closing' | 'closed' {
    return this.memory.status;
  }

  open(): Promise<void> {
    return this.memory.open();
  }

  close(): Promise<void> {
    // A dead process closes nothing; its store is gone with it.
    if (!this.alive) return new Promise<void>(() => undefined);
    return this.memory.close();
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.memory.get(key);
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.write([{ type: 'put', key, value }], false);
  }

  del(key: Uint8Array): Promise<void> {
    return this.write([{ type: 'del', key }], false);
  }

  batch(operations: BatchOperation[], options?: { sync?: boolean }): Promise<void>;
  batch(): LedgerChainedBatch;
  batch(operations?: BatchOperation[], options?: { sync?: boolean }): Promise<void> | LedgerChainedBatch {
    if (operations === undefined) return new SimulatedChainedBatch(this);
    return this.write(operations, options?.sync === true);
  }

  /** Every write of this process, whatever API it came through. */
  write(operations: readonly BatchOperation[], sync: boolean): Promise<void> {
    if (operations.length === 0) return Promise.resolve();
    return this.disk.enqueueWrite(this, operations, sync);
  }

  iterator(options: LedgerRangeOptions = {}): LedgerIterator<[Uint8Array, Uint8Array]> {
    return this.memory.iterator(options);
  }

  keys(options: LedgerRangeOptions = {}): LedgerIterator<Uint8Array> {
    return this.memory.keys(options);
  }

  values(options: LedgerRangeOptions = {}): LedgerIterator<Uint8Array> {
    return this.memory.values(options);
  }
}
