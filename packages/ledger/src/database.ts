/**
 * The ledger's LevelDB handle: raw byte keys and values ('view' encodings).
 */
import { Level } from 'level';

/**
 * What the ledger uses of an abstract-level database. Both `Level` (LevelDB on
 * disk) and `MemoryLevel` (the simulator's disk, packages/ledger/sim) satisfy
 * it. It is spelled out rather than being `AbstractLevel<…>` because
 * abstract-level is not a direct dependency of the ledger, and because the
 * library's `typeof this` signatures make `Level` and `MemoryLevel` types
 * unassignable to each other.
 */
export interface LedgerDatabase {
  readonly status: 'opening' | 'open' | 'closing' | 'closed';
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  del(key: Uint8Array): Promise<void>;
  batch(operations: BatchOperation[], options?: { sync?: boolean }): Promise<void>;
  // Last, as in abstract-level, so that ReturnType<typeof db.batch> is the chained batch.
  batch(): LedgerChainedBatch;
  iterator(options?: LedgerRangeOptions): LedgerIterator<[Uint8Array, Uint8Array]>;
  keys(options?: LedgerRangeOptions): LedgerIterator<Uint8Array>;
  values(options?: LedgerRangeOptions): LedgerIterator<Uint8Array>;
}

export interface LedgerRangeOptions {
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  readonly reverse?: boolean;
  readonly limit?: number;
}

export interface LedgerIterator<T> extends AsyncIterable<T> {
  next(): Promise<T | undefined>;
  nextv(size: number): Promise<T[]>;
  all(): Promise<T[]>;
  close(): Promise<void>;
}

export interface LedgerChainedBatch {
  readonly length: number;
  put(key: Uint8Array, value: Uint8Array): unknown;
  del(key: Uint8Array): unknown;
  write(options?: { sync?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export type BatchOperation =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

/**
 * LevelDB's write buffer (its memtable). LevelDB's default is 4 MiB; the ledger wrote about 12 KB of history per
 * 20-order batch entry (storage format 7; format 8's binary records, about 6.2 KB: docs/log-format.md), so at a
 * batched load a 4 MiB memtable filled about every 0.2 s, and each one written out began compactions across the
 * whole key space (the history is keyed by account). With 64 MiB (RocksDB's default) the updates of one order's
 * record more often meet in memory and fewer, larger level-0 files are merged: 8 to 13 µs less server CPU per
 * batched order (of 47 to 53) in 5 of 5 alternating pairs, one of them with a 30-second batch phase
 * (docs/benchmarks.md, "The half-load tail"). The cost: up to two buffers in memory (the one filling and the one
 * being written out) and, at opening, LevelDB's replay of up to one buffer of its own log. A fuller memtable makes
 * each insert dearer (a deeper skiplist, more cache misses), but 16 MiB saved single orders nothing measurable, and
 * its extra flushes and compactions cost more than its cheaper inserts saved in a 20-second run and in
 * packages/ledger/bench/memtable.bench.ts (docs/benchmarks.md, "branch `ldb20`").
 */
export const writeBufferBytes = 64 * 1024 * 1024;

export function createDatabase(location: string): LedgerDatabase {
  return new Level<Uint8Array, Uint8Array>(location, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    writeBufferSize: writeBufferBytes,
  });
}

/**
 * Writes every operation of every list as ONE atomic LevelDB write batch,
 * synced to disk first when `sync` is set: exactly what `db.batch(operations,
 * { sync })` does, but through the chained-batch API. The array form costs
 * several µs of the calling thread per operation (abstract-level clones each
 * operation with the options spread into it, then classic-level reads every
 * property back through N-API); the chained form hands each key and value to
 * the native WriteBatch at once, about a sixth of the time, which matters
 * because the sequencer thread is the one that calls this. Any error,
 * including one thrown while the batch is being built, rejects the returned
 * promise and writes nothing.
 */
export async function writeBatch(
  db: LedgerDatabase,
  operationLists: ReadonlyArray<readonly BatchOperation[]>,
  options: { readonly sync: boolean },
): Promise<void> {
  const batch = db.batch();
  try {
    for (const operations of operationLists) {
      for (const operation of operations) {
        if (operation.type === 'put') batch.put(operation.key, operation.value);
        else batch.del(operation.key);
      }
    }
  } catch (error) {
    await batch.close();
    throw error;
  }
  if (batch.length === 0) {
    await batch.close();
    return;
  }
  await batch.write({ sync: options.sync });
}
