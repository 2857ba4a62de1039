/**
 * ExchangeClient: the REST API of the exchange, for traders and operators.
 *
 * Backpack's routes (public market data, and signed trading and capital
 * routes) plus the exchange's native ones: GET /api/v1/status and
 * POST /api/v1/transactions, through which operator instructions (deposits,
 * withdrawal settlement, listings) are submitted as signed messages.
 *
 * Runs in browsers and in Node 18+: it uses fetch, TextEncoder and
 * crypto.getRandomValues only.
 */
import { marketListParameters } from '@vex/engine/catalogue';
import { verifyProofAgainstPublished, type PublishedProofCheck } from '@vex/engine/verify';
import { ClientInputError, ExchangeError, errorFromResponse, isErrorBody } from './errors.js';
import { isPublicKeyText } from './keys.js';
import { publicRoutes, signedRoutes, operatorInstructions, type Route, type SignedRoute } from './routes.js';
import {
  Signer,
  defaultWindowMs,
  maximumWindowMs,
  sortedParameters,
  type InstructionGroup,
  type InstructionParameters,
  type ParameterValue,
  type SignedMessage,
  type ValueEncoding,
  signedHeaders,
} from './signing.js';
import type {
  Asset,
  AssetListing,
  Balances,
  CapitalFilter,
  Deposit,
  DepositCredit,
  Depth,
  Fill,
  FillFilter,
  GenesisInfo,
  JsonObject,
  Market,
  MarketListing,
  NodeStatus,
  Order,
  OrderHistoryFilter,
  OrderRequest,
  OrderSelector,
  Reserves,
  ReservesStatement,
  ServedAttestation,
  ServedInclusionProof,
  SignedTransactionBody,
  Trade,
  TransactionReceipt,
  WithdrawRequest,
  Withdrawal,
  WithdrawalCompletion,
  WithdrawalFailure,
} from './types.js';

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface ExchangeClientOptions {
  /** e.g. "http://127.0.0.1:8080"; a trailing slash is ignored. */
  readonly baseUrl: string;
  /** Base64 public key. Derived from `secret` when absent; when both are given they must match. */
  readonly apiKey?: string;
  /** Base64 of the 32-byte ed25519 seed. Needed for signed routes and operator instructions. */
  readonly secret?: string;
  /** X-Window in ms, 1 to 60000; default 5000. */
  readonly windowMs?: number;
  /** A fetch implementation; default globalThis.fetch. */
  readonly fetch?: FetchFunction;
  /** Clock in Unix ms for X-Timestamp; default Date.now. */
  readonly now?: () => number;
  /** How values are written into signing strings; default 'raw'. See signing.ts. */
  readonly encoding?: ValueEncoding;
}

type Payload = InstructionParameters | readonly InstructionParameters[] | undefined;

/** Drops undefined entries and orders keys, so the body and the signing string list the same things. */
function cleanObject(params: InstructionParameters): Record<string, ParameterValue> {
  const object: Record<string, ParameterValue> = {};
  for (const [key] of sortedParameters(params)) object[key] = params[key] as ParameterValue;
  return object;
}

function queryString(params: InstructionParameters): string {
  const pairs = sortedParameters(params).map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
}

function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : '';
    return causeText.length > 0 && causeText !== error.message ? `${error.message} (${causeText})` : error.message;
  }
  return String(error);
}

function checkSequence(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new ClientInputError(`${name} must be a positive whole number, not ${String(value)}.`);
}

function selectorParams(selector: OrderSelector): InstructionParameters {
  const hasOrderId = selector.orderId !== undefined;
  const hasClientId = selector.clientId !== undefined;
  if (hasOrderId === hasClientId) throw new ClientInputError('Give exactly one of orderId and clientId.');
  return { symbol: selector.symbol, orderId: selector.orderId, clientId: selector.clientId };
}

/**
 * The named fields of a request, in that order, as an instruction's
 * parameters: nothing else the caller's object carries is signed or sent
 * (undefined ones are left out when signing).
 */
function fieldsOf<Request extends object>(
  request: Request,
  ...names: ReadonlyArray<keyof Request & string>
): InstructionParameters {
  const params: Record<string, ParameterValue | undefined> = {};
  for (const name of names) params[name] = request[name] as ParameterValue | undefined;
  return params;
}

export class ExchangeClient {
  readonly baseUrl: string;
  /** Base64 public key of the configured secret (or the apiKey given), if any. */
  readonly apiKey: string | undefined;
  readonly windowMs: number;
  readonly #signer: Signer | undefined;
  readonly #fetch: FetchFunction;
  readonly #now: () => number;
  readonly #encoding: ValueEncoding;
  #lastTimestampMs = -1;

  constructor(options: ExchangeClientOptions) {
    if (typeof options.baseUrl !== 'string' || !/^https?:\/\/[^/]/i.test(options.baseUrl)) {
      throw new ClientInputError(`baseUrl must be an http(s) URL, not "${String(options.baseUrl)}".`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#signer = options.secret === undefined ? undefined : new Signer(options.secret);
    if (options.apiKey !== undefined) {
      if (!isPublicKeyText(options.apiKey))
        throw new ClientInputError('apiKey must be the base64 of a 32-byte public key.');
      if (this.#signer !== undefined && this.#signer.publicKey !== options.apiKey) {
        throw new ClientInputError('apiKey is not the public key of secret.');
      }
    }
    this.apiKey = options.apiKey ?? this.#signer?.publicKey;
    this.windowMs = options.windowMs ?? defaultWindowMs;
    if (!Number.isSafeInteger(this.windowMs) || this.windowMs < 1 || this.windowMs > maximumWindowMs) {
      throw new ClientInputError(`windowMs must be a whole number from 1 to ${maximumWindowMs}.`);
    }
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? Date.now;
    this.#encoding = options.encoding ?? 'raw';
  }

  // ---- public market data -------------------------------------------------

  assets(): Promise<Asset[]> {
    return this.#public(publicRoutes.assets) as Promise<Asset[]>;
  }

  markets(): Promise<Market[]> {
    return this.#public(publicRoutes.markets) as Promise<Market[]>;
  }

  depth(symbol: string): Promise<Depth> {
    return this.#public(publicRoutes.depth, { symbol }) as Promise<Depth>;
  }

  trades(symbol: string, limit?: number): Promise<Trade[]> {
    return this.#public(publicRoutes.trades, { symbol, limit }) as Promise<Trade[]>;
  }

  // ---- native endpoints ---------------------------------------------------

  /** GET /api/v1/status: the node's status (log head and so on, as the API defines it). */
  status(): Promise<NodeStatus> {
    return this.#public(publicRoutes.status) as Promise<NodeStatus>;
  }

  /** GET /api/v1/genesis: the exchange's genesis (its operator keys sign attestations) and its hash. */
  fetchGenesis(): Promise<GenesisInfo> {
    return this.#public(publicRoutes.genesis) as Promise<GenesisInfo>;
  }

  /**
   * GET /api/v1/attestations: the latest attestation, or the one at
   * `sequence`; undefined when there is none (yet, or at that sequence).
   * Check it with verifyAttestationSignature against the genesis operator keys.
   */
  async fetchAttestation(sequence?: number): Promise<ServedAttestation | undefined> {
    if (sequence !== undefined) checkSequence(sequence, 'sequence');
    const found = (await this.#public(publicRoutes.attestations, { sequence })) as ServedAttestation[];
    return found[0];
  }

  /**
   * GET /api/v1/attestations?from=&limit=: attestations from sequence `from`
   * on, in order, at most `limit` (1 to 1000, default 100).
   */
  fetchAttestations(from: number, limit?: number): Promise<ServedAttestation[]> {
    checkSequence(from, 'from');
    return this.#public(publicRoutes.attestations, { from, limit }) as Promise<ServedAttestation[]>;
  }

  /** GET /api/v1/reserves: per asset, the stated reserves against the liabilities of the latest attestation. */
  fetchReserves(): Promise<Reserves> {
    return this.#public(publicRoutes.reserves) as Promise<Reserves>;
  }

  /**
   * GET /wapi/v1/proof (signed, instruction proofQuery): this client's
   * account's inclusion proof under the latest attestation. Only the latest
   * attestation's proofs are served; a `sequence` other than the latest one's
   * is refused (RESOURCE_NOT_FOUND). Check it with verifyInclusionProof.
   */
  fetchProof(sequence?: number): Promise<ServedInclusionProof> {
    if (sequence !== undefined) checkSequence(sequence, 'sequence');
    return this.#signed(signedRoutes.proof, { sequence }) as Promise<ServedInclusionProof>;
  }

  /**
   * Checks an inclusion proof and what it stands on (docs/attestation.md,
   * "What a proof stands on"): every check of verifyInclusionProof under
   * `operatorKeys` (default: this node's genesis operator keys), then the
   * proof's attestation must be byte-identical to the published one for its
   * sequence: from `attestations` when given (an attestations export, parsed
   * JSON objects), else fetched from this node (GET /api/v1/attestations?sequence=).
   * A different attestation signed by an operator key is operator
   * equivocation (`equivocation` holds both). The published attestation is
   * still the operator's word; replaying the log (pnpm replay --proof p --log L)
   * checks it against the log's attestation record.
   */
  async verifyProof(
    proof: unknown,
    options: { readonly operatorKeys?: readonly string[]; readonly attestations?: Iterable<unknown> } = {},
  ): Promise<PublishedProofCheck> {
    const operatorKeys = options.operatorKeys ?? (await this.fetchGenesis()).operatorKeys;
    let published = options.attestations;
    if (published === undefined) {
      const sequence = (proof as { attestation?: { sequence?: unknown } } | null)?.attestation?.sequence;
      if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1) {
        return { ok: false, reason: 'The proof names no attestation sequence to compare with the published one.' };
      }
      const found = await this.fetchAttestation(sequence);
      published = found === undefined ? [] : [found];
    }
    return verifyProofAgainstPublished(proof, operatorKeys, published);
  }

  /** POST /api/v1/transactions: submits a signed instruction as {message, publicKey, signature}. */
  submitTransaction(transaction: SignedTransactionBody): Promise<TransactionReceipt> {
    const body = { message: transaction.message, publicKey: transaction.publicKey, signature: transaction.signature };
    return this.#send(
      publicRoutes.transactions.method,
      publicRoutes.transactions.path,
      {},
      JSON.stringify(body),
    ) as Promise<TransactionReceipt>;
  }

  /**
   * Signs one instruction with this client's secret, without sending it: the
   * body for submitTransaction. Timestamps never repeat or go backwards within
   * one client, so two identical instructions stay two distinct messages.
   */
  signTransaction(instruction: string, params: InstructionParameters): SignedTransactionBody {
    const signed = this.#sign([{ instruction, params }]);
    return { message: signed.message, publicKey: signed.publicKey, signature: signed.signature };
  }

  /** Signs an instruction and submits it through POST /api/v1/transactions. */
  submitInstruction(instruction: string, params: InstructionParameters): Promise<TransactionReceipt> {
    return this.submitTransaction(this.signTransaction(instruction, params));
  }

  // ---- operator instructions (the client's secret must be an operator key) --

  /** Credits a deposit that arrived on chain to an account. */
  creditDeposit(deposit: DepositCredit): Promise<TransactionReceipt> {
    if (!isPublicKeyText(deposit.account))
      throw new ClientInputError('account must be the base64 public key of the credited account.');
    return this.submitInstruction(
      operatorInstructions.creditDeposit,
      fieldsOf(deposit, 'account', 'symbol', 'quantity', 'blockchain', 'chainTransactionId'),
    );
  }

  /** Marks a pending withdrawal as sent on chain. */
  completeWithdrawal(completion: WithdrawalCompletion): Promise<TransactionReceipt> {
    return this.submitInstruction(
      operatorInstructions.completeWithdrawal,
      fieldsOf(completion, 'withdrawalId', 'chainTransactionId'),
    );
  }

  /** Fails a pending withdrawal; its funds return to the account. */
  failWithdrawal(failure: WithdrawalFailure): Promise<TransactionReceipt> {
    return this.submitInstruction(operatorInstructions.failWithdrawal, fieldsOf(failure, 'withdrawalId', 'reason'));
  }

  /** States the reserves held in an asset (reservesStatement); every later attestation binds them. */
  stateReserves(statement: ReservesStatement): Promise<TransactionReceipt> {
    return this.submitInstruction(operatorInstructions.stateReserves, fieldsOf(statement, 'symbol', 'quantity'));
  }

  listAsset(listing: AssetListing): Promise<TransactionReceipt> {
    return this.submitInstruction(operatorInstructions.listAsset, fieldsOf(listing, 'symbol', 'decimals'));
  }

  /** Lists a market, spot or perpetual; its parameters are the engine catalogue's marketList list. */
  listMarket(listing: MarketListing): Promise<TransactionReceipt> {
    return this.submitInstruction(
      operatorInstructions.listMarket,
      fieldsOf(listing, ...marketListParameters.map((parameter) => parameter.name)),
    );
  }

  // ---- signed trader routes -----------------------------------------------

  balances(): Promise<Balances> {
    return this.#signed(signedRoutes.balances, undefined) as Promise<Balances>;
  }

  account(): Promise<JsonObject> {
    return this.#signed(signedRoutes.account, undefined) as Promise<JsonObject>;
  }

  // ---- margin (docs/api.md, "Margin"; docs/margin.md) ----------------------

  /** Borrow (side Borrow; redeems an open lend first) or lend (side Lend; repays an open borrow first). */
  borrowLend(request: { symbol: string; side: 'Borrow' | 'Lend'; quantity: string }): Promise<JsonObject> {
    return this.#signed(signedRoutes.borrowLend, { ...request }) as Promise<JsonObject>;
  }

  updateAccount(settings: {
    autoBorrowSettlements?: boolean;
    autoLend?: boolean;
    autoRepayBorrows?: boolean;
    leverageLimit?: string;
  }): Promise<JsonObject> {
    return this.#signed(signedRoutes.updateAccount, { ...settings }) as Promise<JsonObject>;
  }

  lendingPositions(): Promise<JsonObject[]> {
    return this.#signed(signedRoutes.lendingPositions, undefined) as Promise<JsonObject[]>;
  }

  marginSummary(): Promise<JsonObject> {
    return this.#signed(signedRoutes.marginSummary, undefined) as Promise<JsonObject>;
  }

  coverageShares(): Promise<JsonObject[]> {
    return this.#signed(signedRoutes.coverageShares, undefined) as Promise<JsonObject[]>;
  }

  lendingMarkets(): Promise<JsonObject[]> {
    return this.#public(publicRoutes.lendingMarkets) as Promise<JsonObject[]>;
  }

  prices(): Promise<JsonObject[]> {
    return this.#public(publicRoutes.prices) as Promise<JsonObject[]>;
  }

  // ---- perpetuals (docs/api.md; docs/perps.md) -------------------------------

  /** Mark and index prices with the current interval's estimated funding rate, of every perpetual or one. */
  markPrices(symbol?: string): Promise<JsonObject[]> {
    return this.#public(publicRoutes.markPrices, symbol === undefined ? {} : { symbol }) as Promise<JsonObject[]>;
  }

  /** A perpetual's settled funding intervals, newest first ({fundingRate, intervalEndTimestamp, symbol}). */
  fundingRates(symbol: string, limit?: number): Promise<JsonObject[]> {
    const query = limit === undefined ? { symbol } : { symbol, limit };
    return this.#public(publicRoutes.fundingRates, query) as Promise<JsonObject[]>;
  }

  /** The open interest of every perpetual or one, in base units. */
  openInterest(symbol?: string): Promise<JsonObject[]> {
    return this.#public(publicRoutes.openInterest, symbol === undefined ? {} : { symbol }) as Promise<JsonObject[]>;
  }

  /** The signer's open positions (Backpack's FuturePositionWithMargin), of every perpetual or one. */
  positions(symbol?: string): Promise<JsonObject[]> {
    return this.#signed(signedRoutes.positions, symbol === undefined ? undefined : { symbol }) as Promise<JsonObject[]>;
  }

  /** The signer's funding payments, newest first. */
  fundingPayments(symbol?: string): Promise<JsonObject[]> {
    return this.#signed(signedRoutes.fundingPayments, symbol === undefined ? undefined : { symbol }) as Promise<
      JsonObject[]
    >;
  }

  coveragePools(): Promise<JsonObject[]> {
    return this.#public(publicRoutes.coveragePools) as Promise<JsonObject[]>;
  }

  placeOrder(order: OrderRequest): Promise<Order> {
    return this.#signed(signedRoutes.placeOrder, { ...order }) as Promise<Order>;
  }

  /** POST /api/v1/orders: one signing string with one orderExecute group per order. */
  placeOrders(orders: readonly OrderRequest[]): Promise<Array<Order | { code: string; message: string }>> {
    if (orders.length === 0) throw new ClientInputError('A batch needs at least one order.');
    return this.#signed(
      signedRoutes.placeOrders,
      orders.map((order) => ({ ...order })),
    ) as Promise<Array<Order | { code: string; message: string }>>;
  }

  cancelOrder(selector: OrderSelector): Promise<Order> {
    return this.#signed(signedRoutes.cancelOrder, selectorParams(selector)) as Promise<Order>;
  }

  cancelAllOrders(symbol: string): Promise<Order[]> {
    return this.#signed(signedRoutes.cancelAllOrders, { symbol }) as Promise<Order[]>;
  }

  order(selector: OrderSelector): Promise<Order> {
    return this.#signed(signedRoutes.order, selectorParams(selector)) as Promise<Order>;
  }

  openOrders(symbol?: string): Promise<Order[]> {
    return this.#signed(signedRoutes.openOrders, { symbol }) as Promise<Order[]>;
  }

  fills(filter: FillFilter = {}): Promise<Fill[]> {
    return this.#signed(signedRoutes.fills, { ...filter }) as Promise<Fill[]>;
  }

  orderHistory(filter: OrderHistoryFilter = {}): Promise<Order[]> {
    return this.#signed(signedRoutes.orderHistory, { ...filter }) as Promise<Order[]>;
  }

  deposits(filter: CapitalFilter = {}): Promise<Deposit[]> {
    return this.#signed(signedRoutes.deposits, { ...filter }) as Promise<Deposit[]>;
  }

  depositAddress(blockchain: string): Promise<JsonObject> {
    return this.#signed(signedRoutes.depositAddress, { blockchain }) as Promise<JsonObject>;
  }

  withdrawals(filter: CapitalFilter = {}): Promise<Withdrawal[]> {
    return this.#signed(signedRoutes.withdrawals, { ...filter }) as Promise<Withdrawal[]>;
  }

  withdraw(request: WithdrawRequest): Promise<Withdrawal> {
    const params = fieldsOf(request, 'address', 'blockchain', 'quantity', 'symbol');
    return this.#signed(signedRoutes.withdraw, params) as Promise<Withdrawal>;
  }

  // ---- plumbing -------------------------------------------------------------

  #nextTimestamp(): number {
    const now = this.#now();
    if (!Number.isSafeInteger(now) || now < 0)
      throw new ClientInputError(`The clock gave ${now}, not Unix milliseconds.`);
    this.#lastTimestampMs = Math.max(now, this.#lastTimestampMs + 1);
    return this.#lastTimestampMs;
  }

  #sign(groups: readonly InstructionGroup[]): SignedMessage {
    if (this.#signer === undefined)
      throw new ClientInputError('This request is signed; create the client with a secret.');
    return this.#signer.sign(groups, {
      timestampMs: this.#nextTimestamp(),
      windowMs: this.windowMs,
      encoding: this.#encoding,
    });
  }

  #public(route: Route, query: InstructionParameters = {}): Promise<unknown> {
    return this.#send(route.method, `${route.path}${queryString(query)}`, {}, undefined);
  }

  #signed(route: SignedRoute, payload: Payload): Promise<unknown> {
    let path = route.path;
    let body: string | undefined;
    let groups: InstructionGroup[];
    if (Array.isArray(payload)) {
      const elements = payload as readonly InstructionParameters[];
      groups = elements.map((params) => ({ instruction: route.instruction, params }));
      body = JSON.stringify(elements.map(cleanObject));
    } else {
      const params = (payload ?? {}) as InstructionParameters;
      groups = [{ instruction: route.instruction, params }];
      if (route.method === 'GET') path += queryString(params);
      else body = JSON.stringify(cleanObject(params));
    }
    const headers: Record<string, string> = { ...signedHeaders(this.#sign(groups)) };
    return this.#send(route.method, path, headers, body);
  }

  async #send(
    method: string,
    pathAndQuery: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<unknown> {
    const url = `${this.baseUrl}${pathAndQuery}`;
    const init: RequestInit = { method, headers: { Accept: 'application/json', ...headers } };
    if (body !== undefined) {
      init.body = body;
      init.headers = { ...init.headers, 'Content-Type': 'application/json; charset=utf-8' };
    }
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, init);
      text = await response.text();
    } catch (error) {
      throw new ExchangeError('NETWORK_ERROR', `${method} ${url} failed: ${describeFailure(error)}`, 0);
    }
    if (!response.ok) throw errorFromResponse(response.status, response.statusText, text);
    if (text.length === 0) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ExchangeError(
        'INVALID_RESPONSE',
        `${method} ${pathAndQuery} answered with something other than JSON.`,
        response.status,
        text,
      );
    }
    // As in ccxt: a top-level `code` is an error whatever the status.
    if (isErrorBody(parsed)) throw errorFromResponse(response.status, response.statusText, text);
    return parsed;
  }
}
