/**
 * apply() end to end, with real Ed25519 signatures over real signing strings.
 * Every rejection is checked to leave the state byte-identical (encodeState),
 * and every acceptance to change it.
 */
import * as ed25519 from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { accountIdOf } from './account-id.js';
import { apply, type ApplyOutcome, type LogEntry, type SignedTransaction } from './apply.js';
import { checkInvariants } from './invariants.js';
import { maximumWindowMs } from './limits.js';
import { messageDigest, replayMemoryMs } from './replay-protection.js';
import { resultCodes, type ResultCode } from './result-codes.js';
import { publicKeyFromSeed, signMessage, verifySignature } from './signature.js';
import { encodeSigningStringBytes } from './signing-string.js';
import { encodeState, stateHash } from './state-codec.js';
import { createState, type ExchangeState } from './state.js';
import { balancesOf, openOrdersOf } from './views.js';
import { solUsdcListingParams } from '../test/support-listings.js';

const utf8 = new TextEncoder();

interface GroupSpec {
  readonly instruction: string;
  readonly params?: Readonly<Record<string, string>>;
}

interface SignOptions {
  readonly windowMs?: number;
  readonly percentEncode?: boolean;
}

class Signer {
  readonly publicKey: Uint8Array;
  readonly id: string;
  constructor(readonly seed: Uint8Array) {
    this.publicKey = publicKeyFromSeed(seed);
    this.id = accountIdOf(this.publicKey);
  }

  /** Signs exactly these bytes. */
  signBytes(message: Uint8Array): SignedTransaction {
    return { message, publicKey: this.publicKey, signature: signMessage(this.seed, message) };
  }

  /** Signs the canonical signing string of the groups. */
  sign(groups: readonly GroupSpec[], timestampMs: number, options: SignOptions = {}): SignedTransaction {
    const message = encodeSigningStringBytes(
      groups.map((group) => ({ instruction: group.instruction, params: Object.entries(group.params ?? {}) })),
      timestampMs,
      options.windowMs ?? 5_000,
      { percentEncode: options.percentEncode === true },
    );
    return this.signBytes(message);
  }

  entry(
    instruction: string,
    params: Record<string, string>,
    logTimeMs: number,
    options: SignOptions & { timestampMs?: number } = {},
  ): LogEntry {
    return { logTimeMs, transaction: this.sign([{ instruction, params }], options.timestampMs ?? logTimeMs, options) };
  }
}

/** A second valid signature over the same message: Ed25519 with a chosen nonce instead of the deterministic one. */
function signWithNonce(seed: Uint8Array, message: Uint8Array, nonce: bigint): Uint8Array {
  const order = ed25519.Point.CURVE().n;
  const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
  const r = nonce % order;
  const rBytes = ed25519.Point.BASE.multiply(r).toBytes();
  const digest = sha512(Uint8Array.from([...rBytes, ...pointBytes, ...message]));
  const k = BigInt(`0x${Buffer.from(digest).reverse().toString('hex')}`) % order;
  const s = (r + k * scalar) % order;
  const sBytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
  return Uint8Array.from([...rBytes, ...sBytes]);
}

const operator = new Signer(new Uint8Array(32).fill(0x01));
/** The test key of shared/ccxt-requests.jsonl: seed = 32 bytes of 0x07. */
const trader = new Signer(new Uint8Array(32).fill(0x07));
const otherTrader = new Signer(new Uint8Array(32).fill(0x09));
const feeAccount = new Signer(new Uint8Array(32).fill(0x0f));

const genesisTime = 1_800_000_000_000;

/** Every rejection code seen by expectRejected in this file. */
const observedCodes = new Set<ResultCode>();

/** The codes the engine itself produces; the rest of the catalogue belongs to the HTTP API. */
const engineCodes: readonly ResultCode[] = [
  'INVALID_SIGNATURE',
  'INVALID_CLIENT_REQUEST',
  'INVALID_TIMESTAMP',
  'INVALID_WINDOW',
  'DUPLICATE_REQUEST',
  'UNAUTHORIZED',
  'INVALID_INSTRUCTION',
  'INVALID_MARKET',
  'INVALID_ASSET',
  'INVALID_ORDER',
  'INVALID_QUANTITY',
  'INVALID_PRICE',
  'INSUFFICIENT_FUNDS',
  'RESOURCE_NOT_FOUND',
  'DUPLICATE_DEPOSIT',
  'ALREADY_EXISTS',
  'INVALID_LOG_TIME',
];

function encoded(state: ExchangeState): Buffer {
  return Buffer.from(encodeState(state));
}

function expectAccepted(state: ExchangeState, entry: LogEntry): Extract<ApplyOutcome, { accepted: true }> {
  const before = encoded(state);
  const hashBefore = Buffer.from(stateHash(state));
  const outcome = apply(state, entry);
  if (!outcome.accepted)
    throw new Error(`expected acceptance, got ${outcome.rejection.code}: ${outcome.rejection.message}`);
  expect(Buffer.compare(before, encoded(state))).not.toBe(0);
  expect(Buffer.compare(hashBefore, Buffer.from(stateHash(state)))).not.toBe(0);
  checkInvariants(state);
  return outcome;
}

function expectRejected(
  state: ExchangeState,
  entry: LogEntry,
  code: ResultCode,
): Extract<ApplyOutcome, { accepted: false }> {
  const before = encoded(state);
  const outcome = apply(state, entry);
  if (outcome.accepted) throw new Error(`expected ${code}, but the entry was accepted`);
  expect(outcome.rejection.code, outcome.rejection.message).toBe(code);
  expect(Buffer.compare(before, encoded(state))).toBe(0);
  observedCodes.add(outcome.rejection.code);
  return outcome;
}

const solUsdc = solUsdcListingParams;

/** Genesis, SOL (9 decimals), USDC (6), SOL_USDC, and deposits of 10 SOL and 10000 USDC to both traders. */
function preparedState(): ExchangeState {
  const state = createState({ exchangeName: 'apply-test', operatorKeys: [operator.id], feeAccount: feeAccount.id });
  const time = genesisTime;
  expectAccepted(state, operator.entry('assetList', { symbol: 'SOL', decimals: '9' }, time));
  expectAccepted(state, operator.entry('assetList', { symbol: 'USDC', decimals: '6' }, time));
  expectAccepted(state, operator.entry('marketList', solUsdc, time));
  let transaction = 0;
  for (const account of [trader, otherTrader]) {
    for (const [symbol, quantity] of [
      ['SOL', '10'],
      ['USDC', '10000'],
    ] as const) {
      transaction += 1;
      expectAccepted(
        state,
        operator.entry(
          'depositCredit',
          { account: account.id, blockchain: 'Solana', chainTransactionId: `deposit-${transaction}`, quantity, symbol },
          time,
        ),
      );
    }
  }
  return state;
}

const limitBid = { symbol: 'SOL_USDC', side: 'Bid', orderType: 'Limit', price: '100', quantity: '1' };
const t = genesisTime + 1_000;

describe('apply() with real signatures', () => {
  let state: ExchangeState;
  beforeEach(() => {
    state = preparedState();
  });

  it('sets up the market and the deposits', () => {
    expect(state.logTimeMs).toBe(genesisTime);
    expect(state.markets[0]?.quoteUnitsPerStepTick).toBe(100n);
    expect(balancesOf(state, trader.id)).toEqual([
      expect.objectContaining({ asset: 'SOL', available: 10_000_000_000n, locked: 0n }),
      expect.objectContaining({ asset: 'USDC', available: 10_000_000_000n, locked: 0n }),
    ]);
  });

  it('accepts a signed order, changes the state hash, and moves the log time', () => {
    const outcome = expectAccepted(state, trader.entry('orderExecute', limitBid, t));
    expect(outcome.results).toEqual([
      {
        ok: true,
        value: {
          kind: 'order',
          order: expect.objectContaining({ status: 'New', priceTicks: 10_000n, quantitySteps: 100n }),
        },
      },
    ]);
    expect(state.logTimeMs).toBe(t);
    expect(openOrdersOf(state, trader.id)).toHaveLength(1);
  });

  describe('INVALID_SIGNATURE', () => {
    it('rejects a signature with one bit flipped', () => {
      const entry = trader.entry('orderExecute', limitBid, t);
      for (const bit of [0, 7, 255, 256, 511]) {
        const signature = Uint8Array.from(entry.transaction.signature);
        signature[bit >> 3]! ^= 1 << (bit & 7);
        expectRejected(state, { ...entry, transaction: { ...entry.transaction, signature } }, 'INVALID_SIGNATURE');
      }
    });

    it('rejects a message changed after signing, and a signature under another key', () => {
      const entry = trader.entry('orderExecute', limitBid, t);
      const message = utf8.encode(
        Buffer.from(entry.transaction.message).toString('utf8').replace('price=100', 'price=101'),
      );
      expectRejected(state, { ...entry, transaction: { ...entry.transaction, message } }, 'INVALID_SIGNATURE');
      expectRejected(
        state,
        { ...entry, transaction: { ...entry.transaction, publicKey: otherTrader.publicKey } },
        'INVALID_SIGNATURE',
      );
      expectRejected(
        state,
        { ...entry, transaction: { ...entry.transaction, signature: entry.transaction.signature.subarray(0, 63) } },
        'INVALID_SIGNATURE',
      );
    });
  });

  describe('INVALID_CLIENT_REQUEST', () => {
    it('rejects a correctly signed message whose keys are not sorted', () => {
      const message = utf8.encode(
        `instruction=orderExecute&symbol=SOL_USDC&side=Bid&orderType=Limit&price=100&quantity=1&timestamp=${t}&window=5000`,
      );
      const outcome = expectRejected(
        state,
        { logTimeMs: t, transaction: trader.signBytes(message) },
        'INVALID_CLIENT_REQUEST',
      );
      expect(outcome.rejection.message).toContain('sorted and unique');
    });

    it('rejects instruction-level syntax errors with the same code', () => {
      expectRejected(state, trader.entry('orderExecute', { ...limitBid, side: 'Buy' }, t), 'INVALID_CLIENT_REQUEST');
      const reduceOnly = expectRejected(
        state,
        trader.entry('orderExecute', { ...limitBid, reduceOnly: 'true' }, t),
        'INVALID_CLIENT_REQUEST',
      );
      expect(reduceOnly.rejection.message).toBe('reduceOnly is not supported on spot markets.');
      expectRejected(
        state,
        trader.entry('withdraw', { address: 'a&b', blockchain: 'Solana', quantity: '1', symbol: 'USDC' }, t, {
          percentEncode: true,
        }),
        'INVALID_CLIENT_REQUEST',
      );
    });

    it(`rejects an out-of-range window (0 or ${maximumWindowMs + 1}) with INVALID_WINDOW`, () => {
      for (const windowMs of [0, maximumWindowMs + 1]) {
        const outcome = expectRejected(
          state,
          trader.entry('orderExecute', limitBid, t, { windowMs }),
          'INVALID_WINDOW',
        );
        expect(outcome.rejection.message).toContain('window');
      }
      expectAccepted(state, trader.entry('orderExecute', limitBid, t, { windowMs: maximumWindowMs }));
    });
  });

  describe('INVALID_TIMESTAMP', () => {
    it('rejects a timestamp one millisecond outside the window on either side', () => {
      for (const windowMs of [1, 5_000, maximumWindowMs]) {
        expectRejected(
          state,
          trader.entry('orderExecute', limitBid, t, { windowMs, timestampMs: t - windowMs - 1 }),
          'INVALID_TIMESTAMP',
        );
        expectRejected(
          state,
          trader.entry('orderExecute', limitBid, t, { windowMs, timestampMs: t + windowMs + 1 }),
          'INVALID_TIMESTAMP',
        );
      }
    });

    it('accepts a timestamp exactly at either boundary of the window', () => {
      expectAccepted(state, trader.entry('orderExecute', limitBid, t, { windowMs: 5_000, timestampMs: t - 5_000 }));
      expectAccepted(state, trader.entry('orderExecute', limitBid, t, { windowMs: 5_000, timestampMs: t + 5_000 }));
      expectAccepted(state, trader.entry('orderExecute', limitBid, t, { windowMs: 1, timestampMs: t + 1 }));
    });

    it('measures against the log time, not the signer clock', () => {
      // The same signed message is too early at one log time and fine at a later one.
      const transaction = trader.sign([{ instruction: 'orderExecute', params: limitBid }], t + 10_000);
      expectRejected(state, { logTimeMs: t, transaction }, 'INVALID_TIMESTAMP');
      expectAccepted(state, { logTimeMs: t + 5_000, transaction });
    });
  });

  describe('DUPLICATE_REQUEST', () => {
    it('refuses the same signed message the second time', () => {
      const entry = trader.entry('orderExecute', limitBid, t);
      expectAccepted(state, entry);
      expectRejected(state, entry, 'DUPLICATE_REQUEST');
      expectRejected(state, { ...entry, logTimeMs: t + 4_000 }, 'DUPLICATE_REQUEST');
    });

    it('refuses a different valid signature over the same message', () => {
      const entry = trader.entry('orderExecute', limitBid, t);
      const signature = signWithNonce(
        trader.seed,
        entry.transaction.message,
        0x1234_5678_9abc_def0_1234_5678_9abc_def0n,
      );
      expect(Buffer.compare(Buffer.from(signature), Buffer.from(entry.transaction.signature))).not.toBe(0);
      expect(verifySignature(trader.publicKey, entry.transaction.message, signature)).toBe('valid');
      expectAccepted(state, entry);
      expectRejected(state, { ...entry, transaction: { ...entry.transaction, signature } }, 'DUPLICATE_REQUEST');
    });

    it('accepts the same order again under a new timestamp (a new message)', () => {
      expectAccepted(state, trader.entry('orderExecute', limitBid, t));
      expectAccepted(state, trader.entry('orderExecute', limitBid, t, { timestampMs: t + 1 }));
      expect(openOrdersOf(state, trader.id)).toHaveLength(2);
    });

    it('accepts the same parameters from another key (the digest covers the public key)', () => {
      expectAccepted(state, trader.entry('orderExecute', limitBid, t));
      expectAccepted(state, otherTrader.entry('orderExecute', limitBid, t));
    });

    it('does not remember rejected messages', () => {
      const big = { ...limitBid, quantity: '200' };
      const entry = trader.entry('orderExecute', big, t);
      expectRejected(state, entry, 'INSUFFICIENT_FUNDS');
      expectAccepted(
        state,
        operator.entry(
          'depositCredit',
          { account: trader.id, blockchain: 'Solana', chainTransactionId: 'top-up', quantity: '20000', symbol: 'USDC' },
          t,
        ),
      );
      expectAccepted(state, entry);
    });

    it('forgets a message once no window can admit it, by which time it is out of its window', () => {
      const entry = trader.entry('orderExecute', limitBid, t, { windowMs: maximumWindowMs });
      expectAccepted(state, entry);
      expect(state.replayProtection.has(messageDigest(trader.publicKey, entry.transaction.message))).toBe(true);
      expectRejected(state, { ...entry, logTimeMs: t + maximumWindowMs }, 'DUPLICATE_REQUEST');
      expectRejected(state, { ...entry, logTimeMs: t + maximumWindowMs + 1 }, 'INVALID_TIMESTAMP');
      expectAccepted(state, trader.entry('orderCancelAll', { symbol: 'SOL_USDC' }, t + replayMemoryMs + 1));
      expect(state.replayProtection.has(messageDigest(trader.publicKey, entry.transaction.message))).toBe(false);
      expectRejected(state, { ...entry, logTimeMs: t + replayMemoryMs + 1 }, 'INVALID_TIMESTAMP');
    });
  });

  describe('UNAUTHORIZED', () => {
    it('refuses operator instructions signed by a trader', () => {
      const deposit = {
        account: trader.id,
        blockchain: 'Solana',
        chainTransactionId: 'self-credit',
        quantity: '1000000',
        symbol: 'USDC',
      };
      expectRejected(state, trader.entry('depositCredit', deposit, t), 'UNAUTHORIZED');
      expectRejected(state, trader.entry('assetList', { symbol: 'BTC', decimals: '8' }, t), 'UNAUTHORIZED');
      expectRejected(state, trader.entry('marketList', { ...solUsdc }, t), 'UNAUTHORIZED');
      expectRejected(
        state,
        trader.entry('withdrawalComplete', { withdrawalId: '1', chainTransactionId: 'x' }, t),
        'UNAUTHORIZED',
      );
      expectRejected(state, trader.entry('withdrawalFail', { withdrawalId: '1', reason: 'x' }, t), 'UNAUTHORIZED');
      expectAccepted(state, operator.entry('depositCredit', deposit, t));
    });
  });

  describe('engine rejections', () => {
    it('INVALID_MARKET: an order or cancel on a market that does not exist', () => {
      expectRejected(state, trader.entry('orderExecute', { ...limitBid, symbol: 'BTC_USDC' }, t), 'INVALID_MARKET');
      expectRejected(state, trader.entry('orderCancel', { symbol: 'BTC_USDC', orderId: '1' }, t), 'INVALID_MARKET');
      expectRejected(state, trader.entry('orderCancelAll', { symbol: 'SOL' }, t), 'INVALID_MARKET');
    });

    it('INVALID_PRICE: over-precise, malformed, or outside the price range', () => {
      for (const price of ['101.255', '101.001', '1e2', '-1', '0', '1000000.01', '01']) {
        expectRejected(state, trader.entry('orderExecute', { ...limitBid, price }, t), 'INVALID_PRICE');
      }
    });

    it('INVALID_QUANTITY: finer than the step, outside the quantity range, or malformed', () => {
      for (const quantity of ['0.001', '0.015', '0', '100000.01', '1.', 'NaN']) {
        expectRejected(state, trader.entry('orderExecute', { ...limitBid, quantity }, t), 'INVALID_QUANTITY');
      }
      expectRejected(
        state,
        trader.entry('withdraw', { address: 'x', blockchain: 'Solana', quantity: '0.0000001', symbol: 'USDC' }, t),
        'INVALID_QUANTITY',
      );
      expectRejected(
        state,
        trader.entry('withdraw', { address: 'x', blockchain: 'Solana', quantity: '0', symbol: 'USDC' }, t),
        'INVALID_QUANTITY',
      );
    });

    it('INSUFFICIENT_FUNDS: an order or withdrawal beyond the available balance', () => {
      expectRejected(
        state,
        trader.entry('orderExecute', { ...limitBid, price: '1000', quantity: '100' }, t),
        'INSUFFICIENT_FUNDS',
      );
      expectRejected(
        state,
        trader.entry('orderExecute', { ...limitBid, side: 'Ask', quantity: '10.01' }, t),
        'INSUFFICIENT_FUNDS',
      );
      expectRejected(
        state,
        trader.entry('withdraw', { address: 'x', blockchain: 'Solana', quantity: '10000.000001', symbol: 'USDC' }, t),
        'INSUFFICIENT_FUNDS',
      );
      const stranger = new Signer(new Uint8Array(32).fill(0x33));
      expectRejected(state, stranger.entry('orderExecute', limitBid, t), 'INSUFFICIENT_FUNDS');
    });

    it("RESOURCE_NOT_FOUND: cancelling an unknown order, or another account's order", () => {
      expectRejected(
        state,
        trader.entry('orderCancel', { symbol: 'SOL_USDC', orderId: '111' }, t),
        'RESOURCE_NOT_FOUND',
      );
      expectRejected(
        state,
        trader.entry('orderCancel', { symbol: 'SOL_USDC', clientId: '7' }, t),
        'RESOURCE_NOT_FOUND',
      );
      const placed = expectAccepted(state, trader.entry('orderExecute', { ...limitBid, clientId: '7' }, t));
      const orderId =
        placed.results[0]?.ok === true && placed.results[0].value.kind === 'order'
          ? placed.results[0].value.order.orderId
          : -1;
      expectRejected(
        state,
        otherTrader.entry('orderCancel', { symbol: 'SOL_USDC', orderId: String(orderId) }, t),
        'RESOURCE_NOT_FOUND',
      );
      expectRejected(
        state,
        operator.entry('withdrawalComplete', { withdrawalId: '99', chainTransactionId: 'x' }, t),
        'RESOURCE_NOT_FOUND',
      );
      expectAccepted(state, trader.entry('orderCancel', { symbol: 'SOL_USDC', clientId: '7' }, t));
    });

    it('DUPLICATE_DEPOSIT: the same chain transaction credited twice', () => {
      const deposit = {
        account: trader.id,
        blockchain: 'Solana',
        chainTransactionId: 'deposit-1',
        quantity: '5',
        symbol: 'SOL',
      };
      expectRejected(state, operator.entry('depositCredit', deposit, t), 'DUPLICATE_DEPOSIT');
      // The same transaction id on another chain is another deposit.
      expectAccepted(state, operator.entry('depositCredit', { ...deposit, blockchain: 'Eclipse' }, t));
    });

    it('INVALID_ASSET, ALREADY_EXISTS, INVALID_ORDER', () => {
      expectRejected(
        state,
        trader.entry('withdraw', { address: 'x', blockchain: 'Solana', quantity: '1', symbol: 'BTC' }, t),
        'INVALID_ASSET',
      );
      expectRejected(
        state,
        operator.entry(
          'depositCredit',
          { account: trader.id, blockchain: 'Bitcoin', chainTransactionId: 'b1', quantity: '1', symbol: 'BTC' },
          t,
        ),
        'INVALID_ASSET',
      );
      expectRejected(state, operator.entry('assetList', { symbol: 'SOL', decimals: '9' }, t), 'ALREADY_EXISTS');
      expectRejected(state, operator.entry('marketList', solUsdc, t), 'ALREADY_EXISTS');
      expectAccepted(state, otherTrader.entry('orderExecute', { ...limitBid, side: 'Ask', price: '101' }, t));
      expectRejected(
        state,
        trader.entry('orderExecute', { ...limitBid, price: '101', postOnly: 'true' }, t),
        'INVALID_ORDER',
      );
      expectAccepted(state, trader.entry('orderExecute', { ...limitBid, clientId: '5' }, t));
      expectRejected(
        state,
        trader.entry('orderExecute', { ...limitBid, clientId: '5', price: '99' }, t),
        'INVALID_ORDER',
      );
    });

    it('INVALID_INSTRUCTION: a query applied as a transaction, or a listing that breaks the listing rules', () => {
      expectRejected(state, trader.entry('balanceQuery', {}, t), 'INVALID_INSTRUCTION');
      expectRejected(state, trader.entry('orderQueryAll', { symbol: 'SOL_USDC' }, t), 'INVALID_INSTRUCTION');
      // stepSize × tickSize × 10^quoteDecimals = 0.01 × 10^-10 × 10^9 is not a whole number of quote units.
      const inverted = {
        ...solUsdc,
        symbol: 'USDC_SOL',
        baseSymbol: 'USDC',
        quoteSymbol: 'SOL',
        tickSize: '0.0000000001',
        minPrice: '0.0000000001',
      };
      expectRejected(state, operator.entry('marketList', inverted, t), 'INVALID_INSTRUCTION');
      expectRejected(
        state,
        operator.entry('assetList', { symbol: 'BTC', decimals: '19' }, t),
        'INVALID_CLIENT_REQUEST',
      );
    });

    it('attestationRecord: accepted only for the entry just before it, never for a record, only from an operator', () => {
      const digest = 'cd'.repeat(32);
      const head = state.headSequence;
      expect(head).toBeGreaterThan(0);
      // Not the entry before it: an earlier one, a later one (not yet applied), the record's own sequence.
      for (const sequence of [head - 1, head + 1, head + 2]) {
        expectRejected(
          state,
          operator.entry('attestationRecord', { digest, sequence: String(sequence) }, t),
          'INVALID_INSTRUCTION',
        );
      }
      expectRejected(state, trader.entry('attestationRecord', { digest, sequence: String(head) }, t), 'UNAUTHORIZED');
      expectRejected(
        state,
        operator.entry('attestationRecord', { digest: digest.toUpperCase(), sequence: String(head) }, t),
        'INVALID_CLIENT_REQUEST',
      );
      const recorded = expectAccepted(
        state,
        operator.entry('attestationRecord', { digest, sequence: String(head) }, t),
      );
      expect(recorded.results).toEqual([{ ok: true, value: { kind: 'attestationRecorded', sequence: head, digest } }]);
      expect(recorded.events).toEqual([]);
      expect(state.headSequence).toBe(head + 1);
      expect(state.attestedSequence).toBe(head);
      expect(Buffer.from(state.attestationDigest).toString('hex')).toBe(digest);
      // The record is the head now: a record of a record is refused, as is recording the same entry again.
      expectRejected(
        state,
        operator.entry('attestationRecord', { digest, sequence: String(head + 1) }, t),
        'INVALID_INSTRUCTION',
      );
      // After another entry, that entry can be recorded; an earlier one no longer.
      expectAccepted(state, trader.entry('orderExecute', limitBid, t));
      expectRejected(
        state,
        operator.entry('attestationRecord', { digest: 'ef'.repeat(32), sequence: String(head) }, t + 1),
        'INVALID_INSTRUCTION',
      );
      expectAccepted(
        state,
        operator.entry('attestationRecord', { digest: 'ef'.repeat(32), sequence: String(head + 2) }, t),
      );
      expect(state.attestedSequence).toBe(head + 2);
    });

    it('INVALID_LOG_TIME: a log time before the last accepted entry, or not a safe integer', () => {
      for (const logTimeMs of [genesisTime - 1, 0, -1, Number.NaN, genesisTime + 0.5, 2 ** 53]) {
        expectRejected(
          state,
          { logTimeMs, transaction: trader.sign([{ instruction: 'orderExecute', params: limitBid }], genesisTime) },
          'INVALID_LOG_TIME',
        );
      }
      // Equal log times are fine: the log time never decreases.
      expectAccepted(state, trader.entry('orderExecute', limitBid, genesisTime));
    });
  });

  describe('order of checks', () => {
    it('log time, then signature, then syntax, then window, then duplicate, then instruction, then authorization, then execution', () => {
      const valid = trader.entry('orderExecute', limitBid, t);
      const badSignature = {
        ...valid.transaction,
        signature: Uint8Array.from(valid.transaction.signature).fill(0, 0, 1),
      };
      // log time before signature
      expectRejected(state, { logTimeMs: genesisTime - 1, transaction: badSignature }, 'INVALID_LOG_TIME');
      // signature before syntax
      const unsorted = utf8.encode(`instruction=orderExecute&symbol=SOL_USDC&side=Bid&timestamp=${t}&window=5000`);
      expectRejected(
        state,
        { logTimeMs: t, transaction: { ...trader.signBytes(unsorted), signature: badSignature.signature } },
        'INVALID_SIGNATURE',
      );
      // syntax before window
      const unsortedLate = utf8.encode(
        `instruction=orderExecute&symbol=SOL_USDC&side=Bid&timestamp=${t + 999_999}&window=5000`,
      );
      expectRejected(state, { logTimeMs: t, transaction: trader.signBytes(unsortedLate) }, 'INVALID_CLIENT_REQUEST');
      // window before duplicate
      expectAccepted(state, valid);
      expectRejected(state, { ...valid, logTimeMs: t + 5_001 }, 'INVALID_TIMESTAMP');
      // instruction syntax before authorization, authorization before execution
      expectRejected(
        state,
        trader.entry(
          'depositCredit',
          { account: 'not-a-key', blockchain: 'x', chainTransactionId: 'y', quantity: '1', symbol: 'SOL' },
          t,
        ),
        'INVALID_CLIENT_REQUEST',
      );
      expectRejected(
        state,
        trader.entry(
          'depositCredit',
          { account: trader.id, blockchain: 'x', chainTransactionId: 'y', quantity: '1', symbol: 'NOPE' },
          t,
        ),
        'UNAUTHORIZED',
      );
      // a query is never a transaction, whoever signs it
      expectRejected(state, operator.entry('balanceQuery', {}, t), 'INVALID_INSTRUCTION');
    });
  });

  describe('withdrawals in both encodings', () => {
    const address = 'a b:c/d+e';
    const withdrawal = { address, blockchain: 'Solana', quantity: '1.5', symbol: 'USDC' };

    it('verifies the raw and the percent-encoded form and records the same address', () => {
      const raw = trader.entry('withdraw', withdrawal, t);
      const encodedForm = trader.entry('withdraw', withdrawal, t, { percentEncode: true, timestampMs: t + 1 });
      expect(Buffer.from(raw.transaction.message).toString('utf8')).toContain('address=a b:c/d+e&');
      expect(Buffer.from(encodedForm.transaction.message).toString('utf8')).toContain('address=a%20b%3Ac%2Fd%2Be&');
      const addresses: string[] = [];
      for (const entry of [raw, encodedForm]) {
        const outcome = expectAccepted(state, entry);
        const result = outcome.results[0];
        if (result?.ok !== true || result.value.kind !== 'withdrawal') throw new Error('expected a withdrawal');
        expect(result.value.withdrawal).toMatchObject({ status: 'Pending', quantityUnits: 1_500_000n, asset: 'USDC' });
        addresses.push(result.value.withdrawal.address);
      }
      expect(addresses).toEqual([address, address]);
      expect(balancesOf(state, trader.id).find((balance) => balance.asset === 'USDC')).toMatchObject({
        available: 9_997_000_000n,
      });
    });

    it('treats the two encodings of one request as two different messages', () => {
      // Only the signer can produce the second encoding (the signature covers the bytes), so this is not a replay by a third party.
      expectAccepted(state, trader.entry('withdraw', withdrawal, t));
      expectAccepted(state, trader.entry('withdraw', withdrawal, t, { percentEncode: true }));
      expect(state.pendingWithdrawals.size).toBe(2);
    });

    it('settles a withdrawal by operator instruction', () => {
      expectAccepted(state, trader.entry('withdraw', withdrawal, t));
      const [withdrawalId] = [...state.pendingWithdrawals.keys()];
      expectAccepted(
        state,
        operator.entry('withdrawalComplete', { withdrawalId: String(withdrawalId), chainTransactionId: 'sig-1' }, t),
      );
      expectRejected(
        state,
        operator.entry('withdrawalFail', { withdrawalId: String(withdrawalId), reason: 'late' }, t),
        'RESOURCE_NOT_FOUND',
      );
    });
  });

  describe('batches', () => {
    it('accepts a batch with one valid and one invalid order, with a result per order', () => {
      const transaction = trader.sign(
        [
          { instruction: 'orderExecute', params: limitBid },
          { instruction: 'orderExecute', params: { ...limitBid, price: '101.255' } },
        ],
        t,
      );
      const outcome = expectAccepted(state, { logTimeMs: t, transaction });
      expect(outcome.results).toHaveLength(2);
      expect(outcome.results[0]).toMatchObject({ ok: true, value: { kind: 'order', order: { status: 'New' } } });
      expect(outcome.results[1]).toMatchObject({ ok: false, rejection: { code: 'INVALID_PRICE' } });
      expect(openOrdersOf(state, trader.id)).toHaveLength(1);
      // The batch as a whole is remembered.
      expectRejected(state, { logTimeMs: t, transaction }, 'DUPLICATE_REQUEST');
    });

    it('rejects a batch in which every order is rejected, reporting the first rejection and leaving the state unchanged', () => {
      const transaction = trader.sign(
        [
          { instruction: 'orderExecute', params: { ...limitBid, quantity: '0.001' } },
          { instruction: 'orderExecute', params: { ...limitBid, price: '101.255' } },
        ],
        t,
      );
      const outcome = expectRejected(state, { logTimeMs: t, transaction }, 'INVALID_QUANTITY');
      expect(outcome.results.map((result) => (result.ok ? 'ok' : result.rejection.code))).toEqual([
        'INVALID_QUANTITY',
        'INVALID_PRICE',
      ]);
    });

    it('rejects a whole batch whose groups are not all orders', () => {
      const transaction = trader.sign(
        [
          { instruction: 'orderExecute', params: limitBid },
          { instruction: 'orderCancelAll', params: { symbol: 'SOL_USDC' } },
        ],
        t,
      );
      expectRejected(state, { logTimeMs: t, transaction }, 'INVALID_CLIENT_REQUEST');
    });

    it('applies batch orders in order, so a later order may match an earlier one of another account', () => {
      expectAccepted(
        state,
        otherTrader.entry('orderExecute', { ...limitBid, side: 'Ask', price: '100', quantity: '0.5' }, t),
      );
      const transaction = trader.sign(
        [
          { instruction: 'orderExecute', params: { ...limitBid, quantity: '0.5' } },
          { instruction: 'orderExecute', params: { ...limitBid, quantity: '0.5', price: '99' } },
        ],
        t,
      );
      const outcome = expectAccepted(state, { logTimeMs: t, transaction });
      expect(outcome.results).toMatchObject([
        { ok: true, value: { order: { status: 'Filled' } } },
        { ok: true, value: { order: { status: 'New' } } },
      ]);
    });
  });

  it('every accepted entry changes the state hash, including a cancel-all with nothing to cancel', () => {
    const hashes = new Set<string>([Buffer.from(stateHash(state)).toString('hex')]);
    const entries = [
      trader.entry('orderCancelAll', { symbol: 'SOL_USDC' }, t),
      trader.entry('orderExecute', limitBid, t),
      otherTrader.entry('orderExecute', { ...limitBid, side: 'Ask', quantity: '0.5' }, t + 1),
      trader.entry('orderCancelAll', { symbol: 'SOL_USDC' }, t + 2),
    ];
    for (const entry of entries) {
      expectAccepted(state, entry);
      hashes.add(Buffer.from(stateHash(state)).toString('hex'));
    }
    expect(hashes.size).toBe(entries.length + 1);
  });
});

describe('coverage of the result codes', () => {
  it('every engine rejection code was produced above with the state unchanged (this test runs last)', () => {
    for (const code of engineCodes) expect(Object.keys(resultCodes)).toContain(code);
    expect([...observedCodes].sort()).toEqual([...engineCodes].sort());
  });
});
