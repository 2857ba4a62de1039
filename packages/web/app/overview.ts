/**
 * The page's read-only sections: custody, freshness, the reserves table, the
 * charts over time, the committee, the stress figure and coverage pool, and
 * the downloads. Each figure cell carries data-figure="<asset>:<column>".
 */
import type { ServedAttestation } from '@vex/client';
import { lineChart, type ChartSeries } from './chart.js';
import type { CommittedRoot, VaultBalance, VaultState } from './chain.js';
import type { Overview } from './data.js';
import { element, fill } from './dom.js';
import { approximate, formatDuration, formatUnits, unitsOf } from './units.js';

/** The vault as read from the chain: not yet read, unreadable (the reason), or read. */
export type ChainReading = VaultState | string | undefined;

export const noCustodyStatement = "No custody contract configured; reserves are the operator's statement.";
/** An attestation older than this, with entries after it, is shown as stale. */
export const staleAfterMs = 10 * 60 * 1000;

/** Optional members a margin-era or custody-era attestation may carry (docs/web.md); absent today. */
function optionalMember(attestation: ServedAttestation | undefined, name: string): unknown {
  return attestation === undefined ? undefined : (attestation as unknown as Record<string, unknown>)[name];
}

function describeCommitment(commitment: CommittedRoot | undefined): string {
  if (commitment === undefined) return 'The vault has committed no root yet.';
  const finality = commitment.final ? 'final' : 'pending its finality delay';
  return `Latest committed root: sequence ${commitment.sequence}, ${commitment.root} (${finality}).`;
}

export function renderCustody(overview: Overview, chain: ChainReading): void {
  const { custody } = overview;
  if (custody === undefined) {
    fill('custody', element('p', { class: 'notice', 'data-testid': 'custody-statement' }, noCustodyStatement));
    return;
  }
  const state =
    chain === undefined
      ? 'reading the vault from the chain…'
      : typeof chain === 'string'
        ? `the vault could not be read from the chain: ${chain}`
        : 'balances read from the chain just now';
  fill(
    'custody',
    element(
      'p',
      { 'data-testid': 'custody-vault' },
      `Funds are held by the vault ${custody.vault} on chain ${custody.chainId} (${custody.rpcUrl}); `,
      state,
      '.',
    ),
    typeof chain === 'object'
      ? element('p', { 'data-testid': 'committed-root' }, describeCommitment(chain.latest))
      : undefined,
    element('p', {}, `Finality delay ${custody.finalityDelaySeconds} s; forced-exit grace ${custody.graceSeconds} s.`),
  );
}

export function renderFreshness(overview: Overview): void {
  const { latest, status, latestSignatureValid, genesis } = overview;
  if (latest === undefined) {
    fill(
      'freshness',
      element(
        'p',
        { class: 'notice', 'data-testid': 'freshness' },
        'No attestation yet: there are no attested liabilities to show.',
      ),
    );
    return;
  }
  const ageMs = (status.serverTimeMs ?? Date.now()) - latest.logTimeMs;
  const entriesSince = Math.max(0, status.sequence - latest.sequence);
  const stale = ageMs > staleAfterMs && entriesSince > 0;
  fill(
    'freshness',
    element(
      'p',
      { 'data-testid': 'freshness', class: stale ? 'stale' : 'fresh' },
      `Latest attestation: sequence ${latest.sequence}, log time ${new Date(latest.logTimeMs).toISOString()}, `,
      `${formatDuration(ageMs)} old; `,
      `the log head is at ${status.sequence} (${entriesSince} entries not yet attested)${stale ? ' — stale' : ''}.`,
    ),
    element(
      'p',
      { 'data-testid': 'attestation-signature', class: latestSignatureValid === true ? 'pass' : 'fail' },
      latestSignatureValid === true
        ? `Its signature verifies in this browser under operator key ${latest.operatorKey}.`
        : `Its signature does NOT verify under the genesis operator keys (${genesis.operatorKeys.join(', ')}).`,
    ),
    element(
      'p',
      { class: 'hash' },
      `Liabilities root ${latest.liabilitiesRoot} · state hash ${latest.stateHash} · ${latest.accountCount} accounts`,
    ),
  );
}

interface Row {
  readonly symbol: string;
  readonly cells: Readonly<Record<string, string>>;
  readonly short: boolean;
}

const columns: readonly [string, string][] = [
  ['reserves', 'Reserves'],
  ['source', 'Reserves from'],
  ['claims', 'Claims'],
  ['debts', 'Debts'],
  ['liabilities', 'Claims − debts'],
  ['hole', 'Borrow/lend hole'],
  ['difference', 'Reserves − (claims − debts)'],
];

/** Scales a vault balance in the token's decimals to the asset's, rounding down (in the operator's disfavour). */
function toAssetUnits(balance: VaultBalance, assetDecimals: number): bigint {
  const shift = assetDecimals - balance.decimals;
  return shift >= 0 ? balance.units * 10n ** BigInt(shift) : balance.units / 10n ** BigInt(-shift);
}

function rowsOf(overview: Overview, chain: ChainReading): Row[] {
  const { reserves, latest, custody } = overview;
  if (reserves === undefined || latest === undefined) return [];
  return reserves.assets.map((asset) => {
    const decimals = overview.decimals.get(asset.symbol) ?? 0;
    const attested = latest.assets.find((item) => item.symbol === asset.symbol);
    // Zero until margin lending attests a per-asset borrowLendHole.
    const hole = unitsOf((attested as unknown as Record<string, unknown> | undefined)?.borrowLendHole) ?? 0n;
    const cells: Record<string, string> = {
      reserves: asset.reserves,
      source: 'operator’s statement',
      claims: asset.claims,
      debts: asset.debts,
      liabilities: asset.liabilities,
      hole: formatUnits(hole, decimals),
      difference: asset.difference,
    };
    let short = asset.short;
    // A deposit token (fiat at a bank): its reserves are its custodian's signed statement, never a vault balance.
    const custodian = asset.reservesAttestedBy === 'custodian';
    if (custodian) cells.source = `custodian-attested (key ${asset.custodianKey})`;
    if (custody !== undefined && !custodian) {
      const vault =
        typeof chain === 'object' ? chain.balances.find((balance) => balance.symbol === asset.symbol) : undefined;
      const liabilities = BigInt(attested?.claims ?? '0') - BigInt(attested?.debts ?? '0');
      if (vault === undefined) {
        cells.reserves =
          typeof chain === 'string' ? 'unreadable' : custody.tokens[asset.symbol] === undefined ? 'no token' : '…';
        cells.difference = '';
        // No balance read from the chain: nothing is shown as covering liabilities.
        short = liabilities > 0n;
      } else {
        const units = toAssetUnits(vault, decimals);
        cells.reserves = formatUnits(units, decimals);
        cells.difference = formatUnits(units - liabilities, decimals);
        short = units < liabilities;
      }
      cells.source = `vault on chain (operator stated ${asset.reserves})`;
    }
    return { symbol: asset.symbol, cells, short };
  });
}

/** Whether the served reserves' liabilities are the signed attestation's claims − debts (recomputed here). */
function consistencyNote(overview: Overview): string | undefined {
  const { reserves, latest } = overview;
  if (reserves === undefined || latest === undefined || reserves.sequence !== latest.sequence) return undefined;
  for (const asset of reserves.assets) {
    const attested = latest.assets.find((item) => item.symbol === asset.symbol);
    const decimals = overview.decimals.get(asset.symbol) ?? 0;
    if (
      attested === undefined ||
      formatUnits(BigInt(attested.claims) - BigInt(attested.debts), decimals) !== asset.liabilities
    ) {
      return `The served reserves for ${asset.symbol} do not match the signed attestation.`;
    }
  }
  return undefined;
}

export function renderReserves(overview: Overview, chain: ChainReading): void {
  const rows = rowsOf(overview, chain);
  if (rows.length === 0) {
    fill('reserves', element('p', { class: 'notice' }, 'No attested liabilities yet.'));
    return;
  }
  const head = element(
    'tr',
    {},
    element('th', {}, 'Asset'),
    ...columns.map(([, label]) => element('th', {}, label)),
    element('th', {}, 'Covered'),
  );
  const body = rows.map((row) =>
    element(
      'tr',
      { 'data-asset': row.symbol },
      element('th', { scope: 'row' }, row.symbol),
      ...columns.map(([key]) => element('td', { 'data-figure': `${row.symbol}:${key}` }, row.cells[key] ?? '')),
      element(
        'td',
        { 'data-figure': `${row.symbol}:covered`, class: row.short ? 'fail' : 'pass' },
        row.short ? 'SHORT' : 'yes',
      ),
    ),
  );
  const note = consistencyNote(overview);
  fill(
    'reserves',
    element('p', {}, `Figures of the attestation at sequence ${overview.reserves!.sequence}, in each asset’s units.`),
    element('table', { 'data-testid': 'reserves-table' }, element('thead', {}, head), element('tbody', {}, ...body)),
    note === undefined ? undefined : element('p', { class: 'fail' }, note),
  );
}

export function renderCharts(overview: Overview): void {
  const charts = (overview.latest?.assets ?? []).map(({ symbol }) => {
    const decimals = overview.decimals.get(symbol) ?? 0;
    const series = (
      name: string,
      className: string,
      value: (asset: ServedAttestation['assets'][number]) => bigint,
    ): ChartSeries => ({
      name,
      className,
      points: overview.history.flatMap((attestation) => {
        const asset = attestation.assets.find((item) => item.symbol === symbol);
        return asset === undefined
          ? []
          : [{ timeMs: attestation.logTimeMs, value: approximate(value(asset), decimals) }];
      }),
    });
    const lines = [
      series('reserves (stated)', 'reserves', (asset) => BigInt(asset.reserves)),
      series('claims − debts', 'liabilities', (asset) => BigInt(asset.claims) - BigInt(asset.debts)),
      series('debts', 'debts', (asset) => BigInt(asset.debts)),
    ];
    return element(
      'figure',
      { 'data-chart': symbol },
      lineChart(`${symbol} over time`, lines),
      element(
        'figcaption',
        {},
        `${symbol}: `,
        ...lines.map((line) => element('span', { class: `key ${line.className}` }, line.name)),
      ),
    );
  });
  fill('charts', element('p', {}, `${overview.history.length} recent attestations.`), ...charts);
}

function describeOptional(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function committeeText(overview: Overview, chain: ChainReading): string {
  const signatures = optionalMember(overview.latest, 'committeeSignatures');
  if (Array.isArray(signatures) && signatures.length > 0) {
    const listed = signatures.map(describeOptional).join('; ');
    return `${signatures.length} committee signature(s) on the latest attestation: ${listed}`;
  }
  if (typeof chain === 'object' && chain.committee.length > 0) {
    return (
      `The vault commits a root only with at least ${chain.committeeThreshold} of its ${chain.committee.length} ` +
      `committee members’ signatures (${chain.committee.join(', ')}); the contract counts them at each commit.`
    );
  }
  const committee = overview.custody?.committee ?? [];
  if (committee.length > 0) return `A committee of ${committee.length}: ${committee.join(', ')}.`;
  return 'No committee: the latest attestation carries only the operator’s signature.';
}

export function renderCommitteeAndRisk(overview: Overview, chain: ChainReading): void {
  fill('committee', element('p', { 'data-testid': 'committee' }, committeeText(overview, chain)));
  const stress = optionalMember(overview.latest, 'stress');
  const coverage = optionalMember(overview.latest, 'coveragePool');
  fill(
    'risk',
    element(
      'p',
      { 'data-testid': 'stress' },
      stress === undefined
        ? 'Stress figure: not in the attestation (no margin trading on this node yet).'
        : `Stress figure: ${describeOptional(stress)}`,
    ),
    element(
      'p',
      { 'data-testid': 'coverage' },
      coverage === undefined
        ? 'Coverage pool: not in the attestation.'
        : `Coverage pool: ${describeOptional(coverage)}`,
    ),
  );
}
