export * from './account-id.js';
export * from './apply.js';
export * from './decimal.js';
export * from './events.js';
export * from './instruction.js';
export * from './instruction-catalogue.js';
export * from './invariants.js';
export * from './limits.js';
export { formatPrice, formatQuantity } from './listing.js';
export type { PerpMarketState, PerpParameters, SqrtMarginFunction } from './perps/perp-market.js';
export { estimatedFundingRate } from './perps/funding.js';
export {
  newPosition,
  settlementUnitsTowardPositive,
  unrealisedPnlUnits,
  type Position,
} from './perps/position.js';
export { marginFractionOf, notionalUnitsUp } from './perps/position-health.js';
export { movePosition } from './perps/perp-settlement.js';
export { accountsHoldingPositions } from './perps/position-holders.js';
export { coveragePoolAccountId } from './perps/pool-positions.js';
export { adlRankOf, adlCounterpartiesPerStep } from './perps/adl-rank.js';
export type { PositionLiquidationRecord, PositionSystemOrderType } from './perps/perp-liquidation.js';
export {
  placeOrder,
  cancelOrder,
  cancelAllOrders,
  fireTriggers,
  reservationUnits,
  viewOrder,
  type AttachedViews,
  type OrderParameters,
  type TriggerParameters,
} from './matching.js';
export { resolveOrderRequest, parsePriceTicks, parseQuantitySteps, parseAmountUnits } from './order-request.js';
export * from './replay-protection.js';
export * from './result-codes.js';
export * from './signature.js';
export * from './signing-string.js';
export * from './state.js';
export * from './views.js';
export * from './state-codec.js';
export * from './state-commitment.js';
export { StateChanges } from './state-changes.js';
export { ByteDecodeError } from './byte-codec.js';
export * from './request-signing.js';
export * from './log-format.js';
export * from './log-export-reader.js';
export * from './snapshot-record.js';
export * from './attestation.js';
export * from './candles.js';
export * from './inclusion-proof.js';
export * from './liabilities-tree.js';
export { pendingPerpUnitsByAsset } from './liabilities-perps.js';
export * from './attestation-record.js';
export * from './proof-basis.js';
// Margin (docs/margin.md): what the API, the keeper and the client read.
export * from './margin-state.js';
export * from './margin-views.js';
export {
  accountHealth,
  isLiquidatable,
  meetsInitialMargin,
  collateralWeight,
  marginFraction,
  settlementDecimals,
  type AccountHealth,
  type HealthAdjustment,
} from './health.js';
export { stressFigure } from './stress.js';
export {
  borrowRate,
  lendRate,
  totalBorrowedUnits,
  totalLentUnits,
  utilization,
  lentUnits,
  borrowedUnits,
  isExpiredLend,
} from './lending-pool.js';
export { netQuantityUnits } from './borrow-lend.js';
export { borrowLendHoles, reservesAttestation, reservesReport, type AssetReserves } from './reserves-report.js';
export { valueUnits, type PriceView } from './index-prices.js';
export { wad, wadDecimals } from './margin-fixed-point.js';
export { borrowLendListingDecimals } from './margin-instruction-parser.js';
export { forcedExitBlockchain, type ForcedExitView, type ForcedExitServeInstruction } from './forced-exit.js';
