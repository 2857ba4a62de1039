/**
 * The state commitment: a Merkle tree over the state's parts whose root an
 * attestation signs (docs/attestation.md, "State commitment").
 *
 * The parts are the state codec's own encodings (state-codec.ts): each small
 * whole section (header, assets, markets), each account with its balances
 * and its open orders, and three keyed collections (pending withdrawals,
 * credited deposits, remembered messages) spread over 65,536 buckets each.
 * The engine lists what each entry touches (state-changes.ts), so an update
 * rehashes only those parts and their paths: O(changes × log n), not the
 * size of the state.
 */
import { hash as oneShotHash } from 'node:crypto';
import { ByteWriter } from './byte-codec.js';
import { copyWords, sortedUniqueIndexes, viewOf, writeBinaryDigest } from './merkle-bytes.js';
import {
  encodeAccount,
  encodeCreditedDeposit,
  encodeOrder,
  encodeWithdrawal,
  wholeStateSections,
  coveragePoolsSection,
} from './state-codec.js';
import { RememberedMessagesPart } from './remembered-messages-commitment.js';
import type { Account, ExchangeState, Withdrawal } from './state.js';

export const stateCommitmentTag = 'vex/state-commitment/v2';
const hashLengthBytes = 32;
/** Buckets of each keyed collection: 2^16, a tree of depth 16. */
export const keyedBucketCount = 65536;
const leafPrefix = 0x00;
const commitmentPrefix = Buffer.from(`${stateCommitmentTag}\0`, 'latin1');

/** One of the hashes the commitment is the hash of: a whole section's leaf, or a tree's root. */
export interface StateCommitmentPart {
  readonly name: string;
  readonly hash: Uint8Array;
}
const nodePrefix = 0x01;

function sha256Binary(input: Uint8Array): string {
  return oneShotHash('sha256', input, 'binary');
}

/**
 * A binary Merkle tree over a growing list of 32-byte leaves, one buffer per
 * level. A node is SHA-256(0x01 ‖ left ‖ right), a missing right child is 32
 * zero bytes, and the root is the single node of the top level (the leaf
 * itself for one leaf, 32 zero bytes for none). Leaves set since the last
 * root() are rehashed along their paths only.
 */
export class MerkleLevels {
  private readonly levels: Buffer[] = [Buffer.alloc(hashLengthBytes * 16)];
  /** A DataView over each level, for copying children four bytes at a time. */
  private readonly views: DataView[] = [viewOf(this.levels[0]!)];
  private readonly counts: number[] = [0];
  private dirty: number[] = [];
  private readonly nodeInput = Buffer.alloc(1 + 2 * hashLengthBytes);
  private readonly nodeInputView = viewOf(this.nodeInput);

  /** A tree of `count` leaves all equal to `leaf`, built without hashing each node. */
  static uniform(count: number, leaf: Uint8Array): MerkleLevels {
    const tree = new MerkleLevels();
    let node = Buffer.from(leaf);
    let level = 0;
    for (let width = count; ; width = (width + 1) >>> 1) {
      tree.levels[level] = Buffer.alloc(width * hashLengthBytes).fill(node);
      tree.views[level] = viewOf(tree.levels[level]!);
      tree.counts[level] = width;
      if (width <= 1) break;
      if (width % 2 !== 0) throw new RangeError('a uniform tree needs a power-of-two width');
      node = Buffer.from(sha256Binary(Buffer.concat([Buffer.of(nodePrefix), node, node])), 'binary');
      level += 1;
    }
    return tree;
  }

  get leafCount(): number {
    return this.counts[0]!;
  }

  /** Sets leaf `index` (at most leafCount: one past the end appends). */
  setLeaf(index: number, leafBinary: string): void {
    if (index > this.counts[0]!) throw new RangeError(`leaf ${index} is past the end ${this.counts[0]}`);
    if (index === this.counts[0]) this.grow(0, index + 1);
    writeBinaryDigest(this.levels[0]!, index * hashLengthBytes, leafBinary);
    this.dirty.push(index);
  }

  /** The root after rehashing the paths of the leaves set since the last call. */
  root(): Uint8Array {
    // Sorted once: the parents of a sorted list come out sorted, and repeats are then neighbours.
    let dirty = sortedUniqueIndexes(this.dirty);
    this.dirty = [];
    for (let level = 0; this.counts[level]! > 1; level += 1) {
      const width = (this.counts[level]! + 1) >>> 1;
      this.grow(level + 1, width);
      const parents: number[] = [];
      for (const index of dirty) {
        const parent = index >>> 1;
        if (parents.length > 0 && parents[parents.length - 1] === parent) continue;
        parents.push(parent);
        this.writeParent(level, parent);
      }
      dirty = parents;
    }
    const top = this.counts.findIndex((count) => count <= 1);
    const result = new Uint8Array(hashLengthBytes);
    if (this.counts[top] === 1) result.set(this.levels[top]!.subarray(0, hashLengthBytes));
    return result;
  }

  private grow(level: number, count: number): void {
    if (this.levels[level] === undefined) {
      this.levels[level] = Buffer.alloc(hashLengthBytes * 16);
      this.views[level] = viewOf(this.levels[level]!);
      this.counts[level] = 0;
    }
    const buffer = this.levels[level]!;
    if (count * hashLengthBytes > buffer.length) {
      const needed = count * hashLengthBytes;
      const grown = Buffer.alloc(needed > buffer.length * 2 ? needed : buffer.length * 2);
      buffer.copy(grown);
      this.levels[level] = grown;
      this.views[level] = viewOf(grown);
    }
    if (count > this.counts[level]!) this.counts[level] = count;
  }

  private writeParent(level: number, parent: number): void {
    const children = this.views[level]!;
    const input = this.nodeInput;
    const left = 2 * parent;
    input[0] = nodePrefix;
    if (left + 1 < this.counts[level]!) {
      copyWords(this.nodeInputView, 1, children, left * hashLengthBytes, (left + 2) * hashLengthBytes);
    } else {
      copyWords(this.nodeInputView, 1, children, left * hashLengthBytes, (left + 1) * hashLengthBytes);
      input.fill(0, 1 + hashLengthBytes);
    }
    writeBinaryDigest(this.levels[level + 1]!, parent * hashLengthBytes, sha256Binary(input));
  }
}

/** How one keyed collection is spread over buckets, ordered within one and encoded. */
interface KeyedCollection<Key, Value> {
  readonly name: string;
  readonly bucketOf: (key: Key) => number;
  /** What encode needs of the element, or undefined when the key is no longer in the state: one lookup for both. */
  readonly valueOf: (state: ExchangeState, key: Key) => Value | undefined;
  readonly compare: (left: Key, right: Key) => number;
  readonly encode: (writer: ByteWriter, key: Key, value: Value) => void;
  readonly keysOf: (state: ExchangeState) => Iterable<Key>;
  readonly changesOf: (state: ExchangeState) => Key[];
}

/** A bucket leaf: SHA-256(0x00 ‖ varint count ‖ the elements' encodings in bucket order). */
class KeyedPart<Key, Value> {
  private readonly tree: MerkleLevels;
  /** Keys seen per bucket; some may have left the state since (filtered at the next rehash). */
  private readonly members: (Key[] | undefined)[] = new Array(keyedBucketCount).fill(undefined);
  private readonly dirtyFlags = new Uint8Array(keyedBucketCount);
  private dirty: number[] = [];
  /** The present elements' values of the bucket being rehashed, in the kept keys' order. */
  private readonly values: Value[] = [];

  constructor(
    private readonly collection: KeyedCollection<Key, Value>,
    emptyBucketLeaf: Uint8Array,
  ) {
    this.tree = MerkleLevels.uniform(keyedBucketCount, emptyBucketLeaf);
  }

  note(key: Key): void {
    const bucket = this.collection.bucketOf(key);
    const list = this.members[bucket];
    if (list === undefined) this.members[bucket] = [key];
    else if (!list.includes(key)) list.push(key);
    if (this.dirtyFlags[bucket] === 0) {
      this.dirtyFlags[bucket] = 1;
      this.dirty.push(bucket);
    }
  }

  root(state: ExchangeState, writer: ByteWriter): Uint8Array {
    const collection = this.collection;
    const values = this.values;
    for (const bucket of this.dirty) {
      this.dirtyFlags[bucket] = 0;
      // Sorted first, then the keys gone from the state dropped in place, each looked up once.
      const keys = this.members[bucket]!.sort(collection.compare);
      let kept = 0;
      for (const key of keys) {
        const value = collection.valueOf(state, key);
        if (value === undefined) continue;
        values[kept] = value;
        keys[kept++] = key;
      }
      keys.length = kept;
      if (kept === 0) this.members[bucket] = undefined;
      writer.clear();
      writer.byte(leafPrefix);
      writer.unsigned(kept);
      for (let index = 0; index < kept; index += 1) collection.encode(writer, keys[index]!, values[index]!);
      values.length = 0;
      this.tree.setLeaf(bucket, sha256Binary(writer.written()));
    }
    this.dirty = [];
    return this.tree.root();
  }
}

function compareNumbers(left: number, right: number): number {
  return left - right;
}

function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

function firstTwoBytes(binary: string): number {
  return (binary.charCodeAt(0) << 8) | binary.charCodeAt(1);
}

const withdrawalCollection: KeyedCollection<number, Withdrawal> = {
  name: 'pendingWithdrawals',
  bucketOf: (id) => id % keyedBucketCount,
  valueOf: (state, id) => state.pendingWithdrawals.get(id),
  compare: compareNumbers,
  encode: (writer, _id, withdrawal) => encodeWithdrawal(writer, withdrawal),
  keysOf: (state) => state.pendingWithdrawals.keys(),
  changesOf: (state) => state.changes.withdrawalIds,
};

const depositCollection: KeyedCollection<string, true> = {
  name: 'creditedDeposits',
  bucketOf: (key) => firstTwoBytes(oneShotHash('sha256', key, 'binary')),
  valueOf: (state, key) => (state.creditedDeposits.has(key) ? true : undefined),
  compare: compareText,
  encode: (writer, key) => encodeCreditedDeposit(writer, key),
  keysOf: (state) => state.creditedDeposits,
  changesOf: (state) => state.changes.deposits,
};

type CollectionKey = number | string;
/** In the commitment's order: pending withdrawals, credited deposits (then remembered-messages-commitment.ts). */
type AnyCollection = KeyedCollection<CollectionKey, unknown>;
const collectionList: readonly unknown[] = [withdrawalCollection, depositCollection];
const keyedCollections = collectionList as readonly AnyCollection[];

/**
 * An account's leaf: SHA-256(0x00 ‖ encodeAccount ‖ varint open-order count
 * ‖ encodeOrder of each open order, by ascending id).
 */
function writeAccountLeaf(writer: ByteWriter, account: Account): string {
  writer.clear();
  writer.byte(leafPrefix);
  encodeAccount(writer, account);
  writer.unsigned(account.openOrderCount);
  for (let order = account.firstOpenOrder; order !== undefined; order = order.accountNext) encodeOrder(writer, order);
  return sha256Binary(writer.written());
}

/**
 * The commitment of a state, kept up to date incrementally. build() with
 * `follow` makes the engine record what entries touch (state.changes) for
 * this commitment; update() then rehashes only that.
 */
export class StateCommitment {
  private readonly accounts = new MerkleLevels();
  private readonly keyed: KeyedPart<CollectionKey, unknown>[];
  private readonly messages: RememberedMessagesPart;
  private readonly writer = new ByteWriter();

  private constructor(private readonly following: boolean) {
    const writer = this.writer;
    writer.byte(leafPrefix);
    writer.unsigned(0);
    const emptyBucketLeaf = Buffer.from(sha256Binary(writer.written()), 'binary');
    this.keyed = keyedCollections.map((collection) => new KeyedPart(collection, emptyBucketLeaf));
    this.messages = new RememberedMessagesPart(MerkleLevels.uniform(keyedBucketCount, emptyBucketLeaf));
  }

  /**
   * A commitment over all of `state`. With `follow` (the default) it owns
   * state.changes from now on: one following commitment per state.
   */
  static build(state: ExchangeState, options: { readonly follow?: boolean } = {}): StateCommitment {
    const follow = options.follow ?? true;
    const commitment = new StateCommitment(follow);
    if (follow) {
      state.changes.clear();
      state.changes.recording = true;
      state.changes.follower = commitment;
    }
    for (const account of state.accountList) {
      commitment.accounts.setLeaf(account.ordinal, writeAccountLeaf(commitment.writer, account));
    }
    keyedCollections.forEach((collection, index) => {
      const part = commitment.keyed[index]!;
      for (const key of collection.keysOf(state)) part.note(key);
    });
    commitment.messages.noteAll(state.replayProtection);
    return commitment;
  }

  /** The commitment of `state` as it is now, after catching up with what entries touched since the last call. */
  update(state: ExchangeState): Uint8Array {
    const parts = this.updateParts(state);
    const input = Buffer.concat([commitmentPrefix, ...parts.map((part) => part.hash)]);
    return new Uint8Array(oneShotHash('sha256', input, 'buffer'));
  }

  /** The named part hashes the commitment is the hash of, in order (update() without the last step). */
  updateParts(state: ExchangeState): StateCommitmentPart[] {
    if (this.following) {
      const changes = state.changes;
      if (changes.follower !== this) throw new Error('this state commitment does not follow this state');
      for (const account of changes.accounts) {
        this.accounts.setLeaf(account.ordinal, writeAccountLeaf(this.writer, account));
      }
      keyedCollections.forEach((collection, index) => {
        const part = this.keyed[index]!;
        for (const key of collection.changesOf(state)) part.note(key);
      });
      for (const acceptedAtMs of changes.messageTimes) this.messages.note(acceptedAtMs);
      changes.clear();
    }
    return this.parts(state);
  }

  private parts(state: ExchangeState): StateCommitmentPart[] {
    const writer = this.writer;
    const parts: StateCommitmentPart[] = [];
    for (const section of [...wholeStateSections, coveragePoolsSection]) {
      writer.clear();
      writer.byte(leafPrefix);
      section.encode(writer, state);
      parts.push({ name: section.name, hash: new Uint8Array(Buffer.from(sha256Binary(writer.written()), 'binary')) });
    }
    parts.push({ name: 'accounts', hash: this.accounts.root() });
    keyedCollections.forEach((collection, index) => {
      parts.push({ name: collection.name, hash: this.keyed[index]!.root(state, writer) });
    });
    parts.push({ name: 'rememberedMessages', hash: this.messages.root(state.replayProtection, writer) });
    return parts;
  }
}

/** The bytes of an account's part (its leaf is SHA-256 of 0x00 and these). */
export function accountPartBytes(account: Account): Uint8Array {
  const writer = new ByteWriter();
  writeAccountLeaf(writer, account);
  return writer.written().slice(1);
}

/** The part hashes of `state`'s commitment, computed from scratch. */
export function stateCommitmentPartsOf(state: ExchangeState): StateCommitmentPart[] {
  return StateCommitment.build(state, { follow: false }).updateParts(state);
}

/** The commitment of `state` computed from scratch (no following): O(size of the state). */
export function stateCommitmentOf(state: ExchangeState): Uint8Array {
  return StateCommitment.build(state, { follow: false }).update(state);
}

export function stateCommitmentHex(state: ExchangeState): string {
  return Buffer.from(stateCommitmentOf(state)).toString('hex');
}
