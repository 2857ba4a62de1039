/**
 * The margin reference model's coverage pools (docs/margin.md section 9):
 * deposits for shares, withdrawal requests and delayed withdrawals. Part of
 * the naive margin reference model (reference-margin-model.ts).
 */
import type { Instruction } from '../src/instruction.js';
import type { CoveragePoolView } from '../src/margin-views.js';
import { amountOf } from './reference-funds.js';
import { floorDiv } from './reference-margin-math.js';
import { borrowsAnything, healthOf, type ModelHealth, meetsInitial } from './reference-margin.js';
import type { MarginData, ModelCoveragePool } from './reference-margin-state.js';
import { availableOf, balanceEntry, fail, type ModelData, type Rejected } from './reference-state.js';

export type ModelCoverageResult = { readonly ok: true; readonly kind: 'coveragePool' } & CoveragePoolView;

type CoverageInstruction = Extract<
  Instruction,
  { kind: 'coveragePoolDeposit' | 'coveragePoolWithdrawRequest' | 'coveragePoolWithdraw' }
>;

function result(
  account: string,
  asset: string,
  action: ModelCoverageResult['action'],
  units: bigint,
  shares: bigint,
  pool: ModelCoveragePool,
): ModelCoverageResult {
  const { holdingsUnits: poolHoldingsUnits, totalShares: poolTotalShares } = pool;
  return { ok: true, kind: 'coveragePool', account, asset, action, units, shares, poolHoldingsUnits, poolTotalShares };
}

/** Meets its initial margin, or is no further below it than before. */
function keepsInitialMargin(before: ModelHealth, after: ModelHealth): boolean {
  const slack = (health: ModelHealth): bigint => health.netEquity - health.initialRequirement;
  return meetsInitial(after) || slack(after) >= slack(before);
}

export function coveragePoolInstruction(
  data: ModelData,
  margin: MarginData,
  account: string,
  instruction: CoverageInstruction,
  timeMs: number,
): ModelCoverageResult | Rejected {
  const asset = instruction.symbol;
  const pool = margin.coverage.get(asset);
  if (pool === undefined) return fail('INVALID_ASSET');
  const owned = pool.shares.get(account) ?? 0n;
  if (instruction.kind === 'coveragePoolDeposit') {
    const decimals = data.assets.find((candidate) => candidate.symbol === asset)!.decimals;
    const units = amountOf(decimals, instruction.quantity);
    if (typeof units !== 'bigint') return units;
    if (availableOf(data, account, asset) < units) return fail('INSUFFICIENT_FUNDS');
    if (pool.totalShares > 0n && pool.holdingsUnits === 0n) return fail('COVERAGE_POOL_LOCKED');
    const shares = pool.totalShares === 0n ? units : floorDiv(units * pool.totalShares, pool.holdingsUnits);
    if (shares === 0n) return fail('INVALID_QUANTITY');
    const borrower = borrowsAnything(margin, account);
    balanceEntry(data, account, asset).available -= units;
    pool.holdingsUnits += units;
    pool.totalShares += shares;
    pool.shares.set(account, owned + shares);
    // Section 9a: a borrower must still meet its initial margin with the units at half weight.
    if (borrower && !meetsInitial(healthOf(data, margin, account, timeMs))) {
      balanceEntry(data, account, asset).available += units;
      pool.holdingsUnits -= units;
      pool.totalShares -= shares;
      if (owned === 0n) pool.shares.delete(account);
      else pool.shares.set(account, owned);
      return fail('INSUFFICIENT_MARGIN');
    }
    return result(account, asset, 'deposit', units, shares, pool);
  }
  if (instruction.kind === 'coveragePoolWithdrawRequest') {
    if (!/^[1-9]\d{0,37}$/.test(instruction.shares)) return fail('INVALID_QUANTITY');
    const shares = BigInt(instruction.shares);
    if (shares > owned) return fail('INSUFFICIENT_FUNDS');
    const earlier = pool.requests.get(account);
    const before = healthOf(data, margin, account, timeMs);
    pool.requests.set(account, { shares, requestedAtMs: timeMs });
    // Section 9a: the requested shares stop counting; a borrower must not end further below initial margin.
    if (borrowsAnything(margin, account) && !keepsInitialMargin(before, healthOf(data, margin, account, timeMs))) {
      if (earlier === undefined) pool.requests.delete(account);
      else pool.requests.set(account, earlier);
      return fail('INSUFFICIENT_MARGIN');
    }
    // The result states what the shares are worth at the request (the withdrawal pays their worth then).
    const worth = pool.totalShares === 0n ? 0n : floorDiv(shares * pool.holdingsUnits, pool.totalShares);
    return result(account, asset, 'withdrawRequest', worth, shares, pool);
  }
  const request = pool.requests.get(account);
  if (request === undefined) return fail('COVERAGE_POOL_LOCKED');
  const delay = margin.pools.get(asset)!.parameters.coveragePoolWithdrawalDelayMs;
  if (timeMs < request.requestedAtMs + delay) return fail('COVERAGE_POOL_LOCKED');
  const units = floorDiv(request.shares * pool.holdingsUnits, pool.totalShares);
  pool.requests.delete(account);
  pool.holdingsUnits -= units;
  pool.totalShares -= request.shares;
  if (owned === request.shares) pool.shares.delete(account);
  else pool.shares.set(account, owned - request.shares);
  balanceEntry(data, account, asset).available += units;
  return result(account, asset, 'withdraw', units, request.shares, pool);
}
