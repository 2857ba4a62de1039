/**
 * The REST routes the SDK calls: Backpack's (shared/backpack-api.md) and the
 * exchange's native ones. Signed routes carry the instruction their signing
 * string starts with. The signed Backpack routes come from the engine's
 * instruction catalogue (docs/protocol.md, "Instructions"): the SDK names the
 * instruction and takes the method and path from there, so the client and the
 * server read one route table.
 */
import { catalogueSignedRoutes, type TransactionName } from '@vex/engine/catalogue';

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  readonly path: string;
}
export interface SignedRoute extends Route {
  readonly instruction: string;
}

/**
 * The catalogue's route for `instruction`: its `index`-th one when the
 * instruction has several (orderExecute: the single order, then the batch).
 * A name the catalogue does not route throws as the module loads.
 */
function catalogueRoute(instruction: TransactionName | string, index = 0): SignedRoute {
  const route = catalogueSignedRoutes.filter((candidate) => candidate.instruction === instruction)[index];
  if (route === undefined) throw new Error(`The instruction catalogue has no route ${index} for ${instruction}.`);
  return { method: route.method, path: route.path, instruction };
}

export const publicRoutes = {
  assets: { method: 'GET', path: '/api/v1/assets' },
  markets: { method: 'GET', path: '/api/v1/markets' },
  depth: { method: 'GET', path: '/api/v1/depth' },
  trades: { method: 'GET', path: '/api/v1/trades' },
  /** Native: node status. */
  status: { method: 'GET', path: '/api/v1/status' },
  /** Native: submit a signed instruction (operator instructions). */
  transactions: { method: 'POST', path: '/api/v1/transactions' },
  /** Native: the genesis (operator keys) and its hash. */
  genesis: { method: 'GET', path: '/api/v1/genesis' },
  /** Native: attestations (latest, ?sequence=, ?from=&limit=). */
  attestations: { method: 'GET', path: '/api/v1/attestations' },
  /** Native: every attestation as JSON Lines. */
  attestationsExport: { method: 'GET', path: '/api/v1/attestations/export' },
  /** Native: stated reserves against the attested liabilities. */
  reserves: { method: 'GET', path: '/api/v1/reserves' },
  /** Native: the latest snapshot record (bytes). */
  snapshot: { method: 'GET', path: '/api/v1/snapshot' },
  /** Margin (docs/api.md, "Margin"): lending markets, index prices, coverage pools. */
  lendingMarkets: { method: 'GET', path: '/api/v1/borrowLend/markets' },
  prices: { method: 'GET', path: '/api/v1/prices' },
  coveragePools: { method: 'GET', path: '/api/v1/coveragePool' },
  /** Perpetuals (docs/api.md, "GET /api/v1/markPrices" and after). */
  markPrices: { method: 'GET', path: '/api/v1/markPrices' },
  fundingRates: { method: 'GET', path: '/api/v1/fundingRates' },
  openInterest: { method: 'GET', path: '/api/v1/openInterest' },
} as const satisfies Record<string, Route>;

export const signedRoutes = {
  balances: catalogueRoute('balanceQuery'),
  account: catalogueRoute('accountQuery'),
  placeOrder: catalogueRoute('orderExecute', 0),
  placeOrders: catalogueRoute('orderExecute', 1),
  cancelOrder: catalogueRoute('orderCancel'),
  cancelAllOrders: catalogueRoute('orderCancelAll'),
  order: catalogueRoute('orderQuery'),
  openOrders: catalogueRoute('orderQueryAll'),
  fills: catalogueRoute('fillHistoryQueryAll'),
  orderHistory: catalogueRoute('orderHistoryQueryAll'),
  deposits: catalogueRoute('depositQueryAll'),
  depositAddress: catalogueRoute('depositAddressQuery'),
  withdrawals: catalogueRoute('withdrawalQueryAll'),
  withdraw: catalogueRoute('withdraw'),
  // The exchange's native signed routes: the catalogue lists Backpack's routes
  // only; the API names these instructions itself (routes-verification.ts, routes-native.ts).
  /** Native: the signer's inclusion proof under the latest attestation. */
  proof: { method: 'GET', path: '/wapi/v1/proof', instruction: 'proofQuery' },
  /** Native, operator keys only: every account's pending withdrawals. */
  operatorWithdrawals: {
    method: 'GET',
    path: '/api/v1/operator/withdrawals',
    instruction: 'operatorWithdrawalQueryAll',
  },
  /** Margin (docs/api.md, "Margin"). */
  borrowLend: catalogueRoute('borrowLendExecute'),
  updateAccount: catalogueRoute('accountUpdate'),
  lendingPositions: catalogueRoute('borrowLendPositionQuery'),
  marginSummary: catalogueRoute('collateralQuery'),
  /** Native: the signer's coverage pool shares. */
  coverageShares: { method: 'GET', path: '/wapi/v1/coveragePool', instruction: 'coveragePoolQuery' },
  /** Perpetuals: the signer's open positions and funding payments. */
  positions: catalogueRoute('positionQuery'),
  fundingPayments: { method: 'GET', path: '/wapi/v1/history/funding', instruction: 'fundingHistoryQueryAll' },
} as const satisfies Record<string, SignedRoute>;

/** Operator instructions, submitted through POST /api/v1/transactions. */
export const operatorInstructions = {
  creditDeposit: 'depositCredit',
  completeWithdrawal: 'withdrawalComplete',
  failWithdrawal: 'withdrawalFail',
  listAsset: 'assetList',
  listMarket: 'marketList',
  stateReserves: 'reservesStatement',
} as const satisfies Record<string, TransactionName>;
