/**
 * The REST routes the SDK calls: Backpack's (shared/backpack-api.md) and the
 * exchange's native ones. Signed routes carry the instruction their signing
 * string starts with.
 */
export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  readonly path: string;
}
export interface SignedRoute extends Route {
  readonly instruction: string;
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
} as const satisfies Record<string, Route>;

export const signedRoutes = {
  balances: { method: 'GET', path: '/api/v1/capital', instruction: 'balanceQuery' },
  account: { method: 'GET', path: '/api/v1/account', instruction: 'accountQuery' },
  placeOrder: { method: 'POST', path: '/api/v1/order', instruction: 'orderExecute' },
  placeOrders: { method: 'POST', path: '/api/v1/orders', instruction: 'orderExecute' },
  cancelOrder: { method: 'DELETE', path: '/api/v1/order', instruction: 'orderCancel' },
  cancelAllOrders: { method: 'DELETE', path: '/api/v1/orders', instruction: 'orderCancelAll' },
  order: { method: 'GET', path: '/api/v1/order', instruction: 'orderQuery' },
  openOrders: { method: 'GET', path: '/api/v1/orders', instruction: 'orderQueryAll' },
  fills: { method: 'GET', path: '/wapi/v1/history/fills', instruction: 'fillHistoryQueryAll' },
  orderHistory: { method: 'GET', path: '/wapi/v1/history/orders', instruction: 'orderHistoryQueryAll' },
  deposits: { method: 'GET', path: '/wapi/v1/capital/deposits', instruction: 'depositQueryAll' },
  depositAddress: { method: 'GET', path: '/wapi/v1/capital/deposit/address', instruction: 'depositAddressQuery' },
  withdrawals: { method: 'GET', path: '/wapi/v1/capital/withdrawals', instruction: 'withdrawalQueryAll' },
  withdraw: { method: 'POST', path: '/wapi/v1/capital/withdrawals', instruction: 'withdraw' },
  /** Native: the signer's inclusion proof under the latest attestation. */
  proof: { method: 'GET', path: '/wapi/v1/proof', instruction: 'proofQuery' },
  /** Native, operator keys only: every account's pending withdrawals. */
  operatorWithdrawals: {
    method: 'GET',
    path: '/api/v1/operator/withdrawals',
    instruction: 'operatorWithdrawalQueryAll',
  },
  /** Margin (docs/api.md, "Margin"). */
  borrowLend: { method: 'POST', path: '/api/v1/borrowLend', instruction: 'borrowLendExecute' },
  updateAccount: { method: 'PATCH', path: '/api/v1/account', instruction: 'accountUpdate' },
  lendingPositions: { method: 'GET', path: '/api/v1/borrowLend/positions', instruction: 'borrowLendPositionQuery' },
  marginSummary: { method: 'GET', path: '/api/v1/capital/collateral', instruction: 'collateralQuery' },
  coverageShares: { method: 'GET', path: '/wapi/v1/coveragePool', instruction: 'coveragePoolQuery' },
} as const satisfies Record<string, SignedRoute>;

/** Operator instructions, submitted through POST /api/v1/transactions. */
export const operatorInstructions = {
  creditDeposit: 'depositCredit',
  completeWithdrawal: 'withdrawalComplete',
  failWithdrawal: 'withdrawalFail',
  listAsset: 'assetList',
  listMarket: 'marketList',
  stateReserves: 'reservesStatement',
} as const;
