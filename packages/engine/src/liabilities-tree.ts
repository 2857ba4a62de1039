/**
 * The liabilities Merkle sum tree over every account (docs/attestation.md),
 * kept up to date incrementally as the log is applied.
 *
 * This is the node's side: it hashes with node:crypto, about ten times faster
 * than a JavaScript SHA-256, and must produce exactly the hashes of
 * inclusion-proof.ts (the browser-safe verifier); the tests hold the two to
 * byte equality.
 *
 * Storage is compact because a tree has a leaf per account (a million and
 * more): level k is one Uint8Array of fixed-size records, record i at
 * i × (32 + 32 × A) bytes, holding node i's hash followed by its sums (claim
 * u128 ‖ debt u128 per asset), which is exactly the byte layout a parent
 * hashes. So a parent's hash input is 0x01 followed by its two children's
 * adjacent records, and no per-node JavaScript object exists. Sums are added
 * as four 32-bit limbs per u128, which allocates nothing.
 *
 * Digests are taken as 'binary' (latin1) strings and written into place rather than
 * as Buffers: each Buffer digest is a new ArrayBuffer outside the JavaScript
 * heap, and a million of them make V8 run full collections over the node's
 * whole (large) heap, which measured more than twice as slow overall. A
 * latin1 string maps bytes 0–255 one to one, so nothing is lost.
 */
import { hash as oneShotHash } from 'node:crypto';
import {
  attestationMessage,
  bytesToBase64,
  bytesToLowerHex,
  readUint128,
  uint128Limit,
  assembleAttestation,
  type Attestation,
  type AttestationFields,
} from './attestation.js';
import { commitmentTag, emptyNodeHash, inclusionProofOf, type InclusionProof, type InclusionProofBody } from './inclusion-proof.js';
import { publicKeyFromSeed, signMessage } from './signature.js';
import { stateHash } from './state-codec.js';
import type { Account, ExchangeState } from './state.js';

/** The root of the tree: the liabilities root hash and the total liabilities per asset. */
export interface LiabilitiesRoot {
  readonly hash: Uint8Array;
  /** The number of leaves (accounts, the fee account included). */
  readonly accountCount: number;
  /** The root's sums, in listing order. */
  readonly assets: readonly { readonly symbol: string; readonly claims: bigint; readonly debts: bigint }[];
}

const hashLengthBytes = 32;
const sumPairLengthBytes = 32;
const uint64Mask = (1n << 64n) - 1n;
/** The largest single allocation the tree makes; larger trees allocate level by level. */
const maximumBlockBytes = 0x4000_0000 * 3;
/** Leaf indexes are plain numbers shifted with `>>>`, so a tree stays below 2^31 leaves. */
const maximumLeafCount = 0x7fff_ffff;

function fail(message: string): never {
  throw new Error(`liabilities tree: ${message}`);
}

/**
 * target[targetOffset…] = source[leftOffset…] + source[rightOffset…] for
 * `amountCount` big-endian u128 amounts, limb by limb with the carry. Totals
 * never approach 2^128 (an asset's supply is capped at 2^112), so a carry out
 * of the top limb means corrupted storage, and stops the tree.
 */
function addAmounts(target: DataView, targetOffset: number, source: DataView, leftOffset: number, rightOffset: number, amountCount: number): void {
  for (let amount = 0; amount < amountCount; amount += 1) {
    const position = 16 * amount;
    let carry = 0;
    for (let limb = 12; limb >= 0; limb -= 4) {
      const sum = source.getUint32(leftOffset + position + limb) + source.getUint32(rightOffset + position + limb) + carry;
      carry = sum > 0xffff_ffff ? 1 : 0;
      target.setUint32(targetOffset + position + limb, sum >>> 0);
    }
    if (carry !== 0) fail('a sum reached 2^128');
  }
}

/** Sorted ascending without repeats, in place. */
function sortedUnique(indexes: number[]): number[] {
  indexes.sort((left, right) => left - right);
  let kept = 0;
  for (let index = 0; index < indexes.length; index += 1) {
    if (kept === 0 || indexes[index] !== indexes[kept - 1]) indexes[kept++] = indexes[index]!;
  }
  indexes.length = kept;
  return indexes;
}

export class LiabilitiesTree {
  private assetCount = 0;
  private symbols: string[] = [];
  /** 32 + 32 × assetCount: one node's hash and sums. */
  private recordLengthBytes = hashLengthBytes;
  /** levels[k]: the records of level k; the array may be longer than counts[k] records (room to grow). */
  private levels: Buffer[] = [];
  private views: DataView[] = [];
  private counts: number[] = [];
  /** The state of the last build or update: proofs look accounts up in it. */
  private state: ExchangeState | undefined = undefined;
  private cachedRoot: LiabilitiesRoot | undefined = undefined;
  /** A leaf's hash input: 0x00 ‖ commitment ‖ sums. */
  private leafInput: Buffer = Buffer.alloc(0);
  private leafInputView: DataView = new DataView(new ArrayBuffer(0));
  /** A node's hash input: 0x01 ‖ left record ‖ right record. */
  private nodeInput: Buffer = Buffer.alloc(0);
  private nodeInputView: DataView = new DataView(new ArrayBuffer(0));
  /** Commitment input: "vex/account/v1" ‖ 0x00 ‖ publicKey ‖ salt. */
  private readonly commitmentInput: Buffer = Buffer.alloc(commitmentTag.length + 64);

  private constructor() {
    this.commitmentInput.set(commitmentTag, 0);
  }

  /**
   * A tree over every account of `state`. Clears every account's leafStale
   * flag and empties state.changedAccounts: the tree has caught up.
   */
  static build(state: ExchangeState): LiabilitiesTree {
    const tree = new LiabilitiesTree();
    tree.rebuild(state);
    return tree;
  }

  /**
   * Catches up with `state` (the same log, further on): recomputes the
   * leaves of state.changedAccounts (resetting their leafStale flags),
   * appends leaves for new accounts and recomputes only their ancestors. A
   * newly listed asset changes every leaf's size, so it rebuilds in full;
   * so does a different state object (one decoded from a snapshot, say),
   * whose changes since the last update the tree cannot know.
   */
  update(state: ExchangeState): LiabilitiesRoot {
    if (state !== this.state || state.assets.length !== this.assetCount) {
      this.rebuild(state);
      return this.root();
    }
    const previousLeafCount = this.counts[0]!;
    const leafCount = state.accountList.length;
    if (leafCount < previousLeafCount) fail(`the state has ${leafCount} accounts, fewer than the tree's ${previousLeafCount} leaves`);
    if (leafCount > maximumLeafCount) fail(`${leafCount} accounts exceed the tree's capacity`);
    let dirty: number[] = [];
    for (const account of state.changedAccounts) {
      account.leafStale = false;
      dirty.push(account.ordinal);
    }
    state.changedAccounts.length = 0;
    // New accounts are listed as changed when created; appending them here
    // too costs nothing and does not depend on that.
    for (let ordinal = previousLeafCount; ordinal < leafCount; ordinal += 1) dirty.push(ordinal);
    if (dirty.length === 0) return this.root();

    this.resizeLevel(0, leafCount);
    dirty = sortedUnique(dirty);
    for (const ordinal of dirty) this.writeLeaf(state.accountList[ordinal]!);
    let level = 0;
    while (this.counts[level]! > 1) {
      this.resizeLevel(level + 1, (this.counts[level]! + 1) >>> 1);
      let parents = 0;
      // The dirty list stays sorted under halving, so repeats are adjacent.
      for (let index = 0; index < dirty.length; index += 1) {
        const parent = dirty[index]! >>> 1;
        if (parents === 0 || dirty[parents - 1] !== parent) dirty[parents++] = parent;
      }
      dirty.length = parents;
      for (const parent of dirty) this.writeParent(level, parent);
      level += 1;
    }
    this.cachedRoot = this.computeRoot();
    return this.cachedRoot;
  }

  /** The root as of the last build or update. */
  root(): LiabilitiesRoot {
    return this.cachedRoot ?? fail('the tree was never built');
  }

  /** The number of levels above the leaves. */
  depth(): number {
    return this.levels.length - 1;
  }

  /**
   * The proof body for `accountId` at the last build or update: the leaf's
   * stored amounts (not the live state's) and its siblings. Undefined for an
   * account the tree does not hold.
   */
  proofPath(accountId: string): InclusionProofBody | undefined {
    const account = this.state?.accounts.get(accountId);
    if (account === undefined || account.ordinal >= this.counts[0]!) return undefined;
    const leafIndex = account.ordinal;
    const balances = this.readSums(0, leafIndex).map((pair, asset) => ({ symbol: this.symbols[asset]!, ...pair }));
    const path: { hash: Uint8Array; sums: { claim: bigint; debt: bigint }[] }[] = [];
    for (let level = 0; level + 1 < this.levels.length; level += 1) {
      const sibling = (leafIndex >>> level) ^ 1;
      if (sibling < this.counts[level]!) {
        path.push({ hash: this.hashAt(level, sibling), sums: this.readSums(level, sibling) });
      } else {
        path.push({ hash: emptyNodeHash.slice(), sums: this.symbols.map(() => ({ claim: 0n, debt: 0n })) });
      }
    }
    return { leafIndex, salt: account.salt.slice(), balances, path };
  }

  /**
   * The proof JSON for `accountId` under `attestation`, which must attest
   * this tree's current root; undefined for an account the tree does not hold.
   */
  inclusionProof(attestation: Attestation, accountId: string): InclusionProof | undefined {
    const root = this.root();
    if (attestation.liabilitiesRoot !== bytesToLowerHex(root.hash) || attestation.accountCount !== root.accountCount) {
      fail(`attestation ${attestation.sequence} does not attest the tree's current root`);
    }
    const body = this.proofPath(accountId);
    return body === undefined ? undefined : inclusionProofOf(attestation, accountId, body);
  }

  private rebuild(state: ExchangeState): void {
    const leafCount = state.accountList.length;
    if (leafCount < 1) fail('a state always has the fee account');
    if (leafCount > maximumLeafCount) fail(`${leafCount} accounts exceed the tree's capacity`);
    this.assetCount = state.assets.length;
    this.symbols = state.assets.map((asset) => asset.symbol);
    this.recordLengthBytes = hashLengthBytes + sumPairLengthBytes * this.assetCount;
    this.levels = [];
    this.views = [];
    this.counts = [];
    this.leafInput = Buffer.alloc(1 + hashLengthBytes + sumPairLengthBytes * this.assetCount);
    this.leafInputView = new DataView(this.leafInput.buffer, this.leafInput.byteOffset, this.leafInput.byteLength);
    this.nodeInput = Buffer.alloc(1 + 2 * this.recordLengthBytes);
    this.nodeInputView = new DataView(this.nodeInput.buffer, this.nodeInput.byteOffset, this.nodeInput.byteLength);
    this.state = state;
    this.allocateLevels(leafCount);
    state.accountList.forEach((account, ordinal) => {
      if (account.ordinal !== ordinal) fail(`account ${account.id} has ordinal ${account.ordinal} at place ${ordinal}`);
      this.writeLeaf(account);
    });
    for (let level = 0; this.counts[level]! > 1; level += 1) {
      const parentCount = (this.counts[level]! + 1) >>> 1;
      this.resizeLevel(level + 1, parentCount);
      for (let parent = 0; parent < parentCount; parent += 1) this.writeParent(level, parent);
    }
    for (const account of state.changedAccounts) account.leafStale = false;
    state.changedAccounts.length = 0;
    this.cachedRoot = this.computeRoot();
  }

  /**
   * Allocates every level for `leafCount` leaves (with room to grow) in one
   * block when it can. Each large allocation outside the JavaScript heap
   * prompts V8 to run a full collection, which takes most of a second over a
   * node's heap of a million accounts; one block means at most one.
   */
  private allocateLevels(leafCount: number): void {
    const recordLength = this.recordLengthBytes;
    const capacities: number[] = [];
    let totalBytes = 0;
    for (let count = leafCount; ; count = (count + 1) >>> 1) {
      const capacity = LiabilitiesTree.capacityFor(count);
      capacities.push(capacity);
      totalBytes += capacity * recordLength;
      if (count === 1) break;
    }
    if (totalBytes > maximumBlockBytes) {
      capacities.forEach((capacity, level) => this.setLevelStorage(level, Buffer.alloc(capacity * recordLength)));
    } else {
      const block = Buffer.alloc(totalBytes);
      let offset = 0;
      capacities.forEach((capacity, level) => {
        this.setLevelStorage(level, block.subarray(offset, offset + capacity * recordLength));
        offset += capacity * recordLength;
      });
    }
    this.counts[0] = leafCount;
  }

  /** An eighth to spare, so a growing exchange copies a level only now and then. */
  private static capacityFor(count: number): number {
    return count + (count >>> 3) + 16;
  }

  private setLevelStorage(level: number, storage: Buffer): void {
    this.levels[level] = storage;
    this.views[level] = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
  }

  /** Sets level `level` to `count` records, growing its storage (with room to spare) when needed. */
  private resizeLevel(level: number, count: number): void {
    const recordLength = this.recordLengthBytes;
    const existing = this.levels[level];
    if (existing === undefined || existing.length < count * recordLength) {
      const grown = Buffer.alloc(LiabilitiesTree.capacityFor(count) * recordLength);
      if (existing !== undefined) existing.copy(grown, 0, 0, this.counts[level]! * recordLength);
      this.setLevelStorage(level, grown);
    }
    this.counts[level] = count;
  }

  /** leaf = hash ‖ sums with hash = SHA-256(0x00 ‖ commitment ‖ sums). */
  private writeLeaf(account: Account): void {
    const commitmentInput = this.commitmentInput;
    const keyOffset = commitmentTag.length;
    if (commitmentInput.write(account.id, keyOffset, 32, 'base64') !== 32) fail(`account id ${account.id} is not a 32-byte key`);
    commitmentInput.set(account.salt, keyOffset + 32);
    const input = this.leafInput;
    const view = this.leafInputView;
    input[0] = 0x00;
    input.write(oneShotHash('sha256', commitmentInput, 'binary'), 1, hashLengthBytes, 'binary');
    input.fill(0, 1 + hashLengthBytes);
    const balances = account.balances;
    const assetCount = balances.length < this.assetCount ? balances.length : this.assetCount;
    for (let asset = 0; asset < assetCount; asset += 1) {
      const balance = balances[asset];
      if (balance === undefined) continue;
      // A claim is all of the account's physical funds; debts stay zero until
      // margin exists. Zero terms are skipped: each bigint sum allocates.
      let claim = balance.available;
      if (balance.locked !== 0n) claim += balance.locked;
      if (balance.pendingWithdrawal !== 0n) claim += balance.pendingWithdrawal;
      if (claim === 0n) continue;
      const offset = 1 + hashLengthBytes + sumPairLengthBytes * asset;
      if (claim > 0n && claim <= uint64Mask) {
        view.setBigUint64(offset + 8, claim);
      } else {
        if (claim < 0n || claim >= uint128Limit) fail(`account ${account.id} has a claim of ${claim} ${this.symbols[asset]}`);
        view.setBigUint64(offset, claim >> 64n);
        view.setBigUint64(offset + 8, claim & uint64Mask);
      }
    }
    const leaves = this.levels[0]!;
    const record = account.ordinal * this.recordLengthBytes;
    leaves.write(oneShotHash('sha256', input, 'binary'), record, hashLengthBytes, 'binary');
    input.copy(leaves, record + hashLengthBytes, 1 + hashLengthBytes);
  }

  /** Recomputes node `parent` of level `level + 1` from its children (the empty node standing in for a missing right one). */
  private writeParent(level: number, parent: number): void {
    const recordLength = this.recordLengthBytes;
    const children = this.levels[level]!;
    const left = 2 * parent;
    const leftOffset = left * recordLength;
    const input = this.nodeInput;
    input[0] = 0x01;
    if (left + 1 < this.counts[level]!) {
      children.copy(input, 1, leftOffset, leftOffset + 2 * recordLength);
    } else {
      children.copy(input, 1, leftOffset, leftOffset + recordLength);
      input.fill(0, 1 + recordLength);
    }
    const parentOffset = parent * recordLength;
    this.levels[level + 1]!.write(oneShotHash('sha256', input, 'binary'), parentOffset, hashLengthBytes, 'binary');
    addAmounts(this.views[level + 1]!, parentOffset + hashLengthBytes, this.nodeInputView, 1 + hashLengthBytes, 1 + recordLength + hashLengthBytes, 2 * this.assetCount);
  }

  /** A copy of node `index`'s hash (Buffer.slice would share the tree's storage). */
  private hashAt(level: number, index: number): Uint8Array {
    const offset = index * this.recordLengthBytes;
    const hash = new Uint8Array(hashLengthBytes);
    hash.set(this.levels[level]!.subarray(offset, offset + hashLengthBytes));
    return hash;
  }

  private readSums(level: number, index: number): { claim: bigint; debt: bigint }[] {
    const view = this.views[level]!;
    const offset = index * this.recordLengthBytes + hashLengthBytes;
    return this.symbols.map((_, asset) => ({
      claim: readUint128(view, offset + sumPairLengthBytes * asset),
      debt: readUint128(view, offset + sumPairLengthBytes * asset + 16),
    }));
  }

  private computeRoot(): LiabilitiesRoot {
    const top = this.levels.length - 1;
    if (this.counts[top] !== 1) fail('the top level does not hold exactly one node');
    const sums = this.readSums(top, 0);
    return {
      hash: this.hashAt(top, 0),
      accountCount: this.counts[0]!,
      assets: this.symbols.map((symbol, asset) => ({ symbol, claims: sums[asset]!.claim, debts: sums[asset]!.debt })),
    };
  }
}

/**
 * The fields an attestation of `state` after entry `sequence` signs.
 * `root` must be the tree's root for this very state (update the tree first).
 */
export function attestationFieldsOf(
  state: ExchangeState,
  root: LiabilitiesRoot,
  sequence: number,
  headHash: Uint8Array,
  genesisHash: Uint8Array,
): AttestationFields {
  if (root.accountCount !== state.accountList.length) {
    fail(`the root covers ${root.accountCount} accounts but the state has ${state.accountList.length}; update the tree first`);
  }
  if (root.assets.length !== state.assets.length || root.assets.some((asset, index) => asset.symbol !== state.assets[index]!.symbol)) {
    fail('the root does not cover the state\'s assets; update the tree first');
  }
  if (headHash.length !== hashLengthBytes || genesisHash.length !== hashLengthBytes) fail('the head and genesis hashes must be 32 bytes');
  return {
    sequence,
    logTimeMs: state.logTimeMs,
    genesisHash: bytesToLowerHex(genesisHash),
    headHash: bytesToLowerHex(headHash),
    stateHash: bytesToLowerHex(stateHash(state)),
    liabilitiesRoot: bytesToLowerHex(root.hash),
    accountCount: root.accountCount,
    assets: root.assets.map((asset, index) => ({
      symbol: asset.symbol,
      claims: asset.claims.toString(),
      debts: asset.debts.toString(),
      reserves: state.assets[index]!.reservesUnits.toString(),
    })),
  };
}

/** Signs attestation fields with the operator's 32-byte Ed25519 seed. */
export function signAttestation(fields: AttestationFields, operatorSeed: Uint8Array): Attestation {
  const signature = signMessage(operatorSeed, attestationMessage(fields));
  return assembleAttestation(fields, bytesToBase64(publicKeyFromSeed(operatorSeed)), bytesToBase64(signature));
}
