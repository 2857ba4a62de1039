/**
 * The liabilities tree's hashing and the inclusion proof a user checks for
 * their own balances (docs/attestation.md, "Leaves and inner nodes" and
 * "Inclusion proofs").
 *
 * Browser-safe on purpose: SHA-256 comes from @noble/hashes and signatures
 * from @noble/ed25519 (through attestation.ts), with no node: module and no
 * Buffer, so the client SDK checks proofs in a browser with exactly this code.
 * liabilities-tree.ts computes the same hashes with node:crypto for speed;
 * its tests hold the two to byte equality.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import {
  AttestationFormatError,
  bytesToBase64,
  bytesToLowerHex,
  canonicalBase64ToBytes,
  lowerHexToBytes,
  parseAttestation,
  parseUint128Decimal,
  uint128Limit,
  verifyAttestationSignature,
  writeUint128,
  type Attestation,
  type SignatureCheck,
} from './attestation.js';
import { exitAddressText, parseExitAddress } from './exit-address-text.js';

export const inclusionProofVersion = 1;
/** The empty node's hash: 32 zero bytes (its sums are all zero). */
export const emptyNodeHash: Uint8Array = new Uint8Array(32);
export const leafHashPrefix = 0x00;
export const nodeHashPrefix = 0x01;
/** The prefix of an exit leaf: an account that linked an exit address (docs/attestation.md, "Exit leaves"). */
export const exitLeafHashPrefix = 0x02;
/** "vex/account/v1" ‖ 0x00, hashed before the key and salt of a commitment. */
export const commitmentTag: Uint8Array = new TextEncoder().encode('vex/account/v1\0');
/** Each asset's pair in a node's sums: claim u128 ‖ debt u128. */
export const sumPairLengthBytes = 32;

/** One asset's claim and debt in a leaf or node, in the asset's smallest unit. */
export interface ClaimAndDebt {
  readonly claim: bigint;
  readonly debt: bigint;
}

export interface AccountBalance extends ClaimAndDebt {
  readonly symbol: string;
}

/** commitment = SHA-256("vex/account/v1" ‖ 0x00 ‖ publicKey ‖ salt). */
export function accountCommitment(publicKey: Uint8Array, salt: Uint8Array): Uint8Array {
  if (publicKey.length !== 32 || salt.length !== 32)
    throw new RangeError('a commitment needs a 32-byte key and a 32-byte salt');
  const input = new Uint8Array(commitmentTag.length + 64);
  input.set(commitmentTag, 0);
  input.set(publicKey, commitmentTag.length);
  input.set(salt, commitmentTag.length + 32);
  return sha256(input);
}

/** sums(node): for each asset in listing order, claim u128 ‖ debt u128, 32 × A bytes. */
export function encodeSums(sums: readonly ClaimAndDebt[]): Uint8Array {
  const bytes = new Uint8Array(sumPairLengthBytes * sums.length);
  const view = new DataView(bytes.buffer);
  sums.forEach((pair, index) => {
    writeUint128(view, sumPairLengthBytes * index, pair.claim);
    writeUint128(view, sumPairLengthBytes * index + 16, pair.debt);
  });
  return bytes;
}

/** leafHash = SHA-256(0x00 ‖ commitment ‖ sums(leaf)). */
export function leafHash(commitment: Uint8Array, sums: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + commitment.length + sums.length);
  input[0] = leafHashPrefix;
  input.set(commitment, 1);
  input.set(sums, 1 + commitment.length);
  return sha256(input);
}

/** exitLeafHash = SHA-256(0x02 ‖ commitment ‖ exitAddress (20 bytes) ‖ sums(leaf)). */
export function exitLeafHash(commitment: Uint8Array, exitAddress: Uint8Array, sums: Uint8Array): Uint8Array {
  if (exitAddress.length !== 20) throw new RangeError('an exit address is 20 bytes');
  const input = new Uint8Array(1 + commitment.length + 20 + sums.length);
  input[0] = exitLeafHashPrefix;
  input.set(commitment, 1);
  input.set(exitAddress, 1 + commitment.length);
  input.set(sums, 21 + commitment.length);
  return sha256(input);
}

/** nodeHash = SHA-256(0x01 ‖ left.hash ‖ sums(left) ‖ right.hash ‖ sums(right)). */
export function nodeHash(
  leftHash: Uint8Array,
  leftSums: Uint8Array,
  rightHash: Uint8Array,
  rightSums: Uint8Array,
): Uint8Array {
  if (leftSums.length !== rightSums.length) throw new RangeError('both children must carry the same number of sums');
  const input = new Uint8Array(1 + 2 * (32 + leftSums.length));
  input[0] = nodeHashPrefix;
  input.set(leftHash, 1);
  input.set(leftSums, 33);
  input.set(rightHash, 33 + leftSums.length);
  input.set(rightSums, 65 + leftSums.length);
  return sha256(input);
}

/** The number of levels above the leaves: ceil(log2(leafCount)), 0 for one leaf. */
export function treeDepth(leafCount: number): number {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1)
    throw new RangeError(`a tree has at least one leaf, got ${leafCount}`);
  let depth = 0;
  for (let capacity = 1; capacity < leafCount; capacity *= 2) depth += 1;
  return depth;
}

// ---------------------------------------------------------------------------
// The proof
// ---------------------------------------------------------------------------

export interface InclusionProofAmounts {
  readonly claim: string;
  readonly debt: string;
}

/** An inclusion proof as served: one JSON object (docs/attestation.md, "Inclusion proofs"). */
export interface InclusionProof {
  readonly version: 1;
  readonly attestation: Attestation;
  /** Standard base64 of the account's 32-byte public key. */
  readonly account: string;
  /** Lower-case hex of the account's 32-byte salt. */
  readonly salt: string;
  readonly leafIndex: number;
  /** The linked exit address (0x and 40 lower-case hex digits), present exactly when the leaf is an exit leaf. */
  readonly exitAddress?: string;
  /** One item per attestation asset, in its order; decimal strings of integer units. */
  readonly balances: readonly (InclusionProofAmounts & { readonly symbol: string })[];
  /** The siblings from the leaf's level up to the level below the root. */
  readonly path: readonly { readonly hash: string; readonly sums: readonly InclusionProofAmounts[] }[];
}

/** A proof's body before formatting: what the tree stores for one leaf and its siblings. */
export interface InclusionProofBody {
  readonly leafIndex: number;
  readonly salt: Uint8Array;
  /** The exit address the leaf was hashed with, for an exit leaf. */
  readonly exitAddress?: Uint8Array;
  readonly balances: readonly AccountBalance[];
  readonly path: readonly { readonly hash: Uint8Array; readonly sums: readonly ClaimAndDebt[] }[];
}

/** The proof JSON object for `accountId` from the tree's proof body, under `attestation`. */
export function inclusionProofOf(
  attestation: Attestation,
  accountId: string,
  body: InclusionProofBody,
): InclusionProof {
  const amounts = (pair: ClaimAndDebt): InclusionProofAmounts => ({
    claim: pair.claim.toString(),
    debt: pair.debt.toString(),
  });
  return {
    version: inclusionProofVersion,
    attestation,
    account: accountId,
    salt: bytesToLowerHex(body.salt),
    leafIndex: body.leafIndex,
    ...(body.exitAddress === undefined ? {} : { exitAddress: exitAddressText(body.exitAddress) }),
    balances: body.balances.map((balance) => ({ symbol: balance.symbol, ...amounts(balance) })),
    path: body.path.map((sibling) => ({ hash: bytesToLowerHex(sibling.hash), sums: sibling.sums.map(amounts) })),
  };
}

export type InclusionProofVerdict =
  | {
      readonly ok: true;
      /** The account's base64 public key. */
      readonly account: string;
      readonly leafIndex: number;
      /** The exit address in the leaf, when the account linked one. */
      readonly exitAddress?: string;
      /** The account's attested claims and debts, in the attestation's asset order. */
      readonly balances: readonly AccountBalance[];
      /** The checked attestation, without members the verifier does not know. */
      readonly attestation: Attestation;
    }
  | { readonly ok: false; readonly reason: string };

export interface VerifyInclusionProofOptions {
  /**
   * The signature check to use for the attestation. The default is noble's
   * strict Ed25519 (browser-safe); Node callers pass the engine's rule,
   * `(key, message, signature) => verifySignature(key, message, signature) === 'valid'`.
   */
  readonly verifySignature?: SignatureCheck;
}

class ProofRejection extends Error {
  override readonly name = 'ProofRejection';
}

function reject(reason: string): never {
  throw new ProofRejection(reason);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function amountOf(value: unknown, where: string): bigint {
  const amount = parseUint128Decimal(value);
  if (amount === undefined) reject(`${where} must be a canonical decimal string of an integer in [0, 2^128).`);
  return amount;
}

/** Reads a list of exactly `count` claim/debt items as flat amounts: claim, debt, claim, debt, … */
function readPairs(value: unknown, count: number, where: string, symbols?: readonly string[]): bigint[] {
  if (!Array.isArray(value)) reject(`${where} must be an array.`);
  if (value.length !== count) reject(`${where} has ${value.length} items; the attestation lists ${count} assets.`);
  const pairs: bigint[] = [];
  value.forEach((item: unknown, index) => {
    if (!isRecord(item)) reject(`${where}[${index}] must be an object.`);
    if (symbols !== undefined && item.symbol !== symbols[index]) {
      reject(`${where}[${index}].symbol must be ${symbols[index]}, the attestation's asset at that place.`);
    }
    pairs.push(amountOf(item.claim, `${where}[${index}].claim`), amountOf(item.debt, `${where}[${index}].debt`));
  });
  return pairs;
}

function pairsToSums(pairs: readonly bigint[]): Uint8Array {
  const bytes = new Uint8Array(16 * pairs.length);
  const view = new DataView(bytes.buffer);
  pairs.forEach((amount, index) => writeUint128(view, 16 * index, amount));
  return bytes;
}

function isZeroBytes(bytes: Uint8Array): boolean {
  for (let index = 0; index < bytes.length; index += 1) if (bytes[index] !== 0) return false;
  return true;
}

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index += 1) if (left[index] !== right[index]) return false;
  return true;
}

/**
 * Performs every check of docs/attestation.md, "Checking a proof", on an
 * untrusted value (as from JSON.parse). Never throws: any failure is
 * `{ ok: false, reason }` with the first check that failed.
 */
export function verifyInclusionProof(
  proof: unknown,
  trustedOperatorKeys: readonly string[],
  options: VerifyInclusionProofOptions = {},
): InclusionProofVerdict {
  try {
    return checkProof(proof, trustedOperatorKeys, options);
  } catch (error) {
    if (error instanceof ProofRejection) return { ok: false, reason: error.message };
    if (error instanceof AttestationFormatError)
      return { ok: false, reason: `The attestation is malformed: ${error.message}` };
    // Not expected for any input; reported rather than thrown, as promised.
    return {
      ok: false,
      reason: `The proof could not be checked: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

function checkProof(
  proof: unknown,
  trustedOperatorKeys: readonly string[],
  options: VerifyInclusionProofOptions,
): InclusionProofVerdict {
  if (!isRecord(proof)) reject('The proof must be a JSON object.');
  if (proof.version !== inclusionProofVersion) reject(`The proof's version must be ${inclusionProofVersion}.`);
  const attestation = parseAttestation(proof.attestation);

  // 1. The attestation is the operator's.
  if (!trustedOperatorKeys.includes(attestation.operatorKey))
    reject('The attestation is signed by a key that is not a trusted operator key.');
  if (!verifyAttestationSignature(attestation, trustedOperatorKeys, options.verifySignature)) {
    reject('The attestation signature does not verify under its operator key.');
  }

  // 2. Shape and ranges.
  const parts = readProofParts(proof, attestation);

  // 3. Recompute the leaf and walk up, claims and debts summed apart.
  const commitment = accountCommitment(parts.publicKey, parts.salt);
  const leafSums = pairsToSums(parts.balancePairs);
  const leaf =
    parts.exitAddress === undefined
      ? leafHash(commitment, leafSums)
      : exitLeafHash(commitment, parts.exitAddress, leafSums);
  const root = walkToRoot(leaf, parts.balancePairs, parts.siblings, parts.leafIndex, attestation.accountCount);

  // 4. The root and its sums are the attested ones.
  checkAttestedRoot(attestation, root.hash, root.pairs);

  const balances = attestation.assets.map((asset, position) => ({
    symbol: asset.symbol,
    claim: parts.balancePairs[2 * position]!,
    debt: parts.balancePairs[2 * position + 1]!,
  }));
  const linked = parts.exitAddress === undefined ? {} : { exitAddress: exitAddressText(parts.exitAddress) };
  const account = bytesToBase64(parts.publicKey);
  return { ok: true, account, leafIndex: parts.leafIndex, ...linked, balances, attestation };
}

/** A sibling on the path: its hash and its sums as flat amounts (claim, debt, claim, debt, …). */
interface ProofSibling {
  readonly hash: Uint8Array;
  readonly pairs: readonly bigint[];
}

/** What a proof states, checked for shape and range against its attestation (step 2 of "Checking a proof"). */
interface ProofParts {
  readonly publicKey: Uint8Array;
  readonly salt: Uint8Array;
  readonly leafIndex: number;
  readonly exitAddress: Uint8Array | undefined;
  /** The leaf's amounts, flat: claim, debt, claim, debt, … in the attestation's asset order. */
  readonly balancePairs: readonly bigint[];
  readonly siblings: readonly ProofSibling[];
}

function readProofParts(proof: Record<string, unknown>, attestation: Attestation): ProofParts {
  const assetCount = attestation.assets.length;
  const symbols = attestation.assets.map((asset) => asset.symbol);
  const publicKey = canonicalBase64ToBytes(proof.account, 32);
  if (publicKey === undefined) reject('account must be the canonical base64 of a 32-byte public key.');
  const salt = lowerHexToBytes(proof.salt, 32);
  if (salt === undefined) reject('salt must be 64 lower-case hex digits.');
  const leafIndex = proof.leafIndex;
  if (
    typeof leafIndex !== 'number' ||
    !Number.isSafeInteger(leafIndex) ||
    leafIndex < 0 ||
    leafIndex >= attestation.accountCount
  ) {
    reject(`leafIndex must be an integer in [0, ${attestation.accountCount}).`);
  }
  const depth = treeDepth(attestation.accountCount);
  if (!Array.isArray(proof.path)) reject('path must be an array.');
  if (proof.path.length !== depth)
    reject(`path has ${proof.path.length} items; ${attestation.accountCount} leaves need exactly ${depth}.`);
  const balancePairs = readPairs(proof.balances, assetCount, 'balances', symbols);
  const siblings = proof.path.map((item: unknown, level): ProofSibling => {
    if (!isRecord(item)) reject(`path[${level}] must be an object.`);
    const hash = lowerHexToBytes(item.hash, 32);
    if (hash === undefined) reject(`path[${level}].hash must be 64 lower-case hex digits.`);
    return { hash, pairs: readPairs(item.sums, assetCount, `path[${level}].sums`) };
  });
  let exitAddress: Uint8Array | undefined;
  if (proof.exitAddress !== undefined) {
    exitAddress = typeof proof.exitAddress === 'string' ? parseExitAddress(proof.exitAddress) : undefined;
    if (exitAddress === undefined) reject('exitAddress must be 0x and 40 lower-case hex digits, not the zero address.');
  }
  return { publicKey, salt, leafIndex, exitAddress, balancePairs, siblings };
}

/**
 * Walks from the leaf to the root: at each level the node hash of the two
 * records, and the parent's sums, claims and debts added apart, each below
 * 2^128. Indexes are bigints: a level may hold up to 2^53 nodes, beyond the
 * 32-bit range of JavaScript's shift operators.
 */
function walkToRoot(
  leaf: Uint8Array,
  leafPairs: readonly bigint[],
  siblings: readonly ProofSibling[],
  leafIndex: number,
  accountCount: number,
): { readonly hash: Uint8Array; readonly pairs: readonly bigint[] } {
  let hash = leaf;
  let pairs = leafPairs;
  let index = BigInt(leafIndex);
  let levelCount = BigInt(accountCount);
  siblings.forEach((sibling, level) => {
    const siblingIsEmpty = isZeroBytes(sibling.hash);
    if ((index ^ 1n) >= levelCount) {
      if (!siblingIsEmpty || sibling.pairs.some((amount) => amount !== 0n)) {
        reject(
          `path[${level}] must be the empty node: node ${index} is the last of level ${level} and has no partner.`,
        );
      }
    } else if (siblingIsEmpty) {
      reject(`path[${level}] is the empty node, but node ${index} of level ${level} has a partner.`);
    }
    const parentPairs = pairs.map((amount, position) => {
      const sum = amount + sibling.pairs[position]!;
      if (sum >= uint128Limit) reject(`path[${level}]: a sum reaches 2^128.`);
      return sum;
    });
    const ownSums = pairsToSums(pairs);
    const siblingSums = pairsToSums(sibling.pairs);
    hash =
      (index & 1n) === 0n
        ? nodeHash(hash, ownSums, sibling.hash, siblingSums)
        : nodeHash(sibling.hash, siblingSums, hash, ownSums);
    pairs = parentPairs;
    index >>= 1n;
    levelCount = (levelCount + 1n) >> 1n;
  });
  return { hash, pairs };
}

/** The computed root hash is the attested liabilitiesRoot, and its sums every asset's attested claims and debts. */
function checkAttestedRoot(attestation: Attestation, hash: Uint8Array, pairs: readonly bigint[]): void {
  if (!equalBytes(hash, lowerHexToBytes(attestation.liabilitiesRoot, 32)!)) {
    reject('The computed root hash is not the attested liabilitiesRoot.');
  }
  attestation.assets.forEach((asset, position) => {
    if (pairs[2 * position] !== BigInt(asset.claims))
      reject(`The computed ${asset.symbol} claims are not the attested total.`);
    if (pairs[2 * position + 1] !== BigInt(asset.debts))
      reject(`The computed ${asset.symbol} debts are not the attested total.`);
  });
}
