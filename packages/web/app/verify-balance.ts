/**
 * "Verify my balance": the trader's inclusion proof, fetched with a request
 * signed in this browser (the secret key is used by @vex/client's noble signer
 * here and sent nowhere) or loaded from a file, checked here with the
 * engine's browser-safe verifier: the operator's signature under a genesis
 * key, the path up to the attested liabilities root, the attestation
 * byte-identical to the one the node publishes for its sequence and, when a
 * custody contract is configured, the root equal to the one the vault committed.
 */
import { ExchangeClient, type PublishedProofCheck } from '@vex/client';
import { findCommittedRoot } from './chain.js';
import type { Overview } from './data.js';
import { describeError, element, fill } from './dom.js';
import { formatUnits } from './units.js';

export interface BalanceCheck {
  readonly ok: boolean;
  readonly lines: readonly string[];
}

async function committedRootLine(
  overview: Overview,
  check: Extract<PublishedProofCheck, { ok: true }>,
): Promise<BalanceCheck> {
  const { custody } = overview;
  const { sequence, liabilitiesRoot } = check.attestation;
  if (custody === undefined) {
    return {
      ok: true,
      lines: ['No custody contract: the root is checked against the operator’s published attestation only.'],
    };
  }
  let committed;
  try {
    committed = await findCommittedRoot(custody, sequence);
  } catch (error) {
    return {
      ok: false,
      lines: [`The vault’s committed root could not be read from the chain: ${describeError(error)}`],
    };
  }
  if (committed === undefined)
    return { ok: true, lines: [`The vault has not committed a root for sequence ${sequence}.`] };
  if (committed.root !== liabilitiesRoot) {
    return {
      ok: false,
      lines: [`The vault committed a different root for sequence ${sequence}: ${committed.root}.`],
    };
  }
  const finality = committed.final ? 'final' : 'not final yet';
  return {
    ok: true,
    lines: [`The vault ${custody.vault} committed this root for sequence ${sequence} (${finality}).`],
  };
}

/** Checks a proof (an untrusted JSON value) against the published attestation and, with custody, the committed root. */
export async function checkProof(client: ExchangeClient, overview: Overview, proof: unknown): Promise<BalanceCheck> {
  const check = await client.verifyProof(proof, { operatorKeys: overview.genesis.operatorKeys });
  if (!check.ok) return { ok: false, lines: [check.reason] };
  const balances = check.balances.map((balance) => {
    const decimals = overview.decimals.get(balance.symbol) ?? 0;
    const claim = formatUnits(balance.claim, decimals);
    return `${balance.symbol}: claim ${claim}, debt ${formatUnits(balance.debt, decimals)}`;
  });
  const committed = await committedRootLine(overview, check);
  return {
    ok: committed.ok,
    lines: [
      `Account ${check.account}, leaf ${check.leafIndex} of the attestation at sequence ${check.attestation.sequence}.`,
      ...balances,
      `The path reaches the attested liabilities root ${check.attestation.liabilitiesRoot}, ` +
        `signed by operator key ${check.attestation.operatorKey}; the node publishes this same attestation.`,
      ...committed.lines,
    ],
  };
}

function showResult(result: BalanceCheck): void {
  fill(
    'verify-result',
    element(
      'p',
      { class: result.ok ? 'verdict pass' : 'verdict fail', 'data-testid': 'verify-verdict' },
      result.ok ? 'PASS' : 'FAIL',
    ),
    ...result.lines.map((line) => element('p', {}, line)),
  );
}

async function run(work: () => Promise<BalanceCheck>): Promise<void> {
  fill('verify-result', element('p', {}, 'Checking…'));
  try {
    showResult(await work());
  } catch (error) {
    showResult({ ok: false, lines: [describeError(error)] });
  }
}

/** Wires the form: fetch with a key, or load a file. */
export function setUpVerification(baseUrl: string, overview: Overview): void {
  const secretInput = document.getElementById('secret') as HTMLInputElement;
  const fileInput = document.getElementById('proof-file') as HTMLInputElement;
  document.getElementById('fetch-proof-form')!.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(async () => {
      const client = new ExchangeClient({ baseUrl, secret: secretInput.value.trim() });
      const proof = await client.fetchProof();
      return checkProof(client, overview, proof);
    });
  });
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file === undefined) return;
    void run(async () => {
      let proof: unknown;
      try {
        proof = JSON.parse(await file.text());
      } catch (error) {
        return { ok: false, lines: [`The file is not JSON: ${describeError(error)}`] };
      }
      return checkProof(new ExchangeClient({ baseUrl }), overview, proof);
    });
  });
}
