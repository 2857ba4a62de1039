/**
 * Test logs for the replayer, built without the ledger: the engine's seeded
 * random signed log (packages/engine/test/random-log.ts) is applied with the
 * engine, rejected transactions are dropped (only accepted ones belong in a
 * log), the accepted ones are chained into an export file, and at chosen
 * sequences the operator attests the state with attestationFieldsOf and
 * signAttestation, exactly as the node does.
 */
import {
  LiabilitiesTree,
  apply,
  attestationFieldsOf,
  canonicalGenesisBytes,
  createState,
  encodeAndHashEntry,
  encodeExportFrame,
  encodeExportHeader,
  encodeExportTrailer,
  encodeSigningStringBytes,
  encodeSnapshot,
  encodeState,
  genesisHash,
  parseSigningString,
  signAttestation,
  signMessage,
  stateHash,
  type Attestation,
  type ExchangeState,
  type Genesis,
  type InclusionProof,
  type LogEntry,
} from '@vex/engine';
import { randomSignedLog, signedEntry, signerFromByte, type Signer } from '../../engine/test/random-log.js';

export { signerFromByte, type Signer };

/** A chained log: the entries as logged, each entry's encoding and hash. */
export interface ChainedLog {
  readonly genesis: Genesis;
  readonly entries: readonly LogEntry[];
  readonly encodings: readonly Uint8Array[];
  readonly entryHashes: readonly Uint8Array[];
  /** The export file. */
  readonly bytes: Uint8Array;
}

export interface TestLog extends ChainedLog {
  readonly operator: Signer;
  readonly traders: readonly Signer[];
  readonly attestations: readonly Attestation[];
  /** Sequences of the attestations whose assets are short (BTC has no reserves stated before `btcReservesSequence`). */
  readonly flaggedSequences: readonly number[];
  /** A snapshot record (encodeSnapshot) after entry `snapshotSequence`. */
  readonly snapshot: Uint8Array;
  readonly snapshotSequence: number;
  /** An inclusion proof of the first trader under the last attestation. */
  readonly proof: InclusionProof;
  /** The final state hash, lower-case hex. */
  readonly finalStateHash: string;
}

export function testGenesis(operator: Signer): Genesis {
  return { exchangeName: 'replayer-test', operatorKeys: [operator.accountId], feeAccount: operator.accountId };
}

/** Chains entries (sequences 1, 2, …) and writes the export file; the chain is always recomputed from the entries given. */
export function chainLog(genesis: Genesis, entries: readonly LogEntry[]): ChainedLog {
  const genesisDigest = genesisHash(genesis);
  const encodings: Uint8Array[] = [];
  const entryHashes: Uint8Array[] = [];
  let previousHash = genesisDigest;
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
  const bytes = assembleExport(genesis, encodings, encodeExportTrailer(encodings.length, previousHash));
  return { genesis, entries, encodings, entryHashes, bytes };
}

/** An export file from a header, frames for the given encodings (used as they are) and a trailer. */
export function assembleExport(genesis: Genesis, encodings: readonly Uint8Array[], trailer: Uint8Array): Uint8Array {
  const parts = [
    encodeExportHeader(canonicalGenesisBytes(genesis), 1, genesisHash(genesis)),
    ...encodings.map(encodeExportFrame),
    trailer,
  ];
  // A plain Uint8Array: Buffer's slice() is a view, and tests copy exports with slice() before tampering.
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * A clean log of about `traderEntries` accepted random transactions (plus
 * set-up), attested every `attestEvery` entries and after the last one.
 */
export function buildTestLog(seed: number, traderEntries: number, attestEvery: number): TestLog {
  const { entries: candidates, operator, traders } = randomSignedLog(seed, traderEntries);
  const genesis = testGenesis(operator);
  // Reserves: SOL and USDC cover the deposits from the start; BTC is stated only two thirds of the way in,
  // so the attestations before that are flagged (short in BTC) and the later ones are not.
  const setupCount = 5 + 3 * traders.length;
  const setupTime = candidates[setupCount - 1]!.logTimeMs;
  const withReserves: LogEntry[] = [
    ...candidates.slice(0, setupCount),
    signedEntry(operator, 'reservesStatement', { symbol: 'SOL', quantity: '30000' }, setupTime),
    signedEntry(operator, 'reservesStatement', { symbol: 'USDC', quantity: '6000000' }, setupTime),
  ];
  const btcAt = setupCount + Math.floor(((candidates.length - setupCount) * 2) / 3);
  for (let index = setupCount; index < candidates.length; index += 1) {
    if (index === btcAt)
      withReserves.push(
        signedEntry(
          operator,
          'reservesStatement',
          { symbol: 'BTC', quantity: '300' },
          candidates[index - 1]!.logTimeMs,
        ),
      );
    withReserves.push(candidates[index]!);
  }

  // Keep what the engine accepts, as the sequencer would.
  const filterState = createState(genesis);
  const accepted = withReserves.filter((entry) => apply(filterState, entry).accepted);
  const chained = chainLog(genesis, accepted);

  // Replay once more to attest, to take a snapshot and to make a proof.
  const state = createState(genesis);
  const tree = LiabilitiesTree.build(state);
  const genesisDigest = genesisHash(genesis);
  const attestations: Attestation[] = [];
  const flaggedSequences: number[] = [];
  const snapshotSequence = Math.floor(accepted.length / 2);
  let snapshot: Uint8Array = new Uint8Array(0);
  let proof: InclusionProof | undefined;
  accepted.forEach((entry, index) => {
    const sequence = index + 1;
    if (!apply(state, entry).accepted)
      throw new Error(`entry ${sequence} was accepted once and rejected the second time`);
    if (sequence === snapshotSequence) {
      snapshot = encodeSnapshot({
        sequence,
        entryHash: chained.entryHashes[index]!,
        stateHash: stateHash(state),
        stateEncoding: encodeState(state),
      });
    }
    if (sequence % attestEvery === 0 || sequence === accepted.length) {
      const attestation = attest(state, tree, sequence, chained.entryHashes[index]!, genesisDigest, operator);
      attestations.push(attestation);
      if (attestation.assets.some((asset) => BigInt(asset.claims) - BigInt(asset.debts) > BigInt(asset.reserves)))
        flaggedSequences.push(sequence);
      if (sequence === accepted.length) proof = tree.inclusionProof(attestation, traders[0]!.accountId);
    }
  });
  if (proof === undefined) throw new Error('the first trader has no leaf');
  return {
    ...chained,
    operator,
    traders,
    attestations,
    flaggedSequences,
    snapshot,
    snapshotSequence,
    proof,
    finalStateHash: Buffer.from(stateHash(state)).toString('hex'),
  };
}

/** The operator's attestation of `state` after entry `sequence`, as the node makes it. */
export function attest(
  state: ExchangeState,
  tree: LiabilitiesTree,
  sequence: number,
  headHash: Uint8Array,
  genesisDigest: Uint8Array,
  operator: Signer,
): Attestation {
  const root = tree.update(state);
  return signAttestation(attestationFieldsOf(state, root, sequence, headHash, genesisDigest), operator.seed);
}

/**
 * The entry with one signed parameter changed, signed by `signer` and
 * carrying `publicKey` (the signer's own key unless given): the message is
 * rebuilt from the parsed signing string, so it stays well-formed.
 */
export function alteredEntry(
  entry: LogEntry,
  key: string,
  value: string,
  signer: Signer,
  publicKey: Uint8Array = signer.publicKey,
): LogEntry {
  const parsed = parseSigningString(entry.transaction.message);
  if (!parsed.ok) throw new Error(parsed.message);
  const groups = parsed.value.groups.map((group) => ({
    instruction: group.instruction,
    params: [...group.params].map(([name, text]): [string, string] => [name, name === key ? value : text]),
  }));
  if (!groups.some((group) => group.params.some(([name]) => name === key)))
    throw new Error(`the entry has no parameter ${key}`);
  const message = encodeSigningStringBytes(groups, parsed.value.timestampMs, parsed.value.windowMs);
  return {
    logTimeMs: entry.logTimeMs,
    transaction: { message, publicKey, signature: signMessage(signer.seed, message) },
  };
}

/** The parameters and instruction of an entry's first group. */
export function instructionOf(entry: LogEntry): { instruction: string; params: ReadonlyMap<string, string> } {
  const parsed = parseSigningString(entry.transaction.message);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value.groups[0]!;
}

/** JSON Lines of attestation objects, as the node exports them. */
export function attestationLines(attestations: readonly unknown[]): string {
  return attestations.map((attestation) => `${JSON.stringify(attestation)}\n`).join('');
}
