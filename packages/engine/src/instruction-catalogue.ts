/**
 * The one catalogue of instructions: every signed instruction name, whether
 * only an operator key may sign it, the Backpack REST routes that carry it,
 * and the enum value lists its fields take. The parser (instruction.ts), the
 * request signing (request-signing.ts), the state codec and, later, the
 * client and CLI derive from this table rather than repeat it. A transaction
 * kind missing here, or a name here that is not a transaction kind, is a
 * compile error (instruction-catalogue-check.ts; this module imports nothing,
 * so browser bundles take it as plain data). See docs/protocol.md, "Instructions".
 */

/** The values each enumerated field takes, in their encoding order (the state codec writes the index). */
export const enumValues = {
  side: ['Bid', 'Ask'],
  orderType: ['Limit', 'Market'],
  timeInForce: ['GTC', 'IOC', 'FOK'],
  selfTradePrevention: ['RejectTaker', 'RejectMaker', 'RejectBoth', 'Allow'],
  triggerBy: ['LastPrice'],
  borrowLendSide: ['Borrow', 'Lend'],
  marketType: ['SPOT', 'PERP'],
} as const;

/**
 * How a marketList parameter is written in a config file or a client call:
 * `text` a string, `decimal` a plain decimal string, `integer` a
 * non-negative safe integer, `signedInteger` a safe integer of either sign.
 * Signed, every value is its decimal text.
 */
export type ListingParameterKind = 'text' | 'decimal' | 'integer' | 'signedInteger';

/**
 * The marketList parameters in the order a listing is written: the spot
 * fields every market has (the optional ones last), then the perpetual
 * fields, which only a `marketType: PERP` listing takes (docs/perps.md,
 * "Listing"). The API's config parser and the client's listMarket derive
 * from this list; the engine's parser (instruction.ts) reads the same names.
 */
export const marketListParameters = [
  { name: 'symbol', kind: 'text', required: true },
  { name: 'baseSymbol', kind: 'text', required: true },
  { name: 'quoteSymbol', kind: 'text', required: true },
  { name: 'tickSize', kind: 'decimal', required: true },
  { name: 'stepSize', kind: 'decimal', required: true },
  { name: 'minQuantity', kind: 'decimal', required: true },
  { name: 'maxQuantity', kind: 'decimal', required: true },
  { name: 'minPrice', kind: 'decimal', required: true },
  { name: 'maxPrice', kind: 'decimal', required: true },
  { name: 'makerFeeBps', kind: 'integer', required: true },
  { name: 'takerFeeBps', kind: 'integer', required: true },
  { name: 'maxOpenOrders', kind: 'integer', required: false },
  { name: 'maxMakersPerOrder', kind: 'integer', required: false },
  { name: 'minOrderValue', kind: 'decimal', required: false },
  // Perpetual futures (docs/perps.md, "Listing"); absent on a spot market.
  { name: 'marketType', kind: 'text', required: false },
  { name: 'imfBase', kind: 'decimal', required: false },
  { name: 'imfFactor', kind: 'decimal', required: false },
  { name: 'mmfBase', kind: 'decimal', required: false },
  { name: 'mmfFactor', kind: 'decimal', required: false },
  { name: 'fundingIntervalMs', kind: 'integer', required: false },
  { name: 'fundingRateUpperBoundBps', kind: 'signedInteger', required: false },
  { name: 'fundingRateLowerBoundBps', kind: 'signedInteger', required: false },
  { name: 'openInterestLimit', kind: 'decimal', required: false },
  { name: 'markBandMaxMultiplier', kind: 'decimal', required: false },
  { name: 'markBandMinMultiplier', kind: 'decimal', required: false },
] as const satisfies ReadonlyArray<{
  readonly name: string;
  readonly kind: ListingParameterKind;
  readonly required: boolean;
}>;

export type MarketListParameterName = (typeof marketListParameters)[number]['name'];

export interface SignedRoute {
  readonly method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  readonly path: string;
}

export interface TransactionCatalogueEntry {
  /** Only a key listed in the genesis' operatorKeys may sign it. */
  readonly operatorOnly: boolean;
  /** The Backpack REST routes whose signed requests carry this instruction (empty: native or operator routes). */
  readonly routes: readonly SignedRoute[];
}

/** Every transaction instruction (logged when accepted). */
export const transactionCatalogue = {
  orderExecute: {
    operatorOnly: false,
    routes: [
      { method: 'POST', path: '/api/v1/order' },
      { method: 'POST', path: '/api/v1/orders' },
    ],
  },
  orderCancel: { operatorOnly: false, routes: [{ method: 'DELETE', path: '/api/v1/order' }] },
  orderCancelAll: { operatorOnly: false, routes: [{ method: 'DELETE', path: '/api/v1/orders' }] },
  withdraw: { operatorOnly: false, routes: [{ method: 'POST', path: '/wapi/v1/capital/withdrawals' }] },
  borrowLendExecute: { operatorOnly: false, routes: [{ method: 'POST', path: '/api/v1/borrowLend' }] },
  accountUpdate: { operatorOnly: false, routes: [{ method: 'PATCH', path: '/api/v1/account' }] },
  /** Any key may sign a liquidation (a keeper); the engine accepts it only when it is justified. */
  liquidate: { operatorOnly: false, routes: [] },
  /** Signed by the deposit token's custodian key named in the genesis, never by the operator (docs/attestation.md). */
  custodianReservesStatement: { operatorOnly: false, routes: [] },
  coveragePoolDeposit: { operatorOnly: false, routes: [] },
  coveragePoolWithdrawRequest: { operatorOnly: false, routes: [] },
  coveragePoolWithdraw: { operatorOnly: false, routes: [] },
  /** A trader links the Ethereum address the custody vault pays its exit to (docs/custody.md). */
  exitAddressLink: { operatorOnly: false, routes: [] },
  depositCredit: { operatorOnly: true, routes: [] },
  withdrawalComplete: { operatorOnly: true, routes: [] },
  withdrawalFail: { operatorOnly: true, routes: [] },
  /** The operator answers a forced-exit request filed on the custody vault (docs/custody.md). */
  forcedExitServe: { operatorOnly: true, routes: [] },
  assetList: { operatorOnly: true, routes: [] },
  marketList: { operatorOnly: true, routes: [] },
  reservesStatement: { operatorOnly: true, routes: [] },
  attestationRecord: { operatorOnly: true, routes: [] },
  borrowLendMarketList: { operatorOnly: true, routes: [] },
  indexPriceUpdate: { operatorOnly: true, routes: [] },
} as const satisfies Record<string, TransactionCatalogueEntry>;

/** The signed Backpack routes of the queries (signed reads, never logged). */
export const queryRoutes: ReadonlyArray<SignedRoute & { readonly instruction: string }> = [
  { method: 'GET', path: '/api/v1/capital', instruction: 'balanceQuery' },
  { method: 'GET', path: '/api/v1/order', instruction: 'orderQuery' },
  { method: 'GET', path: '/api/v1/orders', instruction: 'orderQueryAll' },
  { method: 'GET', path: '/wapi/v1/history/fills', instruction: 'fillHistoryQueryAll' },
  { method: 'GET', path: '/wapi/v1/history/orders', instruction: 'orderHistoryQueryAll' },
  { method: 'GET', path: '/wapi/v1/capital/deposits', instruction: 'depositQueryAll' },
  { method: 'GET', path: '/wapi/v1/capital/withdrawals', instruction: 'withdrawalQueryAll' },
  { method: 'GET', path: '/wapi/v1/capital/deposit/address', instruction: 'depositAddressQuery' },
  { method: 'GET', path: '/api/v1/account', instruction: 'accountQuery' },
  { method: 'GET', path: '/api/v1/position', instruction: 'positionQuery' },
  // Margin (docs/margin.md, docs/api.md "Margin").
  { method: 'GET', path: '/api/v1/borrowLend/positions', instruction: 'borrowLendPositionQuery' },
  { method: 'GET', path: '/api/v1/capital/collateral', instruction: 'collateralQuery' },
  { method: 'GET', path: '/api/v1/account/limits/borrow', instruction: 'maxBorrowQuantity' },
  { method: 'GET', path: '/api/v1/account/limits/withdrawal', instruction: 'maxWithdrawalQuantity' },
  { method: 'GET', path: '/api/v1/account/limits/order', instruction: 'maxOrderQuantity' },
  { method: 'GET', path: '/wapi/v1/history/borrowLend', instruction: 'borrowHistoryQueryAll' },
  { method: 'GET', path: '/wapi/v1/history/interest', instruction: 'interestHistoryQueryAll' },
  { method: 'GET', path: '/wapi/v1/history/borrowLend/positions', instruction: 'borrowPositionHistoryQueryAll' },
  // Perpetuals (docs/perps.md, docs/api.md "Perpetuals").
  { method: 'GET', path: '/wapi/v1/history/funding', instruction: 'fundingHistoryQueryAll' },
  { method: 'GET', path: '/wapi/v1/history/settlement', instruction: 'settlementHistoryQueryAll' },
  { method: 'GET', path: '/wapi/v1/history/position', instruction: 'positionHistoryQueryAll' },
];

export type TransactionName = keyof typeof transactionCatalogue;

// determinism-reviewed: string keys of a literal iterate in insertion order; only routes and a set derive from it.
export const transactionNames: readonly TransactionName[] = Object.keys(transactionCatalogue) as TransactionName[];

/** The transaction kinds only an operator key may sign. */
export const operatorOnlyNames: readonly TransactionName[] = transactionNames.filter(
  (name) => transactionCatalogue[name].operatorOnly,
);

/** Every signed route, transactions first in catalogue order, then the queries. */
export const catalogueSignedRoutes: ReadonlyArray<SignedRoute & { readonly instruction: string }> = [
  ...transactionNames.flatMap((name) =>
    (transactionCatalogue[name].routes as readonly SignedRoute[]).map((route) => ({ ...route, instruction: name })),
  ),
  ...queryRoutes,
];
