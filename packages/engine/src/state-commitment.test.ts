/**
 * The state commitment: a naive reference written from docs/attestation.md
 * ("State commitment") against the incremental tree, after every entry of
 * seeded random histories (orders, fills, trigger orders, withdrawals,
 * deposits, replay protection remembering and forgetting), and golden values.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apply } from './apply.js';
import { ByteWriter } from './byte-codec.js';
import {
  MerkleLevels,
  StateCommitment,
  keyedBucketCount,
  stateCommitmentOf,
  stateCommitmentTag,
} from './state-commitment.js';
import {
  encodeAccount,
  encodeCreditedDeposit,
  encodeOrder,
  encodeRememberedMessage,
  encodeState,
  encodeWithdrawal,
  wholeStateSections,
  coveragePoolsSection,
} from './state-codec.js';
import { forgetExpired, remember } from './replay-protection.js';
import { createState, type ExchangeState } from './state.js';
import { demoListing, seededRandom, signedEntry, signerFromByte, type Signer } from '../test/random-log.js';

const zero = new Uint8Array(32);

function sha256(...parts: Uint8Array[]): Uint8Array {
  const digest = createHash('sha256');
  for (const part of parts) digest.update(part);
  return new Uint8Array(digest.digest());
}

function leafOf(encode: (writer: ByteWriter) => void): Uint8Array {
  const writer = new ByteWriter();
  encode(writer);
  return sha256(Uint8Array.of(0), writer.finish());
}

function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return zero;
  let level = leaves;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let index = 0; index < level.length; index += 2) {
      next.push(sha256(Uint8Array.of(1), level[index]!, level[index + 1] ?? zero));
    }
    level = next;
  }
  return level[0]!;
}

/** The root over 2^16 bucket leaves, computed sparsely: a subtree without a filled bucket is the empty subtree. */
function bucketRoot(filled: Map<number, Uint8Array>): Uint8Array {
  const empties = [leafOf((writer) => writer.unsigned(0))];
  for (let depth = 1; depth <= 16; depth += 1) {
    empties.push(sha256(Uint8Array.of(1), empties[depth - 1]!, empties[depth - 1]!));
  }
  const subtree = (depth: number, start: number, buckets: number[]): Uint8Array => {
    if (buckets.length === 0) return empties[depth]!;
    if (depth === 0) return filled.get(start)!;
    const middle = start + (1 << (depth - 1));
    const left = buckets.filter((bucket) => bucket < middle);
    const right = buckets.filter((bucket) => bucket >= middle);
    return sha256(Uint8Array.of(1), subtree(depth - 1, start, left), subtree(depth - 1, middle, right));
  };
  return subtree(16, 0, [...filled.keys()]);
}

function bucketed<Key>(
  keys: Key[],
  bucketOf: (key: Key) => number,
  order: (left: Key, right: Key) => number,
  encode: (writer: ByteWriter, key: Key) => void,
): Uint8Array {
  const buckets = new Map<number, Key[]>();
  for (const key of keys) buckets.set(bucketOf(key), [...(buckets.get(bucketOf(key)) ?? []), key]);
  const filled = new Map<number, Uint8Array>();
  for (const [bucket, members] of buckets) {
    members.sort(order);
    filled.set(
      bucket,
      leafOf((writer) => {
        writer.unsigned(members.length);
        for (const key of members) encode(writer, key);
      }),
    );
  }
  return bucketRoot(filled);
}

const byText = (left: string, right: string): number => (left < right ? -1 : left > right ? 1 : 0);

/** The commitment as docs/attestation.md defines it, recomputed from scratch with no incremental structure. */
function referenceCommitment(state: ExchangeState): Uint8Array {
  const sections = [...wholeStateSections, coveragePoolsSection].map((section) =>
    leafOf((writer) => section.encode(writer, state)),
  );
  const accounts = merkleRoot(
    state.accountList.map((account) =>
      leafOf((writer) => {
        encodeAccount(writer, account);
        const orders = [...state.orders.values()].filter((order) => order.account === account);
        orders.sort((left, right) => left.id - right.id);
        writer.unsigned(orders.length);
        for (const order of orders) encodeOrder(writer, order);
      }),
    ),
  );
  const withdrawals = bucketed(
    [...state.pendingWithdrawals.keys()],
    (id) => id % 65536,
    (left, right) => left - right,
    (writer, id) => encodeWithdrawal(writer, state.pendingWithdrawals.get(id)!),
  );
  const deposits = bucketed(
    [...state.creditedDeposits],
    (key) => {
      const digest = sha256(Buffer.from(key, 'utf8'));
      return digest[0]! * 256 + digest[1]!;
    },
    byText,
    encodeCreditedDeposit,
  );
  // Bucket floor(acceptance time / 1000) mod 65536; within one, acceptance order (the state encoding's order).
  const replay = state.replayProtection;
  const messages = bucketed(
    Array.from({ length: replay.size }, (_, position) => ({
      digest: replay.digestAt(position),
      acceptedAtMs: replay.acceptedAtMsAt(position),
      position,
    })),
    (message) => Math.floor(message.acceptedAtMs / 1000) % 65536,
    (left, right) => left.position - right.position,
    (writer, message) => encodeRememberedMessage(writer, message.digest, message.acceptedAtMs),
  );
  const tag = Buffer.from(`${stateCommitmentTag}\0`, 'latin1');
  return sha256(tag, ...sections, accounts, withdrawals, deposits, messages);
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/**
 * A seeded history touching every part: orders that fill, trigger orders and
 * attached pairs, withdrawals, deposits, long pauses.
 */
function* randomHistory(seed: number, count: number): Generator<{ state: ExchangeState; accepted: boolean }> {
  const next = seededRandom(seed);
  const operator = signerFromByte(200);
  const traders: Signer[] = Array.from({ length: 5 }, (_, index) => signerFromByte(index + 1));
  const genesis = { exchangeName: 'commitment', operatorKeys: [operator.accountId], feeAccount: operator.accountId };
  const state = createState(genesis);
  let time = 1_800_000_000_000;
  for (const [instruction, params] of demoListing) apply(state, signedEntry(operator, instruction, params, time++));
  let deposits = 0;
  for (let step = 0; step < count; step += 1) {
    // Mostly milliseconds apart, now and then a pause long enough for replay protection to forget.
    time += next() % 20 === 0 ? 30_000 + (next() % 100_000) : next() % 3;
    const trader = traders[next() % traders.length]!;
    const [signer, instruction, params] = randomInstruction(next, trader, operator, traders, state, () => deposits++);
    const outcome = apply(state, signedEntry(signer, instruction, params, time));
    yield { state, accepted: outcome.accepted };
  }
}

type Step = [Signer, string, Record<string, string>];

function randomInstruction(
  next: () => number,
  trader: Signer,
  operator: Signer,
  traders: Signer[],
  state: ExchangeState,
  depositNumber: () => number,
): Step {
  const roll = next() % 100;
  const price = String(95 + (next() % 11));
  const side = next() % 2 === 0 ? 'Bid' : 'Ask';
  const base = { symbol: 'SOL_USDC', side, timeInForce: 'GTC', selfTradePrevention: 'RejectTaker' };
  if (roll < 12) {
    const account = next() % 4 === 0 ? signerFromByte(50 + (next() % 30)) : traders[next() % traders.length]!;
    return [
      operator,
      'depositCredit',
      {
        account: account.accountId,
        symbol: next() % 2 === 0 ? 'SOL' : 'USDC',
        quantity: '500',
        blockchain: 'Solana',
        chainTransactionId: `tx-${depositNumber()}`,
      },
    ];
  }
  if (roll < 50) {
    return [trader, 'orderExecute', { ...base, orderType: 'Limit', price, quantity: String(1 + (next() % 5)) }];
  }
  if (roll < 58) {
    const triggerPrice = String(95 + (next() % 11));
    return [trader, 'orderExecute', { ...base, orderType: 'Limit', price, triggerPrice, triggerQuantity: '1' }];
  }
  if (roll < 64) {
    return [
      trader,
      'orderExecute',
      {
        ...base,
        side: 'Bid',
        orderType: 'Limit',
        price: '100',
        quantity: '1',
        takeProfitTriggerPrice: '104',
        stopLossTriggerPrice: '96',
      },
    ];
  }
  if (roll < 72) return [trader, 'orderExecute', { symbol: 'SOL_USDC', side, orderType: 'Market', quantity: '1' }];
  if (roll < 84) {
    return [trader, 'orderCancel', { symbol: 'SOL_USDC', orderId: String(1 + (next() % state.nextOrderId)) }];
  }
  if (roll < 88) return [trader, 'orderCancelAll', { symbol: 'SOL_USDC' }];
  if (roll < 94) {
    const quantity = String(1 + (next() % 50));
    return [trader, 'withdraw', { symbol: 'USDC', quantity, address: `addr-${next() % 9}`, blockchain: 'Solana' }];
  }
  const pending = [...state.pendingWithdrawals.keys()];
  const withdrawalId = String(pending.length === 0 ? 1 : pending[next() % pending.length]!);
  return next() % 2 === 0
    ? [operator, 'withdrawalComplete', { withdrawalId, chainTransactionId: `out-${withdrawalId}` }]
    : [operator, 'withdrawalFail', { withdrawalId, reason: 'refused' }];
}

describe('state commitment', () => {
  it('MerkleLevels matches a plain Merkle root as leaves are set and appended', () => {
    const tree = new MerkleLevels();
    const leaves: Uint8Array[] = [];
    const next = seededRandom(5);
    expect(hex(tree.root())).toBe(hex(zero));
    for (let step = 0; step < 300; step += 1) {
      const index = leaves.length === 0 || next() % 3 === 0 ? leaves.length : next() % leaves.length;
      const leaf = sha256(Uint8Array.of(step & 0xff, step >> 8));
      leaves[index] = leaf;
      tree.setLeaf(index, Buffer.from(leaf).toString('binary'));
      if (next() % 4 === 0 || step === 299) expect(hex(tree.root())).toBe(hex(merkleRoot(leaves)));
    }
  });

  it('follows every entry of random histories exactly as the reference recomputes it', { timeout: 120_000 }, () => {
    let checked = 0;
    for (const seed of [1, 2, 3]) {
      let commitment: StateCommitment | undefined;
      let previousEncoding = '';
      let previousCommitment = '';
      let step = 0;
      for (const { state } of randomHistory(seed, 300)) {
        step += 1;
        // Follow from the start for one seed, from part-way through for the others (a node after recovery).
        if (commitment === undefined && step >= (seed === 1 ? 1 : 100)) commitment = StateCommitment.build(state);
        if (commitment === undefined) continue;
        const incremental = hex(commitment.update(state));
        expect(incremental, `seed ${seed}, step ${step}`).toBe(hex(referenceCommitment(state)));
        const encoding = hex(createHash('sha256').update(encodeState(state)).digest());
        // Any change to the state encoding changes the commitment: nothing encoded is left out.
        if (encoding !== previousEncoding) {
          expect(incremental, `seed ${seed}, step ${step}`).not.toBe(previousCommitment);
        }
        previousEncoding = encoding;
        previousCommitment = incremental;
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(600);
  });

  it('covers trigger orders, pending withdrawals and forgotten messages in those histories', () => {
    let sawTrigger = false;
    let sawWithdrawal = false;
    let sawForgetting = false;
    let largest = 0;
    for (const { state } of randomHistory(2, 500)) {
      sawTrigger ||= state.pendingTriggerCount > 0;
      sawWithdrawal ||= state.pendingWithdrawals.size > 0;
      const remembered = state.replayProtection.size;
      sawForgetting ||= remembered < largest;
      largest = Math.max(largest, remembered);
    }
    expect([sawTrigger, sawWithdrawal, sawForgetting]).toEqual([true, true, true]);
  });

  it('buckets remembered messages by acceptance second, partial seconds forgotten included', () => {
    const key = signerFromByte(9).accountId;
    const state = createState({ exchangeName: 'x', operatorKeys: [key], feeAccount: key });
    const commitment = StateCommitment.build(state);
    const next = seededRandom(11);
    let time = 1_800_000_000_500;
    for (let step = 0; step < 1500; step += 1) {
      // Mostly a few hundred milliseconds apart, so seconds fill and are forgotten part by part; now and then a pause.
      time += next() % 400 === 0 ? 100_000 + (next() % 40_000) : next() % 400;
      const digest = sha256(Uint8Array.of(step & 0xff, step >> 8)).reduce(
        (text, byte) => text + String.fromCharCode(byte),
        '',
      );
      forgetExpired(state.replayProtection, time, state.changes);
      remember(state.replayProtection, digest, time, state.changes);
      if (next() % 7 === 0 || step === 1499) {
        expect(hex(commitment.update(state)), `step ${step}`).toBe(hex(referenceCommitment(state)));
      }
    }
    expect(state.replayProtection.size).toBeGreaterThan(200);
  });

  it('stays exact when remembered messages span more seconds than there are buckets', () => {
    const key = signerFromByte(9).accountId;
    const state = createState({ exchangeName: 'x', operatorKeys: [key], feeAccount: key });
    const commitment = StateCommitment.build(state);
    // Not reachable through apply (which forgets after 120 s); remember() alone lets the memory span 65,536 s.
    const times = [5_000, 5_400, 65_536_000 + 5_100, 65_536_000 + 7_000, 2 * 65_536_000 + 5_999];
    times.forEach((time, index) => {
      remember(state.replayProtection, String.fromCharCode(index).repeat(32), time, state.changes);
      expect(hex(commitment.update(state)), `message ${index}`).toBe(hex(referenceCommitment(state)));
    });
    expect(hex(stateCommitmentOf(state))).toBe(hex(referenceCommitment(state)));
  });

  it('encodes acceptance times in a second that straddles a multiple of 2^28 ms, past 2^32', () => {
    const key = signerFromByte(9).accountId;
    const state = createState({ exchangeName: 'x', operatorKeys: [key], feeAccount: key });
    const commitment = StateCommitment.build(state);
    // 20 × 2^28 = 5,368,709,120 lies inside the second from 5,368,709,000.
    [5_368_708_999, 5_368_709_050, 5_368_709_119, 5_368_709_120, 5_368_709_999].forEach((time, index) => {
      remember(state.replayProtection, String.fromCharCode(index).repeat(32), time, state.changes);
      expect(hex(commitment.update(state)), `message ${index}`).toBe(hex(referenceCommitment(state)));
    });
  });

  it('refuses to update a state that another commitment follows', () => {
    const key = signerFromByte(9).accountId;
    const state = createState({ exchangeName: 'x', operatorKeys: [key], feeAccount: key });
    const first = StateCommitment.build(state);
    StateCommitment.build(state);
    expect(() => first.update(state)).toThrow(/does not follow/);
  });

  it('keeps its golden values', () => {
    // The constants of docs/attestation.md ("State commitment"): the empty bucket leaf and the empty keyed root.
    const emptyBucket = leafOf((writer) => writer.unsigned(0));
    expect(hex(emptyBucket)).toBe('96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7');
    expect(hex(bucketRoot(new Map()))).toBe('69574d912ab8e4cba4f3332e7ae04257e23f6a67bcaf0166a24f9cf49e1e8bf4');
    expect(keyedBucketCount).toBe(65536);
    // A genesis state, and the state after a fixed random history (seed 7, 300 entries).
    const operator = signerFromByte(200).accountId;
    const genesis = createState({ exchangeName: 'golden', operatorKeys: [operator], feeAccount: operator });
    expect(hex(stateCommitmentOf(genesis))).toBe('2908e654275daf1fbc1643515163d128ea1f6779f51deeb01756f3cc53c5c3fc');
    let last: ExchangeState | undefined;
    for (const { state } of randomHistory(7, 300)) last = state;
    expect(hex(stateCommitmentOf(last!))).toBe('e32747dcee631b4e8f914316ac92ce7d18a102eca76843c1448c8705b7afbc30');
    expect(hex(referenceCommitment(last!))).toBe(hex(stateCommitmentOf(last!)));
  });
});
