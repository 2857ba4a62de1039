/**
 * Native endpoints, beyond the Backpack surface: the raw transaction intake
 * (how the operator CLI submits deposits, withdrawal settlements and
 * listings), the log export, the operator's view of pending withdrawals and
 * the OpenAPI document.
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { isCanonicalAccountId, type ExchangeState, type ForcedExitView, type InstructionResult } from '@vex/engine';
import { parseInteger, signedNativeQuery, type ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { holdExportSlot } from './export-slots.js';
import {
  depositSchema,
  digitsString,
  errorResponses,
  noQuery,
  orderSchema,
  signedSecurity,
  withdrawalSchema,
} from './schemas.js';
import { submitTransaction } from './submission.js';
import { formatUnits, wireDeposit, wireOrder, wireWithdrawal } from './wire-format.js';
import { wireMarginResult } from './margin-wire.js';

const utf8 = new TextEncoder();

function decodeBase64(text: string, length: number, what: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length || bytes.toString('base64') !== text) {
    throw new ApiError('INVALID_CLIENT_REQUEST', `${what} must be the canonical base64 of ${length} bytes.`);
  }
  return new Uint8Array(bytes);
}

/** One instruction's result as JSON: `{ok: true, kind, …}` or `{ok: false, code, message}`. */
export function wireResult(state: ExchangeState, result: InstructionResult): Record<string, unknown> {
  if (!result.ok) return { ok: false, code: result.rejection.code, message: result.rejection.message };
  const value = result.value;
  switch (value.kind) {
    case 'order':
      return { ok: true, kind: 'order', order: wireOrder(state, value.order) };
    case 'orders':
      return { ok: true, kind: 'orders', orders: value.orders.map((order) => wireOrder(state, order)) };
    case 'withdrawal':
      return { ok: true, kind: 'withdrawal', withdrawal: wireWithdrawal(state, value.withdrawal) };
    case 'deposit':
      return { ok: true, kind: 'deposit', deposit: wireDeposit(state, value.deposit) };
    case 'listed':
      return { ok: true, kind: 'listed', symbol: value.symbol };
    case 'reserves':
      return {
        ok: true,
        kind: 'reserves',
        symbol: value.reserves.asset,
        quantity: formatUnits(state, value.reserves.asset, value.reserves.quantityUnits),
      };
    case 'attestationRecorded':
      return { ok: true, kind: 'attestationRecorded', sequence: value.sequence, digest: value.digest };
    case 'exitAddressLinked':
      return { ok: true, kind: 'exitAddressLinked', account: value.account, exitAddress: value.exitAddress };
    case 'forcedExitServed':
      return { ok: true, kind: 'forcedExitServed', forcedExit: wireForcedExit(state, value.forcedExit) };
    default:
      // Margin results (docs/margin.md; margin-wire.ts).
      return wireMarginResult(state, value);
  }
}

function wireForcedExit(state: ExchangeState, forcedExit: ForcedExitView): Record<string, unknown> {
  return {
    ...forcedExit,
    withdrawals: forcedExit.withdrawals.map((withdrawal) => wireWithdrawal(state, withdrawal)),
    shortfall: forcedExit.shortfall ?? null,
  };
}

const resultSchema = {
  type: 'object',
  required: ['ok'],
  // Margin results carry their own fields (docs/api.md, "Margin, native").
  additionalProperties: true,
  properties: {
    ok: { type: 'boolean' },
    kind: {
      type: 'string',
      enum: [
        'order',
        'orders',
        'withdrawal',
        'deposit',
        'listed',
        'reserves',
        'attestationRecorded',
        'borrowLend',
        'accountUpdated',
        'price',
        'liquidation',
        'coveragePool',
        'exitAddressLinked',
        'forcedExitServed',
      ],
    },
    order: orderSchema,
    orders: { type: 'array', items: orderSchema },
    withdrawal: withdrawalSchema,
    deposit: depositSchema,
    symbol: { type: 'string' },
    quantity: { type: 'string', description: 'kind reserves: the stated reserves of `symbol`' },
    account: { type: 'string', description: 'kind exitAddressLinked: the account (base64 public key)' },
    exitAddress: { type: 'string', description: 'kind exitAddressLinked: the linked Ethereum address' },
    forcedExit: {
      type: 'object',
      description: 'kind forcedExitServed: the answer to a forced-exit request (docs/custody.md)',
      additionalProperties: true,
    },
    code: { type: 'string', description: 'Set on a rejected element of an accepted batch' },
    message: { type: 'string' },
  },
} as const;

export function registerNativeRoutes(app: FastifyInstance, context: ApiContext): void {
  registerTransactionIntake(app, context);
  registerLogExport(app, context);
  registerOperatorWithdrawals(app, context);
  app.get(
    '/api/v1/openapi.json',
    {
      schema: { summary: 'This API as an OpenAPI document', tags: ['native'], querystring: noQuery },
    },
    async () => app.swagger(),
  );
}

/** POST /api/v1/transactions: any signed transaction, as {message, publicKey, signature}. */
function registerTransactionIntake(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.post(
    '/api/v1/transactions',
    {
      schema: {
        summary: 'Submit any signed transaction (trader or operator); answered once it is durable',
        tags: ['native'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['message', 'publicKey', 'signature'],
          properties: {
            message: {
              type: 'string',
              minLength: 1,
              maxLength: 16_384,
              description: 'The signing string, as UTF-8 text',
            },
            publicKey: { type: 'string', maxLength: 44, description: 'base64 of the 32-byte ed25519 public key' },
            signature: { type: 'string', maxLength: 88, description: 'base64 of the 64-byte ed25519 signature' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              sequence: { type: 'integer' },
              logTimeMs: { type: 'integer' },
              results: { type: 'array', items: resultSchema },
            },
          },
          ...errorResponses(401, 409, 503),
        },
      },
    },
    async (request) => {
      const body = request.body as { message: string; publicKey: string; signature: string };
      if (!isCanonicalAccountId(body.publicKey)) {
        throw new ApiError('INVALID_CLIENT_REQUEST', 'publicKey must be the canonical base64 of a 32-byte public key.');
      }
      const transaction = {
        message: utf8.encode(body.message),
        publicKey: decodeBase64(body.publicKey, 32, 'publicKey'),
        signature: decodeBase64(body.signature, 64, 'signature'),
      };
      const committed = await submitTransaction(node, transaction, request.log);
      return {
        sequence: committed.sequence,
        logTimeMs: committed.logTimeMs,
        results: committed.results.map((result) => wireResult(node.state, result)),
      };
    },
  );
}

/** GET and HEAD /api/v1/log: the log in the export format. */
function registerLogExport(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  const logQuery = { type: 'object', additionalProperties: false, properties: { from: digitsString } } as const;
  const checkLogFrom = (query: { from?: string }): number | undefined => {
    const from = parseInteger(query.from, 'from');
    const head = node.head().sequence;
    if (from !== undefined && (from < 1 || from > head + 1)) {
      throw new ApiError('INVALID_CLIENT_REQUEST', `from must be from 1 to ${head + 1} (the head is ${head}).`);
    }
    return from;
  };
  // HEAD answers the headers alone: fastify's automatic HEAD would run the export and drain it.
  app.head(
    '/api/v1/log',
    {
      schema: {
        summary: 'The headers of GET /api/v1/log, without reading the log',
        tags: ['native'],
        querystring: logQuery,
      },
    },
    async (request, reply) => {
      checkLogFrom(request.query as { from?: string });
      return reply.type('application/octet-stream').send();
    },
  );
  app.get(
    '/api/v1/log',
    {
      exposeHeadRoute: false,
      schema: {
        summary: 'The log in the export format (docs/log-format.md), from sequence `from` on',
        tags: ['native'],
        querystring: logQuery,
        produces: ['application/octet-stream'],
      },
    },
    async (request, reply) => {
      const from = checkLogFrom(request.query as { from?: string });
      if (!holdExportSlot(context.exports, request, reply)) return reply;
      const stream = new PassThrough();
      node.exportLog(stream, from).then(
        () => {
          if (!stream.writableEnded) stream.end();
        },
        (error: unknown) => {
          request.log.warn({ err: error }, 'log export failed');
          stream.destroy(error as Error);
        },
      );
      return reply.type('application/octet-stream').send(stream);
    },
  );
}

/** The operator's view of every account's pending withdrawals. */
function registerOperatorWithdrawals(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/operator/withdrawals',
    {
      schema: {
        summary:
          'Pending withdrawals of every account, oldest first; signed by an operator key' +
          ' (instruction operatorWithdrawalQueryAll)',
        tags: ['native'],
        security: signedSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ['Pending'] }, limit: digitsString, offset: digitsString },
        },
        response: {
          200: {
            type: 'array',
            items: { ...withdrawalSchema, properties: { ...withdrawalSchema.properties, account: { type: 'string' } } },
          },
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      // An instruction of its own, so a trader-style withdrawalQueryAll signature
      // (even the operator's) means only that.
      const { account } = signedNativeQuery(context, request, 'operatorWithdrawalQueryAll');
      if (!node.state.operatorKeys.has(account))
        throw new ApiError('UNAUTHORIZED', 'Only an operator key may list every withdrawal.');
      const query = request.query as { limit?: string; offset?: string };
      const limit = parseInteger(query.limit, 'limit') ?? 1000;
      const offset = parseInteger(query.offset, 'offset') ?? 0;
      if (limit < 1 || limit > 10_000) throw new ApiError('INVALID_CLIENT_REQUEST', 'limit must be from 1 to 10000.');
      const pending = [...node.state.pendingWithdrawals.values()]
        .sort((left, right) => left.id - right.id)
        .slice(offset, offset + limit);
      return pending.map((withdrawal) => ({
        ...wireWithdrawal(node.state, {
          withdrawalId: withdrawal.id,
          account: withdrawal.account.id,
          asset: withdrawal.asset.symbol,
          quantityUnits: withdrawal.quantityUnits,
          address: withdrawal.address,
          blockchain: withdrawal.blockchain,
          status: 'Pending',
          createdAtMs: withdrawal.createdAtMs,
          chainTransactionId: undefined,
          reason: undefined,
        }),
        account: withdrawal.account.id,
      }));
    },
  );
}
