/**
 * What the vault reads, built from the engine's liabilities tree
 * (docs/attestation.md) and specified in docs/custody.md: the root's two
 * child records a commit carries, the exit leaf, an exit proof, the asset
 * list's hash and the committee's signatures. Browser-safe (viem's noble
 * hashing, no node: modules), so the SDK builds exit proofs with it.
 */
import {
  accountCommitment,
  encodeSums,
  exitLeafHash as engineExitLeafHash,
  leafHash as engineLeafHash,
  type InclusionProof,
  type InclusionProofBody,
} from '@vex/engine/verify';
import { concat, hexToBytes, numberToHex, sha256, toBytes, toHex, type Address, type Hex } from 'viem';
import { sign, privateKeyToAddress } from 'viem/accounts';

/** One node of the tree as the contract reads it: hash ‖ sums (claim u128 ‖ debt u128 per asset). */
export interface TreeRecord {
  readonly hash: Uint8Array;
  /** The encoded sums, 32 bytes per asset. */
  readonly sums: Uint8Array;
}

/** The exit leaf's prefix: a leaf whose account has linked an exit address (docs/attestation.md). */
export const exitLeafHashPrefix = 0x02;

export function recordBytes(record: TreeRecord): Hex {
  return toHex(concat([record.hash, record.sums]));
}

/** assetListHash = SHA-256(for each asset in listing order: u8 length ‖ ASCII symbol). */
export function assetListHash(symbols: readonly string[]): Hex {
  const parts = symbols.map((symbol) => {
    if (!/^[A-Z0-9]{1,16}$/.test(symbol)) throw new RangeError(`${symbol} is not an asset symbol`);
    return concat([new Uint8Array([symbol.length]), toBytes(symbol)]);
  });
  return sha256(concat([new Uint8Array(0), ...parts]));
}

/** Adds two encoded sums, u128 by u128; throws at 2^128. */
export function addEncodedSums(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== right.length || left.length % 32 !== 0) throw new RangeError('sums of different shapes');
  const total = new Uint8Array(left.length);
  const leftView = new DataView(left.buffer, left.byteOffset, left.length);
  const rightView = new DataView(right.buffer, right.byteOffset, right.length);
  const view = new DataView(total.buffer);
  for (let offset = 0; offset < left.length; offset += 16) {
    const read = (source: DataView): bigint => (source.getBigUint64(offset) << 64n) | source.getBigUint64(offset + 8);
    const sum = read(leftView) + read(rightView);
    if (sum >> 128n !== 0n) throw new RangeError('a sum reached 2^128');
    view.setBigUint64(offset, sum >> 64n);
    view.setBigUint64(offset + 8, sum & 0xffff_ffff_ffff_ffffn);
  }
  return total;
}

/** The parent of two records: SHA-256(0x01 ‖ left ‖ right) with the summed sums. */
export function parentRecord(left: TreeRecord, right: TreeRecord): TreeRecord {
  const hash = sha256(concat([new Uint8Array([0x01]), left.hash, left.sums, right.hash, right.sums]), 'bytes');
  return { hash, sums: addEncodedSums(left.sums, right.sums) };
}

/** exit leaf = SHA-256(0x02 ‖ commitment ‖ exitAddress (20 bytes) ‖ sums). */
export function exitLeafHash(commitment: Uint8Array, exitAddress: Address, sums: Uint8Array): Uint8Array {
  return sha256(concat([new Uint8Array([exitLeafHashPrefix]), commitment, toBytes(exitAddress), sums]), 'bytes');
}

/**
 * The root's two children for a commit, from any leaf's record and path:
 * folds the path up to the level below the root. A one-leaf tree has no
 * children: the leaf itself is `left` and `right` is empty.
 */
export function rootChildren(
  leaf: TreeRecord,
  leafIndex: number,
  path: readonly TreeRecord[],
): { left: Hex; right: Hex } {
  if (path.length === 0) return { left: recordBytes(leaf), right: '0x' };
  let running = leaf;
  let index = leafIndex;
  for (let level = 0; level + 1 < path.length; level += 1) {
    running = index % 2 === 0 ? parentRecord(running, path[level]!) : parentRecord(path[level]!, running);
    index = Math.floor(index / 2);
  }
  const top = path[path.length - 1]!;
  return index % 2 === 0
    ? { left: recordBytes(running), right: recordBytes(top) }
    : { left: recordBytes(top), right: recordBytes(running) };
}

/** The root a record and its path prove. */
export function rootOfPath(leaf: TreeRecord, leafIndex: number, path: readonly TreeRecord[]): TreeRecord {
  let running = leaf;
  let index = leafIndex;
  for (const sibling of path) {
    running = index % 2 === 0 ? parentRecord(running, sibling) : parentRecord(sibling, running);
    index = Math.floor(index / 2);
  }
  return running;
}

/** The contract's ExitProof argument. */
export interface ExitProofArgument {
  readonly commitment: Hex;
  readonly exitAddress: Address;
  readonly leafIndex: bigint;
  readonly sums: Hex;
  readonly path: Hex;
  readonly prices: readonly bigint[];
}

export function exitProofArgument(
  commitment: Uint8Array,
  exitAddress: Address,
  leafIndex: number,
  sums: Uint8Array,
  path: readonly TreeRecord[],
  prices: readonly bigint[],
): ExitProofArgument {
  return {
    commitment: toHex(commitment),
    exitAddress,
    leafIndex: BigInt(leafIndex),
    sums: toHex(sums),
    path: path.length === 0 ? '0x' : concat(path.map(recordBytes)),
    prices,
  };
}

/** Committee signatures over a commit digest, in ascending signer order as the vault requires. */
export async function signCommitDigest(digest: Hex, privateKeys: readonly Hex[]): Promise<Hex[]> {
  const signed = await Promise.all(
    privateKeys.map(async (privateKey) => ({
      signer: BigInt(privateKeyToAddress(privateKey)),
      signature: await sign({ hash: digest, privateKey, to: 'hex' }),
    })),
  );
  signed.sort((left, right) => (left.signer < right.signer ? -1 : left.signer > right.signer ? 1 : 0));
  return signed.map((item) => item.signature);
}

/** A u256 as 32 bytes, for tests and tools that write records by hand. */
export function uint256Bytes(value: bigint): Uint8Array {
  return toBytes(numberToHex(value, { size: 32 }));
}

/** A leaf's record from an engine proof body (docs/attestation.md): a plain leaf, or an exit leaf when linked. */
export function leafRecordOfBody(accountId: string, body: InclusionProofBody): TreeRecord {
  const sums = encodeSums(body.balances);
  const commitment = accountCommitment(base64ToBytes(accountId), body.salt);
  const hash =
    body.exitAddress === undefined
      ? engineLeafHash(commitment, sums)
      : engineExitLeafHash(commitment, body.exitAddress, sums);
  return { hash, sums };
}

/** The siblings of an engine proof body as records. */
export function pathRecordsOfBody(body: InclusionProofBody): TreeRecord[] {
  return body.path.map((node) => ({ hash: node.hash, sums: encodeSums(node.sums) }));
}

/** The commit's two child records, from any account's proof body at the attested version. */
export function rootChildrenOfBody(accountId: string, body: InclusionProofBody): { left: Hex; right: Hex } {
  return rootChildren(leafRecordOfBody(accountId, body), body.leafIndex, pathRecordsOfBody(body));
}

/** The vault's exit argument from an inclusion proof as served (its account must have linked an exit address). */
export function exitProofOfInclusionProof(proof: InclusionProof, prices: readonly bigint[]): ExitProofArgument {
  if (proof.exitAddress === undefined) throw new Error('the account has linked no exit address: its leaf cannot exit');
  const sums = encodeSums(proof.balances.map((pair) => ({ claim: BigInt(pair.claim), debt: BigInt(pair.debt) })));
  const path = proof.path.map((node) => ({
    hash: hexToBytes(`0x${node.hash}`),
    sums: encodeSums(node.sums.map((pair) => ({ claim: BigInt(pair.claim), debt: BigInt(pair.debt) }))),
  }));
  const commitment = accountCommitment(base64ToBytes(proof.account), hexToBytes(`0x${proof.salt}`));
  return exitProofArgument(commitment, proof.exitAddress as Address, proof.leafIndex, sums, path, prices);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}
