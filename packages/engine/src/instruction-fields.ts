/**
 * Field tables for the instruction parsers: an instruction's fields, each
 * named with how it is read (instruction.ts, margin-instruction-parser.ts).
 * Kept out of instruction.ts so that it is not part of the package's exports.
 */
import { isCanonicalAccountId } from './account-id.js';
import { enumValues } from './instruction-catalogue.js';
import {
  ParseFailure,
  type ParameterReader,
  type TransactionInstruction,
  type TransactionKind,
} from './instruction.js';

/**
 * How each kind of field is read, by what it holds. A field's reader checks
 * its syntax; decimals stay strings (the engine scales them against the
 * market or asset).
 */
const fieldReaders = {
  text: (reader: ParameterReader, key: string) => reader.text(key),
  symbol: (reader: ParameterReader, key: string) => reader.symbol(key),
  /** An asset's symbol: a symbol without the "_" that joins a market's two. */
  assetSymbol: (reader: ParameterReader, key: string) => {
    const symbol = reader.symbol(key);
    if (symbol.includes('_')) throw new ParseFailure('An asset symbol cannot contain "_".');
    return symbol;
  },
  blockchain: (reader: ParameterReader, key: string) => reader.blockchain(key),
  decimal: (reader: ParameterReader, key: string) => reader.required(key),
  optionalDecimal: (reader: ParameterReader, key: string) => reader.optional(key),
  accountId: (reader: ParameterReader, key: string) => {
    const account = reader.required(key);
    if (!isCanonicalAccountId(account))
      throw new ParseFailure(`"${key}" must be the canonical base64 of a 32-byte public key.`);
    return account;
  },
  identifier: (reader: ParameterReader, key: string) => reader.integer(key, Number.MAX_SAFE_INTEGER),
  optionalCount: (reader: ParameterReader, key: string) => reader.integer(key, Number.MAX_SAFE_INTEGER, true),
  basisPoints: (reader: ParameterReader, key: string) => reader.integer(key, 10_000),
  assetDecimals: (reader: ParameterReader, key: string) => reader.integer(key, 18),
  borrowLendSide: (reader: ParameterReader, key: string) => reader.oneOf(key, enumValues.borrowLendSide),
  optionalMarketType: (reader: ParameterReader, key: string) =>
    reader.optional(key) === undefined ? undefined : reader.oneOf(key, enumValues.marketType),
  /** A signed whole number of basis points, −10,000 to 10,000 (a funding rate bound). */
  optionalSignedBasisPoints: (reader: ParameterReader, key: string) => {
    const text = reader.optional(key);
    if (text === undefined) return undefined;
    // 0 to 9999 or exactly 10000, either sign; no "-0".
    if (!/^(0|-?([1-9][0-9]{0,3}|10000))$/.test(text))
      throw new ParseFailure(`"${key}" must be a whole number of basis points from -10000 to 10000.`);
    return Number(text);
  },
} as const;

type FieldKind = keyof typeof fieldReaders;
/** The field kinds whose reader yields a value `Value` can hold. */
type FieldKindFor<Value> = {
  [Kind in FieldKind]: ReturnType<(typeof fieldReaders)[Kind]> extends Value ? Kind : never;
}[FieldKind];
export type Parsed<Name extends TransactionKind> = Extract<TransactionInstruction, { readonly kind: Name }>;
/** Every field of instruction `Name` and how it is read; optional fields may use an optional reader. */
export type FieldTable<Name extends TransactionKind> = {
  readonly [Key in Exclude<keyof Parsed<Name>, 'kind'>]-?: FieldKindFor<Parsed<Name>[Key]>;
};

/**
 * Reads the fields of instruction `kind` in the table's order, which decides
 * the message when several are wrong; an absent optional field is left out.
 */
export function readFields<Name extends TransactionKind>(
  reader: ParameterReader,
  kind: Name,
  fields: FieldTable<Name>,
): Parsed<Name> {
  const instruction: Record<string, string | number> = { kind };
  // determinism-reviewed: string keys of a literal iterate in insertion order, the read order written below.
  for (const [key, fieldKind] of Object.entries(fields) as [string, FieldKind][]) {
    const value = fieldReaders[fieldKind](reader, key);
    if (value !== undefined) instruction[key] = value;
  }
  return instruction as unknown as Parsed<Name>;
}
