/**
 * Parsing of the margin instructions (docs/margin.md, "Instructions"): syntax
 * only, like instruction.ts; decimals stay strings until the engine scales
 * them against the asset.
 */
import { ParseFailure, type BorrowLendMarketListing, type Instruction, type ParameterReader } from './instruction.js';
import { readFields } from './instruction-fields.js';

/** Listing parameters that are decimal strings, in the order docs/margin.md lists them. */
export const borrowLendListingDecimals = [
  'collateralWeight',
  'haircutPenalty',
  'imfBase',
  'imfFactor',
  'mmfBase',
  'mmfFactor',
  'minimumBorrowRate',
  'optimalUtilization',
  'optimalBorrowRate',
  'maximumBorrowRate',
  'maxUtilization',
  'lendFee',
  'maxPriceMove',
  'liquidationFee',
  'liquidationBand',
  'stressShock',
] as const satisfies ReadonlyArray<keyof BorrowLendMarketListing>;

function optionalBoolean(reader: ParameterReader, key: string): boolean | undefined {
  return reader.has(key) ? reader.boolean(key) : undefined;
}

function listing(reader: ParameterReader): BorrowLendMarketListing {
  const symbol = reader.symbol('symbol');
  if (symbol.includes('_')) throw new ParseFailure('An asset symbol cannot contain "_".');
  const decimals = Object.fromEntries(borrowLendListingDecimals.map((key) => [key, reader.required(key)])) as Record<
    (typeof borrowLendListingDecimals)[number],
    string
  >;
  const coveragePoolWithdrawalDelayMs = reader.integer('coveragePoolWithdrawalDelayMs', Number.MAX_SAFE_INTEGER);
  return { kind: 'borrowLendMarketList', symbol, ...decimals, coveragePoolWithdrawalDelayMs };
}

/** The margin instruction named `name`, or undefined when `name` is not one. */
export function parseMarginInstruction(name: string, reader: ParameterReader): Instruction | undefined {
  switch (name) {
    case 'borrowLendExecute':
      return readFields(reader, 'borrowLendExecute', { quantity: 'decimal', side: 'borrowLendSide', symbol: 'symbol' });
    case 'accountUpdate': {
      const autoBorrowSettlements = optionalBoolean(reader, 'autoBorrowSettlements');
      const autoLend = optionalBoolean(reader, 'autoLend');
      const autoRepayBorrows = optionalBoolean(reader, 'autoRepayBorrows');
      const leverageLimit = reader.optional('leverageLimit');
      return {
        kind: 'accountUpdate',
        ...(autoBorrowSettlements !== undefined ? { autoBorrowSettlements } : {}),
        ...(autoLend !== undefined ? { autoLend } : {}),
        ...(autoRepayBorrows !== undefined ? { autoRepayBorrows } : {}),
        ...(leverageLimit !== undefined ? { leverageLimit } : {}),
      };
    }
    case 'liquidate':
      return readFields(reader, 'liquidate', { account: 'accountId' });
    case 'coveragePoolDeposit':
      return readFields(reader, 'coveragePoolDeposit', { quantity: 'decimal', symbol: 'symbol' });
    case 'coveragePoolWithdrawRequest': {
      const shares = reader.required('shares');
      if (!/^[1-9][0-9]{0,37}$/.test(shares)) throw new ParseFailure('"shares" must be a positive integer.');
      return { kind: 'coveragePoolWithdrawRequest', shares, symbol: reader.symbol('symbol') };
    }
    case 'coveragePoolWithdraw':
      return readFields(reader, 'coveragePoolWithdraw', { symbol: 'symbol' });
    case 'borrowLendMarketList':
      return listing(reader);
    case 'indexPriceUpdate':
      return readFields(reader, 'indexPriceUpdate', {
        price: 'decimal',
        publishedAtMs: 'identifier',
        symbol: 'symbol',
      });
    default:
      return undefined;
  }
}
