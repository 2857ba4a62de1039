/**
 * Underwriters' leaves (docs/attestation.md, "Claims and debts"): an
 * underwriter's claim holds its share of the coverage pool's holdings,
 * rounded down, and the incremental tree refreshes every underwriter of a
 * pool whose holdings moved (a fee, a payout) though no entry touched them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { referenceRoot, referenceTotals } from '../test/liabilities-reference.js';
import { runScenario, scenarioKeys } from '../test/scenario-runner.js';
import { bytesToLowerHex } from './attestation.js';
import type { ClaimAndDebt } from './inclusion-proof.js';
import { attestationFieldsOf, LiabilitiesTree } from './liabilities-tree.js';
import { reservesReport } from './reserves-report.js';
import { decodeState, encodeState } from './state-codec.js';
import type { ExchangeState } from './state.js';

const setup = readFileSync(new URL('../test/scenarios/setup.scenario', import.meta.url), 'utf8');

function idOf(name: string): string {
  return scenarioKeys.get(name)!;
}

function leafOf(tree: LiabilitiesTree, name: string): Record<string, ClaimAndDebt> {
  const body = tree.proofPath(idOf(name))!;
  return Object.fromEntries(body.balances.map(({ symbol, claim, debt }) => [symbol, { claim, debt }]));
}

function usdcPool(state: ExchangeState) {
  return state.assetsBySymbol.get('USDC')!.margin!.coveragePool;
}

/** The tree agrees with the reference model and a full build, and its root sums are the sum over accounts. */
function expectConsistent(tree: LiabilitiesTree, state: ExchangeState): void {
  const root = tree.root();
  const reference = referenceRoot(state);
  expect(bytesToLowerHex(root.hash)).toBe(bytesToLowerHex(reference.hash));
  expect(bytesToLowerHex(root.hash)).toBe(bytesToLowerHex(LiabilitiesTree.build(state).root().hash));
  expect(root.assets.map(({ claims, debts }) => ({ claim: claims, debt: debts }))).toEqual(referenceTotals(state));
}

/** erin (2000 USDC) and carol (5000 USDC) underwrite the USDC pool with 1000 and 300. */
const underwritten = `${setup}
10 erin coveragePoolDeposit symbol=USDC quantity=1000 -> ok
10 carol coveragePoolDeposit symbol=USDC quantity=300 -> ok
`;

describe("underwriters' leaves", () => {
  it('after a deposit: the claim holds the shares at the pool value, and nothing is counted twice', () => {
    const state = runScenario(underwritten);
    const tree = LiabilitiesTree.build(state);
    expect(leafOf(tree, 'erin').USDC).toEqual({ claim: 2000_000000n, debt: 0n });
    expect(leafOf(tree, 'carol').USDC).toEqual({ claim: 5000_000000n, debt: 0n });
    expectConsistent(tree, state);
    // The pool's holdings sit in no account: USDC claims are exactly the 8000 deposited.
    const root = tree.root().assets.find((asset) => asset.symbol === 'USDC')!;
    expect(root).toMatchObject({ claims: 8000_000000n, debts: 0n });
  });

  it('after a liquidation fee: every underwriter gains its share, rounded down, the pool keeping the remainder', () => {
    const state = runScenario(`${underwritten}
1000 bob borrowLendExecute symbol=USDC side=Borrow quantity=500 -> ok
1000 bob withdraw symbol=USDC quantity=500 address=x blockchain=Solana -> ok
1000 operator indexPriceUpdate symbol=SOL price=65 publishedAtMs=1000 -> ok
1000 carol orderExecute symbol=SOL_USDC side=Bid orderType=Limit price=64 quantity=10 -> ok
`);
    const tree = LiabilitiesTree.build(state, { version: 1 });
    runScenario('1000 keeper liquidate account=bob -> ok', state);
    // One gradual step (docs/margin.md, section 8) sells 1.71 SOL to carol at 64 = 109.44; the fee, 1 % of
    // that, goes to the pool: 1301.0944 held against 1300 shares.
    expect(usdcPool(state).holdingsUnits).toBe(1301_094400n);
    tree.update(state, 2);
    // erin: 1000 available + ⌊1000 × 1301.0944 / 1300⌋ = 1000.841846; no entry touched her account.
    expect(leafOf(tree, 'erin').USDC).toEqual({ claim: 2000_841846n, debt: 0n });
    const carol = leafOf(tree, 'carol').USDC!;
    // carol: 4700 (109.44 of it paid for bob's SOL) + ⌊300 × 1301.0944 / 1300⌋ = 300.252553.
    expect(carol).toEqual({ claim: 4700_000000n - 109_440000n + 300_252553n, debt: 0n });
    // The two shares add up to 1301.094399: one unit of the pool is no one's claim.
    expectConsistent(tree, state);
  });

  it('after a payout, a withdrawal request and its completion: the incremental tree equals a full build', () => {
    const state = runScenario(underwritten);
    const tree = LiabilitiesTree.build(state, { version: 1 });
    const rows = [
      '1000 bob borrowLendExecute symbol=USDC side=Borrow quantity=500 -> ok',
      '1000 bob withdraw symbol=USDC quantity=500 address=x blockchain=Solana -> ok',
      '1000 operator indexPriceUpdate symbol=SOL price=65 publishedAtMs=1000 -> ok',
      // No bids: the SOL pool (no underwriters) takes the 10 SOL, the USDC pool pays the 500 of debt.
      '1000 keeper liquidate account=bob -> ok',
      '1000 erin coveragePoolWithdrawRequest symbol=USDC shares=500000000 -> ok',
      '2000 operator withdrawalComplete withdrawalId=1 chainTransactionId=t -> ok',
      '2000 erin coveragePoolWithdraw symbol=USDC -> ok',
    ];
    const erinClaims: bigint[] = [];
    let version = 1;
    for (const row of rows) {
      runScenario(row, state);
      version += 1;
      tree.update(state, version);
      expectConsistent(tree, state);
      erinClaims.push(leafOf(tree, 'erin').USDC!.claim);
    }
    // The payout leaves 800 for 1300 shares: erin's 1000 shares are worth ⌊800 × 1000 / 1300⌋ = 615.384615,
    // still hers while her withdrawal is pending, and paid to her balance when it completes.
    const afterPayout = 1000_000000n + 615_384615n;
    expect(erinClaims).toEqual([
      2000_000000n,
      2000_000000n,
      2000_000000n,
      afterPayout,
      afterPayout,
      afterPayout,
      afterPayout,
    ]);
    expect(usdcPool(state).holdingsUnits).toBe(800_000000n - 307_692307n);
    // Nobody underwrites the SOL pool: its 10 SOL are no account's claim.
    expect(state.assetsBySymbol.get('SOL')!.margin!.coveragePool.holdingsUnits).toBe(10_000000000n);
    expect(tree.root().assets.find((asset) => asset.symbol === 'SOL')!.claims).toBe(100_000000000n);
  });

  it('a decoded state gives the same root, and the reserves report counts a pool share against a debt', () => {
    // bob borrows 500 USDC and underwrites the pool with 300 of it: that 300 has not left the wallets.
    const state = runScenario(`${setup}
1000 bob borrowLendExecute symbol=USDC side=Borrow quantity=500 -> ok
1000 bob coveragePoolDeposit symbol=USDC quantity=300 -> ok
1000 bob withdraw symbol=USDC quantity=200 address=x blockchain=Solana -> ok
1000 operator withdrawalComplete withdrawalId=1 chainTransactionId=t -> ok
`);
    const tree = LiabilitiesTree.build(state);
    expect(bytesToLowerHex(LiabilitiesTree.build(decodeState(encodeState(state))).root().hash)).toBe(
      bytesToLowerHex(tree.root().hash),
    );
    const fields = attestationFieldsOf(state, tree.root(), 40, new Uint8Array(32), new Uint8Array(32));
    const usdc = reservesReport(state, fields).find((asset) => asset.symbol === 'USDC')!;
    // Claims − debts: the 8000 deposited less the 200 withdrawn.
    expect(usdc).toMatchObject({ claims: 8300_000000n, debts: 500_000000n, borrowLendHole: 200_000000n });
    expect(usdc.liabilities).toBe(8000_000000n - 200_000000n);
  });
});
