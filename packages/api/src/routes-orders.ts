/**
 * Orders: place (one or a batch), cancel (one or all on a market), and the
 * signed queries for open orders. Placing and cancelling are transactions:
 * answered once the entry is durable.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { openOrder, openOrdersOf, type InstructionResult, type OrderView } from '@vex/engine';
import { parseInteger, requireMarket, signedQuery, signedTransaction, type ApiContext } from './context.js';
import { ApiError, errorSchema } from './errors.js';
import {
  digitsString,
  errorResponses,
  orderRequestSchema,
  orderSchema,
  signedSecurity,
  symbolString,
} from './schemas.js';
import { strictQuery, symbolQuery } from './route-schemas.js';
import { onlyResult, type Committed } from './submission.js';
import { wireOrder } from './wire-format.js';

const orderIdValue = { anyOf: [digitsString, { type: 'integer', minimum: 0 }] } as const;
const clientIdValue = { anyOf: [digitsString, { type: 'integer', minimum: 0, maximum: 4_294_967_295 }] } as const;
const signedErrors = errorResponses(401, 404, 409, 503);

/**
 * ccxt's unified `clientOrderId` is not a Backpack field: ccxt sends an
 * integer one as `clientId` itself, and passes any other value through
 * unchanged. Such an order is refused (the schema would refuse it too) with a
 * message that says what to send instead; docs/api.md, "Using ccxt".
 */
async function refuseClientOrderId(request: FastifyRequest): Promise<void> {
  const elements: unknown[] = Array.isArray(request.body) ? request.body : [request.body];
  for (const element of elements) {
    if (typeof element === 'object' && element !== null && Object.hasOwn(element, 'clientOrderId')) {
      throw new ApiError(
        'INVALID_CLIENT_REQUEST',
        'clientOrderId is not an order field: send clientId, an integer from 0 to 4294967295' +
          ' (ccxt turns an integer clientOrderId into clientId).',
      );
    }
  }
}

type ResultValue = Extract<InstructionResult, { ok: true }>['value'];

/** The one result of a committed order transaction, which must be of `kind`. */
function resultOfKind<Kind extends ResultValue['kind']>(
  committed: Committed,
  kind: Kind,
): Extract<ResultValue, { kind: Kind }> {
  const value = onlyResult(committed);
  if (value.kind !== kind) throw new ApiError('SERVER_ERROR', `Unexpected result ${value.kind}.`);
  return value as Extract<ResultValue, { kind: Kind }>;
}

export function registerOrderRoutes(app: FastifyInstance, context: ApiContext): void {
  registerPlaceRoutes(app, context);
  registerCancelRoutes(app, context);
  registerOrderQueryRoutes(app, context);
}

/** Place an order, or a batch of them. */
function registerPlaceRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.post(
    '/api/v1/order',
    {
      schema: {
        summary: 'Place an order (instruction orderExecute)',
        tags: ['orders'],
        security: signedSecurity,
        body: orderRequestSchema,
        response: { 200: orderSchema, ...signedErrors },
      },
      preValidation: refuseClientOrderId,
    },
    async (request) => {
      const { committed } = await signedTransaction(context, request);
      const value = resultOfKind(committed, 'order');
      return wireOrder(node.state, value.order, value.attached);
    },
  );

  app.post(
    '/api/v1/orders',
    {
      schema: {
        summary: 'Place a batch of orders (one orderExecute group per element); one result per element',
        tags: ['orders'],
        security: signedSecurity,
        body: { type: 'array', minItems: 1, maxItems: 50, items: orderRequestSchema },
        response: { 200: { type: 'array', items: { anyOf: [orderSchema, errorSchema] } }, ...signedErrors },
      },
      preValidation: refuseClientOrderId,
    },
    async (request) => {
      const { committed } = await signedTransaction(context, request);
      return committed.results.map((result) => {
        if (!result.ok) return { code: result.rejection.code, message: result.rejection.message };
        if (result.value.kind !== 'order')
          throw new ApiError('SERVER_ERROR', `Unexpected result ${result.value.kind}.`);
        return wireOrder(node.state, result.value.order, result.value.attached);
      });
    },
  );
}

/** Cancel one order, or all of the signer's on a market. */
function registerCancelRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.delete(
    '/api/v1/order',
    {
      schema: {
        summary: 'Cancel an open order by orderId or clientId (instruction orderCancel)',
        tags: ['orders'],
        security: signedSecurity,
        body: symbolQuery({ orderId: orderIdValue, clientId: clientIdValue }),
        response: { 200: orderSchema, ...signedErrors },
      },
    },
    async (request) => {
      const { committed } = await signedTransaction(context, request);
      return wireOrder(node.state, resultOfKind(committed, 'order').order);
    },
  );

  app.delete(
    '/api/v1/orders',
    {
      schema: {
        summary: 'Cancel every open order of the signer on a market (instruction orderCancelAll)',
        tags: ['orders'],
        security: signedSecurity,
        body: symbolQuery(),
        response: { 200: { type: 'array', items: orderSchema }, ...signedErrors },
      },
    },
    async (request) => {
      const { committed } = await signedTransaction(context, request);
      return resultOfKind(committed, 'orders').orders.map((order) => wireOrder(node.state, order));
    },
  );
}

/** The signer's orders: one (open or closed), or all open ones. */
function registerOrderQueryRoutes(app: FastifyInstance, context: ApiContext): void {
  const { node } = context;
  app.get(
    '/api/v1/order',
    {
      schema: {
        summary: 'One order of the signer, open or closed (instruction orderQuery)',
        tags: ['orders'],
        security: signedSecurity,
        querystring: symbolQuery({ orderId: digitsString, clientId: digitsString }),
        response: { 200: orderSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const { account } = signedQuery(context, request);
      const query = request.query as { symbol: string; orderId?: string; clientId?: string };
      const market = requireMarket(node.state, query.symbol);
      if ((query.orderId === undefined) === (query.clientId === undefined)) {
        throw new ApiError('INVALID_CLIENT_REQUEST', 'Give exactly one of orderId and clientId.');
      }
      let order: OrderView | undefined;
      if (query.orderId !== undefined) {
        const orderId = parseInteger(query.orderId, 'orderId')!;
        order = openOrder(node.state, orderId) ?? (await node.history.order(orderId));
      } else {
        const clientId = parseInteger(query.clientId, 'clientId');
        order = openOrdersOf(node.state, account, market).find((open) => open.clientId === clientId);
      }
      // Someone else's order is reported exactly like a missing one.
      if (order === undefined || order.account !== account || order.market !== market.symbol) {
        throw new ApiError('RESOURCE_NOT_FOUND', 'Order not found.');
      }
      return wireOrder(node.state, order);
    },
  );

  app.get(
    '/api/v1/orders',
    {
      schema: {
        summary: 'Open orders of the signer, oldest first (instruction orderQueryAll)',
        tags: ['orders'],
        security: signedSecurity,
        querystring: strictQuery({ symbol: symbolString, marketType: { type: 'string', enum: ['SPOT'] } }),
        response: { 200: { type: 'array', items: orderSchema }, ...errorResponses(401) },
      },
    },
    async (request) => {
      const { account } = signedQuery(context, request);
      const query = request.query as { symbol?: string };
      const market = query.symbol === undefined ? undefined : requireMarket(node.state, query.symbol);
      return openOrdersOf(node.state, account, market).map((order) => wireOrder(node.state, order));
    },
  );
}
