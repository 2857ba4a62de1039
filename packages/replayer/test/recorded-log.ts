/**
 * Test logs as the node writes them since attestation records: every
 * attestation is followed at once by the operator's attestationRecord entry
 * carrying its digest. Also the two attacks the records exist to expose:
 * a re-signed fake attestation of a fake tree for an existing sequence (a
 * user's balance lowered), and an attestation of a forked head.
 */
import {
  LiabilitiesTree,
  apply,
  attestationFieldsOf,
  createState,
  decodeState,
  encodeAndHashEntry,
  encodeExportTrailer,
  encodeState,
  genesisHash,
  signAttestation,
  signAttestationRecord,
  type Attestation,
  type Genesis,
  type InclusionProof,
  type LogEntry,
} from '@vex/engine';
import { randomSignedLog, signedEntry, type Signer } from '../../engine/test/random-log.js';
import { assembleExport, attest, testGenesis } from './test-log.js';

export interface RecordedLog {
  readonly genesis: Genesis;
  readonly operator: Signer;
  readonly traders: readonly Signer[];
  readonly entries: readonly LogEntry[];
  readonly entryHashes: readonly Uint8Array[];
  readonly encodings: readonly Uint8Array[];
  /** The export file. */
  readonly bytes: Uint8Array;
  readonly attestations: readonly Attestation[];
  /** The first trader's proof under each attestation, by sequence. */
  readonly proofs: ReadonlyMap<number, InclusionProof>;
  /** The state encoding after each attested entry, by sequence. */
  readonly attestedStates: ReadonlyMap<number, Uint8Array>;
}

/** Chains entries from the genesis; returns the encodings, hashes and the export file. */
function chain(
  genesis: Genesis,
  entries: readonly LogEntry[],
): { encodings: Uint8Array[]; entryHashes: Uint8Array[]; bytes: Uint8Array } {
  let previousHash = genesisHash(genesis);
  const encodings: Uint8Array[] = [];
  const entryHashes: Uint8Array[] = [];
  entries.forEach((entry, index) => {
    const { encoding, entryHash } = encodeAndHashEntry({
      sequence: index + 1,
      logTimeMs: entry.logTimeMs,
      previousHash,
      transaction: entry.transaction,
    });
    encodings.push(encoding.slice());
    entryHashes.push(entryHash);
    previousHash = entryHash;
  });
  return {
    encodings,
    entryHashes,
    bytes: assembleExport(genesis, encodings, encodeExportTrailer(encodings.length, previousHash)),
  };
}

/**
 * A log of the random transactions the engine accepts, attested when
 * `attestEvery` entries follow the last attestation, each attestation
 * followed by its record, as the node does.
 */
export function buildRecordedLog(seed: number, traderEntries: number, attestEvery: number): RecordedLog {
  const { entries: candidates, operator, traders } = randomSignedLog(seed, traderEntries);
  const genesis = testGenesis(operator);
  const genesisDigest = genesisHash(genesis);
  const state = createState(genesis);
  const tree = LiabilitiesTree.build(state);
  const entries: LogEntry[] = [];
  const hashes: Uint8Array[] = [];
  const attestations: Attestation[] = [];
  const proofs = new Map<number, InclusionProof>();
  const attestedStates = new Map<number, Uint8Array>();
  let previousHash = genesisDigest;
  let lastAttested = 0;
  const append = (entry: LogEntry): void => {
    const { entryHash } = encodeAndHashEntry({
      sequence: entries.length + 1,
      logTimeMs: entry.logTimeMs,
      previousHash,
      transaction: entry.transaction,
    });
    entries.push(entry);
    hashes.push(entryHash);
    previousHash = entryHash;
  };
  for (const candidate of candidates) {
    if (!apply(state, candidate).accepted) continue;
    append(candidate);
    const sequence = entries.length;
    if (sequence - lastAttested < attestEvery) continue;
    const attestation = attest(state, tree, sequence, previousHash, genesisDigest, operator);
    attestations.push(attestation);
    attestedStates.set(sequence, encodeState(state));
    const proof = tree.inclusionProof(attestation, traders[0]!.accountId);
    if (proof !== undefined) proofs.set(sequence, proof);
    const record: LogEntry = {
      logTimeMs: candidate.logTimeMs,
      transaction: signAttestationRecord(attestation, candidate.logTimeMs, operator.seed),
    };
    const outcome = apply(state, record);
    if (!outcome.accepted) throw new Error(`the record of ${sequence} was refused: ${outcome.rejection.message}`);
    append(record);
    lastAttested = sequence;
  }
  const chained = chain(genesis, entries);
  return {
    genesis,
    operator,
    traders,
    entries,
    entryHashes: chained.entryHashes,
    encodings: chained.encodings,
    bytes: chained.bytes,
    attestations,
    proofs,
    attestedStates,
  };
}

/**
 * The equivocation attack: the operator re-signs, for the existing sequence
 * `sequence`, an attestation of a fake tree in which the first trader's
 * first non-zero balance is lowered by a tenth (head and state hash kept as
 * they are), and hands that trader the proof under it. The proof verifies
 * under the operator's signature.
 */
export function fakeProof(
  log: RecordedLog,
  sequence: number,
): { attestation: Attestation; proof: InclusionProof; loweredSymbol: string } {
  const fake = decodeState(log.attestedStates.get(sequence)!);
  const account = fake.accounts.get(log.traders[0]!.accountId)!;
  const balance = account.balances.find((held) => held !== undefined && held.available > 0n)!;
  balance.available -= balance.available / 10n + 1n;
  const real = log.attestations.find((attestation) => attestation.sequence === sequence)!;
  const tree = LiabilitiesTree.build(fake);
  const fields = {
    ...attestationFieldsOf(fake, tree.root(), sequence, log.entryHashes[sequence - 1]!, genesisHash(log.genesis)),
    stateHash: real.stateHash,
  };
  const attestation = signAttestation(fields, log.operator.seed);
  const proof = tree.inclusionProof(attestation, log.traders[0]!.accountId)!;
  return { attestation, proof, loweredSymbol: balance.asset.symbol };
}

/**
 * A fork at `sequence`: entries before it as logged, then a different entry
 * (a reserves statement) at `sequence`, attested by the operator and
 * recorded. Returns the fork's attestation and its export.
 */
export function forkAt(
  log: RecordedLog,
  sequence: number,
): { attestation: Attestation; bytes: Uint8Array; headHash: Uint8Array } {
  const state = createState(log.genesis);
  const kept = log.entries.slice(0, sequence - 1);
  for (const entry of kept) if (!apply(state, entry).accepted) throw new Error('a logged entry was refused');
  const logTimeMs = kept.at(-1)!.logTimeMs;
  const forkEntry = signedEntry(log.operator, 'reservesStatement', { symbol: 'SOL', quantity: '12345' }, logTimeMs);
  if (!apply(state, forkEntry).accepted) throw new Error('the fork entry was refused');
  const { entryHash } = encodeAndHashEntry({
    sequence,
    logTimeMs,
    previousHash: log.entryHashes[sequence - 2]!,
    transaction: forkEntry.transaction,
  });
  const attestation = attest(
    state,
    LiabilitiesTree.build(state),
    sequence,
    entryHash,
    genesisHash(log.genesis),
    log.operator,
  );
  const record: LogEntry = { logTimeMs, transaction: signAttestationRecord(attestation, logTimeMs, log.operator.seed) };
  if (!apply(state, record).accepted) throw new Error('the fork record was refused');
  return { attestation, bytes: chain(log.genesis, [...kept, forkEntry, record]).bytes, headHash: entryHash };
}
