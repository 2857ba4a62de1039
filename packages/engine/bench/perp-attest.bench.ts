/**
 * What an attestation costs with many open perpetual positions after a mark
 * move (docs/benchmarks.md, "Perpetual attestations"):
 *
 *   npx tsx packages/engine/bench/perp-attest.bench.ts [--positions 100000] [--rounds 5]
 *
 * Without --positions it measures 10,000 and then 100,000 positions in one
 * run. Set-up, untimed: USDC and SOL listed, SOL_USDC_PERP listed, SOL at
 * 100; one account per position, each credited 10,000 USDC through
 * execute(); then the positions are written straight into the accounts
 * (pairs of a long and a short of 1 to 20 SOL at 100, open interest set to
 * match: the invariants hold), realised at the start time; then the
 * liabilities tree and the state commitment over the state.
 *
 * Each round is two attestations, timed on this thread part by part (tree
 * update, state commitment update, fields, signature):
 * - after a mark move: an operator index update (100 ± 1) through execute(),
 *   1 ms later, in the same 10-second window, so no position is realised and
 *   the mark alone moves every position's pending PnL: the tree rewrites the
 *   leaf of every holder (liabilities-perps.ts);
 * - the peer, measured in the same round: an attestation after one deposit to
 *   one account and no mark move (an index update at the same price moves
 *   neither mark nor funding index), so the tree rewrites one leaf.
 * Medians of --rounds after two warm-up rounds, wall clock and process CPU,
 * with the load average. The last line is one JSON object.
 */
import { loadavg } from 'node:os';
import {
  LiabilitiesTree,
  StateCommitment,
  createState,
  parseInstruction,
  type ExchangeState,
  type Instruction,
  type PerpMarketState,
} from '../src/index.js';
import { openPositionOf } from '../src/perps/perp-holding.js';
import { solUsdcPerpListingParams } from '../test/support-listings.js';
import { type AttestationTimes, type PartTime, timedAttestation } from './attestation-timing.js';
import { benchListing, indexedKey as key, median, mustExecute, positiveIntegerArgument } from './bench-support.js';

const rounds = positiveIntegerArgument('rounds', 5);
const sizes = process.argv.includes('--positions')
  ? [positiveIntegerArgument('positions', 100_000)]
  : [10_000, 100_000];
const startMs = 1_750_000_000_000;
const operator = key(10_000_000);
const solUnits = 1_000_000_000n;
const usdcUnits = 1_000_000n;

function parsed(name: string, params: Record<string, string>): Instruction {
  const sorted = new Map(Object.entries(params).sort(([left], [right]) => (left < right ? -1 : 1)));
  const parse = parseInstruction([{ instruction: name, params: sorted }]);
  if (!parse.ok) throw new Error(parse.message);
  return parse.instruction;
}

function indexUpdate(price: string, timeMs: number): Instruction {
  return parsed('indexPriceUpdate', { symbol: 'SOL', price, publishedAtMs: String(timeMs) });
}

function deposit(account: string, quantity: string, id: string): Instruction {
  return parsed('depositCredit', {
    account,
    symbol: 'USDC',
    quantity,
    blockchain: 'Solana',
    chainTransactionId: id,
  });
}

/** The state of the module comment: `positionCount` accounts, each with one position. */
function perpState(positionCount: number): ExchangeState {
  const state = createState({ exchangeName: 'perp-attest-bench', operatorKeys: [operator], feeAccount: operator });
  const must = (instruction: Instruction) => mustExecute(state, operator, instruction, startMs);
  must(parsed('assetList', { symbol: 'USDC', decimals: '6' }));
  must(parsed('assetList', { symbol: 'SOL', decimals: '9' }));
  // Both borrowable (the index price and a loss's USDC borrow need it), as in borrower-state.ts.
  const lending = { kind: 'borrowLendMarketList' as const, ...benchListing, maxPriceMove: '0.1' };
  must({ ...lending, symbol: 'USDC', collateralWeight: '1', imfBase: '0.2', mmfBase: '0.1' });
  must({ ...lending, symbol: 'SOL', collateralWeight: '0.8', imfBase: '0.3', mmfBase: '0.15' });
  must(parsed('marketList', solUsdcPerpListingParams));
  must(indexUpdate('100', startMs));
  const market = state.marketsBySymbol.get('SOL_USDC_PERP')!;
  const perp = market.perp as PerpMarketState;
  for (let index = 0; index < positionCount; index += 1) must(deposit(key(index), '10000', `p${index}`));
  for (let index = 0; index < positionCount; index += 1) {
    // Pairs: account 2k is long what account 2k + 1 is short.
    const size = BigInt(1 + ((index >> 1) % 20)) * solUnits;
    const quantityUnits = index % 2 === 0 ? size : -size;
    if (quantityUnits > 0n) perp.openInterestUnits += quantityUnits;
    const account = state.accounts.get(key(index))!;
    const position = {
      quantityUnits,
      costBasisUnits: (quantityUnits / solUnits) * 100n * usdcUnits,
      realisedPnlUnits: 0n,
      cumulativeFundingUnits: 0n,
      fundingIndexAtSettlement: perp.funding.cumulativeFundingIndex,
      realisedAtMs: startMs,
    };
    // Stored where the engine keeps it: its holding on the market, in the account's positions (perp-holding.ts).
    openPositionOf(account, market, position);
  }
  return state;
}

function totalOf(attested: AttestationTimes): PartTime {
  const parts = [attested.tree, attested.commitment, attested.fields, attested.signature];
  return {
    wallMs: parts.reduce((sum, part) => sum + part.wallMs, 0),
    cpuMs: parts.reduce((sum, part) => sum + part.cpuMs, 0),
  };
}

function measure(positionCount: number) {
  const setUpStarted = performance.now();
  const state = perpState(positionCount);
  const tree = LiabilitiesTree.build(state);
  const commitment = StateCommitment.build(state);
  const setUpSeconds = ((performance.now() - setUpStarted) / 1000).toFixed(1);
  console.log(
    `set-up: ${positionCount} positions, ${state.accountList.length} accounts, tree and commitment in ` +
      `${setUpSeconds} s; load average ${loadavg()[0]!.toFixed(1)}`,
  );
  const markMoves: AttestationTimes[] = [];
  const peers: AttestationTimes[] = [];
  const perp = state.marketsBySymbol.get('SOL_USDC_PERP')!.perp as PerpMarketState;
  let timeMs = startMs;
  for (let round = 0; round < rounds + 2; round += 1) {
    timeMs += 1;
    const markBefore = perp.funding.markPrice;
    const price = round % 2 === 0 ? '101' : '100';
    mustExecute(state, operator, indexUpdate(price, timeMs), timeMs);
    if (perp.funding.markPrice === markBefore) throw new Error('the mark did not move');
    const moved = timedAttestation(state, tree, commitment, 2 * round + 1);
    timeMs += 1;
    mustExecute(state, operator, deposit(key(round), '1', `r${round}`), timeMs);
    const peer = timedAttestation(state, tree, commitment, 2 * round + 2);
    if (round >= 2) {
      markMoves.push(moved);
      peers.push(peer);
    }
  }
  const medianOf = (list: AttestationTimes[], pick: (item: AttestationTimes) => PartTime): PartTime => ({
    wallMs: median(list.map((item) => pick(item).wallMs)),
    cpuMs: median(list.map((item) => pick(item).cpuMs)),
  });
  const moved = {
    total: medianOf(markMoves, totalOf),
    tree: medianOf(markMoves, (item) => item.tree),
    commitment: medianOf(markMoves, (item) => item.commitment),
    fields: medianOf(markMoves, (item) => item.fields),
    signature: medianOf(markMoves, (item) => item.signature),
  };
  const peer = { total: medianOf(peers, totalOf), tree: medianOf(peers, (item) => item.tree) };
  const shown = (part: PartTime) => `${part.wallMs.toFixed(1)} ms wall, ${part.cpuMs.toFixed(1)} ms CPU`;
  console.log(
    `${positionCount} positions, after a mark move: attestation ${shown(moved.total)} (medians of ${rounds}); ` +
      `load average ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(
    `  tree update ${shown(moved.tree)}; commitment ${shown(moved.commitment)}; fields ${shown(moved.fields)}; ` +
      `signature ${shown(moved.signature)}`,
  );
  console.log(
    `  peer: no mark move, one deposit: attestation ${shown(peer.total)} (tree ${shown(peer.tree)}); ` +
      `mark move / peer CPU = ${(moved.total.cpuMs / peer.total.cpuMs).toFixed(1)}`,
  );
  return { positionCount, moved, peer };
}

const results = sizes.map(measure);
const summary: Record<string, number> = {};
for (const result of results) {
  const suffix = `${result.positionCount / 1000}k`;
  summary[`markMoveAttestCpuMs${suffix}`] = Number(result.moved.total.cpuMs.toFixed(2));
  summary[`markMoveAttestMs${suffix}`] = Number(result.moved.total.wallMs.toFixed(2));
  summary[`markMoveTreeCpuMs${suffix}`] = Number(result.moved.tree.cpuMs.toFixed(2));
  summary[`peerAttestCpuMs${suffix}`] = Number(result.peer.total.cpuMs.toFixed(2));
}
if (results.length === 2) {
  const [small, large] = results as [(typeof results)[0], (typeof results)[0]];
  summary.cpuRatio = Number((large.moved.total.cpuMs / small.moved.total.cpuMs).toFixed(2));
  summary.positionRatio = large.positionCount / small.positionCount;
}
console.log(JSON.stringify(summary));
