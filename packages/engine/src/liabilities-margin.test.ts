/**
 * Leaves with margin positions (docs/attestation.md, "Claims and debts"):
 * lent funds in the claims, borrows in the debts, both with interest accrued
 * to the state's log time, and the incremental tree refreshing the lenders'
 * and borrowers' leaves as time alone moves them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectReferenceRoot, referenceTotals } from '../test/liabilities-reference.js';
import { runScenario, scenarioKeys } from '../test/scenario-runner.js';
import { bytesToLowerHex } from './attestation.js';
import { verifyInclusionProof, type ClaimAndDebt } from './inclusion-proof.js';
import { attestationFieldsOf, LiabilitiesTree, signAttestation } from './liabilities-tree.js';
import { reservesReport } from './reserves-report.js';
import { decodeState, encodeState } from './state-codec.js';
import type { Account, ExchangeState } from './state.js';
import { signerFromByte } from '../test/random-log.js';

const setup = readFileSync(new URL('../test/scenarios/setup.scenario', import.meta.url), 'utf8');
const yearMs = 31_536_000_000;
const operator = signerFromByte(200);

function accountOf(state: ExchangeState, name: string): Account {
  return state.accounts.get(scenarioKeys.get(name)!)!;
}

function leafOf(tree: LiabilitiesTree, state: ExchangeState, name: string): Record<string, ClaimAndDebt> {
  const body = tree.proofPath(accountOf(state, name).id)!;
  return Object.fromEntries(body.balances.map(({ symbol, claim, debt }) => [symbol, { claim, debt }]));
}

/**
 * The interest example of docs/margin.md (section 5.3): alice lends 1000
 * USDC, bob borrows 400 USDC at 1000 ms and lends 5 of his 10 SOL; a year
 * later a price update (touching neither) moves the log time.
 */
const oneYear = `${setup}
1000 bob borrowLendExecute symbol=USDC side=Borrow quantity=400 -> ok
1000 bob borrowLendExecute symbol=SOL side=Lend quantity=5 -> ok
${yearMs + 1000} operator indexPriceUpdate symbol=SOL price=100 publishedAtMs=${yearMs + 1000} -> ok
`;

describe('liabilities leaves with lend and borrow positions', () => {
  it('carry lent funds in the claims and borrows in the debts, with interest to the log time', () => {
    const state = runScenario(oneYear);
    const tree = LiabilitiesTree.build(state);
    // Borrow rate 0.05, lend rate 0.018 at utilisation 0.4: 400 owed grows to 420, 1000 lent to 1018.
    expect(leafOf(tree, state, 'bob')).toEqual({
      USDC: { claim: 400_000000n, debt: 420_000000n },
      SOL: { claim: 10_000000000n, debt: 0n },
    });
    expect(leafOf(tree, state, 'alice')).toEqual({
      USDC: { claim: 1018_000000n, debt: 0n },
      SOL: { claim: 0n, debt: 0n },
    });
    expectReferenceRoot(tree.root(), state);
    // Root sums: every account's claims and debts added up.
    const totals = referenceTotals(state);
    expect(tree.root().assets.map(({ claims, debts }) => ({ claim: claims, debt: debts }))).toEqual(totals);
    expect(tree.root().assets.find((asset) => asset.symbol === 'USDC')!.debts).toBe(420_000000n);
  });

  it('golden vector with debts: the root of the one-year example is pinned', () => {
    const state = runScenario(oneYear);
    expect(bytesToLowerHex(LiabilitiesTree.build(state).root().hash)).toMatchInlineSnapshot(
      `"2364f8ff0581e536eac3080e0b63e2cb8e1947243aa156272eb3d6229b61f6f4"`,
    );
  });

  it("an update refreshes lenders' and borrowers' leaves that only time moved, equal to a full build", () => {
    const state = runScenario(`${setup}
1000 bob borrowLendExecute symbol=USDC side=Borrow quantity=400 -> ok
1000 bob borrowLendExecute symbol=SOL side=Lend quantity=5 -> ok
1000 carol borrowLendExecute symbol=SOL side=Borrow quantity=2 -> ok
`);
    const tree = LiabilitiesTree.build(state, { version: 1 });
    const rows = [
      `${yearMs / 2} operator indexPriceUpdate symbol=SOL price=100 publishedAtMs=${yearMs / 2} -> ok`,
      `${yearMs} operator indexPriceUpdate symbol=SOL price=101 publishedAtMs=${yearMs} -> ok`,
      // Positions change: bob's Lend repays his USDC debt and lends the rest; his
      // SOL Borrow redeems 2 of his lend; carol's SOL debt stays.
      `${yearMs} operator depositCredit account=bob symbol=USDC quantity=100 blockchain=Solana chainTransactionId=x` +
        ' -> ok',
      `${yearMs} bob borrowLendExecute symbol=USDC side=Lend quantity=500 -> ok`,
      `${yearMs} bob borrowLendExecute symbol=SOL side=Borrow quantity=2 -> ok`,
      `${yearMs + 5000} operator indexPriceUpdate symbol=SOL price=100 publishedAtMs=${yearMs + 5000} -> ok`,
    ];
    let version = 1;
    for (const row of rows) {
      runScenario(row, state);
      version += 1;
      const root = tree.update(state, version);
      expectReferenceRoot(root, state);
      expect(bytesToLowerHex(root.hash)).toBe(bytesToLowerHex(LiabilitiesTree.build(state).root().hash));
    }
    expect(accountOf(state, 'bob').borrowCount).toBe(0);
    expect(state.lenders.has(accountOf(state, 'bob'))).toBe(true);
    expect(state.lenders.has(accountOf(state, 'carol'))).toBe(false);
    expect(state.borrowers.has(accountOf(state, 'carol'))).toBe(true);
  });

  it('a proof with nonzero debts verifies, and its balances are the attested claim and debt', () => {
    const state = runScenario(oneYear);
    const tree = LiabilitiesTree.build(state);
    const fields = attestationFieldsOf(state, tree.root(), 40, new Uint8Array(32).fill(3), new Uint8Array(32));
    const attestation = signAttestation(fields, operator.seed);
    const bob = accountOf(state, 'bob');
    const verdict = verifyInclusionProof(tree.inclusionProof(attestation, bob.id), [attestation.operatorKey]);
    expect(verdict).toMatchObject({
      ok: true,
      balances: [
        { symbol: 'USDC', claim: 400_000000n, debt: 420_000000n },
        { symbol: 'SOL', claim: 10_000000000n, debt: 0n },
      ],
    });
    expect(fields.assets[0]).toMatchObject({ symbol: 'USDC', debts: '420000000' });
  });

  it('a decoded state rebuilds the lenders and gives the same root', () => {
    const state = runScenario(oneYear);
    const decoded = decodeState(encodeState(state));
    expect([...decoded.lenders].map((account) => account.id).sort()).toEqual(
      [...state.lenders].map((account) => account.id).sort(),
    );
    expect(decoded.lenders.size).toBe(2);
    expect(bytesToLowerHex(LiabilitiesTree.build(decoded).root().hash)).toBe(
      bytesToLowerHex(LiabilitiesTree.build(state).root().hash),
    );
  });

  it('the reserves report: the hole is what borrowers owe beyond what they still hold, with their collateral', () => {
    // bob borrows 400 USDC and withdraws 300 of it: 300 of his debt is no longer held in USDC.
    const state = runScenario(`${setup}
1000 bob borrowLendExecute symbol=USDC side=Borrow quantity=400 -> ok
1000 bob withdraw symbol=USDC quantity=300 address=x blockchain=Solana -> ok
`);
    const pending = reportOf(state);
    // A pending withdrawal is still in the wallets and in bob's claim: no hole yet.
    expect(pending.USDC).toMatchObject({ borrowLendHole: 0n, holeCollateralValue: 0n });
    runScenario('1000 operator withdrawalComplete withdrawalId=1 chainTransactionId=t -> ok', state);
    const report = reportOf(state);
    // bob: 100 USDC held against 400 owed; his collateral is 10 SOL × 100 × 0.8 + 100 USDC.
    // USDC deposits 8000 (alice's 1000 lent, still her claim), bob's 400 borrowed less the 300 withdrawn:
    // claims − debts = 8000 − 300, deposits less withdrawals.
    expect(report.USDC).toMatchObject({
      claims: 8000_000000n + 400_000000n - 300_000000n,
      debts: 400_000000n,
      liabilities: 8000_000000n - 300_000000n,
      borrowLendHole: 300_000000n,
      holeCollateralValue: 900_000000n,
    });
    expect(report.SOL).toMatchObject({ debts: 0n, borrowLendHole: 0n, holeCollateralValue: 0n });
  });
});

function reportOf(state: ExchangeState): Record<string, ReturnType<typeof reservesReport>[number]> {
  const root = LiabilitiesTree.build(state).root();
  const fields = attestationFieldsOf(state, root, 40, new Uint8Array(32), new Uint8Array(32));
  return Object.fromEntries(reservesReport(state, fields).map((asset) => [asset.symbol, asset]));
}
