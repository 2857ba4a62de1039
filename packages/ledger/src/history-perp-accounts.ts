/**
 * The perpetuals' per-account history (docs/log-format.md, "History
 * records"; the API's /wapi/v1/history/{funding,settlement,position}).
 *
 * Stored: one record per `perpFundingPayment` event (keyspace 0x1a), one per
 * `perpSettlement` event (0x1b) and one per `perpPositionChanged` event that
 * closes a position (quantity zero; 0x1c), written in the entry's batch like
 * every history record, so each is a function of its entry alone and a
 * replay rewrites it byte for byte. Keys: the keyspace byte, the account id
 * (44 ASCII bytes), the entry's sequence (8 bytes) and the event's ordinal
 * among the entry's records of that keyspace (4 bytes), so an account's
 * records are one key range in log order. Values: the writer's sequence
 * (8 bytes), then the event's fields as ASCII JSON, amounts as decimal
 * strings of integer units, plus `sequence`.
 */
import type { EngineEvent } from '@vex/engine';
import type { BatchOperation } from './database.js';
import { asciiRecordValue, keyspaces, writeUint64 } from './storage-format.js';

type Without<T> = Omit<T, 'type'> & { readonly sequence: number };
export type PerpFundingPaymentRecord = Without<Extract<EngineEvent, { type: 'perpFundingPayment' }>>;
export type PerpSettlementRecord = Without<Extract<EngineEvent, { type: 'perpSettlement' }>>;
export type PerpClosedPositionRecord = Without<Extract<EngineEvent, { type: 'perpPositionChanged' }>>;

const accountIdLength = 44;

/** The key prefix of an account's records in `space`, with `extra` bytes left for the rest of the key. */
export function perpAccountPrefix(space: number, accountId: string, extra = 0): Buffer {
  const key = Buffer.allocUnsafe(1 + accountIdLength + extra);
  key[0] = space;
  key.write(accountId, 1, accountIdLength, 'latin1');
  return key;
}

function recordKey(space: number, accountId: string, sequence: number, ordinal: number): Buffer {
  const key = perpAccountPrefix(space, accountId, 12);
  writeUint64(key, 1 + accountIdLength, sequence);
  key.writeUInt32BE(ordinal, 1 + accountIdLength + 8);
  return key;
}

/** The event's fields in their order, bigints as decimal strings; ids and symbols are printable ASCII. */
function recordJson(sequence: number, event: EngineEvent): string {
  const { type: _type, ...fields } = event;
  return JSON.stringify({ sequence, ...fields }, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}

function spaceOf(event: EngineEvent): number | undefined {
  if (event.type === 'perpFundingPayment') return keyspaces.perpFundingPaymentByAccount;
  if (event.type === 'perpSettlement') return keyspaces.perpSettlementByAccount;
  if (event.type === 'perpPositionChanged' && event.quantityUnits === 0n) return keyspaces.perpClosedPositionByAccount;
  return undefined;
}

/** Appends the per-account perpetual records of one accepted entry (called by historyOperations for every entry). */
export function perpAccountHistoryOperations(
  sequence: number,
  events: readonly EngineEvent[],
  operations: BatchOperation[],
): void {
  const ordinals = new Map<number, number>();
  for (const event of events) {
    const space = spaceOf(event);
    if (space === undefined) continue;
    const ordinal = ordinals.get(space) ?? 0;
    ordinals.set(space, ordinal + 1);
    const account = (event as { account: string }).account;
    const value = asciiRecordValue(sequence, recordJson(sequence, event));
    operations.push({ type: 'put', key: recordKey(space, account, sequence, ordinal), value });
  }
}

function decodeRecord<T>(value: Uint8Array, bigintFields: readonly string[]): T {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1', 8);
  const json = JSON.parse(text) as Record<string, unknown>;
  for (const field of bigintFields) json[field] = BigInt(json[field] as string);
  return json as T;
}

export function decodeFundingPayment(value: Uint8Array): PerpFundingPaymentRecord {
  return decodeRecord(value, ['quantityUnits', 'paymentUnits', 'fromIndex', 'toIndex']);
}

export function decodeSettlement(value: Uint8Array): PerpSettlementRecord {
  return decodeRecord(value, ['quantityUnits']);
}

export function decodeClosedPosition(value: Uint8Array): PerpClosedPositionRecord {
  return decodeRecord(value, [
    'quantityUnits',
    'costBasisUnits',
    'realisedPnlUnits',
    'cumulativeFundingUnits',
    'feeUnits',
  ]);
}
