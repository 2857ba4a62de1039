/**
 * The reserves report at the last attestation the replay checked
 * (docs/attestation.md, "Reserves report"): per asset the signed reserves,
 * claims and debts, claims − debts, and the borrow/lend hole with the
 * collateral covering it, recomputed from the replayed state. Amounts are
 * decimal strings of integer units (the collateral in settlement units), so
 * the report stays JSON.
 */
import { reservesReport, type AttestationFields, type ExchangeState } from '@vex/engine';

export interface ReservesSummary {
  readonly sequence: number;
  readonly assets: readonly {
    readonly symbol: string;
    readonly reserves: string;
    /** Who stated the reserves: the operator, or a deposit token's custodian (with its key). */
    readonly reservesAttestedBy: 'operator' | 'custodian';
    readonly custodianKey?: string;
    readonly claims: string;
    readonly debts: string;
    readonly liabilities: string;
    readonly borrowLendHole: string;
    readonly holeCollateralValue: string;
  }[];
}

/** The summary for `fields`, the attestation the replay computed for `state`. */
export function reservesSummary(state: ExchangeState, fields: AttestationFields): ReservesSummary {
  return {
    sequence: fields.sequence,
    assets: reservesReport(state, fields).map((asset) => ({
      symbol: asset.symbol,
      reserves: asset.reserves.toString(),
      reservesAttestedBy: asset.reservesAttestedBy,
      ...(asset.custodianKey === undefined ? {} : { custodianKey: asset.custodianKey }),
      claims: asset.claims.toString(),
      debts: asset.debts.toString(),
      liabilities: asset.liabilities.toString(),
      borrowLendHole: asset.borrowLendHole.toString(),
      holeCollateralValue: asset.holeCollateralValue.toString(),
    })),
  };
}

/** The summary as the CLI prints it, one line per asset (integer units). */
export function describeReserves(summary: ReservesSummary): string[] {
  return [
    `reserves at attestation ${summary.sequence} (integer units; hole collateral in settlement units):`,
    ...summary.assets.map(
      (asset) =>
        `  ${asset.symbol}: reserves ${asset.reserves}${attestedBy(asset)}, claims ${asset.claims}, ` +
        `debts ${asset.debts}, ` +
        `claims − debts ${asset.liabilities}, borrow/lend hole ${asset.borrowLendHole} ` +
        `covered by collateral ${asset.holeCollateralValue}`,
    ),
  ];
}

/** Marks reserves a custodian attested (a deposit token); the operator's carry no mark. */
function attestedBy(asset: ReservesSummary['assets'][number]): string {
  return asset.reservesAttestedBy === 'custodian' ? ` (custodian-attested, key ${asset.custodianKey})` : '';
}
