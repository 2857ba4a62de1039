/**
 * A liabilities root computed straight from docs/attestation.md with the
 * engine's leaf and node hash functions, over any chosen set of accounts:
 * what a dishonest operator would attest if it left an account out.
 */
import {
  accountCommitment,
  apply,
  bytesToLowerHex,
  createState,
  encodeSums,
  leafHash,
  nodeHash,
  type Account,
  type ExchangeState,
} from '@vex/engine';
import type { TestLog } from './test-log.js';

interface Node {
  readonly hash: Uint8Array;
  readonly sums: bigint[];
}

function claimsOf(state: ExchangeState, account: Account): bigint[] {
  return state.assets.map((asset) => {
    const balance = account.balances[asset.index];
    return balance === undefined ? 0n : balance.available + balance.locked + balance.pendingWithdrawal;
  });
}

function rootOf(state: ExchangeState, accounts: readonly Account[]): string {
  const pairs = (sums: readonly bigint[]): Uint8Array => encodeSums(sums.map((claim) => ({ claim, debt: 0n })));
  let level: Node[] = accounts.map((account) => {
    const sums = claimsOf(state, account);
    return { hash: leafHash(accountCommitment(Buffer.from(account.id, 'base64'), account.salt), pairs(sums)), sums };
  });
  const empty: Node = { hash: new Uint8Array(32), sums: state.assets.map(() => 0n) };
  while (level.length > 1) {
    const parents: Node[] = [];
    for (let index = 0; index < level.length; index += 2) {
      const left = level[index]!;
      const right = level[index + 1] ?? empty;
      parents.push({
        hash: nodeHash(left.hash, pairs(left.sums), right.hash, pairs(right.sums)),
        sums: left.sums.map((sum, asset) => sum + right.sums[asset]!),
      });
    }
    level = parents;
  }
  return bytesToLowerHex(level[0]!.hash);
}

/** The root over every account at `sequence`, and over every account but the last, with that account's claims. */
export function liabilitiesWithoutLastAccount(
  log: TestLog,
  sequence: number,
): {
  honestRoot: string;
  rootWithout: { hash: string; accountCount: number };
  omittedClaims: bigint[];
} {
  const state = createState(log.genesis);
  for (const entry of log.entries.slice(0, sequence)) apply(state, entry);
  const accounts = state.accountList;
  const omitted = accounts.at(-1)!;
  return {
    honestRoot: rootOf(state, accounts),
    rootWithout: { hash: rootOf(state, accounts.slice(0, -1)), accountCount: accounts.length - 1 },
    omittedClaims: claimsOf(state, omitted),
  };
}
