/**
 * The escape's `next` steps in a frozen vault for a proof that verifies, per
 * phase (docs/custody.md, "If the operator stops"), including the cases the
 * CLI walk-through (escape-status.test.ts) does not reach: a claim window that
 * closed with nothing registered.
 */
import { expect, it } from 'vitest';
import { nextSteps, type EscapeProofCheck, type EscapeStatus } from '../src/escape.js';

const owedNothing = [{ symbol: 'SOL', amount: '0' }];
const proof: EscapeProofCheck = {
  sequence: 41,
  verifies: true,
  exited: false,
  claim: 'none',
  amounts: [{ symbol: 'SOL', amount: '7' }],
  owed: owedNothing,
};
const frozen: Omit<EscapeStatus, 'next'> = {
  vault: '0x0000000000000000000000000000000000000001',
  chainTime: 1000,
  frozen: true,
  claimWindowEndsAt: 1600,
  claimWindowOpen: true,
  lastFinalRoot: null,
  pendingCommitments: 0,
  forcedExits: [],
  oldestUnserved: null,
  freezableNow: false,
  refundableDeposits: [],
  proof,
};

it('registers while the window is open, waits, pays, then only pulls', () => {
  expect(nextSteps(frozen)).toEqual([
    expect.stringMatching(/^exit \(.* chain time 1600 \(now 1000\)\): exchange exit /),
  ]);
  const registered = { ...proof, exited: true, claim: 'registered' as const };
  expect(nextSteps({ ...frozen, proof: registered })).toEqual([
    expect.stringMatching(/^wait: the claim window ends at chain time 1600 \(now 1000\); then exchange exit-pay /),
  ]);
  const over = { ...frozen, chainTime: 1600, claimWindowOpen: false };
  expect(nextSteps({ ...over, proof: registered })).toEqual([
    expect.stringMatching(/^exit-pay \(the claim window is over\): exchange exit-pay .*vault-withdraw$/),
  ]);
  const paid = { ...registered, claim: 'paid' as const, owed: [{ symbol: 'SOL', amount: '7' }] };
  expect(nextSteps({ ...over, proof: paid })).toEqual([
    expect.stringMatching(/^pull 7 SOL: exchange vault-withdraw --symbol SOL/),
  ]);
});

it('says a leaf that registered nothing before the window closed cannot exit', () => {
  const over = { ...frozen, chainTime: 1601, claimWindowOpen: false };
  expect(nextSteps(over)).toEqual([
    'your claim was not registered and the claim window closed at chain time 1600 (now 1601)',
  ]);
});
