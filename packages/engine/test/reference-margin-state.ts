/**
 * The margin reference model's state (docs/margin.md sections 4, 5, 9):
 * plain maps keyed by asset symbol and by `${account}/${asset}`, nothing
 * derived or cached. Part of the naive margin reference model
 * (reference-margin-model.ts).
 */
import type { MarginParameters } from '../src/margin-state.js';

/** The listing parameters of section 5.1, fractions in wad (the engine's type; only types are shared). */
export type ModelMarginParameters = MarginParameters;

export interface ModelPool {
  readonly parameters: ModelMarginParameters;
  /** Wad; 0 before the first update. */
  indexPrice: bigint;
  publishedAtMs: number;
  borrowIndex: bigint;
  supplyIndex: bigint;
  accruedAtMs: number;
  totalBorrowScaled: bigint;
  totalSupplyScaled: bigint;
  cashUnits: bigint;
  /** 5.2a: grows by one when a socialised loss wipes every lend. */
  supplyEpoch: number;
}

export interface ModelPosition {
  lendScaled: bigint;
  /** The supply epoch the lend was opened in (0 with no lend); an earlier epoch's lend is worth nothing. */
  lendEpoch: number;
  borrowScaled: bigint;
}

export interface ModelCoveragePool {
  holdingsUnits: bigint;
  totalShares: bigint;
  shares: Map<string, bigint>;
  requests: Map<string, { shares: bigint; requestedAtMs: number }>;
}

export interface ModelSettings {
  autoBorrowSettlements: boolean;
  autoLend: boolean;
  autoRepayBorrows: boolean;
  /** Wad; 0 when none is set. */
  leverageLimit: bigint;
}

export interface MarginData {
  /** Borrowable assets by symbol, in listing order. */
  pools: Map<string, ModelPool>;
  positions: Map<string, ModelPosition>;
  coverage: Map<string, ModelCoveragePool>;
  settings: Map<string, ModelSettings>;
}

export const SETTLEMENT = 'USDC';

export function emptyMarginData(): MarginData {
  return { pools: new Map(), positions: new Map(), coverage: new Map(), settings: new Map() };
}

export function copyMarginData(margin: MarginData): MarginData {
  return {
    pools: new Map([...margin.pools].map(([symbol, pool]) => [symbol, { ...pool }])),
    positions: new Map([...margin.positions].map(([key, position]) => [key, { ...position }])),
    coverage: new Map(
      [...margin.coverage].map(([symbol, pool]) => [
        symbol,
        { ...pool, shares: new Map(pool.shares), requests: new Map(pool.requests) },
      ]),
    ),
    settings: new Map([...margin.settings].map(([account, settings]) => [account, { ...settings }])),
  };
}

export function positionOf(margin: MarginData, account: string, asset: string): ModelPosition {
  const key = `${account}/${asset}`;
  let position = margin.positions.get(key);
  if (position === undefined) {
    position = { lendScaled: 0n, lendEpoch: 0, borrowScaled: 0n };
    margin.positions.set(key, position);
  }
  return position;
}

export function settingsOf(margin: MarginData, account: string): ModelSettings {
  let settings = margin.settings.get(account);
  if (settings === undefined) {
    settings = { autoBorrowSettlements: false, autoLend: false, autoRepayBorrows: false, leverageLimit: 0n };
    margin.settings.set(account, settings);
  }
  return settings;
}
