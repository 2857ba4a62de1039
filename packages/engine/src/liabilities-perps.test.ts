/**
 * Perpetual positions in the liabilities leaves (docs/attestation.md,
 * "Perpetual positions in the leaves") and the bounded realisation of
 * positions nobody touches (docs/perps.md, section 5b): after random steps
 * with a moving mark and funding boundaries, the incremental tree equals the
 * specification's tree computed from scratch (liabilities-reference.ts), a
 * decoded state goes on exactly as the original, and a proof of an account
 * with a position verifies with its pending PnL in its leaf.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectReferenceRoot, referenceSums } from '../test/liabilities-reference.js';
import { applyRow, runScenario, scenarioKeys } from '../test/scenario-runner.js';
import { signerFromByte } from '../test/random-log.js';
import { bytesToLowerHex } from './attestation.js';
import { verifyInclusionProof } from './inclusion-proof.js';
import { pendingPerpUnitsByAsset } from './liabilities-perps.js';
import { attestationFieldsOf, LiabilitiesTree, signAttestation } from './liabilities-tree.js';
import { realisationsPerEntry, realisationWindowMs } from './perps/perp-realisation.js';
import { decodeState, encodeState } from './state-codec.js';
import type { Account, ExchangeState } from './state.js';

const setup = readFileSync(new URL('../test/scenarios/setup.scenario', import.meta.url), 'utf8');
const traders = ['bob', 'carol', 'dave', 'erin', 'keeper'];

/** After setup.scenario: a fee-free SOL_USDC_PERP (IMF 10 %, MMF 5 %) and 20,000 USDC for each trader. */
const perpSetup = `${setup}
${[
  '3 operator marketList symbol=SOL_USDC_PERP baseSymbol=SOL quoteSymbol=USDC tickSize=0.01 stepSize=0.01',
  'minQuantity=0.01 maxQuantity=100000 minPrice=0.01 maxPrice=1000000 makerFeeBps=0 takerFeeBps=0 marketType=PERP',
  'imfBase=0.1 imfFactor=0 mmfBase=0.05 mmfFactor=0 -> ok',
].join(' ')}
${traders
  .map(
    (name, index) =>
      `3 operator depositCredit account=${name} symbol=USDC quantity=20000 blockchain=Solana` +
      ` chainTransactionId=p${index} -> ok`,
  )
  .join('\n')}
`;

/** A small seeded generator (mulberry32): the steps reproduce from the seed. */
function randomFrom(seed: number): (bound: number) => number {
  let value = seed >>> 0;
  return (bound) => {
    value = (value + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(value ^ (value >>> 15), 1 | value);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed);
    return (((mixed ^ (mixed >>> 14)) >>> 0) % bound) as number;
  };
}

interface Step {
  readonly timeMs: number;
  readonly signer: string;
  readonly name: string;
  readonly params: Map<string, string>;
}

/** Random steps: index moves (the mark follows), resting and taking orders, gaps across windows and hours. */
function randomSteps(seed: number, count: number): Step[] {
  const random = randomFrom(seed);
  const gaps = [0, 1, 4_000, 11_000, 600_000, 3_600_000];
  const steps: Step[] = [];
  let timeMs = 10;
  let priceCents = 10_000;
  for (let index = 0; index < count; index += 1) {
    timeMs += gaps[random(gaps.length)]!;
    const kind = random(3);
    if (kind === 0) {
      priceCents += random(1_001) - 500;
      if (priceCents < 5_000) priceCents = 5_000;
      const price = (priceCents / 100).toFixed(2);
      const params = new Map([
        ['symbol', 'SOL'],
        ['price', price],
        ['publishedAtMs', String(timeMs)],
      ]);
      steps.push({ timeMs, signer: 'operator', name: 'indexPriceUpdate', params });
      continue;
    }
    const signer = traders[random(traders.length)]!;
    const side = random(2) === 0 ? 'Bid' : 'Ask';
    const quantity = ((1 + random(300)) / 100).toFixed(2);
    const params = new Map([
      ['symbol', 'SOL_USDC_PERP'],
      ['side', side],
      ['quantity', quantity],
    ]);
    if (kind === 1) {
      const offsetCents = random(400) - 200;
      params.set('orderType', 'Limit');
      params.set('price', ((priceCents + offsetCents) / 100).toFixed(2));
    } else params.set('orderType', 'Market');
    steps.push({ timeMs, signer, name: 'orderExecute', params });
  }
  return steps;
}

function accountOf(state: ExchangeState, name: string): Account {
  return state.accounts.get(scenarioKeys.get(name)!)!;
}

function apply(state: ExchangeState, step: Step): void {
  applyRow(state, step.timeMs, step.signer, step.name, new Map(step.params));
}

describe('perpetual positions in the liabilities leaves', () => {
  it.each([1, 2, 3])('after random steps with a moving mark (seed %i), every leaf is exact at each update', (seed) => {
    const state = runScenario(perpSetup);
    const tree = LiabilitiesTree.build(state, { version: 0 });
    let stepsWithPending = 0;
    randomSteps(seed, 120).forEach((step, index) => {
      apply(state, step);
      const root = tree.update(state, index + 1);
      expectReferenceRoot(root, state);
      const pendingOf = (account: Account) => pendingPerpUnitsByAsset(state, account) ?? [];
      if (state.accountList.some((account) => pendingOf(account).some((amount) => amount !== 0n)))
        stepsWithPending += 1;
    });
    // The run is meaningful: PnL or funding was pending at many of the updates, and positions are open.
    expect(stepsWithPending).toBeGreaterThan(20);
    expect(state.accountList.filter((account) => account.positions.size > 0).length).toBeGreaterThan(1);
    expect(bytesToLowerHex(tree.root().hash)).toBe(bytesToLowerHex(LiabilitiesTree.build(state).root().hash));
  });

  it('a mark move alone rewrites the holders’ leaves: the pending PnL is in the claim or the debt', () => {
    const state = runScenario(`${perpSetup}
4 erin orderExecute symbol=SOL_USDC_PERP side=Ask orderType=Limit price=100 quantity=10 -> ok
4 carol orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Market quantity=10 -> ok
`);
    const tree = LiabilitiesTree.build(state, { version: 1 });
    const usdcOf = (name: string) => tree.proofPath(accountOf(state, name).id)!.balances[0]!;
    expect(usdcOf('carol')).toMatchObject({ claim: 25_000_000000n, debt: 0n });
    // SOL to 110 in the same 10-second window: nothing is realised, the mark moves 10 × 10 = 100 USDC.
    runScenario('5 operator indexPriceUpdate symbol=SOL price=110 publishedAtMs=5 -> ok', state);
    const perpIndex = state.marketsBySymbol.get('SOL_USDC_PERP')!.index;
    expect(accountOf(state, 'carol').positions.get(perpIndex)?.realisedAtMs).toBe(4);
    expectReferenceRoot(tree.update(state, 2), state);
    expect(usdcOf('carol')).toMatchObject({ claim: 25_100_000000n, debt: 0n });
    expect(usdcOf('erin')).toMatchObject({ claim: 22_000_000000n, debt: 100_000000n });
    // The inclusion proof of an account with a position verifies, with the pending gain in its claim.
    const fields = attestationFieldsOf(state, tree.root(), 2, new Uint8Array(32).fill(3), new Uint8Array(32));
    const attestation = signAttestation(fields, signerFromByte(200).seed);
    const carol = accountOf(state, 'carol');
    const verdict = verifyInclusionProof(tree.inclusionProof(attestation, carol.id), [attestation.operatorKey]);
    expect(verdict).toMatchObject({ ok: true, balances: [{ symbol: 'USDC', claim: 25_100_000000n, debt: 0n }, {}] });
    expect(referenceSums(state, carol)[0]).toEqual({ claim: 25_100_000000n, debt: 0n });
    // Golden vector: the root with two positions and a pending gain and loss of 100 USDC.
    expect(bytesToLowerHex(tree.root().hash)).toMatchInlineSnapshot(
      `"60d38bc551d097e4a3b4f3f42f962fe6cc4e1286d80fd0f29f6d325b4042f32f"`,
    );
  });

  it('a decoded state realises the same positions and gives the same roots as the original', () => {
    const state = runScenario(perpSetup);
    const steps = randomSteps(7, 160);
    for (const step of steps.slice(0, 80)) apply(state, step);
    const decoded = decodeState(encodeState(state));
    for (const step of steps.slice(80)) {
      apply(state, step);
      apply(decoded, step);
    }
    expect(Buffer.from(encodeState(decoded)).equals(Buffer.from(encodeState(state)))).toBe(true);
    expect(LiabilitiesTree.build(decoded).root().hash).toEqual(LiabilitiesTree.build(state).root().hash);
  });

  it('positions nobody touches are realised within ⌈positions / realisationsPerEntry⌉ entries of their window', () => {
    const state = runScenario(perpSetup);
    for (const step of randomSteps(11, 200)) apply(state, step);
    const positions = state.accountList.flatMap((account) => [...account.positions.values()]);
    expect(positions.length).toBeGreaterThan(1);
    // Only the operator signs from here on, in a later window than every position's last realisation.
    let timeMs = state.logTimeMs - (state.logTimeMs % realisationWindowMs) + realisationWindowMs;
    const windowStartMs = timeMs;
    const bound = Math.ceil(positions.length / realisationsPerEntry);
    for (let entry = 0; entry < bound; entry += 1) {
      runScenario(`${timeMs} operator indexPriceUpdate symbol=SOL price=100 publishedAtMs=${timeMs} -> ok`, state);
      timeMs += 1;
    }
    for (const position of positions) expect(position.realisedAtMs).toBeGreaterThanOrEqual(windowStartMs);
  });

  it('a position whose loss nobody could pay is held back, never realised into a halt', () => {
    // erin (2,000 USDC) shorts 100 SOL to carol; SOL to 140: a 4,000 loss against her 2,000, the pool's 1,000 of
    // cash and no coverage. Realising it would halt the node (docs/perps.md, section 5a).
    const listing = perpSetup.split('\n').find((line) => line.includes('marketList symbol=SOL_USDC_PERP'))!;
    const state = runScenario(`${setup}
${listing}
4 erin orderExecute symbol=SOL_USDC_PERP side=Ask orderType=Limit price=100 quantity=100 -> ok
4 carol orderExecute symbol=SOL_USDC_PERP side=Bid orderType=Market quantity=100 -> ok
5 operator indexPriceUpdate symbol=SOL price=140 publishedAtMs=5 -> ok
20000 operator indexPriceUpdate symbol=SOL price=140 publishedAtMs=20000 -> ok
20001 operator indexPriceUpdate symbol=SOL price=140 publishedAtMs=20001 -> ok
`);
    const perpIndex = state.marketsBySymbol.get('SOL_USDC_PERP')!.index;
    // carol's gain, first in the order, is realised; erin's position waits at the head of the order.
    expect(accountOf(state, 'carol').positions.get(perpIndex)?.realisedAtMs).toBe(20000);
    expect(accountOf(state, 'erin').positions.get(perpIndex)?.realisedAtMs).toBe(4);
    expect(accountOf(state, 'erin').balances[0]?.available).toBe(2_000_000000n);
    // Her leaf still counts the loss: 4,000 USDC of debt against her 2,000 claim.
    const tree = LiabilitiesTree.build(state);
    expect(tree.proofPath(accountOf(state, 'erin').id)!.balances[0]).toMatchObject({
      claim: 2_000_000000n,
      debt: 4_000_000000n,
    });
  });
});
