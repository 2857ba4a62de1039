/**
 * A ledger kept from a `pnpm bench:node` run, read for the snapshot benches (snapshot-follower.bench.ts,
 * snapshot-worker.bench.ts): its genesis, every entry's encoding in sequence order, and per entry the digest the
 * sequencer would send the worker and the parsed instruction (to group entries by kind). The ledger is only read;
 * LevelDB takes a lock, so use a copy of a running node's.
 */
import {
  decodeEntry,
  messageDigest,
  parseInstruction,
  parseSigningString,
  type EntryRecord,
  type Genesis,
  type Instruction,
} from '@vex/engine';
import { createDatabase } from '../src/database.js';
import { entryRange, genesisMetaKey } from '../src/storage-format.js';

export interface KeptLedger {
  readonly genesis: Genesis;
  readonly encodings: Uint8Array[];
  readonly decoded: EntryRecord[];
  /** Entry i's messageDigest, as the sequencer sends it with the entry. */
  readonly digests: string[];
  readonly instructions: Instruction[];
}

export async function readKeptLedger(location: string): Promise<KeptLedger> {
  const db = createDatabase(location);
  await db.open();
  const genesisBytes = await db.get(genesisMetaKey);
  if (genesisBytes === undefined) throw new Error('no genesis in that ledger');
  const genesis = JSON.parse(Buffer.from(genesisBytes).toString('utf8')) as Genesis;
  const encodings = (await db.values(entryRange).all()).map((value) => new Uint8Array(value));
  await db.close();
  const decoded = encodings.map((encoding) => decodeEntry(encoding));
  const digests = decoded.map(({ transaction }) => messageDigest(transaction.publicKey, transaction.message));
  const instructions = decoded.map(({ transaction }, index) => {
    const parsed = parseSigningString(transaction.message);
    if (!parsed.ok) throw new Error(`entry ${index + 1}: ${parsed.message}`);
    const instruction = parseInstruction(parsed.value.groups);
    if (!instruction.ok) throw new Error(`entry ${index + 1}: ${instruction.message}`);
    return instruction.instruction;
  });
  return { genesis, encodings, decoded, digests, instructions };
}
