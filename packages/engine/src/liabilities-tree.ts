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
 *
 * Older versions: each versioned update keeps an undo log (the previous
 * record of every node it overwrote, the previous level sizes and root), so
 * proofs can be given at recent older versions (proofPathAt) within a
 * memory budget, without keeping whole trees.
 */
import { hash as oneShotHash } from 'node:crypto';
import {
  attestationMessage,
  bytesToBase64,
  bytesToLowerHex,
  readUint128,
  assembleAttestation,
  type Attestation,
  type AttestationFields,
} from './attestation.js';
import { copyWords, sortedUniqueIndexes, writeBinaryDigest } from './merkle-bytes.js';
import { emptyNodeHash, inclusionProofOf, type InclusionProof, type InclusionProofBody } from './inclusion-proof.js';
import {
  AccountCommitments,
  coveragePoolTotals,
  exitAddressOfLeaf,
  exitLeafInput,
  leafClaim,
  leafDebt,
  movedUnderwriterOrdinals,
  poolIndexesAt,
  positionHolderOrdinals,
  underwriterClaim,
  underwrittenPools,
  writeLeafAmount,
  type PoolTotals,
} from './liabilities-leaf.js';
import { MarkMemory, pendingPerpUnitsByAsset, withPendingPerp } from './liabilities-perps.js';
import type { PoolIndexes } from './lending-pool.js';
import type { CoveragePool } from './margin-state.js';
import { publicKeyOfOperatorSeed, signWithOperatorSeed } from './operator-signing.js';
import { stateCommitmentOf } from './state-commitment.js';
import type { Account, ExchangeState } from './state.js';
import { stressFigure } from './stress.js';

/** The root of the tree: the liabilities root hash and the total liabilities per asset. */
export interface LiabilitiesRoot {
  readonly hash: Uint8Array;
  /** The number of leaves (accounts, the fee account included). */
  readonly accountCount: number;
  /** The root's sums, in listing order. */
  readonly assets: readonly { readonly symbol: string; readonly claims: bigint; readonly debts: bigint }[];
}

/** Options of LiabilitiesTree.build. */
export interface LiabilitiesTreeOptions {
  /**
   * The memory the tree may spend on undo logs, which let it answer proofs
   * at older versions (proofPathAt); the oldest versions are dropped beyond
   * it. Default defaultHistoryBytes; 0 keeps no older version.
   */
  readonly historyBytes?: number;
  /** The version (an attestation sequence, say) the built tree is at; undefined for an unversioned tree. */
  readonly version?: number;
  /** The log time the leaves carry interest to (default the state's); a record's recovery uses the attested time. */
  readonly leafTimeMs?: number;
}

/**
 * 64 MiB: about a tenth of the tree itself at a million accounts and five
 * assets (two million records of 192 bytes), and enough for hundreds of
 * versions when a version changes a few hundred leaves.
 */
export const defaultHistoryBytes = 64 * 1024 * 1024;

/**
 * What an update changed, kept to go back to the version it moved away from:
 * the previous record of every node it overwrote (nodes it appended did not
 * exist then), and that version's shape and root.
 */
interface UndoLog {
  readonly version: number;
  /** Level sizes at the version; counts[0] is its leaf count. */
  readonly counts: readonly number[];
  readonly rootHash: string;
  /** level × 2^32 + index of each saved node, ascending (updates go level by level, index by index). */
  readonly keys: Float64Array;
  /** The saved records, one per key, in the same order. */
  readonly records: Buffer;
  /** What the log costs against historyBytes. */
  readonly bytes: number;
}

/** A rough allowance for an undo log's objects besides its two arrays. */
const undoLogOverheadBytes = 256;
const levelFactor = 0x1_0000_0000;

const hashLengthBytes = 32;
const sumPairLengthBytes = 32;
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
function addAmounts(
  target: DataView,
  targetOffset: number,
  source: DataView,
  leftOffset: number,
  rightOffset: number,
  amountCount: number,
): void {
  for (let amount = 0; amount < amountCount; amount += 1) {
    const position = 16 * amount;
    let carry = 0;
    for (let limb = 12; limb >= 0; limb -= 4) {
      const sum =
        source.getUint32(leftOffset + position + limb) + source.getUint32(rightOffset + position + limb) + carry;
      carry = sum > 0xffff_ffff ? 1 : 0;
      target.setUint32(targetOffset + position + limb, sum >>> 0);
    }
    if (carry !== 0) fail('a sum reached 2^128');
  }
}

/** The position of `key` in the ascending `keys`, if there. */
function findKey(keys: Float64Array, key: number): number | undefined {
  let low = 0;
  let high = keys.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const held = keys[middle]!;
    if (held === key) return middle;
    if (held < key) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
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
  /** Each account's commitment hash, computed once: every update rewrites every lender's and borrower's leaf. */
  private readonly commitments = new AccountCommitments();
  /** The version the tree is at; undefined when unversioned. */
  private version: number | undefined = undefined;
  private historyBytes = defaultHistoryBytes;
  /** Undo logs of the held older versions, oldest first; history[i] leads from history[i + 1]'s version (or the current one) back to its own. */
  private history: UndoLog[] = [];
  private historyByteTotal = 0;
  /** The undo log being written by update(): keys and records, `undoLength` of them. */
  private undoKeys = new Float64Array(0);
  private undoRecords: Buffer = Buffer.alloc(0);
  private undoLength = 0;
  /** Each asset's pool indexes at the state's log time, for the leaves being written (liabilities-leaf.ts). */
  private leafIndexes: (PoolIndexes | undefined)[] = [];
  /** The accounts that lent or borrowed at the last build or update: their leaves are refreshed at the next. */
  private positionOrdinals: number[] = [];
  /** Each asset's underwritten coverage pool for the leaves being written; every pool's totals at the last update. */
  private leafPools: (CoveragePool | undefined)[] = [];
  private poolTotals: (PoolTotals | undefined)[] = [];
  /** Each perpetual's mark and funding index at the last update: a move refreshes its holders' leaves. */
  private readonly perpMarks = new MarkMemory();

  private constructor() {}

  /**
   * A tree over every account of `state`. Clears every account's leafStale
   * flag and empties state.changedAccounts: the tree has caught up.
   */
  static build(state: ExchangeState, options: LiabilitiesTreeOptions = {}): LiabilitiesTree {
    const historyBytes = options.historyBytes ?? defaultHistoryBytes;
    if (!Number.isSafeInteger(historyBytes) || historyBytes < 0)
      fail(`historyBytes must be a non-negative integer, not ${historyBytes}`);
    const tree = new LiabilitiesTree();
    tree.historyBytes = historyBytes;
    tree.rebuild(state, options.leafTimeMs);
    tree.version = options.version;
    return tree;
  }

  /**
   * Catches up with `state` (the same log, further on): recomputes the
   * leaves of state.changedAccounts (resetting their leafStale flags) and
   * of the accounts that lend or borrow now or did at the last update (their
   * amounts move with log time) and of the underwriters of each coverage
   * pool whose totals moved (liabilities-leaf.ts), appends leaves for new
   * accounts and recomputes only their ancestors. A
   * newly listed asset changes every leaf's size, so it rebuilds in full;
   * so does a different state object (one decoded from a snapshot, say),
   * whose changes since the last update the tree cannot know.
   *
   * `version` names the state the tree moves to (an attestation sequence;
   * greater than the current version). Before overwriting nodes the update
   * saves their records, with the shape and root of the version it leaves,
   * so that proofPathAt can still answer for that version while the undo
   * logs fit in historyBytes. A full rebuild drops every older version, and
   * so does an update from an unversioned tree.
   */
  update(state: ExchangeState, version?: number): LiabilitiesRoot {
    if (version !== undefined && this.version !== undefined && !(version > this.version)) {
      fail(`version ${version} does not follow the tree's version ${this.version}`);
    }
    if (state !== this.state || state.assets.length !== this.assetCount) {
      // Every record changes size or may have changed: no older version can be reconstructed.
      this.rebuild(state);
      this.dropHistory();
      this.version = version;
      return this.root();
    }
    // Undo records lead back to the version being left; from an unversioned
    // tree there is none, and the older logs could not be reached past it.
    const recording = this.version !== undefined && this.historyBytes > 0;
    if (this.version === undefined) this.dropHistory();
    const previousCounts = this.counts.slice();
    const previousRoot = this.root();
    this.undoLength = 0;
    const previousLeafCount = this.counts[0]!;
    const leafCount = state.accountList.length;
    if (leafCount < previousLeafCount)
      fail(`the state has ${leafCount} accounts, fewer than the tree's ${previousLeafCount} leaves`);
    if (leafCount > maximumLeafCount) fail(`${leafCount} accounts exceed the tree's capacity`);
    let dirty = this.takeDirtyLeaves(state, previousLeafCount);
    if (dirty.length === 0) {
      this.leaveVersion(recording, previousCounts, previousRoot, version);
      return this.root();
    }

    this.resizeLevel(0, leafCount);
    dirty = sortedUniqueIndexes(dirty);
    for (const ordinal of dirty) {
      const saved = recording && ordinal < previousLeafCount && this.saveRecord(0, ordinal);
      this.writeLeaf(state.accountList[ordinal]!);
      if (saved) this.forgetIfUnchanged(0, ordinal);
    }
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
      const previousCount = previousCounts[level + 1] ?? 0;
      for (const parent of dirty) {
        const saved = recording && parent < previousCount && this.saveRecord(level + 1, parent);
        this.writeParent(level, parent);
        if (saved) this.forgetIfUnchanged(level + 1, parent);
      }
      level += 1;
    }
    this.cachedRoot = this.computeRoot();
    this.leaveVersion(recording, previousCounts, previousRoot, version);
    return this.cachedRoot;
  }

  /**
   * The leaves an update must rewrite, unsorted and possibly repeated; marks
   * the changed accounts caught up and takes the pool indexes for the leaves.
   */
  private takeDirtyLeaves(state: ExchangeState, previousLeafCount: number): number[] {
    const dirty: number[] = [];
    for (const account of state.changedAccounts) {
      account.leafStale = false;
      dirty.push(account.ordinal);
    }
    state.changedAccounts.length = 0;
    // New accounts are listed as changed when created; appending them here
    // too costs nothing and does not depend on that.
    for (let ordinal = previousLeafCount; ordinal < state.accountList.length; ordinal += 1) dirty.push(ordinal);
    // Interest moves the leaves of lenders and borrowers with log time alone;
    // a position closed since the last update may have moved no balance.
    for (const ordinal of this.positionOrdinals) dirty.push(ordinal);
    this.positionOrdinals = positionHolderOrdinals(state);
    for (const ordinal of this.positionOrdinals) dirty.push(ordinal);
    // A payout or a fee moves every underwriter's share of its pool (liabilities-leaf.ts).
    for (const ordinal of movedUnderwriterOrdinals(state, this.poolTotals)) dirty.push(ordinal);
    for (const ordinal of this.perpMarks.movedHolderOrdinals(state)) dirty.push(ordinal);
    this.takeLeafAmounts(state);
    return dirty;
  }

  /** The pool indexes, underwritten pools and pool totals of `state`, for the leaves about to be written. */
  private takeLeafAmounts(state: ExchangeState, leafTimeMs = state.logTimeMs): void {
    this.leafIndexes = poolIndexesAt(state, leafTimeMs);
    this.leafPools = underwrittenPools(state);
    this.poolTotals = coveragePoolTotals(state);
  }

  /** The version the tree is at (the last build's or update's); undefined when unversioned. */
  currentVersion(): number | undefined {
    return this.version;
  }

  /** The versions proofPathAt answers for: the oldest held and the current one; undefined for an unversioned tree. */
  heldVersions(): { readonly oldest: number; readonly latest: number } | undefined {
    if (this.version === undefined) return undefined;
    return { oldest: this.history[0]?.version ?? this.version, latest: this.version };
  }

  /** Whether proofPathAt answers for `version`: the current version, or an older one whose undo log is held. */
  holdsVersion(version: number): boolean {
    return version === this.version || this.undoLogIndex(version) !== undefined;
  }

  /** The bytes the held undo logs count against historyBytes. */
  historyByteCount(): number {
    return this.historyByteTotal;
  }

  /**
   * The proof body for `accountId` at `version`, the current one or an
   * older one still held (holdsVersion); throws for a version not held.
   * Undefined for an account without a leaf at that version. Each node on
   * the path is the oldest record saved for it by the updates since
   * `version`, or the current record if none overwrote it, laid out in the
   * shape (level sizes) of that version.
   */
  proofPathAt(version: number, accountId: string): InclusionProofBody | undefined {
    if (version === this.version) return this.proofPath(accountId);
    const first = this.undoLogIndex(version);
    if (first === undefined) fail(`version ${version} is not held`);
    const counts = this.history[first]!.counts;
    const account = this.state?.accounts.get(accountId);
    if (account === undefined || account.ordinal >= counts[0]!) return undefined;
    const leafIndex = account.ordinal;
    const recordAt = (level: number, index: number): { source: Buffer; offset: number } => {
      const key = level * levelFactor + index;
      for (let log = first; log < this.history.length; log += 1) {
        const undo = this.history[log]!;
        const found = findKey(undo.keys, key);
        if (found !== undefined) return { source: undo.records, offset: found * this.recordLengthBytes };
      }
      return { source: this.levels[level]!, offset: index * this.recordLengthBytes };
    };
    const leaf = recordAt(0, leafIndex);
    const balances = this.sumsIn(leaf.source, leaf.offset).map((pair, asset) => ({
      symbol: this.symbols[asset]!,
      ...pair,
    }));
    const path: { hash: Uint8Array; sums: { claim: bigint; debt: bigint }[] }[] = [];
    for (let level = 0; level + 1 < counts.length; level += 1) {
      const sibling = (leafIndex >>> level) ^ 1;
      if (sibling < counts[level]!) {
        const record = recordAt(level, sibling);
        path.push({
          hash: Uint8Array.from(record.source.subarray(record.offset, record.offset + hashLengthBytes)),
          sums: this.sumsIn(record.source, record.offset),
        });
      } else {
        path.push({ hash: emptyNodeHash.slice(), sums: this.symbols.map(() => ({ claim: 0n, debt: 0n })) });
      }
    }
    const leafRecord = leaf.source.subarray(leaf.offset, leaf.offset + this.recordLengthBytes);
    const exitAddress = exitAddressOfLeaf(leafRecord, account);
    return { leafIndex, salt: account.salt.slice(), balances, path, ...(exitAddress && { exitAddress }) };
  }

  /**
   * The proof JSON for `accountId` under `attestation`, whose sequence must
   * be a held version (holdsVersion) whose root it attests; undefined for an
   * account without a leaf at that version.
   */
  inclusionProofAt(attestation: Attestation, accountId: string): InclusionProof | undefined {
    const version = attestation.sequence;
    if (version === this.version) return this.inclusionProof(attestation, accountId);
    const index = this.undoLogIndex(version);
    if (index === undefined) fail(`version ${version} is not held`);
    const undo = this.history[index]!;
    if (attestation.liabilitiesRoot !== undo.rootHash || attestation.accountCount !== undo.counts[0]) {
      fail(`attestation ${attestation.sequence} does not attest the tree's root at version ${version}`);
    }
    const body = this.proofPathAt(version, accountId);
    return body === undefined ? undefined : inclusionProofOf(attestation, accountId, body);
  }

  /** Appends node (level, index)'s current record to the undo log being written. */
  private saveRecord(level: number, index: number): true {
    const recordLength = this.recordLengthBytes;
    if (this.undoLength === this.undoKeys.length) {
      const capacity = this.undoLength < 32 ? 64 : 2 * this.undoLength;
      const keys = new Float64Array(capacity);
      keys.set(this.undoKeys);
      const records = Buffer.alloc(capacity * recordLength);
      this.undoRecords.copy(records, 0, 0, this.undoLength * recordLength);
      this.undoKeys = keys;
      this.undoRecords = records;
    }
    const offset = index * recordLength;
    this.levels[level]!.copy(this.undoRecords, this.undoLength * recordLength, offset, offset + recordLength);
    this.undoKeys[this.undoLength] = level * levelFactor + index;
    this.undoLength += 1;
    return true;
  }

  /** Takes back the record just saved when the node was rewritten with the same bytes (a leaf whose funds did not change, say). */
  private forgetIfUnchanged(level: number, index: number): void {
    const recordLength = this.recordLengthBytes;
    const saved = (this.undoLength - 1) * recordLength;
    const offset = index * recordLength;
    if (this.undoRecords.compare(this.levels[level]!, offset, offset + recordLength, saved, saved + recordLength) === 0)
      this.undoLength -= 1;
  }

  /** Moves to `version`, keeping the undo log just written for the version left, within the budget. */
  private leaveVersion(
    recording: boolean,
    previousCounts: number[],
    previousRoot: LiabilitiesRoot,
    version: number | undefined,
  ): void {
    if (recording) {
      const length = this.undoLength;
      const records = Buffer.alloc(length * this.recordLengthBytes);
      this.undoRecords.copy(records, 0, 0, records.length);
      const keys = this.undoKeys.slice(0, length);
      const bytes = keys.byteLength + records.byteLength + 8 * previousCounts.length + undoLogOverheadBytes;
      this.history.push({
        version: this.version!,
        counts: previousCounts,
        rootHash: bytesToLowerHex(previousRoot.hash),
        keys,
        records,
        bytes,
      });
      this.historyByteTotal += bytes;
      let dropped = 0;
      while (dropped < this.history.length && this.historyByteTotal > this.historyBytes) {
        this.historyByteTotal -= this.history[dropped]!.bytes;
        dropped += 1;
      }
      if (dropped > 0) this.history.splice(0, dropped);
    }
    this.undoLength = 0;
    // The scratch arrays are kept for the next update unless they grew large.
    if (this.undoRecords.length > 0x100_0000) {
      this.undoKeys = new Float64Array(0);
      this.undoRecords = Buffer.alloc(0);
    }
    this.version = version;
  }

  private dropHistory(): void {
    this.history = [];
    this.historyByteTotal = 0;
  }

  /** The index in `history` of `version`'s undo log, if held. */
  private undoLogIndex(version: number): number | undefined {
    let low = 0;
    let high = this.history.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const held = this.history[middle]!.version;
      if (held === version) return middle;
      if (held < version) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  private sumsIn(source: Buffer, recordOffset: number): { claim: bigint; debt: bigint }[] {
    const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
    const offset = recordOffset + hashLengthBytes;
    return this.symbols.map((_, asset) => ({
      claim: readUint128(view, offset + sumPairLengthBytes * asset),
      debt: readUint128(view, offset + sumPairLengthBytes * asset + 16),
    }));
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
    const exitAddress = account.exitAddress?.slice();
    return { leafIndex, salt: account.salt.slice(), balances, path, ...(exitAddress && { exitAddress }) };
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

  private rebuild(state: ExchangeState, leafTimeMs = state.logTimeMs): void {
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
    this.commitments.clear();
    this.takeLeafAmounts(state, leafTimeMs);
    this.positionOrdinals = positionHolderOrdinals(state);
    this.perpMarks.remember(state);
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

  /** leaf = hash ‖ sums with hash = SHA-256(0x00 ‖ commitment ‖ sums), at the indexes of leafIndexes. */
  private writeLeaf(account: Account): void {
    const input = this.leafInput;
    const view = this.leafInputView;
    input[0] = 0x00;
    this.commitments.write(this.state!.accountList, account.ordinal, view, 1);
    for (let offset = 1 + hashLengthBytes; offset < input.length; offset += 4) view.setUint32(offset, 0);
    const balances = account.balances;
    const pending = pendingPerpUnitsByAsset(this.state!, account);
    const assetCount = balances.length < this.assetCount && pending === undefined ? balances.length : this.assetCount;
    for (let asset = 0; asset < assetCount; asset += 1) {
      const balance = balances[asset];
      if (balance === undefined && pending?.[asset] === undefined) continue;
      // Claims and debts at the state's log time (liabilities-leaf.ts), pending perpetual amounts folded in.
      let claim = 0n;
      let debt = 0n;
      if (balance !== undefined) {
        claim = leafClaim(balance, this.leafIndexes[asset], underwriterClaim(this.leafPools[asset], account));
        debt = leafDebt(balance, this.leafIndexes[asset]);
      }
      if (pending?.[asset] !== undefined) [claim, debt] = withPendingPerp(claim, debt, pending[asset]);
      const offset = 1 + hashLengthBytes + sumPairLengthBytes * asset;
      if (claim !== 0n && !writeLeafAmount(view, offset, claim))
        fail(`account ${account.id} has a claim of ${claim} ${this.symbols[asset]}`);
      if (debt !== 0n && !writeLeafAmount(view, offset + 16, debt))
        fail(`account ${account.id} has a debt of ${debt} ${this.symbols[asset]}`);
    }
    const leaves = this.levels[0]!;
    const record = account.ordinal * this.recordLengthBytes;
    // An account that linked an exit address has an exit leaf (0x02 ‖ commitment ‖ address ‖ sums).
    const hashInput = account.exitAddress === undefined ? input : exitLeafInput(input, account.exitAddress);
    writeBinaryDigest(leaves, record, oneShotHash('sha256', hashInput, 'binary'));
    copyWords(this.views[0]!, record + hashLengthBytes, view, 1 + hashLengthBytes, input.length);
  }

  /** Recomputes node `parent` of level `level + 1` from its children (the empty node standing in for a missing right one). */
  private writeParent(level: number, parent: number): void {
    const recordLength = this.recordLengthBytes;
    const children = this.views[level]!;
    const left = 2 * parent;
    const leftOffset = left * recordLength;
    const input = this.nodeInput;
    input[0] = 0x01;
    if (left + 1 < this.counts[level]!) {
      copyWords(this.nodeInputView, 1, children, leftOffset, leftOffset + 2 * recordLength);
    } else {
      copyWords(this.nodeInputView, 1, children, leftOffset, leftOffset + recordLength);
      input.fill(0, 1 + recordLength);
    }
    const parentOffset = parent * recordLength;
    writeBinaryDigest(this.levels[level + 1]!, parentOffset, oneShotHash('sha256', input, 'binary'));
    addAmounts(
      this.views[level + 1]!,
      parentOffset + hashLengthBytes,
      this.nodeInputView,
      1 + hashLengthBytes,
      1 + recordLength + hashLengthBytes,
      2 * this.assetCount,
    );
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
 * `root` must be the tree's root for this very state (update the tree first),
 * and `stateCommitment` the state commitment of this very state
 * (StateCommitment.update; computed from scratch when not given).
 */
export function attestationFieldsOf(
  state: ExchangeState,
  root: LiabilitiesRoot,
  sequence: number,
  headHash: Uint8Array,
  genesisHash: Uint8Array,
  stateCommitment: Uint8Array = stateCommitmentOf(state),
): AttestationFields {
  if (root.accountCount !== state.accountList.length) {
    fail(
      `the root covers ${root.accountCount} accounts but the state has ${state.accountList.length}; update the tree first`,
    );
  }
  if (
    root.assets.length !== state.assets.length ||
    root.assets.some((asset, index) => asset.symbol !== state.assets[index]!.symbol)
  ) {
    fail("the root does not cover the state's assets; update the tree first");
  }
  if (headHash.length !== hashLengthBytes || genesisHash.length !== hashLengthBytes)
    fail('the head and genesis hashes must be 32 bytes');
  const stress = stressFigure(state, state.logTimeMs);
  return {
    sequence,
    logTimeMs: state.logTimeMs,
    genesisHash: bytesToLowerHex(genesisHash),
    headHash: bytesToLowerHex(headHash),
    stateHash: bytesToLowerHex(stateCommitment),
    liabilitiesRoot: bytesToLowerHex(root.hash),
    accountCount: root.accountCount,
    assets: root.assets.map((asset, index) => ({
      symbol: asset.symbol,
      claims: asset.claims.toString(),
      debts: asset.debts.toString(),
      reserves: state.assets[index]!.reservesUnits.toString(),
      stressShortfall: stress[index]!.toString(),
    })),
  };
}

/** Signs attestation fields with the operator's 32-byte Ed25519 seed. */
export function signAttestation(fields: AttestationFields, operatorSeed: Uint8Array): Attestation {
  const signature = signWithOperatorSeed(operatorSeed, attestationMessage(fields));
  return assembleAttestation(fields, bytesToBase64(publicKeyOfOperatorSeed(operatorSeed)), bytesToBase64(signature));
}
