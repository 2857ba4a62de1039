/**
 * The recorded ccxt requests (shared/ccxt-requests.jsonl, ccxt 4.5.84, test
 * key seed = 32 bytes of 0x07), checked the way the server will check them:
 * rebuild the signing string from method, path, query or JSON body and the
 * X-Timestamp / X-Window headers (request-signing.ts), verify the signature in
 * the raw or a percent-encoded form, parse it, and apply the state-changing
 * ones to a prepared exchange at their own timestamps.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accountIdOf } from '../src/account-id.js';
import { apply, type ApplyOutcome } from '../src/apply.js';
import { parseInstruction, type Instruction } from '../src/instruction.js';
import { checkInvariants } from '../src/invariants.js';
import { requestGroups, signingStringCandidateTexts } from '../src/request-signing.js';
import { publicKeyFromSeed, signMessage, verifySignature } from '../src/signature.js';
import { encodeSigningString, encodeSigningStringBytes, parseSigningString } from '../src/signing-string.js';
import { encodeState } from '../src/state-codec.js';
import { createState, type ExchangeState } from '../src/state.js';
import { balancesOf, openOrdersOf } from '../src/views.js';
import { solUsdcLimitOrder } from './support-orders.js';
import { solUsdcListingParams } from './support-listings.js';

interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

const recorded: RecordedRequest[] = readFileSync(new URL('./fixtures/ccxt-requests.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim().length > 0)
  .map((line) => JSON.parse(line) as RecordedRequest);
const signed = recorded.filter((request) => request.headers['x-signature'] !== undefined);

const testSeed = new Uint8Array(32).fill(0x07);
const testKey = '6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=';
const utf8 = new TextEncoder();

interface Rebuilt {
  readonly request: RecordedRequest;
  readonly label: string;
  /** Which form verified: 'raw' is tried first, then the percent-encoded forms. */
  readonly form: 'raw' | 'percent-encoded';
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
  readonly timestampMs: number;
}

function labelOf(request: RecordedRequest): string {
  return `${request.method} ${request.url} @${request.headers['x-timestamp']}`;
}

/** Rebuilds and verifies one request; throws if no candidate verifies. */
function rebuild(request: RecordedRequest): Rebuilt {
  const url = new URL(request.url, 'http://exchange.invalid');
  const body: unknown = request.body === undefined ? undefined : JSON.parse(request.body);
  const headers = request.headers;
  const candidates = signingStringCandidateTexts(
    request.method,
    url.pathname,
    url.searchParams,
    body,
    headers['x-timestamp'] as string,
    headers['x-window'],
  );
  const publicKey = Uint8Array.from(Buffer.from(headers['x-api-key'] as string, 'base64'));
  const signature = Uint8Array.from(Buffer.from(headers['x-signature'] as string, 'base64'));
  // The raw form: values exactly as in the request, as the Rust client signs them.
  const rawText = encodeSigningString(
    requestGroups(request.method, url.pathname, url.searchParams, body),
    Number(headers['x-timestamp']),
    Number(headers['x-window'] ?? '5000'),
  );
  for (const candidate of candidates) {
    const message = utf8.encode(candidate);
    if (verifySignature(publicKey, message, signature) === 'valid') {
      return {
        request,
        label: labelOf(request),
        form: candidate === rawText ? 'raw' : 'percent-encoded',
        message,
        publicKey,
        signature,
        timestampMs: Number(headers['x-timestamp']),
      };
    }
  }
  throw new Error(`no signing-string candidate verifies for ${labelOf(request)}: ${candidates.join(' | ')}`);
}

function instructionOf(rebuilt: Rebuilt): Instruction {
  const parsed = parseSigningString(rebuilt.message);
  if (!parsed.ok) throw new Error(parsed.message);
  const instruction = parseInstruction(parsed.value.groups);
  if (!instruction.ok) throw new Error(instruction.message);
  return instruction.instruction;
}

describe('recorded ccxt requests', () => {
  it('holds 19 requests, 15 of them signed with the test key', () => {
    expect(recorded).toHaveLength(19);
    expect(signed).toHaveLength(15);
    expect(accountIdOf(publicKeyFromSeed(testSeed))).toBe(testKey);
    for (const request of signed) {
      expect(request.headers['x-api-key']).toBe(testKey);
      expect(request.headers['x-window']).toBe('5000');
    }
  });

  it('the unsigned requests are the public routes', () => {
    expect(
      recorded
        .filter((request) => request.headers['x-signature'] === undefined)
        .map((request) => `${request.method} ${request.url}`),
    ).toEqual([
      'GET /api/v1/assets',
      'GET /api/v1/markets',
      'GET /api/v1/depth?symbol=SOL_USDC',
      'GET /api/v1/trades?limit=10&symbol=SOL_USDC',
    ]);
  });

  it('every signed request verifies, and only the withdrawal needs the percent-encoded form', () => {
    const forms = signed.map((request) => {
      const rebuilt = rebuild(request);
      return `${request.method} ${request.url.split('?')[0]} ${rebuilt.form}`;
    });
    expect(forms).toEqual([
      'GET /api/v1/capital raw',
      'POST /api/v1/order raw',
      'POST /api/v1/order raw',
      'POST /api/v1/order raw',
      'POST /api/v1/order raw',
      'POST /api/v1/order raw',
      'POST /api/v1/orders raw',
      'GET /api/v1/orders raw',
      'GET /api/v1/order raw',
      'DELETE /api/v1/order raw',
      'DELETE /api/v1/orders raw',
      'GET /wapi/v1/history/fills raw',
      'GET /wapi/v1/capital/deposits raw',
      'GET /wapi/v1/capital/withdrawals raw',
      'POST /wapi/v1/capital/withdrawals percent-encoded',
    ]);
  });

  it('the withdrawal does not verify in the raw form (ccxt encodes values)', () => {
    const withdrawal = signed.find(
      (request) => request.method === 'POST' && request.url === '/wapi/v1/capital/withdrawals',
    );
    if (withdrawal === undefined) throw new Error('no withdrawal recorded');
    const url = new URL(withdrawal.url, 'http://exchange.invalid');
    const candidates = signingStringCandidateTexts(
      'POST',
      url.pathname,
      url.searchParams,
      JSON.parse(withdrawal.body as string),
      withdrawal.headers['x-timestamp'] as string,
      '5000',
    );
    expect(candidates).toHaveLength(2);
    const publicKey = Buffer.from(testKey, 'base64');
    const signature = Buffer.from(withdrawal.headers['x-signature'] as string, 'base64');
    expect(candidates.map((candidate) => verifySignature(publicKey, utf8.encode(candidate), signature))).toEqual([
      'invalid',
      'valid',
    ]);
    expect(candidates[1]).toContain('address=a%20b%3Ac%2Fd%2Be&');
  });

  it('signing the rebuilt string with the test seed reproduces the recorded signature (Ed25519 is deterministic)', () => {
    for (const request of signed) {
      const rebuilt = rebuild(request);
      expect(Buffer.from(signMessage(testSeed, rebuilt.message)).toString('base64'), rebuilt.label).toBe(
        request.headers['x-signature'],
      );
    }
  });

  it('parses every signed request into the expected instruction', () => {
    const instructions = signed.map((request) => instructionOf(rebuild(request)));
    const queryParams = (instruction: Instruction | undefined): unknown =>
      instruction?.kind === 'query'
        ? { name: instruction.name, params: Object.fromEntries(instruction.params) }
        : instruction;
    expect(queryParams(instructions[0])).toEqual({ name: 'balanceQuery', params: {} });
    expect(instructions[1]).toEqual(solUsdcLimitOrder('Bid', '100', '0.5', { postOnly: true, clientId: 1001 }));
    expect(instructions[2]).toMatchObject({
      kind: 'orderExecute',
      orders: [
        { side: 'Ask', orderType: 'Limit', price: '101.25', quantity: '0.5', timeInForce: 'IOC', postOnly: false },
      ],
    });
    expect(instructions[3]).toMatchObject({
      kind: 'orderExecute',
      orders: [{ side: 'Ask', orderType: 'Limit', price: '99', quantity: '1.5', timeInForce: 'FOK' }],
    });
    expect(instructions[4]).toMatchObject({
      kind: 'orderExecute',
      orders: [{ side: 'Bid', orderType: 'Market', quoteQuantity: '25' }],
    });
    expect(instructions[5]).toMatchObject({
      kind: 'orderExecute',
      orders: [{ side: 'Ask', orderType: 'Market', quantity: '0.25' }],
    });
    expect(instructions[6]).toMatchObject({
      kind: 'orderExecute',
      orders: [
        { side: 'Bid', orderType: 'Limit', price: '99', quantity: '1' },
        { side: 'Ask', orderType: 'Limit', price: '102', quantity: '1', clientId: 7 },
      ],
    });
    expect(queryParams(instructions[7])).toEqual({ name: 'orderQueryAll', params: { symbol: 'SOL_USDC' } });
    expect(queryParams(instructions[8])).toEqual({
      name: 'orderQuery',
      params: { orderId: '111', symbol: 'SOL_USDC' },
    });
    expect(instructions[9]).toEqual({ kind: 'orderCancel', symbol: 'SOL_USDC', orderId: 111 });
    expect(instructions[10]).toEqual({ kind: 'orderCancelAll', symbol: 'SOL_USDC' });
    expect(queryParams(instructions[11])).toEqual({
      name: 'fillHistoryQueryAll',
      params: { fillType: 'User', limit: '5', symbol: 'SOL_USDC' },
    });
    expect(queryParams(instructions[12])).toEqual({ name: 'depositQueryAll', params: {} });
    expect(queryParams(instructions[13])).toEqual({ name: 'withdrawalQueryAll', params: {} });
    expect(instructions[14]).toEqual({
      kind: 'withdraw',
      address: 'a b:c/d+e',
      blockchain: 'Solana',
      quantity: '1.5',
      symbol: 'USDC',
    });
  });
});

describe('recorded ccxt requests applied to an exchange', () => {
  const operatorSeed = new Uint8Array(32).fill(0x01);
  const operatorKey = publicKeyFromSeed(operatorSeed);
  const feeKey = accountIdOf(publicKeyFromSeed(new Uint8Array(32).fill(0x0f)));

  function operatorApply(
    state: ExchangeState,
    instruction: string,
    params: Record<string, string>,
    logTimeMs: number,
  ): void {
    const message = encodeSigningStringBytes([{ instruction, params: Object.entries(params) }], logTimeMs, 5_000);
    const outcome = apply(state, {
      logTimeMs,
      transaction: { message, publicKey: operatorKey, signature: signMessage(operatorSeed, message) },
    });
    if (!outcome.accepted) throw new Error(`${instruction}: ${outcome.rejection.code} ${outcome.rejection.message}`);
  }

  function preparedState(logTimeMs: number): ExchangeState {
    const state = createState({
      exchangeName: 'ccxt-replay',
      operatorKeys: [accountIdOf(operatorKey)],
      feeAccount: feeKey,
    });
    operatorApply(state, 'assetList', { symbol: 'SOL', decimals: '9' }, logTimeMs);
    operatorApply(state, 'assetList', { symbol: 'USDC', decimals: '6' }, logTimeMs);
    operatorApply(state, 'marketList', solUsdcListingParams, logTimeMs);
    operatorApply(
      state,
      'depositCredit',
      { account: testKey, blockchain: 'Solana', chainTransactionId: 'sol-1', quantity: '10', symbol: 'SOL' },
      logTimeMs,
    );
    operatorApply(
      state,
      'depositCredit',
      { account: testKey, blockchain: 'Solana', chainTransactionId: 'usdc-1', quantity: '10000', symbol: 'USDC' },
      logTimeMs,
    );
    return state;
  }

  function summary(outcome: ApplyOutcome): string {
    if (!outcome.accepted) return `rejected ${outcome.rejection.code}`;
    return `accepted ${outcome.results
      .map((result) => {
        if (!result.ok) return result.rejection.code;
        const value = result.value;
        if (value.kind === 'order') return value.order.status;
        if (value.kind === 'orders') return `cancelled ${value.orders.length}`;
        if (value.kind === 'withdrawal') return `withdrawal ${value.withdrawal.status}`;
        return value.kind;
      })
      .join(', ')}`;
  }

  it('applies the state-changing requests at their own timestamps with the observed outcomes', () => {
    const first = Number(signed[0]?.headers['x-timestamp']);
    const state = preparedState(first - 1_000);
    const observed: string[] = [];
    let withdrawalAddress: string | undefined;
    for (const request of signed) {
      const rebuilt = rebuild(request);
      const instruction = instructionOf(rebuilt);
      const before = Buffer.from(encodeState(state));
      const outcome = apply(state, {
        logTimeMs: rebuilt.timestampMs,
        transaction: { message: rebuilt.message, publicKey: rebuilt.publicKey, signature: rebuilt.signature },
      });
      const after = Buffer.from(encodeState(state));
      expect(Buffer.compare(before, after) === 0, rebuilt.label).toBe(!outcome.accepted);
      checkInvariants(state);
      if (instruction.kind === 'query') {
        // Signed reads verify like transactions but are never applied.
        expect(outcome.accepted ? 'accepted' : outcome.rejection.code, rebuilt.label).toBe('INVALID_INSTRUCTION');
        continue;
      }
      observed.push(`${request.method} ${request.url}: ${summary(outcome)}`);
      if (outcome.accepted && outcome.results[0]?.ok === true && outcome.results[0].value.kind === 'withdrawal') {
        withdrawalAddress = outcome.results[0].value.withdrawal.address;
      }
    }
    expect(observed).toEqual([
      // Limit bid 0.5 @ 100, postOnly, clientId 1001: rests on the empty book.
      'POST /api/v1/order: accepted New',
      // Orders that cannot rest and would execute nothing are refused, not logged (docs/matching.md, 4.6):
      // limit ask 0.5 @ 101.25 IOC: no bid that high.
      'POST /api/v1/order: rejected ORDER_WOULD_NOT_FILL',
      // Limit ask 1.5 @ 99 FOK: the only liquidity is the same account's 0.5 bid, so it cannot fill in full.
      'POST /api/v1/order: rejected ORDER_WOULD_NOT_FILL',
      // Market bid for 25 USDC: no asks rest, nothing to buy.
      'POST /api/v1/order: rejected ORDER_WOULD_NOT_FILL',
      // Market ask 0.25: would trade only with its own bid, which self-trade prevention (RejectTaker) forbids.
      'POST /api/v1/order: rejected ORDER_WOULD_NOT_FILL',
      // Batch: bid 1 @ 99 and ask 1 @ 102 (clientId 7) both rest.
      'POST /api/v1/orders: accepted New, New',
      // There is no order 111.
      'DELETE /api/v1/order: rejected RESOURCE_NOT_FOUND',
      // Cancels the postOnly bid and both batch orders.
      'DELETE /api/v1/orders: accepted cancelled 3',
      // 1.5 USDC to "a b:c/d+e", pending until the operator settles it.
      'POST /wapi/v1/capital/withdrawals: accepted withdrawal Pending',
    ]);
    expect(withdrawalAddress).toBe('a b:c/d+e');
    expect(openOrdersOf(state, testKey)).toEqual([]);
    expect(balancesOf(state, testKey)).toEqual([
      expect.objectContaining({ asset: 'SOL', available: 10_000_000_000n, locked: 0n }),
      expect.objectContaining({ asset: 'USDC', available: 9_998_500_000n, locked: 0n, pendingWithdrawal: 1_500_000n }),
    ]);
  });

  it('refuses every recorded request a second time, and each outside its window', () => {
    const first = Number(signed[0]?.headers['x-timestamp']);
    const state = preparedState(first - 1_000);
    const accepted: Rebuilt[] = [];
    for (const request of signed) {
      const rebuilt = rebuild(request);
      const outcome = apply(state, { logTimeMs: rebuilt.timestampMs, transaction: rebuilt });
      if (outcome.accepted) accepted.push(rebuilt);
    }
    expect(accepted).toHaveLength(4);
    const last = Math.max(...signed.map((request) => Number(request.headers['x-timestamp'])));
    for (const rebuilt of accepted) {
      const again = apply(state, { logTimeMs: last, transaction: rebuilt });
      expect(again.accepted ? 'accepted' : again.rejection.code, rebuilt.label).toBe('DUPLICATE_REQUEST');
    }
    for (const rebuilt of accepted) {
      const late = apply(state, { logTimeMs: rebuilt.timestampMs + 5_001, transaction: rebuilt });
      expect(late.accepted ? 'accepted' : late.rejection.code, rebuilt.label).toBe('INVALID_TIMESTAMP');
    }
  });
});
