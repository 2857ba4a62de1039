/**
 * The margin part of the state encoding (docs/protocol.md, "State encoding",
 * versions 4 and 6): per asset its margin listing, price and lending pool; per
 * account its settings (its lend and borrow positions ride on its balance
 * entries); then the coverage pools with their shares and withdrawal
 * requests by account ordinal. Derived fields (borrow counts, the borrower
 * set) are rebuilt on decoding.
 */
import { ByteDecodeError, IntegerFields, type ByteReader, type ByteWriter } from './byte-codec.js';
import { formatDecimal } from './decimal.js';
import { borrowLendListingDecimals } from './margin-instruction-parser.js';
import { marginParameters, newAssetMargin } from './lending-pool.js';
import { wadDecimals } from './margin-fixed-point.js';
import type { AssetMargin, CoveragePool, LendingPool } from './margin-state.js';
import type { Account, Asset, ExchangeState } from './state.js';

export function encodeAssetMargin(writer: ByteWriter, asset: Asset): void {
  const margin = asset.margin;
  if (margin === undefined) {
    writer.byte(0);
    return;
  }
  writer.byte(1);
  for (const key of borrowLendListingDecimals) writer.unsigned(margin.parameters[key]);
  writer.unsigned(margin.parameters.coveragePoolWithdrawalDelayMs);
  priceFields.write(writer, margin);
  lendingPoolFields.write(writer, margin.lendingPool);
}

/** The asset's index price and its time, after the listing's parameters. */
const priceFields = new IntegerFields<AssetMargin>([
  ['indexPrice', 'unsigned'],
  ['priceUpdatedAtMs', 'safeInteger'],
]);

const lendingPoolFields = new IntegerFields<LendingPool>([
  ['borrowIndex', 'unsigned'],
  ['supplyIndex', 'unsigned'],
  ['accruedAtMs', 'safeInteger'],
  ['totalBorrowScaled', 'unsigned'],
  ['totalSupplyScaled', 'unsigned'],
  ['cashUnits', 'unsigned'],
  // Version 6: the supply epoch (docs/margin.md, "Supply epochs").
  ['supplyEpoch', 'safeInteger'],
]);

export function decodeAssetMargin(reader: ByteReader, asset: Asset): void {
  const flag = reader.byte();
  if (flag === 0) return;
  if (flag !== 1) throw new ByteDecodeError(`asset ${asset.symbol} has an invalid margin flag`);
  const listing: Record<string, string | number> = { kind: 'borrowLendMarketList', symbol: asset.symbol };
  for (const key of borrowLendListingDecimals) listing[key] = formatDecimal(reader.unsigned(), wadDecimals);
  listing.coveragePoolWithdrawalDelayMs = reader.safeInteger();
  const parameters = marginParameters(listing as never);
  if ('code' in parameters) throw new ByteDecodeError(`asset ${asset.symbol}: ${parameters.message}`);
  const margin = newAssetMargin(parameters, 0);
  priceFields.read(reader, margin);
  lendingPoolFields.read(reader, margin.lendingPool);
  asset.margin = margin;
}

export function encodeAccountSettings(writer: ByteWriter, account: Account): void {
  const settings = account.settings;
  writer.byte(
    (settings.autoBorrowSettlements ? 1 : 0) | (settings.autoLend ? 2 : 0) | (settings.autoRepayBorrows ? 4 : 0),
  );
  writer.unsigned(settings.leverageLimit);
}

export function decodeAccountSettings(reader: ByteReader, account: Account): void {
  const flags = reader.byte();
  if (flags > 7) throw new ByteDecodeError(`account ${account.id} has invalid settings flags`);
  account.settings.autoBorrowSettlements = (flags & 1) !== 0;
  account.settings.autoLend = (flags & 2) !== 0;
  account.settings.autoRepayBorrows = (flags & 4) !== 0;
  account.settings.leverageLimit = reader.unsigned();
}

/** Rebuilds the derived borrower and lender bookkeeping from the decoded positions. */
export function rebuildBorrowers(state: ExchangeState): void {
  for (const account of state.accountList) {
    for (const balance of account.balances) {
      if (balance !== undefined && balance.borrowScaled > 0n) account.borrowCount += 1;
      if (balance !== undefined && balance.lendScaled > 0n) account.lendCount += 1;
    }
    if (account.borrowCount > 0) state.borrowers.add(account);
    if (account.lendCount > 0) state.lenders.add(account);
  }
}

/** Coverage pools of the borrowable assets, in asset order; shares and requests by account ordinal. */
export function encodeCoveragePools(writer: ByteWriter, state: ExchangeState): void {
  for (const asset of state.assets) {
    const pool = asset.margin?.coveragePool;
    if (pool === undefined) continue;
    coveragePoolTotals.write(writer, pool);
    const holders = [...pool.shares].sort(([left], [right]) => left.ordinal - right.ordinal);
    writer.unsigned(holders.length);
    for (const [account, shares] of holders) {
      writer.unsigned(account.ordinal);
      writer.unsigned(shares);
      const request = pool.withdrawalRequests.get(account);
      if (request === undefined) writer.byte(0);
      else {
        writer.byte(1);
        writer.unsigned(request.shares);
        writer.unsigned(request.requestedAtMs);
      }
    }
  }
}

const coveragePoolTotals = new IntegerFields<CoveragePool>([
  ['holdingsUnits', 'unsigned'],
  ['totalShares', 'unsigned'],
]);

export function decodeCoveragePools(reader: ByteReader, state: ExchangeState): void {
  for (const asset of state.assets) {
    const pool = asset.margin?.coveragePool;
    if (pool === undefined) continue;
    coveragePoolTotals.read(reader, pool);
    let previous = -1;
    for (let count = reader.safeInteger(); count > 0; count -= 1) {
      const ordinal = reader.safeInteger();
      const account = state.accountList[ordinal];
      if (account === undefined || ordinal <= previous)
        throw new ByteDecodeError(`${asset.symbol}: coverage shares of an unknown or repeated account`);
      previous = ordinal;
      pool.shares.set(account, reader.unsigned());
      const flag = reader.byte();
      if (flag > 1) throw new ByteDecodeError(`${asset.symbol}: invalid coverage request flag`);
      if (flag === 1)
        pool.withdrawalRequests.set(account, { shares: reader.unsigned(), requestedAtMs: reader.safeInteger() });
    }
  }
}
