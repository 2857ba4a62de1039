/**
 * The margin state as Backpack's JSON shapes (docs/api.md, "Margin"): lending
 * markets, collateral functions, an account's borrow/lend positions and its
 * margin summary. Every figure is read from the node's state at the state's
 * log time (interest accrued to the last accepted entry, as the engine would
 * count it), so two reads of one state agree. Units and wad fractions become
 * decimal strings here and nowhere else.
 */
import {
  accountHealth,
  borrowedUnits,
  borrowRate,
  collateralWeight,
  formatDecimal,
  isExpiredLend,
  isLiquidatable,
  lendRate,
  lentUnits,
  marginFraction,
  settlementDecimals,
  totalBorrowedUnits,
  totalLentUnits,
  utilization,
  valueUnits,
  wadDecimals,
  type Account,
  type Asset,
  type AssetMargin,
  type ExchangeState,
  type MarginResultValue,
} from '@vex/engine';

export type MarginAsset = Asset & { readonly margin: AssetMargin };

export function fraction(value: bigint): string {
  return formatDecimal(value, wadDecimals);
}

export function assetUnits(asset: Asset, units: bigint): string {
  return formatDecimal(units, asset.decimals);
}

/** The borrowable assets, in listing order. */
export function marginAssets(state: ExchangeState): MarginAsset[] {
  return state.assets.filter((asset): asset is MarginAsset => asset.margin !== undefined);
}

export function sqrtFunction(base: bigint, factor: bigint): { type: 'sqrt'; base: string; factor: string } {
  return { type: 'sqrt', base: fraction(base), factor: fraction(factor) };
}

/** GET /api/v1/borrowLend/markets, one element. */
export function wireLendingMarket(state: ExchangeState, asset: MarginAsset): Record<string, unknown> {
  const { parameters, lendingPool } = asset.margin;
  const used = utilization(lendingPool);
  return {
    state: 'Open',
    assetMarkPrice: fraction(asset.margin.indexPrice),
    borrowInterestRate: fraction(borrowRate(parameters, used)),
    borrowedQuantity: assetUnits(asset, totalBorrowedUnits(lendingPool)),
    fee: fraction(parameters.lendFee),
    lendInterestRate: fraction(lendRate(parameters, used)),
    lentQuantity: assetUnits(asset, totalLentUnits(lendingPool)),
    maxUtilization: fraction(parameters.maxUtilization),
    openBorrowLendLimit: assetUnits(asset, lendingPool.cashUnits),
    optimalUtilization: fraction(parameters.optimalUtilization),
    symbol: asset.symbol,
    timestamp: new Date(state.logTimeMs).toISOString(),
    utilization: fraction(used),
    stepSize: formatDecimal(1n, asset.decimals),
  };
}

/** GET /api/v1/collateral, one element. */
export function wireCollateralFunctions(asset: MarginAsset): Record<string, unknown> {
  const parameters = asset.margin.parameters;
  const weight = fraction(parameters.collateralWeight);
  return {
    symbol: asset.symbol,
    imfFunction: sqrtFunction(parameters.imfBase, parameters.imfFactor),
    mmfFunction: sqrtFunction(parameters.mmfBase, parameters.mmfFactor),
    haircutFunction: {
      weight,
      kind:
        parameters.haircutPenalty === 0n
          ? { type: 'identity' }
          : { type: 'inverseSqrt', base: weight, positiveCurvePenalty: fraction(parameters.haircutPenalty) },
    },
  };
}

/** GET /api/v1/borrowLend/positions: one element per asset the account lends or borrows. */
export function wireLendingPositions(
  state: ExchangeState,
  account: Account | undefined,
): Array<Record<string, unknown>> {
  if (account === undefined) return [];
  const timeMs = state.logTimeMs;
  const decimals = settlementDecimals(state);
  const positions: Array<Record<string, unknown>> = [];
  for (const balance of account.balances) {
    // A lend wiped by a new supply epoch (docs/margin.md, section 5.2a) is no position, though not yet cleared.
    if (balance === undefined || (balance.borrowScaled === 0n && (balance.lendScaled === 0n || isExpiredLend(balance))))
      continue;
    const asset = balance.asset as MarginAsset;
    const { parameters, indexPrice } = asset.margin;
    const borrowed = borrowedUnits(balance, timeMs);
    const net = lentUnits(balance, timeMs) - borrowed;
    const exposureValue = valueUnits(borrowed, asset, indexPrice, decimals, true);
    positions.push({
      id: `${asset.symbol}`,
      symbol: asset.symbol,
      netQuantity: assetUnits(asset, net),
      markPrice: fraction(indexPrice),
      // Lends carry no exposure; a borrow's exposure is what is owed.
      netExposureQuantity: assetUnits(asset, borrowed),
      netExposureNotional: formatDecimal(exposureValue, decimals),
      imf: fraction(
        marginFraction(
          parameters.imfBase,
          parameters.imfFactor,
          exposureValue,
          decimals,
          account.settings.leverageLimit,
        ),
      ),
      imfFunction: sqrtFunction(parameters.imfBase, parameters.imfFactor),
      mmf: fraction(marginFraction(parameters.mmfBase, parameters.mmfFactor, exposureValue, decimals, 0n)),
      mmfFunction: sqrtFunction(parameters.mmfBase, parameters.mmfFactor),
    });
  }
  return positions;
}

function wireCollateralAsset(
  state: ExchangeState,
  account: Account,
  asset: MarginAsset,
): Record<string, unknown> | undefined {
  const balance = account.balances[asset.index];
  if (balance === undefined) return undefined;
  const decimals = settlementDecimals(state);
  const lent = lentUnits(balance, state.logTimeMs);
  const total = balance.available + balance.locked + lent;
  if (total === 0n) return undefined;
  const price = asset.margin.indexPrice;
  const value = price === 0n ? 0n : valueUnits(total, asset, price, decimals, false);
  const weight = collateralWeight(asset.margin.parameters, value, decimals);
  return {
    symbol: asset.symbol,
    assetMarkPrice: fraction(price),
    totalQuantity: assetUnits(asset, total),
    balanceNotional: formatDecimal(value, decimals),
    collateralWeight: fraction(weight),
    collateralValue: formatDecimal((value * weight) / 10n ** BigInt(wadDecimals), decimals),
    openOrderQuantity: assetUnits(asset, balance.locked),
    lendQuantity: assetUnits(asset, lent),
    availableQuantity: assetUnits(asset, balance.available),
  };
}

/**
 * GET /api/v1/capital/collateral: the account's health in Backpack's
 * MarginAccountSummary shape. netEquityLocked is the initial requirement of
 * the account's debts (what new exposure may not eat into); imf and mmf are
 * the requirements as fractions of the liabilities, marginFraction is net
 * equity over liabilities (null without debt), all rounded as the engine
 * rounds them (docs/margin.md, "Health").
 */
export function wireMarginSummary(state: ExchangeState, account: Account | undefined): Record<string, unknown> {
  const decimals = settlementDecimals(state);
  const money = (value: bigint): string => formatDecimal(value, decimals);
  if (account === undefined) {
    const zero = money(0n);
    return {
      assetsValue: zero,
      borrowLiability: zero,
      collateral: [],
      imf: '0',
      mmf: '0',
      unsettledEquity: zero,
      liabilitiesValue: zero,
      marginFraction: null,
      netEquity: zero,
      netEquityAvailable: zero,
      netEquityLocked: zero,
      netExposureFutures: zero,
      pnlUnrealized: zero,
      liquidating: false,
    };
  }
  const health = accountHealth(state, account, state.logTimeMs);
  const collateral = marginAssets(state)
    .map((asset) => wireCollateralAsset(state, account, asset))
    .filter((entry): entry is Record<string, unknown> => entry !== undefined);
  const liabilities = health.liabilityValue;
  const ratio = (value: bigint): string =>
    liabilities === 0n ? '0' : fraction((value * 10n ** BigInt(wadDecimals)) / liabilities);
  const available = health.netEquity - health.initialRequirement;
  return {
    assetsValue: money(health.collateralValue),
    borrowLiability: money(liabilities),
    collateral,
    imf: ratio(health.initialRequirement),
    mmf: ratio(health.maintenanceRequirement),
    unsettledEquity: money(0n),
    liabilitiesValue: money(liabilities),
    marginFraction: liabilities === 0n ? null : ratio(health.netEquity),
    netEquity: money(health.netEquity),
    netEquityAvailable: money(available > 0n ? available : 0n),
    netEquityLocked: money(health.initialRequirement),
    netExposureFutures: money(0n),
    pnlUnrealized: money(0n),
    liquidating: isLiquidatable(state, account, state.logTimeMs),
  };
}

/** GET /api/v1/account: the settings and counts (Backpack's AccountSummary, the fields this exchange has). */
export function wireAccountSummary(state: ExchangeState, account: Account | undefined): Record<string, unknown> {
  const settings = account?.settings;
  return {
    autoBorrowSettlements: settings?.autoBorrowSettlements ?? false,
    autoLend: settings?.autoLend ?? false,
    autoRealizePnl: false,
    autoRepayBorrows: settings?.autoRepayBorrows ?? false,
    leverageLimit: fraction(settings?.leverageLimit ?? 0n),
    limitOrders: account?.openOrderCount ?? 0,
    liquidating: account === undefined ? false : isLiquidatable(state, account, state.logTimeMs),
  };
}

/** The liquidation case of wireMarginResult: amounts in the assets' decimals, the fee in settlement decimals. */
function wireLiquidation(
  view: Extract<MarginResultValue, { kind: 'liquidation' }>['liquidation'],
  units: (symbol: string, amount: bigint) => string,
  fee: string,
  settlementUnits: (amount: bigint) => string,
  baseUnits: (market: string, amount: bigint) => string,
): Record<string, unknown> {
  return {
    ok: true,
    kind: 'liquidation',
    account: view.account,
    liquidator: view.liquidator,
    cancelledOrders: view.cancelledOrders,
    bookTrades: view.bookTrades.map((trade) => ({
      symbol: trade.asset,
      quantity: units(trade.asset, trade.units),
    })),
    debts: view.debts.map((debt) => ({
      symbol: debt.asset,
      repaidByAccount: units(debt.asset, debt.repaidByAccountUnits),
      paidByCoveragePool: units(debt.asset, debt.paidByCoveragePoolUnits),
      socialised: units(debt.asset, debt.socialisedUnits),
    })),
    backstop: view.backstop.map((taken) => ({
      symbol: taken.asset,
      quantity: units(taken.asset, taken.units),
      shares: taken.shares.toString(),
    })),
    // Perpetual positions closed by the step (docs/perps.md, "Liquidation and ADL"), when the account held any.
    ...(view.positions === undefined
      ? {}
      : {
          positions: view.positions.map((record) => ({
            symbol: record.market,
            systemOrderType: record.systemOrderType,
            quantity: baseUnits(record.market, record.quantityUnits),
            quoteQuantity: settlementUnits(record.quoteUnits),
            counterparty: record.counterparty ?? null,
          })),
          positionBudget: settlementUnits(view.positionBudgetUnits ?? 0n),
          positionClosed: settlementUnits(view.positionClosedUnits ?? 0n),
        }),
    fee,
    // The gradual step's figures (docs/margin.md, section 8), in the settlement asset.
    step: {
      netEquityBefore: settlementUnits(view.netEquityBefore),
      maintenanceRequirementBefore: settlementUnits(view.maintenanceRequirementBefore),
      budget: settlementUnits(view.budgetValue),
      closed: settlementUnits(view.closedValue),
      backstopped: view.backstopped,
      netEquityAfter: settlementUnits(view.netEquityAfter),
      maintenanceRequirementAfter: settlementUnits(view.maintenanceRequirementAfter),
      initialRequirementAfter: settlementUnits(view.initialRequirementAfter),
    },
  };
}

/** A margin instruction's result for POST /api/v1/transactions (docs/api.md, "Margin, native"). */
export function wireMarginResult(state: ExchangeState, value: MarginResultValue): Record<string, unknown> {
  const units = (symbol: string, amount: bigint): string => {
    const asset = state.assetsBySymbol.get(symbol);
    return asset === undefined ? amount.toString() : assetUnits(asset, amount);
  };
  const settlement = settlementDecimals(state);
  switch (value.kind) {
    case 'borrowLend': {
      const view = value.borrowLend;
      return {
        ok: true,
        kind: 'borrowLend',
        symbol: view.asset,
        side: view.side,
        quantity: units(view.asset, view.quantityUnits),
        offsetQuantity: units(view.asset, view.offsetUnits),
        netQuantity: units(view.asset, view.netQuantityUnits),
      };
    }
    case 'accountUpdated':
      return {
        ok: true,
        kind: 'accountUpdated',
        ...value.settings,
        leverageLimit: fraction(value.settings.leverageLimit),
      };
    case 'price':
      return {
        ok: true,
        kind: 'price',
        symbol: value.price.asset,
        indexPrice: fraction(value.price.indexPrice),
        publishedAtMs: value.price.publishedAtMs,
      };
    case 'liquidation':
      return wireLiquidation(
        value.liquidation,
        units,
        formatDecimal(value.liquidation.feeUnits, settlement),
        (amount) => formatDecimal(amount, settlement),
        (market, amount) => formatDecimal(amount, state.marketsBySymbol.get(market)?.base.decimals ?? 0),
      );
    case 'coveragePool': {
      const view = value.coveragePool;
      return {
        ok: true,
        kind: 'coveragePool',
        symbol: view.asset,
        action: view.action,
        quantity: units(view.asset, view.units),
        shares: view.shares.toString(),
        poolHoldings: units(view.asset, view.poolHoldingsUnits),
        poolTotalShares: view.poolTotalShares.toString(),
      };
    }
  }
}
