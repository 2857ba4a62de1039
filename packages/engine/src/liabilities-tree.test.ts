import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceRoot } from '../test/liabilities-reference.js';
import { signerFromByte } from '../test/random-log.js';
import { execute } from './apply.js';
import { formatDecimal } from './decimal.js';
import { bytesToLowerHex, type Attestation } from './attestation.js';
import type { Instruction } from './instruction.js';
import {
  accountCommitment,
  encodeSums,
  leafHash,
  nodeHash,
  verifyInclusionProof,
  type ClaimAndDebt,
} from './inclusion-proof.js';
import { attestationFieldsOf, LiabilitiesTree, signAttestation, type LiabilitiesRoot } from './liabilities-tree.js';
import { listAsset } from './listing.js';
import { isRejection } from './result-codes.js';
import { decodeState, encodeState } from './state-codec.js';
import { addAccount, createState, type Account, type ExchangeState } from './state.js';
import { solUsdcListing } from '../test/support-listings.js';

const traders = Array.from({ length: 14 }, (_, index) => signerFromByte(index + 1));
const operator = signerFromByte(200);

function expectRootsEqual(actual: LiabilitiesRoot, state: ExchangeState): void {
  const reference = referenceRoot(state);
  expect(bytesToLowerHex(actual.hash)).toBe(bytesToLowerHex(reference.hash));
  expect(actual.accountCount).toBe(state.accountList.length);
  expect(actual.assets).toEqual(
    state.assets.map((asset, index) => ({ symbol: asset.symbol, claims: reference.sums[index]!.claim, debts: 0n })),
  );
}

function listed(state: ExchangeState, symbol: string, decimals = 9): void {
  const asset = listAsset(state, { kind: 'assetList', symbol, decimals });
  if (isRejection(asset)) throw new Error(asset.message);
}

/** A fixed state of three accounts: the fee account and two created by entries with fixed signatures. */
function fixedState(): ExchangeState {
  const state = createState({
    exchangeName: 'golden',
    operatorKeys: [signerFromByte(200).accountId],
    feeAccount: signerFromByte(10).accountId,
  });
  listed(state, 'SOL');
  listed(state, 'USDC', 6);
  const first = addAccount(state, signerFromByte(11).accountId, new Uint8Array(64).fill(0xaa));
  const second = addAccount(state, signerFromByte(12).accountId, new Uint8Array(64).fill(0xbb));
  const [sol, usdc] = state.assets as [(typeof state.assets)[0], (typeof state.assets)[0]];
  state.feeAccount.balance(sol).available = 5n;
  first.balance(sol).available = 1_000n;
  first.balance(sol).locked = 200n;
  first.balance(usdc).pendingWithdrawal = 7n;
  // Above 2^64, so both halves of the u128 are exercised.
  second.balance(usdc).available = (1n << 70n) + 3n;
  return state;
}

describe('LiabilitiesTree', () => {
  it('golden vector: a small fixed tree has a pinned root (the encoding cannot drift silently)', () => {
    const state = fixedState();
    const tree = LiabilitiesTree.build(state);
    const root = tree.root();
    // Pinned; recomputed independently (a short Python script following docs/attestation.md,
    // salts included) before pinning.
    expect(bytesToLowerHex(root.hash)).toBe('912448029bd88e68509152d8777c9847a36cf377a0ac2f1b704c3d58750b82bc');
    expect(root.accountCount).toBe(3);
    expect(root.assets).toEqual([
      { symbol: 'SOL', claims: 1_205n, debts: 0n },
      { symbol: 'USDC', claims: (1n << 70n) + 10n, debts: 0n },
    ]);
    expect(tree.depth()).toBe(2);
    expectRootsEqual(root, state);
  });

  it('hashes exactly as the browser-safe functions of inclusion-proof.ts, leaf by leaf and node by node', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.bigInt({ min: 0n, max: 1n << 100n }), { minLength: 200, maxLength: 200 }),
        (accountCount, assetCount, amounts) => {
          const state = createState({
            exchangeName: 'equal',
            operatorKeys: [signerFromByte(200).accountId],
            feeAccount: signerFromByte(1).accountId,
          });
          for (let index = 0; index < assetCount; index += 1) listed(state, `A${index}`);
          for (let index = 1; index < accountCount; index += 1)
            addAccount(state, signerFromByte(index + 1).accountId, new Uint8Array(64).fill(index));
          let next = 0;
          for (const account of state.accountList) {
            for (const asset of state.assets) {
              const balance = account.balance(asset);
              balance.available = amounts[next++ % amounts.length]!;
              balance.locked = amounts[next++ % amounts.length]! >> 3n;
              balance.pendingWithdrawal = amounts[next++ % amounts.length]! >> 7n;
            }
          }
          const tree = LiabilitiesTree.build(state);
          expectRootsEqual(tree.root(), state);
          // Every leaf's path, walked up with the noble functions, reaches the root.
          for (const account of state.accountList) {
            const body = tree.proofPath(account.id)!;
            let hash = leafHash(
              accountCommitment(Buffer.from(account.id, 'base64'), body.salt),
              encodeSums(body.balances),
            );
            let sums: ClaimAndDebt[] = body.balances.map(({ claim, debt }) => ({ claim, debt }));
            body.path.forEach((sibling, level) => {
              const onLeft = ((body.leafIndex >> level) & 1) === 0;
              hash = onLeft
                ? nodeHash(hash, encodeSums(sums), sibling.hash, encodeSums(sibling.sums))
                : nodeHash(sibling.hash, encodeSums(sibling.sums), hash, encodeSums(sums));
              sums = sums.map((pair, asset) => ({
                claim: pair.claim + sibling.sums[asset]!.claim,
                debt: pair.debt + sibling.sums[asset]!.debt,
              }));
            });
            expect(bytesToLowerHex(hash)).toBe(bytesToLowerHex(tree.root().hash));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('build clears every leafStale flag and empties changedAccounts', () => {
    const state = fixedState();
    expect(state.changedAccounts.length).toBe(2);
    expect(state.accountList.filter((account) => account.leafStale).length).toBe(2);
    LiabilitiesTree.build(state);
    expect(state.changedAccounts).toEqual([]);
    expect(state.accountList.some((account) => account.leafStale)).toBe(false);
  });

  it("a proof body holds the leaf's stored amounts, not the live state's, until the next update", () => {
    const state = fixedState();
    const tree = LiabilitiesTree.build(state);
    const first = state.accountList[1]!;
    const before = tree.proofPath(first.id)!;
    const rootBefore = tree.root();
    first.balance(state.assets[0]!).available += 50n;
    first.leafStale = true;
    state.changedAccounts.push(first);
    expect(tree.proofPath(first.id)).toEqual(before);
    expect(tree.root()).toBe(rootBefore);
    expect(before.balances[0]).toEqual({ symbol: 'SOL', claim: 1_200n, debt: 0n });
    const after = tree.update(state);
    expect(tree.proofPath(first.id)!.balances[0]).toEqual({ symbol: 'SOL', claim: 1_250n, debt: 0n });
    expect(after.assets[0]!.claims).toBe(1_255n);
    expect(bytesToLowerHex(after.hash)).not.toBe(bytesToLowerHex(rootBefore.hash));
    expectRootsEqual(after, state);
  });

  it('an account the tree does not hold has no proof body', () => {
    const state = fixedState();
    const tree = LiabilitiesTree.build(state);
    expect(tree.proofPath(signerFromByte(99).accountId)).toBeUndefined();
    // Created after the last update: not in the tree yet.
    const late = addAccount(state, signerFromByte(13).accountId, new Uint8Array(64).fill(0xcc));
    expect(tree.proofPath(late.id)).toBeUndefined();
    tree.update(state);
    expect(tree.proofPath(late.id)?.leafIndex).toBe(3);
  });

  it('grows leaf by leaf past every capacity and level boundary, equal to a full build each time', () => {
    const state = createState({
      exchangeName: 'grow',
      operatorKeys: [signerFromByte(200).accountId],
      feeAccount: signerFromByte(1).accountId,
    });
    listed(state, 'SOL');
    const tree = LiabilitiesTree.build(state);
    for (let index = 1; index < 150; index += 1) {
      const account = addAccount(state, signerFromByte(index + 1).accountId, new Uint8Array(64).fill(index));
      account.balance(state.assets[0]!).available = BigInt(index);
      const root = tree.update(state);
      const fresh = LiabilitiesTree.build(state).root();
      expect(bytesToLowerHex(root.hash)).toBe(bytesToLowerHex(fresh.hash));
      expect(root).toEqual(fresh);
    }
    expectRootsEqual(tree.root(), state);
  });

  it('rebuilds when given another state object, such as one decoded from a snapshot', () => {
    const state = createState({
      exchangeName: 'snapshot',
      operatorKeys: [operator.accountId],
      feeAccount: signerFromByte(99).accountId,
    });
    let time = 1_800_000_000_000;
    const deposit = (trader: number, quantity: string): void => {
      const outcome = execute(
        state,
        operator.accountId,
        {
          kind: 'depositCredit',
          account: traders[trader]!.accountId,
          symbol: 'SOL',
          quantity,
          blockchain: 'Solana',
          chainTransactionId: `snapshot-${time}`,
        },
        ++time,
      );
      expect(outcome.accepted).toBe(true);
    };
    expect(execute(state, operator.accountId, { kind: 'assetList', symbol: 'SOL', decimals: 9 }, ++time).accepted).toBe(
      true,
    );
    deposit(0, '1');
    deposit(1, '2');
    const tree = LiabilitiesTree.build(state);
    deposit(1, '3');
    deposit(2, '4');
    const decoded = decodeState(encodeState(state));
    // The decoded state lists no changed accounts, yet the tree catches up.
    expect(decoded.changedAccounts).toEqual([]);
    expectRootsEqual(tree.update(decoded), decoded);
    expect(tree.root().assets[0]!.claims).toBe(10_000_000_000n);
  });

  it('attestationFieldsOf refuses a root that does not cover the state', () => {
    const state = fixedState();
    const tree = LiabilitiesTree.build(state);
    const hash = new Uint8Array(32);
    const fields = attestationFieldsOf(state, tree.root(), 9, hash, hash);
    expect(fields).toMatchObject({ sequence: 9, accountCount: 3, liabilitiesRoot: bytesToLowerHex(tree.root().hash) });
    expect(fields.assets).toEqual([
      { symbol: 'SOL', claims: '1205', debts: '0', reserves: '0', stressShortfall: '0' },
      { symbol: 'USDC', claims: ((1n << 70n) + 10n).toString(), debts: '0', reserves: '0', stressShortfall: '0' },
    ]);
    addAccount(state, signerFromByte(13).accountId, new Uint8Array(64));
    expect(() => attestationFieldsOf(state, tree.root(), 10, hash, hash)).toThrow(/update the tree first/);
    tree.update(state);
    listed(state, 'BTC');
    expect(() => attestationFieldsOf(state, tree.root(), 10, hash, hash)).toThrow(/update the tree first/);
    tree.update(state);
    const signed = signAttestation(attestationFieldsOf(state, tree.root(), 10, hash, hash), signerFromByte(200).seed);
    expect(signed.accountCount).toBe(4);
    expect(signed.assets.map((asset) => asset.symbol)).toEqual(['SOL', 'USDC', 'BTC']);
  });
});

// ---------------------------------------------------------------------------
// Incremental updates against full builds, over random workloads run through the engine.

type Command =
  | { readonly kind: 'deposit'; readonly trader: number; readonly asset: number; readonly units: bigint }
  | { readonly kind: 'withdraw'; readonly pick: number; readonly units: bigint }
  | { readonly kind: 'settle'; readonly pick: number; readonly completed: boolean }
  | { readonly kind: 'order'; readonly pick: number; readonly priceTicks: number; readonly quantitySteps: number }
  | { readonly kind: 'cancelAll'; readonly trader: number }
  | { readonly kind: 'listAsset' }
  | { readonly kind: 'update' };

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('deposit' as const),
      trader: fc.nat({ max: 13 }),
      asset: fc.nat({ max: 5 }),
      units: fc.bigInt({ min: 1_000n, max: 10n ** 15n }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('withdraw' as const),
      pick: fc.nat(),
      units: fc.bigInt({ min: 1n, max: 10n ** 12n }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), completed: fc.boolean() }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      pick: fc.nat(),
      priceTicks: fc.integer({ min: 98, max: 102 }),
      quantitySteps: fc.integer({ min: 1, max: 500 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancelAll' as const), trader: fc.nat({ max: 13 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'listAsset' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'update' as const }) },
);

function marketListing(): Instruction {
  return solUsdcListing();
}

describe('incremental updates equal a full rebuild', () => {
  it('after random balance changes, new accounts and new assets', () => {
    // Accepted commands by kind over all runs, so the workload is known to exercise the engine.
    const accepted = new Map<string, number>();
    let updatesWithLockedFunds = 0;
    let accountsWithTrades = 0;
    fc.assert(
      fc.property(fc.array(commandArbitrary, { minLength: 20, maxLength: 80 }), (commands) => {
        const state = createState({
          exchangeName: 'incremental',
          operatorKeys: [operator.accountId],
          feeAccount: signerFromByte(99).accountId,
        });
        let time = 1_800_000_000_000;
        let entry = 0;
        const run = (signer: string, instruction: Instruction): void => {
          entry += 1;
          // A distinct entry signature per command, so that every account gets its own salt.
          const outcome = execute(
            state,
            signer,
            instruction,
            ++time,
            new Uint8Array(64).fill(entry & 0xff).fill(entry >> 8, 0, 1),
          );
          if (outcome.accepted && outcome.results.every((result) => result.ok))
            accepted.set(instruction.kind, (accepted.get(instruction.kind) ?? 0) + 1);
        };
        for (const symbol of ['SOL', 'USDC']) run(operator.accountId, { kind: 'assetList', symbol, decimals: 6 });
        run(operator.accountId, marketListing());
        const tree = LiabilitiesTree.build(state);
        let deposits = 0;
        const check = (): void => {
          const root = tree.update(state);
          expect(state.changedAccounts).toEqual([]);
          expect(state.accountList.some((account) => account.leafStale)).toBe(false);
          const fresh = LiabilitiesTree.build(state).root();
          expect(bytesToLowerHex(root.hash)).toBe(bytesToLowerHex(fresh.hash));
          expect(root).toEqual(fresh);
          // The totals are every account's funds: deposits minus completed withdrawals.
          expect(root.assets.map((asset) => asset.claims)).toEqual(
            state.assets.map((asset) => asset.depositedUnits - asset.withdrawnUnits),
          );
          if (
            state.accountList.some((account) =>
              account.balances.some((balance) => balance !== undefined && balance.locked > 0n),
            )
          )
            updatesWithLockedFunds += 1;
        };
        for (const command of commands) {
          const assetSymbol = (index: number): string => state.assets[index % state.assets.length]!.symbol;
          switch (command.kind) {
            case 'deposit':
              deposits += 1;
              run(operator.accountId, {
                kind: 'depositCredit',
                account: traders[command.trader]!.accountId,
                symbol: assetSymbol(command.asset),
                quantity: String(command.units),
                blockchain: 'Solana',
                chainTransactionId: `deposit-${deposits}`,
              });
              break;
            case 'withdraw': {
              // From a balance that exists, so that most withdrawals are accepted.
              const holdings = state.accountList.flatMap((account) =>
                account.balances.filter((balance) => balance !== undefined && balance.available > 0n),
              );
              if (holdings.length === 0) break;
              const balance = holdings[command.pick % holdings.length]!;
              const units = command.units < balance.available ? command.units : balance.available;
              run(balance.account.id, {
                kind: 'withdraw',
                symbol: balance.asset.symbol,
                quantity: formatDecimal(units, balance.asset.decimals),
                address: 'somewhere',
                blockchain: 'Solana',
              });
              break;
            }
            case 'settle': {
              const pending = [...state.pendingWithdrawals.keys()];
              if (pending.length === 0) break;
              const withdrawalId = pending[command.pick % pending.length]!;
              run(
                operator.accountId,
                command.completed
                  ? { kind: 'withdrawalComplete', withdrawalId, chainTransactionId: `out-${withdrawalId}` }
                  : { kind: 'withdrawalFail', withdrawalId, reason: 'test' },
              );
              break;
            }
            case 'order': {
              // By an account holding SOL (an ask) or USDC (a bid), so that most orders are accepted and some trade.
              const holdings = state.accountList.flatMap((account) =>
                account.balances.slice(0, 2).filter((balance) => balance !== undefined && balance.available > 0n),
              );
              if (holdings.length === 0) break;
              const balance = holdings[command.pick % holdings.length]!;
              run(balance.account.id, {
                kind: 'orderExecute',
                orders: [
                  {
                    symbol: 'SOL_USDC',
                    side: balance.asset.symbol === 'USDC' ? 'Bid' : 'Ask',
                    orderType: 'Limit',
                    price: (command.priceTicks / 100).toFixed(2),
                    quantity: (command.quantitySteps / 100).toFixed(2),
                    timeInForce: 'GTC',
                    postOnly: false,
                    selfTradePrevention: 'RejectTaker',
                  },
                ],
              });
              break;
            }
            case 'cancelAll':
              run(traders[command.trader]!.accountId, { kind: 'orderCancelAll', symbol: 'SOL_USDC' });
              break;
            case 'listAsset':
              run(operator.accountId, { kind: 'assetList', symbol: `NEW${state.assets.length}`, decimals: 3 });
              break;
            case 'update':
              check();
              break;
          }
        }
        check();
        if (state.feeAccount.balances.some((balance) => balance !== undefined && balance.available > 0n))
          accountsWithTrades += 1;
      }),
      { numRuns: Number(process.env.LIABILITIES_RUNS ?? 150) },
    );
    for (const kind of [
      'depositCredit',
      'withdraw',
      'withdrawalComplete',
      'withdrawalFail',
      'orderExecute',
      'assetList',
    ]) {
      expect(accepted.get(kind) ?? 0, kind).toBeGreaterThan(50);
    }
    expect(updatesWithLockedFunds).toBeGreaterThan(10);
    // Trades pay fees to the fee account.
    expect(accountsWithTrades).toBeGreaterThan(30);
  });
});

// ---------------------------------------------------------------------------
// Proofs at older versions, from the undo logs, against full builds over copies of the older states.

type VersionStep =
  | { readonly kind: 'newAccount'; readonly asset: number; readonly units: bigint }
  | { readonly kind: 'deposit'; readonly pick: number; readonly asset: number; readonly units: bigint }
  | { readonly kind: 'withdraw'; readonly pick: number; readonly asset: number; readonly units: bigint }
  | { readonly kind: 'touch'; readonly pick: number };

/** A deposit or withdrawal of some units of one of four assets, by an account picked from those that exist. */
function balanceStep<Kind extends 'deposit' | 'withdraw'>(kind: Kind) {
  return fc.record({
    kind: fc.constant(kind),
    pick: fc.nat(),
    asset: fc.nat({ max: 3 }),
    units: fc.bigInt({ min: 1n, max: 10n ** 20n }),
  });
}

const versionStepArbitrary: fc.Arbitrary<VersionStep> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('newAccount' as const),
      asset: fc.nat({ max: 3 }),
      units: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    }),
  },
  { weight: 5, arbitrary: balanceStep('deposit') },
  { weight: 3, arbitrary: balanceStep('withdraw') },
  // Listed as changed without a change: the update rewrites the same leaf.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('touch' as const), pick: fc.nat() }) },
);

/** A version: some steps then an update, or a newly listed asset (a full rebuild). */
const versionArbitrary = fc.oneof(
  { weight: 12, arbitrary: fc.array(versionStepArbitrary, { minLength: 0, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant('listAsset' as const) },
);

describe('proofs at older versions', () => {
  it('proofPathAt equals the proof path of a full build over the state at that version, and verifies under its attestation', () => {
    let olderProofsChecked = 0;
    let refusedVersions = 0;
    fc.assert(
      fc.property(
        fc.array(versionArbitrary, { minLength: 2, maxLength: 24 }),
        fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 40_000 })),
        fc.integer({ min: 1, max: 30 }),
        (versions, historyBytes, initialAccounts) => {
          const state = createState({
            exchangeName: 'history',
            operatorKeys: [operator.accountId],
            feeAccount: signerFromByte(99).accountId,
          });
          listed(state, 'SOL');
          listed(state, 'USDC', 6);
          let created = 0;
          const newAccount = (): Account =>
            addAccount(state, accountIdOfIndex(created), new Uint8Array(64).fill(++created & 0xff));
          for (let index = 0; index < initialAccounts; index += 1) newAccount();
          const changed = (account: Account): void => {
            if (account.leafStale) return;
            account.leafStale = true;
            state.changedAccounts.push(account);
          };
          const headHash = new Uint8Array(32).fill(7);
          const attest = (version: number): Attestation =>
            signAttestation(attestationFieldsOf(state, tree.root(), version, headHash, headHash), operator.seed);
          const tree = LiabilitiesTree.build(state, {
            version: 1,
            ...(historyBytes === undefined ? {} : { historyBytes }),
          });
          // Each version's state (an encoded copy) and attestation.
          const kept = new Map<number, { encoding: Uint8Array; attestation: Attestation }>([
            [1, { encoding: encodeState(state), attestation: attest(1) }],
          ]);
          let lastRebuild = 1;
          versions.forEach((steps, position) => {
            const version = position + 2;
            if (steps === 'listAsset') {
              listed(state, `NEW${state.assets.length}`);
              lastRebuild = version;
            } else {
              for (const step of steps) {
                if (step.kind === 'newAccount') {
                  const account = newAccount();
                  const asset = state.assets[step.asset % state.assets.length]!;
                  account.balance(asset).available += step.units;
                  asset.depositedUnits += step.units;
                  continue;
                }
                const account = state.accountList[step.pick % state.accountList.length]!;
                if (step.kind === 'touch') {
                  changed(account);
                  continue;
                }
                const asset = state.assets[step.asset % state.assets.length]!;
                const balance = account.balance(asset);
                const units =
                  step.kind === 'deposit'
                    ? step.units
                    : step.units < balance.available
                      ? step.units
                      : balance.available;
                if (step.kind === 'deposit') {
                  balance.available += units;
                  asset.depositedUnits += units;
                } else {
                  balance.available -= units;
                  asset.withdrawnUnits += units;
                }
                changed(account);
              }
            }
            const root = tree.update(state, version);
            expect(tree.currentVersion()).toBe(version);
            expect(root).toEqual(LiabilitiesTree.build(state).root());
            kept.set(version, { encoding: encodeState(state), attestation: attest(version) });
            expect(tree.historyByteCount()).toBeLessThanOrEqual(historyBytes ?? 64 * 1024 * 1024);
          });

          const latest = versions.length + 1;
          const held = tree.heldVersions()!;
          expect(held.latest).toBe(latest);
          // A full rebuild drops every older version; within the default budget, every later one is held.
          expect(held.oldest).toBeGreaterThanOrEqual(lastRebuild);
          if (historyBytes === undefined) expect(held.oldest).toBe(lastRebuild);
          for (const [version, { encoding, attestation }] of kept) {
            const past = decodeState(encoding);
            const anyAccount = past.accountList[0]!.id;
            if (version < held.oldest) {
              expect(tree.holdsVersion(version)).toBe(false);
              expect(() => tree.proofPathAt(version, anyAccount)).toThrow(/not held/);
              expect(() => tree.inclusionProofAt(attestation, anyAccount)).toThrow(/not held/);
              refusedVersions += 1;
              continue;
            }
            expect(tree.holdsVersion(version)).toBe(true);
            const fresh = LiabilitiesTree.build(past);
            expect(bytesToLowerHex(fresh.root().hash)).toBe(attestation.liabilitiesRoot);
            for (const account of past.accountList) {
              const body = tree.proofPathAt(version, account.id);
              expect(body).toEqual(fresh.proofPath(account.id));
              const proof = tree.inclusionProofAt(attestation, account.id)!;
              const verdict = verifyInclusionProof(JSON.parse(JSON.stringify(proof)), [operator.accountId]);
              expect(verdict).toMatchObject({ ok: true, account: account.id });
              if (version < latest) olderProofsChecked += 1;
            }
            // Accounts created after the version have no leaf in it.
            for (const account of state.accountList.slice(past.accountList.length)) {
              expect(tree.proofPathAt(version, account.id)).toBeUndefined();
            }
            // Another version's attestation is refused.
            const other = kept.get(version === latest ? version - 1 : version + 1)!.attestation;
            if (other.liabilitiesRoot !== attestation.liabilitiesRoot) {
              expect(() => tree.inclusionProofAt({ ...other, sequence: version }, anyAccount)).toThrow(
                /does not attest/,
              );
            }
          }
          expect(() => tree.update(state, latest)).toThrow(/does not follow/);
        },
      ),
      { numRuns: Number(process.env.LIABILITIES_HISTORY_RUNS ?? 40) },
    );
    expect(olderProofsChecked).toBeGreaterThan(1_000);
    expect(refusedVersions).toBeGreaterThan(20);
  });

  it('an update from an unversioned tree, or with historyBytes 0, keeps no older version', () => {
    const state = fixedState();
    const tree = LiabilitiesTree.build(state);
    expect(tree.heldVersions()).toBeUndefined();
    state.accountList[1]!.balance(state.assets[0]!).available += 1n;
    state.changedAccounts.push(state.accountList[1]!);
    tree.update(state, 5);
    expect(tree.heldVersions()).toEqual({ oldest: 5, latest: 5 });
    expect(tree.holdsVersion(4)).toBe(false);
    const other = fixedState();
    const none = LiabilitiesTree.build(other, { version: 1, historyBytes: 0 });
    other.accountList[1]!.balance(other.assets[0]!).available += 1n;
    other.changedAccounts.push(other.accountList[1]!);
    none.update(other, 2);
    expect(none.heldVersions()).toEqual({ oldest: 2, latest: 2 });
    expect(() => LiabilitiesTree.build(state, { historyBytes: -1 })).toThrow(/historyBytes/);
  });
});

/** A distinct account id per index (beyond the 255 that signerFromByte gives). */
function accountIdOfIndex(index: number): string {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, index + 1);
  return Buffer.from(key).toString('base64');
}
