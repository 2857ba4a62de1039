/**
 * The ledger's LevelDB handle: raw byte keys and values ('view' encodings).
 */
import { Level } from 'level';

export type LedgerDatabase = Level<Uint8Array, Uint8Array>;

export type BatchOperation =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

export function createDatabase(location: string): LedgerDatabase {
  return new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
}
